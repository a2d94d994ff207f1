"""Time limits of one attempt (cloud.deadline): a total like curl's --max-time, and a stream's idle limit that
pings do not reset. Limits here are fractions of a second; what is asserted is which error ends the call."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from protoshift.cloud import APITimeoutError, StreamInterruptedError
from protoshift.cloud.backend import DEFAULT_IDLE_TIMEOUT
from tests.cloud.cloud_helpers import REQUEST, Script, anthropic, chat_client, collect, message, run, sse, stream_events

EVENTS = [b"".join(sse([event])) for event in stream_events(["Hello"])]
START, PING = EVENTS[0], b"".join(sse([{"type": "ping"}]))
DELTA = b"".join(sse([{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}}]))


def paced(parts: list[bytes], every: float, *, then: bytes | None = None, content_type: str = "text/event-stream"):  # type: ignore[no-untyped-def]
    """A response whose body comes in `parts`, one every `every` seconds; with `then`, that part for ever."""

    async def body() -> AsyncIterator[bytes]:
        for part in parts:
            await asyncio.sleep(every)
            yield part
        while then is not None:
            await asyncio.sleep(every)
            yield then

    return lambda request: httpx.Response(200, headers={"content-type": content_type}, content=body())


def test_httpx_times_only_the_connection() -> None:
    timeout = anthropic(Script(httpx.Response(200)), timeout=42.0)._client.timeout
    assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (10.0, None, None, None)


def test_an_answer_that_trickles_in_is_cut_by_the_total_limit() -> None:
    answer = json.dumps(message("slow")).encode()
    script = Script(paced([bytes([b]) for b in answer], 0.02, content_type="application/json"))
    with pytest.raises(APITimeoutError) as info:
        run(chat_client(script, timeout=0.3, max_retries=0).create(REQUEST))
    assert (info.value.limit, info.value.seconds) == ("total", 0.3)
    assert str(info.value) == "anthropic: timed out: no complete answer within 0.3s"
    assert info.value.retryable


def test_pings_do_not_keep_a_stream_alive() -> None:
    got: list[dict[str, Any]] = []
    script = Script(paced([START], 0.0, then=PING))
    with pytest.raises(StreamInterruptedError) as info:
        run(collect(chat_client(script, idle_timeout=0.3, max_retries=0).stream(REQUEST), got))
    assert info.value.error_type == "timeout_error"
    assert "the stream sent no content for 0.3s" in str(info.value)
    assert len(got) == 1  # the role chunk of message_start: given out, and kept


def test_before_any_event_the_idle_limit_is_a_timeout_that_is_retried() -> None:
    script = Script(paced([], 0.05, then=b": keep-alive\n\n"))
    with pytest.raises(APITimeoutError) as info:
        run(collect(chat_client(script, idle_timeout=0.3, max_retries=1).stream(REQUEST)))
    assert info.value.limit == "idle" and len(script.requests) == 2


def test_a_stream_that_keeps_producing_is_cut_only_by_a_total_the_caller_set() -> None:
    endless = Script(paced([*EVENTS[:3]], 0.01, then=DELTA))
    with pytest.raises(StreamInterruptedError) as info:
        run(collect(chat_client(endless, timeout=0.5, idle_timeout=5).stream(REQUEST)))
    assert "no complete answer within 0.5s" in str(info.value)

    long_but_alive = Script(paced([*EVENTS[:3], *([DELTA] * 20), *EVENTS[3:]], 0.04))  # ~1 s, 0.04 s apart
    chunks = run(collect(chat_client(long_but_alive, idle_timeout=0.5).stream(REQUEST)))
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]).count("x") == 20


def test_the_defaults_let_long_generations_work() -> None:
    backend = anthropic(Script(httpx.Response(200)))
    assert backend.timeout is None  # no total for a stream; 600 s for an answer
    assert backend.idle_timeout == DEFAULT_IDLE_TIMEOUT == 600.0
