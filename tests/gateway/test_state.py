"""gateway/state/: the shared Redis (a real redis-server on a free loopback port or a unix socket), every
call bounded; stored responses shared, kept under the size cap, and never lost while Redis is away."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from protoshift.gateway.state.connection import SharedState, StateUnavailable, StateURL
from protoshift.gateway.state.responses import RedisResponseStore
from protoshift.gateway.store import MemoryStore, StoredResponse
from tests.fakes import free_port
from tests.redis_server import RedisServer


def stored(response_id: str, text: str = "hi") -> StoredResponse:
    response = {"id": response_id, "object": "response", "output": [{"type": "message", "text": text}]}
    return StoredResponse(response_id, response, [{"id": "msg_1", "role": "user", "content": text}], [])


def test_urls_are_checked_and_a_password_is_never_shown() -> None:
    url = StateURL.parse("redis://:s3cret-pw@10.0.0.5:6380/2", env={})
    assert url.shown == "redis://:***@10.0.0.5:6380/2" and "s3cret" not in url.shown
    assert StateURL.parse("unix:///run/redis.sock", env={"PROTOSHIFT_STATE_PASSWORD": "pw"}).password == "pw"
    for bad, why in [
        ("http://127.0.0.1:6379", "expected a redis://, rediss:// or unix:// URL"),
        ("unix://", "needs the socket's path"),
        ("redis://", "names no host"),
        ("redis://h:port/0", "the port is not a number"),
    ]:
        with pytest.raises(ValueError, match=why):
            StateURL.parse(bad, env={})


@pytest.mark.parametrize("unix", [False, True], ids=["tcp", "unix-socket"])
def test_a_conversation_stored_through_one_replica_is_read_through_another(tmp_path: Path, unix: bool) -> None:
    server = RedisServer(tmp_path, unix=unix).start()
    try:

        async def scenario() -> tuple[Any, Any, bool, Any]:
            one = RedisResponseStore(SharedState(StateURL.parse(server.url, env={})), MemoryStore())
            two = RedisResponseStore(SharedState(StateURL.parse(server.url, env={})), MemoryStore())
            await one.put(stored("resp_1", "the first turn"))
            found = await two.get("resp_1")
            deleted = await two.delete("resp_1")
            gone = await one.get("resp_1")
            await one.state.aclose()
            await two.state.aclose()
            return found, gone, deleted, None

        found, gone, deleted, _ = asyncio.run(scenario())
        assert found == stored("resp_1", "the first turn") and deleted and gone is None
    finally:
        server.stop()


def test_past_the_size_cap_the_oldest_go(redis_server: RedisServer) -> None:
    async def scenario() -> list[bool]:
        state = SharedState(StateURL.parse(redis_server.url, env={}))
        store = RedisResponseStore(state, MemoryStore(), max_bytes=1200)
        for n in range(6):  # each about 250 bytes
            await store.put(stored(f"resp_{n}", "x" * 100))
        kept = [await store.get(f"resp_{n}") is not None for n in range(6)]
        total = int(await state.call(lambda redis: redis.get("{protoshift:responses}:bytes")))
        assert total <= 1200
        await state.aclose()
        return kept

    kept = asyncio.run(scenario())
    assert kept[-1] and not kept[0] and kept == sorted(kept)  # the newest stay, the oldest went


def test_a_redis_that_is_gone_fails_at_once_and_nothing_stored_is_lost(tmp_path: Path) -> None:
    """Redis killed: a put lands in the local store and is found there; calls fail at once while it is
    away (no request waits out the timeout each time); once it is back, calls go to it again."""
    server = RedisServer(tmp_path).start()
    events: list[tuple[str, str]] = []

    async def scenario() -> None:
        state = SharedState(
            StateURL.parse(server.url, env={}),
            backoff=0.2,
            on_event=lambda kind, message: events.append((kind, message)),
        )
        store = RedisResponseStore(state, MemoryStore())
        await store.put(stored("resp_before"))
        server.stop()
        await store.put(stored("resp_during"))  # the first call finds it gone
        assert await store.get("resp_during") == stored("resp_during")
        assert not state.healthy and state.failures >= 1
        tried = state.failures
        with pytest.raises(StateUnavailable):
            await state.call(lambda redis: redis.ping())
        assert state.failures == tried  # failed at once, without trying: no wait on a Redis that is gone
        server.start()
        await asyncio.sleep(0.3)  # past the backoff
        await store.put(stored("resp_after"))
        other = RedisResponseStore(SharedState(StateURL.parse(server.url, env={})), MemoryStore())
        assert await other.get("resp_after") == stored("resp_after")  # back: it went to Redis
        await other.state.aclose()
        assert state.healthy
        await state.aclose()

    try:
        asyncio.run(scenario())
    finally:
        server.stop()
    kinds = [kind for kind, _ in events]
    assert kinds == ["state_down", "state_up"]
    assert "127.0.0.1" in events[0][1] and "this replica's own" in events[0][1]


def test_a_slow_redis_is_bounded(tmp_path: Path) -> None:
    """A Redis that accepts but never answers (a listening socket, no server behind): each call ends
    within its timeout, as unavailable."""
    import socket

    port = free_port()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen(8)

        async def scenario() -> None:
            state = SharedState(StateURL.parse(f"redis://127.0.0.1:{port}/0", env={}), timeout=0.2)
            with pytest.raises(StateUnavailable, match="no answer in time"):
                await asyncio.wait_for(state.call(lambda redis: redis.ping()), timeout=10)
            await state.aclose()

        asyncio.run(scenario())
