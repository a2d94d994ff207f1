"""Anthropic streaming events -> OpenAI chat.completion.chunk objects, one event at a time."""

from __future__ import annotations

from typing import Any

from protoshift.translator.anthropic_to_openai.completion import (
    EXTRA_DEPTH,
    citation_annotations,
    completion_id,
    finish_reason,
    refusal_explanation,
    tool_arguments,
)
from protoshift.translator.checks import check_json, type_name, want_int, want_object, want_str
from protoshift.translator.errors import IncompleteStreamError, TranslationError, UpstreamStreamError
from protoshift.translator.stamps import DEFAULT_STAMPS, Stamps
from protoshift.translator.usage import messages_usage_to_chat
from protoshift.translator.wire import ChatChunk, MessageEvent

# What a content block index stands for while its deltas arrive.
_TEXT, _THINKING, _TOOL, _OTHER = 0, 1, 2, 3


class _Block:
    __slots__ = (
        "args_sent",
        "block",
        "citations",
        "initial_input",
        "kind",
        "signature",
        "start",
        "thinking",
        "tool_index",
    )

    def __init__(self, kind: int) -> None:
        self.kind = kind
        self.tool_index = -1
        self.args_sent = False
        self.initial_input: Any = None
        self.thinking: list[str] = []  # thinking text, or the input JSON fragments of an _OTHER block
        self.signature = ""
        self.start = 0  # a text block's first character in the content
        self.citations: list[Any] | None = None  # a text block's citations
        self.block: dict[str, Any] | None = None  # an _OTHER block as it started


# What `Stream.delta_parts` gives: the chat delta's field ("content", "reasoning_content" or a tool call's
# "arguments"), its text, the tool call's index; NO_PARTS: the event gives no chunk.
DeltaParts = tuple[str, str, int]
NO_PARTS: DeltaParts = ("", "", 0)


