"""A transport made of several small connection pools, for many requests in flight at once.

httpx's connection pool (httpcore's `AsyncConnectionPool`) slows down sharply as the number of
connections and waiting requests in one pool grows: every request start and finish rescans the
pool's connections and its queue (encode/httpx#3215, encode/httpcore#1035). Measured here
(benchmarks/batch.py, zero-latency local server, 2 cores): one pool at 64 in flight gives about a
third of the requests per second of the same 64 spread over pools of 4 connections.

`ShardedTransport` keeps each pool small and hands every request to the pool with the fewest
requests in flight, so no request queues inside a pool while another has a free connection. It is
a plain `httpx.AsyncBaseTransport`: the backend above it keeps its one `AsyncClient`, its one
retry policy and its one circuit breaker; only the sockets are spread out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx

__all__ = ["DEFAULT_CONNECTIONS_PER_POOL", "ShardedTransport"]

DEFAULT_CONNECTIONS_PER_POOL = 4


class _Counted(httpx.AsyncByteStream):
    """A response body that tells its pool when it is done with (read to the end or closed)."""

    __slots__ = ("_done", "_inner", "_released")

    def __init__(self, inner: httpx.AsyncByteStream, done: Callable[[], None]) -> None:
        self._inner = inner
        self._done = done
        self._released = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._release()

    def _release(self) -> None:
        if not self._released:
            self._released = True
            self._done()


class ShardedTransport(httpx.AsyncBaseTransport):
    """`concurrency` connections in pools of at most `per_pool`; least-loaded dispatch."""

    def __init__(
        self,
        concurrency: int,
        *,
        per_pool: int = DEFAULT_CONNECTIONS_PER_POOL,
        make_pool: Callable[[httpx.Limits], httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        if concurrency < 1 or per_pool < 1:
            raise ValueError("concurrency and per_pool must be >= 1")
        shards = -(-concurrency // per_pool)
        size = -(-concurrency // shards)
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        if make_pool is None:
            ssl_context = httpx.create_ssl_context()  # one for all pools: each costs ~30 ms to load

            def make_pool(lim: httpx.Limits) -> httpx.AsyncBaseTransport:
                return httpx.AsyncHTTPTransport(limits=lim, verify=ssl_context)

        build = make_pool
        self._pools = [build(limits) for _ in range(shards)]
        self._in_flight = [0] * shards

    @property
    def pools(self) -> int:
        return len(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        loads = self._in_flight
        index = loads.index(min(loads))
        loads[index] += 1

        def done() -> None:
            loads[index] -= 1

        try:
            response = await self._pools[index].handle_async_request(request)
        except BaseException:
            done()
            raise
        stream = response.stream
        if response.is_closed or not isinstance(stream, httpx.AsyncByteStream):  # body already read
            done()
            return response
        response.stream = _Counted(stream, done)
        return response

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()
