"""What cloud/ tells its caller while it works. cloud/ knows no terminal: the CLI turns events into
stderr lines (and drops `request`/`response` unless `-v`, everything unless not `-q`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["CloudEvent", "EventKind", "EventSink", "ignore_events"]

EventKind = Literal["retry", "fallback", "note", "request", "response", "breaker"]


@dataclass(frozen=True, slots=True)
class CloudEvent:
    """One human line. `message` never contains a key.

    - `retry`: an attempt failed and another is coming (`anthropic: 529 overloaded_error, retrying in 0.8s (attempt 2 of 3)`)
    - `fallback`: a backend failed before any output and the next one takes the request
    - `note`: translation dropped or approximated something the caller asked for
    - `request` / `response`: the `-v` trace (method, URL, headers with keys as `***`; status, request id)
    - `breaker`: the circuit breaker opened or closed
    """

    kind: EventKind
    message: str
    backend: str = ""

    def __str__(self) -> str:
        return self.message


EventSink = Callable[[CloudEvent], None]


def ignore_events(event: CloudEvent) -> None:
    """The default sink."""
