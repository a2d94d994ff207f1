"""Anthropic Messages request -> OpenAI Chat Completions request, for clients that speak
Anthropic's API (Claude Code, the `anthropic` SDK) in front of an OpenAI-compatible model.

The same contract as `openai_to_anthropic.request`: one pass over plain dicts; every key the caller sent, at
every level, ends up mapped, dropped with a note, or refused with its JSON path; every problem at
once (`TranslationError.problems`); `strict=True` refuses whatever would be dropped or approximated.
The body is made right for the target model when the model table (translator/models.py, config
`[models."pattern"]` rows included) knows it: its output limit, whether it reasons, whether it
takes sampling parameters, images and PDFs.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from protoshift.translator.anthropic_to_openai.builtin_tools import answered_here
from protoshift.translator.anthropic_to_openai.messages import MessageConverter
from protoshift.translator.anthropic_to_openai.reasoning import translate_reasoning
from protoshift.translator.anthropic_to_openai.tools import translate_tools
from protoshift.translator.chat_compat import fit_to_model, origins_for
from protoshift.translator.checks import want_bool, want_int, want_list, want_number, want_object, want_str
from protoshift.translator.errors import TranslationError
from protoshift.translator.models import DEFAULT_TABLE, ModelTable
from protoshift.translator.openai_to_anthropic.context import UNKNOWN_KEY, Context
from protoshift.translator.report import Note, RequestTranslation, explain_rows
from protoshift.translator.tables import (
    ANTHROPIC_DROPPED_FIELDS,
    ANTHROPIC_MAPPED_FIELDS,
    ANTHROPIC_REFUSED_FIELDS,
    MAX_CHAT_USER,
    MAX_COMPLETION_TOKENS_MODELS,
    METADATA_KEYS,
)
from protoshift.translator.user_ids import hashed, needs_hashing
from protoshift.translator.wire import MessagesRequest

Models = ModelTable | Mapping[str, Mapping[str, Any]] | None


@dataclass(slots=True)
class OpenAIRequestTranslation(RequestTranslation):
    """What `anthropic_to_openai.request` returns: `body` is an OpenAI Chat Completions request,
    `notes` say what happened to the Anthropic fields (paths into the Anthropic request), `betas` is
    always empty, `include_usage` is True for a stream (usage is always asked for: Anthropic
    streams carry it). `answered_here`: the functions that stand in for Anthropic's server tools
    (name -> web_search or web_fetch), whose calls the answer gives as the server tool's failure
    (`openai_to_anthropic.response(..., answered_here=...)`)."""

    answered_here: dict[str, str] = field(default_factory=dict)

    def explain(self, request: dict[str, Any]) -> list[Note]:
        return explain_rows(request, self.notes, ANTHROPIC_MAPPED_FIELDS)


def request(
    anthropic_request: MessagesRequest,
    *,
    strict: bool = False,
    models: Models = None,
    default_max_tokens: int | None = None,
    keep_billing_header: bool = False,
) -> OpenAIRequestTranslation:
    """Translate an Anthropic Messages request (`MessageCreateParams`) into an OpenAI Chat Completions
    request. Raises TranslationError listing every problem (`problems`), each with its JSON path.
    `keep_billing_header`: send Claude Code's billing header (its first system block) on; by default it
    is dropped, with a note: it changes with every prompt and defeats the upstream's prefix caching.

    `models`: the model capability table (a `ModelTable`, override rows as plain data, or None for
    the built-in one); its override rows are read over the built-in rows of OpenAI's models
    (`ModelTable.openai_side()`), never over Claude's. `default_max_tokens`: the limit for a request without `max_tokens` (which
    Anthropic requires; None: it is required here too).
    """
    req = want_object(anthropic_request, "$")
    ctx = _context(req, models)
    ctx.default_max_tokens = default_max_tokens or 0
    body: dict[str, Any] = {"model": ctx.model, "messages": []}
    _messages(req, body, ctx, keep_billing_header)
    wanted = 1  # the steps of the fields the request has (a step costs a call), as bits
    for key in req:
        wanted |= _STEP_OF.get(key, _OTHER)
    for bit, step in _STEPS:
        if wanted & bit:
            try:
                step(req, body, ctx)
            except TranslationError as exc:
                ctx.failed(exc)
    fit_to_model(body, ctx.facts, ctx.note, origins_for("messages"))
    ctx.finish(req, strict=strict)
    stand_ins = answered_here(req) if "tools" in body else {}
    return OpenAIRequestTranslation(body, ctx.notes, [], bool(body.get("stream")), stand_ins)


def _messages(req: dict[str, Any], body: dict[str, Any], ctx: Context, keep_billing_header: bool) -> None:
    try:
        messages = req.get("messages")
        if messages is None:
            raise TranslationError("messages", "is required")
        if not want_list(messages, "messages"):
            raise TranslationError("messages", "must contain at least one message")
        converter = MessageConverter(ctx, keep_billing_header=keep_billing_header)
        body["messages"] = converter.convert(req.get("system"), messages)
    except TranslationError as exc:
        ctx.failed(exc)


def _context(req: dict[str, Any], models: Models) -> Context:
    """The translation's context: the model (a problem when missing) and what the table knows of it."""
    return Context.of_request(req.get("model"), _table(models))


