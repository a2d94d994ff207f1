"""gateway/state/breaker.py on a real redis-server: the circuit breakers replicas share. Each "replica" here is
its own SharedState (its own connection) and RedisBreakers, in front of one CircuitBreaker with its own
local store; `sync()` stands for the refresh a replica makes by itself at most every second."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from protoshift.cloud.breaker import CircuitBreaker, MemoryStore
from protoshift.cloud.errors import CircuitOpenError
from protoshift.gateway.state.breaker import RedisBreakers, breaker_key
from protoshift.gateway.state.connection import DEFAULT_TIMEOUT, SharedState, StateURL
from tests.redis_server import RedisServer

BASE_URL = "https://api.anthropic.example"


@dataclass
class Replica:
    breakers: RedisBreakers
    host: CircuitBreaker
    said: list[str] = field(default_factory=list)

    @property
    def state(self) -> SharedState:
        return self.breakers.state

    async def fail(self, times: int = 1) -> None:
        for _ in range(times):
            self.host.failure(await self.host.permit())

    async def succeed(self) -> None:
        self.host.success(await self.host.permit())


def replica(
    server: RedisServer, *, cooldown: float = 30.0, probe_timeout: float = 60.0, timeout: float = 10.0, **breaker: Any
) -> Replica:
    """A replica whose calls to Redis may take `timeout` (serve's 250 ms only where a test is about a slow Redis:
    a busy machine can stall a call that long, and the replica would then rightly decide alone)."""
    state = SharedState(StateURL.parse(server.url, env={}), timeout=timeout, backoff=0.1)
    registry = RedisBreakers(state, clock=breaker.pop("monotonic", time.monotonic))
    said: list[str] = []
    host = CircuitBreaker(
        "anthropic", MemoryStore(), cooldown=cooldown, probe_timeout=probe_timeout, on_change=said.append, **breaker
    )
    host.share = registry(host, BASE_URL)
    return Replica(registry, host, said)


def run(scenario: Callable[[], Any]) -> Any:
    return asyncio.run(scenario())


async def closing(*replicas: Replica) -> None:
    for one in replicas:
        await one.state.aclose()


async def back(one: Replica) -> None:
    """Until the replica has a shared view again (each connection finds Redis gone once, then waits its
    backoff, 0.1 s, before it tries again): bounded in count, not in time."""
    for _ in range(100):
        await one.breakers.sync()
        if one.host.share is not None and one.host.share.view() is not None:
            return
        await asyncio.sleep(0.05)
    pytest.fail("no shared view after Redis came back")


def test_failures_seen_by_one_replica_open_the_circuit_on_the_others(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        one, two = replica(redis_server), replica(redis_server)
        await one.breakers.sync()
        await two.breakers.sync()
        await one.fail(4)
        await one.breakers.sync()
        await two.succeed()  # a success anywhere resets the count (with its replica's next round trip)
        await two.breakers.sync()
        await one.breakers.sync()
        await one.fail(4)
        await one.breakers.sync()
        assert one.host.state() == two.host.state() == "closed"
        await one.fail()
        assert one.host.state() == "open"  # at once on the replica that saw it
        await one.breakers.sync()
        assert two.host.state() == "closed"  # the other one's snapshot, until its refresh
        await two.breakers.sync()
        assert two.host.state() == "open"
        with pytest.raises(CircuitOpenError) as refused:
            await two.host.permit()
        assert 25 <= refused.value.retry_in_seconds <= 30 and not refused.value.probing
        assert one.said == [
            "circuit opened for anthropic after repeated failures (shared state);"
            " requests fail fast for 30s on every replica"
        ]
        assert two.said == ["circuit opened for anthropic by another replica; requests fail fast for 30s"]
        await closing(one, two)

    run(scenario)


def test_one_replica_at_a_time_probes_the_half_open_circuit(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        one, two, three = (replica(redis_server, cooldown=0.2) for _ in range(3))
        await one.fail(5)
        await one.breakers.sync()
        await asyncio.sleep(0.25)
        for each in (one, two, three):  # each snapshot taken now: the cool-down over on Redis's clock
            await each.breakers.sync()
            assert each.host.state() == "half-open"
        # all at once: one probe across the three replicas (and within each)
        outcomes = await asyncio.gather(
            *(each.host.permit() for each in (one, two, three) for _ in range(3)), return_exceptions=True
        )
        probes = [outcome for outcome in outcomes if not isinstance(outcome, CircuitOpenError)]
        assert len(probes) == 1 and probes[0].generation == 1
        assert all(outcome.probing for outcome in outcomes if isinstance(outcome, CircuitOpenError))
        owner = (one, two, three)[outcomes.index(probes[0]) // 3]
        others = [each for each in (one, two, three) if each is not owner]

        owner.host.failure(probes[0])  # the probe failed: open again, a new cool-down, for everyone
        await owner.breakers.sync()
        for each in others:
            await each.breakers.sync()
            assert each.host.state() == "open"
        await asyncio.sleep(0.25)
        await others[0].breakers.sync()
        probe = await others[0].host.permit()  # the next opening's probe: anyone's to take
        assert probe.generation == 2
        others[0].host.success(probe)
        await others[0].breakers.sync()
        for each in (one, two, three):
            await each.breakers.sync()
            assert each.host.state() == "closed"
        await each.succeed()
        await closing(one, two, three)

    run(scenario)


def test_a_probe_given_back_is_free_for_another_replica(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        one, two = replica(redis_server, cooldown=0.1), replica(redis_server, cooldown=0.1)
        await one.fail(5)
        await one.breakers.sync()
        await asyncio.sleep(0.15)
        await one.breakers.sync()  # a snapshot taken after the cool-down (one before it may say open a while)
        probe = await one.host.permit()
        await two.breakers.sync()
        with pytest.raises(CircuitOpenError):
            await two.host.permit()
        one.host.neutral(probe)  # a 429, or the client left: no verdict, the probe is given back
        await one.breakers.sync()
        await two.breakers.sync()
        assert (await two.host.permit()).generation == 1
        await closing(one, two)

    run(scenario)


def test_a_replica_that_dies_mid_probe_frees_it_when_the_lease_ends(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        one = replica(redis_server, cooldown=0.1, probe_timeout=0.3)
        two = replica(redis_server, cooldown=0.1, probe_timeout=0.3)
        await one.fail(5)
        await one.breakers.sync()
        await asyncio.sleep(0.15)
        await one.breakers.sync()
        assert (await one.host.permit()).generation == 1
        await one.state.aclose()  # gone mid-probe: it never reports
        await two.breakers.sync()
        with pytest.raises(CircuitOpenError) as refused:
            await two.host.permit()
        assert refused.value.probing
        for _ in range(100):  # the lease is 0.3 s; bounded in count, not in time
            await asyncio.sleep(0.05)
            await two.breakers.sync()
            try:
                probe = await two.host.permit()
                break
            except CircuitOpenError:
                continue
        else:
            pytest.fail("the dead replica's probe was never freed")
        assert probe.generation == 1
        await closing(two)

    run(scenario)


def test_cooldown_deadlines_are_the_servers_whatever_the_replicas_clocks_say(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        # one replica's clocks (wall and monotonic) an hour ahead, the other's a day behind
        one = replica(redis_server, clock=lambda: time.time() + 3600, monotonic=lambda: time.monotonic() + 3600)
        two = replica(redis_server, clock=lambda: time.time() - 86400, monotonic=lambda: time.monotonic() - 86400)
        await one.fail(5)
        await one.breakers.sync()
        await two.breakers.sync()
        state = one.state

        async def stored() -> tuple[int, int]:
            seconds, micros = await state.call(lambda redis: redis.time())
            until = await state.call(lambda redis: redis.hget(breaker_key("anthropic", BASE_URL), "until"))
            return int(until), seconds * 1000 + micros // 1000

        until, server_now = await stored()
        assert 29_000 <= until - server_now <= 30_000  # the cool-down ends 30 s after the server's now
        left = []
        for each in (one, two):
            view = each.host.share.view() if each.host.share else None
            assert view is not None and view.reopen_in is not None
            left.append(view.reopen_in)
        assert abs(left[0] - left[1]) < 1.0 and all(29 <= seconds <= 30 for seconds in left)
        await closing(one, two)

    run(scenario)


def test_with_redis_gone_each_replica_decides_alone_then_catches_up(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        one, two = replica(redis_server), replica(redis_server)
        await one.breakers.sync()
        await two.breakers.sync()
        redis_server.stop()
        started = time.monotonic()
        await asyncio.wait_for(one.fail(5), 10)  # bounded whatever happens: never a hang
        await asyncio.wait_for(one.breakers.sync(), 10)
        assert time.monotonic() - started < 10
        assert one.host.share is not None and one.host.share.view() is None  # no shared view: its own decides
        assert one.host.state() == "open"  # its own state (the local store), which heard every failure
        assert two.host.state() == "closed"

        redis_server.start()
        await back(one)  # its failures told as it reconnects
        await back(two)
        assert two.host.state() == "open"  # caught up: the failures seen alone now open it for all
        await closing(one, two)

    run(scenario)


def test_a_slow_redis_never_holds_a_request(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        one = replica(redis_server, cooldown=0.1, timeout=DEFAULT_TIMEOUT)
        await one.fail(5)
        await one.breakers.sync()
        await asyncio.sleep(0.15)
        await one.breakers.sync()
        pauser = replica(redis_server).state
        await pauser.call(lambda redis: redis.execute_command("CLIENT", "PAUSE", "1000", "ALL"))
        started = time.monotonic()
        # half-open: the probe's claim waits for Redis, at most the call's bound, then this replica decides
        permit = await asyncio.wait_for(one.host.permit(), 10)
        waited = time.monotonic() - started
        assert not permit.shared and waited < 2.5  # the 250 ms bound, with room for a busy machine
        assert one.state.failures >= 1
        await closing(one)
        await pauser.aclose()

    run(scenario)


def test_a_healthy_request_makes_no_round_trip(redis_server: RedisServer) -> None:
    async def scenario() -> dict[str, int]:
        one = replica(redis_server)
        model = CircuitBreaker("anthropic", MemoryStore(), model="claude-test")
        model.share = one.breakers(model, BASE_URL)
        await one.breakers.sync()

        async def calls() -> dict[str, int]:
            info = await one.state.call(lambda redis: redis.info("commandstats"))
            return {name: stats["calls"] for name, stats in info.items()}

        before = await calls()
        started = time.monotonic()
        for _ in range(2000):
            for breaker in (one.host, model):
                breaker.success(await breaker.permit())
        await asyncio.sleep(0)
        after = await calls()
        refreshes = int((time.monotonic() - started) / 1.0) + 1
        sent = {name: n - before.get(name, 0) for name, n in after.items() if n != before.get(name, 0)}
        scripts = sent.get("cmdstat_evalsha", 0) + sent.get("cmdstat_eval", 0)
        assert scripts <= 2 * refreshes, sent  # a refresh of each breaker a second at most, none per request
        await closing(one)
        return sent

    run(scenario)
