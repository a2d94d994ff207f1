"""`protoshift logs`: the logged exchanges, newest first (`-n`, `-s TEXT`), one conversation in order
(`--cid`), as text for people or JSON lines for programs (`--json`), or where the log is (`--path`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from protoshift.cli.exits import OK
from protoshift.cli.io.console import Diagnostics
from protoshift.cli.io.output import json_line, write_stdout
from protoshift.cli.logs.store import LogStore, Row, log_path, opened
from protoshift.cli.pricing import format_cost

DEFAULT_COUNT = 10


@dataclass
class LogQuery:
    count: int | None = None  # None: 10 newest, or a whole conversation
    search: str | None = None
    cid: str | None = None
    json: bool = False
    path: bool = False


def run_logs(query: LogQuery, diag: Diagnostics) -> int:
    path = log_path()
    if query.path:
        write_stdout(f"{path}\n".encode())
        return OK
    if not path.exists():
        diag.warn(f"nothing logged yet ({path})")
        return OK
    with opened(path, create=False) as store:
        rows = _select(store, query)
        cache: dict[int, list[dict[str, Any]]] = {}
        for row in rows:
            write_stdout(json_line(_as_json(store, row, cache)) if query.json else _as_text(row))
    if not rows:
        diag.warn("no exchange matches" if query.search or query.cid else f"nothing logged yet ({path})")
    return OK


def _select(store: LogStore, query: LogQuery) -> list[Row]:
    if query.cid is None:
        return store.rows(count=DEFAULT_COUNT if query.count is None else query.count, search=query.search)
    from protoshift.cli.logs.recorder import find_conversation

    rows = store.conversation(find_conversation(store, query.cid))
    if query.search:
        needle = query.search.lower()
        rows = [r for r in rows if needle in r.response.lower() or needle in str(r.messages).lower()]
    return rows[-query.count :] if query.count else rows


# -- text -------------------------------------------------------------------------------------------


def _as_text(row: Row) -> bytes:
    lines = [_header(row)]
    for message in row.messages:
        lines.extend(_message_lines(message))
    if row.response:
        lines.append(row.response.rstrip("\n"))
    lines.append("")
    return ("\n".join(lines) + "\n").encode()


def _header(row: Row) -> str:
    via = row.backend
    if row.primary_backend and row.primary_backend != row.backend:
        via += f", fallback for {row.primary_backend}"  # the backend that answered is the one billed
    parts = [row.started[:19].replace("T", " ") + " UTC", row.conversation, f"{row.model} ({via})"]
    if row.prompt_tokens is not None or row.completion_tokens is not None:
        tokens = f"{row.prompt_tokens or 0} in / {row.completion_tokens or 0} out"
        parts.append(tokens + (f" ({row.cached_tokens} cached)" if row.cached_tokens else ""))
    if row.cost is not None:
        parts.append(format_cost(row.cost))
    if row.duration is not None:
        parts.append(f"{row.duration:.1f}s")
    parts.extend(_state(row))
    return "## " + " · ".join(parts)


def _state(row: Row) -> list[str]:
    if row.status == "running":
        return ["partial: the process ended before the reply did"]
    if row.status == "cut":
        return ["partial: cut (Ctrl-C)"]
    if row.status == "error":
        return [f"{'partial; ' if row.response else ''}error: {row.error}"]
    if row.finish_reason not in (None, "stop", "tool_calls"):
        return [f"finish: {row.finish_reason}"]
    return []


def _message_lines(message: dict[str, Any]) -> list[str]:
    role = message.get("role")
    text = _content_text(message.get("content"))
    if role == "user":
        return [f"> {line}" if line else ">" for line in text.splitlines() or [""]]
    if role in ("system", "developer"):
        return [f"{role}: {text}"]
    if role == "tool":
        return [f"tool {message.get('tool_call_id', '')}: {text}"]
    return [text] if text else []


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    pieces = []
    for part in content:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text":
            pieces.append(str(part.get("text", "")))
        elif kind == "image_url":
            url = str((part.get("image_url") or {}).get("url", ""))
            pieces.append("[image]" if url.startswith("data:") else f"[image {url}]")
        elif kind == "file":
            pieces.append(f"[file {(part.get('file') or {}).get('filename') or ''}]".replace(" ]", "]"))
    return "\n".join(pieces)


# -- JSON -------------------------------------------------------------------------------------------


def _as_json(store: LogStore, row: Row, cache: dict[int, list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        "id": row.id,
        "conversation": row.conversation,
        "time": row.started,
        "model": row.model,
        "backend": row.backend,  # the one that answered
        "primary_backend": row.primary_backend or row.backend,  # the chain's first: where it was sent
        "request": {**row.request, "messages": store.sent(row, cache)},
        "response": row.response,
        "reply": row.reply_message,
        "partial": row.partial,
        "status": row.status,
        "finish_reason": row.finish_reason,
        "usage": {
            "prompt_tokens": row.prompt_tokens,
            "completion_tokens": row.completion_tokens,
            "cached_tokens": row.cached_tokens,
        },
        "cost": row.cost,
        "duration": row.duration,
        "exit_code": row.exit_code,
        "error": row.error,
    }
