"""Stored responses (`/v1/responses` with `store: true`, the API's default): what `previous_response_id`
continues, and what `GET /v1/responses/{id}`, `DELETE` and `.../input_items` read.

One small interface, two stores: in memory (a library's gateway, the tests), and SQLite under
protoshift's data folder (`protoshift serve`; the file 0600, WAL), each with an expiry and a size cap
(the oldest go first). Another engine (Redis, for several replicas) is one more class of the same shape.

A stored response keeps the response object as the client got it, and the conversation it ends: the
items given as its input (the earlier conversation, then this request's own input), then its output —
so the next turn's history is one read, and `input_items` is the stored input.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic_core import from_json, to_json

__all__ = ["DEFAULT_EXPIRY", "DEFAULT_MAX_BYTES", "MemoryStore", "ResponseStore", "SQLiteStore", "StoredResponse"]

DEFAULT_EXPIRY = 30 * 24 * 3600.0  # seconds a stored response is kept (as OpenAI keeps them: 30 days)
DEFAULT_MAX_BYTES = 512 * 1024 * 1024  # all stored responses together; past it, the oldest go


@dataclass(frozen=True, slots=True)
class StoredResponse:
    id: str
    response: dict[str, Any]  # as the client got it
    input_items: list[dict[str, Any]]  # the conversation given as its input, each with an id
    output_items: list[dict[str, Any]]

    @property
    def conversation(self) -> list[dict[str, Any]]:
        """What a next turn (`previous_response_id`) continues: input then output."""
        return [*self.input_items, *self.output_items]


class ResponseStore(Protocol):
    async def get(self, response_id: str) -> StoredResponse | None: ...

    async def put(self, stored: StoredResponse) -> None: ...

    async def delete(self, response_id: str) -> bool:
        """True when there was one to delete."""
        ...

    async def aclose(self) -> None: ...


def _size(stored: StoredResponse) -> int:
    return len(to_json(stored.response)) + len(to_json(stored.input_items)) + len(to_json(stored.output_items))


class MemoryStore:
    """In this process only, for its life."""

    def __init__(self, *, expiry: float = DEFAULT_EXPIRY, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.expiry = expiry
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, tuple[float, int, StoredResponse]] = OrderedDict()
        self._bytes = 0

    async def get(self, response_id: str) -> StoredResponse | None:
        found = self._items.get(response_id)
        if found is None:
            return None
        if time.time() - found[0] > self.expiry:
            self._drop(response_id)
            return None
        return found[2]

    async def put(self, stored: StoredResponse) -> None:
        self._drop(stored.id)
        size = _size(stored)
        self._items[stored.id] = (time.time(), size, stored)
        self._bytes += size
        while self._bytes > self.max_bytes and len(self._items) > 1:
            self._drop(next(iter(self._items)))

    async def delete(self, response_id: str) -> bool:
        return self._drop(response_id)

    def _drop(self, response_id: str) -> bool:
        found = self._items.pop(response_id, None)
        if found is not None:
            self._bytes -= found[1]
        return found is not None

    async def aclose(self) -> None:
        return None


class SQLiteStore:
    """A file, shared by the workers of one server (SQLite's own locking, WAL), 0600. Every call runs
    in a thread: a disk that stalls stalls that thread, not the event loop."""

    def __init__(self, path: Path, *, expiry: float = DEFAULT_EXPIRY, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.path = path
        self.expiry = expiry
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))  # private before any data
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=5.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS responses (id TEXT PRIMARY KEY, stored REAL NOT NULL, size INTEGER NOT NULL,"
            " response BLOB NOT NULL, input_items BLOB NOT NULL, output_items BLOB NOT NULL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS by_age ON responses (stored)")
        # The sum of the sizes, kept by triggers: a put reads one row, not the whole table.
        self._db.executescript(
            "CREATE TABLE IF NOT EXISTS total (bytes INTEGER NOT NULL);"
            "INSERT INTO total SELECT COALESCE(SUM(size), 0) FROM responses WHERE NOT EXISTS (SELECT 1 FROM total);"
            "CREATE TRIGGER IF NOT EXISTS added AFTER INSERT ON responses"
            " BEGIN UPDATE total SET bytes = bytes + new.size; END;"
            "CREATE TRIGGER IF NOT EXISTS removed AFTER DELETE ON responses"
            " BEGIN UPDATE total SET bytes = bytes - old.size; END;"
        )

    async def get(self, response_id: str) -> StoredResponse | None:
        return await asyncio.to_thread(self._get, response_id)

    async def put(self, stored: StoredResponse) -> None:
        await asyncio.to_thread(self._put, stored)

    async def delete(self, response_id: str) -> bool:
        return await asyncio.to_thread(self._delete, response_id)

    async def aclose(self) -> None:
        with self._lock:
            self._db.close()

    def _get(self, response_id: str) -> StoredResponse | None:
        with self._lock:
            row = self._db.execute(
                "SELECT response, input_items, output_items FROM responses WHERE id = ? AND stored > ?",
                (response_id, time.time() - self.expiry),
            ).fetchone()
        if row is None:
            return None
        return StoredResponse(response_id, from_json(row[0]), from_json(row[1]), from_json(row[2]))

    def _put(self, stored: StoredResponse) -> None:
        response, inputs, outputs = to_json(stored.response), to_json(stored.input_items), to_json(stored.output_items)
        size = len(response) + len(inputs) + len(outputs)
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                # not INSERT OR REPLACE: the row it replaces would leave without its delete trigger
                self._db.execute("DELETE FROM responses WHERE id = ?", (stored.id,))
                self._db.execute(
                    "INSERT INTO responses VALUES (?, ?, ?, ?, ?, ?)",
                    (stored.id, now, size, response, inputs, outputs),
                )
                self._db.execute("DELETE FROM responses WHERE stored <= ?", (now - self.expiry,))
                total = self._db.execute("SELECT bytes FROM total").fetchone()[0]
                if total > self.max_bytes:  # the oldest go until the rest fits (this one stays)
                    self._db.execute(
                        "DELETE FROM responses WHERE id IN (SELECT id FROM (SELECT id, SUM(size) OVER"
                        " (ORDER BY stored DESC) AS kept FROM responses) WHERE kept > ? AND id != ?)",
                        (self.max_bytes, stored.id),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _delete(self, response_id: str) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM responses WHERE id = ?", (response_id,)).rowcount > 0
