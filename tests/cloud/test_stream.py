"""Streams: retried until the first chunk is out, never after; partial output stays given out."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from protoshift.cloud import (
    APIConnectionError,
    CircuitBreaker,
    CloudEvent,
    OverloadedError,
    StreamInterruptedError,
)
from tests.cloud.cloud_helpers import (
    REQUEST,
    Clock,
    FakeSleep,
    Script,
    anthropic_error,
    chat_client,
    check_anthropic_body,
    collect,
    run,
    sse,
    sse_response,
    stream_events,
)

STREAM_REQUEST: dict[str, Any] = {**REQUEST, "stream": True}


def text_of(chunks: list[dict[str, Any]]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def error_event(kind: str = "overloaded_error", message: str = "Overloaded") -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def test_stream_yields_chunks_and_sends_a_valid_streaming_body() -> None:
    script = Script(sse_response(sse(stream_events(["Hello", " world"]))))
    chunks = run(collect(chat_client(script).stream(REQUEST)))
    assert text_of(chunks) == "Hello world"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    body = check_anthropic_body(script.bodies[0])
    assert body["stream"] is True
    assert script.requests[0].headers["accept"] == "text/event-stream"


def test_stream_with_bytes_split_anywhere() -> None:
    raw = b"".join(sse(stream_events(["a", "b", "c"])))
    parts = [raw[i : i + 7] for i in range(0, len(raw), 7)]
    chunks = run(collect(chat_client(Script(sse_response(parts))).stream(REQUEST)))
    assert text_of(chunks) == "abc"


def test_chunks_are_given_out_as_they_arrive() -> None:
    """The first chunk reaches the caller before the server has sent the rest."""
    sent: list[int] = []
    parts = sse(stream_events(["one", " two", " three"]))

    async def body() -> Any:
        for i, part in enumerate(parts):
            sent.append(i)
            yield part

    script = Script(httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body()))

    async def first() -> tuple[dict[str, Any], int]:
        async for chunk in chat_client(script).stream(REQUEST):
            return chunk, len(sent)
        raise AssertionError("no chunk")

    chunk, reads = run(first())
    assert chunk["choices"][0]["delta"]["role"] == "assistant"
    assert reads < len(parts)


def test_status_error_before_stream_is_retried() -> None:
    script = Script(anthropic_error(529, "overloaded_error"), sse_response(sse(stream_events(["ok"]))))
    events: list[CloudEvent] = []
    chunks = run(collect(chat_client(script, events).stream(REQUEST)))
    assert text_of(chunks) == "ok"
    assert len(script.requests) == 2
    assert [e.kind for e in events].count("retry") == 1


def test_error_event_before_any_chunk_is_retried_like_a_529() -> None:
    script = Script(sse_response(sse([error_event()])), sse_response(sse(stream_events(["ok"]))))
    events: list[CloudEvent] = []
    chunks = run(collect(chat_client(script, events).stream(REQUEST)))
    assert text_of(chunks) == "ok"
    assert len(script.requests) == 2
    (retry,) = [e.message for e in events if e.kind == "retry"]
    assert retry.startswith("anthropic: 529 overloaded_error, retrying in ")


def test_error_event_before_any_chunk_exhausts_retries_as_overloaded() -> None:
    script = Script(lambda _: sse_response(sse([error_event()])))
    with pytest.raises(OverloadedError) as info:
        run(collect(chat_client(script).stream(REQUEST)))
    assert len(script.requests) == 3
    assert info.value.allows_fallback


def test_cut_before_any_chunk_is_retried() -> None:
    script = Script(
        sse_response([httpx.RemoteProtocolError("peer closed connection")]),
        sse_response(sse(stream_events(["ok"]))),
    )
    assert text_of(run(collect(chat_client(script).stream(REQUEST)))) == "ok"
    assert len(script.requests) == 2


def test_empty_body_before_any_chunk_is_a_retryable_connection_error() -> None:
    script = Script(lambda _: sse_response([]))
    with pytest.raises(APIConnectionError):
        run(collect(chat_client(script, max_retries=1).stream(REQUEST)))
    assert len(script.requests) == 2


def test_error_event_mid_stream_keeps_earlier_chunks_and_is_not_retried() -> None:
    events = [*stream_events(["Hello", " wor"])[:4], error_event()]
    script = Script(sse_response(sse(events)), sse_response(sse(stream_events(["never"]))))
    got: list[dict[str, Any]] = []
    sleep = FakeSleep()
    with pytest.raises(StreamInterruptedError) as info:
        run(collect(chat_client(script, sleep=sleep).stream(REQUEST), got))
    assert text_of(got) == "Hello"
    assert len(script.requests) == 1
    assert sleep.delays == []
    err = info.value
    assert err.error_type == "overloaded_error"
    assert not err.allows_fallback and err.trips_breaker and err.kind == "stream_interrupted"
    assert str(err).startswith("anthropic: stream interrupted: overloaded_error: Overloaded (request req_stream)")


def test_error_event_in_the_same_read_as_good_events_keeps_them() -> None:
    events = [*stream_events(["Hello", " there"])[:5], error_event("api_error", "Internal")]
    script = Script(sse_response([b"".join(sse(events))]))
    got: list[dict[str, Any]] = []
    with pytest.raises(StreamInterruptedError):
        run(collect(chat_client(script).stream(REQUEST), got))
    assert text_of(got) == "Hello there"


def test_connection_cut_after_first_chunk_is_interrupted_not_retried() -> None:
    parts: list[bytes | Exception] = [*sse(stream_events(["Hel", "lo"])[:4]), httpx.ReadError("connection reset")]
    script = Script(sse_response(parts), sse_response(sse(stream_events(["never"]))))
    got: list[dict[str, Any]] = []
    with pytest.raises(StreamInterruptedError) as info:
        run(collect(chat_client(script).stream(REQUEST), got))
    assert text_of(got) == "Hel"
    assert len(script.requests) == 1
    assert info.value.error_type == "connection_error"
    assert "connection reset" in str(info.value)


def test_stream_ending_without_message_stop_is_interrupted() -> None:
    script = Script(sse_response(sse(stream_events(["half"])[:5])))
    got: list[dict[str, Any]] = []
    with pytest.raises(StreamInterruptedError) as info:
        run(collect(chat_client(script).stream(REQUEST), got))
    assert text_of(got) == "half"
    assert len(script.requests) == 1
    assert info.value.trips_breaker


@pytest.mark.parametrize(("error_type", "scope"), [("overloaded_error", "model"), ("api_error", "host")])
def test_mid_stream_overload_counts_for_the_model_and_a_server_error_for_the_host(error_type: str, scope: str) -> None:
    breaker = CircuitBreaker("anthropic", clock=Clock(), failure_threshold=2)
    events = [*stream_events(["x"])[:4], error_event(error_type)]
    script = Script(lambda _: sse_response(sse(events)))
    client = chat_client(script, breaker=breaker)
    for _ in range(2):
        with pytest.raises(StreamInterruptedError):
            run(collect(client.stream(REQUEST)))
    breakers = client.backend.breakers
    assert breakers is not None
    model = breakers.model(REQUEST["model"])
    assert (breaker.state(), model.state()) == (("closed", "open") if scope == "model" else ("open", "closed"))


def test_mid_stream_invalid_request_error_does_not_count_for_the_breaker() -> None:
    breaker = CircuitBreaker("anthropic", clock=Clock(), failure_threshold=1)
    events = [*stream_events(["x"])[:4], error_event("invalid_request_error", "bad")]
    script = Script(sse_response(sse(events)))
    with pytest.raises(StreamInterruptedError):
        run(collect(chat_client(script, breaker=breaker).stream(REQUEST)))
    assert breaker.state() == "closed"


def test_invalid_json_in_stream_is_a_clean_error() -> None:
    script = Script(sse_response([b"event: message_start\ndata: {nope\n\n"]))
    with pytest.raises(Exception, match="the provider sent an event that is not JSON") as info:
        run(collect(chat_client(script).stream(REQUEST)))
    assert info.value.kind == "bad_response"
    assert len(script.requests) == 1


def test_caller_stopping_early_releases_a_probe() -> None:
    clock = Clock()
    breaker = CircuitBreaker("anthropic", clock=clock, failure_threshold=1, cooldown=1)
    breaker.failure(breaker.acquire())
    clock.now += 1
    script = Script(sse_response(sse(stream_events(["a", "b"]))))

    async def take_one() -> None:
        stream = chat_client(script, breaker=breaker).stream(REQUEST)
        async for _ in stream:
            break
        await stream.aclose()  # type: ignore[attr-defined]

    run(take_one())
    assert breaker.state() == "closed"  # the first chunk proved the server is back


def test_include_usage_gives_a_usage_chunk() -> None:
    script = Script(sse_response(sse(stream_events(["a"]))))
    chunks = run(collect(chat_client(script).stream({**REQUEST, "stream_options": {"include_usage": True}})))
    assert chunks[-1]["usage"]["completion_tokens"] == 2
    assert json.loads(script.requests[0].content)["stream"] is True
