"""A fake OpenAI Responses API (`POST /v1/responses`) on 127.0.0.1: real sockets, real SSE bytes,
answering the way api.openai.com does and refusing what it would refuse.

    with FakeResponses([calls(function_call("exec_command", {"cmd": "echo hi > a.txt"})), text("Done.")]) as api:
        point a client at api.base_url (http://127.0.0.1:PORT/v1) with api.key
        api.turns   # the requests that were answered, in order (tests/fakes.py's Received)

The n-th accepted request gets the n-th scripted turn; a turn is a function of the request that
returns a `Reply` (tests/fakes.py), built by the helpers here:

- `text(...)`, `calls(...)` (function calls and custom tool calls, optionally several in parallel,
  optionally with a reasoning item first): the full event order of a real stream —
  `response.created`, `response.in_progress`, then per item `response.output_item.added`,
  `response.content_part.added` / `response.output_text.delta`… / `.done` / `response.content_part.done`
  (messages), `response.function_call_arguments.delta`… / `.done` (function calls),
  `response.custom_tool_call_input.delta`… / `.done` (custom tools), the reasoning summary events,
  `response.output_item.done` with the complete item, then `response.completed` whose `output`
  holds every item and whose `usage` has `input_tokens_details.cached_tokens` and
  `output_tokens_details.reasoning_tokens`. A request with `stream` false or absent gets the
  completed Response object as JSON instead.
- `rate_limited(...)`: HTTP 429 with `retry-after` and OpenAI's error body.
- `failed(...)`: a stream that ends in `response.failed` (`rate_limit_exceeded` by default).
- `server_error(status)`: a 5xx in OpenAI's words.
- `cut(turn, after=n)`: the turn's stream with the connection closed after n events, no end.
- `stall(turn, after=n)`: the turn's stream that goes silent after n events (until the fake closes).

Every event and object sent is validated against the `openai` SDK's types (`openai.types.responses`),
extra fields included: an event the SDK does not know, or a field it does not know, fails the test
that sent it, not the client that received it.

Refusals (not counted as turns; kept in `refusals`), each in OpenAI's error shape
`{"error": {"message", "type", "param", "code"}}`:
- a path or method that is not the API's: 404 `Invalid URL (POST /v1/x)`;
- no or another key: 401 `invalid_api_key`;
- a body that is not a JSON object: 400;
- a parameter the API does not have, at the top level or in an input item or tool: 400
  `unknown_parameter` naming it (`input[3].foo`);
- `model` or `input` missing: 400 `missing_required_parameter`;
- an input item or tool that is not what its `type` says (checked with the SDK's param types): 400
  `invalid_value` / `invalid_type` naming where;
- a tool name outside `^[a-zA-Z0-9_-]{1,64}$`, or the same name twice: 400;
- `tool_choice` naming a tool that is not in `tools`: 400;
- a `function_call_output` / `custom_tool_call_output` whose call is not in the input (or in the
  `previous_response_id` history), or a call with no output: 400 (with `store: false` nothing is
  remembered, so a client that drops the calls from the history is refused, as by the API);
- a `reasoning` item whose `encrypted_content` is not what this server issued: 400
  `invalid_encrypted_content` (a gateway must carry it back byte for byte);
- an unknown `previous_response_id`: 400 `previous_response_not_found`.
Responses created with `store` true (the API's default) are kept: `GET` and `DELETE
/v1/responses/{id}` work on them, and `previous_response_id` continues them.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
import traceback
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from tests.fakes import FakeServer, Received, Reply, ScriptedFake, sse

API_KEY = "sk-fake-responses-Jd82kLq0"
MODEL_SNAPSHOT_SUFFIX = "-2026-01-01"  # the API answers with the dated snapshot of the model asked for
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

# Parameters the public API takes that openai-python's ResponseCreateParams does not list yet:
# Codex 0.171 sends `client_metadata` to api.openai.com on every turn (captured in
# fixtures/codex_request.json), so the API takes it.
EXTRA_TOP_LEVEL = frozenset({"client_metadata"})
# Keys of input items / tools that the API takes and openai-python's param types do not list yet (sent
# by Codex 0.171 to api.openai.com: fixtures/codex_request.json).
EXTRA_ITEM_KEYS = {("tools", "web_search"): frozenset({"external_web_access", "search_content_types"})}
# Keys the SDK's param types mark required that the API defaults when they are absent.
DEFAULTED = {"function": frozenset({"strict", "parameters"})}

Turn = Callable[["TurnContext"], Reply]


# ---- the SDK's types as the oracle --------------------------------------------------------------------


@cache
def _event_adapters() -> dict[str, TypeAdapter[Any]]:
    """Each stream event type of the SDK's ResponseStreamEvent union, by its `type`."""
    from openai.types.responses import ResponseStreamEvent

    union = typing.get_args(ResponseStreamEvent)[0]
    return {t: TypeAdapter(cls) for cls in typing.get_args(union) for t in _type_literals(cls)}


