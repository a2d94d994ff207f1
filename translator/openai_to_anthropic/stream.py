"""OpenAI chat.completion.chunk stream -> Anthropic Messages stream events, one chunk at a time.

The events are exactly the sequence the `anthropic` SDK's accumulator (`lib/streaming/_messages.py`)
expects: `message_start` (usage with the input tokens known so far), one `ping`, then per content
block `content_block_start`, its deltas and `content_block_stop` (indices 0, 1, 2... in order; blocks
never interleave), then `message_delta` (stop_reason, and usage once the provider gave it) and
`message_stop`.

- `reasoning_content` / `reasoning` deltas -> a thinking block (OpenRouter's `reasoning_details` pieces are
  joined and carried in its signature, a `signature_delta` as it closes: reasoning_details.py); `content`
  (and `refusal`) -> a text block; each tool call -> a tool_use block whose arguments go out as `input_json_delta` fragments as they
  arrive, never held to the end;
- parallel calls are separate blocks. A provider that interleaves two calls' argument fragments gets
  the open call streamed live and the other's fragments held until the open one's arguments are a
  complete JSON value (then it is closed and the held ones follow), or the stream ends;
- a call starts when its function name is known (some providers send it after the first fragment);
  a tool id repeated on every chunk is the same call; a call with no id gets one;
- the end: a finish_reason closes the blocks; `message_delta` + `message_stop` follow with the usage
  chunk after it (`choices: []`), `[DONE]`, or `close()` — a finish_reason is proof of an end when
  `[DONE]` never comes. Chunks with no choices, usage-only chunks and role-only first chunks are fine;
- an `{"error": ...}` object in the stream -> an Anthropic `error` event (`.failed` holds it), and the
  stream is over. `close()` without a finish_reason or `[DONE]` raises IncompleteStreamError.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from protoshift.translator import reasoning_details
from protoshift.translator.chat_tool_calls import CALL, ChatCall, ToolCallStream
from protoshift.translator.errors import IncompleteStreamError
from protoshift.translator.openai_to_anthropic.message import (
    message_id,
    server_tool_use_id,
    stop_reason,
    tool_use_id,
    unavailable_result,
)
from protoshift.translator.stamps import DEFAULT_STAMPS, Stamps
from protoshift.translator.usage import chat_usage_to_messages
from protoshift.translator.wire import ChatChunk, Message, MessageEvent

_TEXT, _THINKING = 0, 1
_TOOL = CALL  # chat_tool_calls' (4)
_NONE = -1
_NOTHING: Mapping[str, str] = {}

# OpenAI error `type`/`code` words -> Anthropic's error types (anything else is an api_error).
_ERROR_TYPES: tuple[tuple[str, str], ...] = (
    ("overloaded", "overloaded_error"),
    ("rate_limit", "rate_limit_error"),
    ("quota", "rate_limit_error"),
    ("invalid_request", "invalid_request_error"),
    ("context_length", "invalid_request_error"),
    ("authentication", "authentication_error"),
    ("api_key", "authentication_error"),
    ("permission", "permission_error"),
    ("not_found", "not_found_error"),
    ("timeout", "timeout_error"),
)
ANTHROPIC_ERROR_TYPES = frozenset(
    {
        "invalid_request_error", "authentication_error", "permission_error", "not_found_error",
        "request_too_large", "rate_limit_error", "api_error", "timeout_error", "overloaded_error",
    }
)  # fmt: skip


# An error object's numeric `code` (OpenRouter sends the HTTP status there) -> the Anthropic error type.
_ERROR_STATUS_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def anthropic_error_type(kind: Any) -> str:
    """An OpenAI-compatible server's error type or code -> the Anthropic error type it stands for."""
    if isinstance(kind, int) and not isinstance(kind, bool):
        return _ERROR_STATUS_TYPES.get(kind, "api_error")
    if not isinstance(kind, str) or not kind:
        return "api_error"
    if kind in ANTHROPIC_ERROR_TYPES:
        return kind
    lowered = kind.lower()
    return next((anthropic for word, anthropic in _ERROR_TYPES if word in lowered), "api_error")


@functools.cache
def _json() -> tuple[Callable[..., Any], Callable[..., bytes]]:
    """pydantic-core's JSON (a fifth of json's time), imported on first use: it costs ~40 ms of start-up,
    which `protoshift --help` and `translate request` need not pay."""
    from pydantic_core import from_json, to_json

    return from_json, to_json


def encode_event(event: MessageEvent) -> bytes:
    """One event exactly as Anthropic frames it: `event: TYPE`, `data: JSON`, a blank line."""
    kind: str = event["type"]
    return b"event: " + kind.encode() + b"\ndata: " + _json()[1](event) + b"\n\n"


