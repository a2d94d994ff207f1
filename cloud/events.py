"""What cloud/ tells its caller while it works. cloud/ knows no terminal: the CLI turns events into
stderr lines (and drops `request`/`response` unless `-v`, everything unless not `-q`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

__all__ = ["CloudEvent", "EventKind", "EventSink", "ignore_events"]

EventKind = Literal["retry", "fallback", "note", "request", "response", "breaker"]


class CloudEvent:
    """One human line. `message` never contains a key.

    - `retry`: an attempt failed and another is coming (`anthropic: 529 overloaded_error, retrying in 0.8s (attempt 2 of 3)`)
    - `fallback`: a backend failed before any output and the next one takes the request
    - `note`: translation dropped or approximated something the caller asked for
    - `request` / `response`: the `-v` trace (method, URL, headers with keys as `***`; status, request id)
    - `breaker`: the circuit breaker opened or closed

    `message` may be given as a function that makes it: it runs the first time `message` is read, so
    the `-v` trace of every request costs nothing when no one shows it (a sink that drops
    `request`/`response` events without reading them).
    """

    __slots__ = ("_make", "_message", "backend", "kind")

    def __init__(self, kind: EventKind, message: str | Callable[[], str], backend: str = "") -> None:
        self.kind: EventKind = kind
        self.backend = backend
        self._message: str | None = message if isinstance(message, str) else None
        self._make: Callable[[], str] | None = None if isinstance(message, str) else message

    @property
    def message(self) -> str:
        if self._message is None:
            assert self._make is not None
            self._message, self._make = self._make(), None
        return self._message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"CloudEvent(kind={self.kind!r}, message={self.message!r}, backend={self.backend!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CloudEvent):
            return NotImplemented
        return (self.kind, self.message, self.backend) == (other.kind, other.message, other.backend)

    def __hash__(self) -> int:
        return hash((self.kind, self.message, self.backend))


EventSink = Callable[[CloudEvent], None]


def ignore_events(event: CloudEvent) -> None:
    """The default sink."""
