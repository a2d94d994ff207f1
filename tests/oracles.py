"""The official SDK types as oracles: what protoshift emits must validate against them.

Shared by tests/translator, tests/cloud and tests/cli:

    from tests.oracles import assert_anthropic_body, validate_completion, validate_chunk

Notes on how far the SDK types reach (checked against anthropic 2.x / pydantic 2.x):

- `TypeAdapter(MessageCreateParams, config=ConfigDict(extra="forbid"))` does forbid unknown keys at
  the top level and in nested TypedDicts (e.g. `cache_control`, image sources), but
- `messages` and block `content` are typed `Iterable[...]`, which pydantic validates lazily: the
  returned value holds a `ValidatorIterator` and nothing inside is checked until it is iterated.
  `validate_message_create_params` therefore walks the whole validated value, forcing every
  iterator, so a bad message or block fails here and not silently.
- the block unions also accept the SDK's *response* models (`TextBlock`, `ToolUseBlock`, ...), which
  allow extra keys, so an unknown key on a text/tool_use/thinking block slips through. We close that
  gap with `assert_closed_blocks`, which checks each block's keys against the SDK's own TypedDict.
- the installed SDK (anthropic 2.x) no longer declares `temperature`, `top_p` or `top_k` on
  MessageCreateParams: Claude Opus 4.7 and later refuse them, older models still take them. The
  translator still maps them (a design question reported to the lead), so the oracle takes them
  out before the SDK check and checks their type and range itself (`SAMPLING_KEYS`).
- `MessageParam` now includes a `system` role; the Messages API we send to takes only user and
  assistant turns in `messages`, which `assert_anthropic_body` checks (and that they alternate).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pydantic
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import (
    CacheControlEphemeralParam,
    DocumentBlockParam,
    ImageBlockParam,
    Message,
    MessageCreateParams,
    RawMessageStreamEvent,
    RedactedThinkingBlockParam,
    TextBlockParam,
    ThinkingBlockParam,
    ToolResultBlockParam,
    ToolUseBlockParam,
)
from anthropic.types.beta.message_create_params import MessageCreateParams as BetaMessageCreateParams
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.chat import CompletionCreateParams as OpenAICompletionCreateParams

__all__ = [
    "accumulate_anthropic_events",
    "assert_alternating_roles",
    "assert_anthropic_body",
    "assert_anthropic_event_sequence",
    "assert_closed_blocks",
    "assert_no_empty_text",
    "assert_openai_body",
    "assert_valid_anthropic_body",
    "assert_valid_chunk",
    "assert_valid_completion",
    "iter_blocks",
    "validate_anthropic_event",
    "validate_anthropic_message",
    "validate_anthropic_message_closed",
    "validate_chunk",
    "validate_completion",
    "validate_message_create_params",
]

_REQUEST = pydantic.TypeAdapter(MessageCreateParams, config=pydantic.ConfigDict(extra="forbid"))
# A body sent with an anthropic-beta header (computer use tools, ...) is checked against the beta types
# (one of which allows extra items; pydantic warns that "forbid" does not apply to it).
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    _BETA_REQUEST = pydantic.TypeAdapter(BetaMessageCreateParams, config=pydantic.ConfigDict(extra="forbid"))
_EVENT: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(RawMessageStreamEvent)

_CACHE_CONTROL_KEYS = frozenset(
    CacheControlEphemeralParam.__required_keys__ | CacheControlEphemeralParam.__optional_keys__
)

# Block type -> the keys the SDK's request TypedDict allows for it.
_BLOCK_KEYS: dict[str, frozenset[str]] = {
    name: frozenset(td.__required_keys__ | td.__optional_keys__)  # type: ignore[attr-defined]
    for name, td in {  # TypedDict classes: mypy does not see their key sets
        "text": TextBlockParam,
        "image": ImageBlockParam,
        "document": DocumentBlockParam,
        "tool_use": ToolUseBlockParam,
        "tool_result": ToolResultBlockParam,
        "thinking": ThinkingBlockParam,
        "redacted_thinking": RedactedThinkingBlockParam,
    }.items()
}


def _force(value: Any) -> Any:
    """Walk a validated value, draining every lazy `ValidatorIterator` (this is what validates it)."""
    if isinstance(value, Mapping):
        return {k: _force(v) for k, v in value.items()}
    if isinstance(value, pydantic.BaseModel):
        return value
    if isinstance(value, list | tuple | Iterator):
        return [_force(v) for v in value]
    return value


# Sampling fields the SDK types dropped (see the module docstring): name -> (type check, range check).
SAMPLING_KEYS: dict[str, Any] = {
    "temperature": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1,
    "top_p": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1,
    "top_k": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
}


def validate_message_create_params(body: Any, *, beta: bool = False) -> None:
    """Raises unless `body` is a valid `anthropic.types.MessageCreateParams` (+ the sampling fields);
    with `beta`, a valid `anthropic.types.beta.MessageCreateParams` (a body sent with betas)."""
    if isinstance(body, Mapping):
        for key, ok in SAMPLING_KEYS.items():
            if key in body:
                assert ok(body[key]), f"{key}={body[key]!r} is not a valid Anthropic {key}"
        body = {k: v for k, v in body.items() if k not in SAMPLING_KEYS}
    _force((_BETA_REQUEST if beta else _REQUEST).validate_python(body))


def iter_blocks(body: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every content block of an Anthropic request body: system, message content, tool results."""
    system = body.get("system")
    if isinstance(system, list):
        yield from system
    for message in body.get("messages", []):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for block in content:
            yield block
            if block.get("type") == "tool_result" and isinstance(block.get("content"), list):
                yield from block["content"]


