"""The one retry loop: every call protoshift makes to a provider goes through `Attempts.run`.

Three short layers, outermost first (the shape of httpx's `send`):

- `run`: a bounded loop over the attempts of one logical call. A failed attempt is tried again
  while the error is retryable, attempts are left, and nothing has been given out to the caller
  (a stream that began cannot be taken back); the pause between follows the `RetryPolicy`.
- `_guarded`: one attempt under the circuit breaker: a permit first (or `CircuitOpenError`), and
  the outcome scored: a success, a failure, or neither (a 429, the caller leaving).
- the caller's `once(attempt)`: build, log and send the request, classify the answer, and yield
  what it gives out (one parsed JSON object, or a stream's chunks), raising a `BackendError`.

Every attempt of a call carries the same idempotency key and its own number, so the server can
tell a retry from a new request.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import TypeVar

from protoshift.cloud.breaker import CircuitBreaker, Permit
from protoshift.cloud.errors import BackendError, RateLimitError
from protoshift.cloud.retry import RetryPolicy

__all__ = ["Attempt", "Attempts", "Sleep"]

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


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
    """The retry loop of one backend: its policy, its breaker, how it sleeps and reports."""

    def __init__(
        self,
        policy: RetryPolicy,
        breaker: CircuitBreaker | None,
        *,
        sleep: Sleep,
        on_retry: Callable[[BackendError, float, int], None],
    ) -> None:
        self.policy = policy
        self.breaker = breaker
        self._sleep = sleep
        self._on_retry = on_retry  # (error, delay, number of the attempt coming next)

    async def run(self, once: Callable[[Attempt], AsyncGenerator[T, None]]) -> AsyncGenerator[T, None]:
        key = f"protoshift-{uuid.uuid4().hex}"
        for number in range(self.policy.max_attempts):
            attempt = Attempt(number, key)
            try:
                async with aclosing(self._guarded(once, attempt)) as items:
                    async for item in items:
                        yield item
                return
            except BackendError as error:
                error.attempts = number + 1
                if attempt.started or not error.retryable or number + 1 >= self.policy.max_attempts:
                    raise
                delay = self.policy.delay(number, getattr(error, "headers", None))
                self._on_retry(error, delay, number + 2)
                await self._sleep(delay)

    async def _guarded(
        self, once: Callable[[Attempt], AsyncGenerator[T, None]], attempt: Attempt
    ) -> AsyncGenerator[T, None]:
        permit = self.breaker.acquire() if self.breaker is not None else None
        try:
            async with aclosing(once(attempt)) as items:
                async for item in items:
                    attempt.started = True
                    yield item
        except BackendError as error:
            self._score(permit, error)
            raise
        except BaseException:
            # The caller stopped early, was cancelled, or the input was refused: output that
            # flowed proves the server up; otherwise the attempt says nothing about it.
            if attempt.started:
                self._score(permit, None)
            else:
                self._release(permit)
            raise
        self._score(permit, None)

    def _score(self, permit: Permit | None, error: BackendError | None) -> None:
        """A success, a failure, or neither (a 429: the server is up but busy)."""
        if self.breaker is None or permit is None:
            return
        if error is None:
            self.breaker.success(permit)
        elif error.trips_breaker:
            self.breaker.failure(permit)
        elif isinstance(error, RateLimitError) or error.kind != "status":
            self.breaker.neutral(permit)
        else:  # any other answer from the server (a 4xx): it is up
            self.breaker.success(permit)

    def _release(self, permit: Permit | None) -> None:
        if self.breaker is not None and permit is not None:
            self.breaker.neutral(permit)
