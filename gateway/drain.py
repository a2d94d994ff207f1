"""Shutting down within a grace period: every operation runs under a deadline that is none until
the server begins to drain (SIGTERM), and the end of the grace period from then on. An operation
still running then is cut the way its API says so — a whole answer gets a 503 in the surface's
shape, a stream its surface's error event and a proper end of the body — rather than left to the
server, which would drop the connection mid-body.

One `asyncio.timeout` per operation, rescheduled when the drain begins: nothing is polled, and an
operation in a server that is not draining pays for one timer object.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

from protoshift.gateway.errors import HTTPFailure, retry_after

__all__ = ["SHUTTING_DOWN", "Drain", "ShutdownCut", "shutting_down"]


class ShutdownCut(Exception):
    """The grace period ended while the operation ran."""


def shutting_down() -> HTTPFailure:
    """What a client is told of a request cut by shutdown: come back (to another replica, or this one
    once it is back); Anthropic's clients hear it as overloaded, which they retry."""
    return HTTPFailure(
        503,
        "protoshift is shutting down: this request was cut at the end of its grace period; try again",
        "shutdown",
        code="server_shutting_down",
        headers=retry_after(1),
        upstream_type="overloaded_error",
    )


SHUTTING_DOWN = "cut by shutdown: the grace period ended"  # how the log says it


class Drain:
    def __init__(self) -> None:
        self.deadline: float | None = None  # the loop's time at which operations are cut
        self._open: set[asyncio.Timeout] = set()

    def bounded(self) -> Bounded:
        """`async with drain.bounded():` the operation inside, cut by `ShutdownCut` at the end of the
        grace period, if one begins."""
        return Bounded(self)

    def begin(self, grace: float) -> None:
        """Cut every operation, in flight or to come, `grace` seconds from now (call on the loop)."""
        deadline = asyncio.get_running_loop().time() + grace
        if self.deadline is not None and self.deadline <= deadline:
            return  # a second signal does not lengthen the grace period
        self.deadline = deadline
        for timeout in self._open:
            timeout.reschedule(deadline)


class Bounded:
    """One operation's bound (a class, not a generator-based manager: it is on every request's path)."""

    __slots__ = ("_drain", "_timeout")

    def __init__(self, drain: Drain) -> None:
        self._drain = drain
        self._timeout = asyncio.timeout(drain.deadline)

    async def __aenter__(self) -> None:
        await self._timeout.__aenter__()
        self._drain._open.add(self._timeout)

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._drain._open.discard(self._timeout)
        try:
            await self._timeout.__aexit__(kind, exc, tb)
        except TimeoutError:
            if self._timeout.expired():
                raise ShutdownCut from None
            raise  # another limit's
