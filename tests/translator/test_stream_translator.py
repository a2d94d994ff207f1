"""anthropic_to_openai.Stream: Anthropic stream events -> chat.completion.chunks (issue 2, section 4)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from anthropic.types import ErrorResponse

from protoshift.translator import IncompleteStreamError, Stamps, UpstreamStreamError, anthropic_to_openai
from tests.oracles import validate_chunk, validate_completion

from .anthropic_fixtures import (
    accumulate_anthropic,
    accumulate_openai,
    block_start,
    block_stop,
    delta,
    message_delta,
    message_start,
    message_stop,
    ping,
    server_tool_events,
    text_events,
    thinking_events,
    tool_events,
)


def run(events: list[dict[str, Any]], *, include_usage: bool = False) -> list[dict[str, Any]]:
    translator = anthropic_to_openai.Stream(include_usage=include_usage, stamps=Stamps.fixed(now=1_700_000_000))
    chunks: list[dict[str, Any]] = []
    for event in events:
        chunks.extend(translator.feed(event))
    chunks.extend(translator.close())
    for chunk in chunks:
        validate_chunk(chunk)
    return chunks


def choice_chunks(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in chunks if c["choices"]]


def deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c["choices"][0]["delta"] for c in choice_chunks(chunks)]


TEXT_STREAM = [
    message_start(),
    text_events(0, "Hello", ", ", "world!")[0],
    ping(),
    *text_events(0, "Hello", ", ", "world!")[1:],
    message_delta("end_turn"),
    message_stop(),
]

MIXED_STREAM = [
    message_start("msg_01Mixed", cache_read_input_tokens=10, cache_creation_input_tokens=5),
    *thinking_events(0, ["Let me ", "think."], "EqQBsig=="),
    *text_events(1, "I'll check ", "both."),
    *tool_events(2, "toolu_01A", "get_weather", {"city": "Paris", "unit": "C"}),
    *text_events(3, "And:"),
    *tool_events(4, "toolu_01B", "get_time", {"tz": "Europe/Rome"}, cuts=5),
    *tool_events(5, "toolu_01C", "no_args", {}),
    message_delta("tool_use", output_tokens=88),
    message_stop(),
]


def test_one_id_for_the_whole_stream_and_first_chunk_is_the_assistant_role() -> None:
    chunks = run(MIXED_STREAM, include_usage=True)
    assert {c["id"] for c in chunks} == {"chatcmpl-01Mixed"}
    assert {c["model"] for c in chunks} == {"claude-sonnet-4-5"}
    assert {c["created"] for c in chunks} == {1_700_000_000}
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all("role" not in d for d in deltas(chunks)[1:])


def test_text_deltas_become_content() -> None:
    chunks = run(TEXT_STREAM)
    assert "".join(d.get("content") or "" for d in deltas(chunks)) == "Hello, world!"
    assert [d["content"] for d in deltas(chunks) if d.get("content")] == ["Hello", ", ", "world!"]


def test_thinking_deltas_become_reasoning_content_and_the_signature_is_kept() -> None:
    chunks = run(MIXED_STREAM)
    ds = deltas(chunks)
    assert "".join(d.get("reasoning_content") or "" for d in ds) == "Let me think."
    blocks = [b for d in ds for b in d.get("thinking_blocks") or []]
    assert blocks == [{"type": "thinking", "thinking": "Let me think.", "signature": "EqQBsig=="}]


def test_each_tool_use_block_gets_its_own_index_counting_tool_calls_only() -> None:
    chunks = run(MIXED_STREAM)
    calls = [tc for d in deltas(chunks) for tc in d.get("tool_calls") or []]
    firsts = [tc for tc in calls if "id" in tc]
    assert [
        (tc["index"], tc["id"], tc["type"], tc["function"]["name"], tc["function"]["arguments"]) for tc in firsts
    ] == [
        (0, "toolu_01A", "function", "get_weather", ""),
        (1, "toolu_01B", "function", "get_time", ""),
        (2, "toolu_01C", "function", "no_args", ""),
    ]
    # Every later entry carries only an argument fragment under the same index, after its opener.
    for k, tc in enumerate(calls):
        if "id" not in tc:
            assert set(tc) == {"index", "function"} and set(tc["function"]) == {"arguments"}
            assert any(f["index"] == tc["index"] for f in calls[:k] if "id" in f)
    args = {i: "".join(tc["function"]["arguments"] for tc in calls if tc["index"] == i) for i in (0, 1, 2)}
    assert json.loads(args[0]) == {"city": "Paris", "unit": "C"}
    assert json.loads(args[1]) == {"tz": "Europe/Rome"}
    assert json.loads(args[2]) == {}  # no input_json_delta at all: still a parseable "{}"


def test_server_tool_blocks_produce_no_tool_calls() -> None:
    events = [
        message_start(),
        *server_tool_events(0),
        *text_events(2, "It is sunny."),
        message_delta("end_turn"),
        message_stop(),
    ]
    chunks = run(events)
    assert not [d for d in deltas(chunks) if "tool_calls" in d]
    assert "".join(d.get("content") or "" for d in deltas(chunks)) == "It is sunny."
    assert choice_chunks(chunks)[-1]["choices"][0]["finish_reason"] == "stop"
    blocks = [b for d in deltas(chunks) for b in (d.get("provider_specific_fields") or {}).get("content_blocks", [])]
    assert [b["type"] for b in blocks] == ["server_tool_use", "web_search_tool_result"]
    assert blocks[0]["input"] == {"query": "weather"}  # assembled from its input_json_delta fragments


CITATION = {
    "type": "web_search_result_location",
    "url": "https://en.wikipedia.org/wiki/Claude_Shannon",
    "title": "Claude Shannon - Wikipedia",
    "encrypted_index": "Eo8BCioIAhgB",
    "cited_text": "Claude Shannon was born on April 30, 1916",
}


def cited_text_events(index: int, *texts: str) -> list[dict[str, Any]]:
    """A text block as Anthropic streams a cited one: citations_delta first, then the text."""
    return [
        block_start(index, {"type": "text", "text": "", "citations": []}),
        delta(index, {"type": "citations_delta", "citation": CITATION}),
        *(delta(index, {"type": "text_delta", "text": t}) for t in texts),
        block_stop(index),
    ]


CITED_STREAM = [
    message_start(),
    *server_tool_events(0),
    *text_events(2, "Based on the results, "),
    *cited_text_events(3, "Claude Shannon was born ", "on April 30, 1916"),
    *text_events(4, "."),
    message_delta("end_turn"),
    message_stop(),
]


def test_citations_in_a_stream_become_annotations_once_the_cited_block_is_complete() -> None:
    from openai.types.chat.chat_completion_message import Annotation

    chunks = run(CITED_STREAM)
    content = "".join(d.get("content") or "" for d in deltas(chunks))
    found = [Annotation.model_validate(a) for d in deltas(chunks) for a in d.get("annotations") or []]
    assert len(found) == 1
    cite = found[0].url_citation
    assert (cite.url, cite.title) == (CITATION["url"], CITATION["title"])
    assert content[cite.start_index : cite.end_index] == "Claude Shannon was born on April 30, 1916"


def test_finish_reason_only_on_the_last_choice_chunk() -> None:
    chunks = choice_chunks(run(MIXED_STREAM, include_usage=True))
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])


def test_missing_stop_reason_still_finishes_with_stop() -> None:
    events = [message_start(), *text_events(0, "x"), message_delta(None), message_stop()]
    chunks = choice_chunks(run(events))
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert sum(c["choices"][0]["finish_reason"] is not None for c in chunks) == 1


def test_include_usage_gives_a_final_usage_chunk_with_no_choices() -> None:
    chunks = run(MIXED_STREAM, include_usage=True)
    last = chunks[-1]
    assert last["choices"] == []
    assert last["usage"] == {
        "prompt_tokens": 25 + 10 + 5,
        "completion_tokens": 88,
        "total_tokens": 128,
        "prompt_tokens_details": {"cached_tokens": 10},
    }
    assert all(c["usage"] is None for c in chunks[:-1])  # as OpenAI sends it with include_usage


def test_without_include_usage_there_is_no_usage() -> None:
    chunks = run(MIXED_STREAM)
    assert all(c["choices"] for c in chunks)
    assert all(c.get("usage") is None for c in chunks)


def test_message_delta_with_null_usage_fields_keeps_the_counts_from_message_start() -> None:
    """MessageDeltaUsage declares input/cache counts Optional: a null there means "no update"."""
    events = [
        message_start("msg_01N", input_tokens=40, cache_read_input_tokens=8),
        *text_events(0, "ok"),
        message_delta(
            "end_turn",
            output_tokens=5,
            input_tokens=None,
            cache_read_input_tokens=None,
            cache_creation_input_tokens=None,
        ),
        message_stop(),
    ]
    usage = run(events, include_usage=True)[-1]["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (48, 5)
    assert usage["prompt_tokens_details"]["cached_tokens"] == 8


def test_ping_and_unknown_events_give_nothing() -> None:
    translator = anthropic_to_openai.Stream()
    translator.feed(message_start())
    assert translator.feed(ping()) == []
    assert translator.feed({"type": "brand_new_event", "payload": {"x": 1}}) == []
    translator.feed(block_start(0, {"type": "text", "text": ""}))
    assert translator.feed(delta(0, {"type": "citations_delta", "citation": {
        "type": "char_location", "cited_text": "x", "document_index": 0, "document_title": None,
        "start_char_index": 0, "end_char_index": 1}})) == []  # fmt: skip


def test_error_event_raises_after_the_chunks_before_it_were_given_out() -> None:
    translator = anthropic_to_openai.Stream()
    given: list[dict[str, Any]] = []
    for event in [message_start(), *text_events(0, "Partial ", "answer")[:-1]]:
        given.extend(translator.feed(event))
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    ErrorResponse.model_validate(error)
    with pytest.raises(UpstreamStreamError) as info:
        translator.feed(error)
    assert info.value.error_type == "overloaded_error"
    assert info.value.message == "Overloaded"
    assert "overloaded_error" in str(info.value)
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in given) == "Partial answer"
    for chunk in given:
        validate_chunk(chunk)


def test_close_without_message_stop_raises_incomplete() -> None:
    translator = anthropic_to_openai.Stream()
    for event in [message_start(), *text_events(0, "cut"), message_delta("end_turn")]:
        translator.feed(event)
    with pytest.raises(IncompleteStreamError):
        translator.close()
    with pytest.raises(IncompleteStreamError):
        anthropic_to_openai.Stream().close()  # nothing at all is not a complete answer either


def test_close_after_message_stop_gives_nothing_more() -> None:
    translator = anthropic_to_openai.Stream()
    for event in TEXT_STREAM:
        translator.feed(event)
    assert translator.close() == []


def test_redacted_thinking_is_handed_on_as_a_thinking_block() -> None:
    events = [
        message_start(),
        block_start(0, {"type": "redacted_thinking", "data": "Encrypted=="}),
        block_stop(0),
        *text_events(1, "ok"),
        message_delta("end_turn"),
        message_stop(),
    ]
    blocks = [b for d in deltas(run(events)) for b in d.get("thinking_blocks") or []]
    assert blocks == [{"type": "redacted_thinking", "data": "Encrypted=="}]


STREAMS = {
    "text": TEXT_STREAM,
    "mixed": MIXED_STREAM,
    "server-tools": [
        message_start(),
        *server_tool_events(0),
        *text_events(2, "Sunny", " today."),
        message_delta("end_turn"),
        message_stop(),
    ],
    "max-tokens": [message_start(), *text_events(0, "trunc"), message_delta("max_tokens"), message_stop()],
    "citations": CITED_STREAM,
    "only-tool": [
        message_start(),
        *tool_events(0, "toolu_x", "f", {"q": [1, 2, {"deep": "é"}]}, cuts=7),
        message_delta("tool_use"),
        message_stop(),
    ],
}


@pytest.mark.parametrize("events", STREAMS.values(), ids=STREAMS)
def test_streamed_result_equals_the_response_of_the_accumulated_message(events: list[dict[str, Any]]) -> None:
    streamed = accumulate_openai(run(events, include_usage=True))
    completion = anthropic_to_openai.response(accumulate_anthropic(events))
    validate_completion(completion)
    choice = completion["choices"][0]
    assert streamed["id"] == completion["id"]
    assert streamed["model"] == completion["model"]
    assert streamed["finish_reason"] == choice["finish_reason"]
    assert streamed["usage"] == completion["usage"]
    expected = {k: v for k, v in choice["message"].items() if k != "refusal"}
    if expected.get("content") == "":
        expected["content"] = None
    # Streamed arguments are Anthropic's own fragments; compare what they mean, not their spacing.
    for message in (streamed["message"], expected):
        for tc in message.get("tool_calls", []):
            tc["function"]["arguments"] = json.loads(tc["function"]["arguments"])
    assert streamed["message"] == expected


def test_the_chunk_accumulator_adds_up_annotations_and_kept_blocks_as_response_gives_them() -> None:
    """What `chat --stream --format json` and batch results keep of a stream."""
    from protoshift.translator.accumulate import ChunkAccumulator

    accumulator = ChunkAccumulator()
    for chunk in run(CITED_STREAM):
        accumulator.add(chunk)
    completion = accumulator.completion()
    validate_completion(completion)
    expected = anthropic_to_openai.response(accumulate_anthropic(CITED_STREAM))["choices"][0]["message"]
    message = completion["choices"][0]["message"]
    assert message["annotations"] == expected["annotations"]
    assert message["provider_specific_fields"] == expected["provider_specific_fields"]
