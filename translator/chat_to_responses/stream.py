"""OpenAI chat.completion.chunk stream -> OpenAI Responses stream events, one chunk at a time.

The events, in the API's full order, each with its `type` and a `sequence_number` counting from 0:
`response.created` (the `response` object, `in_progress`), `response.in_progress`, then per output
item, one item at a time (`output_index` 0, 1, 2...: an item is done before the next is added):
- `reasoning` (from `reasoning_content` / `reasoning` deltas, and OpenRouter's `reasoning_details`, whose
  pieces are joined by index and carried whole in `encrypted_content`): `output_item.added`,
  `reasoning_summary_part.added`, `reasoning_summary_text.delta`..., `reasoning_summary_text.done`,
  `reasoning_summary_part.done`, `output_item.done`;
- `message`: `output_item.added`, per part `content_part.added`, `output_text.delta`... (with
  `output_text.annotation.added` for url citations) or `refusal.delta`..., their `.done`,
  `content_part.done`; `output_item.done`;
- `function_call`: `output_item.added` (with `call_id` and `name`), `function_call_arguments.delta`...,
  `.done`, `output_item.done`; `custom_tool_call`: the same with `custom_tool_call_input.delta`/`.done`,
  whose deltas are the raw text (custom_input.py decodes the JSON string as it streams);
- `web_search_call` (a search the upstream ran: Claude's, carried in `provider_specific_fields`,
  web_search.py): `output_item.added` (`in_progress`, the query), `web_search_call.in_progress`,
  `.searching` when the search begins; `web_search_call.completed` and `output_item.done` when its
  result comes (an error result, or none before something else: `failed`, no `.completed`);
then exactly one of `response.completed`, `response.incomplete` (finish_reason `length`:
`max_output_tokens`; `content_filter`) and `response.failed`, whose `response.output` holds every item
that streamed and whose `usage` is whole. `output_item.done` carries the complete item: clients
(Codex) run tools from it.

Chat chunks are not shaped like that, and are read as they come:
- a tool call starts when its name is known (some servers send it after the first fragment); a
  server that interleaves parallel calls' fragments gets the open call streamed live and the others
  held until the open one's arguments are a whole JSON value (then it is done and the held ones
  follow), or the answer ends; arguments that come only in the last chunk are fine; a call with no
  arguments gets `{}`;
- annotations are over the whole chat content: each is given over its own text part (an answer whose
  text a search or a call divides is more than one message);
- the end: a finish_reason closes the items; the terminal event waits for the usage chunk after it
  (`choices: []`), `[DONE]`, or `close()` (a finish_reason is proof of an end when `[DONE]` never comes);
- at finish_reason `length`, a tool call whose arguments are not whole is cut: it gets no `.done` events
  and no `output_item.done` (a client would run half a call), and stays in the output as incomplete;
- an `{"error": ...}` in the stream, or `fail()` (the gateway's: the upstream broke), ends it with
  `response.failed` (`error.code`: common.failure_code); `close()` before a finish_reason or `[DONE]`
  (the upstream stream was cut) ends it with `response.failed`, `server_error`: the answer may stop
  anywhere, and a cut answer must not look complete (`incomplete_details` names only max_output_tokens
  and content_filter). An item open when a stream fails gets no `.done` events either (it is cut short:
  common.cut_short). `failed` holds the failed event.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from protoshift.translator import reasoning_details
from protoshift.translator.chat_to_responses.common import (
    FAILURE_CODES,
    call_id,
    cut_short,
    echo,
    failure,
    item_id,
    response_object,
    url_citations,
)
from protoshift.translator.chat_to_responses.custom_input import CustomInput
from protoshift.translator.chat_to_responses.web_search import (
    action,
    content_blocks,
    is_result,
    is_search,
    search_item,
    wants_sources,
)
from protoshift.translator.chat_to_responses.web_search import status as search_status
from protoshift.translator.chat_tool_calls import CALL, ChatCall, ToolCallStream
from protoshift.translator.responses_to_chat.carry import encode_reasoning, thinking_blocks
from protoshift.translator.responses_to_chat.toolmap import ToolMap, ToolRef
from protoshift.translator.stamps import DEFAULT_STAMPS, Stamps
from protoshift.translator.tables import INCOMPLETE_REASONS, SERVICE_TIERS
from protoshift.translator.usage import chat_usage_to_responses
from protoshift.translator.wire import JSON, ChatChunk, ResponseEvent, ResponsesRequest

__all__ = ["Stream", "encode_event"]

# What a piece of the answer is for; the open item's kind.
_NONE, _REASONING, _TEXT, _REFUSAL, _SEARCH = 0, 1, 2, 3, 5
_CALL = CALL  # chat_tool_calls' (4)
_MESSAGE = _TEXT  # the item of both text and refusal parts


@functools.cache
def _json() -> tuple[Callable[..., Any], Callable[..., bytes]]:
    """pydantic-core's JSON, imported on first use (start-up time)."""
    from pydantic_core import from_json, to_json

    return from_json, to_json


