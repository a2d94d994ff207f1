"""Stored responses (`/v1/responses` with `store: true`, the API's default): what `previous_response_id`
continues, and what `GET /v1/responses/{id}`, `DELETE` and `.../input_items` read.

One small interface, two stores: in memory (a library's gateway, the tests), and SQLite under
protoshift's data folder (`protoshift serve`; the file 0600, WAL, a thread of its own writing behind:
what a crash may lose is in SQLiteStore's words), each with an expiry and a size cap (the oldest go first). Another
engine (Redis, for several replicas: gateway/state/responses.py) is one more class of the same shape.

A stored response keeps the response object as the client got it, and the conversation it ends: the
items given as its input (the earlier conversation, then this request's own input), then its output —
so the next turn's history is one read, and `input_items` is the stored input.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import secrets
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
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
    # `response` as JSON, when it is at hand (the bytes its client got): stored as they are, not encoded again
    encoded: bytes | None = field(default=None, compare=False, repr=False)

    @property
    def conversation(self) -> list[dict[str, Any]]:
        """What a next turn (`previous_response_id`) continues: input then output."""
        return [*self.input_items, *self.output_items]


class ResponseStore(Protocol):
    on_event: Callable[[str, str], None]  # (kind, message): what the store could not do, for the log

    async def get(self, response_id: str) -> StoredResponse | None: ...

    async def put(self, stored: StoredResponse) -> None: ...

    async def delete(self, response_id: str) -> bool:
        """True when there was one to delete."""
        ...

    async def aclose(self) -> None: ...


class MemoryStore:
    """In this process only, for its life."""

    def __init__(self, *, expiry: float = DEFAULT_EXPIRY, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.expiry = expiry
        self.max_bytes = max_bytes
        self.on_event: Callable[[str, str], None] = _logged  # never called: nothing here fails
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
        size = len(_blob(stored))  # as the file counts it
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

    Write-behind: a put returns as soon as its response is in this process's pending map, which `get`
    reads first (what a process stored, it finds at once: the next turn's `previous_response_id`, a `GET`
    right after the answer). `WINDOW` seconds after the first of them, every put pending is written in
    one transaction: one commit per window, not per put. What that costs: a process that dies (killed,
    crashed) loses the puts of its last window, at most `WINDOW` seconds of answers; `aclose` (a graceful
    shutdown) writes every one. A put or a window that cannot be written is tried again alone, then said
    in the log (`store_failed`) and left out.

    Who writes: the event loop itself, through a connection that never waits for SQLite's lock, and a
    thread of the store's own for everything that may wait. Why the loop: a window's write is 5-15 µs a
    row into the OS's page cache (WAL, `synchronous=NORMAL`: a commit does not sync the disk; `resp_` ids
    begin with the time, so each row lands at the end of the id index), and a thread that wrote it would
    have to take the GIL back from a busy loop after every SQLite call, up to 5 ms each
    (`sys.getswitchinterval`), the loop waking it on every turn meanwhile: measured through serve, that
    cost 90-130 µs of CPU per stored answer, several times the write itself.

    What may wait is not done on the loop: a window that finds the file locked (another worker writing,
    the thread sweeping) stays pending, found all the same, and the next window tries again; one locked for `WAIT` seconds, or a close's, goes to the thread, which waits for
    the lock. The thread also writes every window for `SLOW_FOR` seconds after one that took over `SLOW`
    (a disk that stalls stalls the thread, not the loop), runs the checkpoints (they sync the disk: the
    loop's connection never checkpoints) and the expiry sweep, and the reads (`get`, `delete`). Past the
    size cap, the write itself takes the oldest rows out. A put again of an id the thread still has to write goes to the thread too, after it: one order.

    Several workers on one file (`shared`): a worker's put that nothing pending of it covers yet marks in
    the file, before it returns, that this worker has puts pending since then (one row a mark, taken back
    by the write of those puts); a read that finds nothing waits for the
    windows other workers opened before it began to be written (at most `WAIT` seconds; a mark older
    than `STALE`, a worker gone, is not waited for) and reads again. So a response answered by one
    worker is found through any other; a miss costs one window more.

    `synchronous=NORMAL`: in WAL mode the file cannot be corrupted by a crash, and a process that dies
    loses nothing committed; only the power failing (or the OS crashing) may undo the last commits since
    a checkpoint — responses stored in the seconds before. Expired rows are never read, and are swept at
    most every `SWEEP_EVERY` seconds."""

    WINDOW = 0.02  # seconds from a window's first put to its write: what a crash may lose
    SWEEP_EVERY = 60.0
    BATCH = 256  # calls at most in one transaction (gets, deletes)
    MAX_PENDING = 4096  # puts not written yet; past it a put writes its window at once (WAIT at most)
    WAIT = 5.0  # seconds at most: for other workers' windows, for a write past MAX_PENDING, for the lock
    CLOSE_WAIT = 30.0  # seconds at most for `aclose` to write what is pending
    STALE = 10.0  # a worker's mark older than this is a worker gone or stuck: not waited for
    CHECKPOINT_BYTES = 4 * 1024 * 1024  # written since the last checkpoint: the thread runs one (SQLite's 1,000 pages)
    SLOW = 0.25  # seconds: a window written by the loop that took longer sends the next ones to the thread...
    SLOW_FOR = 10.0  # ...for this long

    def __init__(
        self,
        path: Path,
        *,
        expiry: float = DEFAULT_EXPIRY,
        max_bytes: int = DEFAULT_MAX_BYTES,
        shared: bool = True,
    ) -> None:
        self.path = path
        self.expiry = expiry
        self.max_bytes = max_bytes
        self.shared = shared  # other processes (the server's other workers) use the file too
        self.on_event: Callable[[str, str], None] = _logged  # the gateway points it at its log
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))  # private before any data
        self._waits = self._connect(self.WAIT)  # the thread's (and the schema's, made here once)
        _schema(self._waits)
        self._db = self._connect(0.0)  # the loop's: a lock it finds taken is the thread's to wait for
        self._db.execute("PRAGMA wal_autocheckpoint=0")  # a checkpoint syncs the disk: the thread's job
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()
        self._swept = time.monotonic() - self.SWEEP_EVERY  # when the expired rows were last swept (monotonic)
        self._unsynced = 0  # bytes the loop wrote since it last asked for a checkpoint
        self._slow_until = 0.0  # monotonic: until then the thread writes the windows
        self._token = secrets.token_hex(8)  # this process's name in the file's marks
        self._writing_here = threading.Lock()  # the loop's connection, one transaction at a time
        # What the loops and the store's thread share, under the lock: the puts not written yet (oldest
        # first) and their bytes, the ids the size cap took from them, the puts being written, the open
        # window (its timer and loop), and how many writes or marks the thread has still to do.
        self._lock = threading.Lock()
        self._pending: dict[str, _Pending] = {}
        self._pending_bytes = 0
        self._evicted: set[str] = set()
        self._writing: dict[str, _Pending] = {}
        self._marks: list[float] = []  # shared: this worker's marks in the file for what is pending
        self._window: asyncio.TimerHandle | None = None
        self._window_loop: asyncio.AbstractEventLoop | None = None
        self._busy_since: float | None = None  # monotonic: since when the loop finds the file locked
        self._closed = False  # `aclose` began: the thread takes no more jobs

    def _connect(self, timeout: float) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path,
            check_same_thread=False,
            timeout=timeout,
            isolation_level=None,
            cached_statements=_ROWS + 32,  # the writes' statements, one for each count of rows, stay prepared
        )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(f"PRAGMA journal_size_limit={_WAL_LIMIT}")
        return db

    async def get(self, response_id: str) -> StoredResponse | None:
        pending = self._pending.get(response_id) or self._writing.get(response_id)
        if pending is not None:
            return None if time.time() - pending.at > self.expiry else pending.stored
        began = time.time()
        found: StoredResponse | None = await self._call("get", response_id)
        if found is None and self.shared:  # read again once other workers' puts from before are written
            await self._others_written(began)
            found = await self._call("get", response_id)
        return found

    async def put(self, stored: StoredResponse) -> None:
        pending = _Pending(stored, _blob(stored), time.time())
        loop = asyncio.get_running_loop()
        mark: float | None = None
        with self._lock:
            self._take(stored.id)
            self._evicted.discard(stored.id)
            self._pending[stored.id] = pending
            self._pending_bytes += len(pending.blob)
            while self._pending_bytes > self.max_bytes and len(self._pending) > 1:  # as the file's cap would
                oldest = next(iter(self._pending))
                self._take(oldest)
                self._evicted.add(oldest)
            if self._window_loop is None or self._window_loop.is_closed():  # this put opens a window
                self._window = loop.call_later(self.WINDOW, self._write_window)
                self._window_loop = loop
            if self.shared and not self._marks:  # no mark yet covers what is pending: this put's
                mark = pending.at
                self._marks.append(mark)
            count = len(self._pending) + len(self._writing)
        if mark is not None:  # in the file before the put returns
            await self._mark(mark)
        if count > self.MAX_PENDING:  # the writes are behind (a disk that stalls, a file locked): now
            written = self._write_window()
            if written is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(written), self.WAIT)

    async def delete(self, response_id: str) -> bool:
        with self._lock:
            pending = self._take(response_id)
        deleted: bool = await self._call("delete", response_id)  # after any write of it the thread has to do
        return deleted or (pending is not None and time.time() - pending.at <= self.expiry)

    async def aclose(self) -> None:
        """Everything pending written (CLOSE_WAIT seconds at most), then the file closed."""
        if self._closed:
            return
        self._write_window(closing=True)
        self._closed = True
        thread = self._thread
        if thread is not None:
            self._jobs.put(None)
            await asyncio.to_thread(thread.join, self.CLOSE_WAIT)
            if thread.is_alive():  # its file still in use by it: left open
                left = len(self._pending) + len(self._writing)
                self.on_event("store_failed", f"{self.path}: {left} stored responses not written in time")
                return
        self._db.close()
        self._waits.close()

    def _take(self, response_id: str) -> _Pending | None:
        """Out of the pending map (the lock held)."""
        pending = self._pending.pop(response_id, None)
        if pending is not None:
            self._pending_bytes -= len(pending.blob)
        return pending

    async def _mark(self, since: float) -> None:
        """In the file: this worker has puts pending since `since` (until the write of them takes it back)."""
        try:
            with self._writing_here:
                self._db.execute("INSERT OR IGNORE INTO writers VALUES (?, ?)", (self._token, since))
            return
        except Exception as exc:
            if not _busy(exc):  # the put stays pending all the same; only another worker may miss it
                self.on_event("store_failed", f"{self.path}: marking puts pending: {_reason(exc)}")
                return
        await self._submit("mark", since)  # the file locked: the thread waits for it

    def _write_window(self, *, closing: bool = False) -> asyncio.Future[Any] | None:
        """The open window ends: every put pending written, here in one transaction; or by the thread
        (see the class's words on who writes), then the future it settles once they are written. A file
        found locked leaves them pending, tried again a window later (WAIT seconds, then the thread's)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            window = self._window
            self._window = self._window_loop = None  # a put from now on opens the next window
            batch = list(self._pending.values())
            evicted, marks = set(self._evicted), list(self._marks)
            if not batch and not evicted and not marks:
                return None
            to_thread = self._for_the_thread(batch)
            if to_thread:
                self._hand_over(batch, evicted)
        if window is not None:
            window.cancel()
        if to_thread:
            return self._submit("write", (batch, evicted, marks))
        began = time.monotonic()
        try:
            with self._writing_here:
                whole = self._write_each(self._db, batch, evicted, marks, busy_fails=False)
        except _Busy:  # another worker writing, the thread sweeping: not waited for here
            with self._lock:
                if closing:
                    self._hand_over(batch, evicted)
                else:
                    self._busy_since = self._busy_since or began
                    if self._window_loop is None:
                        self._window = loop.call_later(self.WINDOW, self._write_window)
                        self._window_loop = loop
            return self._submit("write", (batch, evicted, marks)) if closing else None
        self._written_here(batch, evicted, marks, time.monotonic() - began)
        if whole:  # (a file that fails every write is not swept nor checkpointed on top)
            self._upkeep(batch)
        return None

    def _for_the_thread(self, batch: list[_Pending]) -> bool:
        """Whether the thread writes this window (the lock held): the disk was slow, the file has been
        locked for WAIT seconds, or the thread has an older put of one of its ids still to write."""
        now = time.monotonic()
        return (
            now < self._slow_until
            or (self._busy_since is not None and now - self._busy_since > self.WAIT)
            or (bool(self._writing) and any(pending.stored.id in self._writing for pending in batch))
        )

    def _written_here(self, batch: list[_Pending], evicted: set[str], marks: list[float], took: float) -> None:
        with self._lock:
            for pending in batch:
                if self._pending.get(pending.stored.id) is pending:  # not put again meanwhile
                    self._take(pending.stored.id)
            self._evicted -= evicted
            self._marks = [mark for mark in self._marks if mark not in marks]
            self._busy_since = None
        if took > self.SLOW:
            self._slow_until = time.monotonic() + self.SLOW_FOR
            self.on_event(
                "store_slow",
                f"{self.path}: writing {len(batch)} stored responses took {took * 1000:.0f} ms;"
                f" the store's thread writes them for the next {self.SLOW_FOR:.0f} s",
            )

    def _hand_over(self, batch: list[_Pending], evicted: set[str]) -> None:
        """The window's puts (and marks) out of the loop's hands, to the thread's (the lock held)."""
        for pending in batch:
            if self._pending.get(pending.stored.id) is pending:
                self._take(pending.stored.id)
            self._writing[pending.stored.id] = pending
        self._evicted -= evicted
        self._marks = []
        self._busy_since = None  # the next window tries the file again itself

    def _written(self, batch: list[_Pending]) -> None:
        with self._lock:
            for pending in batch:
                if self._writing.get(pending.stored.id) is pending:
                    del self._writing[pending.stored.id]

    def _upkeep(self, batch: list[_Pending]) -> None:
        """After the loop wrote a window: the thread told to sweep what expired (every SWEEP_EVERY seconds)
        and to checkpoint (every CHECKPOINT_BYTES written)."""
        now = time.monotonic()
        if now - self._swept > self.SWEEP_EVERY:
            self._swept = now
            self._tell(_Job("sweep", None, None, None))
        self._unsynced += sum(len(pending.blob) for pending in batch)
        if self._unsynced > self.CHECKPOINT_BYTES:
            self._unsynced = 0
            self._tell(_Job("checkpoint", None, None, None))

    async def _others_written(self, began: float) -> None:
        """Once the puts other workers had pending when a read began are written (WAIT seconds at most)."""
        deadline = time.monotonic() + self.WAIT
        while await self._call("others", began) and time.monotonic() < deadline:
            await asyncio.sleep(self.WINDOW / 2)

    async def _call(self, kind: str, argument: Any) -> Any:
        return await self._submit(kind, argument)  # a caller cancelled leaves the call to be done all the same

    def _submit(self, kind: str, argument: Any) -> asyncio.Future[Any]:
        """A job for the thread, from a loop; the future the thread settles on that loop."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._tell(_Job(kind, argument, loop, future))
        return future

    def _tell(self, job: _Job | None) -> None:
        if self._closed:  # nobody left to do it: a caller is told so rather than left waiting
            if job is not None and job.future is not None:
                job.future.set_exception(RuntimeError(f"{self.path}: the response store is closed"))
            return
        if self._thread is None:
            self._started()
        self._jobs.put(job)

    def _started(self) -> None:
        with self._start:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="protoshift-store", daemon=True)
                self._thread.start()

    # -- the store's thread ------------------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            calls: list[_Job] = []  # reads and deletes in a row: one transaction
            for job in self._next():
                if job is not None and job.kind in _CALLS:
                    calls.append(job)
                    continue
                if calls:
                    self._run(calls)
                    calls = []
                if job is None:
                    return
                self._chore(job)
            if calls:
                self._run(calls)

    def _next(self) -> list[_Job | None]:
        """The jobs waiting (BATCH at most), once there is one."""
        batch: list[_Job | None] = [self._jobs.get()]
        with contextlib.suppress(queue.Empty):
            while len(batch) < self.BATCH:
                batch.append(self._jobs.get_nowait())
        return batch

    def _chore(self, job: _Job) -> None:
        """A write, a mark, a sweep, a checkpoint: what fails said in the log."""
        try:
            if job.kind == "write":
                batch, evicted, marks = job.argument
                try:
                    self._write_each(self._waits, batch, evicted, marks, busy_fails=True)
                finally:
                    self._written(batch)
            elif job.kind == "mark":
                self._waits.execute("INSERT OR IGNORE INTO writers VALUES (?, ?)", (self._token, job.argument))
            elif job.kind == "sweep":
                self._sweep_expired()
            else:  # checkpoint: PASSIVE, so that neither the loop's writes nor the reads wait for it
                self._waits.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception as exc:
            self.on_event("store_failed", f"{self.path}: {_CHORES[job.kind]}: {_reason(exc)}")
        finally:
            _settle([job], [None])

    def _write_each(
        self, db: sqlite3.Connection, batch: list[_Pending], evicted: set[str], marks: list[float], *, busy_fails: bool
    ) -> bool:
        """Every put of the window in one transaction; one that fails, each alone, and what still fails
        said in the log (then False). The file found locked raises `_Busy` unless `busy_fails` (the
        thread, which waited for it)."""
        try:
            self._write(db, batch, evicted, marks)
            return True
        except Exception as exc:
            if not busy_fails and _busy(exc):
                raise _Busy from exc
        failed: list[str] = []
        reason = ""
        for at, pending in enumerate(batch):
            try:
                self._write(db, [pending], set(), marks if at == len(batch) - 1 else [])
            except Exception as exc:
                if not busy_fails and _busy(exc):
                    raise _Busy from exc
                failed.append(pending.stored.id)
                reason = _reason(exc)
        if failed:
            shown = ", ".join(failed[:5]) + (f" and {len(failed) - 5} more" if len(failed) > 5 else "")
            self.on_event("store_failed", f"{self.path}: {len(failed)} not stored ({shown}): {reason}")
        return not failed

    def _write(self, db: sqlite3.Connection, batch: list[_Pending], evicted: set[str], marks: list[float]) -> None:
        """One transaction: the ids the size cap took out, the rows (each statement for many), past the
        size cap the oldest rows out, and this worker's marks of them taken back (with the rows: a read
        elsewhere that no longer sees a mark finds them)."""
        db.execute("BEGIN IMMEDIATE")
        try:
            gone = list(evicted)
            for at in range(0, len(gone), _ROWS):
                ids = gone[at : at + _ROWS]
                db.execute(f"DELETE FROM responses WHERE id IN ({','.join('?' * len(ids))})", ids)
            for at in range(0, len(batch), _ROWS):
                rows = batch[at : at + _ROWS]
                values = [v for p in rows for v in (p.stored.id, p.at, len(p.blob), p.blob)]
                db.execute(  # the triggers keep the total: `added` for a new id, `resized` for one replaced
                    f"INSERT INTO responses VALUES {','.join(['(?,?,?,?)'] * len(rows))} ON CONFLICT (id) DO UPDATE"
                    " SET stored = excluded.stored, size = excluded.size, data = excluded.data",
                    values,
                )
            total = db.execute("SELECT bytes FROM total").fetchone()[0]
            if total > self.max_bytes:
                self._evict(db, total - self.max_bytes, {p.stored.id for p in batch})
            for mark in marks:
                db.execute("DELETE FROM writers WHERE token = ? AND since = ?", (self._token, mark))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _sweep_expired(self) -> None:
        db = self._waits
        db.execute("BEGIN IMMEDIATE")
        try:
            self._sweep(time.time())
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _run(self, batch: list[_Job]) -> None:
        """The calls in order, in one transaction when one of them writes; each caller told its result."""
        writes = any(job.kind == "delete" for job in batch)
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
        db = self._waits
        now = time.time()
        db.execute("BEGIN IMMEDIATE")
        try:
            results = [self._do(job, now) for job in batch]
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return results

    def _do(self, job: _Job, now: float) -> Any:
        db = self._waits
        if job.kind == "get":
            row = db.execute(
                "SELECT data FROM responses WHERE id = ? AND stored > ?", (job.argument, now - self.expiry)
            ).fetchone()
            return None if row is None else _stored(job.argument, row[0])
        if job.kind == "others":  # another worker's window opened before `began`, not written yet
            began = job.argument
            return (
                db.execute(
                    "SELECT 1 FROM writers WHERE token != ? AND since <= ? AND since > ? LIMIT 1",
                    (self._token, began, now - self.STALE),
                ).fetchone()
                is not None
            )
        return db.execute("DELETE FROM responses WHERE id = ?", (job.argument,)).rowcount > 0  # delete

    def _evict(self, db: sqlite3.Connection, excess: int, keep: set[str]) -> None:
        """The oldest go until the rest fits (the ones just stored stay)."""
        gone: list[tuple[str]] = []
        oldest = db.execute("SELECT id, size FROM responses ORDER BY stored")
        while excess > 0 and (rows := oldest.fetchmany(64)):
            for response_id, size in rows:
                if excess > 0 and response_id not in keep:
                    gone.append((response_id,))
                    excess -= size
        oldest.close()
        db.executemany("DELETE FROM responses WHERE id = ?", gone)

    def _sweep(self, now: float) -> None:
        self._waits.execute("DELETE FROM writers WHERE since <= ?", (now - self.STALE,))  # workers gone
        swept = self._waits.execute(
            "DELETE FROM responses WHERE id IN (SELECT id FROM responses WHERE stored <= ? LIMIT 1000)",
            (now - self.expiry,),
        ).rowcount
        self._swept = time.monotonic() if swept < 1000 else 0.0  # else more the next time


_ROWS = 200  # rows a statement (4 values each: under SQLite's 32,766 parameters, and its 999 before 3.32)
_WAL_LIMIT = 64 * 1024 * 1024  # bytes of WAL file kept past a checkpoint; more is given back to the disk
_CALLS = frozenset({"get", "delete", "others"})  # the thread's jobs that answer a caller
_CHORES = {  # the thread's other jobs, as the log names what failed
    "write": "writing stored responses",
    "mark": "marking puts pending",
    "sweep": "sweeping expired responses",
    "checkpoint": "checkpointing",
}


class _Busy(Exception):
    """The file is locked (another worker writes): the loop's write goes to the thread, which waits."""


