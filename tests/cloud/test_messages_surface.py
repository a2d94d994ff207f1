"""An Anthropic Messages client of every backend (issues 14 and 18): `create`, `stream`, `count_tokens`.

To an AnthropicBackend (and the mock) the client passes through to /v1/messages with the same retry loop,
breaker and errors; to an OpenAIBackend it translates both ways; `client_for` chains them with fallback
as it chains Chat Completions clients."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from protoshift.cloud import (
    APIConnectionError,
    Call,
    CircuitBreaker,
    FallbackExceptionGroup,
    InvalidRequestError,
    MemoryStore,
    MockBackend,
    OverloadedError,
    ResponseFormatError,
    ServerError,
    StreamInterruptedError,
    TokenCount,
    client_for,
)
from protoshift.cloud.events import CloudEvent
from protoshift.translator import TranslationError
from tests.cloud.cloud_helpers import (
    KEY,
    OPENAI_KEY,
    FakeSleep,
    Script,
    anthropic,
    anthropic_error,
    message,
    messages,
    openai_backend,
    run,
    sse,
    sse_response,
    stream_events,
)
from tests.oracles import (
    accumulate_anthropic_events,
    assert_anthropic_event_sequence,
    assert_openai_body,
    validate_anthropic_message_closed,
)

BODY: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 100,
    "messages": [{"role": "user", "content": "Hi"}],
}


async def events_of(stream: AsyncIterator[dict[str, Any]]) -> list[dict[str, Any]]:
    return [event async for event in stream]


def completion(content: str = "Hello!", **usage: int) -> dict[str, Any]:
    return {
        "id": "chatcmpl-xyz",
        "object": "chat.completion",
        "created": 1,
        "model": "llama3.2",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15, **usage},
    }


def chunk(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> bytes:
    body: dict[str, Any] = {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "model": "llama3.2"}
    body["choices"] = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return b"data: " + json.dumps({**body, **extra}).encode() + b"\n\n"


# ---- AnthropicBackend: a pass-through ---------------------------------------------------------------


def test_create_passes_the_request_through_with_the_callers_betas() -> None:
    script = Script(httpx.Response(200, json=message("Hi there")))
    client = messages(anthropic(script))
    answer = run(client.create({**BODY, "stream": True, "top_k": 3}, Call(betas=["interleaved-thinking-2025-05-14"])))
    assert answer == message("Hi there")
    sent = script.requests[0]
    assert str(sent.url).endswith("/v1/messages")
    assert sent.headers["x-api-key"] == KEY and sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert script.bodies[0] == {**BODY, "top_k": 3}  # as sent, `stream` aside: no translation


def test_a_beta_that_is_no_beta_name_never_reaches_a_header() -> None:
    script = Script(httpx.Response(200, json=message()))
    run(messages(anthropic(script)).create(BODY, Call(betas=["ok-2025-01-01", "evil\r\nx-injected: 1", ""])))
    assert script.requests[0].headers["anthropic-beta"] == "ok-2025-01-01"
    assert "x-injected" not in script.requests[0].headers


def test_create_retries_on_529_then_answers() -> None:
    sleep = FakeSleep()
    script = Script(anthropic_error(529, "overloaded_error"), httpx.Response(200, json=message()))
    assert run(messages(anthropic(script, sleep=sleep, max_retries=2)).create(BODY))["type"] == "message"
    assert len(script.requests) == 2 and len(sleep.delays) == 1
    assert script.requests[0].headers["idempotency-key"] == script.requests[1].headers["idempotency-key"]


def test_an_upstream_400_is_the_same_typed_error() -> None:
    script = Script(anthropic_error(400, "invalid_request_error", "max_tokens: too large"))
    with pytest.raises(InvalidRequestError, match="max_tokens: too large"):
        run(messages(anthropic(script)).create(BODY))


def test_stream_passes_every_event_through_and_ends_at_message_stop() -> None:
    events = stream_events(["Hel", "lo"])
    script = Script(sse_response(sse(events)))
    got = run(
        events_of(messages(anthropic(script)).stream(BODY, Call(betas=["fine-grained-tool-streaming-2025-05-14"])))
    )
    assert got == events
    assert script.bodies[0]["stream"] is True
    assert script.requests[0].headers["accept"] == "text/event-stream"
    assert script.requests[0].headers["anthropic-beta"] == "fine-grained-tool-streaming-2025-05-14"


def test_an_error_event_before_any_output_is_retried_and_after_it_interrupts() -> None:
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    script = Script(sse_response(sse([error])), sse_response(sse(stream_events())))
    got = run(events_of(messages(anthropic(script, max_retries=1)).stream(BODY)))
    assert got[-1] == {"type": "message_stop"} and len(script.requests) == 2

    script = Script(sse_response(sse([*stream_events()[:4], error])))
    given: list[dict[str, Any]] = []

    async def consume() -> None:
        async for event in messages(anthropic(script, max_retries=2)).stream(BODY):
            given.append(event)

    with pytest.raises(StreamInterruptedError, match="overloaded_error"):
        run(consume())
    assert [e["type"] for e in given] == ["message_start", "ping", "content_block_start", "content_block_delta"]
    assert len(script.requests) == 1  # nothing retried once output began


def test_a_stream_cut_before_message_stop_is_an_error() -> None:
    script = Script(sse_response(sse(stream_events()[:4])))
    with pytest.raises(StreamInterruptedError):
        run(events_of(messages(anthropic(script, max_retries=0)).stream(BODY)))


def test_count_tokens_sends_only_the_fields_the_endpoint_takes() -> None:
    script = Script(httpx.Response(200, json={"input_tokens": 42}))
    body = {**BODY, "stream": True, "temperature": 0.5, "system": "Be brief.", "tools": []}
    assert run(messages(anthropic(script)).count_tokens(body)) == TokenCount(42, exact=True)
    assert str(script.requests[0].url).endswith("/v1/messages/count_tokens")
    assert script.bodies[0] == {
        "model": BODY["model"],
        "messages": BODY["messages"],
        "system": "Be brief.",
        "tools": [],
    }


def test_count_tokens_without_a_count_is_a_response_format_error() -> None:
    script = Script(httpx.Response(200, json={"tokens": 3}))
    with pytest.raises(ResponseFormatError, match="input_tokens"):
        run(messages(anthropic(script)).count_tokens(BODY))


def test_the_breaker_counts_the_pass_through_like_any_call() -> None:
    breaker = CircuitBreaker("anthropic", MemoryStore(), failure_threshold=1, cooldown=60)
    script = Script(anthropic_error(500, "api_error"))
    client = messages(anthropic(script, breaker=breaker, max_retries=0))
    with pytest.raises(ServerError):
        run(client.create(BODY))
    assert breaker.state() == "open"


# ---- the mock inherits the pass-through -------------------------------------------------------------


def test_the_mock_answers_messages_streams_and_counts() -> None:
    async def go() -> tuple[dict[str, Any], list[dict[str, Any]], TokenCount]:
        async with MockBackend() as mock:
            client = messages(mock)
            answer = await client.create(BODY)
            events = await events_of(client.stream(BODY))
            count = await client.count_tokens(BODY)
            return answer, events, count

    answer, events, count = run(go())
    validate_anthropic_message_closed(answer)
    assert answer["content"][0]["text"] == "You said: Hi"
    assert_anthropic_event_sequence(events)
    assert accumulate_anthropic_events(events).content[0].text == "You said: Hi"  # type: ignore[union-attr]
    assert count == TokenCount(1, exact=True)


# ---- OpenAIBackend: through the translator ----------------------------------------------------------


def test_openai_create_translates_both_ways_and_reports_lossy_notes() -> None:
    script = Script(httpx.Response(200, json=completion("Bonjour", prompt_tokens_details={"cached_tokens": 4})))
    seen: list[CloudEvent] = []
    call = Call()
    answer = run(messages(openai_backend(script, seen)).create({**BODY, "top_k": 5, "system": "Be brief."}, call))
    validate_anthropic_message_closed(answer)
    assert answer["content"] == [{"type": "text", "text": "Bonjour"}]
    assert answer["usage"]["input_tokens"] == 8 and answer["usage"]["cache_read_input_tokens"] == 4
    sent = script.bodies[0]
    assert_openai_body(sent)
    assert sent["model"] == "claude-sonnet-4-5"  # the caller's name goes through: aliases decide, not the backend
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert script.requests[0].headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert [e.message for e in seen if e.kind == "note"] == ["top_k: dropped: OpenAI has no top_k"]
    assert [str(note) for note in call.notes] == ["top_k: dropped: OpenAI has no top_k"]  # and for the caller


def test_openai_model_override_and_table_apply_before_translation() -> None:
    script = Script(httpx.Response(200, json=completion()))
    run(messages(openai_backend(script, model="gpt-4.1-mini")).create({**BODY, "max_tokens": 64000}))
    assert script.bodies[0]["model"] == "gpt-4.1-mini" and script.bodies[0]["max_tokens"] == 32768


def test_openai_untranslatable_request_is_a_translation_error_and_nothing_is_sent() -> None:
    script = Script(httpx.Response(200, json=completion()))
    bad = {**BODY, "tool_choice": {"type": "tool", "name": "nowhere"}}
    with pytest.raises(TranslationError, match=r"tool_choice"):
        run(messages(openai_backend(script)).create(bad))
    assert script.requests == []


def test_openai_answer_with_broken_arguments_is_a_response_format_error() -> None:
    broken = completion()
    broken["choices"][0]["message"] = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{oops"}}],
    }
    script = Script(httpx.Response(200, json=broken))
    with pytest.raises(ResponseFormatError) as info:
        run(messages(openai_backend(script)).create(BODY))
    assert str(info.value).startswith(
        "openai: the answer cannot be an Anthropic message: choices[0].message.tool_calls[0]"
    )
    assert "not valid JSON" in str(info.value)


def test_openai_stream_gives_anthropic_events_as_chunks_arrive() -> None:
    parts = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hel"}),
        chunk({"content": "lo"}),
        chunk({}, "stop"),
        chunk(None, usage={"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}),
        b"data: [DONE]\n\n",
    ]
    script = Script(sse_response(parts))
    events = run(events_of(messages(openai_backend(script)).stream(BODY)))
    assert_anthropic_event_sequence(events)
    message = accumulate_anthropic_events(events)
    assert message.content[0].text == "Hello"  # type: ignore[union-attr]
    assert (message.usage.input_tokens, message.usage.output_tokens) == (9, 2)
    sent = script.bodies[0]
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}


def test_openai_stream_error_object_before_output_is_retried_like_its_status() -> None:
    error = b'data: {"error": {"message": "busy", "type": "overloaded_error"}}\n\n'
    script = Script(sse_response([error]), sse_response([chunk({"content": "ok"}), chunk({}, "stop")]))
    events = run(events_of(messages(openai_backend(script, max_retries=1)).stream(BODY)))
    assert events[-1]["type"] == "message_stop" and len(script.requests) == 2


def test_openai_stream_error_inside_a_chunk_after_output_interrupts() -> None:
    # OpenRouter's shape: the error in a chunk of its own kind, finish_reason "error"
    late = chunk({"content": ""}, "error", error={"code": 502, "message": "Provider returned error"})
    script = Script(sse_response([chunk({"content": "partial"}), late]))
    with pytest.raises(StreamInterruptedError, match="Provider returned error"):
        run(events_of(messages(openai_backend(script)).stream(BODY)))


def test_openai_count_tokens_is_an_estimate_that_says_so() -> None:
    script = Script(httpx.Response(404))
    client = messages(openai_backend(script))
    short = run(client.count_tokens({"model": "m", "messages": [{"role": "user", "content": "Hi"}]}))
    long = run(client.count_tokens({"model": "m", "messages": [{"role": "user", "content": "word " * 400}]}))
    assert short.exact is False and long.exact is False
    assert 0 < short.input_tokens < 20 and 450 < long.input_tokens < 550
    # the server was asked once for /tokenize (vLLM's); it has none: not asked again
    assert [str(r.url) for r in script.requests] == ["https://api.openai.test/tokenize"]


def test_openai_count_tokens_failing_now_is_an_estimate_at_once() -> None:
    script = Script(httpx.Response(503), httpx.Response(200, json={"count": 7, "max_model_len": 4096, "tokens": []}))
    client = messages(openai_backend(script))
    body = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}
    assert run(client.count_tokens(body)).exact is False  # no retry, no wait: a count is not worth one
    assert run(client.count_tokens(body)) == TokenCount(7, exact=True)  # a 5xx is now, not for good


# ---- a chain (FallbackClient): the same fallback ------------------------------------------------------------------


def test_fallback_moves_on_before_output_for_messages_streams_and_counts() -> None:
    down = Script(anthropic_error(529, "overloaded_error"))
    up = Script(
        httpx.Response(200, json=completion("from openai")),
        sse_response([chunk({"content": "x"}), chunk({}, "stop"), b"data: [DONE]\n\n"]),
        httpx.Response(404),  # /tokenize: none here
    )
    seen: list[CloudEvent] = []
    chain = client_for(
        "messages", [(anthropic(down, max_retries=0), None), (openai_backend(up), "llama3.2")], on_event=seen.append
    )
    answer = run(chain.create(BODY))
    assert answer["content"][0]["text"] == "from openai"
    assert up.bodies[0]["model"] == "llama3.2"
    events = run(events_of(chain.stream(BODY)))
    assert events[-1]["type"] == "message_stop"
    assert run(chain.count_tokens(BODY)).exact is False
    assert [e.kind for e in seen] == ["fallback", "fallback", "fallback"]


def test_fallback_does_not_move_on_for_an_invalid_request_and_groups_failures() -> None:
    bad = Script(anthropic_error(400, "invalid_request_error"))
    other = Script(httpx.Response(200, json=completion()))
    chain = client_for("messages", [(anthropic(bad), None), (openai_backend(other), None)])
    with pytest.raises(InvalidRequestError):
        run(chain.create(BODY))
    assert other.requests == []
    chain = client_for(
        "messages",
        [
            (anthropic(Script(anthropic_error(529, "overloaded_error")), max_retries=0), None),
            (anthropic(Script(anthropic_error(529, "overloaded_error")), max_retries=0), None),
        ],
    )
    with pytest.raises(FallbackExceptionGroup) as info:
        run(chain.create(BODY))
    assert all(isinstance(e, OverloadedError) for e in info.value.exceptions)


def test_an_answer_cut_before_its_body_is_a_connection_error_and_retried() -> None:
    """A 200 whose body never came (a connection dropped after the head) is no "answer that is not JSON":
    it is retried like any cut connection, and said as one when it keeps happening."""
    script = Script(httpx.Response(200, content=b""), httpx.Response(200, json=completion("after all")))
    answer = run(messages(openai_backend(script)).create(BODY))
    assert answer["content"][0]["text"] == "after all" and len(script.requests) == 2
    always = Script(httpx.Response(200, content=b""))
    with pytest.raises(APIConnectionError, match="ended before its body"):
        run(messages(openai_backend(always, max_retries=0)).create(BODY))
