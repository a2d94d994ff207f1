"""The circuit breakers every replica shares (`serve --state`): cloud.breaker's `BreakerShare`, in Redis.

Keys, per breaker (a backend's base URL, or one model on it): `protoshift:breaker:{BACKEND-DIGEST}`, a
hash of its consecutive `failures`, `gen` (how many times it has opened) and, while open, `until` (the
end of its cool-down in ms on the server's clock); and `...:{BACKEND-DIGEST}:probe:GEN`, the probe of
opening GEN (a replica's token, with a lease). Both keys of a breaker have its hash tag, and each call
touches one key, so it works on a cluster.

- Transitions: one Lua script (`_TRANSITION`) on the hash, given what a replica has to say since its
  last call: a reset, N failures, its probe's result. N failures in a row open it (gen + 1, `until` =
  the server's TIME + the cool-down); a probe that fails opens it again; one that succeeds closes it; a
  result for another opening than the current one changes nothing. Whatever it is asked, it answers
  with the state and the cool-down left in ms, so no replica's own clock ever enters a deadline.
- The probe: `SET ...:probe:GEN TOKEN NX PX lease`: one replica at a time has it, and one that dies
  mid-probe frees it when the lease (the breaker's `probe_timeout`) ends. Its result goes to the hash;
  its key is left to expire, so that an opening is probed once; a probe given back without a result
  (a 429, a client gone) is deleted if it is still this replica's (`_RELEASE`).
- The hot path: `view()` is a snapshot. The replica's `RedisBreakers` refreshes the snapshots that are
  read and a second old, and sends the reports waiting, in one pipelined round trip, one at a time; a
  report is sent at once (a count that grows while the one before is on its way, never a queue). A
  request through a closed circuit makes no round trip; a failure's round trip is not the request's
  (it has its answer); one replica's failures open the circuit on the others at their next refresh.
- Redis fails or is slow (every call bounded by SharedState): the snapshots are dropped, `view()`
  answers None and each breaker's own state (its file) decides, whatever `--state-fail` says (refusing
  every request because Redis is away would protect nothing); the reports wait, folded into one, and
  are sent when it answers again (tried at most once a second), with a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import math
import os
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from protoshift.cloud.breaker import CircuitBreaker, Outcome, SharedView
from protoshift.gateway.state.connection import Script, SharedState, StateUnavailable

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["REFRESH", "RedisBreaker", "RedisBreakers", "breaker_key", "shared_breakers"]

REFRESH = 1.0  # seconds a snapshot is used before it is refreshed (and a failed round trip tried again)
KEEP_MS = 24 * 3600 * 1000  # a breaker's hash lives a day past its last change

# KEYS: the breaker's hash. ARGV: threshold, cool-down (ms), probe result ('', 'close', 'reopen'), the
# opening it is for, reset ('1' or '0'), failures, how long the hash is kept (ms).
# Answers {failures, gen, open (1 or 0), cool-down left (ms; 0 or less: half-open), event}.
_TRANSITION = Script("""
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local s = redis.call('HMGET', KEYS[1], 'failures', 'gen', 'until')
local failures, gen, till = tonumber(s[1]) or 0, tonumber(s[2]) or 0, tonumber(s[3])
local threshold, cooldown, result, opening = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local n, event, changed = tonumber(ARGV[6]), '', false
if result ~= '' and till and gen == opening then
  if result == 'close' then
    failures, till, event = 0, nil, 'closed'
  else
    gen, till, event = gen + 1, now + cooldown, 'reopened'
  end
  changed = true
end
if not till then
  if ARGV[5] == '1' and failures > 0 then failures, changed = 0, true end
  if n > 0 then
    failures, changed = failures + n, true
    if failures >= threshold then gen, till, event = gen + 1, now + cooldown, 'opened' end
  end
end
if changed then
  if till then
    redis.call('HSET', KEYS[1], 'failures', failures, 'gen', gen, 'until', till)
  else
    redis.call('HSET', KEYS[1], 'failures', failures, 'gen', gen)
    redis.call('HDEL', KEYS[1], 'until')
  end
  redis.call('PEXPIRE', KEYS[1], ARGV[7])
