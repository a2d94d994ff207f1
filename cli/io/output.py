"""Writing data: JSON documents, JSONL lines and SSE streams, to stdout or to files."""

from __future__ import annotations

import json
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

# allow_nan=False: what protoshift writes is always JSON (Python would write NaN and Infinity as is).
_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
_pretty = json.JSONEncoder(ensure_ascii=False, indent=2, allow_nan=False).encode


def json_document(value: Any) -> bytes:
    """A whole JSON document as written to stdout or a file: indented, UTF-8, newline-terminated."""
    return _pretty(value).encode() + b"\n"


def json_line(value: Any) -> bytes:
    """One JSONL line: compact, UTF-8, newline-terminated."""
    return _compact(value).encode() + b"\n"


def stdout() -> IO[bytes]:
    return sys.stdout.buffer


def write_stdout(data: bytes, *, flush: bool = False) -> None:
    out = sys.stdout.buffer
    out.write(data)
    if flush:
        out.flush()


PRIVATE_MODE = 0o600  # files that may hold keys or private history: the config, the log, the line history


@contextmanager
def atomic_file(path: Path, *, private: bool = False) -> Iterator[IO[bytes]]:
    """Write to a temporary file beside `path`, then rename: a reader never sees half a file.

    The file gets the mode any program's output gets (0666 less the umask), or keeps the mode of
    the file it replaces; `private` files (keys, history) are 0600 whatever was there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mkstemp makes it 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            if not private:
                os.fchmod(fh.fileno(), _mode_for(path))
            yield fh
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~umask()


def umask() -> int:
    """The process's umask (read by setting it, then setting it back: there is no other portable way)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def quiet_broken_pipe() -> None:
    """The reader went away (`| head`): stop quietly, and keep Python from complaining at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
