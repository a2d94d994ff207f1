"""One JSON line per request, on stderr or in a file: what an operator needs to follow traffic
(id, route, model, status, tokens, upstream and total milliseconds) and never a key or, unless
asked with --log-bodies, a prompt."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any

from pydantic_core import to_json


class RequestLog:
    def __init__(self, path: Path | None = None, *, bodies: bool = False) -> None:
        self.bodies = bodies
        self._fd = sys.stderr.fileno() if path is None else os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._owns_fd = path is not None

    def write(self, entry: dict[str, Any]) -> None:
        entry["time"] = round(time.time(), 3)
        # One write per line: lines never interleave. A full disk or a closed stderr must not take
        # requests down with it.
        with contextlib.suppress(OSError):
            os.write(self._fd, to_json(entry) + b"\n")

    def close(self) -> None:
        if self._owns_fd:
            os.close(self._fd)
