"""chat_to_responses.Stream: chat chunks -> Responses events, each checked against the openai SDK's
`ResponseStreamEvent` strictly, the whole stream in the API's full order (tests/responses_oracles.py)
and through the SDK's own accumulator."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from protoshift.translator import chat_to_responses, responses_to_chat
from protoshift.translator.chat_to_responses import Stream, encode_event
from protoshift.translator.responses_to_chat.carry import decode_reasoning
from protoshift.translator.sse import DONE, JSONEventDecoder
from protoshift.translator.stamps import Stamps
from tests.responses_oracles import accumulate_response_events, assert_response_stream
from tests.translator.codex_fixtures import (
    HOSTILE_PATCH,
    MODEL,
    call_chunk,
    chunk,
    codex_request,
    split,
    usage_chunk,
)

# Codex's own reading of a rate limit's delay (codex-rs/codex-api/src/sse/responses.rs)
CODEX_RETRY = re.compile(r"(?i)try again in\s*(\d+(?:\.\d+)?)\s*(s|ms|seconds?)")


def run(
    chunks: list[Any], request: dict[str, Any] | None = None, *, close: bool = True
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The events of `chunks` (then close()), checked whole; and the terminal response."""
    request = request if request is not None else codex_request()
    translation = responses_to_chat.request(request)
    stream = Stream(
        request=request, tools=translation.tools, stamps=Stamps.fixed(), response_id=translation.response_id
    )
    events: list[dict[str, Any]] = []
    for item in chunks:
        events.extend(stream.feed(item))
    if close:
        events.extend(stream.close())
    assert stream.close() == [] and stream.feed(chunk({"content": "late"})) == []
    response = assert_response_stream(events)
    return events, response


def types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"].removeprefix("response.") for event in events]


def of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [event for event in events if event["type"] == f"response.{kind}"]


def test_text() -> None:
    chunks = [chunk({"role": "assistant", "content": ""}), chunk({"content": "Hel"}), chunk({"content": "lo"}),
              chunk(finish="stop"), usage_chunk(12, 3, cached=4), DONE]  # fmt: skip
    events, response = run(chunks)
    assert types(events) == [
        "created", "in_progress", "output_item.added", "content_part.added", "output_text.delta", "output_text.delta",
        "output_text.done", "content_part.done", "output_item.done", "completed",
    ]  # fmt: skip
    assert response["output"][0]["content"][0]["text"] == "Hello"
    assert response["usage"]["input_tokens_details"]["cached_tokens"] == 4
    final = accumulate_response_events(events)
    assert final.output_text == "Hello" and final.usage.output_tokens_details.reasoning_tokens == 0


def test_reasoning_then_text_then_a_call() -> None:
    chunks = [
        chunk({"role": "assistant", "reasoning_content": "Let me "}),
        chunk({"reasoning_content": "think."}),
        chunk({"content": "I'll look."}),
        call_chunk(0, call_id="call_1", name="exec_command", arguments=""),
        call_chunk(0, arguments='{"cmd":'),
        call_chunk(0, arguments=' "ls"}'),
        chunk(finish="tool_calls"),
        usage_chunk(reasoning=5),
    ]
    events, response = run(chunks)
    assert types(events)[2:9] == [
        "output_item.added", "reasoning_summary_part.added", "reasoning_summary_text.delta",
        "reasoning_summary_text.delta", "reasoning_summary_text.done", "reasoning_summary_part.done",
        "output_item.done",
    ]  # fmt: skip
    reasoning, message, call = response["output"]
    assert reasoning["summary"][0]["text"] == "Let me think."
    assert decode_reasoning(reasoning["encrypted_content"]) == ("Let me think.", None, None)
    assert message["content"][0]["text"] == "I'll look."
    assert call["arguments"] == '{"cmd": "ls"}' and call["call_id"] == "call_1" and call["status"] == "completed"
    [done] = of(events, "function_call_arguments.done")
    assert done["arguments"] == '{"cmd": "ls"}' and done["name"] == "exec_command"
    assert response["usage"]["output_tokens_details"]["reasoning_tokens"] == 5
    # Codex runs tools from output_item.done: the complete item
    assert of(events, "output_item.done")[-1]["item"] == call