def _busy(exc: BaseException) -> bool:
    return (
        isinstance(exc, sqlite3.OperationalError) and getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY
    )


class _Pending(NamedTuple):
    """A put not written yet: the response, its row's data, when it was stored (`time.time()`)."""

    stored: StoredResponse
    blob: bytes
    at: float


def _logged(kind: str, message: str) -> None:
    logging.getLogger("protoshift.store").error("%s: %s", kind, message)


def _reason(exc: BaseException) -> str:
    return (str(exc).strip() or type(exc).__name__).splitlines()[0][:200]


class _Job(NamedTuple):
    kind: str  # get, delete, others (another worker's window open); write, mark, sweep, checkpoint
    argument: Any
    loop: asyncio.AbstractEventLoop | None
    future: asyncio.Future[Any] | None  # None: nobody waits


class _Failed(NamedTuple):
    error: BaseException


def _settle(batch: list[_Job], results: list[Any]) -> None:
    """Each caller's result handed to its loop: one wake-up per loop, not per call."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any]]] = {}
    for job, result in zip(batch, results, strict=True):
        if job.future is None or job.loop is None:
            continue
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
    if stored.encoded is None:
        return to_json([stored.response, stored.input_items, output])
    return b"".join((b"[", stored.encoded, b",", to_json([stored.input_items, output])[1:]))


def _stored(response_id: str, blob: bytes) -> StoredResponse:
    response, inputs, output = from_json(blob)
    return StoredResponse(response_id, response, inputs, response.get("output", []) if output is None else output)


# PRAGMA user_version of the file's layout: 3, a worker's marks one row each (2: one a worker, replaced);
# 2, one JSON blob a row (1: three columns of JSON)
_VERSION = 3


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
        # Which workers have puts not written yet, since when (SQLiteStore: a read elsewhere waits for them);
        # a worker may have several, each taken back by the write of its puts.
        if version < 3:
            db.execute("DROP TABLE IF EXISTS writers")  # marks last a window: none is lost
        db.execute(
            "CREATE TABLE IF NOT EXISTS writers (token TEXT NOT NULL, since REAL NOT NULL, PRIMARY KEY (token, since))"
        )
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
        db.execute(
            "CREATE TRIGGER IF NOT EXISTS resized AFTER UPDATE OF size ON responses"
            " BEGIN UPDATE total SET bytes = bytes + new.size - old.size; END"
        )
        db.execute(f"PRAGMA user_version = {_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
