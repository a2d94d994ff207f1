"""The SQLite store writes behind (gateway/store.py): a put returns before its row is in the file, and
what that may cost is bounded — the process finds its own puts at once, another worker finds them too,
a graceful close writes every one, a process killed loses only its last window, a write that fails is
said in the log. Real files; the file read through a connection of its own, as another process reads it."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from protoshift.gateway.store import SQLiteStore
from tests.gateway.test_store import stored


def in_file(path: Path) -> set[str]:
    """The ids in the file, as another process reads them."""
    db = sqlite3.connect(path)
    try:
        return {row[0] for row in db.execute("SELECT id FROM responses")}
    finally:
        db.close()


def waiting_long(path: Path, **options: object) -> SQLiteStore:
    """A store whose window does not end within the test: only what the test does writes."""
    store = SQLiteStore(path, **options)  # type: ignore[arg-type]
    store.WINDOW = 3600.0
    return store


def test_a_put_is_read_back_at_once_and_the_close_writes_it(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite3"

    async def scenario() -> None:
        store = waiting_long(path, shared=False)
        await store.put(stored("resp_1", "first"))
        await store.put(stored("resp_2", "second"))
        assert in_file(path) == set()  # not written yet...
        assert await store.get("resp_1") == stored("resp_1", "first")  # ...and found all the same
        assert await store.delete("resp_2") and await store.get("resp_2") is None
        await store.aclose()  # a graceful shutdown: every put written
        assert in_file(path) == {"resp_1"}
        again = SQLiteStore(path, shared=False)  # the next run of the server reads it
        assert await again.get("resp_1") == stored("resp_1", "first")
        await again.aclose()

    asyncio.run(scenario())


def test_another_worker_finds_a_put_still_pending_in_the_first(tmp_path: Path) -> None:
    """The first worker's window is still open when the second reads: the second waits for it to be
    written (the first marked it in the file before its put returned) rather than answering 404."""
    path = tmp_path / "responses.sqlite3"

    async def scenario() -> None:
        one, two = waiting_long(path), SQLiteStore(path)
        two.WAIT = 600.0  # the read waits for as long as the test needs
        await one.put(stored("resp_1"))
        reading = asyncio.create_task(two.get("resp_1"))
        for _ in range(20):  # the second worker reads, finds nothing written, and waits
            await asyncio.sleep(0.01)
        assert not reading.done() and in_file(path) == set()
        await one.aclose()  # the first worker's window written: the read goes on and finds it
        assert await asyncio.wait_for(reading, 60) == stored("resp_1")
        assert await two.get("resp_never") is None  # nothing pending anywhere: nothing to wait for
        await two.aclose()

    asyncio.run(scenario())


def test_past_the_pending_cap_a_put_waits_for_a_write(tmp_path: Path) -> None:
    """A writer that falls behind (a disk that stalls) holds the puts up rather than memory growing."""
    path = tmp_path / "responses.sqlite3"

    async def scenario() -> set[str]:
        store = waiting_long(path, shared=False)
        store.MAX_PENDING = 2
        for n in range(3):
            await store.put(stored(f"resp_{n}"))
        written = in_file(path)
        await store.aclose()
        return written

    assert asyncio.run(scenario()) == {"resp_0", "resp_1", "resp_2"}


def test_a_write_that_fails_is_said_in_the_log_with_what_was_lost(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite3"
    said: list[tuple[str, str]] = []

    async def scenario() -> None:
        store = waiting_long(path, shared=False)
        store.on_event = lambda kind, message: said.append((kind, message))
        await store.put(stored("resp_1"))
        db = sqlite3.connect(path)  # the table gone under it: every write fails
        db.execute("DROP TABLE responses")
        db.close()
        await store.aclose()

    asyncio.run(scenario())
    assert len(said) == 1, said
    kind, message = said[0]
    assert kind == "store_failed" and "resp_1" in message and "no such table" in message


_CHILD = """
import asyncio, sys
from pathlib import Path

import pytest
from protoshift.gateway.store import SQLiteStore, StoredResponse

