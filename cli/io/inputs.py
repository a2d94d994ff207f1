"""Reading what the user hands in: paths, `-`, stdin, folders; JSON and JSONL with precise error places."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protoshift.cli.exits import InputError

STDIN = "-"
READ_SIZE = 65536


@dataclass(frozen=True, slots=True)
class Source:
    """One input: a file, or stdin when `path` is None. `name` is how errors refer to it."""

    name: str
    path: Path | None = None

    @property
    def is_stdin(self) -> bool:
        return self.path is None

    def read_bytes(self) -> bytes:
        if self.path is None:
            return sys.stdin.buffer.read()
        try:
            return self.path.read_bytes()
        except OSError as exc:
            raise InputError(f"{self.name}: cannot read: {exc.strerror or exc}") from None

    def iter_bytes(self) -> Iterator[bytes]:
        """The input as it arrives, for streams (a pipe from curl is translated live)."""
        if self.path is None:
            fd = sys.stdin.buffer.fileno()
            while chunk := os.read(fd, READ_SIZE):
                yield chunk
            return
        try:
            with self.path.open("rb") as fh:
                while chunk := fh.read(READ_SIZE):
                    yield chunk
        except OSError as exc:
            raise InputError(f"{self.name}: cannot read: {exc.strerror or exc}") from None


def resolve_sources(inputs: list[str] | None, *, suffixes: tuple[str, ...] = (".json",)) -> list[Source]:
    """INPUT... -> sources. No INPUT reads stdin unless it is a terminal; a folder means its files."""
    if not inputs:
        if sys.stdin.isatty():
            raise InputError("no input: give a file, or pipe JSON into stdin", hint="protoshift translate request FILE")
        return [Source("<stdin>")]
    sources: list[Source] = []
    for item in inputs:
        if item == STDIN:
            sources.append(Source("<stdin>"))
            continue
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in suffixes)
            if not found:
                raise InputError(f"{item}: no {' or '.join(suffixes)} files in this folder")
            sources.extend(Source(str(p), p) for p in found)
        elif path.exists():
            sources.append(Source(item, path))
        else:
            raise InputError(f"{item}: no such file")
    if sum(s.is_stdin for s in sources) > 1:
        raise InputError("stdin (-) can be read only once")
    return sources


def parse_json(data: bytes | str, where: str, line_offset: int = 0) -> Any:
    """JSON text -> value; invalid JSON -> InputError naming the place (`file:line:col`)."""
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        line = exc.lineno + line_offset
        raise InputError(f"{where}:{line}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def iter_jsonl(data: bytes, where: str) -> Iterator[tuple[int, bytes]]:
    """(line number, line) for each non-blank line; blank lines are skipped, not counted as items."""
    for number, line in enumerate(data.splitlines(), start=1):
        if line.strip():
            yield number, line
