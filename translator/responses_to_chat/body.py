"""OpenAI Responses request -> OpenAI Chat Completions request body.

One pass over plain dicts, like the other directions: every key the caller sent, at every level, ends
up mapped, kept (for the gateway), defaulted, dropped with a note, or refused; every problem at once
(a TranslationError with all of them, each with its JSON path). `strict=True` refuses what would be
dropped or approximated too.

The body is fitted to the model where translator/models.py knows it (the table of OpenAI's models,
`ModelTable.openai_side()`, under the caller's override rows): its output limit, whether it takes
sampling parameters, whether it reasons, which field carries the output limit. A model the table
does not know (a local model, DeepSeek, Qwen...) is sent what the caller asked, in the values every
OpenAI-compatible server takes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from protoshift.translator.anthropic_to_openai.body import _takes_completion_tokens
from protoshift.translator.chat_compat import fit_to_model, origins_for
from protoshift.translator.checks import check_json, want_bool, want_int, want_list, want_number, want_object, want_str
from protoshift.translator.errors import TranslationError
from protoshift.translator.models import DEFAULT_TABLE, ModelTable
from protoshift.translator.openai_to_anthropic.context import UNKNOWN_KEY, Context
from protoshift.translator.report import Note, RequestTranslation, explain_rows
from protoshift.translator.responses_to_chat.items import ItemConverter
from protoshift.translator.responses_to_chat.toolmap import ToolMap
from protoshift.translator.responses_to_chat.tools import Policies, Policy, SearchPolicy, translate_tools
from protoshift.translator.stamps import DEFAULT_STAMPS, Stamps
from protoshift.translator.tables import (
    JSON_SCHEMA_NAME,
    MAX_CHAT_USER,
    OPENAI_REASONING_EFFORTS,
    PROMPT_CACHE_OPTIONS_KEYS,
    RESPONSES_DROPPED_FIELDS,
    RESPONSES_EFFORTS,
    RESPONSES_FORMAT_KEYS,
    RESPONSES_INCLUDE_DROPPED,
    RESPONSES_INCLUDE_KEPT,
    RESPONSES_INCLUDE_REFUSED,
    RESPONSES_MAPPED_FIELDS,
    RESPONSES_REASONING_KEYS,
    RESPONSES_REFUSED_FIELDS,
    RESPONSES_STREAM_OPTIONS_KEYS,
    RESPONSES_TEXT_KEYS,
    SERVICE_TIERS,
    VERBOSITY_MODELS,
    WEB_SEARCH_SOURCES,
)
from protoshift.translator.user_ids import hashed, needs_hashing
from protoshift.translator.wire import ResponsesRequest

__all__ = ["ResponsesTranslation", "request"]

Models = ModelTable | Mapping[str, Mapping[str, Any]] | None


@dataclass(slots=True)
class ResponsesTranslation(RequestTranslation):
    """What `responses_to_chat.request` returns.

    - `body`: the Chat Completions request (a stream asks for the usage chunk: a Responses stream
      always ends with usage);
    - `notes`: what happened to each Responses field (paths into the Responses request; `history[k]`
      for the stored conversation's items);
    - `tools`: the ToolMap the answer's mapping needs (`chat_to_responses.response` / `.Stream`);
    - `response_id`: the id the answer will carry (`resp_...`), known before it comes (to store it, to
      log it); `betas` is always empty.
    """

    tools: ToolMap = field(default_factory=ToolMap)
    response_id: str = ""

    def explain(self, request: dict[str, Any]) -> list[Note]:
        return explain_rows(request, self.notes, RESPONSES_MAPPED_FIELDS)


def request(
    responses_request: ResponsesRequest,
    *,
    strict: bool = False,
    models: Models = None,
    history: list[Any] | None = None,
    web_search: SearchPolicy = "drop",
    tool_search: Policy = "drop",
    hosted_tools: Policy = "refuse",
    signed_thinking: bool = False,
    stamps: Stamps = DEFAULT_STAMPS,
) -> ResponsesTranslation:
    """Translate an OpenAI Responses request (`ResponseCreateParams`) into a Chat Completions request.

    Raises TranslationError listing every problem (`problems`), each with its JSON path.

    `history`: the items of the stored conversation `previous_response_id` names (its inputs and its
    outputs, oldest first), looked up by the caller; they go before `input`, and `item_reference`s
    are resolved in them. A request with `previous_response_id` and no `history` is refused: its
    conversation would be lost without a word. `web_search`: what becomes of web search tools, which a
    chat upstream does not run ("drop": a note; "refuse"; "carry": as `web_search_options`, for a chat leg
    that searches, such as the way to Claude: the answer's searches come back as `web_search_call`
    items, their sources when `include` asks); `tool_search`: the same for tool search
    (Codex sends it on every request; "drop" by default); `hosted_tools`: for the other tools OpenAI
    runs ("refuse" by default). `models`: as `anthropic_to_openai.request` takes it. `stamps`:
    where the response id comes from.
    """
    req = want_object(responses_request, "$")
    plain = check_json(req)
    if history is not None:
        check_json(history, "history")
    ctx = Context.of_request(req.get("model"), _table(models))
    body: dict[str, Any] = {"model": ctx.model, "messages": []}
    tools = ToolMap()
    # A short request (one user text, no tools, no include) leaves the tools' and the items' translation nothing to do.
    if not (history is None and plain and _SHORT_KEYS.issuperset(req) and _short_messages(req, body)):
        try:
            translate_tools(req, body, ctx, tools, Policies(web_search, tool_search, hosted_tools), plain=plain)
        except TranslationError as exc:
            ctx.failed(exc)
        try:
            _include(req, ctx, searches=web_search == "carry")
        except TranslationError as exc:
            ctx.failed(exc)
        _messages(req, body, ctx, tools, history, signed_thinking)
    wanted = 0
    for key in req:
        wanted |= _STEP_OF.get(key, _OTHER)
    for step in _steps(wanted):
        try:
            step(req, body, ctx)
        except TranslationError as exc:
            ctx.failed(exc)
    if req.get("previous_response_id") is not None and history is None:
        ctx.refuse("previous_response_id", "the stored conversation it names was not given (history): it would be lost")
    fit_to_model(body, ctx.facts, ctx.note, origins_for("responses"))
    ctx.finish(req, strict=strict)
    return ResponsesTranslation(body, ctx.notes, [], bool(body.get("stream")), tools, stamps.time_id("resp_"))


def _table(models: Models) -> ModelTable:
    if models is None:
        return DEFAULT_TABLE.openai_side()
    if isinstance(models, ModelTable):
        return models.openai_side()
    return DEFAULT_TABLE.with_overrides(models).openai_side()


# A request of these fields alone (the short question: `input` a string) may be a short one (`_short_messages`).
_SHORT_KEYS = frozenset({"model", "input", "instructions", "max_output_tokens", "stream", "store"})


def _short_messages(req: dict[str, Any], body: dict[str, Any]) -> bool:
    """The messages of a request whose `input` is a string (and `instructions` one or absent), as `_messages`
    makes them, without the item converter; False (nothing done): not such a request, `_messages` decides."""
    given = req.get("input")
    instructions = req.get("instructions")
    if type(given) is not str or not (instructions is None or type(instructions) is str):
        return False
    user = {"role": "user", "content": given}
    body["messages"] = [{"role": "system", "content": instructions}, user] if instructions else [user]
    return True


def _messages(
    req: dict[str, Any],
    body: dict[str, Any],
    ctx: Context,
    tools: ToolMap,
    history: list[Any] | None,
    signed_thinking: bool,
) -> None:
    items: list[tuple[Any, str]] = []
    if history is not None:
        try:
            items.extend((item, f"history[{k}]") for k, item in enumerate(want_list(history, "history")))
        except TranslationError as exc:
            ctx.failed(exc)
            history = None
    instructions: str | None = None
    try:
        value = req.get("instructions")
        if value is not None:
            instructions = want_str(value, "instructions")
        given = req.get("input")
        if isinstance(given, str):
            items.append(({"role": "user", "content": given}, "input"))
        elif given is not None:
            items.extend((item, f"input[{k}]") for k, item in enumerate(want_list(given, "input")))
    except TranslationError as exc:
        ctx.failed(exc)
    system, messages = ItemConverter(ctx, tools, signed_thinking=signed_thinking).convert(instructions, history, items)
    if system is not None:
        messages.insert(0, {"role": "system", "content": system})
    if not messages and not ctx.problems:
        ctx.refuse("input", "is required: there is nothing to answer")
    body["messages"] = messages


# ---- the fields, one step each -------------------------------------------------------------------


def _max_output_tokens(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    value = req.get("max_output_tokens")
    if value is None:
        return
    value = want_int(value, "max_output_tokens", minimum=1)
    cap = ctx.facts.max_output if ctx.facts is not None else None
    if cap is not None and value > cap:
        ctx.note(
            "max_output_tokens",
            "approximated",
            f"lowered from {value} to {cap}: {ctx.model} writes at most {cap} tokens",
        )
        value = cap
    body["max_completion_tokens" if _takes_completion_tokens(ctx.model) else "max_tokens"] = value


def _sampling(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    for key, high in (("temperature", 2), ("top_p", 1)):
        value = req.get(key)
        if value is None:
            continue
        try:
            body[key] = want_number(value, key, 0, high)
        except TranslationError as exc:
            ctx.failed(exc)
    if ctx.facts is not None and ctx.facts.sampling == "none":
        for key in ("temperature", "top_p"):
            if key in body:
                value = body.pop(key)
                if value == 1:
                    ctx.note(
                        key, "defaulted", f"not sent: {ctx.model} takes no sampling parameters, and 1 is the default"
                    )
                else:
                    ctx.note(key, "dropped", f"{ctx.model} takes no sampling parameters")


def _text(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    if req.get("text") is None:
        return
    text = want_object(req["text"], "text")
    if not RESPONSES_TEXT_KEYS.issuperset(text):
        ctx.unknown_keys(text, RESPONSES_TEXT_KEYS, "text")
    fmt = text.get("format")
    if fmt is not None:
        try:
            _format(want_object(fmt, "text.format"), body, ctx)
        except TranslationError as exc:
            ctx.failed(exc)
    verbosity = text.get("verbosity")
    if verbosity is not None:
        if verbosity not in ("low", "medium", "high"):
            raise TranslationError("text.verbosity", f'expected "low", "medium" or "high", got {verbosity!r}')
        if any(_matches(ctx.model, pattern) for pattern in VERBOSITY_MODELS):
            body["verbosity"] = verbosity
        else:
            ctx.note("text.verbosity", "dropped", "only OpenAI's GPT-5 models take a verbosity")


def _matches(model: str, pattern: str) -> bool:
    return model.startswith(pattern[:-1]) if pattern.endswith("*") else model == pattern


def _format(fmt: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    kind = fmt.get("type")
    known = RESPONSES_FORMAT_KEYS.get(kind) if isinstance(kind, str) else None
    if known is None:
        raise TranslationError("text.format.type", f'expected "text", "json_object" or "json_schema", got {kind!r}')
    if not known.issuperset(fmt):
        ctx.unknown_keys(fmt, known, "text.format")
    if kind == "text":
        return
    if kind == "json_object":
        body["response_format"] = {"type": "json_object"}
        return
    spec: dict[str, Any] = {
        "name": want_str(fmt.get("name", JSON_SCHEMA_NAME), "text.format.name", nonempty=True),
        "schema": want_object(fmt.get("schema"), "text.format.schema"),
    }
    if fmt.get("description") is not None:
        spec["description"] = want_str(fmt["description"], "text.format.description")
    if fmt.get("strict") is not None:
        spec["strict"] = want_bool(fmt["strict"], "text.format.strict")
    body["response_format"] = {"type": "json_schema", "json_schema": spec}


def _reasoning(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    if req.get("reasoning") is None:
        return
    config = want_object(req["reasoning"], "reasoning")
    if not RESPONSES_REASONING_KEYS.issuperset(config):
        ctx.unknown_keys(config, RESPONSES_REASONING_KEYS, "reasoning")
    for key in ("summary", "generate_summary"):
        value = config.get(key)
        if value is None:
            continue
        if value not in ("auto", "concise", "detailed"):
            raise TranslationError(f"reasoning.{key}", f'expected "auto", "concise" or "detailed", got {value!r}')
        ctx.note(
            f"reasoning.{key}",
            "approximated",
            "a chat upstream does not summarize: the reasoning it returns is given as the summary",
        )
    for key in ("context", "mode"):
        if config.get(key) is not None:
            want_str(config[key], f"reasoning.{key}")
            ctx.note(f"reasoning.{key}", "dropped", f"OpenAI's reasoning {key} has no chat equivalent")
    effort = config.get("effort")
    if effort is not None:
        _effort(effort, body, ctx)


def _effort(effort: Any, body: dict[str, Any], ctx: Context) -> None:
    """reasoning.effort -> reasoning_effort, in the levels the model takes (low, medium and high, which
    every OpenAI-compatible server takes, for a model the table does not know)."""
    if effort not in RESPONSES_EFFORTS:
        raise TranslationError("reasoning.effort", f"expected one of {', '.join(RESPONSES_EFFORTS)}, got {effort!r}")
    facts = ctx.facts
    if facts is not None and facts.thinking == "none":
        ctx.note("reasoning.effort", "dropped", f"{ctx.model} does not reason (no reasoning_effort)")
        return
    levels = facts.efforts if facts is not None and facts.efforts else OPENAI_REASONING_EFFORTS
    if effort in levels:
        body["reasoning_effort"] = effort
        return
    if effort == "none":
        ctx.note("reasoning.effort", "dropped", f"the model takes {', '.join(levels)}: the model's own default applies")
        return
    rank = RESPONSES_EFFORTS.index
    level = levels[0] if rank(effort) < rank(levels[0]) else levels[-1]
    body["reasoning_effort"] = level
    ctx.note("reasoning.effort", "approximated", f"the model takes {', '.join(levels)}: sent as {level!r}")


def _user(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    user = req.get("user")
    safety = req.get("safety_identifier")
    if safety is not None:
        path, user_id = "safety_identifier", want_str(safety, "safety_identifier")
        if user is not None:
            want_str(user, "user")
            ctx.note("user", "dropped", "safety_identifier is sent as user")
    elif user is not None:
        path, user_id = "user", want_str(user, "user")
    else:
        return
    if not user_id:
        return
    if needs_hashing(user_id, MAX_CHAT_USER):
        user_id = hashed(user_id)
        ctx.note(
            path,
            "approximated",
            f"looks like personal data or is longer than {MAX_CHAT_USER}: sent as its hash, {user_id}",
        )
    body["user"] = user_id


def _stream(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    stream = req.get("stream")
    if stream is not None and want_bool(stream, "stream"):
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}  # a Responses stream always ends with usage
    options = req.get("stream_options")
    if options is None:
        return
    if not stream:
        raise TranslationError("stream_options", "is only allowed when stream is true")
    options = want_object(options, "stream_options")
    if not RESPONSES_STREAM_OPTIONS_KEYS.issuperset(options):
        ctx.unknown_keys(options, RESPONSES_STREAM_OPTIONS_KEYS, "stream_options")
    obfuscation = options.get("include_obfuscation")
    if obfuscation is not None and want_bool(obfuscation, "stream_options.include_obfuscation"):
        ctx.note("stream_options.include_obfuscation", "dropped", "protoshift's streams carry no obfuscation padding")


def _cache(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    if (key := req.get("prompt_cache_key")) is not None:
        body["prompt_cache_key"] = want_str(key, "prompt_cache_key")
    if (retention := req.get("prompt_cache_retention")) is not None:
        if retention not in ("in_memory", "24h"):
            raise TranslationError("prompt_cache_retention", f'expected "in_memory" or "24h", got {retention!r}')
        body["prompt_cache_retention"] = retention
    if (options := req.get("prompt_cache_options")) is not None:
        options = want_object(options, "prompt_cache_options")
        if not PROMPT_CACHE_OPTIONS_KEYS.issuperset(options):
            ctx.unknown_keys(options, PROMPT_CACHE_OPTIONS_KEYS, "prompt_cache_options")
        sent = {key: value for key, value in options.items() if key in PROMPT_CACHE_OPTIONS_KEYS and value is not None}
        if sent.get("mode", "implicit") not in ("implicit", "explicit"):
            raise TranslationError("prompt_cache_options.mode", 'expected "implicit" or "explicit"')
        if sent.get("ttl", "30m") != "30m":
            raise TranslationError("prompt_cache_options.ttl", 'expected "30m"')
        body["prompt_cache_options"] = sent


def _service(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    if (tier := req.get("service_tier")) is not None:
        if not isinstance(tier, str) or tier not in SERVICE_TIERS:
            raise TranslationError("service_tier", f"expected one of {', '.join(sorted(SERVICE_TIERS))}, got {tier!r}")
        body["service_tier"] = tier
    if (moderation := req.get("moderation")) is not None:
        moderation = want_object(moderation, "moderation")
        want_str(moderation.get("model"), "moderation.model", nonempty=True)
        body["moderation"] = moderation


def _kept(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    """Fields for the gateway, not sent: their shapes are checked here."""
    if (store := req.get("store")) is not None:
        want_bool(store, "store")
    if (metadata := req.get("metadata")) is not None:
        for key, value in want_object(metadata, "metadata").items():
            want_str(value, f"metadata.{key}")
    if (previous := req.get("previous_response_id")) is not None:
        want_str(previous, "previous_response_id", nonempty=True)


def _include(req: dict[str, Any], ctx: Context, *, searches: bool) -> None:
    """`include`: what the answer carries besides its items; `searches`: the chat leg searches, and the
    answer's web_search_call items can name their sources."""
    if req.get("include") is None:
        return
    for k, entry in enumerate(want_list(req["include"], "include")):
        path = f"include[{k}]"
        value = want_str(entry, path)
        if value in RESPONSES_INCLUDE_KEPT or (searches and value == WEB_SEARCH_SOURCES):
            continue
        if value in RESPONSES_INCLUDE_REFUSED:
            ctx.refuse(path, RESPONSES_INCLUDE_REFUSED[value])
        else:
            ctx.note(path, "dropped", RESPONSES_INCLUDE_DROPPED)


def _other_fields(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    """Fields refused when set to something a chat upstream cannot do, dropped ones, unknown ones."""
    for key, value in req.items():
        if value is None or (key in RESPONSES_MAPPED_FIELDS and key not in _OTHER_CHECKS):
            continue
        try:
            check = _OTHER_CHECKS.get(key)
            if check is not None:
                check(value, ctx)
            elif key in RESPONSES_DROPPED_FIELDS:
                ctx.note(key, "dropped", RESPONSES_DROPPED_FIELDS[key])
            else:
                ctx.note(key, "dropped", UNKNOWN_KEY)
        except TranslationError as exc:
            ctx.failed(exc)


def _refused_when(key: str, refused: Callable[[Any], bool]) -> Callable[[Any, Context], None]:
    """A field refused when set to something that needs OpenAI (its harmless values: false, 0)."""

    def check(value: Any, ctx: Context) -> None:
        if refused(value):
            ctx.refuse(key, RESPONSES_REFUSED_FIELDS[key])

    return check


def _truncation(value: Any, ctx: Context) -> None:
    if value not in ("auto", "disabled"):
        raise TranslationError("truncation", f'expected "auto" or "disabled", got {value!r}')
    if value == "auto":
        ctx.note(
            "truncation",
            "dropped",
            "a chat upstream does not truncate the conversation: an input past the context window fails",
        )


_OTHER_CHECKS: dict[str, Callable[[Any, Context], None]] = {
    "background": _refused_when("background", lambda v: want_bool(v, "background")),
    "conversation": _refused_when("conversation", lambda v: True),
    "prompt": _refused_when("prompt", lambda v: True),
    "top_logprobs": _refused_when("top_logprobs", lambda v: want_int(v, "top_logprobs", minimum=0) > 0),
    "truncation": _truncation,
}

_Step = Callable[[dict[str, Any], dict[str, Any], Context], None]
_STEPS: tuple[tuple[int, _Step], ...] = tuple(
    (1 << k, step)
    for k, step in enumerate(
        (
            _max_output_tokens,
            _sampling,
            _text,
            _reasoning,
            _user,
            _stream,
            _cache,
            _service,
            _kept,
            _other_fields,
        )
    )
)
_OTHER = 1 << 9
_STEPS_OF: dict[int, tuple[_Step, ...]] = {}  # the steps of each set of bits a request's fields have (at most 1024)


def _steps(wanted: int) -> tuple[_Step, ...]:
    """The steps for the fields a request has, in their order (`wanted`: their bits): a step costs a call."""
    steps = _STEPS_OF.get(wanted)
    if steps is None:
        steps = _STEPS_OF[wanted] = tuple(step for bit, step in _STEPS if wanted & bit)
    return steps


_STEP_OF: dict[str, int] = {
    "model": 0,
    "input": 0,
    "instructions": 0,
    "tools": 0,
    "tool_choice": 0,
    "parallel_tool_calls": 0,
    "max_output_tokens": 1,
    "temperature": 1 << 1,
    "top_p": 1 << 1,
    "text": 1 << 2,
    "reasoning": 1 << 3,
    "user": 1 << 4,
    "safety_identifier": 1 << 4,
    "stream": 1 << 5,
    "stream_options": 1 << 5,
    "prompt_cache_key": 1 << 6,
    "prompt_cache_retention": 1 << 6,
    "prompt_cache_options": 1 << 6,
    "service_tier": 1 << 7,
    "moderation": 1 << 7,
    "store": 1 << 8,
    "metadata": 1 << 8,
    "previous_response_id": 1 << 8,
    "include": 0,
}
