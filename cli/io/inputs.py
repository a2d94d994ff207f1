"""Reading what the user hands in: paths, `-`, stdin, folders; JSON and JSONL with precise error places.

Every JSON document or line the CLI reads goes through `load_json` (or `parse_json`, its InputError
form): JSON's grammar (the error names line and column), then what the translator holds every input
to (translator.checks: no NaN or Infinity, no lone surrogate, integers of at most 100 digits, nesting
at most 200 deep; the error names the JSON path). Python's json module takes NaN, `\\ud800` and
numbers of any size, and recurses until it fails; nothing of that gets past here.
"""

from __future__ import annotations

import io
import json
import os
import re
import select
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from protoshift.cli.exits import InputError
from protoshift.translator.checks import MAX_DEPTH, MAX_INT_DIGITS, json_problem, printable

STDIN = "-"
READ_SIZE = 65536
# The most one input read whole may hold: four times Anthropic's largest body (a 256 MB Message
# Batch), and a bound on memory when the input never ends (`/dev/zero`, a runaway pipe).
MAX_INPUT_BYTES = 1 << 30


@dataclass(frozen=True, slots=True)
class Source:
    """One input: a file, or stdin when `path` is None. `name` is how errors refer to it (printable:
    a file name that is not valid UTF-8 comes from the command line with lone surrogates in it)."""

    name: str
    path: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", printable(self.name))

    @property
    def is_stdin(self) -> bool:
        return self.path is None

    def read_bytes(self) -> bytes:
        """The whole input, at most MAX_INPUT_BYTES."""
        try:
            if self.path is None:
                return self._capped(sys.stdin.buffer)
            with self.path.open("rb") as fh:
                return self._capped(fh)
        except OSError as exc:
            raise InputError(f"{self.name}: cannot read: {exc.strerror or exc}") from None

    def _capped(self, fh: IO[bytes]) -> bytes:
        data = fh.read(MAX_INPUT_BYTES + 1)
        if len(data) > MAX_INPUT_BYTES:
            raise InputError(f"{self.name}: more than {MAX_INPUT_BYTES >> 30} GiB; not read any further")
        return data

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


def detach_stdin() -> None:
    """`--no-stdin`: stdin becomes /dev/null for the rest of the run, as `ssh -n` makes it, so a
    command in a shell loop never takes the lines the loop is reading (`while read -r q; do ...;
    done < questions.txt`). Every reader then sees what an empty stdin gives; nothing else changes."""
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        os.dup2(null, 0)
    finally:
        os.close(null)


def stdin_has_data(wait: float = 0.1) -> bool:
    """Whether something was piped or redirected into stdin, without reading it (a pipe gives up one
    byte, which is why this is asked only to refuse stdin). A pipe is waited on for `wait` seconds at
    most: a writer that keeps it open and silent has piped nothing."""
    try:
        if sys.stdin is None or sys.stdin.isatty():
            return False
        fd = sys.stdin.fileno()
    except (OSError, ValueError, io.UnsupportedOperation):  # an in-memory stdin (main() driven in-process)
        return _buffered_stdin_has_data()
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISREG(mode):  # `< file`: what is left past the current offset
            return os.lseek(fd, 0, os.SEEK_CUR) < os.fstat(fd).st_size
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            ready, _, _ = select.select([fd], [], [], wait)
            return bool(ready) and bool(os.read(fd, 1))
    except (OSError, ValueError):
        return False
    return False  # /dev/null, a device


def _buffered_stdin_has_data() -> bool:
    try:
        return bool(sys.stdin.buffer.read(1))
    except (AttributeError, OSError, ValueError):
        return False


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


class JSONInputError(ValueError):
    """JSON text the CLI refuses: the reason, and where (a line and column, or a JSON path)."""

    def __init__(self, reason: str, *, line: int | None = None, column: int | None = None, path: str | None = None):
        self.reason, self.line, self.column, self.path = reason, line, column, path
        super().__init__(self.describe())

    def describe(self) -> str:
        """Without the file: `invalid JSON: Expecting value (column 5)`, or `messages[0].content: ...`."""
        if self.path is not None:
            return f"{self.path}: {self.reason}"
        column = f" (column {self.column})" if self.column is not None else ""
        return f"invalid JSON: {self.reason}{column}"

    def at(self, where: str) -> str:
        """With the file: `request.json:3:14: invalid JSON: ...`, or `request.json: messages[0].content: ...`."""
        if self.path is None and self.line is not None:
            return f"{where}:{self.line}:{self.column}: invalid JSON: {self.reason}"
        return f"{where}: {self.describe()}"


def _trailing_comma(exc: json.JSONDecodeError) -> int | None:
    """The offset of the comma when the error is a `,` right before `]` or `}`, else None."""
    if exc.msg not in ("Expecting value", "Expecting property name enclosed in double quotes"):
        return None
    doc, end = exc.doc, exc.pos
    if end >= len(doc) or doc[end] not in "]}":
        return None
    before = len(doc[:end].rstrip())
    return before - 1 if before and doc[before - 1] == "," else None


def load_json(data: bytes | str, line_offset: int = 0) -> Any:
    """JSON text -> value, or JSONInputError (see the module's doc)."""
    try:
        value = json.loads(data, parse_int=_int)
    except json.JSONDecodeError as exc:
        comma = _trailing_comma(exc)
        if comma is not None:  # Python's place is the `]` or `}` after it, often lines below
            raise JSONInputError(
                "trailing comma (JSON allows none before ] or })",
                line=exc.doc.count("\n", 0, comma) + 1 + line_offset,
                column=comma - exc.doc.rfind("\n", 0, comma),
            ) from None
        raise JSONInputError(exc.msg, line=exc.lineno + line_offset, column=exc.colno) from None
    except UnicodeDecodeError as exc:
        raise JSONInputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except RecursionError:
        line, column = _deep_place(data)
        line = None if line is None else line + line_offset
        raise JSONInputError(f"nested deeper than {MAX_DEPTH} levels", line=line, column=column) from None
    problem = json_problem(value)
    if problem is not None:
        path, reason = problem
        raise JSONInputError(reason, path=path)
    return value


def parse_json(data: bytes | str, where: str, line_offset: int = 0) -> Any:
    """JSON text -> value; anything `load_json` refuses -> InputError naming the place."""
    try:
        return load_json(data, line_offset)
    except JSONInputError as exc:
        raise InputError(exc.at(where)) from None


# Any integer this long is refused (by json_problem, with its path): it is not turned into a Python
# int, which past 4,300 digits raises ValueError from inside json.loads, with no place to name.
_HUGE = 10**MAX_INT_DIGITS


def _int(text: str) -> int:
    return int(text) if len(text) <= MAX_INT_DIGITS + 1 else _HUGE


def _deep_place(data: bytes | str) -> tuple[int | None, int | None]:
    """Where nesting got too deep, by pydantic-core's parser (it stops at 200 levels and says where).
    Imported here only: this is rare, and the import costs start-up time."""
    from pydantic_core import from_json

    try:
        from_json(data)
    except ValueError as exc:
        match = re.search(r"at line (\d+) column (\d+)", str(exc))
        if match:
            return int(match.group(1)), int(match.group(2))
    return None, None


def iter_jsonl(data: bytes, where: str) -> Iterator[tuple[int, bytes]]:
    """(line number, line) for each non-blank line; blank lines are skipped, not counted as items."""
    for number, line in enumerate(data.splitlines(), start=1):
        if line.strip():
            yield number, line
