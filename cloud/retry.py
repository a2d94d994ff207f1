"""The retry policy, as the official SDKs have it (anthropic/openai `_base_client.py`:
`_should_retry`, `_parse_retry_after_header`, `_calculate_retry_timeout`).

- Retried: connection errors, timeouts, and the statuses in `RETRYABLE_STATUSES` (408, 409, 429,
  every 5xx including Anthropic's 529). Never: 400/401/403/404/413/422 and any other 4xx.
- `x-should-retry: true|false` from the server overrides the status rule.
- Delay: the server's `retry-after-ms`, else `retry-after` (seconds, or an HTTP date) when it is
  more than 0 and at most 60 s; otherwise exponential backoff, 0.5 s doubling per retry up to 8 s,
  times a jitter in (0.75, 1].

Randomness and the wall clock (for HTTP dates) are injectable; sleeping is the caller's business.
"""

from __future__ import annotations

import math
import random as _random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["DEFAULT_MAX_RETRIES", "RETRYABLE_STATUSES", "RetryPolicy", "is_retryable_status", "retry_after_seconds"]

DEFAULT_MAX_RETRIES = 2

# The one table of statuses worth sending again: request timeout, lock conflict, rate limit, and
# every server error (529 is Anthropic's "overloaded").
RETRYABLE_STATUSES: frozenset[int] = frozenset({408, 409, 429, *range(500, 600)})


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUSES


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = DEFAULT_MAX_RETRIES
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    random: Callable[[], float] = field(default=_random.random, repr=False)
    now: Callable[[], float] = field(default=time.time, repr=False)

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")

    @property
    def max_attempts(self) -> int:
        return self.max_retries + 1

    def should_retry_status(self, status: int, headers: Mapping[str, str]) -> bool:
        """The SDK's `_should_retry`: the server's `x-should-retry` wins, then the status table."""
        override = headers.get("x-should-retry")
        if override == "true":
            return True
        if override == "false":
            return False
        return is_retryable_status(status)

    def retry_after(self, headers: Mapping[str, str] | None) -> float | None:
        """Seconds the server asked us to wait (`retry-after-ms`, `retry-after` seconds or date)."""
        return retry_after_seconds(headers, now=self.now)

    def delay(self, retries_taken: int, headers: Mapping[str, str] | None = None) -> float:
        """How long to wait before retry number `retries_taken + 1`."""
        retry_after = self.retry_after(headers)
        if retry_after is not None and 0 < retry_after <= self.max_retry_after:
            return retry_after
        sleep = min(self.initial_delay * math.pow(2.0, min(retries_taken, 1000)), self.max_delay)
        jitter = 1 - 0.25 * self.random()
        return max(sleep * jitter, 0.0)


def retry_after_seconds(headers: Mapping[str, str] | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds the server asked callers to wait: `retry-after-ms`, else `retry-after` (seconds or an
    HTTP date); None when it said nothing readable."""
    if not headers:
        return None
    value = _float(headers.get("retry-after-ms"))
    if value is not None:
        return value / 1000
    raw = headers.get("retry-after")
    if raw is None:
        return None
    value = _float(raw)
    if value is not None:
        return value
    import email.utils  # 5 ms of imports, for the rare HTTP-date form

    parsed = email.utils.parsedate_tz(raw)
    if parsed is None:
        return None
    return float(email.utils.mktime_tz(parsed) - now())


def _float(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
