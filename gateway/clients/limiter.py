"""The limits' arithmetic, and what a decision tells the client.

- **Requests per minute: GCRA** (the generic cell rate algorithm, a token bucket kept as one number):
  a key with `rpm = N` may send N requests at once, then one every 60/N seconds; `tat`, the theoretical
  arrival time, is all there is to keep. A request is let through when `tat + 60/N - now <= 60 s`.
- **Tokens per minute: a token bucket** of `tpm` tokens refilled at `tpm` a minute. A request goes when
  the bucket is not empty, and takes its estimate (its input, estimated from its size, and its
  `max_tokens` up to `OUTPUT_ESTIMATE`); once answered, the bucket is set right by what it really
  used (`correct`). A limit so holds within one request's tokens: the last request let in may take
  the bucket below zero, and none goes until the refill brings it back above.
- Refused requests take nothing from either.

The same arithmetic runs in Redis, in one Lua script on the server's clock (gateway/state/keys.py), for
every replica at once; `LocalLimiter` runs it on this process's clock — with no `--state`, and while
the shared state is away (`--state-fail open`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from protoshift.gateway.clients.records import ClientKey

__all__ = ["OUTPUT_ESTIMATE", "PERIOD_MS", "Decision", "LocalLimiter", "RateState", "Reason", "Window"]

PERIOD_MS = 60_000.0  # the "minute" of rpm and tpm
# Output tokens a request is assumed to use up front when its max_tokens is larger or not said: Claude Code
# asks 32,000 on every request, and debiting it whole would stop a key with a modest tpm at once. What it
# really used is counted once it is answered.
OUTPUT_ESTIMATE = 4096
# GCRA's comparison forgives this much (ms): the float sums of 60000/N that make its times are not exact
ROUNDING_MS = 1.0
Reason = Literal["rpm", "tpm", "budget"]


@dataclass(frozen=True, slots=True)
class Window:
    """One limit as a client is told it: its size, what is left, seconds until it is whole again."""

    limit: int
    remaining: int
    reset: float


@dataclass(frozen=True, slots=True)
class RateState:
    requests: Window | None = None
    tokens: Window | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: Reason | None = None  # why not
    retry_after: float = 0.0  # seconds until it would go (rpm, tpm)
    state: RateState = RateState()
    spent_nano: int | None = None  # the key's spend in its budget's period, as the store counted it


class _Buckets:
    __slots__ = ("at", "level", "tat")

    def __init__(self, now: float, tpm: int | None) -> None:
        self.tat = now  # GCRA: the theoretical arrival time, ms
        self.level = float(tpm or 0)  # the token bucket, tokens (may fall below zero)
        self.at = now  # when `level` was last brought up to date, ms


class LocalLimiter:
    """Each key's requests and tokens per minute, counted in this process (clock: monotonic, ms)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, _Buckets] = {}

    def _now(self) -> float:
        return self._clock() * 1000.0

    def _of(self, key: ClientKey, now: float) -> _Buckets:
        buckets = self._buckets.get(key.name)
        if buckets is None:
            buckets = self._buckets[key.name] = _Buckets(now, key.tpm)
        if key.tpm is not None:
            buckets.level = min(key.tpm, buckets.level + (now - buckets.at) * key.tpm / PERIOD_MS)
            buckets.at = now
        return buckets

    def admit(self, key: ClientKey, estimate: int) -> Decision:
        now = self._now()
        buckets = self._of(key, now)
        reason: Reason | None = None
        retry = 0.0
        requests = tokens = None
        new_tat = None
        if key.rpm is not None:
            step = PERIOD_MS / key.rpm
            tat = max(buckets.tat, now)
            if tat + step - now > PERIOD_MS + min(step / 2, ROUNDING_MS):
                reason, retry = "rpm", tat + step - now - PERIOD_MS
                requests = Window(key.rpm, 0, (tat - now) / 1000)
            else:
                new_tat = tat + step
                remaining = math.floor((PERIOD_MS - (new_tat - now)) / step + 1e-6)
                requests = Window(key.rpm, max(remaining, 0), (new_tat - now) / 1000)
        if key.tpm is not None:
            rate = key.tpm / PERIOD_MS
            if buckets.level <= 0:
                reason = reason or "tpm"
                retry = max(retry, (1 - buckets.level) / rate)
            elif reason is None:
                buckets.level -= estimate
            tokens = Window(key.tpm, max(math.floor(buckets.level), 0), (key.tpm - buckets.level) / rate / 1000)
        if reason is not None:
            return Decision(False, reason, retry / 1000, RateState(requests, tokens))
        if new_tat is not None:
            buckets.tat = new_tat
        return Decision(True, state=RateState(requests, tokens))

    def correct(self, key: ClientKey, tokens: int) -> None:
        """What an answered request used beyond its estimate (less: a refund), taken from its bucket."""
        if key.tpm is None or not tokens:
            return
        buckets = self._of(key, self._now())
        buckets.level = min(key.tpm, buckets.level - tokens)

    def keep(self, names: Iterable[str]) -> None:
        """Forget the keys not named (removed)."""
        kept = set(names)
        for name in [name for name in self._buckets if name not in kept]:
            del self._buckets[name]