def test_parallel_calls_interleaved_are_given_one_at_a_time() -> None:
    chunks = [
        call_chunk(0, call_id="call_a", name="exec_command", arguments='{"cmd": "echo a'),
        call_chunk(1, call_id="call_b", name="view_image", arguments='{"pa'),
        call_chunk(2, call_id="call_c", name="multi_agent_v1__spawn_agent", arguments='{"message": '),
        call_chunk(1, arguments='th": "x.png"}'),
        call_chunk(0, arguments='"}'),
        call_chunk(2, arguments='"go"}'),
        chunk(finish="tool_calls"),
        usage_chunk(),
        DONE,
    ]
    events, response = run(chunks)
    calls = response["output"]
    assert [(c["call_id"], c["name"], c["arguments"]) for c in calls] == [
        ("call_a", "exec_command", '{"cmd": "echo a"}'),
        ("call_b", "view_image", '{"path": "x.png"}'),
        ("call_c", "spawn_agent", '{"message": "go"}'),
    ]
    assert calls[2]["namespace"] == "multi_agent_v1"
    for call in calls:  # the deltas of each add up to its arguments
        deltas = [e["delta"] for e in of(events, "function_call_arguments.delta") if e["item_id"] == call["id"]]
        assert "".join(deltas) == call["arguments"]
    assert [c.call_id for c in accumulate_response_events(events).output] == ["call_a", "call_b", "call_c"]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 16, 1000])
@pytest.mark.parametrize("ascii_only", [True, False])
def test_a_custom_tool_input_arrives_byte_exact(size: int, ascii_only: bool) -> None:
    arguments = json.dumps({"input": HOSTILE_PATCH}, ensure_ascii=ascii_only)
    chunks = [
        chunk({"role": "assistant", "content": "Patching."}),
        call_chunk(0, call_id="call_p", name="apply_patch"),
        *(call_chunk(0, arguments=piece) for piece in split(arguments, size)),
        chunk(finish="tool_calls"),
        usage_chunk(),
    ]
    events, response = run(chunks)
    item = response["output"][1]
    assert item["type"] == "custom_tool_call" and item["input"] == HOSTILE_PATCH and item["call_id"] == "call_p"
    assert "".join(e["delta"] for e in of(events, "custom_tool_call_input.delta")) == HOSTILE_PATCH
    [done] = of(events, "custom_tool_call_input.done")
    assert done["input"] == HOSTILE_PATCH
    assert of(events, "output_item.done")[-1]["item"]["input"] == HOSTILE_PATCH
    if size < 10:  # decoded as it streams: raw text goes out before the arguments end
        assert len(of(events, "custom_tool_call_input.delta")) > 3
    # and through the wire: SSE bytes, decoded as a client does, still the same bytes
    wire = b"".join(encode_event(event) for event in events)
    decoded = JSONEventDecoder().feed(wire)
    assert decoded[-1]["response"]["output"][1]["input"] == HOSTILE_PATCH
    assert "".join(e["delta"] for e in decoded if e["type"] == "response.custom_tool_call_input.delta") == HOSTILE_PATCH


def test_arguments_only_in_the_last_chunk_and_a_name_that_comes_late() -> None:
    chunks = [
        call_chunk(0, call_id="call_1", arguments='{"cmd": '),  # a fragment before the name
        call_chunk(0, name="exec_command", arguments='"pwd"}'),
        {**call_chunk(1, call_id="call_2", name="apply_patch", arguments=json.dumps({"input": "*** Begin Patch\n"})),
         "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 1, "id": "call_2", "type": "function",
                      "function": {"name": "apply_patch", "arguments": json.dumps({"input": "*** Begin Patch\n"})}}]},
                      "finish_reason": "tool_calls"}]},
    ]  # fmt: skip
    events, response = run(chunks)
    first, second = response["output"]
    assert first["name"] == "exec_command" and first["arguments"] == '{"cmd": "pwd"}'
    assert second["type"] == "custom_tool_call" and second["input"] == "*** Begin Patch\n"
    assert events[-1]["type"] == "response.completed"  # a finish_reason is proof of an end


def test_a_call_with_no_arguments_gets_an_empty_object() -> None:
    events, response = run([call_chunk(0, call_id="c", name="exec_command"), chunk(finish="tool_calls")])
    assert response["output"][0]["arguments"] == "{}"
    assert [e["delta"] for e in of(events, "function_call_arguments.delta")] == ["{}"]


def test_a_stream_cut_before_its_finish_fails_and_leaves_the_open_call_undone() -> None:
    chunks = [
        chunk({"content": "Running."}),
        call_chunk(0, call_id="c", name="exec_command", arguments='{"cmd": "rm -'),
    ]
    events, response = run(chunks)
    assert events[-1]["type"] == "response.failed"
    assert response["error"] == {
        "code": "server_error",
        "message": "the upstream stream ended before its answer did (no finish_reason)",
    }
    assert not [e for e in of(events, "output_item.done") if e["item"]["type"] == "function_call"]
    assert response["output"][1]["status"] == "incomplete" and response["output"][1]["arguments"] == '{"cmd": "rm -'
    assert response["usage"]["total_tokens"] == 0


