"""stderr for people, stdout for data. Everything printed for a person goes through here."""

from __future__ import annotations

import os
import sys
from typing import IO

PROG = "protoshift"


class Diagnostics:
    """Lines on stderr: errors always, warnings and notes unless quiet, details only when verbose."""

    def __init__(self, *, quiet: bool = False, verbose: bool = False, stream: IO[str] | None = None) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self._stream = stream

    @classmethod
    def checked(cls, *, quiet: bool = False, verbose: bool = False) -> Diagnostics:
        """From the command line's -q and -v, which say opposite things: both at once is bad usage."""
        if quiet and verbose:
            from protoshift.cli.exits import InputError

            raise InputError("-q (errors only) and -v (more detail) contradict each other", hint="choose one")
        return cls(quiet=quiet, verbose=verbose)

    @property
    def stream(self) -> IO[str]:
        return self._stream or sys.stderr

    def error(self, message: str, hint: str | None = None) -> None:
        self._write(f"{PROG}: error: {message}")
        if hint:
            self.hint(hint)

    def hint(self, text: str) -> None:
        self._write(f"{PROG}: hint: {text}")

    def notice(self, message: str) -> None:
        """A line a person must see even with -q (how an interrupted run ended)."""
        self._write(f"{PROG}: {message}")

    def warn(self, message: str) -> None:
        if not self.quiet:
            self._write(f"{PROG}: {message}")

    def detail(self, message: str) -> None:
        if self.verbose:
            self._write(f"{PROG}: {message}")

    def _write(self, line: str) -> None:
        stream = self.stream
        try:
            stream.write(line + "\n")
            stream.flush()
        except (BrokenPipeError, ValueError):  # stderr gone: nothing more useful to do
            pass


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def no_color() -> bool:
    return "NO_COLOR" in os.environ
