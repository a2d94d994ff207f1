"""The log of chat exchanges: one SQLite file, `$XDG_DATA_HOME/protoshift/logs.db` (0600: it holds
prompts and answers; never a key), one row per exchange.

A row is written when the request starts (status `running`, marked partial), its text updated while
the reply streams in, and the row finished when it ends. Every write is its own transaction in WAL
mode, so a process killed at any point (kill -9, a crash, Ctrl-C) leaves a row whose reply is the
text that had arrived, marked partial.

A conversation is a chain of rows: each row holds the messages it added after its `prior` row's
history (all of them when `prior` is NULL) and the reply. `history(row)` is the prior's history,
then the row's messages, then its reply: exactly what the next request of that conversation sends
before its own messages. Attachments (base64) are kept once, in the row that sent them first.

Only the commands that log or read it import this module (sqlite3 costs start-up time).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 2
SCHEMA = """
CREATE TABLE IF NOT EXISTS exchanges (
    id INTEGER PRIMARY KEY,
    conversation TEXT NOT NULL,
    prior INTEGER REFERENCES exchanges(id),   -- the row whose history comes before these messages
    started TEXT NOT NULL,                    -- UTC, ISO 8601
    model TEXT NOT NULL,                      -- the model asked (then the one that answered)
    backend TEXT NOT NULL,                    -- the backend that answered (a fallback's, when it did)
    request TEXT NOT NULL,                    -- JSON: the request's fields but messages (tools, options...)
    messages TEXT NOT NULL,                   -- JSON: the messages this exchange added after prior's history
    reply TEXT,                               -- JSON: the assistant message, once it ended
    response TEXT NOT NULL DEFAULT '',        -- the reply's text (as it arrives): for reading and searching
    partial INTEGER NOT NULL DEFAULT 1,       -- 0 once the reply came whole
    status TEXT NOT NULL DEFAULT 'running',   -- running (or killed) | ok | cut | error
    finish_reason TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cached_tokens INTEGER,
    cost REAL,                                -- USD, when the price table knows the model
    duration REAL,                            -- seconds
    exit_code INTEGER,
    error TEXT,
    primary_backend TEXT,                     -- the chain's first backend: a conversation continues on it
    base_url TEXT                             -- ... at this base URL (NULL: the backend's default)
);
CREATE INDEX IF NOT EXISTS exchanges_by_conversation ON exchanges (conversation, id);
"""
# What each version added to the one before, for a log written by an older protoshift.
MIGRATIONS = {
    2: ("ALTER TABLE exchanges ADD COLUMN primary_backend TEXT", "ALTER TABLE exchanges ADD COLUMN base_url TEXT")
}

JSONValue = Any


def log_path() -> Path:
    from protoshift.cloud.state import data_dir

    return data_dir() / "logs.db"


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def dumps(value: JSONValue) -> str:
    """JSON for a column. A lone surrogate (what a name that is not UTF-8 becomes in Python) cannot be
    stored as UTF-8: it is written as its JSON escape (inside a JSON string, `\\udcff` means the same)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "backslashreplace").decode()


def storable(text: str) -> str:
    """Plain text for a column: a lone surrogate becomes U+FFFD."""
    return text.encode("utf-8", "replace").decode()


@dataclass(frozen=True, slots=True)
class Row:
    """One exchange as stored."""

    id: int
    conversation: str
    prior: int | None
    started: str
    model: str
    backend: str
    request: dict[str, Any]
    messages: list[dict[str, Any]]
    reply: dict[str, Any] | None
    response: str
    partial: bool
    status: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cached_tokens: int | None
    cost: float | None
    duration: float | None
    exit_code: int | None
    error: str | None
    primary_backend: str | None = None
    base_url: str | None = None

    @property
    def reply_message(self) -> dict[str, Any] | None:
        """The reply as the next request sends it back: the message kept at the end, or the text that
        had arrived when the process died."""
        if self.reply is not None:
            return self.reply
        return {"role": "assistant", "content": self.response} if self.response.strip() else None


_COLUMNS = (
    "id, conversation, prior, started, model, backend, request, messages, reply, response, partial, status,"
    " finish_reason, prompt_tokens, completion_tokens, cached_tokens, cost, duration, exit_code, error,"
    " primary_backend, base_url"
)


def _row(values: tuple[Any, ...]) -> Row:
    (id_, conversation, prior, started, model, backend, request, messages, reply, response, partial, *rest) = values
    return Row(
        id_,
        conversation,
        prior,
        started,
        model,
        backend,
        json.loads(request),
        json.loads(messages),
        json.loads(reply) if reply else None,
        response,
        bool(partial),
        *rest,
    )


class LogStore:
    """The log database, opened (and created, 0600) on first use."""

    def __init__(self, path: Path | None = None, *, create: bool = True) -> None:
        self.path = path or log_path()
        if create:
            _create_private(self.path)
        elif not self.path.exists():
            raise FileNotFoundError(self.path)
        self._db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)  # autocommit: a write is durable
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL: a commit survives the process dying
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:  # a new file
            self._db.executescript(SCHEMA + f"PRAGMA user_version = {SCHEMA_VERSION};")
        elif version < SCHEMA_VERSION:  # written by an older protoshift: its rows kept, columns added
            for statement in (s for v in range(version + 1, SCHEMA_VERSION + 1) for s in MIGRATIONS[v]):
                with contextlib.suppress(sqlite3.OperationalError):  # another process added it first
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self._db.close()

    # -- writing ---------------------------------------------------------------------------------

    def start(self, conversation: str, prior: int | None, model: str, backend: str, request: JSONValue,
              messages: JSONValue, base_url: str | None = None) -> int:  # fmt: skip
        """A new row; `backend` is the chain's first (the one that answered is written when it ends)."""
        cursor = self._db.execute(
            "INSERT INTO exchanges (conversation, prior, started, model, backend, request, messages,"
            " primary_backend, base_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (conversation, prior, now(), storable(model), backend, dumps(request), dumps(messages), backend,
             None if base_url is None else storable(base_url)),
        )  # fmt: skip
        return int(cursor.lastrowid or 0)

    def progress(self, row: int, text: str) -> None:
        self._db.execute("UPDATE exchanges SET response = ? WHERE id = ?", (storable(text), row))

    def finish(self, row: int, fields: dict[str, Any]) -> None:
        names = ", ".join(f"{name} = ?" for name in fields)
        self._db.execute(f"UPDATE exchanges SET {names} WHERE id = ?", (*fields.values(), row))

    # -- reading ---------------------------------------------------------------------------------

    def rows(self, *, count: int = 0, search: str | None = None) -> list[Row]:
        """The newest `count` rows (0: all), newest first; `search`: whose messages or reply hold it."""
        where, args = "", []
        if search:
            where = " WHERE instr(lower(messages), lower(?)) OR instr(lower(response), lower(?))"
            args = [search, search]
        limit = f" LIMIT {int(count)}" if count else ""
        query = f"SELECT {_COLUMNS} FROM exchanges{where} ORDER BY id DESC{limit}"
        return [_row(values) for values in self._db.execute(query, args)]

    def conversation(self, conversation: str) -> list[Row]:
        query = f"SELECT {_COLUMNS} FROM exchanges WHERE conversation = ? ORDER BY id"
        return [_row(values) for values in self._db.execute(query, (conversation,))]

    def row(self, row_id: int) -> Row | None:
        query = f"SELECT {_COLUMNS} FROM exchanges WHERE id = ?"
        found = self._db.execute(query, (row_id,)).fetchone()
        return _row(found) if found else None

    def latest_conversation(self) -> str | None:
        found = self._db.execute("SELECT conversation FROM exchanges ORDER BY id DESC LIMIT 1").fetchone()
        return str(found[0]) if found else None

    def conversations_starting(self, prefix: str) -> list[str]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = "SELECT DISTINCT conversation FROM exchanges WHERE conversation LIKE ? ESCAPE '\\' LIMIT 3"
        return [str(found[0]) for found in self._db.execute(query, (escaped + "%",))]

    def history(self, row: Row, cache: dict[int, list[dict[str, Any]]] | None = None) -> list[dict[str, Any]]:
        """The messages a request that follows `row` sends first: the chain of rows up to it, with replies."""
        cache = {} if cache is None else cache
        chain: list[Row] = []
        current: Row | None = row
        while current is not None and current.id not in cache:
            chain.append(current)
            current = self.row(current.prior) if current.prior is not None else None
        messages = list(cache[current.id]) if current is not None else []
        for link in reversed(chain):
            messages.extend(link.messages)
            if (reply := link.reply_message) is not None:
                messages.append(reply)
            cache[link.id] = list(messages)
        return messages

    def sent(self, row: Row, cache: dict[int, list[dict[str, Any]]] | None = None) -> list[dict[str, Any]]:
        """The messages `row`'s request sent (its history without its own reply)."""
        prior = self.row(row.prior) if row.prior is not None else None
        before = self.history(prior, cache) if prior is not None else []
        return [*before, *row.messages]


def _create_private(path: Path) -> None:
    """The database and its folder exist, private: prompts and answers are nobody else's business."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


@contextlib.contextmanager
def opened(path: Path | None = None, *, create: bool = True) -> Iterator[LogStore]:
    store = LogStore(path, create=create)
    try:
        yield store
    finally:
        store.close()
