"""openai_to_anthropic.Stream: the quirks of OpenAI-compatible streams, one at a time (issue 14). Every
sequence is checked against the anthropic types and the order the API sends events in."""

from __future__ import annotations

from typing import Any

import pytest

from protoshift.translator import IncompleteStreamError, openai_to_anthropic
from protoshift.translator.sse import DONE, SSEDecoder
from tests.oracles import accumulate_anthropic_events, assert_anthropic_event_sequence


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": "chatcmpl-s1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    body["choices"] = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {**body, **extra}


def call(index: int | None, *, id: str | None = None, name: str | None = None, args: Any = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"function": {}}
    if index is not None:
        entry["index"] = index
    if id is not None:
        entry["id"] = id
    if name is not None:
        entry["function"]["name"] = name
    if args is not None:
        entry["function"]["arguments"] = args
    return entry


def run(*chunks: dict[str, Any], close: bool = True) -> list[dict[str, Any]]:
    translator = openai_to_anthropic.Stream(model="requested-model")
    events = [event for c in chunks for event in translator.feed(c)]
    if close:
        events += translator.close()
    return events


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def test_a_text_stream_is_the_exact_sequence_the_sdk_expects() -> None:
    events = run(
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hel"}),
        chunk({"content": "lo"}),
        chunk({}, "stop"),
        chunk(usage={"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}),
        DONE,
    )
    assert_anthropic_event_sequence(events)
    assert types(events) == [
        "message_start", "ping", "content_block_start", "content_block_delta", "content_block_delta",
        "content_block_stop", "message_delta", "message_stop",
    ]  # fmt: skip
    assert events[0]["message"]["id"] == "msg_s1" and events[0]["message"]["model"] == "m"
    assert events[-2] == {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {
            "input_tokens": 9,
            "output_tokens": 2,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }
    message = accumulate_anthropic_events(events)
    assert message.content[0].model_dump() == {"type": "text", "text": "Hello", "citations": None}
    assert (message.usage.input_tokens, message.usage.output_tokens) == (9, 2)


def test_the_blocks_close_at_the_finish_reason_and_the_message_ends_with_the_usage_chunk() -> None:
    translator = openai_to_anthropic.Stream()
    translator.feed(chunk({"content": "x"}))
    assert types(translator.feed(chunk({}, "length"))) == ["content_block_stop"]
    end = translator.feed(chunk(usage={"prompt_tokens": 3, "completion_tokens": 1}))
    assert types(end) == ["message_delta", "message_stop"]
    assert end[0]["delta"]["stop_reason"] == "max_tokens"
    assert translator.feed(DONE) == [] and translator.close() == []


def test_done_missing_a_finish_reason_is_proof_of_an_end_and_no_usage_leaves_the_counts_alone() -> None:
    events = run(chunk({"content": "x"}), chunk({}, "stop"))
    assert_anthropic_event_sequence(events)
    assert events[-2]["usage"] == {"output_tokens": 0}


def test_a_cut_stream_raises_incomplete_after_what_was_given_out() -> None:
    translator = openai_to_anthropic.Stream()
    assert types(translator.feed(chunk({"content": "x"}))) == [
        "message_start", "ping", "content_block_start", "content_block_delta",
    ]  # fmt: skip
    with pytest.raises(IncompleteStreamError):
        translator.close()
    with pytest.raises(IncompleteStreamError, match="empty"):
        openai_to_anthropic.Stream().close()


def test_chunks_with_no_choices_and_usage_on_every_chunk() -> None:
    # Azure's first chunk carries only prompt_filter_results; vLLM's continuous_usage_stats put usage everywhere.
    events = run(
        {"id": "", "object": "", "created": 0, "model": "", "choices": [], "prompt_filter_results": []},
        chunk({"role": "assistant"}, usage={"prompt_tokens": 50, "completion_tokens": 0}),
        chunk({"content": "Hi"}, usage={"prompt_tokens": 50, "completion_tokens": 1}),
        chunk({}, "stop", usage={"prompt_tokens": 50, "completion_tokens": 2}),
        DONE,
    )
    assert_anthropic_event_sequence(events)
    assert events[0]["message"]["model"] == "requested-model"  # the request's model when the chunk names none
    assert events[-2]["usage"]["input_tokens"] == 50 and events[-2]["usage"]["output_tokens"] == 2


def test_input_tokens_known_at_the_start_go_in_message_start() -> None:
    events = run(chunk({"role": "assistant"}, usage={"prompt_tokens": 7, "completion_tokens": 0}), chunk({}, "stop"))
    assert events[0]["message"]["usage"]["input_tokens"] == 7


def test_a_tool_id_repeated_on_every_chunk_is_one_call() -> None:
    events = run(
        chunk({"tool_calls": [call(0, id="c1", name="f", args='{"a"')]}),
        chunk({"tool_calls": [call(0, id="c1", args=": 1}")]}),
        chunk({}, "tool_calls"),
    )
    assert_anthropic_event_sequence(events)
    [tool] = accumulate_anthropic_events(events).content
    assert (tool.type, tool.id, tool.input) == ("tool_use", "c1", {"a": 1})


def test_calls_without_an_index_are_told_apart_by_their_ids() -> None:
    events = run(
        chunk({"tool_calls": [call(None, id="a", name="f", args="{}"), call(None, id="b", name="g", args="{}")]}),
        chunk({}, "tool_calls"),
    )
    tools = accumulate_anthropic_events(events).content
    assert [(t.id, t.name) for t in tools] == [("a", "f"), ("b", "g")]  # type: ignore[union-attr]


def test_a_provider_that_numbers_every_call_zero() -> None:
    events = run(
        chunk({"tool_calls": [call(0, id="a", name="f", args='{"x": 1}')]}),
        chunk({"tool_calls": [call(0, id="b", name="g", args='{"y": 2}')]}),
        chunk({}, "tool_calls"),
    )
    tools = accumulate_anthropic_events(events).content
    assert [(t.id, t.input) for t in tools] == [("a", {"x": 1}), ("b", {"y": 2})]  # type: ignore[union-attr]


def test_arguments_sent_as_an_object_and_a_call_with_no_id() -> None:
    events = run(chunk({"tool_calls": [call(0, name="f", args={"q": "x"})]}), chunk({}, "stop"))
    [tool] = accumulate_anthropic_events(events).content
    assert tool.input == {"q": "x"} and tool.id.startswith("toolu_")  # type: ignore[union-attr]
    assert events[-2]["delta"]["stop_reason"] == "tool_use"


def test_a_call_whose_name_never_comes_is_still_given_out_at_the_end() -> None:
    events = run(chunk({"tool_calls": [call(0, id="c", args="{}")]}), chunk({}, "tool_calls"))
    assert_anthropic_event_sequence(events)
    [tool] = accumulate_anthropic_events(events).content
    assert (tool.name, tool.input) == ("", {})  # type: ignore[union-attr]


def test_text_after_a_finished_call_is_a_new_block_and_reasoning_content_wins_over_reasoning() -> None:
    events = run(
        chunk({"reasoning_content": "think", "reasoning": "think"}),  # vLLM sends both, the same text
        chunk({"tool_calls": [call(0, id="c", name="f", args="{}")]}),
        chunk({"content": "done"}),
        chunk({}, "tool_calls"),
    )
    assert_anthropic_event_sequence(events)
    blocks = accumulate_anthropic_events(events).content
    assert [b.type for b in blocks] == ["thinking", "tool_use", "text"]
    assert blocks[0].thinking == "think"  # type: ignore[union-attr]


def test_only_the_first_choice_is_translated() -> None:
    two = chunk({"content": "a"})
    two["choices"].append({"index": 1, "delta": {"content": "b"}, "finish_reason": None})
    events = run(two, chunk({}, "stop"))
    assert accumulate_anthropic_events(events).content[0].text == "a"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ({"error": {"message": "boom", "type": "server_error"}}, "api_error"),
        ({"error": {"message": "slow down", "type": "rate_limit_exceeded"}}, "rate_limit_error"),
        ({"error": {"message": "busy", "code": 529}}, "overloaded_error"),
        ({"object": "error", "message": "bad", "type": "BadRequestError", "code": 400}, "invalid_request_error"),
        ({**chunk({}, "error"), "error": {"code": 502, "message": "Provider returned error"}}, "api_error"),
    ],
)
def test_an_error_in_the_stream_is_an_anthropic_error_event_that_ends_it(error: dict[str, Any], kind: str) -> None:
    translator = openai_to_anthropic.Stream()
    before = translator.feed(chunk({"content": "partial"}))
    events = translator.feed(error)
    assert events == [{"type": "error", "error": {"type": kind, "message": events[0]["error"]["message"]}}]
    assert translator.failed == events[0]
    assert_anthropic_event_sequence([*before, *events])
    assert translator.feed(chunk({"content": "more"})) == [] and translator.close() == []


def test_the_sse_framing_is_anthropics() -> None:
    event = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "é\n"}}
    raw = openai_to_anthropic.encode_event(event)
    assert (
        raw
        == b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\xc3\xa9\\n"}}\n\n'
    )
    [decoded] = SSEDecoder().feed(raw)
    assert decoded.event == "content_block_delta"