end
if till then return {failures, gen, 1, till - now, event} end
return {failures, gen, 0, 0, event}
""")

# KEYS: a probe's key. ARGV: this replica's token. Deleted only if it is still this replica's.
_RELEASE = Script("""
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
""")


def breaker_key(backend: str, base_url: str, model: str | None = None) -> str:
    """The hash of a breaker: its backend's name (made safe) and a digest of its scope, as the local
    breaker's file is named (cloud.breaker.FileStore)."""
    scope = base_url if model is None else f"{base_url}\0{model}"
    digest = hashlib.sha256(scope.encode("utf-8", "backslashreplace")).hexdigest()[:16]
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in backend) or "backend"
    return f"protoshift:breaker:{{{safe}-{digest}}}"


@dataclass(slots=True)
class _Report:
    """What a replica has to tell one breaker since its last call, folded: a reset (then the failures
    after it), failures in a row, its probe's result, a probe given back."""

    reset: bool = False
    failures: int = 0
    loud: bool = False  # a reset of a count this replica knows is not zero: sent at once
    probe: tuple[str, int] | None = None  # ("close" | "reopen", the opening probed)
    release: int | None = None  # the opening whose probe this replica gives back

    @property
    def urgent(self) -> bool:
        """Sent at once, not with the next refresh: anything but a reset of a count at zero here."""
        return self.failures > 0 or self.probe is not None or self.release is not None or self.loud

    def then(self, later: _Report) -> _Report:
        """This report followed by `later` (a report that could not be sent, and what came since)."""
        if later.reset:
            merged = _Report(True, later.failures, later.loud)
        else:
            merged = _Report(self.reset, self.failures + later.failures, self.loud)
        merged.probe = later.probe or self.probe
        merged.release = later.release if later.release is not None else self.release
        return merged