_HEADS: dict[str, bytes] = {}  # `event: TYPE\ndata: ` per type: the few this API has, encoded once


def encode_event(event: ResponseEvent) -> bytes:
    """One event exactly as OpenAI frames it: `event: TYPE`, `data: JSON`, a blank line."""
    return _head(event["type"]) + _json()[1](event) + b"\n\n"


def encode_response_event(kind: str, sequence_number: int, response: bytes) -> bytes:
    """`encode_event({"type": kind, "sequence_number": sequence_number, "response": ...})` to the byte, the
    response given as its JSON: encoded once, for the event and for whoever keeps it (a store)."""
    return b"".join((
        _head(kind), b'{"type":"', kind.encode(), b'","sequence_number":', str(sequence_number).encode(),
        b',"response":', response, b"}\n\n",
    ))  # fmt: skip


def _head(kind: str) -> bytes:
    head = _HEADS.get(kind)
    if head is None:
        head = b"event: " + kind.encode() + b"\ndata: "
        if len(_HEADS) < 256:  # the API's types, not whatever a caller names
            _HEADS[kind] = head
    return head


class _Call(ChatCall):
    """One chat tool call (one `index`) on its way to a function_call or custom_tool_call item."""

    __slots__ = ("call_id", "decoder", "item_id", "ref")

    def __init__(self, chat_id: str) -> None:
        super().__init__(chat_id)
        self.ref = ToolRef("")
        self.decoder: CustomInput | None = None  # a custom tool's input, decoded as it streams
        self.item_id = ""
        self.call_id = ""