def assert_no_empty_text(body: Mapping[str, Any]) -> None:
    """Anthropic rejects empty and whitespace-only text blocks (and empty string content)."""
    if isinstance(body.get("system"), str):
        assert body["system"].strip(), "empty system string"
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            assert content.strip(), f"empty string content in {message!r}"
        else:
            assert content, f"message without content blocks: {message!r}"
    for block in iter_blocks(body):
        if block.get("type") == "text":
            assert isinstance(block.get("text"), str), block
            assert block["text"].strip(), f"empty text block sent: {block!r}"


def assert_closed_blocks(body: Mapping[str, Any]) -> None:
    """Each block (and its cache_control) carries only keys its SDK TypedDict declares: the unions let extras through."""
    for block in iter_blocks(body):
        allowed = _BLOCK_KEYS.get(block.get("type"))  # type: ignore[arg-type]
        assert allowed is not None, f"block type the translator should not produce: {block!r}"
        extra = set(block) - allowed
        assert not extra, f"{block['type']} block has keys the API does not take: {sorted(extra)}"
        _assert_cache_control(block)
    for tool in body.get("tools", []):
        _assert_cache_control(tool)


def _assert_cache_control(obj: Mapping[str, Any]) -> None:
    cc = obj.get("cache_control")
    if cc is not None:  # a nested TypedDict the response-model branches of the unions let through
        extra = set(cc) - _CACHE_CONTROL_KEYS
        assert not extra, f"cache_control has keys the API does not take: {sorted(extra)}"


def assert_alternating_roles(body: Mapping[str, Any]) -> None:
    roles = [m["role"] for m in body["messages"]]
    assert roles, "no messages"
    assert set(roles) <= {"user", "assistant"}, roles
    for a, b in itertools.pairwise(roles):
        assert a != b, f"consecutive {a} turns: {roles}"


def assert_anthropic_body(body: Mapping[str, Any], betas: Sequence[str] = ()) -> None:
    """Everything a body protoshift sends must satisfy: SDK type (the beta one when it is sent with
    anthropic-beta headers), closed blocks, no empty text, alternating roles."""
    validate_message_create_params(body, beta=bool(betas))
    assert_closed_blocks(body)
    assert_no_empty_text(body)
    assert_alternating_roles(body)


def validate_completion(obj: Any) -> ChatCompletion:
    return ChatCompletion.model_validate(obj)


def validate_chunk(obj: Any) -> ChatCompletionChunk:
    return ChatCompletionChunk.model_validate(obj)


def validate_anthropic_message(obj: Any) -> Message:
    """For test fixtures: an Anthropic response written by hand must be a real `Message`."""
    return Message.model_validate(obj)


def validate_anthropic_event(obj: Any) -> Any:
    """For test fixtures: a hand-written stream event must be a real `RawMessageStreamEvent`."""
    return _EVENT.validate_python(obj)


# Names tests/cli imports (an earlier version of this module used them).
assert_valid_anthropic_body = assert_anthropic_body
assert_valid_completion = validate_completion
assert_valid_chunk = validate_chunk


# ---- the other direction: Anthropic requests in, OpenAI-compatible models out ------------------------

_OPENAI_REQUEST = pydantic.TypeAdapter(OpenAICompletionCreateParams, config=pydantic.ConfigDict(extra="forbid"))