async def main():
    store = SQLiteStore(Path(sys.argv[1]), shared=False)
    store.WINDOW = float(sys.argv[2])
    await store.put(StoredResponse("resp_kept", {"id": "resp_kept", "output": []}, [], []))
    print("put", flush=True)
    await asyncio.sleep(3600)  # killed before it ends

asyncio.run(main())
"""


def _killed_after_a_put(path: Path, window: float, *, once_written: bool = False) -> set[str]:
    """A process that put one response and was then killed (SIGKILL: no close); what the file keeps."""
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(path), str(window)], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"put\n"
        if once_written:  # the file polled (60 s at most), not a time assumed
            deadline = time.monotonic() + 60
            while "resp_kept" not in in_file(path) and time.monotonic() < deadline:
                time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return in_file(path)


@pytest.mark.process
def test_a_process_killed_loses_only_its_window(tmp_path: Path) -> None:
    """Written once the window ends (by the loop), with no close: a kill after that loses
    nothing. A kill inside the window loses what it held (the docs' word: at most the window)."""
    assert _killed_after_a_put(tmp_path / "short.sqlite3", 0.05, once_written=True) == {"resp_kept"}
    assert _killed_after_a_put(tmp_path / "long.sqlite3", 3600.0) == set()


def test_a_window_that_finds_the_file_locked_waits_for_the_next_and_the_loop_never_waits(tmp_path: Path) -> None:
    """Another worker holding the write lock: the loop's write would wait for it (5 s of a frozen loop).
    It is not waited for: the puts stay pending (found all the same) and the next window tries again; a
    file locked for WAIT seconds hands them to the store's thread, which waits; a close hands them over
    at once. Nothing put is lost."""
    path = tmp_path / "responses.sqlite3"

    async def scenario() -> None:
        store = waiting_long(path, shared=False)
        await store.put(stored("resp_1"))
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another worker's transaction, under way
        assert store._write_window() is None  # the loop did not wait...
        assert await store.get("resp_1") == stored("resp_1")  # ...and finds the put meanwhile
        other.execute("COMMIT")
        assert store._write_window() is None and in_file(path) == {"resp_1"}  # the next window writes it

        await store.put(stored("resp_2"))
        other.execute("BEGIN IMMEDIATE")
        assert store._write_window() is None
        store.WAIT = 0.0  # locked for longer than WAIT: the thread's to write, once it can
        written = store._write_window()
        assert written is not None and not written.done()
        other.execute("COMMIT")
        await asyncio.wait_for(written, 60)
        assert in_file(path) == {"resp_1", "resp_2"}

        await store.put(stored("resp_3"))
        other.execute("BEGIN IMMEDIATE")
        closing = asyncio.create_task(store.aclose())  # a close hands them to the thread, which waits
        await asyncio.sleep(0.05)
        other.execute("COMMIT")
        other.close()
        await asyncio.wait_for(closing, 60)
        assert in_file(path) == {"resp_1", "resp_2", "resp_3"}

    asyncio.run(scenario())


def test_the_loop_never_checkpoints_the_thread_does_and_the_wal_stays_small(tmp_path: Path) -> None:
    """A checkpoint syncs the disk, so the loop's connection never runs one; the thread does, every
    CHECKPOINT_BYTES written. Without it the WAL file would hold every write since the server started."""
    path = tmp_path / "responses.sqlite3"
    text = "x" * 8000

    async def scenario(checkpoint_bytes: int) -> int:
        store = waiting_long(path, shared=False)
        store.CHECKPOINT_BYTES = checkpoint_bytes
        store.SWEEP_EVERY = 1e9
        for n in range(300):  # 300 windows of 8 KB: 2.4 MB written
            await store.put(stored(f"resp_{n}", text))
            store._write_window()
            await store.get("resp_none")  # the thread's read comes after any checkpoint asked for
        wal = (tmp_path / "responses.sqlite3-wal").stat().st_size  # before the close checkpoints it away
        await store.aclose()
        return wal

    assert asyncio.run(scenario(64 * 1024)) < 1024 * 1024
    assert len(in_file(path)) == 300
    path.unlink()
    assert asyncio.run(scenario(1 << 40)) > 2 * 1024 * 1024  # the same writes, never checkpointed


def test_after_a_slow_write_the_thread_writes_the_windows_and_the_log_says_so(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite3"
    said: list[tuple[str, str]] = []

    async def scenario() -> None:
        store = waiting_long(path, shared=False)
        store.SLOW = 0.0  # every write the loop does counts as slow
        store.on_event = lambda kind, message: said.append((kind, message))
        await store.put(stored("resp_1"))
        assert store._write_window() is None  # the loop wrote it, and found it slow
        await store.put(stored("resp_2"))
        written = store._write_window()
        assert written is not None  # the next window: the thread's
        await asyncio.wait_for(written, 60)
        assert in_file(path) == {"resp_1", "resp_2"}
        await store.aclose()

    asyncio.run(scenario())
    assert [kind for kind, _ in said] == ["store_slow"]
    assert "the store's thread writes them for the next 10 s" in said[0][1]


def test_a_call_after_the_close_is_refused_not_left_waiting(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SQLiteStore(tmp_path / "responses.sqlite3", shared=False)
        await store.put(stored("resp_1"))
        await store.aclose()
        await store.aclose()  # a second close: nothing more to do
        with pytest.raises(RuntimeError, match="the response store is closed"):
            await asyncio.wait_for(store.get("resp_2"), 60)

    asyncio.run(scenario())


def test_a_window_the_thread_writes_takes_back_its_own_mark_not_the_next_windows(tmp_path: Path) -> None:
    """Worker one's first window goes to its thread (the file locked); its next window's put marks the
    file anew. The thread's write of the first takes back the first's mark only: worker two, reading the
    second window's put, still waits for it rather than answering 404."""
    path = tmp_path / "responses.sqlite3"

    async def scenario() -> None:
        one, two = waiting_long(path), SQLiteStore(path)
        two.WAIT = 600.0  # the read waits for as long as the test needs
        await one.put(stored("resp_a"))
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        assert one._write_window() is None  # locked: pending still
        one.WAIT = 0.0
        first = one._write_window()  # locked past WAIT: the thread's, which waits for the lock
        assert first is not None
        await asyncio.sleep(0.3)  # the thread's busy handler now sleeps tens of ms between its tries
        other.execute("COMMIT")
        other.close()
        await one.put(stored("resp_b"))  # a new window, its mark made at once, likely before the thread's write
        await asyncio.wait_for(first, 60)
        assert in_file(path) == {"resp_a"}  # the first window written, its mark with it; resp_b pending
        reading = asyncio.create_task(two.get("resp_b"))
        for _ in range(20):
            await asyncio.sleep(0.01)
        assert not reading.done()  # resp_b's mark is still in the file: worker two waits
        assert one._write_window() is None  # one writes its second window
        assert await asyncio.wait_for(reading, 60) == stored("resp_b")
        await one.aclose()
        await two.aclose()

    asyncio.run(scenario())


def test_a_wal_grown_past_its_limit_is_given_back_by_the_next_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A load that never leaves the WAL wholly copied grows it; past `_WAL_LIMIT` the thread's checkpoint
    truncates it (a PASSIVE one leaves the file its size)."""
    from protoshift.gateway import store as store_module

    path = tmp_path / "responses.sqlite3"
    wal = tmp_path / "responses.sqlite3-wal"

    async def scenario(limit: int) -> int:
        monkeypatch.setattr(store_module, "_WAL_LIMIT", limit)
        store = waiting_long(path, shared=False)
        store.CHECKPOINT_BYTES = 1 << 40  # none asked for while the WAL grows
        store.SWEEP_EVERY = 1e9  # nor a sweep, whose transaction would lock the loop's windows out meanwhile
        for n in range(100):  # 100 windows of 8 KB
            await store.put(stored(f"resp_{n}", "x" * 8000))
            store._write_window()
        grown = wal.stat().st_size
        store._tell(store_module._Job("checkpoint", None, None, None))
        await store.get("resp_none")  # after the checkpoint
        after = wal.stat().st_size
        await store.aclose()
        assert grown > 800 * 1024
        return after

    assert asyncio.run(scenario(1 << 40)) > 800 * 1024  # PASSIVE: copied, the file kept
    path.unlink()
    assert asyncio.run(scenario(64 * 1024)) == 0  # past the limit: TRUNCATE