class Stream(ToolCallStream[_Call]):
    """Feed chat chunks (parsed JSON objects, or `translator.sse.DONE`); get Responses events.

    `request`: the Responses request (the response repeats its fields; its `include` says whether
    reasoning items carry `encrypted_content`); `tools`: the translation's ToolMap; `stamps`: ids and
    clock; `response_id`: the translation's (else one from `stamps`); `carried`: where a stored answer keeps
    the carriers its client did not ask to see (item id -> encrypted_content)."""

    __slots__ = (
        "_annotations",
        "_arrived",
        "_carried",
        "_chars",
        "_created",
        "_cutting",
        "_details",
        "_encrypted",
        "_ended",
        "_fields",
        "_finish",
        "_finished",
        "_id",
        "_item",
        "_model",
        "_open",
        "_output",
        "_part",
        "_part_offset",
        "_parts",
        "_search",
        "_search_result",
        "_seq",
        "_sources",
        "_stamps",
        "_texts",
        "_thinking_blocks",
        "_tools",
        "_usage",
        "failed",
        "started",
    )  # fmt: skip
    _call_type = _Call

    def __init__(
        self,
        *,
        request: ResponsesRequest,
        tools: ToolMap,
        stamps: Stamps = DEFAULT_STAMPS,
        response_id: str | None = None,
        carried: dict[str, str] | None = None,
    ) -> None:
        super().__init__()  # the calls, what is held and the open call (chat_tool_calls)
        req = request if isinstance(request, dict) else {}
        self._carried = carried
        self._fields = echo(req)
        include = req.get("include")
        self._encrypted = isinstance(include, list) and "reasoning.encrypted_content" in include
        self._sources = wants_sources(req)
        model = req.get("model")
        self._model = model if isinstance(model, str) else ""
        self._tools = tools
        self._stamps = stamps
        self._id = response_id or stamps.time_id("resp_")
        self._seq = 0
        self._created = 0
        self._ended = False  # the terminal event was given out
        self._finish: Any = None
        self._finished = False  # a finish_reason or [DONE] came: the items are done
        self._cutting = False  # finish_reason length: what is not whole is cut
        self._usage: Any = None
        self._output: list[JSON] = []  # the items done, in order
        self._open = _NONE  # the open item's kind
        self._item = ""  # its id
        self._part = _NONE  # the open message part's kind (_TEXT, _REFUSAL)
        self._parts: list[JSON] = []  # the open message's parts done
        self._texts: list[str] = []  # the open item's (or part's) text so far
        self._thinking_blocks: list[dict[str, Any]] = []  # the open reasoning item's, when Claude's
        self._details: list[dict[str, Any]] = []  # OpenRouter's reasoning_details so far, joined
        self._annotations: list[JSON] = []  # the open text part's
        self._chars = 0  # characters of chat content so far: annotations count over them all
        self._arrived = 0  # where in the chat content the text being put began
        self._part_offset = 0  # where the open text part began in it
        self._search: dict[str, Any] | None = None  # the open search's server_tool_use block
        self._search_result: dict[str, Any] | None = None  # and its result, once it came
        self.failed: ResponseEvent | None = None  # the response.failed event, when the stream ended so
        self.started = False  # any event was given out

    @property
    def response_id(self) -> str:
        return self._id

    def feed(self, chunk: ChatChunk) -> list[ResponseEvent]:
        if self._ended:
            return []
        if chunk.get("type") == "[DONE]":  # translator.sse.DONE
            return self._end()
        if chunk.get("error") is not None:  # OpenAI's, OpenRouter's (in a chunk) error object
            return self._error(chunk["error"])
        if chunk.get("object") == "error":  # vLLM's: the error's fields at the top level
            return self._error(chunk)
        out: list[ResponseEvent] = []
        if not self.started:
            self._begin(chunk, out)
        usage = chunk.get("usage")
        if usage:
            self._usage = usage
        tier = chunk.get("service_tier")
        if isinstance(tier, str) and tier in SERVICE_TIERS:
            self._fields["service_tier"] = tier
        choices = chunk.get("choices")
        if choices:
            self._choices(choices, out)
        elif usage and self._finished:  # the usage chunk after the finish reason: the end
            out.extend(self._end())
        return out

    def feed_delta(self, field: str, text: str, tool_index: int = 0) -> list[ResponseEvent] | None:
        """`feed` of a chunk whose one choice's delta holds `text` (not empty) alone, as its `field`:
        "content", "reasoning_content", or "arguments" of the tool call at `tool_index` (no finish reason,
        usage or service tier), once the stream began, while nothing is held (for arguments: in the middle
        of that call's item, already named): its events; None otherwise (`feed` the chunk). The composed
        stream's hot path (bridges.py: Claude's deltas); the same steps as `_delta`'s for such a chunk."""
        if self._ended or self._finished or not self.started or self._held:
            return None
        if field == "content" and self._open == _MESSAGE and self._part == _TEXT:  # most deltas of most streams
            self._chars += len(text)
            self._texts.append(text)
            return [self._text_delta(text)]
        out: list[ResponseEvent] = []
        if field == "content":  # the text opens its item or part
            self._arrived = self._chars
            self._chars += len(text)
            self._put(_TEXT, None, text, out)
            return out
        if field == "reasoning_content":
            if self._open != _REASONING:
                self._put(_REASONING, None, text, out)
            else:
                self._emit(_REASONING, None, text, out)
            return out
        call = self._calls.get(tool_index)
        if field != "arguments" or self._open != _CALL or call is None or call is not self._open_call:
            return None
        if not call.queued:
            return None
        self._emit(_CALL, call, text, out)
        return out

    def _text_delta(self, text: str) -> ResponseEvent:
        seq = self._seq  # `_next`, inlined: one event per text delta
        self._seq = seq + 1
        return {
            "type": "response.output_text.delta",
            "sequence_number": seq,
            "item_id": self._item,
            "output_index": len(self._output),
            "content_index": len(self._parts),
            "delta": text,
            "logprobs": [],
        }

    def close(self) -> list[ResponseEvent]:
        """The upstream stream ended: the terminal event, if it has not been given out."""
        if self._ended:
            return []
        if self._finished:
            return self._end()
        if self.started:
            return self.fail("the upstream stream ended before its answer did (no finish_reason)")
        return self.fail("the upstream stream ended before it began")

    def fail(
        self, message: str, *, status: int | None = None, kind: str | None = None, retry_after: float | None = None
    ) -> list[ResponseEvent]:
        """End the stream with `response.failed` (the gateway's, when the upstream call breaks midway):
        `error.code` from the upstream's HTTP `status`, its error type or code (`kind`) and `message`
        (common.failure_code); a rate limit with a known `retry_after` says "try again in Ns"."""
        if self._ended:
            return []
        out: list[ResponseEvent] = []
        if not self.started:
            self._begin({}, out)
        output = self._output_now()
        event: ResponseEvent = {
            "type": "response.failed",
            "sequence_number": self._next(),
            "response": self._response(
                "failed", output, error=failure(message, status=status, kind=kind, retry_after=retry_after)
            ),
        }
        out.append(event)
        self.failed = event
        self._ended = True
        return out

    # ---- chunks ------------------------------------------------------------------------------

    def _choices(self, choices: list[Any], out: list[ResponseEvent]) -> None:
        for choice in choices:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:  # n > 1: the first choice only
                continue
            delta = choice.get("delta")
            if delta and isinstance(delta, dict) and not self._finished:
                self._delta(delta, out)
            finish = choice.get("finish_reason")
            if finish and not self._finished:
                self._finish = finish
                self._finish_items(out)

    def _delta(self, delta: dict[str, Any], out: list[ResponseEvent]) -> None:
        if "reasoning_content" in delta or "reasoning" in delta or "reasoning_details" in delta:
            self._reasoning(delta, out)
        if "thinking_blocks" in delta and self._open == _REASONING:  # Claude's, signed: carried whole
            self._thinking_blocks += thinking_blocks(delta["thinking_blocks"]) or []
        content = delta.get("content")
        if content and type(content) is str:
            if self._open == _MESSAGE and self._part == _TEXT and not self._held:  # the hot path
                self._chars += len(content)
                self._texts.append(content)
                out.append(self._text_delta(content))
            else:
                self._arrived = self._chars
                self._chars += len(content)
                self._put(_TEXT, None, content, out)
        refusal = delta.get("refusal")
        if refusal and type(refusal) is str:
            self._put(_REFUSAL, None, refusal, out)
        if "annotations" in delta or "provider_specific_fields" in delta:
            self._finished_block(delta, out)
        calls = delta.get("tool_calls")
        if calls and isinstance(calls, list):
            for entry in calls:
                if isinstance(entry, dict):
                    self._tool_call(entry, out)

    def _reasoning(self, delta: dict[str, Any], out: list[ResponseEvent]) -> None:
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if pieces := reasoning_details.details(delta.get("reasoning_details")):
            # OpenRouter sends the text twice (`reasoning` too) or only here; an encrypted piece has none but
            # still opens a reasoning item, whose encrypted_content carries the pieces joined
            added = reasoning_details.merge(self._details, pieces)
            self._put(_REASONING, None, reasoning if reasoning and type(reasoning) is str else added, out)
        elif reasoning and type(reasoning) is str:
            self._put(_REASONING, None, reasoning, out)

    def _finished_block(self, delta: dict[str, Any], out: list[ResponseEvent]) -> None:
        """What comes apart from the text and the calls: the text's url citations, and the searches the
        upstream ran (Claude's search and its result, each once its block is complete)."""
        annotations = delta.get("annotations")
        if annotations and self._open == _MESSAGE and self._part == _TEXT:
            self._annotate(url_citations(annotations), out)
        if fields := delta.get("provider_specific_fields"):
            self._server_blocks(fields, out)

    # ---- items -------------------------------------------------------------------------------

    def _put(self, kind: int, call: _Call | None, text: str, out: list[ResponseEvent]) -> None:
        """`text` for an item of `kind` (and `call`): out now, or held while an open call's arguments
        are still incomplete."""
        item_kind = _MESSAGE if kind == _REFUSAL else kind
        if self._held:
            self._put_held(kind, call, text, out)
            return
        if item_kind == self._open and (kind != _CALL or call is self._open_call):
            if item_kind == _MESSAGE and kind != self._part:
                self._close_part(out)
                self._start_part(kind, out)
            self._emit(kind, call, text, out)
            return
        if self._open == _CALL and not self._is_complete(self._open_call):
            self._held.append((kind, call, text))
            return
        if call is not None and call.started:
            return  # more for a call whose arguments were already a whole JSON value: nothing can follow that
        self._close(out)
        self._start(kind, call, out)
        self._emit(kind, call, text, out)

    def _start(self, kind: int, call: _Call | None, out: list[ResponseEvent]) -> None:
        index = len(self._output)
        item: JSON
        if kind == _REASONING:
            self._open = _REASONING
            self._item = item_id(self._stamps, "rs_")
            self._texts = []
            self._thinking_blocks = []
            item = {"id": self._item, "type": "reasoning", "summary": []}
            out.append(self._added(item, index))
            out.append(
                {
                    "type": "response.reasoning_summary_part.added",
                    "sequence_number": self._next(),
                    "item_id": self._item,
                    "output_index": index,
                    "summary_index": 0,
                    "part": {"type": "summary_text", "text": ""},
                }
            )
        elif kind == _CALL:
            assert call is not None
            self._open = _CALL
            self._open_call = call
            call.started = True
            call.ref = self._tools.resolve(call.name)
            call.call_id = call_id(call.id, self._stamps)
            if call.ref.kind == "custom":
                call.decoder = CustomInput()
                call.item_id = self._item = item_id(self._stamps, "ctc_")
                item = {"id": call.item_id, "type": "custom_tool_call", "call_id": call.call_id, "input": ""}
            else:
                call.item_id = self._item = item_id(self._stamps, "fc_")
                item = {
                    "id": call.item_id,
                    "type": "function_call",
                    "status": "in_progress",
                    "arguments": "",
                    "call_id": call.call_id,
                }
            item["name"] = call.ref.name
            if call.ref.namespace is not None:
                item["namespace"] = call.ref.namespace
            out.append(self._added(item, index))
        else:
            self._open = _MESSAGE
            self._item = item_id(self._stamps, "msg_")
            self._parts = []
            item = {"id": self._item, "type": "message", "status": "in_progress", "content": [], "role": "assistant"}
            out.append(self._added(item, index))
            self._start_part(kind, out)

    def _added(self, item: JSON, index: int) -> ResponseEvent:
        return {
            "type": "response.output_item.added",
            "sequence_number": self._next(),
            "output_index": index,
            "item": item,
        }

    def _start_part(self, kind: int, out: list[ResponseEvent]) -> None:
        self._part = kind
        self._texts = []
        self._annotations = []
        self._part_offset = self._arrived  # held text put later is an approximation: its annotations may be off
        part: JSON = (
            {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
            if kind == _TEXT
            else {"type": "refusal", "refusal": ""}
        )
        out.append(
            {
                "type": "response.content_part.added",
                "sequence_number": self._next(),
                "item_id": self._item,
                "output_index": len(self._output),
                "content_index": len(self._parts),
                "part": part,
            }
        )

    def _emit(self, kind: int, call: _Call | None, text: str, out: list[ResponseEvent]) -> None:
        if not text:
            return
        index = len(self._output)
        if kind == _TEXT:
            self._texts.append(text)
            out.append(
                {
                    "type": "response.output_text.delta",
                    "sequence_number": self._next(),
                    "item_id": self._item,
                    "output_index": index,
                    "content_index": len(self._parts),
                    "delta": text,
                    "logprobs": [],
                }
            )
        elif kind == _REASONING:
            self._texts.append(text)
            out.append(
                {
                    "type": "response.reasoning_summary_text.delta",
                    "sequence_number": self._next(),
                    "item_id": self._item,
                    "output_index": index,
                    "summary_index": 0,
                    "delta": text,
                }
            )
        elif kind == _REFUSAL:
            self._texts.append(text)
            out.append(
                {
                    "type": "response.refusal.delta",
                    "sequence_number": self._next(),
                    "item_id": self._item,
                    "output_index": index,
                    "content_index": len(self._parts),
                    "delta": text,
                }
            )
        else:
            assert call is not None
            if call.complete or (call.args and text[0] == "{" and self._is_complete(call)):
                return  # a server repeating whole arguments (chat_tool_calls): inline, the hot path
            call.args.append(text)
            if call.decoder is None:
                out.append(self._args_delta(call, text, index))
            else:
                decoded = call.decoder.feed(text)
                if decoded:
                    out.append(self._input_delta(call, decoded, index))

    def _args_delta(self, call: _Call, text: str, index: int) -> ResponseEvent:
        return {
            "type": "response.function_call_arguments.delta",
            "sequence_number": self._next(),
            "item_id": call.item_id,
            "output_index": index,
            "delta": text,
        }

    def _input_delta(self, call: _Call, text: str, index: int) -> ResponseEvent:
        return {
            "type": "response.custom_tool_call_input.delta",
            "sequence_number": self._next(),
            "item_id": call.item_id,
            "output_index": index,
            "delta": text,
        }

    def _annotate(self, annotations: list[JSON], out: list[ResponseEvent]) -> None:
        offset = self._part_offset
        if offset:  # over the whole content: over this part's text instead (those of an earlier part: not here)
            annotations = [
                {**a, "start_index": a["start_index"] - offset, "end_index": a["end_index"] - offset}
                for a in annotations
                if a["start_index"] >= offset
            ]
        for annotation in annotations:
            out.append(
                {
                    "type": "response.output_text.annotation.added",
                    "sequence_number": self._next(),
                    "item_id": self._item,
                    "output_index": len(self._output),
                    "content_index": len(self._parts),
                    "annotation_index": len(self._annotations),
                    "annotation": annotation,
                }
            )
            self._annotations.append(annotation)

    def _close_part(self, out: list[ResponseEvent]) -> None:
        text = "".join(self._texts)
        index = len(self._output)
        content_index = len(self._parts)
        part: JSON
        if self._part == _TEXT:
            part = {"type": "output_text", "annotations": self._annotations, "logprobs": [], "text": text}
            out.append(
                {
                    "type": "response.output_text.done",
                    "sequence_number": self._next(),
                    "item_id": self._item,
                    "output_index": index,
                    "content_index": content_index,
                    "text": text,
                    "logprobs": [],
                }
            )
        else:
            part = {"type": "refusal", "refusal": text}
            out.append(
                {
                    "type": "response.refusal.done",
                    "sequence_number": self._next(),
                    "item_id": self._item,
                    "output_index": index,
                    "content_index": content_index,
                    "refusal": text,
                }
            )
        out.append(
            {
                "type": "response.content_part.done",
                "sequence_number": self._next(),
                "item_id": self._item,
                "output_index": index,
                "content_index": content_index,
                "part": dict(part),
            }
        )
        self._parts.append(part)
        self._part = _NONE
        self._texts = []
        self._annotations = []

    def _close(self, out: list[ResponseEvent]) -> None:
        """The open item is done: its `.done` events and `output_item.done` with the whole item (a tool
        call cut by finish_reason length gets none: it stays in the output, incomplete)."""
        kind = self._open
        if kind == _NONE:
            return
        index = len(self._output)
        status = "incomplete" if self._cutting else "completed"
        item: JSON
        if kind == _MESSAGE:
            self._close_part(out)
            item = {"id": self._item, "type": "message", "status": status, "content": self._parts, "role": "assistant"}
            self._parts = []
        elif kind == _REASONING:
            text = "".join(self._texts)
            item = self._reasoning_item(text)
            self._details = []  # the next reasoning item's are its own
            out.append(
                {
                    "type": "response.reasoning_summary_text.done",
                    "sequence_number": self._next(),
                    "item_id": self._item,
                    "output_index": index,
                    "summary_index": 0,
                    "text": text,
                }
            )
            out.append(
                {
                    "type": "response.reasoning_summary_part.done",
                    "sequence_number": self._next(),
                    "item_id": self._item,
                    "output_index": index,
                    "summary_index": 0,
                    "part": {"type": "summary_text", "text": text},
                }
            )
        elif kind == _SEARCH:
            item = self._search_item(search_status(self._search_result))
            if item["status"] == "completed":
                out.append(self._search_event("response.web_search_call.completed"))
            self._search = self._search_result = None
        else:
            call = self._open_call
            assert call is not None
            self._open = _NONE
            self._open_call = None
            if self._cutting and not self._is_complete(call):
                self._output.append(self._call_item(call, "incomplete"))
                return
            item = self._close_call(call, index, out)
        self._open = _NONE
        self._texts = []
        out.append(
            {
                "type": "response.output_item.done",
                "sequence_number": self._next(),
                "output_index": index,
                "item": item,
            }
        )
        self._output.append(item)

    def _close_call(self, call: _Call, index: int, out: list[ResponseEvent]) -> JSON:
        if call.decoder is not None:
            rest = call.decoder.finish()
            if rest:
                out.append(self._input_delta(call, rest, index))
            out.append(
                {
                    "type": "response.custom_tool_call_input.done",
                    "sequence_number": self._next(),
                    "item_id": call.item_id,
                    "output_index": index,
                    "input": call.decoder.value,
                }
            )
            return self._call_item(call, "completed")
        if not call.args:  # no arguments at all: a function of none
            call.args.append("{}")
            out.append(self._args_delta(call, "{}", index))
        out.append(
            {
                "type": "response.function_call_arguments.done",
                "sequence_number": self._next(),
                "item_id": call.item_id,
                "output_index": index,
                "arguments": "".join(call.args),
                "name": call.ref.name,
            }
        )
        return self._call_item(call, "completed")

    def _call_item(self, call: _Call, status: str) -> JSON:
        item: JSON
        if call.decoder is not None:
            item = {
                "id": call.item_id,
                "type": "custom_tool_call",
                "call_id": call.call_id,
                "input": call.decoder.value,
                "name": call.ref.name,
            }
        else:
            item = {
                "id": call.item_id,
                "type": "function_call",
                "status": status,
                "arguments": "".join(call.args),
                "call_id": call.call_id,
                "name": call.ref.name,
            }
        if call.ref.namespace is not None:
            item["namespace"] = call.ref.namespace
        return item

    # ---- web searches ------------------------------------------------------------------------

    def _server_blocks(self, fields: Any, out: list[ResponseEvent]) -> None:
        """The blocks of the searches the upstream ran (the rest of what Claude's server tools did is not
        an item of this API)."""
        for block in content_blocks(fields):
            if is_search(block):
                self._search_begins(block, out)
            elif is_result(block):
                self._search_ends(block, out)

    def _search_begins(self, block: dict[str, Any], out: list[ResponseEvent]) -> None:
        """The upstream searches (its query known): the open item is done (Claude streams one block at a
        time: a call's arguments are whole by now), and the search's item is added, searching."""
        self._close(out)
        if self._held:  # a server interleaving calls, and a search between them: what waited goes first
            self._replay(out)
            self._close(out)
        self._open = _SEARCH
        self._item = item_id(self._stamps, "ws_")
        self._search, self._search_result = block, None
        out.append(self._added(self._search_item("in_progress"), len(self._output)))
        out.append(self._search_event("response.web_search_call.in_progress"))
        out.append(self._search_event("response.web_search_call.searching"))

    def _search_ends(self, block: dict[str, Any], out: list[ResponseEvent]) -> None:
        """The result of the open search: its item is done (a result for another search is not ours)."""
        if self._open == _SEARCH and self._search is not None and block.get("tool_use_id") == self._search.get("id"):
            self._search_result = block
            self._close(out)

    def _search_item(self, state: str) -> JSON:
        assert self._search is not None
        sources = self._sources and state != "in_progress"
        return search_item(self._item, state, action(self._search, self._search_result, sources))

    def _search_event(self, kind: str) -> ResponseEvent:
        return {
            "type": kind,
            "sequence_number": self._next(),
            "output_index": len(self._output),
            "item_id": self._item,
        }

    def _reasoning_item(self, text: str) -> JSON:
        item: JSON = {"id": self._item, "type": "reasoning", "summary": [{"type": "summary_text", "text": text}]}
        if self._encrypted:
            item["encrypted_content"] = encode_reasoning(text, self._thinking_blocks or None, self._details or None)
        elif self._carried is not None:
            self._carried[self._item] = encode_reasoning(text, self._thinking_blocks or None, self._details or None)
        return item

    def _finish_items(self, out: list[ResponseEvent]) -> None:
        """The answer is complete: the open item is done, then what was held, one item per destination in
        the order each first came, then the calls whose name never came (the client sees a call to "")."""
        self._finished = True
        self._cutting = self._finish == "length"
        self._close(out)
        self._flush_held(out)

    # ---- the response ------------------------------------------------------------------------

    def _next(self) -> int:
        seq = self._seq
        self._seq = seq + 1
        return seq

    def _begin(self, chunk: dict[str, Any], out: list[ResponseEvent]) -> None:
        self.started = True
        model = chunk.get("model")
        if isinstance(model, str) and model:
            self._model = model
        self._created = self._stamps.now()
        response = self._response("in_progress", [])
        out.append({"type": "response.created", "sequence_number": self._next(), "response": response})
        out.append({"type": "response.in_progress", "sequence_number": self._next(), "response": dict(response)})

    def _response(
        self, status: str, output: list[JSON], *, error: JSON | None = None, incomplete: str | None = None
    ) -> JSON:
        done = status in ("completed", "incomplete")
        return response_object(
            self._fields,
            response_id=self._id,
            created_at=self._created,
            model=self._model,
            status=status,
            output=output,
            usage=chat_usage_to_responses(self._usage) if status != "in_progress" else None,
            error=error,
            incomplete=incomplete,
            completed_at=self._stamps.now() if done and status == "completed" else None,
        )

    def _output_now(self) -> list[JSON]:
        """The items done, and the open one as it stands (incomplete): for a stream that fails."""
        output = list(self._output)
        if self._open == _MESSAGE:
            parts = [*self._parts]
            text = "".join(self._texts)
            if self._part == _TEXT:
                parts.append(
                    {"type": "output_text", "annotations": list(self._annotations), "logprobs": [], "text": text}
                )
            elif self._part == _REFUSAL:
                parts.append({"type": "refusal", "refusal": text})
            output.append(
                {"id": self._item, "type": "message", "status": "incomplete", "content": parts, "role": "assistant"}
            )
        elif self._open == _REASONING:
            output.append(self._reasoning_item("".join(self._texts)))
        elif self._open == _CALL and self._open_call is not None:
            output.append(self._call_item(self._open_call, "incomplete"))
        elif self._open == _SEARCH:
            output.append(cut_short(self._search_item("in_progress")))
        return output

    def _end(self) -> list[ResponseEvent]:
        out: list[ResponseEvent] = []
        if not self.started:
            self._begin({}, out)
        if not self._finished:
            self._finish_items(out)
        incomplete = INCOMPLETE_REASONS.get(self._finish) if isinstance(self._finish, str) else None
        status = "incomplete" if incomplete else "completed"
        out.append(
            {
                "type": f"response.{status}",
                "sequence_number": self._next(),
                "response": self._response(status, list(self._output), incomplete=incomplete),
            }
        )
        self._ended = True
        return out

    def _error(self, error: Any) -> list[ResponseEvent]:
        if isinstance(error, dict):
            code = error.get("code")
            kind = error.get("type")
            # the code when it is one of ours (OpenAI sends it), else the type and code together
            words = (
                code
                if isinstance(code, str) and code in FAILURE_CODES
                else " ".join(v for v in (kind, code) if isinstance(v, str) and v)
            )
            status = code if isinstance(code, int) and not isinstance(code, bool) else None
            message = error.get("message")
            text = str(message) if message else words or "the upstream failed"
            return self.fail(text, status=status, kind=words or None)
        return self.fail(str(error))
