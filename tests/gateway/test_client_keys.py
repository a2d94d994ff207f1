"""gateway/clients (client keys and their limits): the records, the limiter's arithmetic on a clock the test
moves, the rate-limit headers, the SQLite store (workers of one machine), and the Redis store and its one
script on a real redis-server (replicas): requests counted exactly across replicas, tokens set right
after the answer, a budget as a soft cap, usage never lost while Redis is away."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from protoshift.gateway.clients.gate import ClientKeys
from protoshift.gateway.clients.headers import anthropic_headers, go_duration, openai_headers, rfc3339
from protoshift.gateway.clients.limiter import LocalLimiter, RateState, Window
from protoshift.gateway.clients.records import NANO, ClientKey, Usage, check_name, digest, new_secret, periods
from protoshift.gateway.clients.sqlite import SQLiteKeys
from protoshift.gateway.metrics import CLIENT_SERIES, Metrics
from protoshift.gateway.state.connection import SharedState, StateUnavailable, StateURL
from protoshift.gateway.state.keys import RedisKeys
from protoshift.gateway.surfaces.chat import ChatSurface
from tests.redis_server import RedisServer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def key(name: str = "alice", **limits: Any) -> ClientKey:
    return ClientKey(name, digest(f"ps-secret-of-{name}"), **limits)


# -- records ---------------------------------------------------------------------------------------------


def test_a_secret_has_256_random_bits_and_only_its_digest_is_kept() -> None:
    secrets = {new_secret() for _ in range(100)}
    assert len(secrets) == 100
    for secret in secrets:
        assert secret.startswith("ps-") and len(secret) == 3 + 43
    one = next(iter(secrets))
    assert digest(one) == digest(one.encode()) and len(digest(one)) == 64 and one not in key().to_json().values()


def test_names_and_limits_are_checked() -> None:
    assert check_name("team-a.bot_1") == "team-a.bot_1"
    for bad in ("", "-x", "a b", "{tag}", "é", "x" * 65):
        with pytest.raises(ValueError, match="a key's name"):
            check_name(bad)
    with pytest.raises(ValueError, match="needs its period"):
        key(budget=5.0)
    with pytest.raises(ValueError, match="give --budget too"):
        key(period="day")
    with pytest.raises(ValueError, match="rpm must be"):
        key(rpm=0)
    assert key(models=("gpt-4.1*",)).allows("gpt-4.1-mini") and not key(models=("gpt-4.1*",)).allows("gpt-5")
    assert key().allows("anything") and not key().limited and key(rpm=1).limited
    limited = key(rpm=5, budget=2.5, period="day")
    assert ClientKey.from_json(limited.to_json()) == limited


def test_periods_are_utc_days_and_months() -> None:
    late = dt.datetime(2026, 12, 31, 23, 59, 59, tzinfo=dt.UTC).timestamp()
    found = periods(late)
    assert (found.day, found.month) == ("2026-12-31", "2026-12")
    assert found.day_end == found.month_end == dt.datetime(2027, 1, 1, tzinfo=dt.UTC).timestamp()
    assert periods(late + 1).month == "2027-01"


# -- the limiter's arithmetic ------------------------------------------------------------------------------


def test_rpm_lets_a_burst_of_n_through_then_one_every_60_over_n_seconds() -> None:
    clock = Clock()
    limiter = LocalLimiter(clock)
    alice = key(rpm=60)
    decisions = [limiter.admit(alice, 0) for _ in range(100)]
    assert sum(d.allowed for d in decisions) == 60  # exactly: refused requests take nothing
    refused = decisions[60]
    assert refused.reason == "rpm" and refused.retry_after == pytest.approx(1.0)
    assert decisions[0].state.requests == Window(60, 59, 1.0) and decisions[59].state.requests.remaining == 0
    clock.now += 0.5
    assert not limiter.admit(alice, 0).allowed
    clock.now += 0.5
    assert limiter.admit(alice, 0).allowed and not limiter.admit(alice, 0).allowed
    clock.now += 60
    assert sum(limiter.admit(alice, 0).allowed for _ in range(100)) == 60


def test_tpm_takes_the_estimate_and_is_set_right_by_what_was_used() -> None:
    clock = Clock()
    limiter = LocalLimiter(clock)
    alice = key(tpm=1000)
    first = limiter.admit(alice, 700)
    assert first.allowed and first.state.tokens == Window(1000, 300, pytest.approx(42.0))
    assert limiter.admit(alice, 700).allowed  # the bucket was not empty: it goes, and takes it below zero
    refused = limiter.admit(alice, 10)
    assert refused.reason == "tpm" and refused.retry_after == pytest.approx(401 * 60 / 1000)
    limiter.correct(alice, 50 - 700)  # the first used 50 of its 700: 650 come back
    assert limiter.admit(alice, 10).allowed
    limiter.correct(alice, -10_000)  # a refund never fills it past its size
    assert limiter.admit(alice, 0).state.tokens.remaining == 1000


# -- the headers clients read -------------------------------------------------------------------------------


def test_rate_limit_headers_as_each_provider_writes_them() -> None:
    assert [go_duration(s) for s in (0.02, 1, 1.5, 60, 360, 3723)] == ["20ms", "1s", "1.5s", "1m0s", "6m0s", "1h2m3s"]
    state = RateState(Window(60, 59, 1.0), Window(1000, 300, 42.0))
    assert dict(openai_headers(state)) == {
        b"x-ratelimit-limit-requests": b"60",
        b"x-ratelimit-remaining-requests": b"59",
        b"x-ratelimit-reset-requests": b"1s",
        b"x-ratelimit-limit-tokens": b"1000",
        b"x-ratelimit-remaining-tokens": b"300",
        b"x-ratelimit-reset-tokens": b"42s",
    }
    now = dt.datetime(2026, 12, 3, 14, 23, 59, 500_000, tzinfo=dt.UTC).timestamp()
    sent = dict(anthropic_headers(RateState(requests=Window(60, 0, 0.6)), now))
    assert sent == {
        b"anthropic-ratelimit-requests-limit": b"60",
        b"anthropic-ratelimit-requests-remaining": b"0",
        b"anthropic-ratelimit-requests-reset": b"2026-12-03T14:24:01Z",
    }
    assert rfc3339(now) == "2026-12-03T14:24:00Z"


# -- the SQLite store: the workers of one machine ---------------------------------------------------------------


def test_the_local_store_is_shared_by_the_workers_of_one_machine(tmp_path: Path) -> None:
    path = tmp_path / "keys.sqlite3"

    async def scenario() -> None:
        cli, worker_one, worker_two = SQLiteKeys(path), SQLiteKeys(path), SQLiteKeys(path)
        alice = key(budget=1.0, period="day")
        before = await worker_one.version()
        assert await cli.add(alice) and not await cli.add(alice)
        assert await worker_one.version() != before and await worker_one.find(alice.digest) == alice
        current = periods()
        await worker_one.add_usage({("alice", current.day, current.month): Usage(2, 10, 20, 3 * NANO // 10)})
        await worker_two.add_usage({("alice", current.day, current.month): Usage(1, 1, 2, NANO // 10)})
        await worker_two.add_usage({("nobody", current.day, current.month): Usage(1, 1, 2, 5)})  # removed: dropped
        usage = await cli.usage(["alice"], current)
        assert usage["alice"]["day"] == usage["alice"]["month"] == Usage(3, 11, 22, 4 * NANO // 10)
        assert await worker_one.spent(["alice"], {"alice": current.day}) == {"alice": 4 * NANO // 10}
        assert await cli.remove("alice") and not await cli.remove("alice")
        assert await worker_two.find(alice.digest) is None and await worker_two.keys() == []
        for store in (cli, worker_one, worker_two):
            await store.aclose()

    asyncio.run(scenario())
    assert path.stat().st_mode & 0o777 == 0o600


# -- Redis: one count for every replica -------------------------------------------------------------------------


def replicas(server: RedisServer, count: int, **options: Any) -> list[RedisKeys]:
    return [RedisKeys(SharedState(StateURL.parse(server.url, env={}), **options)) for _ in range(count)]


async def closed(stores: list[RedisKeys]) -> None:
    for store in stores:
        await store.state.aclose()


def test_three_replicas_let_exactly_rpm_requests_through(redis_server: RedisServer) -> None:
    async def scenario() -> tuple[list[bool], float]:
        stores = replicas(redis_server, 3, timeout=30.0)  # 150 calls at once on a busy machine: none may time out
        alice = key(rpm=60)
        assert await stores[0].add(alice)
        current = periods()
        began = time.monotonic()
        decisions = await asyncio.gather(
            *(stores[n % 3].admit(alice, 0, current, None, 0) for n in range(150))
        )  # concurrently, spread over the three
        took = time.monotonic() - began
        await closed(stores)
        return [d.allowed for d in decisions], took

    allowed, took = asyncio.run(scenario())
    # not 180: the three count in one place, on Redis's clock; 60 at once, then one a second (GCRA)
    assert 60 <= sum(allowed) <= 60 + int(took), (sum(allowed), took)


def test_the_script_counts_tokens_budget_and_usage(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        one, two = replicas(redis_server, 2)
        alice = key(tpm=1000, budget=0.001, period="day")
        await one.add(alice)
        current = periods()
        first = await one.admit(alice, 700, current, None, 0)
        assert first.allowed and first.state.tokens is not None and first.state.tokens.remaining == 300
        second = await two.admit(alice, 700, current, None, 0)  # the other replica sees the same bucket
        assert second.allowed and second.state.tokens is not None and second.state.tokens.remaining == 0
        third = await one.admit(alice, 10, current, None, 0)
        assert not third.allowed and third.reason == "tpm" and third.retry_after > 20
        # the first two used 50 tokens each (650 back each) and cost 0.0006 USD each: settled with the next call
        spent = await one.settle(alice, current, Usage(2, 60, 40, 12 * NANO // 10_000), -1300)
        assert spent == 12 * NANO // 10_000
        fourth = await two.admit(alice, 10, current, None, 0)
        assert not fourth.allowed and fourth.reason == "budget"  # 0.0012 >= 0.001: the soft cap was crossed
        usage = await one.usage(["alice"], current)
        assert usage["alice"]["day"] == Usage(2, 60, 40, 12 * NANO // 10_000) == usage["alice"]["month"]
        ttl = await one.state.call(lambda redis: redis.pttl("{protoshift:key:alice}:day:" + current.day))
        assert 0 < ttl <= (current.day_end + 86400) * 1000
        assert await one.remove("alice")
        assert await two.find(alice.digest) is None
        assert await one.usage(["alice"], current) == {"alice": {"day": Usage(), "month": Usage()}}
        await closed([one, two])

    asyncio.run(scenario())


# -- the gate: Redis away, open or closed -----------------------------------------------------------------------


def exchange(client: ClientKey, *, estimate: int = 0) -> Any:
    return SimpleNamespace(
        client=client, model="gpt-4.1", surface=ChatSurface(), estimate=estimate, counted=False, rate=None,
        local_limit=False, tokens=(0, 0), usage=None, status=200, settled=False,
    )  # fmt: skip


def test_with_redis_gone_limits_go_on_here_and_usage_reaches_redis_when_back(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        state = SharedState(StateURL.parse(redis_server.url, env={}), backoff=0.2)
        gate = ClientKeys.shared_in(state)
        alice = key(rpm=5)
        await gate.store.add(alice)
        await gate.refresh()
        assert gate.active
        request = {"model": "gpt-4.1", "messages": []}
        for _ in range(2):
            ex = exchange(alice)
            assert await gate.admit(ex, request, limited=True) is None and not ex.local_limit
            ex.tokens, ex.usage = (10, 5), {"prompt_tokens": 10, "completion_tokens": 5}
            gate.settle(ex, None)
        redis_server.stop()
        during = []
        for _ in range(8):
            ex = exchange(alice)
            during.append(await gate.admit(ex, request, limited=True))
            if during[-1] is None:
                assert ex.local_limit
                ex.tokens = (10, 5)
                gate.settle(ex, None)
        assert sum(failure is None for failure in during) == 5  # this replica's own limiter: a fresh minute
        refused = next(failure for failure in during if failure is not None)
        assert refused.status == 429 and refused.code == "rate_limit_exceeded"
        with pytest.raises(StateUnavailable):
            await gate.flush()
        redis_server.start()
        await asyncio.sleep(0.3)  # past the backoff
        await gate.flush()
        # the test's redis-server came back empty (it keeps nothing on disk): what is there is what this replica
        # held back — the last request before (sent with the next call, which failed) and the five during
        usage = await gate.store.usage(["alice"], periods())
        assert usage["alice"]["day"] == Usage(6, 60, 30, 0)
        await state.aclose()

    asyncio.run(scenario())


def test_with_state_fail_closed_a_limited_request_is_a_503(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        state = SharedState(StateURL.parse(redis_server.url, env={}), fail="closed")
        gate = ClientKeys.shared_in(state)
        alice, free = key(rpm=5), key("free")
        await gate.store.add(alice)
        redis_server.stop()
        failure = await gate.admit(exchange(alice), {}, limited=True)
        assert failure is not None and failure.status == 503 and (b"retry-after", b"1") in failure.headers
        assert await gate.admit(exchange(free), {}, limited=True) is None  # no limits: nothing to count
        await state.aclose()

    asyncio.run(scenario())


def test_a_model_the_key_may_not_use_is_a_403() -> None:
    async def scenario() -> None:
        gate = ClientKeys(SQLiteKeys.__new__(SQLiteKeys))  # the store is not asked: the key is at hand
        failure = await gate.admit(exchange(key(models=("claude-*",))), {}, limited=False)
        assert failure is not None and (failure.status, failure.code, failure.param) == (
            403,
            "model_not_allowed",
            "model",
        )

    asyncio.run(scenario())


# -- metrics --------------------------------------------------------------------------------------------------


def test_metrics_per_key_and_model_are_bounded() -> None:
    metrics = Metrics()
    metrics.client("alice", "gpt-4.1", 10, 5, 0.25)
    metrics.client("alice", "gpt-4.1", 1, 1, 0.25)
    metrics.client_limited("alice", "gpt-4.1", "rpm")
    for n in range(CLIENT_SERIES + 5):
        metrics.client("bob", f"made-up-{n}", 1, 1, 0.0)
    merged = Metrics()
    merged.add(metrics.snapshot())
    text = merged.render().decode()
    assert 'protoshift_client_requests_total{key="alice",model="gpt-4.1"} 2' in text
    assert 'protoshift_client_tokens_total{key="alice",model="gpt-4.1",direction="in"} 11' in text
    assert 'protoshift_client_spend_usd_total{key="alice",model="gpt-4.1"} 0.5' in text
    assert 'protoshift_client_limited_total{key="alice",model="gpt-4.1",reason="rpm"} 1' in text
    assert 'protoshift_client_requests_total{key="bob",model="other"} 6' in text
    assert text.count("protoshift_client_requests_total{") == CLIENT_SERIES + 1
