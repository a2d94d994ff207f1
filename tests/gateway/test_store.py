"""Stored responses: one contract, three stores — in memory, the SQLite file `serve` keeps (shared by its
workers), and the shared Redis of several replicas (a real redis-server)."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from protoshift.gateway.state.connection import SharedState, StateURL
from protoshift.gateway.state.responses import RedisResponseStore
from protoshift.gateway.store import MemoryStore, ResponseStore, SQLiteStore, StoredResponse
from tests.redis_server import RedisServer

MakeStore = Callable[..., ResponseStore]


def stored(response_id: str, text: str = "hi") -> StoredResponse:
    response = {"id": response_id, "object": "response", "output": [{"type": "message", "text": text}]}
    return StoredResponse(response_id, response, [{"id": "msg_1", "role": "user", "content": text}], [])


@pytest.fixture(params=["memory", "sqlite", "redis"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeStore]:
    made: list[ResponseStore] = []
    server = RedisServer(tmp_path).start() if request.param == "redis" else None

    def make(**limits: Any) -> ResponseStore:
        if request.param == "memory":
            store: ResponseStore = MemoryStore(**limits)
        elif request.param == "sqlite":
            store = SQLiteStore(tmp_path / "responses.sqlite3", **limits)
        else:
            assert server is not None
            # patient: a call past 250 ms on a loaded machine would put the response in the local store instead
            state = SharedState(StateURL.parse(server.url, env={}), timeout=20.0)
            store = RedisResponseStore(state, MemoryStore(), **limits)
        made.append(store)
        return store

    yield make
    for store in made:
        asyncio.run(_closed(store))
    if server is not None:
        server.stop()


async def _closed(store: ResponseStore) -> None:
    await store.aclose()
    if isinstance(store, RedisResponseStore):
        await store.state.aclose()


def test_put_get_replace_delete(make_store: MakeStore) -> None:
    async def scenario(store: ResponseStore) -> None:
        assert await store.get("resp_1") is None
        await store.put(stored("resp_1", "first"))
        await store.put(stored("resp_1", "again"))  # the same id: replaced
        assert await store.get("resp_1") == stored("resp_1", "again")
        assert await store.delete("resp_1") and not await store.delete("resp_1")
        assert await store.get("resp_1") is None

    asyncio.run(scenario(make_store()))


def test_past_the_cap_the_oldest_go_and_the_count_stays_right_through_replacements(make_store: MakeStore) -> None:
    async def scenario(store: ResponseStore) -> list[bool]:
        for _ in range(3):  # replacing the same ids must not inflate the running total
            for n in range(4):
                await store.put(stored(f"resp_{n}", "x" * 100))
        for n in range(4, 8):
            await store.put(stored(f"resp_{n}", "x" * 100))
        return [await store.get(f"resp_{n}") is not None for n in range(8)]

    kept = asyncio.run(scenario(make_store(max_bytes=1200)))  # about four of them fit
    assert kept == sorted(kept) and kept[-1] and not kept[0]
    assert 3 <= sum(kept) <= 5, kept


def test_an_expired_response_is_gone(make_store: MakeStore) -> None:
    async def scenario(store: ResponseStore) -> StoredResponse | None:
        await store.put(stored("resp_old"))
        await asyncio.sleep(1.2)
        return await store.get("resp_old")

    assert asyncio.run(scenario(make_store(expiry=1.0))) is None


def test_the_sqlite_file_is_private_and_shared_by_the_workers(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite3"

    async def scenario() -> StoredResponse | None:
        one, two = SQLiteStore(path), SQLiteStore(path)  # two workers, one file
        await one.put(stored("resp_1"))
        found = await two.get("resp_1")
        await one.aclose()
        await two.aclose()
        return found

    assert asyncio.run(scenario()) == stored("resp_1")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_puts_at_once_are_each_there_the_moment_each_is_awaited(make_store: MakeStore) -> None:
    """The SQLite store commits the puts waiting together: each caller still waits for its own."""

    async def scenario(store: ResponseStore) -> None:
        async def turn(n: int) -> None:
            await store.put(stored(f"resp_{n}", f"turn {n}"))
            assert await store.get(f"resp_{n}") == stored(f"resp_{n}", f"turn {n}")

        await asyncio.gather(*(turn(n) for n in range(64)))
        assert await store.delete("resp_3") and await store.get("resp_3") is None

    asyncio.run(scenario(make_store()))


def test_a_file_of_the_first_layout_is_read_on(tmp_path: Path) -> None:
    """Three JSON columns a row (the first layout): joined into one, each response still there."""
    import sqlite3
    import time

    from pydantic_core import to_json

    path = tmp_path / "responses.sqlite3"
    old = stored("resp_1", "kept")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(
        "CREATE TABLE responses (id TEXT PRIMARY KEY, stored REAL NOT NULL, size INTEGER NOT NULL,"
        " response BLOB NOT NULL, input_items BLOB NOT NULL, output_items BLOB NOT NULL)"
    )
    db.execute("CREATE INDEX by_age ON responses (stored)")
    db.execute("CREATE TABLE total (bytes INTEGER NOT NULL)")
    db.execute("INSERT INTO total VALUES (0)")
    db.execute("CREATE TRIGGER added AFTER INSERT ON responses BEGIN UPDATE total SET bytes = bytes + new.size; END")
    blobs = (to_json(old.response), to_json(old.input_items), to_json(old.output_items))
    db.execute("INSERT INTO responses VALUES (?, ?, ?, ?, ?, ?)", ("resp_1", time.time(), 99, *blobs))
    db.close()

    async def scenario() -> tuple[StoredResponse | None, StoredResponse | None]:
        one, two = SQLiteStore(path), SQLiteStore(path)  # the second worker finds it done
        await one.put(stored("resp_2"))
        found = await two.get("resp_1"), await two.get("resp_2")
        await one.aclose()
        await two.aclose()
        return found

    assert asyncio.run(scenario()) == (old, stored("resp_2"))
