"""`ClientKeys`: what the gateway asks of client keys — who a presented key is, whether a request may go
(the model it goes to, the key's limits), and what it used once answered.

- **Who.** The keys are read from their store (SQLite under the data folder, or the shared Redis) at
  start and again within a second of any change (a version the store moves); a key not known yet is
  looked up in the store at once (a key just added works at once), and a key found in neither is
  remembered as unknown for a second. Only the SHA-256 of a key is ever compared or kept.
- **Models.** A key's `--models` patterns are matched against the model a request goes to, after the
  aliases: what is called upstream, and paid for. An alias that leads to an allowed model is allowed;
  no alias leads a key to a model it may not use. Refused: 403, in the surface's words.
- **Limits** (model calls only: `count_tokens` and the model list spend nothing and are not counted):
  with the shared state, one script per request counts the key's requests, tokens and spend for
  every replica (gateway/state/keys.py); without it, this process's limiter counts them
  (gateway/clients/limiter.py), and the budget reads the spend the store counted. A request over a
  limit: 429 with `retry-after` and the rate-limit headers of its surface.
- **Budgets are a soft cap**: a request goes while the key's spend in its period (the UTC day or month)
  is under its budget, and is priced once answered, from the price table (cloud/pricing.py). The request
  that crosses the budget completes; the next is refused until the period ends. A model the table has
  no row for costs nothing against a budget (add a `[prices."pattern"]` row).
- **What was used** (requests, tokens, spend) is added to the store: with the shared state, before the
  answer's last bytes go out for a key with a token limit or a budget (its holder's next request, through
  any replica, finds it counted: the limits hold within one request's tokens and the budget stops at its
  figure), else within 10 ms of the answer, with the key's next request on this replica, and four times a
  second; without it, each second (this process counts its own requests at once).
- **When Redis fails or is slow** (each call bounded: gateway/state/connection.py): with `--state-fail
  open` (the default) this replica's own limiter counts requests and tokens from where it stands (a
  fresh minute), and the budget reads the spend Redis said last plus what this replica added since; with
  `--state-fail closed`, a request that needs the limiter is refused (503). When Redis answers again,
  the limits are counted there again. What the requests used meanwhile is kept here and added to Redis
  then (usage and spend are never lost); the local requests-and-tokens counts are not merged back: they
  describe a minute that is over.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from protoshift.gateway.clients.headers import go_duration, rfc3339
from protoshift.gateway.clients.limiter import OUTPUT_ESTIMATE, Decision, LocalLimiter
from protoshift.gateway.clients.records import NANO, PREFIX, ClientKey, Period, Periods, Usage, digest, periods
from protoshift.gateway.errors import HTTPFailure
from protoshift.gateway.state.connection import StateUnavailable
from protoshift.translator.usage import usage_as_chat

if TYPE_CHECKING:
    from protoshift.cloud.pricing import PriceTable
    from protoshift.gateway.exchange import Exchange
    from protoshift.gateway.metrics import Metrics
    from protoshift.gateway.state.connection import SharedState
    from protoshift.gateway.state.keys import RedisKeys
    from protoshift.translator.wire import JSON

__all__ = ["REFRESH_EVERY", "ClientKeys", "KeyStore"]

REFRESH_EVERY = 1.0  # seconds between looks at the store's version (a key removed stops within it)
UNKNOWN_FOR = 1.0  # seconds a key found nowhere is not looked up again
_UNKNOWN_MAX = 4096  # keys remembered as unknown (a client sending random keys cannot grow it)
SHARED_FLUSH = 0.25  # seconds between adding this replica's usage to Redis, at least
EAGER_GAP = 0.01  # ... and soon after a request ends, at most this often (another replica sees it at once)
LOCAL_FLUSH = 1.0  # ... to the SQLite file


class KeyStore(Protocol):
    """Where the keys and their usage live: gateway/clients/sqlite.py, gateway/state/keys.py."""

    @property
    def shown(self) -> str: ...

    async def version(self) -> str: ...

    async def keys(self) -> list[ClientKey]: ...

    async def find(self, digest: str) -> ClientKey | None: ...

    async def add(self, key: ClientKey) -> bool: ...

    async def remove(self, name: str) -> bool: ...

    async def usage(self, names: list[str], current: Periods) -> dict[str, dict[Period, Usage]]: ...

    async def aclose(self) -> None: ...


class ClientKeys:
    def __init__(
        self,
        store: KeyStore,
        *,
        shared: RedisKeys | None = None,
        state: SharedState | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.shared = shared  # the limits counted in Redis; None: in this process
        self.state = state
        self.metrics: Metrics | None = None  # the gateway's, set when it starts
        self.on_event: Callable[[str, str], None] = lambda kind, message: None
        self.active = False  # a key existed: every request must carry one from then on
        self.limiter = LocalLimiter(clock)
        self._clock = clock
        self._by_digest: dict[str, ClientKey] = {}
        self._by_name: dict[str, ClientKey] = {}
        self._version: str | None = None
        self._unknown: dict[str, float] = {}
        self._pending: dict[tuple[str, Periods], Usage] = {}  # used, not yet in the store
        self._sending: list[dict[tuple[str, Periods], Usage]] = []  # on its way to the store: still counted here
        self._corrections: dict[str, int] = {}  # token buckets in Redis owed a correction
        self._spent: dict[tuple[str, str], int] = {}  # (name, period id) -> spend as the store counted it
        self._task: asyncio.Task[None] | None = None
        self._flush_every = SHARED_FLUSH if shared is not None else LOCAL_FLUSH
        self._eager: asyncio.TimerHandle | None = None  # a flush soon after a request ended (shared state)
        self._eager_tasks: set[asyncio.Task[None]] = set()
        self._last_flush = 0.0

    @classmethod
    def local(cls, path: Any) -> ClientKeys:
        from protoshift.gateway.clients.sqlite import SQLiteKeys

        return cls(SQLiteKeys(path))

    @classmethod
    def shared_in(cls, state: SharedState) -> ClientKeys:
        from protoshift.gateway.state.keys import RedisKeys

        store = RedisKeys(state)
        return cls(store, shared=store, state=state)

    # -- the gateway's life -------------------------------------------------------------------------

    async def start(self) -> None:
        with contextlib.suppress(StateUnavailable):
            await self.refresh()
        self._task = asyncio.create_task(self._background())

    async def aclose(self) -> None:
        if self._eager is not None:
            self._eager.cancel()
        for task in [self._task, *self._eager_tasks]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        with contextlib.suppress(StateUnavailable):
            await self.flush()
        if self.shared is None:
            await self.store.aclose()

    async def _background(self) -> None:
        looked = self._clock()
        while True:
            await asyncio.sleep(self._flush_every)
            try:
                await self.flush()
                if self._clock() - looked >= REFRESH_EVERY:
                    looked = self._clock()
                    await self.refresh()
            except StateUnavailable:
                continue  # said once by the state's own events; tried again next time
            except Exception as exc:  # a bug: said, and the loop goes on
                self.on_event("client_keys_error", f"{type(exc).__name__}: {exc}")

    async def refresh(self) -> None:
        """The keys again, when the store says they changed. A store whose count of changes went back (a Redis
        restarted without persistence, emptied) gets back the keys known here (their records: name, digest and
        limits, never a key): their holders go on, where they would all be refused and no one could give
        them their keys again."""
        version = await self.store.version()
        if version == self._version:
            return
        if self._by_name and self._version is not None and _behind(version, self._version):
            for key in self._by_name.values():
                await self.store.add(key)
            self.on_event(
                "client_keys",
                f"{self.store.shown} had lost the client keys (restarted without persistence?):"
                f" {len(self._by_name)} put back from this replica",
            )
            version = await self.store.version()
        keys = await self.store.keys()
        self._version = version
        before = set(self._by_name)
        self._by_name = {key.name: key for key in keys}
        self._by_digest = {key.digest: key for key in keys}
        self._unknown.clear()
        self.limiter.keep(self._by_name)
        if keys:
            self.active = True
        added, removed = sorted(set(self._by_name) - before), sorted(before - set(self._by_name))
        if added or removed:
            said = [f"added {', '.join(added)}"] * bool(added) + [f"removed {', '.join(removed)}"] * bool(removed)
            self.on_event("client_keys", f"{len(keys)} client keys in {self.store.shown}: {'; '.join(said)}")

    # -- who ------------------------------------------------------------------------------------------

    async def find(self, token: bytes) -> ClientKey | None:
        """The key `token` is; None for none. StateUnavailable when the store must be asked and cannot be."""
        found = digest(token)
        key = self._by_digest.get(found)
        if key is not None or not token.startswith(PREFIX.encode()):
            return key
        now = self._clock()
        if self._unknown.get(found, 0.0) > now:
            return None
        key = await self.store.find(found)
        if key is None:
            if len(self._unknown) >= _UNKNOWN_MAX:
                self._unknown.clear()
            self._unknown[found] = now + UNKNOWN_FOR
            return None
        self._by_digest[key.digest] = self._by_name[key.name] = key
        self.active = True
        return key

    # -- before the call ------------------------------------------------------------------------------

    async def admit(self, exchange: Exchange, request: JSON, *, limited: bool) -> HTTPFailure | None:
        """None when the request may go; else its refusal (403 model, 429 limit, 503 state closed)."""
        key = exchange.client
        assert key is not None
        model = exchange.model or ""
        if not key.allows(model):
            self._limited(key, model, "model")
            message = f"the key {key.name!r} may not use the model {model!r} (it may use {', '.join(key.models)})"
            return HTTPFailure(403, message, "key_model", param="model", code="model_not_allowed")
        if not limited:
            return None
        exchange.counted = True
        if not key.limited:
            return None
        estimate = exchange.estimate = exchange.estimate + _output_estimate(request, exchange.surface.max_tokens_fields)
        current = periods()
        if self.shared is not None:
            slot = (key.name, current)
            used, correction = self._pending.pop(slot, None), self._corrections.pop(key.name, 0)
            try:
                decision = await self.shared.admit(key, estimate, current, used, correction)
            except StateUnavailable:
                self._owe(slot, used, key.name, correction)
                assert self.state is not None
                if self.state.fail == "closed":
                    exchange.counted = False
                    self._limited(key, model, "state")
                    failure = HTTPFailure(
                        503,
                        "the shared state that counts this key's limits is unavailable; retry shortly",
                        "state_unavailable",
                        code="state_unavailable",
                    )
                    failure.headers.append((b"retry-after", str(math.ceil(self.state.backoff)).encode()))
                    return failure
                decision = self._locally(key, estimate, current)
                exchange.local_limit = True
            else:
                if key.period is not None and decision.spent_nano is not None:
                    self._spent[(key.name, current.id(key.period))] = decision.spent_nano
        else:
            decision = self._locally(key, estimate, current)
            exchange.local_limit = True
        exchange.rate = decision.state
        if decision.allowed:
            return None
        exchange.counted = False
        assert decision.reason is not None
        self._limited(key, model, decision.reason)
        return _over(key, decision, estimate, current)

    def _locally(self, key: ClientKey, estimate: int, current: Periods) -> Decision:
        if key.period is not None:
            spent = self._spent_now(key.name, key.period, current)
            if spent >= key.budget_nano:
                return Decision(False, "budget", spent_nano=spent)
        return self.limiter.admit(key, estimate)

    def _spent_now(self, name: str, period: Period, current: Periods) -> int:
        """The spend the store counted, and what this process added since."""
        period_id = current.id(period)
        spent = self._spent.get((name, period_id), 0)
        for pending in (self._pending, *self._sending):
            for (owner, when), used in pending.items():
                if owner == name and when.id(period) == period_id:
                    spent += used.spend_nano
        return spent

    def _owe(self, slot: tuple[str, Periods], used: Usage | None, name: str, correction: int) -> None:
        """Put back what a call to the store did not take."""
        if used:
            self._pending.setdefault(slot, Usage()).add(used)
        if correction:
            self._corrections[name] = self._corrections.get(name, 0) + correction

    def _limited(self, key: ClientKey, model: str, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.client_limited(key.name, model, reason)

    # -- after the answer -----------------------------------------------------------------------------

    async def settle_before_end(self, exchange: Exchange, prices: PriceTable | None) -> None:
        """`settle`, called as the answer's last bytes are about to go: with the shared state, a key whose
        limits read what it used (tokens, budget) has it in Redis first (one call, bounded), so the client's
        next request, through any replica, finds it counted. When Redis does not answer, it stays pending."""
        self.settle(exchange, prices)
        key = exchange.client
        if self.shared is None or key is None or (key.tpm is None and key.period is None):
            return
        with contextlib.suppress(StateUnavailable):  # kept: the periodic flush tries again
            await self._flush_shared(self.shared, only=key.name)

    def settle(self, exchange: Exchange, prices: PriceTable | None) -> None:
        """What an answered request used: its tokens, its price; to the metrics and, for the store, pending.
        Once per request (the answer's end, else the gateway's bookkeeping after it)."""
        key = exchange.client
        if key is None or not exchange.counted or exchange.settled:
            return
        exchange.settled = True
        model = exchange.model or ""
        tokens_in, tokens_out = exchange.tokens
        spend = 0
        if prices is not None and exchange.usage is not None:
            cost = prices.cost(model, usage_as_chat(exchange.surface.api, exchange.usage))
            spend = round(cost * NANO) if cost else 0
        if self.metrics is not None:
            self.metrics.client(key.name, model, tokens_in, tokens_out, spend / NANO)
        slot = (key.name, periods())
        pending = self._pending.get(slot)
        if pending is None:
            pending = self._pending[slot] = Usage()
        pending.add(Usage(1, tokens_in, tokens_out, spend))
        self._flush_soon()
        if key.tpm is not None and exchange.estimate:
            if tokens_in or tokens_out:
                used = tokens_in + tokens_out
            else:  # no usage said: an upstream that refused used nothing; a client that left, or a
                used = (
                    0 if exchange.status >= 400 and exchange.status != 499 else exchange.estimate
                )  # silent one, its estimate
            if used != exchange.estimate:
                if exchange.local_limit:
                    self.limiter.correct(key, used - exchange.estimate)
                else:
                    self._corrections[key.name] = self._corrections.get(key.name, 0) + used - exchange.estimate

    def _flush_soon(self) -> None:
        """With the shared state, what a request used goes to Redis soon after it ends (at most every EAGER_GAP
        seconds; a busy key's next request on this replica takes it even sooner): the next request, through
        any replica, finds the budget spent. Without it, a second would pass."""
        if self.shared is None or self._eager is not None:
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, self._last_flush + EAGER_GAP - self._clock())
        self._eager = loop.call_later(delay, self._start_eager, loop)

    def _start_eager(self, loop: asyncio.AbstractEventLoop) -> None:
        task = loop.create_task(self._eager_flush())
        self._eager_tasks.add(task)
        task.add_done_callback(self._eager_tasks.discard)

    async def _eager_flush(self) -> None:
        try:
            await self.flush()
        except StateUnavailable:
            pass  # kept: the periodic flush tries again
        finally:
            self._eager = None

    async def flush(self) -> None:
        """What requests used, added to the store. StateUnavailable when it cannot be (kept for next time)."""
        self._last_flush = self._clock()
        if self.shared is not None:
            await self._flush_shared(self.shared)
        else:
            await self._flush_local()

    async def _flush_shared(self, shared: RedisKeys, only: str | None = None) -> None:
        """What is pending, added to Redis: every key's, or `only` that key's."""
        current = periods()
        slots = [slot for slot in self._pending if only is None or slot[0] == only]
        slots += [
            (name, current)
            for name in self._corrections
            if (name, current) not in self._pending and (only is None or name == only)
        ]
        for slot in slots:
            name, when = slot
            used = self._pending.pop(slot, None)
            correction = self._corrections.pop(name, 0) if when == current else 0
            key = self._by_name.get(name)
            if key is None:
                continue  # removed: nothing to count
            sending = {slot: used} if used else {}
            self._sending.append(sending)
            try:
                spent = await shared.settle(key, when, used, correction)
            except StateUnavailable:
                self._owe(slot, used, name, correction)
                raise
            else:
                if key.period is not None:
                    self._spent[(name, when.id(key.period))] = spent
            finally:
                self._sending.remove(sending)

    async def _flush_local(self) -> None:
        from protoshift.gateway.clients.sqlite import SQLiteKeys

        store = self.store
        assert isinstance(store, SQLiteKeys)
        pending, self._pending = self._pending, {}
        self._sending.append(pending)  # counted here until the spend read back from the store holds it
        try:
            if pending:
                try:
                    await store.add_usage(
                        {(name, when.day, when.month): used for (name, when), used in pending.items()}
                    )
                except StateUnavailable:
                    for slot, used in pending.items():
                        self._owe(slot, used, slot[0], 0)
                    raise
            current = periods()
            ids = {key.name: current.id(key.period) for key in self._by_name.values() if key.period is not None}
            if ids:
                spent = await store.spent(list(ids), ids)
                self._spent = {(name, ids[name]): amount for name, amount in spent.items()}
        finally:
            self._sending.remove(pending)


def _behind(version: str, known: str) -> bool:
    try:
        return int(version) < int(known)
    except ValueError:
        return False


def _output_estimate(request: JSON, fields: tuple[str, ...]) -> int:
    """The output tokens a request is assumed to use up front: its max_tokens, at most OUTPUT_ESTIMATE."""
    for field in fields:
        value = request.get(field)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return min(value, OUTPUT_ESTIMATE)
    return OUTPUT_ESTIMATE


def _over(key: ClientKey, decision: Decision, estimate: int, current: Periods) -> HTTPFailure:
    """The 429 of a request over a limit, in OpenAI's words (Codex reads its wait from "try again in Ns")."""
    if decision.reason == "budget":
        assert key.period is not None and key.budget is not None
        ends = current.end(key.period)
        spent = (decision.spent_nano or 0) / NANO
        message = (
            f"the key {key.name!r} has spent its budget of ${key.budget:g} for this {key.period} (${spent:.4f});"
            f" it renews at {rfc3339(ends)}"
        )
        failure = HTTPFailure(429, message, "key_limit", code="insufficient_quota")
        failure.headers += _waits(ends - time.time())
        failure.headers.append((b"x-should-retry", b"false"))  # a retry cannot help before the period ends
        return failure
    if decision.reason == "rpm":
        what = f"requests per min (RPM): Limit {key.rpm}"
    else:
        what = f"tokens per min (TPM): Limit {key.tpm}, Requested {estimate}"
    message = f"Rate limit reached for the key {key.name!r} on {what}. Please try again in {go_duration(decision.retry_after)}."
    failure = HTTPFailure(429, message, "key_limit", code="rate_limit_exceeded")
    failure.headers += _waits(decision.retry_after)
    return failure


def _waits(seconds: float) -> list[tuple[bytes, bytes]]:
    """`retry-after` (whole seconds, as HTTP has it) and `retry-after-ms` (the official SDKs read it first)."""
    seconds = max(seconds, 0.001)
    return [
        (b"retry-after", str(math.ceil(seconds)).encode()),
        (b"retry-after-ms", str(math.ceil(seconds * 1000)).encode()),
    ]
