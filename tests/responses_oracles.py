"""The openai SDK's Responses types as oracles: every response object and stream event protoshift makes
must validate, strictly (no key the type lacks), and every stream must come in the API's full order.

    from tests.responses_oracles import validate_response, validate_response_event, assert_response_stream

How far the types reach (openai 2.54, pydantic 2):
- the response models allow extra keys (`model_extra`): `_assert_no_extras` (tests/oracles.py) walks
  every validated model and fails on one. One exception: a response's `tools` are the caller's own,
  repeated as they were sent (Codex's `web_search` tool carries `external_web_access`, which the SDK's
  `WebSearchTool` lacks), so their keys are not protoshift's to judge;
- `ResponseError.code` is a Literal that lacks two codes the API sends and Codex acts on,
  `context_length_exceeded` (it compacts) and `insufficient_quota` (it stops): a failed response's code
  is checked against `chat_to_responses.FAILURE_CODES` here, and the rest validated with it replaced;
- the SDK's stream accumulator (`ResponseStreamState`, what `client.responses.stream()` runs) is the
  oracle of a stream as a whole: `accumulate_response_events` feeds it every event and gives the
  response it completes with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pydantic
from openai._types import omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import Response, ResponseCreateParams, ResponseStreamEvent

from protoshift.translator.chat_to_responses import FAILURE_CODES
from tests.oracles import _assert_no_extras

__all__ = [
    "SEARCH_STEPS",
    "TERMINAL_EVENTS",
    "accumulate_response_events",
    "assert_response_stream",
    "last_is_cut",
    "validate_response",
    "validate_response_event",
    "validate_responses_request",
]

_EVENT: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(ResponseStreamEvent)
_REQUEST: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(
    ResponseCreateParams, config=pydantic.ConfigDict(extra="forbid")
)
_SDK_CODES = frozenset(FAILURE_CODES - {"context_length_exceeded", "insufficient_quota"})
TERMINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
# A web search call's own events, in the order the API sends them (`response.web_search_call.*`).
SEARCH_STEPS = ["in_progress", "searching", "completed"]


def validate_responses_request(body: Any) -> None:
    """For test fixtures: a hand-written Responses request must be a real `ResponseCreateParams`."""
    _force(_REQUEST.validate_python(body))


def _force(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _force(v) for k, v in value.items()}
    if isinstance(value, list | tuple) or hasattr(value, "__next__"):
        return [_force(v) for v in value]
    return value


def _sdk_shape(obj: Mapping[str, Any]) -> dict[str, Any]:
    """`obj` (a response) with a code the SDK's Literal lacks replaced, once checked against ours."""
    error = obj.get("error")
    if isinstance(error, Mapping) and error.get("code") not in _SDK_CODES:
        assert error.get("code") in FAILURE_CODES, f"an error code protoshift does not make: {error!r}"
        return {**obj, "error": {**error, "code": "server_error"}}
    return dict(obj)


def validate_response(obj: Any, where: str = "response") -> Response:
    """A `response` object protoshift made: a valid `Response`, no key the types lack (but the caller's
    tools), usage whole whenever the response is over."""
    assert isinstance(obj, Mapping), f"{where}: not an object"
    response = Response.model_validate(_sdk_shape(obj))
    _no_extras(response, where)
    assert obj["object"] == "response" and str(obj["id"]).startswith("resp_"), obj["id"]
    if obj["status"] != "in_progress":
        usage = obj["usage"]
        assert usage is not None, f"{where}: a response that is over has usage"
        assert set(usage) == {
            "input_tokens", "input_tokens_details", "output_tokens", "output_tokens_details", "total_tokens",
        }, usage  # fmt: skip
        assert "cached_tokens" in usage["input_tokens_details"], usage
        assert "reasoning_tokens" in usage["output_tokens_details"], usage
        assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"], usage
    return response


def _no_extras(response: Response, where: str) -> None:
    extra = response.model_extra or {}
    assert not extra, f"{where}: keys the openai types do not have: {sorted(extra)}"
    for name in type(response).model_fields:
        if name != "tools":  # the caller's own, repeated as sent
            _assert_no_extras(getattr(response, name), f"{where}.{name}")


def validate_response_event(obj: Any, where: str = "event") -> Any:
    """One stream event protoshift made: a valid `ResponseStreamEvent` with its `type` and
    `sequence_number`, no key the types lack; its `response`, if any, valid as `validate_response` says."""
    assert isinstance(obj, Mapping) and isinstance(obj.get("type"), str), f"{where}: an event without a type"
    assert isinstance(obj.get("sequence_number"), int), f"{where}: an event without a sequence_number"
    shaped = dict(obj)
    if "response" in obj:
        validate_response(obj["response"], f"{where}.response")
        shaped["response"] = _sdk_shape(obj["response"])
    event = _EVENT.validate_python(shaped)
    extra = event.model_extra or {}
    assert not extra, f"{where}: keys the openai types do not have: {sorted(extra)}"
    for name in type(event).model_fields:
        if name != "response":
            _assert_no_extras(getattr(event, name), f"{where}.{name}")
    return event


