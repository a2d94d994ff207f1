"""The time limits of one attempt, kept above the transport (whatever moves the bytes underneath).

- `total`: the most one attempt may take, from sending to the last byte of the answer, like curl's
  `--max-time`. A server that trickles a byte a second, or streams pings or text forever, is cut
  when it runs out, as surely as a silent one.
- `idle` (streams): the most the stream may go without a content event. Pings do not count (a
  server can send them forever); every other event does, so a long generation that keeps
  producing text, thinking or tool input goes on for as long as it needs.

Every await of the attempt (the response headers, each read of the body) runs under
`asyncio.timeout_at` of the nearest of the two, as absolute times: a read that brings a byte but
no event does not move the idle limit. The defaults live with the backends (`cloud.backend`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from typing import Literal, TypeVar

__all__ = ["Deadline", "DeadlineExceeded"]

T = TypeVar("T")
Limit = Literal["total", "idle"]


class DeadlineExceeded(Exception):
    """One of the attempt's limits ran out: which one, and its length in seconds."""

    def __init__(self, limit: Limit, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        super().__init__(f"{limit} limit of {seconds:g}s")


class Deadline:
    """The limits of one attempt, started when it is made (inside the running event loop)."""

    __slots__ = ("_idle", "_idle_at", "_loop", "_total", "_total_at")

    def __init__(self, *, total: float | None = None, idle: float | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        now = self._loop.time()
        self._total = total
        self._total_at = None if total is None else now + total
        self._idle = idle
        self._idle_at = None if idle is None else now + idle

    def touch(self) -> None:
        """A content event arrived: the idle limit starts again."""
        if self._idle is not None:
            self._idle_at = self._loop.time() + self._idle

    async def bounded(self, awaitable: Awaitable[T]) -> T:
        """`await awaitable`, or DeadlineExceeded when the nearest limit runs out first."""
        limit, when = self._nearest()
        if when is None:
            return await awaitable
        try:
            async with asyncio.timeout_at(when) as scope:
                return await awaitable
        except TimeoutError:
            if not scope.expired():
                raise  # a TimeoutError of the awaitable's own
            raise DeadlineExceeded(limit, self._seconds(limit)) from None

    async def reads(self, stream: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
        """The reads of a body, each under the nearest limit."""
        while True:
            try:
                data = await self.bounded(anext(stream))
            except StopAsyncIteration:
                return
            yield data

    def _nearest(self) -> tuple[Limit, float | None]:
        if self._idle_at is not None and (self._total_at is None or self._idle_at < self._total_at):
            return "idle", self._idle_at
        return "total", self._total_at

    def _seconds(self, limit: Limit) -> float:
        seconds = self._idle if limit == "idle" else self._total
        return seconds if seconds is not None else 0.0
