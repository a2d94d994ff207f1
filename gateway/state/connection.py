"""The one Redis (or Valkey) every replica of a gateway shares: its address, and every call to it bounded.

`SharedState.call(op)` runs `op(redis)` within `timeout` (250 ms by default). A call that fails or
takes longer marks the state down: for the next `backoff` seconds calls fail at once (no request
waits on a Redis that is gone), then one is let through to try again; the client reconnects by
itself. Each transition is one event (`state_down`, `state_up`) for the log, and a failure counts in
`failures` for the metrics. What a caller does with `StateUnavailable` is its policy: with
`fail="open"` (the default) the limits, the breaker and the stored responses fall back to this
replica's own state; with `fail="closed"` the gateway refuses what needs the shared state.

The client library is redis-py's asyncio client with hiredis (benchmarks/state_clients.py measures it
beside valkey-glide): about the same round trip; one call at a time (the gateway's case: a call or two
per request) redis-py takes a little less CPU, with 64 calls in flight glide about 0.6x and twice the
throughput. glide pulls in 43 MB (redis-py 4 MB), reaches a unix socket only without TLS or a cluster
(2.6), and takes no URL; redis-py reads `redis://`, `rediss://` and `unix://` URLs as they are.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "DEFAULT_BACKOFF",
    "DEFAULT_TIMEOUT",
    "PASSWORD_ENV",
    "FailMode",
    "Script",
    "SharedState",
    "StateURL",
    "StateUnavailable",
]

T = TypeVar("T")
FailMode = Literal["open", "closed"]

DEFAULT_TIMEOUT = 0.25  # seconds one call to Redis may take, connecting included
DEFAULT_BACKOFF = 1.0  # seconds calls fail at once after a failure, before one tries again
PASSWORD_ENV = "PROTOSHIFT_STATE_PASSWORD"  # the password, kept out of the URL (and so out of `ps`)
_SCHEMES = ("redis", "rediss", "unix")


class StateUnavailable(Exception):
    """The shared state did not answer (down, slow, or refusing): the caller's policy decides."""


@dataclass(frozen=True, slots=True)
class StateURL:
    """`redis://HOST:PORT/DB`, `rediss://...` (TLS), `unix:///path/to/socket?db=N`; a password in the URL
    or in PROTOSHIFT_STATE_PASSWORD. `shown` is the URL with any password replaced: what logs print."""

    url: str
    password: str | None

    @classmethod
    def parse(cls, text: str, env: dict[str, str] | None = None) -> StateURL:
        """The URL checked; ValueError names what is wrong."""
        parts = urlsplit(text)
        if parts.scheme not in _SCHEMES:
            raise ValueError(f"expected a redis://, rediss:// or unix:// URL, got {_redacted(text)!r}")
        if parts.scheme == "unix" and not parts.path:
            raise ValueError("a unix:// URL needs the socket's path (unix:///run/redis.sock)")
        if parts.scheme != "unix" and not parts.hostname:
            raise ValueError(f"{_redacted(text)!r} names no host")
        try:
            parts.port  # noqa: B018  (raises on a port that is no number)
        except ValueError:
            raise ValueError(f"{_redacted(text)!r}: the port is not a number") from None
        password = (env if env is not None else os.environ).get(PASSWORD_ENV) or None
        return cls(text, password)

    @property
    def shown(self) -> str:
        return _redacted(self.url)


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass(frozen=True, slots=True)
class Script:
    """A Lua script, sent by its SHA1 (`EVALSHA`), its text only when the server has not seen it yet.
    Each script touches the keys it is given: one key, or keys of one hash tag, as a cluster needs."""

    source: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.source.encode()).hexdigest())

    async def __call__(self, redis: Redis, keys: Sequence[str], args: Sequence[object]) -> object:
        from redis.exceptions import NoScriptError

        try:
            return await redis.evalsha(self.sha, len(keys), *keys, *args)  # type: ignore[arg-type]
        except NoScriptError:
            return await redis.eval(self.source, len(keys), *keys, *args)  # type: ignore[arg-type]


class SharedState:
    """The shared Redis, each call bounded; see the module's docstring."""

    def __init__(
        self,
        url: StateURL,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        backoff: float = DEFAULT_BACKOFF,
        fail: FailMode = "open",
        on_event: Callable[[str, str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.backoff = backoff
        self.fail = fail
        self.failures = 0  # calls that failed or timed out (the metrics read it)
        self.on_event = on_event or (lambda kind, message: None)  # the gateway points it at its log
        self._clock = clock
        self._redis: Redis | None = None
        self._down_until = 0.0  # while the clock is before it, calls fail at once
        self._down = False

    @property
    def healthy(self) -> bool:
        return not self._down

    def _client(self) -> Redis:
        """Made on first use, in the running loop (each worker makes its own after the fork)."""
        if self._redis is None:
            from redis.asyncio import Redis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff
            from redis.exceptions import ConnectionError as RedisConnectionError

            self._redis = Redis.from_url(
                self.url.url,
                password=self.url.password,
                socket_timeout=self.timeout,
                socket_connect_timeout=self.timeout,
                health_check_interval=30,
                retry_on_timeout=False,
                # After Redis restarts, the pool's idle connections are dead ("Connection closed by
                # server"): the call is tried once more at once, on a new one, rather than counted as
                # Redis down. Still within the call's bound.
                retry=Retry(NoBackoff(), 1),
                retry_on_error=[RedisConnectionError],
            )
        return self._redis

    async def call(self, op: Callable[[Redis], Awaitable[T]]) -> T:
        """`op(redis)`, bounded; StateUnavailable when Redis is down, slow, or answers with an error."""
        if self._down and self._clock() < self._down_until:
            raise StateUnavailable(f"{self.url.shown} is unavailable")
        from redis.exceptions import RedisError

        try:
            async with asyncio.timeout(self.timeout):
                result = await op(self._client())
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(exc)
            raise StateUnavailable(f"{self.url.shown}: {_reason(exc)}") from None
        if self._down:
            self._down = False
            self.on_event("state_up", f"{self.url.shown} answers again: limits and breaker are shared again")
        return result

    def _failed(self, exc: BaseException) -> None:
        self.failures += 1
        self._down_until = self._clock() + self.backoff
        if not self._down:
            self._down = True
            policy = "this replica's own" if self.fail == "open" else "refused"
            self.on_event(
                "state_down",
                f"{self.url.shown}: {_reason(exc)}; until it answers, what needs it is {policy}",
            )

    async def aclose(self) -> None:
        if self._redis is not None:
            redis, self._redis = self._redis, None
            try:
                async with asyncio.timeout(self.timeout):
                    await redis.aclose()
            except Exception:  # closing a connection to a Redis that is gone: nothing to keep
                return


def _reason(exc: BaseException) -> str:
    """A failure in plain words (never the password: redis-py's messages hold host and port only)."""
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