class RedisBreaker:
    """One breaker's `BreakerShare` in Redis (see the module's doc). Made by `RedisBreakers`."""

    def __init__(self, registry: RedisBreakers, key: str, breaker: CircuitBreaker) -> None:
        self.registry = registry
        self.key = key
        self.breaker = breaker  # its settings (threshold, cool-down, probe lease) and where it tells changes
        self._known = False  # a snapshot is here (none yet, or dropped while Redis does not answer)
        self._seen_at = -math.inf  # when the snapshot came (the registry's clock)
        self._failures = 0
        self._generation = 0
        self._deadline: float | None = None  # the end of the cool-down on the registry's clock; None: closed
        self._closed = SharedView()
        self._report = _Report()
        self._holding: int | None = None  # the opening whose probe this replica has
        self._claiming: int | None = None  # the opening whose probe this replica is asking for
        self._taken: int | None = None  # the opening whose probe another replica has (tried since the snapshot)
        self._told_open = False  # what the log last heard

    # -- BreakerShare ------------------------------------------------------------------------------

    def view(self) -> SharedView | None:
        registry = self.registry
        now = registry.clock()
        if now - self._seen_at >= registry.refresh:
            registry.due(self)
        if not self._known or not registry.state.healthy:
            return None
        if self._deadline is None:
            return self._closed
        generation = self._generation
        probing = generation in (self._holding, self._claiming, self._taken)
        return SharedView(self._failures, generation, self._deadline - now, probing)

    async def claim_probe(self, generation: int) -> bool | None:
        if generation in (self._holding, self._claiming, self._taken):
            return False
        self._claiming = generation
        key, token = self._probe_key(generation), self.registry.token
        lease = max(1, math.ceil(self.breaker.probe_timeout * 1000))
        try:
            won = await self.registry.state.call(lambda redis: redis.set(key, token, nx=True, px=lease))
        except StateUnavailable:
            return None
        finally:
            self._claiming = None
        if won:
            self._holding = generation
            return True
        self._taken = generation
        return False

    def report(self, outcome: Outcome, generation: int | None) -> None:
        """The snapshot is changed at once to what the script will answer (this replica then acts on
        it before the answer comes); the report waits for the registry's task."""
        if outcome == "success":
            if not self._succeeded(generation):
                return
        elif outcome == "failure":
            if not self._failed(generation):
                return
        else:  # a probe given back without a result: another may take it
            if self._holding == generation:
                self._holding = None
            self._report.release = generation
        self.registry.due(self)

    def _succeeded(self, generation: int | None) -> bool:
        report = self._report
        if generation is not None:  # the probe came back well: closed
            report.probe = ("close", generation)
            self._holding = self._deadline = None
            self._set_closed(0)
            return True
        if self._failures == 0 and report.failures == 0:
            # A healthy circuit, as far as this replica knows: the reset goes with the next round trip
            # (a refresh, a second at most), in case another replica has failures counted; no round trip.
            report.reset = True
            return False
        report.reset, report.failures, report.loud = True, 0, True
        if self._deadline is None:
            self._set_closed(0)
        return True

    def _failed(self, generation: int | None) -> bool:
        report = self._report
        if generation is not None:  # the probe failed: open again
            report.probe = ("reopen", generation)
            self._holding = None
            self._open_now(generation + 1)
            return True
        if self._known and self._deadline is not None:
            return False  # open already: a late failure adds nothing
        report.failures += 1
        if self._known:
            self._set_closed(self._failures + 1)
            if self._failures >= self.breaker.failure_threshold:
                self._open_now(self._generation + 1)
        return True

    # -- the registry's side -----------------------------------------------------------------------

    def _probe_key(self, generation: int) -> str:
        return f"{self.key}:probe:{generation}"

    def _set_closed(self, failures: int) -> None:
        self._failures = failures
        self._closed = SharedView(failures, self._generation)

    def _open_now(self, generation: int) -> None:
        """What this replica expects the script to answer (until it answers): open from now."""
        self._generation = generation
        self._deadline = self.registry.clock() + self.breaker.cooldown

    def _take(self) -> tuple[_Report, list[tuple[Script, tuple[str], tuple[object, ...]]]]:
        """The report waiting (now on its way) and the calls that carry it: the transition first."""
        report, self._report = self._report, _Report()
        breaker = self.breaker
        result, opening = report.probe or ("", 0)
        args = (
            breaker.failure_threshold,
            max(1, math.ceil(breaker.cooldown * 1000)),
            result,
            opening,
            "1" if report.reset else "0",
            report.failures,
            KEEP_MS,
        )
        calls: list[tuple[Script, tuple[str], tuple[object, ...]]] = [(_TRANSITION, (self.key,), args)]
        if report.release is not None:
            calls.append((_RELEASE, (self._probe_key(report.release),), (self.registry.token,)))
        return report, calls

    def _give_back(self, report: _Report) -> None:
        """A report that could not be sent: it goes first in the next one."""
        self._report = report.then(self._report)

    def _forget(self) -> None:
        """Redis does not answer: no snapshot, so the breaker's own state decides."""
        self._known = False
        self._taken = None

    def _apply(self, answer: Sequence[Any], now: float) -> None:
        failures, generation, is_open, left_ms, event = answer
        self._known, self._seen_at, self._taken = True, now, None
        self._generation = int(generation)
        self._deadline = now + int(left_ms) / 1000 if int(is_open) else None
        self._set_closed(int(failures))
        self._tell(event.decode() if isinstance(event, bytes) else str(event))

    def _tell(self, event: str) -> None:
        """A change in the log: the one this replica's report made, or one made elsewhere, once."""
        is_open = self._deadline is not None
        told, self._told_open = self._told_open, is_open
        on_change = self.breaker.on_change
        if on_change is None:
            return
        label = self.breaker.label
        fast = f"requests fail fast for {self.breaker.cooldown:g}s on every replica"
        if event == "opened":
            on_change(f"circuit opened for {label} after repeated failures (shared state); {fast}")
        elif event == "reopened":
            on_change(f"circuit opened for {label} after a failed probe (shared state); {fast}")
        elif event == "closed":
            on_change(f"circuit closed for {label} (shared state)")
        elif is_open and not told:
            left = max(0.0, (self._deadline or 0.0) - self.registry.clock())
            on_change(f"circuit opened for {label} by another replica; requests fail fast for {math.ceil(left)}s")
        elif told and not is_open:
            on_change(f"circuit closed for {label} by another replica")


