"""The OpenAI-compatible passthrough, and the offline mock through the real Anthropic path."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from protoshift.cloud import MockBackend, ResponseFormatError, StreamInterruptedError, create_backend, create_client
from tests.cloud.cloud_helpers import (
    OPENAI_BASE,
    REQUEST,
    Script,
    chat,
    check_completion,
    collect,
    messages,
    openai_chat_client,
    run,
    sse_response,
)


def chunk(content: str | None = None, finish: str | None = None) -> dict[str, Any]:
    delta = {"content": content} if content is not None else {}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def data(obj: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def test_openai_complete_passthrough_with_model_override() -> None:
    answer = {"id": "x", "object": "chat.completion", "created": 1, "model": "m", "choices": []}
    script = Script(httpx.Response(200, json=answer))
    client = openai_chat_client(script, model="gpt-4o-mini")
    assert run(client.create({**REQUEST, "stream": True})) == answer
    assert str(script.requests[0].url) == f"{OPENAI_BASE}/chat/completions"
    body = script.bodies[0]
    assert body["model"] == "gpt-4o-mini" and "stream" not in body


def test_openai_stream_passthrough_stops_at_done() -> None:
    parts = [
        data(chunk("Hel")),
        data(chunk("lo")),
        data(chunk(finish="stop")),
        b"data: [DONE]\n\n",
        data(chunk("after")),
    ]
    script = Script(sse_response(parts))
    chunks = run(collect(openai_chat_client(script).stream(REQUEST)))
    assert [c["choices"][0]["delta"].get("content") for c in chunks] == ["Hel", "lo", None]
    assert script.bodies[0]["stream"] is True


@pytest.mark.parametrize("api", ["chat", "messages"])
def test_a_stream_with_nothing_in_it_is_the_providers_failure(api: str) -> None:
    """`data: [DONE]` and nothing else: no answer at all, said as such whatever API the caller speaks
    (not an empty answer, nor a complaint about a cut connection)."""
    script = Script(sse_response([b"data: [DONE]\n\n"]))
    backend = openai_chat_client(script).backend
    client = chat(backend) if api == "chat" else messages(backend)
    request = REQUEST if api == "chat" else {**REQUEST, "max_tokens": 10}
    with pytest.raises(ResponseFormatError, match="the provider's stream was empty"):
        run(collect(client.stream(request)))
    assert len(script.bodies) == 1, "not retried: the provider answered"


def test_openai_stream_error_object_mid_stream() -> None:
    error = {"error": {"message": "server overloaded", "type": "server_error"}}
    script = Script(sse_response([data(chunk("Hel")), data(error)]))
    got: list[dict[str, Any]] = []
    with pytest.raises(StreamInterruptedError, match="server overloaded") as info:
        run(collect(openai_chat_client(script).stream(REQUEST), got))
    assert len(got) == 1 and info.value.error_type == "server_error"


def test_openai_stream_without_done_but_finished_is_accepted() -> None:
    script = Script(sse_response([data(chunk("a")), data(chunk(finish="stop"))]))
    assert len(run(collect(openai_chat_client(script).stream(REQUEST)))) == 2


def test_openai_stream_cut_without_finish_is_interrupted() -> None:
    script = Script(sse_response([data(chunk("a"))]))
    with pytest.raises(StreamInterruptedError):
        run(collect(openai_chat_client(script).stream(REQUEST)))


def test_openai_retries_like_anthropic() -> None:
    answer = {"id": "x", "object": "chat.completion", "choices": []}
    script = Script(httpx.Response(503, text="busy"), httpx.Response(200, json=answer))
    assert run(openai_chat_client(script).create(REQUEST)) == answer
    assert len(script.requests) == 2


# -- mock --------------------------------------------------------------------------------------------


def mock_complete(request: dict[str, Any]) -> dict[str, Any]:
    return check_completion(run(chat(MockBackend()).create(request)))


def mock_stream(request: dict[str, Any]) -> list[dict[str, Any]]:
    return run(collect(chat(MockBackend()).stream(request)))


def test_mock_echoes_the_last_user_message() -> None:
    request = {
        "model": "claude-x",
        "messages": [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "hello big world"},
        ],
    }
    completion = mock_complete(request)
    assert completion["choices"][0]["message"]["content"] == "You said: hello big world"
    assert completion["model"] == "claude-x"
    assert completion["choices"][0]["finish_reason"] == "stop"
    assert completion["usage"]["completion_tokens"] == 5
    assert completion == mock_complete(request) | {"created": completion["created"]}  # deterministic


def test_mock_streams_one_word_per_chunk() -> None:
    chunks = mock_stream({**REQUEST, "messages": [{"role": "user", "content": "a b c"}]})
    words = [
        c["choices"][0]["delta"]["content"] for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")
    ]
    assert words == ["You", " said:", " a", " b", " c"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_mock_honours_max_tokens_and_stop() -> None:
    capped = mock_complete(
        {**REQUEST, "messages": [{"role": "user", "content": "one two three four"}], "max_tokens": 3}
    )
    assert capped["choices"][0]["message"]["content"] == "You said: one"
    assert capped["choices"][0]["finish_reason"] == "length"
    stopped = mock_complete(
        {**REQUEST, "messages": [{"role": "user", "content": "one two STOP three"}], "stop": ["STOP"]}
    )
    assert stopped["choices"][0]["message"]["content"] == "You said: one two"
    assert stopped["choices"][0]["finish_reason"] == "stop"


def test_mock_calls_a_forced_tool_with_required_placeholders() -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "unit": {"enum": ["c", "f"]}},
                "required": ["city", "days", "unit"],
            },
        },
    }
    request = {**REQUEST, "tools": [tool], "tool_choice": "required"}
    completion = mock_complete(request)
    (call,) = completion["choices"][0]["message"]["tool_calls"]
    assert call["function"]["name"] == "weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "mock", "days": 0, "unit": "c"}
    assert completion["choices"][0]["finish_reason"] == "tool_calls"
    chunks = mock_stream({**request, "tool_choice": {"type": "function", "function": {"name": "weather"}}})
    args = "".join(
        tc["function"].get("arguments") or ""
        for c in chunks
        if c["choices"]
        for tc in c["choices"][0]["delta"].get("tool_calls") or []
    )
    assert json.loads(args) == {"city": "mock", "days": 0, "unit": "c"}


def test_mock_needs_no_key_or_network_and_is_built_by_name() -> None:
    backend = create_backend("mock")
    assert isinstance(backend, MockBackend)
    assert run(chat(backend).create({"messages": [{"role": "user", "content": "hi"}]}))["model"] == "claude-mock-1"
    client = create_client("mock")
    (mock,) = client.backends()
    assert isinstance(mock, MockBackend) and client.api == "chat"
    assert run(client.create({"messages": [{"role": "user", "content": "hi"}]}))["model"] == "claude-mock-1"