@cache
def _response_adapter() -> TypeAdapter[Any]:
    from openai.types.responses import Response

    return TypeAdapter(Response)


def _extras(model: Any, path: str = "") -> list[str]:
    """Fields that the SDK's models took in without knowing them (they allow extras), anywhere inside."""
    found: list[str] = []
    if isinstance(model, BaseModel):
        found += [f"{path}.{name}".lstrip(".") for name in (model.model_extra or {})]
        for name in type(model).model_fields:
            found += _extras(getattr(model, name), f"{path}.{name}")
    elif isinstance(model, list | tuple):
        for n, value in enumerate(model):
            found += _extras(value, f"{path}[{n}]")
    elif isinstance(model, dict):
        for key, value in model.items():
            found += _extras(value, f"{path}.{key}")
    return found


def check_event(event: dict[str, Any]) -> dict[str, Any]:
    """`event` if the SDK's ResponseStreamEvent union takes it with no field it does not know; else AssertionError."""
    adapter = _event_adapters().get(event.get("type", ""))
    assert adapter is not None, f"the fake would send an event type the SDK does not know: {event.get('type')}"
    try:
        parsed = adapter.validate_python(event)
    except ValidationError as exc:
        raise AssertionError(f"the fake would send an event the SDK refuses: {event.get('type')}: {exc}") from exc
    unknown = _extras(parsed)
    assert not unknown, f"the fake would send fields the SDK does not know in {event['type']}: {unknown}"
    return event


def check_response(response: dict[str, Any]) -> dict[str, Any]:
    try:
        parsed = _response_adapter().validate_python(response)
    except ValidationError as exc:
        raise AssertionError(f"the fake would send a Response the SDK refuses: {exc}") from exc
    unknown = _extras(parsed)
    assert not unknown, f"the fake would send fields the SDK does not know in a Response: {unknown}"
    return response


# ---- request checks ---------------------------------------------------------------------------------


