"""Batch files on disk: streaming the input, checking all of it up front, resuming an output, appending lines.

Memory stays flat as files grow: the input is read line by line (twice: once to check, once to send),
and only custom_ids are kept between lines (to find duplicates, and the ones already done), as
8-byte fingerprints (batch.ids.IdSet).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from protoshift.cli.batch.ids import IdSet
from protoshift.cli.exits import InputError
from protoshift.cli.io.console import Diagnostics
from protoshift.cli.io.inputs import JSONInputError, load_json
from protoshift.cli.io.output import atomic_file
from protoshift.cli.settings import Settings
from protoshift.translator import TranslationError
from protoshift.translator.batch import BatchItem, batch_body, parse_input_line

MAX_REPORTED = 20  # lines of a results file that are not results, listed one by one; past this, a count


def input_path(text: str) -> Path:
    if text == "-":
        raise InputError("a batch INPUT must be a file: it is read twice (checked whole, then sent)")
    path = Path(text)
    if not path.is_file():
        raise InputError(f"{text}: no such file")
    return path


def iter_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, line) for each non-blank line, read as it goes."""
    try:
        with path.open("rb") as fh:
            for number, line in enumerate(fh, start=1):
                if line.strip():
                    yield number, line
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


class BadLine(ValueError):
    """An input line that cannot be run; `str()` says why (without the place)."""


def parse_line(line: bytes, number: int) -> BatchItem:
    """One input line -> `BatchItem`. Invalid JSON or a wrong shape -> `BadLine`."""
    try:
        value = load_json(line)
    except JSONInputError as exc:
        raise BadLine(exc.describe()) from None
    try:
        return parse_input_line(value, number)
    except TranslationError as exc:
        raise BadLine(str(exc)) from None


@dataclass
class CheckReport:
    """What the up-front pass found. `lines`: valid request lines."""

    lines: int = 0
    invalid: int = 0
    notes: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    ids: IdSet = field(default_factory=IdSet)


def check_input(
    path: Path,
    diag: Diagnostics,
    check_body: Callable[[BatchItem], list[tuple[str, str, str]]] | None,
) -> CheckReport:
    """Every line: valid JSON, a batch line or a chat request, a body `check_body` accepts (it returns
    the lossy translation notes), a custom_id not seen before. Every problem of every line is
    reported, one error line each, with the line number and the JSON path; any problem ->
    InputError (exit 2), and nothing has been sent."""
    report = CheckReport()
    seen = report.ids
    name = str(path)

    def bad(number: int, messages: list[str]) -> None:
        report.invalid += 1
        for message in messages:
            diag.error(f"{name}:{number}: {message}")

    for number, line in iter_lines(path):
        try:
            item = parse_line(line, number)
            if check_body is not None:
                report.notes.update(check_body(item))
        except BadLine as exc:
            bad(number, [str(exc)])
            continue
        except TranslationError as exc:
            bad(number, [str(problem) for problem in exc.problems])
            continue
        if not seen.add(item.custom_id) and (duplicate := _duplicate(path, item.custom_id, number, report)):
            bad(number, [duplicate])
            continue
        report.lines += 1
    if report.invalid:
        lines = "line" if report.invalid == 1 else "lines"
        raise InputError(f"{name}: {report.invalid} invalid {lines}; nothing was sent")
    for (note_path, action, reason), count in sorted(report.notes.items()):
        diag.warn(f"note: {note_path}: {action} on {count} {'line' if count == 1 else 'lines'}: {reason}")
    return report


def _duplicate(path: Path, custom_id: str, number: int, report: CheckReport) -> str | None:
    """Why line `number` is refused, its custom_id seen before (by fingerprint); None when that was a
    fingerprint shared by two ids. The earlier line is looked up only when the message is shown."""
    if report.invalid >= MAX_REPORTED:
        return f"custom_id {custom_id!r} is already used on an earlier line"  # which one: not looked up past 20
    first = _first_line(path, custom_id, number)
    return None if first is None else f"custom_id {custom_id!r} is already used on line {first}"


def _first_line(path: Path, custom_id: str, before: int) -> int | None:
    """The number of the first line before line `before` with `custom_id`; None when there is none
    (two ids that share a fingerprint, a chance of 2^-64: not a duplicate)."""
    for number, line in iter_lines(path):
        if number >= before:
            break
        with contextlib.suppress(BadLine):
            if parse_line(line, number).custom_id == custom_id:
                return number
    return None


@dataclass
class ResumeState:
    done: IdSet = field(default_factory=IdSet)
    failed: IdSet = field(default_factory=IdSet)
    torn: bool = False

    def keep_only(self, ids: IdSet) -> None:
        """Forget the ids that are not in the input (an OUTPUT shared with another input)."""
        self.done.keep_only(ids)
        self.failed.keep_only(ids)


