"""The client keys and their usage in a SQLite file under protoshift's data folder (`keys.sqlite3`, 0600,
WAL), without `--state`: `protoshift keys` writes it, every `serve` worker on this machine reads it
(a key added is found at once, a key removed stops working within a second) and adds what its
requests used (each second), so budgets and `keys usage` count every worker's requests.

Requests and tokens per minute are each process's own (gateway/clients/limiter.py): one process is
exact; several workers each let a key have its rpm and tpm. Several workers or replicas that must share
them share a Redis (`--state`).

Every call runs in a thread: a disk that stalls stalls that thread, not the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TypeVar

from protoshift.gateway.clients.records import ClientKey, Period, Periods, Usage
from protoshift.gateway.state.connection import StateUnavailable

__all__ = ["FILENAME", "SQLiteKeys"]

FILENAME = "keys.sqlite3"
T = TypeVar("T")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS keys (name TEXT PRIMARY KEY, digest TEXT UNIQUE NOT NULL, record TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS usage (name TEXT NOT NULL, period TEXT NOT NULL, requests INTEGER NOT NULL,"
    " tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL, spend INTEGER NOT NULL, PRIMARY KEY (name, period));"
    "CREATE TABLE IF NOT EXISTS version (n INTEGER NOT NULL);"
    "INSERT INTO version SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM version);"
)


class SQLiteKeys:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))  # private before any data
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=5.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    @property
    def shown(self) -> str:
        return str(self.path)

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def locked() -> T:
            with self._lock:
                return work(self._db)

        try:
            return await asyncio.to_thread(locked)
        except sqlite3.Error as exc:
            raise StateUnavailable(f"{self.path}: {exc}") from None

    # -- the keys ---------------------------------------------------------------------------------

    async def version(self) -> str:
        return await self._run(lambda db: str(db.execute("SELECT n FROM version").fetchone()[0]))

    async def keys(self) -> list[ClientKey]:
        rows = await self._run(lambda db: db.execute("SELECT record FROM keys ORDER BY name").fetchall())
        return [ClientKey.from_json(json.loads(row[0])) for row in rows]

    async def find(self, digest: str) -> ClientKey | None:
        row = await self._run(lambda db: db.execute("SELECT record FROM keys WHERE digest = ?", (digest,)).fetchone())
        return None if row is None else ClientKey.from_json(json.loads(row[0]))

    async def add(self, key: ClientKey) -> bool:
        """False when a key of that name exists."""

        def add(db: sqlite3.Connection) -> bool:
            with _transaction(db):
                try:
                    db.execute("INSERT INTO keys VALUES (?, ?, ?)", (key.name, key.digest, json.dumps(key.to_json())))
                except sqlite3.IntegrityError:
                    return False
                db.execute("DELETE FROM usage WHERE name = ?", (key.name,))  # a new key of an old name starts at 0
                db.execute("UPDATE version SET n = n + 1")
                return True

        return await self._run(add)

    async def remove(self, name: str) -> bool:
        def remove(db: sqlite3.Connection) -> bool:
            with _transaction(db):
                if db.execute("DELETE FROM keys WHERE name = ?", (name,)).rowcount == 0:
                    return False
                db.execute("DELETE FROM usage WHERE name = ?", (name,))
                db.execute("UPDATE version SET n = n + 1")
                return True

        return await self._run(remove)

    # -- usage ------------------------------------------------------------------------------------

    async def usage(self, names: Iterable[str], current: Periods) -> dict[str, dict[Period, Usage]]:
        """Each key's usage this day and this month."""
        wanted = list(names)

        def read(db: sqlite3.Connection) -> dict[str, dict[Period, Usage]]:
            found: dict[str, dict[Period, Usage]] = {name: {"day": Usage(), "month": Usage()} for name in wanted}
            for name in wanted:
                for period, period_id in (("day", current.day), ("month", current.month)):
                    row = db.execute(
                        "SELECT requests, tokens_in, tokens_out, spend FROM usage WHERE name = ? AND period = ?",
                        (name, period_id),
                    ).fetchone()
                    if row is not None:
                        found[name][period] = Usage(*row)  # type: ignore[index]
            return found

        return await self._run(read)

    async def add_usage(self, pending: Mapping[tuple[str, str, str], Usage]) -> None:
        """Adds what requests used: (name, day id, month id) -> usage, to the day's and the month's rows."""
        rows = [
            (name, period_id, used.requests, used.tokens_in, used.tokens_out, used.spend_nano)
            for (name, day, month), used in pending.items()
            for period_id in (day, month)
        ]

        def add(db: sqlite3.Connection) -> None:
            with _transaction(db):
                db.executemany(
                    "INSERT INTO usage SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM keys WHERE name = ?1)"
                    " ON CONFLICT (name, period) DO UPDATE SET requests = requests + excluded.requests,"
                    " tokens_in = tokens_in + excluded.tokens_in, tokens_out = tokens_out + excluded.tokens_out,"
                    " spend = spend + excluded.spend",
                    rows,
                )
                # what is older than last month is of no use to anyone
                db.execute("DELETE FROM usage WHERE length(period) = 10 AND period < date('now', '-40 days')")
                db.execute(
                    "DELETE FROM usage WHERE length(period) = 7 AND period < strftime('%Y-%m', 'now', '-70 days')"
                )

        await self._run(add)

    async def spent(self, names: Iterable[str], period_ids: Mapping[str, str]) -> dict[str, int]:
        """Each named key's spend (nano-USD) in the period id given for it."""
        wanted = [(name, period_ids[name]) for name in names]

        def read(db: sqlite3.Connection) -> dict[str, int]:
            spent = {}
            for name, period_id in wanted:
                row = db.execute("SELECT spend FROM usage WHERE name = ? AND period = ?", (name, period_id)).fetchone()
                spent[name] = int(row[0]) if row else 0
            return spent

        return await self._run(read)

    async def aclose(self) -> None:
        with self._lock:
            self._db.close()


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