class Stream:
    """Feed Anthropic events (parsed JSON objects); get OpenAI chunks.

    - one id for the whole stream (`msg_X` -> `chatcmpl-X`); the first chunk carries role assistant;
    - text -> `content`, thinking -> `reasoning_content`; each finished thinking block is repeated
      once with its signature under `thinking_blocks` so the turn can be handed back;
    - each tool_use block -> one tool_calls index (0, 1, 2 ... counting tool calls only): id, name and
      empty arguments first, then the argument fragments as they come;
    - a text block's citations of web search results -> `annotations` (`url_citation`) once the block
      is complete, over its characters in the content; other citations, server tool calls and their
      results (any block OpenAI has no field for) -> `provider_specific_fields` (`citations`,
      `content_blocks`), as Anthropic sent them, once each is complete;
    - finish_reason on the last choice chunk; with include_usage a final `choices: []` usage chunk;
    - an `error` event raises UpstreamStreamError; `close()` before message_stop raises
      IncompleteStreamError; an event that is not what the protocol says (a field of the wrong type,
      text that is not valid Unicode, a number JSON cannot carry) raises TranslationError naming the
      field. Chunks given out before stay given out.

    Unknown event, block and delta types are skipped: the protocol grows. `stamps`: the clock
    (`created`, read once: every chunk of a stream has the same) and the id when no message_start
    names one.
    """

    __slots__ = (
        "_blocks", "_chars", "_created", "_finished", "_id", "_include_usage", "_model", "_stamps", "_stopped",
        "_tool_count", "_usage", "started",
    )  # fmt: skip

    def __init__(self, *, include_usage: bool = False, stamps: Stamps = DEFAULT_STAMPS) -> None:
        self._include_usage = include_usage
        self._stamps = stamps
        self._created = stamps.now()
        self._id = ""
        self._model = ""
        self._blocks: dict[Any, _Block] = {}  # keyed by the event's index, whatever it is
        self._tool_count = 0
        self._chars = 0  # characters of content given out (annotation ranges)
        self._usage: dict[str, Any] = {}
        self._finished = False  # a finish_reason chunk was given out
        self._stopped = False  # message_stop arrived
        self.started = False  # any chunk was given out

    @property
    def completion_id(self) -> str:
        return self._id

    def feed(self, event: MessageEvent) -> list[ChatChunk]:
        if type(event) is not dict:
            raise TranslationError("$", f"an event must be an object, got {type_name(event)}")
        kind = event.get("type")
        if kind == "content_block_delta":
            return self._delta(event)
        if kind == "content_block_start":
            return self._block_start(event)
        if kind == "content_block_stop":
            return self._block_stop(event)
        if kind == "message_start":
            return self._message_start(event)
        if kind == "message_delta":
            return self._message_delta(event)
        if kind == "message_stop":
            return self._message_stop()
        if kind == "error":
            check_json(event)
            error = event.get("error")
            error = error if isinstance(error, dict) else {}
            error_type, message = error.get("type"), error.get("message")
            raise UpstreamStreamError(
                error_type if isinstance(error_type, str) and error_type else "api_error",
                message if isinstance(message, str) else "",
            )
        if not isinstance(kind, str):
            raise TranslationError("type", f"expected a string, got {type_name(kind)}")
        return []  # ping, and event types added after this was written

    def close(self) -> list[ChatChunk]:
        if not self._stopped:
            raise IncompleteStreamError()
        return []

    # ---- events ------------------------------------------------------------------------------

    def _message_start(self, event: dict[str, Any]) -> list[ChatChunk]:
        check_json(event)  # once a stream: the whole event
        message = want_object(event.get("message"), "message")
        self._id = completion_id(message.get("id"), self._stamps)
        model = message.get("model")
        self._model = "" if model is None else want_str(model, "message.model")
        usage = message.get("usage")
        if usage is not None:
            self._usage = dict(want_object(usage, "message.usage"))
        return [self._chunk({"role": "assistant", "content": ""})]

    def _block_start(self, event: dict[str, Any]) -> list[ChatChunk]:
        check_json(event)  # once a block: the whole event (a tool's input included)
        index = want_int(event.get("index"), "index")
        block = want_object(event.get("content_block"), "content_block")
        kind = want_str(block.get("type"), "content_block.type")
        if kind == "text":
            state = _Block(_TEXT)
            state.start = self._chars
            self._blocks[index] = state
            if block.get("citations"):
                state.citations = list(block["citations"])
            text = _optional_str(block, "text")
            if text:
                self._chars += len(text)
                return [self._chunk({"content": text})]
            return []
        if kind == "tool_use":
            state = _Block(_TOOL)
            state.tool_index = self._tool_count
            state.initial_input = want_object(block.get("input", {}), "content_block.input")
            call = {
                "index": state.tool_index,
                "id": want_str(block.get("id"), "content_block.id"),
                "type": "function",
                "function": {"name": want_str(block.get("name"), "content_block.name"), "arguments": ""},
            }
            self._tool_count += 1
            self._blocks[index] = state
            return [self._chunk({"tool_calls": [call]})]
        if kind == "thinking":
            state = _Block(_THINKING)
            self._blocks[index] = state
            thinking = _optional_str(block, "thinking")
            if thinking:
                state.thinking.append(thinking)
                return [self._chunk({"reasoning_content": thinking})]
            return []
        state = _Block(_OTHER)
        self._blocks[index] = state
        if kind == "redacted_thinking":
            data = _optional_str(block, "data")
            return [self._chunk({"thinking_blocks": [{"type": "redacted_thinking", "data": data}]})]
        state.block = dict(block)  # server tool calls and results, ...: given out whole at their stop
        return []

    def _delta(self, event: dict[str, Any]) -> list[ChatChunk]:
        # The hot path of every stream: each field is checked where it is read, with one type test.
        index = event.get("index")
        state = self._blocks.get(index) if type(index) is int else self._blocks.get(want_int(index, "index"))
        delta = event.get("delta")
        if type(delta) is not dict:
            delta = want_object(delta, "delta")
        kind = delta.get("type")
        if kind == "text_delta":  # most deltas: inline
            text = _delta_text(delta, "text")
            if text and state is not None:
                self._chars += len(text)
                return [self._chunk({"content": text})]
            return []
        handle = _DELTAS.get(kind) if type(kind) is str else None
        return handle(self, state, delta) if handle is not None else []  # delta types added after this was written

    def delta_parts(self, event: dict[str, Any]) -> DeltaParts | None:
        """A `content_block_delta` event fed as `feed` takes it, when its delta is text, thinking or a
        tool's input JSON, without making its chunk: what the chunk's delta holds, `(field, text, tool
        index)` (`delta_chunk(*parts)` is the chunk `feed` gives; NO_PARTS: it gives none), or None for
        any other delta (`feed` the event). For a stage after this one that takes the text as it is
        (bridges.py: Claude to a Responses client): the hot path of every Claude stream. Mirrors
        `_delta`, `_thinking` and `_input_json`; tests/translator/test_responses_stream.py compares them."""
        index = event.get("index")
        state = self._blocks.get(index) if type(index) is int else self._blocks.get(want_int(index, "index"))
        delta = event.get("delta")
        if type(delta) is not dict:
            delta = want_object(delta, "delta")
        kind = delta.get("type")
        if kind == "text_delta":
            text = _delta_text(delta, "text")
            if text and state is not None:
                self._chars += len(text)
                return ("content", text, 0)
            return NO_PARTS
        if kind == "input_json_delta":
            fragment = _delta_text(delta, "partial_json")
            if state is None or not fragment:
                return NO_PARTS
            if state.kind != _TOOL:
                return None
            state.args_sent = True
            return ("arguments", fragment, state.tool_index)
        if kind == "thinking_delta":
            thinking = _delta_text(delta, "thinking")
            if state is None or not thinking:
                return NO_PARTS
            state.thinking.append(thinking)
            return ("reasoning_content", thinking, 0)
        return None

    def delta_chunk(self, field: str, text: str, tool_index: int) -> ChatChunk:
        """The chunk `feed` gives for the delta `delta_parts` returned."""
        if field == "arguments":
            return self._chunk({"tool_calls": [{"index": tool_index, "function": {"arguments": text}}]})
        return self._chunk({field: text})

    def _input_json(self, state: _Block | None, delta: dict[str, Any]) -> list[ChatChunk]:
        fragment = _delta_text(delta, "partial_json")
        if state is None or not fragment:
            return []
        if state.kind != _TOOL:
            if state.block is not None:  # a server tool call's input, given out with the block
                state.thinking.append(fragment)
            return []
        state.args_sent = True
        return [self._chunk({"tool_calls": [{"index": state.tool_index, "function": {"arguments": fragment}}]})]

    def _thinking(self, state: _Block | None, delta: dict[str, Any]) -> list[ChatChunk]:
        thinking = _delta_text(delta, "thinking")
        if state is None or not thinking:
            return []
        state.thinking.append(thinking)
        return [self._chunk({"reasoning_content": thinking})]

    def _signature(self, state: _Block | None, delta: dict[str, Any]) -> list[ChatChunk]:
        signature = _delta_text(delta, "signature")
        if state is not None:
            state.signature += signature
        return []

    def _citation(self, state: _Block | None, delta: dict[str, Any]) -> list[ChatChunk]:
        if state is not None and state.kind == _TEXT:
            if state.citations is None:
                state.citations = []
            state.citations.append(delta.get("citation"))
        return []

    def _block_stop(self, event: dict[str, Any]) -> list[ChatChunk]:
        state = self._blocks.get(want_int(event.get("index"), "index"))
        if state is None:
            return []
        if state.kind == _THINKING and state.signature:
            block = {"type": "thinking", "thinking": "".join(state.thinking), "signature": state.signature}
            return [self._chunk({"thinking_blocks": [block]})]
        if state.kind == _TOOL and not state.args_sent:
            # No input_json_delta came: the arguments are whatever the start event carried ({} -> "{}").
            arguments = tool_arguments(state.initial_input)
            state.args_sent = True
            return [self._chunk({"tool_calls": [{"index": state.tool_index, "function": {"arguments": arguments}}]})]
        if state.kind == _TEXT and state.citations:
            return self._citations(state)
        if state.block is not None:
            block, state.block = state.block, None
            if state.thinking:
                try:
                    block["input"] = _from_json("".join(state.thinking))
                except ValueError:  # cut, malformed, or nested past the parser's limit: kept as sent
                    block["input"] = "".join(state.thinking)
            check_json(block, "content_block", EXTRA_DEPTH)
            return [self._chunk({"provider_specific_fields": {"content_blocks": [block]}})]
        return []

    def _citations(self, state: _Block) -> list[ChatChunk]:
        annotations, others = citation_annotations(state.citations, state.start, self._chars)
        state.citations = None
        delta: dict[str, Any] = {}
        if annotations:
            delta["annotations"] = annotations
        if others:
            for citation in others:
                check_json(citation, "citations", EXTRA_DEPTH)
            delta["provider_specific_fields"] = {"citations": others}
        return [self._chunk(delta)] if delta else []

    def _message_delta(self, event: dict[str, Any]) -> list[ChatChunk]:
        check_json(event)  # once a stream: the whole event
        usage = event.get("usage")
        if usage is not None:  # a null count means "no update" (MessageDeltaUsage fields are optional)
            self._usage.update((k, v) for k, v in want_object(usage, "usage").items() if v is not None)
        delta = event.get("delta")
        delta = {} if delta is None else want_object(delta, "delta")
        stop_reason = delta.get("stop_reason")
        if stop_reason is None:
            return []
        want_str(stop_reason, "delta.stop_reason")
        out: dict[str, Any] = {}
        if stop_reason == "refusal" and (explanation := refusal_explanation(delta.get("stop_details"))):
            out["refusal"] = explanation
        self._finished = True
        return [self._chunk(out, finish_reason(stop_reason))]

    def _message_stop(self) -> list[ChatChunk]:
        self._stopped = True
        chunks = [] if self._finished else [self._chunk({}, finish_reason(None))]
        self._finished = True
        if self._include_usage:
            chunks.append(
                {
                    "id": self._id,
                    "object": "chat.completion.chunk",
                    "created": self._created,
                    "model": self._model,
                    "choices": [],
                    "usage": messages_usage_to_chat(self._usage),
                }
            )
        return chunks

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> ChatChunk:
        self.started = True
        if not self._id:  # events before message_start: still one id for the whole stream
            self._id = completion_id(None, self._stamps)
        chunk: ChatChunk = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if self._include_usage:
            chunk["usage"] = None
        return chunk


_DELTAS = {
    "input_json_delta": Stream._input_json,
    "thinking_delta": Stream._thinking,
    "signature_delta": Stream._signature,
    "citations_delta": Stream._citation,
}


def _optional_str(block: dict[str, Any], key: str) -> str:
    """A text field of a content block: absent or null is empty."""
    value = block.get(key)
    return "" if value is None else want_str(value, f"content_block.{key}")


def _delta_text(delta: dict[str, Any], key: str) -> str:
    """A delta's text, checked: a string, and valid Unicode (the fast test first: most text is ASCII)."""
    value = delta.get(key)
    if type(value) is not str:
        value = want_str(value, f"delta.{key}")
    if not value.isascii():
        check_json(value, f"delta.{key}")
    return value


def _from_json(text: str) -> Any:
    """pydantic-core's parser: its nesting limit is a ValueError, where json.loads recurses until a
    RecursionError; imported on first use (start-up time)."""
    from pydantic_core import from_json

    return from_json(text)