def _table(models: Models) -> ModelTable:
    """The table of the other direction: OpenAI's models, under the caller's override rows."""
    if models is None:
        return DEFAULT_TABLE.openai_side()
    if isinstance(models, ModelTable):
        return models.openai_side()
    return DEFAULT_TABLE.with_overrides(models).openai_side()


# ---- the fields, one step each -------------------------------------------------------------------


def _max_tokens(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    value = req.get("max_tokens")
    if value is None:
        if not ctx.default_max_tokens:
            raise TranslationError("max_tokens", "is required")
        value = ctx.default_max_tokens
        ctx.note("max_tokens", "defaulted", f"the request sets none; used {value}")
    else:
        value = want_int(value, "max_tokens", minimum=1)
    cap = ctx.facts.max_output if ctx.facts is not None else None
    if cap is not None and value > cap:
        ctx.note(
            "max_tokens", "approximated", f"lowered from {value} to {cap}: {ctx.model} writes at most {cap} tokens"
        )
        value = cap
    field = "max_completion_tokens" if _takes_completion_tokens(ctx.model) else "max_tokens"
    body[field] = value


_COMPLETION_TOKENS = re.compile("|".join(fnmatch.translate(pattern) for pattern in MAX_COMPLETION_TOKENS_MODELS))


def _takes_completion_tokens(model: str) -> bool:
    return _COMPLETION_TOKENS.match(model) is not None


def _sampling(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    for key in ("temperature", "top_p"):
        value = req.get(key)
        if value is None:
            continue
        try:
            body[key] = want_number(value, key, 0, 1)  # Anthropic's range; within OpenAI's
        except TranslationError as exc:
            ctx.failed(exc)
    facts = ctx.facts
    if facts is None or facts.sampling in (None, "all"):
        return
    if facts.sampling == "none":
        for key in ("temperature", "top_p"):
            if key in body:
                value = body.pop(key)
                if value == 1:
                    ctx.note(
                        key, "defaulted", f"not sent: {ctx.model} takes no sampling parameters, and 1 is the default"
                    )
                else:
                    ctx.note(key, "dropped", f"{ctx.model} takes no sampling parameters")
    elif "temperature" in body and "top_p" in body:
        del body["top_p"]
        ctx.note("top_p", "dropped", f"{ctx.model} takes temperature or top_p, not both: temperature is sent")


def _stop(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    value = req.get("stop_sequences")
    if value is None:
        return
    sequences: list[str] = []
    for k, entry in enumerate(want_list(value, "stop_sequences")):
        try:
            sequences.append(want_str(entry, f"stop_sequences[{k}]"))
        except TranslationError as exc:
            ctx.failed(exc)
    if sequences:
        body["stop"] = sequences


def _metadata(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    value = req.get("metadata")
    if value is None:
        return
    metadata = want_object(value, "metadata")
    if not METADATA_KEYS.issuperset(metadata):
        ctx.unknown_keys(metadata, METADATA_KEYS, "metadata")
    user_id = metadata.get("user_id")
    if user_id is not None and want_str(user_id, "metadata.user_id"):
        if needs_hashing(user_id, MAX_CHAT_USER):  # Claude Code's is a JSON object of ~150 characters
            user_id = hashed(user_id)
            ctx.note(
                "metadata.user_id",
                "approximated",
                f"looks like personal data or is longer than {MAX_CHAT_USER} (OpenAI's limit): sent as its hash",
            )
        body["user"] = user_id


def _stream(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    stream = req.get("stream")
    if stream is not None and want_bool(stream, "stream"):
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}  # Anthropic streams always end with usage


def _other_fields(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    """Fields with no OpenAI equivalent: dropped with a note or refused; unknown fields: dropped."""
    for key, value in req.items():
        if value is None or key in ANTHROPIC_MAPPED_FIELDS:
            continue
        try:
            if key == "top_k":
                want_int(value, "top_k", minimum=0)
                ctx.note(key, "dropped", ANTHROPIC_DROPPED_FIELDS[key])
            elif key in ANTHROPIC_REFUSED_FIELDS:
                ctx.refuse(key, ANTHROPIC_REFUSED_FIELDS[key])
            elif key in ANTHROPIC_DROPPED_FIELDS:
                ctx.note(key, "dropped", ANTHROPIC_DROPPED_FIELDS[key])
            else:
                ctx.note(key, "dropped", UNKNOWN_KEY)
        except TranslationError as exc:
            ctx.failed(exc)


_Step = Callable[[dict[str, Any], dict[str, Any], Context], None]
# The steps in the order they run, each with its bit; the request fields that need each step.
_STEPS: tuple[tuple[int, _Step], ...] = tuple(
    (1 << k, step)
    for k, step in enumerate(
        (_max_tokens, _sampling, _stop, _metadata, _stream, translate_tools, translate_reasoning, _other_fields)
    )
)
_OTHER = 1 << 7
_STEP_OF: dict[str, int] = {
    "model": 1,
    "messages": 1,
    "system": 1,
    "max_tokens": 1,
    "temperature": 1 << 1,
    "top_p": 1 << 1,
    "stop_sequences": 1 << 2,
    "metadata": 1 << 3,
    "stream": 1 << 4,
    "tools": 1 << 5,
    "tool_choice": 1 << 5,
    "thinking": 1 << 6,
    "output_config": 1 << 6,
}
