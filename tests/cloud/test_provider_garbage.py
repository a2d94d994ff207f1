"""Answers a provider should never send: a `ResponseFormatError` saying "the provider sent ..." and what
was wrong; after output began, a `StreamInterruptedError` with the same words. Never a crash, never
garbage passed on. (Issue 9, item 6.)"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from protoshift.cloud import ResponseFormatError, StreamInterruptedError
from tests.cloud.cloud_helpers import (
    REQUEST,
    Script,
    chat_client,
    collect,
    message,
    openai_chat_client,
    run,
    sse,
    sse_response,
    stream_events,
)


def chunk(**delta: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-test",
        "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
    }


def data(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


@pytest.mark.parametrize(
    ("bad", "said"),
    [
        ({**chunk(), "choices": [None]}, "invalid chunk: choices[0]: expected an object, got null"),
        ({**chunk(), "choices": 5}, "invalid chunk: choices: expected an array, got a number"),
        (chunk(content=5), "invalid chunk: choices[0].delta.content: expected a string, got a number"),
        (
            chunk(tool_calls=[{"index": "0"}]),
            "invalid chunk: choices[0].delta.tool_calls[0].index: expected an integer",
        ),
        ({**chunk(), "usage": {"total_tokens": "12"}}, "invalid chunk: usage.total_tokens: expected an integer"),
    ],
)
def test_an_openai_chunk_of_the_wrong_shape_is_named_before_and_after_output(bad: dict[str, Any], said: str) -> None:
    first = Script(sse_response([data(bad), b"data: [DONE]\n\n"]))
    with pytest.raises(ResponseFormatError) as before:
        run(collect(openai_chat_client(first).stream(REQUEST)))
    assert f"the provider sent an {said}" in str(before.value)

    later = Script(sse_response([data(chunk(content="fine")), data(bad), b"data: [DONE]\n\n"]))
    got: list[dict[str, Any]] = []
    with pytest.raises(StreamInterruptedError) as after:
        run(collect(openai_chat_client(later).stream(REQUEST), got))
    assert [c["choices"][0]["delta"]["content"] for c in got] == ["fine"]  # what came before is kept
    assert said in str(after.value)
    assert len(later.requests) == 1  # a stream that began is never sent again


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        ({"object": "chat.completion", "choices": [None]}, "choices[0]: expected an object, got null"),
        ({"object": "chat.completion", "choices": 5}, "choices: expected an array, got a number"),
        (
            {"object": "chat.completion", "choices": [{"index": 0, "message": {"content": 5}}]},
            "choices[0].message.content: expected a string, got a number",
        ),
        ({"object": "chat.completion"}, "choices: is required"),
    ],
)
def test_an_openai_completion_of_the_wrong_shape_is_named(answer: dict[str, Any], said: str) -> None:
    with pytest.raises(ResponseFormatError) as info:
        run(openai_chat_client(Script(httpx.Response(200, json=answer))).create(REQUEST))
    assert f"the provider sent an invalid chat.completion: {said}" in str(info.value)


def raw_json(text: str, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=text.encode(), headers={"content-type": "application/json"})


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (json.dumps(message("x")).replace('"x"', '"a\\ud800"'), "not JSON (application/json: a lone surrogate"),
        (json.dumps(message("x")).replace('"x"', '"a\\udc00b"'), "not JSON (application/json: a lone surrogate"),
        (json.dumps(message("x")).replace('"input_tokens": 5', '"input_tokens": NaN'), "not JSON"),
        ("[" * 5000 + "]" * 5000, "not JSON (application/json: recursion limit exceeded"),
    ],
)
def test_an_anthropic_message_that_is_not_plain_json_is_named(body: str, said: str) -> None:
    with pytest.raises(ResponseFormatError) as info:
        run(chat_client(Script(raw_json(body))).create(REQUEST))
    assert "the provider sent a" in str(info.value) and said in str(info.value)


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ([{"type": "text", "text": 5}], "content[0].text: expected a string, got a number"),
        ("nope", "content: expected an array, got a string"),
    ],
)
def test_an_anthropic_message_of_the_wrong_shape_is_named(content: Any, said: str) -> None:
    script = Script(httpx.Response(200, json={**message("x"), "content": content}))
    with pytest.raises(ResponseFormatError) as info:
        run(chat_client(script).create(REQUEST))
    assert str(info.value) == f"anthropic: the provider sent an invalid message: {said}"
    assert len(script.requests) == 1


def test_an_anthropic_event_index_of_the_wrong_type_is_named_after_the_text_before_it() -> None:
    events = stream_events(["Hello"])
    events.insert(4, {"type": "content_block_delta", "index": [0], "delta": {"type": "text_delta", "text": "x"}})
    got: list[dict[str, Any]] = []
    with pytest.raises(StreamInterruptedError) as info:
        run(collect(chat_client(Script(sse_response(sse(events)))).stream(REQUEST), got))
    assert "the provider sent an invalid content_block_delta event: index: expected an integer" in str(info.value)
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in got) == "Hello"


def test_an_error_body_nested_too_deep_is_still_the_status_it_came_with() -> None:
    script = Script(raw_json('{"error": ' + "[" * 5000 + "]" * 5000 + "}", status=503))
    with pytest.raises(Exception) as info:
        run(chat_client(script, max_retries=0).create(REQUEST))
    assert "503" in str(info.value)


def test_an_error_message_with_a_lone_surrogate_can_be_printed_and_written_as_json() -> None:
    body = '{"type": "error", "error": {"type": "api_error", "message": "bad \\udc80 news"}, "request_id": "r\\ud800"}'
    with pytest.raises(Exception) as info:
        run(chat_client(Script(raw_json(body, status=500)), max_retries=0).create(REQUEST))
    text = str(info.value)
    assert "bad \\udc80 news" in text and "r\\ud800" in text
    json.dumps({"message": text}, ensure_ascii=False).encode()