class _Call(ChatCall):
    """One OpenAI tool call (one `index`) on its way to a tool_use block."""

    __slots__ = ("server",)

    def __init__(self, call_id: str) -> None:
        super().__init__(call_id)
        self.server: str | None = None  # the server tool it stands in for (web_search...), when it does


class Stream(ToolCallStream[_Call]):
    """Feed OpenAI chunks (parsed JSON objects, or `translator.sse.DONE`); get Anthropic events.

    `model`: the model to name when the chunks name none (the request's). `stamps`: the ids when
    the chunks give none (the message's, a tool call's). `answered_here`: as `response` takes it: a
    call to one of those functions streams as a `server_tool_use` block, then its failed result."""

    __slots__ = (
        "_answered_here", "_details", "_ended", "_finish", "_finished", "_id", "_index", "_model", "_open", "_refusal",
        "_stamps", "_started", "_tool_used", "_usage", "failed", "started",
    )  # fmt: skip
    _call_type = _Call

    def __init__(
        self, *, model: str | None = None, stamps: Stamps = DEFAULT_STAMPS, answered_here: Mapping[str, str] = _NOTHING
    ) -> None:
        super().__init__()  # the calls, what is held and the open call (chat_tool_calls)
        self._model = model or ""
        self._answered_here = answered_here
        self._stamps = stamps
        self._id = ""
        self._started = False  # message_start was given out
        self._ended = False  # message_stop (or an error event) was given out
        self._finish: Any = None
        self._finished = False  # a finish_reason or [DONE] came: the blocks are closed
        self._usage: dict[str, Any] | None = None
        self._index = -1  # the Anthropic index of the last block started
        self._open = _NONE  # what the open block is (_TEXT, _THINKING, _TOOL), or _NONE
        self._refusal = False
        self._tool_used = False
        self._details: list[dict[str, Any]] = []  # OpenRouter's reasoning_details not yet in a signature
        self.failed: MessageEvent | None = None  # the error event, when the stream ended with one
        self.started = False  # any event was given out

    @property
    def message_id(self) -> str:
        return self._id

    def feed(self, chunk: ChatChunk) -> list[MessageEvent]:
        if self._ended:
            return []
        if chunk.get("type") == "[DONE]":  # translator.sse.DONE
            return self._end()
        if chunk.get("error") is not None:  # OpenAI's, OpenRouter's (in a chunk) error object
            return self._error(chunk["error"])
        if chunk.get("object") == "error":  # vLLM's: the error's fields at the top level
            return self._error(chunk)
        out: list[MessageEvent] = []
        if not self._started:
            self._begin(chunk, out)
        usage = chunk.get("usage")
        if usage:
            self._usage = usage
        choices = chunk.get("choices")
        if choices:
            self._choices(choices, out)
        elif usage and self._finished:  # the usage chunk after the finish reason: the end
            out.extend(self._end())
        return out

    def close(self) -> list[MessageEvent]:
        if self._ended:
            return []
        if self._finished:
            return self._end()
        raise IncompleteStreamError(
            "stream ended before a finish_reason or [DONE]" if self._started else "empty stream"
        )

    # ---- deltas ------------------------------------------------------------------------------

    def _choices(self, choices: list[Any], out: list[MessageEvent]) -> None:
        for choice in choices:
            if choice.get("index", 0) != 0:  # n > 1: the first choice only
                continue
            delta = choice.get("delta")
            if delta:
                self._delta(delta, out)
            finish = choice.get("finish_reason")
            if finish and not self._finished:
                self._finish = finish
                self._finish_blocks(out)

    def _delta(self, delta: dict[str, Any], out: list[MessageEvent]) -> None:
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if pieces := reasoning_details.details(delta.get("reasoning_details")):
            # OpenRouter sends the text twice (`reasoning` too) or only here; an encrypted piece has none,
            # but still needs a thinking block to carry it (in its signature, when the block closes)
            added = reasoning_details.merge(self._details, pieces)
            self._put(_THINKING, None, reasoning if reasoning and type(reasoning) is str else added, out)
        elif reasoning and type(reasoning) is str:
            self._put(_THINKING, None, reasoning, out)
        content = delta.get("content")
        if content and type(content) is str:
            if self._open == _TEXT and not self._held:  # the hot path: text on an open text block
                out.append(
                    {
                        "type": "content_block_delta",
                        "index": self._index,
                        "delta": {"type": "text_delta", "text": content},
                    }
                )
            else:
                self._put(_TEXT, None, content, out)
        refusal = delta.get("refusal")
        if refusal and type(refusal) is str:
            self._refusal = True
            self._put(_TEXT, None, refusal, out)
        calls = delta.get("tool_calls")
        if calls:
            for entry in calls:
                if isinstance(entry, dict):
                    self._tool_call(entry, out)

    # ---- blocks ------------------------------------------------------------------------------

    def _put(self, kind: int, call: _Call | None, text: str, out: list[MessageEvent]) -> None:
        """`text` for a block of `kind` (and `call`): out now, or held while an open tool call's
        arguments are still incomplete."""
        if self._held:
            self._put_held(kind, call, text, out)
            return
        if kind == self._open and (kind != _TOOL or call is self._open_call):
            self._emit(kind, call, text, out)
            return
        if self._open == _TOOL and not self._is_complete(self._open_call):
            self._held.append((kind, call, text))
            return
        if call is not None and call.started:
            return  # more for a call whose arguments were already a whole JSON value: nothing can follow that
        self._close(out)
        self._start(kind, call, out)
        self._emit(kind, call, text, out)

    def _start(self, kind: int, call: _Call | None, out: list[MessageEvent]) -> None:
        self._index += 1
        self._open = kind
        self._open_call = call
        block: dict[str, Any]
        if kind == _TEXT:
            block = {"type": "text", "text": ""}
        elif kind == _THINKING:
            block = {"type": "thinking", "thinking": "", "signature": ""}
        else:
            assert call is not None
            call.started = True
            call.server = self._answered_here.get(call.name) if self._answered_here else None
            if call.server is not None:
                call.id = server_tool_use_id(self._stamps)
                block = {"type": "server_tool_use", "id": call.id, "name": call.server, "input": {}}
            else:
                if not call.id:
                    call.id = tool_use_id(self._stamps)
                self._tool_used = True
                block = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
        out.append({"type": "content_block_start", "index": self._index, "content_block": block})

    def _emit(self, kind: int, call: _Call | None, text: str, out: list[MessageEvent]) -> None:
        if not text:
            return
        if kind == _TEXT:
            delta = {"type": "text_delta", "text": text}
        elif kind == _THINKING:
            delta = {"type": "thinking_delta", "thinking": text}
        else:
            assert call is not None
            if call.complete or (call.args and text[0] == "{" and self._is_complete(call)):
                return  # a server repeating whole arguments (chat_tool_calls): inline, the hot path
            call.args.append(text)
            delta = {"type": "input_json_delta", "partial_json": text}
        out.append({"type": "content_block_delta", "index": self._index, "delta": delta})

    def _close(self, out: list[MessageEvent]) -> None:
        if self._open != _NONE:
            if self._open == _THINKING and self._details:
                signature = reasoning_details.encode(self._details)
                self._details = []
                delta = {"type": "signature_delta", "signature": signature}
                out.append({"type": "content_block_delta", "index": self._index, "delta": delta})
            out.append({"type": "content_block_stop", "index": self._index})
            call = self._open_call
            self._open = _NONE
            self._open_call = None
            if call is not None and call.server is not None:  # its result follows it, as Claude's does
                self._index += 1
                result = unavailable_result(call.server, call.id)
                out.append({"type": "content_block_start", "index": self._index, "content_block": result})
                out.append({"type": "content_block_stop", "index": self._index})

    def _finish_blocks(self, out: list[MessageEvent]) -> None:
        """The answer is complete: the open block closes, then what was held goes out, one block per
        destination in the order each first came, then the calls whose name never came."""
        self._finished = True
        self._close(out)
        self._flush_held(out)

    # ---- the message -------------------------------------------------------------------------

    def _begin(self, chunk: dict[str, Any], out: list[MessageEvent]) -> None:
        self._started = self.started = True
        self._id = message_id(chunk.get("id"), self._stamps)
        model = chunk.get("model")
        if isinstance(model, str) and model:
            self._model = model
        usage = chat_usage_to_messages(chunk.get("usage"))
        usage["output_tokens"] = 0
        message: Message = {
            "id": self._id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        out.append({"type": "message_start", "message": message})
        out.append({"type": "ping"})

    def _end(self) -> list[MessageEvent]:
        out: list[MessageEvent] = []
        if not self._started:
            self._begin({}, out)
        if not self._finished:
            self._finish_blocks(out)
        usage = chat_usage_to_messages(self._usage)
        if self._usage is None:
            usage = {"output_tokens": 0}  # the provider said nothing: no counts to overwrite message_start's
        reason = "refusal" if self._refusal else stop_reason(self._finish, tool_calls=self._tool_used)
        out.append({"type": "message_delta", "delta": {"stop_reason": reason, "stop_sequence": None}, "usage": usage})
        out.append({"type": "message_stop"})
        self._ended = True
        return out

    def _error(self, error: Any) -> list[MessageEvent]:
        if isinstance(error, dict):
            kind = anthropic_error_type(error.get("type"))
            if kind == "api_error":  # no telling type (vLLM's "BadRequestError", "error"): the code may tell
                kind = anthropic_error_type(error.get("code"))
            message = str(error.get("message") or kind)
        else:
            kind, message = "api_error", str(error)
        event: MessageEvent = {"type": "error", "error": {"type": kind, "message": message}}
        self.failed = event
        self._ended = True
        self.started = True
        return [event]
