"""Anthropic answers that are not what the protocol says: a TranslationError naming the field, never a crash,
and never output that is not JSON. (Issue 9, items 4 and 6: a reply text with a lone surrogate, an event
index of `[0]`, integers of thousands of digits.)"""

from __future__ import annotations

import json
from typing import Any

import pytest

from protoshift.translator import TranslationError, UpstreamStreamError, anthropic_to_openai

from .anthropic_fixtures import block_start, delta, message_delta, message_start, message_stop


def message(*blocks: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": list(blocks) or [{"type": "text", "text": "hi"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 1, "output_tokens": 1},
        **fields,
    }


@pytest.mark.parametrize(
    ("answer", "path", "reason"),
    [
        (message({"type": "text", "text": "a\ud800"}), "content[0].text", "lone surrogate"),
        (message({"type": "text", "text": 5}), "content[0].text", "expected a string, got a number"),
        (
            message({"type": "tool_use", "id": "t", "name": "f", "input": {"x": float("nan")}}),
            "content[0].input.x",
            "NaN",
        ),
        (message({"type": "tool_use", "id": "t", "name": "f", "input": [1]}), "content[0].input", "expected an object"),
        (message({"type": "tool_use", "id": ["t"], "name": "f", "input": {}}), "content[0].id", "expected a string"),
        (message(None), "content[0]", "expected an object, got null"),  # type: ignore[arg-type]
        (message(model=7), "model", "expected a string"),
        (message(usage={"output_tokens": 10**5000}), "usage.output_tokens", "more than 100 digits"),
    ],
)
def test_a_bad_message_is_a_translation_error_naming_the_field(answer: Any, path: str, reason: str) -> None:
    with pytest.raises(TranslationError) as info:
        anthropic_to_openai.response(answer)
    assert info.value.path == path
    assert reason in info.value.reason


def feed_all(events: list[Any]) -> list[dict[str, Any]]:
    translator = anthropic_to_openai.Stream(include_usage=True)
    chunks: list[dict[str, Any]] = []
    for event in events:
        chunks.extend(translator.feed(event))
    return chunks


def raw_delta(body: Any) -> dict[str, Any]:
    """A content_block_delta as is (the fixtures' `delta` checks it against the SDK's types)."""
    return {"type": "content_block_delta", "index": 0, "delta": body}


def raw_start(block: Any) -> dict[str, Any]:
    return {"type": "content_block_start", "index": 0, "content_block": block}


START = [message_start(), block_start(0, {"type": "text", "text": ""})]


@pytest.mark.parametrize(
    ("events", "path", "reason"),
    [
        ([*START, {"type": "content_block_delta", "index": [0], "delta": {"type": "text_delta", "text": "x"}}],
         "index", "expected an integer, got an array"),
        ([*START, {"type": "content_block_delta", "index": {}, "delta": {"type": "text_delta", "text": "x"}}],
         "index", "expected an integer, got an object"),
        ([*START, {"type": "content_block_start", "index": [0], "content_block": {"type": "text"}}],
         "index", "expected an integer"),
        ([*START, {"type": "content_block_stop", "index": "0"}], "index", "expected an integer, got a string"),
        ([*START, raw_delta({"type": "text_delta", "text": "b\udc00"})], "delta.text", "lone surrogate"),
        ([*START, raw_delta({"type": "text_delta", "text": 5})], "delta.text", "expected a string, got a number"),
        ([*START, {"type": "content_block_delta", "index": 0, "delta": None}], "delta", "expected an object"),
        ([message_start(), raw_start({"type": "tool_use", "id": "t", "name": "f", "input": {"n": float("inf")}})],
         "content_block.input.n", "Infinity"),
        ([message_start(), raw_start({"type": "tool_use", "id": None, "name": "f", "input": {}})],
         "content_block.id", "expected a string"),
        ([{"type": "message_start", "message": None}], "message", "expected an object"),
        ([message_start(), {"type": "message_delta", "delta": {"stop_reason": ["end_turn"]}}],
         "delta.stop_reason", "expected a string"),
        ([message_start(), {"type": "message_delta", "usage": {"output_tokens": -(10**4400)}}],
         "usage.output_tokens", "more than 100 digits"),
        ([None], "$", "an event must be an object, got null"),
        ([[1]], "$", "an event must be an object, got an array"),
        ([{"type": 3}], "type", "expected a string, got a number"),
    ],
)  # fmt: skip
def test_a_bad_event_is_a_translation_error_naming_the_field(events: list[Any], path: str, reason: str) -> None:
    with pytest.raises(TranslationError) as info:
        feed_all(events)
    assert info.value.path == path
    assert reason in info.value.reason


def test_an_error_event_with_odd_fields_is_still_the_error_it_announces() -> None:
    with pytest.raises(UpstreamStreamError) as info:
        feed_all([message_start(), {"type": "error", "error": {"type": None, "message": 12}}])
    assert (info.value.error_type, info.value.message) == ("api_error", "")
    with pytest.raises(TranslationError):  # a message that cannot be printed or written as JSON
        feed_all([message_start(), {"type": "error", "error": {"type": "x", "message": "\ud800"}}])


def test_good_streams_and_unknown_kinds_still_pass() -> None:
    chunks = feed_all(
        [
            *START,
            {"type": "ping"},
            {"type": "hologram", "index": [0]},  # an event type from the future: skipped whatever it holds
            raw_delta({"type": "citations_delta", "citation": {}}),
            delta(0, {"type": "text_delta", "text": "😀 ok"}),
            message_delta("end_turn"),
            message_stop(),
        ]
    )
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "😀 ok"
    for chunk in chunks:
        json.dumps(chunk, allow_nan=False).encode()


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def test_a_block_kept_as_it_came_must_still_fit_where_it_lands() -> None:
    """A server tool's block nested within the limit where Anthropic put it (content[0]) lands deeper in
    the completion (choices[0].message.provider_specific_fields.content_blocks[0]): still within the
    limit there, or refused naming it — never a completion nested past it (found by the fuzz suite)."""
    deep = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"q": _nested(195)}}
    json.dumps(message(deep))  # the input itself is within the limit
    with pytest.raises(TranslationError) as caught:
        anthropic_to_openai.response(message({"type": "text", "text": "a"}, deep))
    assert caught.value.path.startswith("content[1]") and "nested deeper than 200 levels" in caught.value.reason
    shallow = {**deep, "input": {"q": _nested(20)}}
    completion = anthropic_to_openai.response(message({"type": "text", "text": "a"}, shallow))
    assert completion["choices"][0]["message"]["provider_specific_fields"]["content_blocks"] == [shallow]


def test_a_streamed_block_whose_input_nests_past_any_limit_is_no_crash() -> None:
    start = block_start(0, {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}})
    fragment = delta(0, {"type": "input_json_delta", "partial_json": "[" * 10_000 + "]" * 10_000})
    stream = anthropic_to_openai.Stream()
    for event in (message_start(), start, fragment):
        stream.feed(event)
    chunks = stream.feed({"type": "content_block_stop", "index": 0})  # the input is kept as the text it came as
    [block] = chunks[0]["choices"][0]["delta"]["provider_specific_fields"]["content_blocks"]
    assert block["input"] == "[" * 10_000 + "]" * 10_000
