"""OpenAI Chat Completions request -> Anthropic Messages request body.

One pass over plain dicts: validating and translating together keeps a translation in the
microseconds (a pydantic model of the whole OpenAI request would cost more than the work).
Every key the caller sent, at every level, ends up mapped, kept, defaulted, dropped with a note,
or refused; a key nobody knows is a "dropped" note with its JSON path.

Every problem at once: each field, message, content part and tool is translated on its own; one
that cannot be adds its problems to the list and the rest goes on. If the list is not empty the
whole request is refused with a TranslationError carrying all of them (first one in `path`/`reason`).

The body is made right for the model it goes to when translator/models.py knows that model:
its output limit, the sampling parameters and thinking mode it takes, structured outputs, vision,
PDFs, prefill and forced tool choice. For a model the table does not know, the caller's request
is sent as asked (the Anthropic backend adapts to a 400 naming a refused feature).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from protoshift.translator.checks import (
    check_json,
    check_json_but,
    want_bool,
    want_int,
    want_list,
    want_number,
    want_object,
    want_str,
)
from protoshift.translator.errors import TranslationError
from protoshift.translator.models import DEFAULT_TABLE, ModelFacts, ModelTable
from protoshift.translator.openai_to_anthropic.caching import cache_control, fit_breakpoints
from protoshift.translator.openai_to_anthropic.context import Context
from protoshift.translator.openai_to_anthropic.messages import MessageConverter
from protoshift.translator.openai_to_anthropic.schema import adapt_schema
from protoshift.translator.openai_to_anthropic.thinking import translate_thinking
from protoshift.translator.openai_to_anthropic.tools import translate_tools
from protoshift.translator.report import RequestTranslation
from protoshift.translator.tables import (
    DEFAULT_MAX_TOKENS,
    DROPPED_FIELDS,
    JSON_OBJECT_INSTRUCTION,
    JSON_SCHEMA_FORMAT_KEYS,
    JSON_SCHEMA_INSTRUCTION,
    MAPPED_FIELDS,
    REJECTED_FIELDS,
    RESPONSE_FORMAT_KEYS,
    STREAM_OPTIONS_KEYS,
)
from protoshift.translator.user_ids import hashed, looks_personal
from protoshift.translator.wire import ChatRequest

Models = ModelTable | Mapping[str, Mapping[str, Any]] | None

# `user` values that look like personal data: an e-mail address, a phone number, a name (spaces).


def request(
    openai_request: ChatRequest,
    *,
    default_max_tokens: int = DEFAULT_MAX_TOKENS,
    strict: bool = False,
    models: Models = None,
) -> RequestTranslation:
    """Translate an OpenAI Chat Completions request into an Anthropic Messages request.

    Raises TranslationError for input that is invalid or whose loss would change what the caller
    gets; its `problems` lists every such field, each with its JSON path and a one-line reason.
    With `strict=True`, anything that would be dropped or approximated is refused too.

    `models` is the model capability table to use: a `ModelTable` (built once, e.g. from a config
    file with `DEFAULT_TABLE.with_overrides(...)`), or the override rows as plain data
    (`{"claude-x*": {"max_output": 8192, ...}}`, built for this call), or None for the built-in table.
    """
    return translate(openai_request, default_max_tokens=default_max_tokens, strict=strict, models=models)


def translate(
    openai_request: ChatRequest,
    *,
    default_max_tokens: int = DEFAULT_MAX_TOKENS,
    strict: bool = False,
    models: Models = None,
    checked: bool = False,
) -> RequestTranslation:
    """`request`; `checked=True`: the request is known to be plain JSON (`check_json`) already — a bridge's
    own translation of a request it checked (Responses -> chat -> Anthropic) — and is not walked again."""
    req = want_object(openai_request, "$")
    # Lone surrogates, NaN, huge integers, deep nesting: refused with their path. The messages, most
    # of a request, are checked one by one as they are converted (MessageConverter), in the same pass.
    messages = req.get("messages")
    if not checked:
        if type(messages) is list:
            check_json_but(req, "messages")
        else:
            check_json(req)
    ctx = Context.of_request(req.get("model"), DEFAULT_TABLE if models is None else _table(models))
    ctx.default_max_tokens = default_max_tokens
    body: dict[str, Any] = {"model": ctx.model, "max_tokens": 0, "system": []}
    try:
        if messages is None:
            raise TranslationError("messages", "is required")
        if not want_list(messages, "messages"):
            raise TranslationError("messages", "must contain at least one message")
        body["system"], body["messages"] = MessageConverter(ctx, checked=checked).convert(messages)
    except TranslationError as exc:
        ctx.failed(exc)
        body["messages"] = []
    _run_steps(req, body, ctx)
    result = RequestTranslation(body, ctx.notes, ctx.betas, ctx.include_usage)
    if not body["system"]:
        del body["system"]
    if ctx.breakpoints:
        fit_breakpoints(body, ctx)
    ctx.finish(req, strict=strict)
    return result


def _run_steps(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    """Every other field, one step each (`_STEPS`); a step that fails adds its problems and the rest go on."""
    # Only the steps for the fields the request has (most requests have a few): a step costs a call.
    wanted = 1
    for key in req:
        wanted |= _STEP_OF.get(key, _OTHER_FIELDS)
    if ctx.tool_use_seen:
        wanted |= _TOOLS  # a tool history needs its tools declared
    if wanted == 1:
        _max_tokens(req, body, ctx)
        return
    for bit, step in _STEPS:
        if wanted & bit:
            try:
                step(req, body, ctx)
            except TranslationError as exc:
                ctx.failed(exc)


def _table(models: Models) -> ModelTable:
    if models is None:
        return DEFAULT_TABLE
    if isinstance(models, ModelTable):
        return models
    return DEFAULT_TABLE.with_overrides(models)


# ---- the fields, one step each -------------------------------------------------------------------


def _max_tokens(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    cap = ctx.facts.max_output if ctx.facts is not None else None
    completion = req.get("max_completion_tokens")
    legacy = req.get("max_tokens")
    if completion is not None:
        if legacy is not None:  # checked on its own: both can be wrong
            try:
                if want_int(legacy, "max_tokens", minimum=1) != completion:
                    ctx.note("max_tokens", "dropped", "max_completion_tokens takes precedence")
            except TranslationError as exc:
                ctx.failed(exc)
        path, value = "max_completion_tokens", want_int(completion, "max_completion_tokens", minimum=1)
    elif legacy is not None:
        path, value = "max_tokens", want_int(legacy, "max_tokens", minimum=1)
    else:
        default = ctx.default_max_tokens
        capped = cap is not None and default > cap
        body["max_tokens"] = cap if capped and cap is not None else default
        ctx.max_tokens_defaulted = True
        ctx.note(
            "max_tokens",
            "defaulted",
            f"Anthropic requires a limit; used {body['max_tokens']}" + (f" ({ctx.model}'s maximum)" if capped else ""),
        )
        return
    if cap is not None and value > cap:
        ctx.note(path, "approximated", f"lowered from {value} to {cap}: {ctx.model} writes at most {cap} tokens")
        value = cap
    body["max_tokens"] = value


# Fields whose loss would change what the caller gets back, and when a value is harmless (n=1 ...).
_REFUSED_WHEN: tuple[tuple[str, Callable[[Any], bool]], ...] = (
    ("n", lambda v: want_int(v, "n", minimum=1) > 1),
    ("logprobs", lambda v: want_bool(v, "logprobs")),
    ("top_logprobs", lambda v: want_int(v, "top_logprobs", minimum=0) > 0),
    ("audio", lambda v: True),
    ("moderation", lambda v: True),
)


def _rejected_fields(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    """Fields whose loss would change what the caller gets back: each one is a problem of its own."""
    for key, refused in _REFUSED_WHEN:
        value = req.get(key)
        if value is None:
            continue
        try:
            if refused(value):
                ctx.refuse(key, REJECTED_FIELDS[key])
        except TranslationError as exc:
            ctx.failed(exc)
    if (modalities := req.get("modalities")) is not None:
        for k, modality in enumerate(want_list(modalities, "modalities")):
            if modality != "text":
                ctx.refuse(f"modalities[{k}]", REJECTED_FIELDS["modalities"])


def _sampling(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    if (temperature := req.get("temperature")) is not None:
        _temperature(temperature, body, ctx)
    if (top_p := req.get("top_p")) is not None:
        value = want_number(top_p, "top_p", 0, 1)
        if value < 1:  # 1 is the default: sending it only risks "temperature and top_p" conflicts
            body["top_p"] = value
    facts = ctx.facts
    if facts is None or facts.sampling in (None, "all"):
        return
    if facts.sampling == "none":
        _no_sampling(body, ctx)
    elif "temperature" in body and "top_p" in body:
        del body["top_p"]
        ctx.note("top_p", "dropped", f"{ctx.model} takes temperature or top_p, not both: temperature is sent")


def _temperature(temperature: Any, body: dict[str, Any], ctx: Context) -> None:
    try:
        value = want_number(temperature, "temperature", 0, 2)
    except TranslationError as exc:
        ctx.failed(exc)  # and top_p is still checked
        return
    if value > 1:
        ctx.note("temperature", "approximated", f"Anthropic's range is 0-1; {value} clamped to 1")
        value = 1
    body["temperature"] = value


def _no_sampling(body: dict[str, Any], ctx: Context) -> None:
    """A model that takes no sampling parameters: temperature and top_p are taken out of the body."""
    for key in ("temperature", "top_p"):
        if key in body:
            value = body.pop(key)
            if value == 1:
                ctx.note(key, "defaulted", f"not sent: {ctx.model} takes no sampling parameters, and 1 is the default")
            else:
                ctx.note(key, "dropped", f"{ctx.model} takes no sampling parameters")


def _stop(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    stop = req.get("stop")
    if stop is None:
        return
    entries = [stop] if isinstance(stop, str) else want_list(stop, "stop")
    sequences: list[str] = []
    for k, entry in enumerate(entries):
        path = "stop" if isinstance(stop, str) else f"stop[{k}]"
        try:
            text = want_str(entry, path)
        except TranslationError as exc:
            ctx.failed(exc)
            continue
        if not text.strip():
            ctx.note(path, "dropped", "Anthropic rejects empty or whitespace-only stop sequences")
        else:
            sequences.append(text)
    if sequences:
        body["stop_sequences"] = sequences


def _user(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    user = req.get("user")
    safety = req.get("safety_identifier")
    if safety is not None:
        path, user_id = "safety_identifier", want_str(safety, "safety_identifier")
        if user is not None:
            want_str(user, "user")
            ctx.note("user", "dropped", "safety_identifier takes precedence as metadata.user_id")
    elif user is not None:
        path, user_id = "user", want_str(user, "user")
    else:
        return
    if not user_id:
        return
    if looks_personal(user_id):
        user_id = hashed(user_id)
        ctx.note(
            path,
            "approximated",
            f"looks like personal data (Anthropic refuses it in metadata.user_id): sent as its hash, {user_id}",
        )
    body["metadata"] = {"user_id": user_id}


def _stream(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    stream = req.get("stream")
    if stream is not None and want_bool(stream, "stream"):
        body["stream"] = True
    options = req.get("stream_options")
    if options is None:
        return
    if stream is None or stream is False:
        raise TranslationError("stream_options", "is only allowed when stream is true (as OpenAI requires)")
    options = want_object(options, "stream_options")
    if not STREAM_OPTIONS_KEYS.issuperset(options):
        ctx.unknown_keys(options, STREAM_OPTIONS_KEYS, "stream_options")
    if (include := options.get("include_usage")) is not None:
        ctx.include_usage = want_bool(include, "stream_options.include_usage")
    if (obfuscation := options.get("include_obfuscation")) is not None and want_bool(
        obfuscation, "stream_options.include_obfuscation"
    ):
        ctx.note("stream_options.include_obfuscation", "dropped", "Anthropic streams carry no obfuscation padding")


def _response_format(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    """json_schema -> structured outputs (`output_config.format`); json_object -> an instruction."""
    value = req.get("response_format")
    if value is None:
        return
    fmt = want_object(value, "response_format")
    kind = fmt.get("type")
    known = RESPONSE_FORMAT_KEYS.get(kind) if isinstance(kind, str) else None
    if known is None:
        raise TranslationError("response_format.type", f'expected "text", "json_object" or "json_schema", got {kind!r}')
    if not known.issuperset(fmt):
        ctx.unknown_keys(fmt, known, "response_format")
    if kind == "text":
        return
    if kind == "json_object":
        body["system"].append({"type": "text", "text": JSON_OBJECT_INSTRUCTION})
        ctx.note(
            "response_format",
            "approximated",
            "Anthropic has no schema-less JSON mode; asked for JSON in the system prompt",
        )
        return
    spec = want_object(fmt.get("json_schema"), "response_format.json_schema")
    if not JSON_SCHEMA_FORMAT_KEYS.issuperset(spec):
        ctx.unknown_keys(spec, JSON_SCHEMA_FORMAT_KEYS, "response_format.json_schema")
    schema = want_object(spec.get("schema"), "response_format.json_schema.schema")
    if spec.get("description"):
        ctx.note(
            "response_format.json_schema.description", "dropped", "Anthropic structured outputs take the schema only"
        )
    facts: ModelFacts | None = ctx.facts
    if facts is not None and facts.structured_outputs is False:
        instruction = JSON_SCHEMA_INSTRUCTION + json.dumps(schema, ensure_ascii=False)
        body["system"].append({"type": "text", "text": instruction})
        ctx.note(
            "response_format",
            "approximated",
            f"{ctx.model} has no structured outputs: asked for JSON matching the schema in the system prompt",
        )
        return
    adapted = adapt_schema(schema, "response_format.json_schema.schema", ctx)
    body.setdefault("output_config", {})["format"] = {"type": "json_schema", "schema": adapted}


def _other_fields(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    """Anthropic extras passed on purpose, fields with no equivalent, and unknown fields."""
    for key, value in req.items():
        if value is None or key in MAPPED_FIELDS or key in REJECTED_FIELDS:
            continue
        try:
            if key == "top_k":
                _top_k(value, body, ctx)
            elif key == "cache_control":
                body["cache_control"] = cache_control(value, "cache_control")
                ctx.breakpoints.append((body, "cache_control"))
                ctx.note("cache_control", "kept", "Anthropic automatic prompt caching")
            elif key == "thinking":
                pass  # with reasoning_effort (thinking.py)
            elif key in DROPPED_FIELDS:
                ctx.note(key, "dropped", DROPPED_FIELDS[key])
            else:
                ctx.note(key, "dropped", "unknown field, not sent")
        except TranslationError as exc:
            ctx.failed(exc)


def _top_k(value: Any, body: dict[str, Any], ctx: Context) -> None:
    top_k = want_int(value, "top_k", minimum=0)
    if body.get("thinking", {}).get("type", "disabled") not in ("disabled", "between_tools"):
        ctx.note("top_k", "dropped", "Anthropic extended thinking does not take top_k")
    elif ctx.facts is not None and ctx.facts.sampling == "none":
        ctx.note("top_k", "dropped", f"{ctx.model} takes no sampling parameters")
    else:
        body["top_k"] = top_k
        ctx.note("top_k", "kept", "Anthropic sampling parameter")


_Step = Callable[[dict[str, Any], dict[str, Any], Context], None]
# The steps in the order they run, each with its bit; the request fields that need each step.
_STEPS: tuple[tuple[int, _Step], ...] = tuple(
    (1 << k, step)
    for k, step in enumerate(
        (
            _max_tokens,
            _rejected_fields,
            _sampling,
            _stop,
            _user,
            _stream,
            _response_format,
            translate_tools,
            translate_thinking,
            _other_fields,
        )
    )
)
_TOOLS = 1 << 7
_OTHER_FIELDS = 1 << 9
_STEP_OF: dict[str, int] = {
    "model": 0,
    "messages": 0,
    "max_tokens": 1,
    "max_completion_tokens": 1,
    **dict.fromkeys(("n", "logprobs", "top_logprobs", "audio", "moderation", "modalities"), 1 << 1),
    **dict.fromkeys(("temperature", "top_p"), 1 << 2),
    "stop": 1 << 3,
    **dict.fromkeys(("user", "safety_identifier"), 1 << 4),
    **dict.fromkeys(("stream", "stream_options"), 1 << 5),
    "response_format": 1 << 6,
    **dict.fromkeys(
        ("tools", "functions", "web_search_options", "tool_choice", "function_call", "parallel_tool_calls"), _TOOLS
    ),
    **dict.fromkeys(("reasoning_effort", "thinking"), 1 << 8),
}