def test_arguments_repeated_whole_after_they_were_complete_are_not_given_out_twice() -> None:
    events = run(
        chunk({"tool_calls": [call(0, id="c", name="f", args='{"a": ')]}),
        chunk({"tool_calls": [call(0, args="1}")]}),
        chunk({"tool_calls": [call(0, args='{"a": 1}')]}, "tool_calls"),  # the whole arguments again, with the finish
    )
    assert_anthropic_event_sequence(events)
    [tool] = accumulate_anthropic_events(events).content
    assert tool.input == {"a": 1}  # type: ignore[union-attr]


def test_a_nested_object_fragment_is_not_mistaken_for_a_repeat() -> None:
    events = run(
        chunk({"tool_calls": [call(0, id="c", name="f", args='{"a": ')]}),
        chunk({"tool_calls": [call(0, args='{"b": 1}}')]}),
        chunk({}, "tool_calls"),
    )
    [tool] = accumulate_anthropic_events(events).content
    assert tool.input == {"a": {"b": 1}}  # type: ignore[union-attr]


def test_a_streamed_call_of_a_stand_in_is_a_server_tool_use_then_its_failed_result() -> None:
    translator = openai_to_anthropic.Stream(model="m", answered_here={"web_search": "web_search"})
    chunks = [
        chunk({"role": "assistant", "content": "Let me look."}),
        chunk({"tool_calls": [call(0, id="call_1", name="web_search", args='{"que')]}),
        chunk({"tool_calls": [call(0, args='ry": "tides"}')]}),
        chunk({}, "tool_calls"),
        chunk(None, usage={"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}),
    ]
    events = [event for c in chunks for event in translator.feed(c)] + translator.feed(DONE) + translator.close()
    assert_anthropic_event_sequence(events)
    message = accumulate_anthropic_events(events).model_dump(exclude_none=True)
    text, use, result = message["content"]
    assert text == {"type": "text", "text": "Let me look."}
    assert use["type"] == "server_tool_use" and use["name"] == "web_search" and use["input"] == {"query": "tides"}
    assert result["type"] == "web_search_tool_result" and result["tool_use_id"] == use["id"]
    assert result["content"] == {"type": "web_search_tool_result_error", "error_code": "unavailable"}
    assert message["stop_reason"] == "end_turn"