def test_an_empty_stream_fails_too() -> None:
    events, response = run([])
    assert types(events) == ["created", "in_progress", "failed"]
    assert response["error"]["message"] == "the upstream stream ended before it began"


def test_done_without_a_finish_reason_completes() -> None:
    events, _ = run([chunk({"content": "ok"}), DONE])
    assert events[-1]["type"] == "response.completed"


def test_length_cuts_text_and_an_unfinished_call() -> None:
    events, response = run([chunk({"content": "A long"}), chunk(finish="length"), usage_chunk()])
    assert events[-1]["type"] == "response.incomplete"
    assert response["incomplete_details"] == {"reason": "max_output_tokens"}
    assert response["output"][0]["status"] == "incomplete"
    events, response = run(
        [call_chunk(0, call_id="c", name="apply_patch", arguments='{"input": "*** Begin'), chunk(finish="length")]
    )
    assert events[-1]["type"] == "response.incomplete"
    assert not of(events, "custom_tool_call_input.done") and not of(events, "output_item.done")
    assert response["output"][0]["input"] == "*** Begin"


def test_an_error_in_the_stream_fails_it_with_a_code_codex_reads() -> None:
    events, response = run(
        [chunk({"content": "Hi"}), {"error": {"message": "Rate limit reached. Please try again in 1.5s.", "code": 429}}]
    )
    assert events[-1]["type"] == "response.failed"
    assert response["error"]["code"] == "rate_limit_exceeded"
    match = CODEX_RETRY.search(response["error"]["message"])
    assert match is not None and match.group(1) == "1.5"
    assert response["output"][0]["status"] == "incomplete"  # the text so far, not done
    _, response = run(
        [
            {
                "object": "error",
                "message": "This model's maximum context length is 32768 tokens",
                "type": "BadRequestError",
                "code": 400,
            }
        ]
    )
    assert response["error"]["code"] == "context_length_exceeded"


def test_fail_from_the_gateway_with_a_retry_after() -> None:
    request = codex_request()
    translation = responses_to_chat.request(request)
    stream = Stream(request=request, tools=translation.tools, stamps=Stamps.fixed())
    events = stream.feed(chunk({"content": "x"}))
    events += stream.fail("Too many requests", status=429, retry_after=20)
    assert stream.failed is events[-1]
    response = assert_response_stream(events)
    assert response["error"] == {
        "code": "rate_limit_exceeded",
        "message": "Too many requests. Please try again in 20s.",
    }
    assert CODEX_RETRY.search(response["error"]["message"]) is not None
    assert stream.fail("again") == [] and stream.close() == []


def test_refusal_annotations_and_a_switch_back_to_text() -> None:
    url = {"type": "url_citation", "url_citation": {"start_index": 0, "end_index": 4, "title": "T", "url": "https://t"}}
    events, response = run(
        [
            chunk({"content": "Docs"}),
            chunk({"annotations": [url]}),
            chunk({"refusal": "No."}),
            chunk({"content": " More."}),
            chunk(finish="stop"),
        ]
    )
    [message] = response["output"]
    assert [part["type"] for part in message["content"]] == ["output_text", "refusal", "output_text"]
    assert message["content"][0]["annotations"] == [
        {"type": "url_citation", "start_index": 0, "end_index": 4, "title": "T", "url": "https://t"}
    ]
    assert [e["annotation_index"] for e in of(events, "output_text.annotation.added")] == [0]


def test_the_same_stamps_give_the_same_bytes() -> None:
    chunks = [chunk({"content": "Hi"}), chunk(finish="stop"), usage_chunk(5, 1)]

    def wire() -> bytes:
        request = {"model": MODEL, "input": "hi", "stream": True}
        translation = responses_to_chat.request(request, stamps=Stamps.fixed())
        stream = Stream(
            request=request, tools=translation.tools, stamps=Stamps.fixed(first=2), response_id=translation.response_id
        )
        return b"".join(encode_event(e) for c in chunks for e in stream.feed(c)) + b"".join(
            map(encode_event, stream.close())
        )

    first = wire()
    assert first == wire()
    assert (
        b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":4,'
        b'"item_id":"msg_00000000000000000000000000000002","output_index":0,"content_index":0,"delta":"Hi","logprobs":[]}\n\n'
    ) in first
    assert first.startswith(b'event: response.created\ndata: {"type":"response.created","sequence_number":0,"response":'
                            b'{"id":"resp_018bcfe56800000000000000000000000000000000000001","object":"response","created_at":1700000000,')  # fmt: skip
    assert first.endswith(b"}}\n\n") and first.count(b"event: response.completed\n") == 1


def test_the_module_exports() -> None:
    assert {"response", "Stream", "encode_event", "failure"} <= set(chat_to_responses.__all__)