# error.code of the lines a stopped run wrote for the requests it did not finish (batch.run).
STOPPED = "stopped"


def scan_output(path: Path) -> ResumeState:
    """The custom_ids already in OUTPUT (a run to resume). A torn last line — the process was killed
    in the middle of writing it — is cut off, and `stopped` lines are taken out, so their requests
    run again."""
    state = ResumeState()
    try:
        fh = path.open("r+b")
    except FileNotFoundError:
        return state
    except OSError as exc:
        raise InputError(f"{path}: cannot open: {exc.strerror or exc}") from None
    stopped = False
    with fh:
        good_end = 0
        for number, line in enumerate(fh, start=1):
            if not line.endswith(b"\n"):
                state.torn = True
                fh.truncate(good_end)
                break
            good_end += len(line)
            if not line.strip():
                continue
            custom_id, error = _output_line(line, f"{path}:{number}")
            if isinstance(error, dict) and error.get("code") == STOPPED:
                stopped = True
                continue
            state.done.add(custom_id)
            if error is not None:
                state.failed.add(custom_id)
    if stopped:
        _drop_stopped_lines(path)
    return state


def _output_line(line: bytes, where: str) -> tuple[str, Any]:
    """(custom_id, error) of one OUTPUT line; anything else means OUTPUT is not a batch output."""
    try:
        value: Any = load_json(line)
    except JSONInputError:
        raise InputError(f"{where}: not an output line (invalid JSON)", hint="is OUTPUT the right file?") from None
    custom_id = value.get("custom_id") if isinstance(value, dict) else None
    if not isinstance(custom_id, str):
        raise InputError(f"{where}: not a batch output line (no custom_id)")
    return custom_id, value.get("error")


def _drop_stopped_lines(path: Path) -> None:
    """OUTPUT without its `stopped` lines (their requests are about to run again), replaced atomically."""
    with atomic_file(path) as out, path.open("rb") as fh:
        for line in fh:
            value = load_json(line) if line.strip() else None
            error = value.get("error") if isinstance(value, dict) else None
            if not (isinstance(error, dict) and error.get("code") == STOPPED):
                out.write(line)


class AppendOnlyOutput:
    """OUTPUT opened for appending. One `write()` per line, no buffering: whatever kills the process,
    every line before the last is whole, and the last is whole or torn (and `scan_output` cuts it).
    A write that fails (disk full, file size limit) cuts off what it did write before raising: OUTPUT
    stays whole lines only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)  # less the umask
            self._size = os.fstat(self._fd).st_size  # where the next line starts (the run holds the lock)
        except OSError as exc:
            raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None

    def write(self, line: bytes) -> None:
        view = memoryview(line)
        try:
            while view:  # a regular file takes it in one go; loop anyway on a short write
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._size)
            raise
        self._size += len(line)

    def close(self) -> None:
        os.close(self._fd)


class StdoutLines:
    """`batch run -o -`: each line to stdout as it finishes, flushed (nothing to cut back on a pipe)."""

    path = None

    def write(self, line: bytes) -> None:
        out = sys.stdout.buffer
        out.write(line)
        out.flush()

    def close(self) -> None:
        pass


class OutputLock:
    """`.OUTPUT.lock` beside OUTPUT, held (`fcntl.flock`) for the whole run: two runs appending to one
    OUTPUT would both send everything. A second run is refused at once, naming the first one's pid.
    The lock file is removed at the end; a run that opened it just before is not fooled (it checks
    that what it locked is still the file at that path)."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.path = output.with_name(f".{output.name}.lock")
        self._fd: int | None = None

    def __enter__(self) -> OutputLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = self._lock()
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError as exc:
            raise InputError(f"{self.path}: cannot lock: {exc.strerror or exc}") from None
        self._fd = fd
        return self

    def _lock(self) -> int:
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
                os.close(fd)
                raise InputError(
                    f"{self.output} is being written by another protoshift run (pid {holder})",
                    hint="wait for it to end, or give another -o",
                ) from None
            if _same_file(fd, self.path):
                return fd
            os.close(fd)  # removed by a run that just ended: lock the file that is there now

    def __exit__(self, *exc_info: object) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            os.close(self._fd)  # closing releases the lock
            self._fd = None


def _same_file(fd: int, path: Path) -> bool:
    try:
        there = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (there.st_dev, there.st_ino)


def prepare_body(body: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The request as it will be sent: non-streaming, `-m` applied, a default model when it has none."""
    request = batch_body(body)
    if settings.model or "model" not in request:
        request["model"] = settings.default_model(settings.backend)
    return request