def assert_response_stream(events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Every event valid, in the API's full order: sequence numbers 0, 1, 2...; `response.created`,
    `response.in_progress`; items one at a time (output_index 0, 1, 2...), each added before its deltas
    and done after them, its parts likewise; exactly one terminal event, last, whose output holds every
    item done (with the same content) in order; a web search call's events in their order, a completed one
    done after all three. Returns the terminal event's response."""
    assert events, "no events"
    for n, event in enumerate(events):
        validate_response_event(event, f"events[{n}]")
        assert event["sequence_number"] == n, f"events[{n}]: sequence_number {event['sequence_number']}"
    assert events[0]["type"] == "response.created", events[0]["type"]
    assert events[1]["type"] == "response.in_progress", events[1]["type"]
    assert events[0]["response"]["status"] == "in_progress" and events[0]["response"]["output"] == []
    ids = {events[0]["response"]["id"]}
    terminal = [n for n, event in enumerate(events) if event["type"] in TERMINAL_EVENTS]
    assert terminal == [len(events) - 1], f"one terminal event, last: {terminal}"
    added = 0  # items added so far; the open one is the last
    done: dict[int, Mapping[str, Any]] = {}
    open_item: Mapping[str, Any] | None = None
    open_part: int | None = None
    searched: list[str] = []  # the open web search call's steps so far
    for n, event in enumerate(events[2:-1], start=2):
        kind = event["type"]
        assert kind not in ("response.created", "response.in_progress"), f"events[{n}]: {kind} again"
        if kind == "response.output_item.added":
            assert event["output_index"] == added, f"events[{n}]: output_index {event['output_index']}"
            if open_item is not None:  # an item left without its done: only a call cut short may be
                assert open_item["type"] in ("function_call", "custom_tool_call"), (
                    f"events[{n}]: {open_item!r} not done"
                )
                assert last_is_cut(events), f"events[{n}]: an item not done in a stream that was not cut"
            open_item, open_part, searched = event["item"], None, []
            added += 1
            continue
        assert open_item is not None, f"events[{n}]: {kind} outside an item"
        assert event["output_index"] == added - 1, f"events[{n}]: output_index of an item that is not open"
        if "item_id" in event:
            assert event["item_id"] == open_item["id"], f"events[{n}]: item_id of an item that is not open"
        if kind.startswith("response.web_search_call."):
            assert open_item["type"] == "web_search_call", f"events[{n}]: {kind} in a {open_item['type']} item"
            searched.append(kind.rsplit(".", 1)[1])
            assert searched == SEARCH_STEPS[: len(searched)], f"events[{n}]: web search steps {searched}"
        if kind == "response.content_part.added":
            assert open_part is None, f"events[{n}]: a part inside a part"
            open_part = event["content_index"]
        elif kind == "response.content_part.done":
            assert open_part == event["content_index"], f"events[{n}]: done of a part that is not open"
            open_part = None
        elif "content_index" in event:
            assert open_part == event["content_index"], f"events[{n}]: {kind} outside its part"
        if kind == "response.output_item.done":
            assert open_part is None, f"events[{n}]: item done with a part open"
            assert event["item"]["id"] == open_item["id"]
            assert event["item"].get("status", "completed") != "in_progress", f"events[{n}]: done but in progress"
            if event["item"]["type"] == "web_search_call" and event["item"]["status"] == "completed":
                assert searched == SEARCH_STEPS, f"events[{n}]: a web search done after {searched}"
            done[event["output_index"]] = event["item"]
            open_item = None
    last = events[-1]
    response = dict(last["response"])
    assert response["id"] in ids, "the terminal response is another response"
    expected = {"response.completed": "completed", "response.incomplete": "incomplete", "response.failed": "failed"}
    assert response["status"] == expected[last["type"]], (last["type"], response["status"])
    output = response["output"]
    assert len(output) == added, f"the output holds {len(output)} items, {added} streamed"
    for k, item in done.items():
        assert output[k] == item, f"output[{k}] is not the item that streamed: {output[k]!r}"
    for k, item in enumerate(output):
        if k not in done:  # cut short: said so (a web search call's statuses have no incomplete: failed)
            assert last["type"] != "response.completed", f"output[{k}] never done in a completed response"
            cut = "failed" if item["type"] == "web_search_call" else "incomplete"
            assert item.get("status", cut) == cut, item
    return response


def last_is_cut(events: Sequence[Mapping[str, Any]]) -> bool:
    """The stream ends incomplete or failed: an item may be left without its done."""
    return events[-1]["type"] in ("response.incomplete", "response.failed")


def accumulate_response_events(events: Sequence[Mapping[str, Any]], tools: Sequence[Any] = ()) -> Any:
    """The response the openai SDK's own stream accumulator completes with (what
    `client.responses.stream(...).get_final_response()` gives), and its snapshot for a stream that
    does not complete."""
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=list(tools) or omit, text_format=omit)
    final = None
    for event in events:
        parsed = _EVENT.validate_python(
            {**event, "response": _sdk_shape(event["response"])} if "response" in event else event
        )
        for out in state.handle_event(parsed):
            if out.type == "response.completed":
                final = out.response
    return final