class RedisBreakers:
    """The shared breakers of one process (`SharedBreakers`, for the backend factory): one `RedisBreaker`
    per breaker key, kept across reloads, and the one task that refreshes and reports for all of them."""

    def __init__(
        self, state: SharedState, *, refresh: float = REFRESH, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.state = state
        self.refresh = refresh
        self.clock = clock  # a monotonic clock: only durations are read from it
        self.token = os.urandom(12).hex()  # whose probe it is
        self._shares: dict[str, RedisBreaker] = {}
        self._due: dict[RedisBreaker, None] = {}  # snapshots to refresh, reports to send (in order)
        self._task: asyncio.Task[None] | None = None
        self._retry_at = -math.inf  # after a failed round trip, the next is not tried before this

    def __call__(self, breaker: CircuitBreaker, base_url: str) -> RedisBreaker:
        key = breaker_key(breaker.backend, base_url, breaker.model)
        share = self._shares.get(key)
        if share is None:
            share = self._shares[key] = RedisBreaker(self, key, breaker)
        else:  # a reload's new backend: the same shared state, the new settings
            share.breaker = breaker
        return share

    def due(self, share: RedisBreaker) -> None:
        """`share` has a report to send or a snapshot to refresh: the task takes it (started if need be)."""
        self._due[share] = None
        task = self._task
        if (task is None or task.done()) and self.clock() >= self._retry_at:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # read outside the server's loop: the next request takes it
                return
            self._task = loop.create_task(self._run())

    async def sync(self) -> None:
        """Every snapshot refreshed and every report sent, now (tests; a caller that cannot wait a second)."""
        if self._task is not None and not self._task.done():
            await self._task
        for share in self._shares.values():
            share._seen_at = -math.inf
            self._due[share] = None
        self._retry_at = -math.inf
        self._task = asyncio.get_running_loop().create_task(self._run())
        await self._task

    async def _run(self) -> None:
        while True:
            # what is still to do: a report, or a snapshot that a read during the last round trip found old
            now = self.clock()
            batch = [share for share in self._due if share._report.urgent or now - share._seen_at >= self.refresh]
            self._due.clear()
            if not batch:
                return
            taken = [share._take() for share in batch]
            calls = [call for _, share_calls in taken for call in share_calls]
            try:
                answers = await self.state.call(functools.partial(_pipelined, calls=calls))
            except StateUnavailable:
                for share, (report, _) in zip(batch, taken, strict=True):
                    share._give_back(report)
                    self._due[share] = None
                for share in self._shares.values():
                    share._forget()
                self._retry_at = self.clock() + self.refresh
                return
            now = self.clock()
            at = 0
            for share, (_, share_calls) in zip(batch, taken, strict=True):
                try:
                    share._apply(answers[at], now)
                except (ValueError, TypeError, IndexError):  # not the script's answer: no snapshot, its own state
                    share._forget()
                at += len(share_calls)


async def _pipelined(redis: Redis, calls: list[tuple[Script, tuple[str], tuple[object, ...]]]) -> list[Any]:
    """Each script by its SHA1 in one round trip; those the server has not seen yet once more by their text."""
    from redis.exceptions import NoScriptError

    pipe = redis.pipeline(transaction=False)
    for script, keys, args in calls:
        pipe.evalsha(script.sha, len(keys), *keys, *args)  # type: ignore[arg-type]
    answers: list[Any] = await pipe.execute(raise_on_error=False)
    missing = [i for i, answer in enumerate(answers) if isinstance(answer, NoScriptError)]
    if missing:
        pipe = redis.pipeline(transaction=False)
        for i in missing:
            script, keys, args = calls[i]
            pipe.eval(script.source, len(keys), *keys, *args)  # type: ignore[arg-type]
        for i, answer in zip(missing, await pipe.execute(raise_on_error=False), strict=True):
            answers[i] = answer
    for answer in answers:
        if isinstance(answer, Exception):
            raise answer
    return answers


_REGISTRIES: weakref.WeakKeyDictionary[SharedState, RedisBreakers] = weakref.WeakKeyDictionary()


def shared_breakers(state: SharedState) -> RedisBreakers:
    """The shared breakers of `state`: one registry per SharedState, so that a reload's backends take
    up the same snapshots."""
    registry = _REGISTRIES.get(state)
    if registry is None:
        registry = _REGISTRIES[state] = RedisBreakers(state)
    return registry