REASONING_DETAIL_TYPES = ("reasoning.text", "reasoning.summary", "reasoning.encrypted")  # OpenRouter's


def assert_openai_body(body: Mapping[str, Any]) -> None:
    """Every OpenAI body protoshift sends must be a valid `openai.types.chat.CompletionCreateParams`
    (unknown keys forbidden, lazy iterables forced). The extensions it sends on purpose on an assistant
    message, `reasoning_content` (the DeepSeek/vLLM convention for thinking in a history) and
    `reasoning_details` (OpenRouter's, given back), are checked here and taken out before the SDK check."""
    messages = []
    for message in body.get("messages", []):
        if message.get("role") == "assistant" and ("reasoning_content" in message or "reasoning_details" in message):
            assert isinstance(message.get("reasoning_content", ""), str), message
            details = message.get("reasoning_details", [{"type": "reasoning.text"}])
            assert isinstance(details, list) and details, message
            assert all(d.get("type") in REASONING_DETAIL_TYPES for d in details), message
            messages.append({k: v for k, v in message.items() if k not in ("reasoning_content", "reasoning_details")})
        else:
            messages.append(message)
    _force(_OPENAI_REQUEST.validate_python({**body, "messages": messages}))


def _assert_no_extras(value: Any, where: str) -> None:
    """The SDK response models (anthropic's, openai's) allow extra keys; what protoshift makes must have none."""
    if isinstance(value, pydantic.BaseModel):
        extra = value.model_extra or {}
        assert not extra, f"{where}: keys the SDK types do not have: {sorted(extra)}"
        for name in type(value).model_fields:
            _assert_no_extras(getattr(value, name), f"{where}.{name}")
    elif isinstance(value, list):
        for k, item in enumerate(value):
            _assert_no_extras(item, f"{where}[{k}]")


def validate_anthropic_message_closed(obj: Any) -> Message:
    """An Anthropic message protoshift made: a valid `Message` with no key the type lacks."""
    message = Message.model_validate(obj)
    _assert_no_extras(message, "message")
    return message


def assert_anthropic_event_sequence(events: Sequence[Mapping[str, Any]]) -> None:
    """Each event a valid `RawMessageStreamEvent` (no extra keys), in the order the API sends them:
    message_start, ping, then per block start/deltas/stop with indices 0, 1, 2... never
    interleaved, then message_delta and message_stop (or an `error` event, which ends it)."""
    assert events, "no events"
    assert events[0]["type"] == "message_start", events[0]
    open_index: int | None = None
    next_index = 0
    state = "blocks"
    for n, event in enumerate(events):
        kind = event["type"]
        if kind == "error":
            assert set(event) == {"type", "error"} and set(event["error"]) == {"type", "message"}, event
            assert n == len(events) - 1, "an error event ends the stream"
            return
        if kind != "ping":
            _assert_no_extras(_EVENT.validate_python(event), f"events[{n}]")
        if kind == "content_block_start":
            assert state == "blocks" and open_index is None, f"events[{n}]: a block starts inside another"
            assert event["index"] == next_index, f"events[{n}]: index {event['index']}, expected {next_index}"
            open_index, next_index = event["index"], next_index + 1
        elif kind == "content_block_delta":
            assert event["index"] == open_index, f"events[{n}]: a delta for a block that is not open"
        elif kind == "content_block_stop":
            assert event["index"] == open_index, f"events[{n}]: stop of a block that is not open"
            open_index = None
        elif kind == "message_delta":
            assert open_index is None and state == "blocks", f"events[{n}]: message_delta with a block open"
            state = "delta"
        elif kind == "message_stop":
            assert state == "delta", f"events[{n}]: message_stop before message_delta"
            assert n == len(events) - 1, "message_stop is the last event"
            state = "stopped"
    assert state == "stopped", "the stream does not end with message_stop"


def accumulate_anthropic_events(events: Sequence[Mapping[str, Any]]) -> Message:
    """The message the anthropic SDK's own accumulator makes of `events` (what `get_final_message()` gives)."""
    snapshot: Any = None
    json_bufs: dict[int, bytes] = {}
    for event in events:
        if event["type"] in ("ping", "error"):
            continue
        snapshot = accumulate_event(event=_EVENT.validate_python(event), current_snapshot=snapshot, json_bufs=json_bufs)
    assert snapshot is not None, "no message_start"
    return Message.model_validate(snapshot.model_dump())
