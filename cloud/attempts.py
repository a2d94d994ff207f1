"""The one retry loop: every call protoshift makes to a provider goes through `Attempts.run`.

Three short layers, outermost first (the shape of httpx's `send`):

- `run`: a bounded loop over the attempts of one logical call. A failed attempt is tried again
  while the error is retryable, attempts are left, and nothing has been given out to the caller
  (a stream that began cannot be taken back); the pause between follows the `RetryPolicy`.
- `_guarded`: one attempt under the circuit breakers (the host's, and the model's when the call
  names one): a permit from each first (or `CircuitOpenError`; a shared breaker's half-open probe is
  claimed from its share, the one wait there is), and the outcome scored on each: a
  success, a failure, or neither (a 429, the caller leaving, a failure that is the other scope's).
  With `probe_wait`, a caller that finds another caller's probe in flight waits for its result
  (at most that long) instead of failing: `batch run`'s workers do, so one probe can reopen the way
  for all of them.
- the caller's `once(attempt)`: build, log and send the request, classify the answer, and yield
  what it gives out (one parsed JSON object, or a stream's chunks), raising a `BackendError`.

Every attempt of a call carries the same idempotency key and its own number, so the server can
tell a retry from a new request.

One rule keeps the attempts of a client that retries itself near its own count (the gateway sets
`CALLER_RETRIES` for a request whose client says it retries: the official SDKs' `x-stainless-retry-count`):
what the provider answers with a status (429, 529, 5xx...) goes back to that client at once, with its
`retry-after`, for its own backoff — 3 attempts here times 11 there would be 33 per turn; what it cannot
see (a connection refused or reset, a timeout, before any output) is still retried here.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Literal, TypeVar

from protoshift.cloud.breaker import Breakers, CircuitBreaker, Permit
from protoshift.cloud.errors import BackendError, CircuitOpenError, RateLimitError
from protoshift.cloud.retry import RetryPolicy

__all__ = ["CALLER_RETRIES", "Attempt", "Attempts", "Sleep"]

# True while a call is made for a client that retries statuses itself (see the module's docstring).
CALLER_RETRIES: contextvars.ContextVar[bool] = contextvars.ContextVar("caller_retries", default=False)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
Held = list[tuple[CircuitBreaker, Permit, Literal["host", "model"]]]

PROBE_POLL = 0.2  # seconds between looks at a half-open circuit whose probe is in flight


@dataclass(slots=True)
class Attempt:
    """One try of a logical call. `number` counts from 0; `started` turns True once anything was
    given out to the caller; `request_id` is the provider's id of this try's response."""

    number: int
    idempotency_key: str
    started: bool = False
    request_id: str | None = None

    def retry_headers(self, method: str) -> dict[str, str]:
        """What lets the server tell a retry from a new request: the count of retries before this
        one (the header the official SDKs send) and, on a POST, one key per logical request."""
        headers = {"x-stainless-retry-count": str(self.number)}
        if method == "POST":
            headers["idempotency-key"] = self.idempotency_key
        return headers


class Attempts:
    """The retry loop of one backend: its policy, its breakers, how it sleeps and reports."""

    def __init__(
        self,
        policy: RetryPolicy,
        breakers: Breakers | None,
        *,
        sleep: Sleep,
        on_retry: Callable[[BackendError, float, int], None],
        probe_wait: float = 0.0,
    ) -> None:
        self.policy = policy
        self.breakers = breakers
        self.probe_wait = probe_wait
        self._sleep = sleep
        self._on_retry = on_retry  # (error, delay, number of the attempt coming next)

    async def run(
        self, once: Callable[[Attempt], AsyncGenerator[T, None]], *, model: str | None = None
    ) -> AsyncGenerator[T, None]:
        key = f"protoshift-{os.urandom(16).hex()}"  # as unique as a uuid4, a fifth of its cost
        for number in range(self.policy.max_attempts):
            attempt = Attempt(number, key)
            try:
                async with aclosing(self._guarded(once, attempt, model)) as items:
                    async for item in items:
                        yield item
                return
            except BackendError as error:
                error.attempts = number + 1
                if attempt.started or not error.retryable or number + 1 >= self.policy.max_attempts:
                    raise
                if error.kind == "status" and CALLER_RETRIES.get():
                    raise  # the client's own retries take it from here
                delay = self.policy.delay(number, getattr(error, "headers", None))
                self._on_retry(error, delay, number + 2)
                await self._sleep(delay)

    async def _guarded(
        self, once: Callable[[Attempt], AsyncGenerator[T, None]], attempt: Attempt, model: str | None
    ) -> AsyncGenerator[T, None]:
        held = await self._permits(model)
        try:
            async with aclosing(once(attempt)) as items:
                async for item in items:
                    attempt.started = True
                    yield item
        except BackendError as error:
            _score(held, error)
            raise
        except BaseException:
            # The caller stopped early, was cancelled, or the input was refused: output that
            # flowed proves the server up; otherwise the attempt says nothing about it.
            if attempt.started:
                _score(held, None)
            else:
                _release(held)
            raise
        _score(held, None)

    async def _permits(self, model: str | None) -> Held:
        """A permit from the host's breaker and the model's; with `probe_wait`, waiting while another
        caller's probe is out (it reports within its lease, or its lease ends and this caller probes)."""
        waited = 0.0
        while True:
            try:
                return await self._acquire(model)
            except CircuitOpenError as refused:
                if not refused.probing or waited >= self.probe_wait:
                    raise
            await asyncio.sleep(PROBE_POLL)
            waited += PROBE_POLL

    async def _acquire(self, model: str | None) -> Held:
        if self.breakers is None:
            return []
        held: Held = [(self.breakers.host, await self.breakers.host.permit(), "host")]
        if model:
            breaker = self.breakers.model(model)
            try:
                held.append((breaker, await breaker.permit(), "model"))
            except CircuitOpenError:
                _release(held)
                raise
        return held


def _score(held: Held, error: BackendError | None) -> None:
    """Each breaker hears a success, a failure, or neither (a 429: the server is up but busy; a
    failure of the other scope; no answer at all)."""
    for breaker, permit, scope in held:
        if error is None:
            breaker.success(permit)
        elif error.breaker_scope == scope:
            breaker.failure(permit)
        elif error.breaker_scope is not None or isinstance(error, RateLimitError) or error.kind != "status":
            breaker.neutral(permit)
        else:  # any other answer from the server (a 4xx): it is up
            breaker.success(permit)


def _release(held: Held) -> None:
    for breaker, permit, _ in held:
        breaker.neutral(permit)
