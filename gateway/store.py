"""Stored responses (`/v1/responses` with `store: true`, the API's default): what `previous_response_id`
continues, and what `GET /v1/responses/{id}`, `DELETE` and `.../input_items` read.

One small interface, two stores: in memory (a library's gateway, the tests), and SQLite under
protoshift's data folder (`protoshift serve`; the file 0600, WAL, one thread doing its calls with the
puts waiting committed together), each with an expiry and a size cap (the oldest go first). Another
engine (Redis, for several replicas: gateway/state/responses.py) is one more class of the same shape.

A stored response keeps the response object as the client got it, and the conversation it ends: the
items given as its input (the earlier conversation, then this request's own input), then its output —
so the next turn's history is one read, and `input_items` is the stored input.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

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
    """A file, shared by the workers of one server (SQLite's own locking, WAL), 0600.

    One thread of its own does every call, in order, off the event loop (a disk that stalls stalls it,
    not the loop): the puts waiting when it turns to them go in one transaction (group commit), and each
    caller awaits its own call's result. `synchronous=NORMAL`: in WAL mode the file cannot be corrupted
    by a crash, and a process that dies loses nothing committed; only the power failing (or the OS
    crashing) may undo the last commits since a checkpoint — responses stored in the seconds before.
    Expired rows are never read, and are swept at most every `SWEEP_EVERY` seconds."""

    SWEEP_EVERY = 60.0
    BATCH = 256  # calls at most in one transaction

    def __init__(self, path: Path, *, expiry: float = DEFAULT_EXPIRY, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.path = path
        self.expiry = expiry
        self.max_bytes = max_bytes
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))  # private before any data
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=5.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        _schema(self._db)
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()
        self._swept = 0.0  # when expired rows were last swept (monotonic)

    async def get(self, response_id: str) -> StoredResponse | None:
        found: StoredResponse | None = await self._call("get", response_id)
        return found

    async def put(self, stored: StoredResponse) -> None:
        await self._call("put", (stored.id, _blob(stored)))

    async def delete(self, response_id: str) -> bool:
        deleted: bool = await self._call("delete", response_id)
        return deleted

    async def aclose(self) -> None:
        thread = self._thread
        if thread is not None:
            self._jobs.put(None)
            await asyncio.to_thread(thread.join)
        self._db.close()

    async def _call(self, kind: str, argument: Any) -> Any:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if self._thread is None:
            self._started()
        self._jobs.put(_Job(kind, argument, loop, future))
        return await future  # a caller cancelled leaves the call to be done all the same

    def _started(self) -> None:
        with self._start:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="protoshift-store", daemon=True)
                self._thread.start()

    # -- the store's thread ------------------------------------------------------------------------

    def _serve(self) -> None:
        jobs = self._jobs
        while True:
            batch = [jobs.get()]
            while len(batch) < self.BATCH:
                try:
                    batch.append(jobs.get_nowait())
                except queue.Empty:
                    break
            closing = None in batch
            done = [job for job in batch if job is not None]
            if done:
                self._run(done)
            if closing:
                return

    def _run(self, batch: list[_Job]) -> None:
        """The calls in order, in one transaction when one of them writes; each caller told its result."""
        writes = any(job.kind != "get" for job in batch)
        try:
            results = self._transaction(batch) if writes else [self._do(job, time.time()) for job in batch]
        except Exception as exc:  # one of them failed: each on its own, so that the failure is its caller's alone
            if len(batch) == 1:
                _settle(batch, [_Failed(exc)])
                return
            for job in batch:
                self._run([job])
            return
        _settle(batch, results)

    def _transaction(self, batch: list[_Job]) -> list[Any]:
        db = self._db
        now = time.time()
        db.execute("BEGIN IMMEDIATE")
        try:
            results = [self._do(job, now) for job in batch]
            total = db.execute("SELECT bytes FROM total").fetchone()[0]
            if total > self.max_bytes:
                self._evict(total - self.max_bytes, {job.argument[0] for job in batch if job.kind == "put"})
            if time.monotonic() - self._swept > self.SWEEP_EVERY:
                self._sweep(now)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return results

    def _do(self, job: _Job, now: float) -> Any:
        db = self._db
        if job.kind == "get":
            row = db.execute(
                "SELECT data FROM responses WHERE id = ? AND stored > ?", (job.argument, now - self.expiry)
            ).fetchone()
            return None if row is None else _stored(job.argument, row[0])
        if job.kind == "delete":
            return db.execute("DELETE FROM responses WHERE id = ?", (job.argument,)).rowcount > 0
        response_id, blob = job.argument
        # not INSERT OR REPLACE: the row it replaces would leave without its delete trigger
        db.execute("DELETE FROM responses WHERE id = ?", (response_id,))
        db.execute("INSERT INTO responses VALUES (?, ?, ?, ?)", (response_id, now, len(blob), blob))
        return None

    def _evict(self, excess: int, keep: set[str]) -> None:
        """The oldest go until the rest fits (the ones just stored stay)."""
        gone: list[tuple[str]] = []
        oldest = self._db.execute("SELECT id, size FROM responses ORDER BY stored")
        while excess > 0 and (rows := oldest.fetchmany(64)):
            for response_id, size in rows:
                if excess > 0 and response_id not in keep:
                    gone.append((response_id,))
                    excess -= size
        oldest.close()
        self._db.executemany("DELETE FROM responses WHERE id = ?", gone)

    def _sweep(self, now: float) -> None:
        swept = self._db.execute(
            "DELETE FROM responses WHERE id IN (SELECT id FROM responses WHERE stored <= ? LIMIT 1000)",
            (now - self.expiry,),
        ).rowcount
        if swept < 1000:  # else more next time
            self._swept = time.monotonic()


class _Job(NamedTuple):
    kind: str  # get, put, delete
    argument: Any
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


class _Failed(NamedTuple):
    error: BaseException


def _settle(batch: list[_Job], results: list[Any]) -> None:
    """Each caller's result handed to its loop: one wake-up per loop, not per call."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any]]] = {}
    for job, result in zip(batch, results, strict=True):
        by_loop.setdefault(job.loop, []).append((job.future, result))
    for loop, settled in by_loop.items():
        with contextlib.suppress(RuntimeError):  # its loop is closed: nobody waits
            loop.call_soon_threadsafe(_resolve, settled)


def _resolve(settled: list[tuple[asyncio.Future[Any], Any]]) -> None:
    for future, result in settled:
        if future.done():  # its caller was cancelled
            continue
        if isinstance(result, _Failed):
            future.set_exception(result.error)
        else:
            future.set_result(result)


def _blob(stored: StoredResponse) -> bytes:
    """One JSON array: the response, its input, its output (null when it is the response's own)."""
    output = None if stored.output_items is stored.response.get("output") else stored.output_items
    return to_json([stored.response, stored.input_items, output])


def _stored(response_id: str, blob: bytes) -> StoredResponse:
    response, inputs, output = from_json(blob)
    return StoredResponse(response_id, response, inputs, response.get("output", []) if output is None else output)


_VERSION = 2  # PRAGMA user_version of the file's layout: 2, one JSON blob a row (1: three columns of JSON)


def _schema(db: sqlite3.Connection) -> None:
    """The tables, made or brought to this layout once, whichever worker comes first."""
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        columns = {row[1] for row in db.execute("PRAGMA table_info(responses)")}
        if version < _VERSION and "input_items" in columns:  # layout 1: its rows joined into one array each
            db.execute("DROP TRIGGER IF EXISTS added")
            db.execute("DROP TRIGGER IF EXISTS removed")
            db.execute("DROP TABLE IF EXISTS total")
            db.execute("DROP INDEX IF EXISTS by_age")
            db.execute("ALTER TABLE responses RENAME TO responses_1")
        db.execute(
            "CREATE TABLE IF NOT EXISTS responses"
            " (id TEXT PRIMARY KEY, stored REAL NOT NULL, size INTEGER NOT NULL, data BLOB NOT NULL)"
        )
        if version < _VERSION and "input_items" in columns:
            db.execute(
                "INSERT INTO responses SELECT id, stored, size + 4, CAST('[' || CAST(response AS TEXT) || ','"
                " || CAST(input_items AS TEXT) || ',' || CAST(output_items AS TEXT) || ']' AS BLOB) FROM responses_1"
            )
            db.execute("DROP TABLE responses_1")
        db.execute("CREATE INDEX IF NOT EXISTS by_age ON responses (stored)")
        # The sum of the sizes, kept by triggers: a put reads one row, not the whole table.
        db.execute("CREATE TABLE IF NOT EXISTS total (bytes INTEGER NOT NULL)")
        db.execute(
            "INSERT INTO total SELECT COALESCE(SUM(size), 0) FROM responses WHERE NOT EXISTS (SELECT 1 FROM total)"
        )
        db.execute(
            "CREATE TRIGGER IF NOT EXISTS added AFTER INSERT ON responses"
            " BEGIN UPDATE total SET bytes = bytes + new.size; END"
        )
        db.execute(
            "CREATE TRIGGER IF NOT EXISTS removed AFTER DELETE ON responses"
            " BEGIN UPDATE total SET bytes = bytes - old.size; END"
        )
        db.execute(f"PRAGMA user_version = {_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