class Refused(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        error_type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = {"message": message, "type": error_type, "param": param, "code": code}


def _type_literals(cls: Any) -> tuple[str, ...]:
    """The values of the `type` field of one of the SDK's models or param TypedDicts."""
    hint: Any
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        hint = cls.model_fields["type"].annotation if "type" in cls.model_fields else None
    else:
        hint = typing.get_type_hints(cls, include_extras=True).get("type")
    while hint is not None and typing.get_origin(hint) in (typing.Required, typing.NotRequired, typing.Annotated):
        hint = typing.get_args(hint)[0]
    if typing.get_origin(hint) is typing.Union:
        hint = next(arg for arg in typing.get_args(hint) if typing.get_origin(arg) is typing.Literal)
    return tuple(typing.get_args(hint)) if typing.get_origin(hint) is typing.Literal else ()


@cache
def _kinds(union_name: str) -> dict[str, list[tuple[frozenset[str], TypeAdapter[Any]]]]:
    """type -> [(the keys it may have, a validator)] for the members of one of the SDK's param unions."""
    from openai.types.responses import ResponseInputItemParam, ToolParam

    union = {"input": ResponseInputItemParam, "tools": ToolParam}[union_name]
    kinds: dict[str, list[tuple[frozenset[str], TypeAdapter[Any]]]] = {}
    for cls in typing.get_args(union):
        keys = frozenset(typing.get_type_hints(cls))
        for literal in _type_literals(cls):
            kinds.setdefault(literal, []).append((keys, TypeAdapter(cls)))
    return kinds


@cache
def _top_level() -> frozenset[str]:
    from openai.types.responses.response_create_params import ResponseCreateParamsBase

    return frozenset(typing.get_type_hints(ResponseCreateParamsBase)) | {"stream"} | EXTRA_TOP_LEVEL


def _where(base: str, item: Any, loc: Sequence[int | str]) -> tuple[str, int]:
    """A pydantic error location as the API names a parameter (`input[3].content[0].type`), leaving out
    the union members pydantic names on the way; and how deep into the item it reaches."""
    out, depth, here = base, 0, item
    for part in loc:
        if isinstance(here, dict) and isinstance(part, str) and (part in here or depth == len(loc) - 1):
            out, here = f"{out}.{part}", here.get(part)
        elif isinstance(here, list) and isinstance(part, int) and 0 <= part < len(here):
            out, here = f"{out}[{part}]", here[part]
        else:
            continue
        depth += 1
    return out, depth


def _without_nulls(value: Any) -> Any:
    """The API takes `null` for a field it may go without (Codex sends reasoning items with `"content": null`);
    the SDK's param types do not: checked without them, a required field sent as null is still missing."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _check_item(union_name: str, n: int, item: Any) -> None:
    where = f"{union_name}[{n}]"
    if not isinstance(item, dict):
        raise Refused(
            400,
            f"Invalid type for '{where}': expected an object, but got {type(item).__name__} instead.",
            param=where,
            code="invalid_type",
        )
    kind = item.get("type", "message" if union_name == "input" else "")
    candidates = _kinds(union_name).get(kind) if isinstance(kind, str) else None
    if not candidates:
        raise Refused(
            400,
            f"Invalid value: '{kind}'. Supported values are: {', '.join(map(repr, sorted(_kinds(union_name))))}.",
            param=f"{where}.type",
            code="invalid_value",
        )
    known = frozenset().union(*(keys for keys, _ in candidates)) | EXTRA_ITEM_KEYS.get((union_name, kind), frozenset())
    for key in item:
        if key not in known:
            raise Refused(400, f"Unknown parameter: '{where}.{key}'.", param=f"{where}.{key}", code="unknown_parameter")
    defaulted = DEFAULTED.get(kind, frozenset())
    first: ValidationError | None = None
    for _, adapter in candidates:
        try:
            adapter.validate_python(_without_nulls(item))
            return
        except ValidationError as exc:
            errors = [e for e in exc.errors() if not (e["type"] == "missing" and e["loc"][-1] in defaulted)]
            if not errors:
                return
            first = first or exc
    assert first is not None
    errors = [e for e in first.errors() if not (e["type"] == "missing" and e["loc"][-1] in defaulted)]
    error = max(errors, key=lambda e: _where(where, item, e["loc"])[1])  # the one that got furthest in
    param = _where(where, item, error["loc"])[0]
    if error["type"] == "missing":
        raise Refused(400, f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")
    raise Refused(400, f"Invalid value for '{param}': {error['msg']}.", param=param, code="invalid_value")


def _tool_names(tools: list[dict[str, Any]]) -> set[str]:
    names: list[str] = []
    for n, tool in enumerate(tools):
        if tool.get("type") == "namespace":
            for m, inner in enumerate(tool.get("tools") or []):
                name = inner.get("name", "")
                if not TOOL_NAME.match(name):
                    raise _bad_name(f"tools[{n}].tools[{m}].name")
                names.append(f"{tool['name']}.{name}")
        if "name" in tool:
            if not TOOL_NAME.match(tool["name"]):
                raise _bad_name(f"tools[{n}].name")
            names.append(tool["name"])
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise Refused(400, f"Duplicate tool names: {', '.join(duplicates)}.", param="tools", code="invalid_value")
    return set(names)


def _bad_name(param: str) -> Refused:
    return Refused(
        400,
        f"Invalid '{param}': string does not match pattern. Expected a string that matches the "
        "pattern '^[a-zA-Z0-9_-]+$'.",
        param=param,
        code="invalid_value",
    )


def _check_tool_choice(choice: Any, names: set[str], tools: list[dict[str, Any]]) -> None:
    if not isinstance(choice, dict):
        return
    kind = choice.get("type")
    if kind in ("function", "custom") and choice.get("name") not in names:
        raise Refused(
            400, f"Tool choice '{kind}' not found in 'tools' parameter.", param="tool_choice", code="invalid_value"
        )
    if kind == "allowed_tools":
        for n, allowed in enumerate(choice.get("tools") or []):
            if allowed.get("name") and allowed["name"] not in names:
                raise Refused(
                    400,
                    f"Tool '{allowed['name']}' in tool_choice.tools[{n}] is not in 'tools'.",
                    param=f"tool_choice.tools[{n}]",
                    code="invalid_value",
                )
    hosted = {"web_search", "web_search_preview", "file_search", "code_interpreter", "image_generation", "shell"}
    if kind in hosted and not any(tool.get("type") == kind for tool in tools):
        raise Refused(
            400, f"Tool choice '{kind}' not found in 'tools' parameter.", param="tool_choice", code="invalid_value"
        )


CALLS = {"function_call": "function_call_output", "custom_tool_call": "custom_tool_call_output"}


def _check_history(history: list[dict[str, Any]], issued: dict[str, str]) -> None:
    """Each output answers a call before it, each call has its output, reasoning comes back as it was issued."""
    calls: dict[str, str] = {}
    answered: set[str] = set()
    for n, item in enumerate(history):
        kind = str(item.get("type"))
        if kind in CALLS:
            calls[item["call_id"]] = kind
        elif kind in CALLS.values():
            call_id = item.get("call_id")
            if call_id not in calls:
                raise Refused(
                    400,
                    f"No tool call found for {kind.replace('_', ' ')} with call_id {call_id}.",
                    param="input",
                    code=None,
                )
            answered.add(call_id)
        elif kind == "reasoning" and item.get("encrypted_content") not in (None, issued.get(item.get("id", ""))):
            raise Refused(
                400,
                f"The encrypted content for item {item.get('id')} could not be verified.",
                param=f"input[{n}].encrypted_content",
                code="invalid_encrypted_content",
            )
    for call_id, kind in calls.items():
        if call_id not in answered:
            said = f"No tool output found for {kind.replace('_', ' ')} {call_id}."
            raise Refused(400, said, param="input", code=None)


# ---- building a response ----------------------------------------------------------------------------


@dataclass
class Usage:
    input_tokens: int | None = None  # None: estimated from the request's size
    output_tokens: int | None = None  # None: estimated from the output
    cached_tokens: int = 0
    reasoning_tokens: int | None = None  # None: 0, or a few when a reasoning item was sent


@dataclass
class TurnContext:
    """What a turn needs to answer one request."""

    received: Received
    response_id: str
    created_at: int
    ids: Iterator[int]
    sign: Callable[[str], str]  # reasoning id -> the encrypted_content this server issues for it
    released: threading.Event  # set when the fake closes: ends every stall()

    @property
    def body(self) -> dict[str, Any]:
        return self.received.json

    def next_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self.ids):04d}{self.response_id[-8:]}"


def response_object(
    ctx: TurnContext,
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The Response object as the API returns it: the request's settings echoed, with the API's defaults."""
    body = ctx.body
    reasoning = body.get("reasoning") or {}
    text_settings = body.get("text") or {}
    return {
        "id": ctx.response_id,
        "object": "response",
        "created_at": ctx.created_at,
        "status": status,
        "background": False,
        "completed_at": ctx.created_at + 1 if status == "completed" else None,
        "error": error,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"),
        "model": str(body["model"]) + MODEL_SNAPSHOT_SUFFIX,
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "prompt_cache_retention": None,
        "reasoning": {"effort": reasoning.get("effort", "medium"), "summary": reasoning.get("summary")},
        "safety_identifier": body.get("safety_identifier"),
        "service_tier": "default",
        "temperature": body.get("temperature", 1.0),
        "text": {
            "format": text_settings.get("format", {"type": "text"}),
            "verbosity": text_settings.get("verbosity", "medium"),
        },
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": [_echoed(tool) for tool in body.get("tools", [])],
        "top_logprobs": body.get("top_logprobs", 0),
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"),
        "usage": usage,
        "user": body.get("user"),
        "metadata": body.get("metadata", {}),
    }


def _echoed(tool: dict[str, Any]) -> dict[str, Any]:
    """A tool as the Response object echoes it, without the keys the SDK's models do not have."""
    extra = EXTRA_ITEM_KEYS.get(("tools", tool.get("type", "")), frozenset())
    return {k: v for k, v in tool.items() if k not in extra}


def _pieces(text: str, n: int) -> list[str]:
    if not text:
        return []
    size = max(1, -(-len(text) // max(1, n)))
    return [text[i : i + size] for i in range(0, len(text), size)]


@dataclass
class FunctionCall:
    name: str
    arguments: str
    call_id: str | None = None
    namespace: str | None = None


@dataclass
class CustomCall:
    name: str
    input: str
    call_id: str | None = None


def function_call(name: str, arguments: dict[str, Any] | str, *, call_id: str | None = None) -> FunctionCall:
    """A call of a function tool; `name` may be `namespace.name` for a tool inside a `namespace` tool."""
    namespace, _, bare = name.rpartition(".")
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return FunctionCall(bare, args, call_id, namespace or None)


def custom_call(name: str, input: str, *, call_id: str | None = None) -> CustomCall:
    """A call of a custom (freeform) tool, such as Codex's `apply_patch`: the raw `input`, no JSON."""
    return CustomCall(name, input, call_id)


class _Stream:
    """Events of one response in order, numbered, each checked against the SDK."""

    def __init__(self, ctx: TurnContext) -> None:
        self.ctx = ctx
        self.events: list[dict[str, Any]] = []
        self.output: list[dict[str, Any]] = []

    def emit(self, event_type: str, **fields: Any) -> None:
        self.events.append(check_event({"type": event_type, "sequence_number": len(self.events), **fields}))

    def start(self) -> None:
        self.emit("response.created", response=response_object(self.ctx, "in_progress", [], None))
        self.emit("response.in_progress", response=response_object(self.ctx, "in_progress", [], None))

    def reasoning(self, summary: str, chunks: int) -> None:
        index = len(self.output)
        item_id = self.ctx.next_id("rs")
        encrypted = self.ctx.sign(item_id)
        self.emit(
            "response.output_item.added",
            output_index=index,
            item={"id": item_id, "type": "reasoning", "summary": [], "encrypted_content": None},
        )
        self.emit(
            "response.reasoning_summary_part.added",
            item_id=item_id,
            output_index=index,
            summary_index=0,
            part={"type": "summary_text", "text": ""},
        )
        for piece in _pieces(summary, chunks):
            self.emit(
                "response.reasoning_summary_text.delta",
                item_id=item_id,
                output_index=index,
                summary_index=0,
                delta=piece,
            )
        self.emit(
            "response.reasoning_summary_text.done", item_id=item_id, output_index=index, summary_index=0, text=summary
        )
        self.emit(
            "response.reasoning_summary_part.done",
            item_id=item_id,
            output_index=index,
            summary_index=0,
            part={"type": "summary_text", "text": summary},
        )
        item = {
            "id": item_id,
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": summary}],
            "encrypted_content": encrypted,
        }
        self.emit("response.output_item.done", output_index=index, item=item)
        self.output.append(item)

    def message(self, text: str, chunks: int) -> None:
        index = len(self.output)
        item_id = self.ctx.next_id("msg")
        self.emit(
            "response.output_item.added",
            output_index=index,
            item={"id": item_id, "type": "message", "status": "in_progress", "role": "assistant", "content": []},
        )
        empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        self.emit("response.content_part.added", item_id=item_id, output_index=index, content_index=0, part=empty)
        for piece in _pieces(text, chunks):
            self.emit(
                "response.output_text.delta",
                item_id=item_id,
                output_index=index,
                content_index=0,
                delta=piece,
                logprobs=[],
            )
        self.emit(
            "response.output_text.done", item_id=item_id, output_index=index, content_index=0, text=text, logprobs=[]
        )
        part = {**empty, "text": text}
        self.emit("response.content_part.done", item_id=item_id, output_index=index, content_index=0, part=part)
        item = {"id": item_id, "type": "message", "status": "completed", "role": "assistant", "content": [part]}
        self.emit("response.output_item.done", output_index=index, item=item)
        self.output.append(item)

    def function_call(self, call: FunctionCall, chunks: int) -> None:
        index = len(self.output)
        item_id = self.ctx.next_id("fc")
        call_id = call.call_id or self.ctx.next_id("call")
        base: dict[str, Any] = {"id": item_id, "type": "function_call", "call_id": call_id, "name": call.name}
        if call.namespace:
            base["namespace"] = call.namespace
        self.emit(
            "response.output_item.added", output_index=index, item={**base, "arguments": "", "status": "in_progress"}
        )
        for piece in _pieces(call.arguments, chunks):
            self.emit("response.function_call_arguments.delta", item_id=item_id, output_index=index, delta=piece)
        self.emit(
            "response.function_call_arguments.done",
            item_id=item_id,
            output_index=index,
            name=call.name,
            arguments=call.arguments,
        )
        item = {**base, "arguments": call.arguments, "status": "completed"}
        self.emit("response.output_item.done", output_index=index, item=item)
        self.output.append(item)

    def custom_call(self, call: CustomCall, chunks: int) -> None:
        index = len(self.output)
        item_id = self.ctx.next_id("ctc")
        call_id = call.call_id or self.ctx.next_id("call")
        base = {"id": item_id, "type": "custom_tool_call", "call_id": call_id, "name": call.name}
        self.emit("response.output_item.added", output_index=index, item={**base, "input": ""})
        for piece in _pieces(call.input, chunks):
            self.emit("response.custom_tool_call_input.delta", item_id=item_id, output_index=index, delta=piece)
        self.emit("response.custom_tool_call_input.done", item_id=item_id, output_index=index, input=call.input)
        item = {**base, "input": call.input}
        self.emit("response.output_item.done", output_index=index, item=item)
        self.output.append(item)

    def usage(self, usage: Usage) -> dict[str, Any]:
        reasoning_tokens = usage.reasoning_tokens
        if reasoning_tokens is None:
            reasoning_tokens = 12 if any(item["type"] == "reasoning" for item in self.output) else 0
        input_tokens = usage.input_tokens
        if input_tokens is None:
            input_tokens = max(1, len(json.dumps(self.ctx.body.get("input", ""))) // 4)
        output_tokens = usage.output_tokens
        if output_tokens is None:
            output_tokens = reasoning_tokens + max(1, len(json.dumps(self.output)) // 16)
        return {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": min(usage.cached_tokens, input_tokens), "cache_write_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
            "total_tokens": input_tokens + output_tokens,
        }

    def complete(self, usage: Usage) -> dict[str, Any]:
        response = response_object(self.ctx, "completed", list(self.output), self.usage(usage))
        self.emit("response.completed", response=response)
        return response


def _reply(
    ctx: TurnContext,
    build: Callable[[_Stream], None],
    usage: Usage,
    cut_after: int | None = None,
    hold: threading.Event | None = None,
    hold_at: int = 0,
) -> Reply:
    stream = _Stream(ctx)
    stream.start()
    build(stream)
    response = stream.complete(usage)
    headers = {
        "x-request-id": "req_" + ctx.response_id[-12:],
        "openai-version": "2020-10-01",
        "openai-processing-ms": "42",
    }
    if not ctx.body.get("stream"):
        check_response(response)
        return Reply(body=json.dumps(response).encode(), headers=headers)
    events = [sse(event) for event in stream.events]
    return Reply(events=events, headers=headers, cut_after=cut_after, hold=hold, hold_at=hold_at)


def text(answer: str, *, chunks: int = 3, reasoning: str | None = None, usage: Usage | None = None) -> Turn:
    """A turn that answers `answer` (in `chunks` deltas), with a reasoning item first when `reasoning` is given."""

    def turn(ctx: TurnContext) -> Reply:
        def build(stream: _Stream) -> None:
            if reasoning is not None:
                stream.reasoning(reasoning, chunks)
            stream.message(answer, chunks)

        return _reply(ctx, build, usage or Usage())

    return turn


def calls(
    *items: FunctionCall | CustomCall,
    text: str | None = None,
    reasoning: str | None = None,
    chunks: int = 3,
    usage: Usage | None = None,
) -> Turn:
    """A turn that calls tools: one or several items (several: parallel calls, as one response's output)."""

    def turn(ctx: TurnContext) -> Reply:
        def build(stream: _Stream) -> None:
            if reasoning is not None:
                stream.reasoning(reasoning, chunks)
            if text is not None:
                stream.message(text, chunks)
            for item in items:
                if isinstance(item, FunctionCall):
                    stream.function_call(item, chunks)
                else:
                    stream.custom_call(item, chunks)

        return _reply(ctx, build, usage or Usage())

    return turn


def error_body(message: str, error_type: str, code: str | None, param: str | None = None) -> bytes:
    return json.dumps({"error": {"message": message, "type": error_type, "param": param, "code": code}}).encode()


def rate_limited(retry_after: float = 1.0, *, message: str | None = None) -> Turn:
    """HTTP 429 as the API sends it: `retry-after`, the x-ratelimit headers, OpenAI's error body."""

    def turn(ctx: TurnContext) -> Reply:
        model = ctx.body.get("model")
        said = message or (
            f"Rate limit reached for {model} in organization org-fake on tokens per min (TPM): Limit 30000, "
            f"Used 29500, Requested 1200. Please try again in {retry_after:g}s. Visit "
            "https://platform.openai.com/account/rate-limits to learn more."
        )
        headers = {
            "retry-after": f"{retry_after:g}",
            "retry-after-ms": str(int(retry_after * 1000)),
            "x-ratelimit-limit-tokens": "30000",
            "x-ratelimit-remaining-tokens": "500",
            "x-ratelimit-reset-tokens": f"{retry_after:g}s",
            "x-request-id": "req_429" + ctx.response_id[-8:],
        }
        return Reply(status=429, body=error_body(said, "tokens", "rate_limit_exceeded"), headers=headers)

    return turn


def failed(code: str = "rate_limit_exceeded", message: str | None = None, *, check: bool = True) -> Turn:
    """A stream that starts and ends in `response.failed`. `check=False` for a code the API sends that
    the SDK's `ResponseError.code` does not list (`context_length_exceeded`, `insufficient_quota`)."""

    def turn(ctx: TurnContext) -> Reply:
        said = message or "Rate limit reached for requests. Please try again in 0.3s."
        stream = _Stream(ctx)
        stream.start()
        error = {"code": code, "message": said}
        response = response_object(ctx, "failed", [], None, error)
        event = {"type": "response.failed", "sequence_number": len(stream.events), "response": response}
        stream.events.append(check_event(event) if check else event)
        return Reply(events=[sse(e) for e in stream.events], headers={"x-request-id": "req_f" + ctx.response_id[-8:]})

    return turn


def cut(turn: Turn, *, after: int) -> Turn:
    """`turn`'s stream with the connection closed after `after` events: no `response.completed`, no end."""

    def cut_turn(ctx: TurnContext) -> Reply:
        reply = turn(ctx)
        assert reply.events is not None and after < len(reply.events), "cut() needs a streamed turn longer than `after`"
        reply.cut_after = after
        return reply

    return cut_turn


def stall(turn: Turn, *, after: int) -> Turn:
    """`turn`'s stream that sends `after` events and then nothing, the connection open, until the fake closes."""

    def stalled(ctx: TurnContext) -> Reply:
        reply = turn(ctx)
        assert reply.events is not None and 0 < after < len(reply.events), (
            "stall() needs a streamed turn longer than `after`"
        )
        reply.hold, reply.hold_at = ctx.released, after
        return reply

    return stalled


def server_error(status: int = 500) -> Turn:
    def turn(ctx: TurnContext) -> Reply:
        message = "The server had an error while processing your request. Sorry about that!"
        return Reply(
            status=status,
            body=error_body(message, "server_error", None),
            headers={"x-request-id": "req_5xx" + ctx.response_id[-8:]},
        )

    return turn


# ---- the server ------------------------------------------------------------------------------------


@dataclass
class Refusal:
    received: Received
    status: int
    error: dict[str, Any]


@dataclass
class FakeResponses(ScriptedFake):
    """A scripted fake of the Responses API; use as a context manager (the socket is open inside)."""

    script: Iterable[Turn]
    key: str = API_KEY
    turns: list[Received] = field(default_factory=list)  # the requests answered with a scripted turn
    refusals: list[Refusal] = field(default_factory=list)
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {"response", "history"}
    released: threading.Event = field(default_factory=threading.Event)  # ends every stall() at close
    broken: list[str] = field(default_factory=list)  # tracebacks of turns that failed the SDK's checks

    def __post_init__(self) -> None:
        self._script = list(self.script)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._issued: dict[str, str] = {}
        self.server = FakeServer(self._respond)

    def _sign(self, item_id: str) -> str:
        digest = hashlib.sha256(f"fake-responses:{item_id}".encode()).digest()
        content = "gAAAAAB" + base64.urlsafe_b64encode(digest * 4).decode()  # opaque, shaped like the API's
        self._issued[item_id] = content
        return content

    def _respond(self, received: Received) -> Reply:
        try:
            return self._answer(received)
        except Refused as refused:
            with self._lock:
                self.refusals.append(Refusal(received, refused.status, refused.error))
            return Reply(
                status=refused.status,
                body=json.dumps({"error": refused.error}).encode(),
                headers={"x-request-id": "req_refused"},
            )
        except Exception:  # a turn that would send what the SDK refuses (or a bug here): the test's fault, said so
            with self._lock:
                self.broken.append(traceback.format_exc())
            message = "the fake's turn is broken: see FakeResponses.broken"
            return Reply(status=500, body=error_body(message, "server_error", None))

    def _answer(self, received: Received) -> Reply:
        path = received.path.split("?", 1)[0]
        method = received.method
        route = re.fullmatch(r"/v1/responses(?:/([A-Za-z0-9_-]+))?", path)
        if route is None or (route.group(1) is None and method != "POST") or (route.group(1) and method == "POST"):
            raise Refused(404, f"Invalid URL ({method} {path})")
        self._check_key(received.headers)
        if route.group(1):
            return self._stored(method, route.group(1))
        body = received.body
        if not isinstance(body, dict):
            raise Refused(
                400,
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
                "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
                "sent was not valid JSON.)",
            )
        history = self._check_body(body)
        with self._lock:
            n = len(self.turns)
            if n >= len(self._script):
                raise Refused(
                    500,
                    f"the fake's script has {len(self._script)} turns; this is request {n + 1}",
                    error_type="server_error",
                )
            self.turns.append(received)
            turn = self._script[n]
            response_id = f"resp_{next(self._ids):04d}{hashlib.sha256(str(n).encode()).hexdigest()[:20]}"
        ctx = TurnContext(received, response_id, 1_767_225_600 + n, itertools.count(1), self._sign, self.released)
        reply = turn(ctx)
        if body.get("store", True) and reply.status == 200:
            self._keep(ctx, reply, history)
        return reply

    def _check_key(self, headers: dict[str, str]) -> None:
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            raise Refused(
                401,
                "You didn't provide an API key. You need to provide your API key in an Authorization "
                "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )
        if auth[7:].strip() != self.key:
            shown = auth[7:].strip()
            shown = shown[:3] + "*" * 4 + shown[-4:] if len(shown) > 8 else shown
            raise Refused(
                401,
                f"Incorrect API key provided: {shown}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )

    def _check_body(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        for key in body:
            if key not in _top_level():
                raise Refused(400, f"Unknown parameter: '{key}'.", param=key, code="unknown_parameter")
        for required in ("model", "input"):
            if required not in body:
                raise Refused(
                    400, f"Missing required parameter: '{required}'.", param=required, code="missing_required_parameter"
                )
        if not isinstance(body["model"], str) or not body["model"]:
            raise Refused(400, "Invalid type for 'model': expected a string.", param="model", code="invalid_type")
        items = body["input"]
        if isinstance(items, str):
            items = [{"type": "message", "role": "user", "content": items}]
        if not isinstance(items, list):
            raise Refused(
                400, "Invalid type for 'input': expected one of a string or array.", param="input", code="invalid_type"
            )
        for n, item in enumerate(items):
            _check_item("input", n, item)
        tools = body.get("tools") or []
        if not isinstance(tools, list):
            raise Refused(400, "Invalid type for 'tools': expected an array.", param="tools", code="invalid_type")
        for n, tool in enumerate(tools):
            _check_item("tools", n, tool)
        names = _tool_names(tools)
        _check_tool_choice(body.get("tool_choice"), names, tools)
        previous: list[dict[str, Any]] = []
        if body.get("previous_response_id") is not None:
            kept = self.stored.get(body["previous_response_id"])
            if kept is None:
                raise Refused(
                    400,
                    f"Previous response with id '{body['previous_response_id']}' not found.",
                    param="previous_response_id",
                    code="previous_response_not_found",
                )
            previous = kept["history"] + kept["response"]["output"]
        history = previous + items
        _check_history(history, self._issued)
        return history

    def _keep(self, ctx: TurnContext, reply: Reply, history: list[dict[str, Any]]) -> None:
        if reply.events is not None:
            last = json.loads(reply.events[-1].split(b"data: ", 1)[1])
            response = last["response"] if last["type"] == "response.completed" else None
        else:
            response = json.loads(reply.body)
        if response is not None:
            with self._lock:
                self.stored[ctx.response_id] = {"response": response, "history": history}

    def _stored(self, method: str, response_id: str) -> Reply:
        kept = self.stored.get(response_id)
        if kept is None:
            raise Refused(404, f"No response found with id '{response_id}'.", param="response_id")
        if method == "DELETE":
            with self._lock:
                del self.stored[response_id]
            return Reply(body=json.dumps({"id": response_id, "object": "response", "deleted": True}).encode())
        return Reply(body=json.dumps(kept["response"]).encode())
