"""The client library under `serve --state redis://...` (gateway/state/connection.py): redis-py's asyncio client
with hiredis (the project's) beside valkey-glide, on the calls the gateway makes, in one run.

    uv run --with valkey-glide python -m benchmarks.state_clients [--quick] [--rounds N] [--json PATH]

valkey-glide is not a dependency of the project: `--with` lends it to this run alone. Without it the benchmark
says so in one line and measures redis-py alone.

A `redis-server` (Debian's package) on a free loopback port (benchmarks/serve.py's), started and stopped by the
benchmark; both clients in one uvloop loop, as under `serve`, each with one client object made as the gateway
makes it. The calls: GET and SET of a 2 KB value (a stored response), EVALSHA of a limiter-like script (TIME,
GET, SET with an expiry), and two EVALSHA in one non-atomic pipeline / batch (the breaker's refresh). Each round
runs every client in turn (the order reversed every other round: the machine is shared and noisy):
- sequential: each call awaited alone, timed by `perf_counter_ns` (p50/p99 over the rounds' calls), and the
  process's CPU time over the whole sequence / calls: every thread counts, so glide's Rust threads count
  against it, as they would against a gateway worker;
- concurrent: 64 tasks issuing the limiter script back to back for a fixed count: calls/s and CPU per call.
Figures are the median of the rounds (latencies pooled). Every loop is bounded in count, every call in time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from .serve import BenchError, redis_server

ROUNDS = 5
SEQUENTIAL = 2_000  # calls of each kind per client per round (--quick: 300)
CONCURRENT = 64
CONCURRENT_CALLS = 20_000  # calls per client per round across the 64 tasks (--quick: 3,000)
CALL_TIMEOUT = 5.0  # seconds any one call may take before the run fails
VALUE = b"x" * 2048  # about a stored response's size
KINDS = ("GET 2KB", "SET 2KB", "EVALSHA", "pipeline 2xEVALSHA")

# A small script in the shape of gateway/state/keys.py's limiter: the server's clock, a read and a write.
LIMITER = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local step = 60000 / tonumber(ARGV[1])
if tat + step - now > 60000 then return {0, tat - now} end
redis.call('SET', KEYS[1], tostring(tat + step), 'PX', 60000)
return {1, tat + step - now}
"""


class Client(Protocol):
    """The calls measured, as one client library makes them."""

    name: str

    async def get(self) -> object: ...
    async def set(self) -> object: ...
    async def script(self, key: str) -> object: ...
    async def pair(self) -> object: ...
    async def aclose(self) -> None: ...


class RedisPy:
    """redis-py's asyncio client, made as SharedState._client makes it (hiredis parses when installed)."""

    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis
        from redis.utils import HIREDIS_AVAILABLE

        self.name = "redis-py+hiredis" if HIREDIS_AVAILABLE else "redis-py (no hiredis)"
        self.redis = Redis.from_url(url, socket_timeout=CALL_TIMEOUT, socket_connect_timeout=CALL_TIMEOUT)
        self.sha = ""

    async def start(self) -> None:
        self.sha = str(await self.redis.script_load(LIMITER))
        await self.redis.set("bench:value", VALUE)

    async def get(self) -> object:
        return await self.redis.get("bench:value")

    async def set(self) -> object:
        return await self.redis.set("bench:value", VALUE)

    async def script(self, key: str) -> object:
        return await self.redis.evalsha(self.sha, 1, key, "600000")

    async def pair(self) -> object:
        pipe = self.redis.pipeline(transaction=False)
        pipe.evalsha(self.sha, 1, "bench:a", "600000")
        pipe.evalsha(self.sha, 1, "bench:b", "600000")
        return await pipe.execute()

    async def aclose(self) -> None:
        await self.redis.aclose()


class Glide:
    """valkey-glide's asyncio client (standalone), one multiplexed connection, as its docs advise."""

    def __init__(self, url: str) -> None:
        self.name = "valkey-glide"
        self.url = urlsplit(url)
        self.client: Any = None
        self.sha = ""

    async def start(self) -> None:
        from glide import GlideClient, GlideClientConfiguration, NodeAddress

        address = NodeAddress(self.url.hostname or "127.0.0.1", self.url.port or 6379)
        config = GlideClientConfiguration([address], request_timeout=int(CALL_TIMEOUT * 1000))
        self.client = await GlideClient.create(config)
        self.sha = _text(await self.client.custom_command(["SCRIPT", "LOAD", LIMITER]))
        await self.client.set("bench:value", VALUE)

    async def get(self) -> object:
        return await self.client.get("bench:value")

    async def set(self) -> object:
        return await self.client.set("bench:value", VALUE)

    async def script(self, key: str) -> object:
        # EVALSHA as such (invoke_script would be the idiomatic call; it sends EVALSHA too, by its own hash).
        return await self.client.custom_command(["EVALSHA", self.sha, "1", key, "600000"])

    async def pair(self) -> object:
        from glide import Batch

        batch = Batch(is_atomic=False)
        batch.custom_command(["EVALSHA", self.sha, "1", "bench:a", "600000"])
        batch.custom_command(["EVALSHA", self.sha, "1", "bench:b", "600000"])
        return await self.client.exec(batch, raise_on_error=True)

    async def aclose(self) -> None:
        await self.client.close()


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def glide_missing() -> str | None:
    """Why valkey-glide cannot be measured in this environment, or None when it can."""
    try:
        import glide  # noqa: F401
    except ImportError:
        return "valkey-glide is not installed (uv run --with valkey-glide ...): measuring redis-py alone"
    return None


@dataclass
class Figures:
    """One client's figures, pooled over the rounds."""

    latencies: dict[str, list[int]] = field(default_factory=lambda: {kind: [] for kind in KINDS})  # ns
    cpu: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in KINDS})  # µs/call per round
    rate: list[float] = field(default_factory=list)  # calls/s per round, 64 tasks
    rate_cpu: list[float] = field(default_factory=list)  # µs CPU/call per round, 64 tasks


async def _bounded(call: Awaitable[object]) -> object:
    async with asyncio.timeout(CALL_TIMEOUT):
        return await call


async def sequential(client: Client, calls: int, figures: Figures) -> None:
    ops: dict[str, Callable[[], Awaitable[object]]] = {
        "GET 2KB": client.get,
        "SET 2KB": client.set,
        "EVALSHA": lambda: client.script("bench:limit"),
        "pipeline 2xEVALSHA": client.pair,
    }
    for kind, op in ops.items():
        for _ in range(calls // 20):  # warm-up, not counted
            await _bounded(op())
        times = figures.latencies[kind]
        cpu = time.process_time_ns()
        for _ in range(calls):
            start = time.perf_counter_ns()
            await _bounded(op())
            times.append(time.perf_counter_ns() - start)
        figures.cpu[kind].append((time.process_time_ns() - cpu) / calls / 1000)


async def concurrent(client: Client, calls: int, figures: Figures) -> None:
    per_task = calls // CONCURRENT

    async def task(n: int) -> None:
        for _ in range(per_task):
            await client.script(f"bench:limit:{n}")

    await asyncio.wait_for(asyncio.gather(*(task(n) for n in range(CONCURRENT))), 60)  # warm-up (connections)
    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.wait_for(asyncio.gather(*(task(n) for n in range(CONCURRENT))), 120)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    figures.rate.append(per_task * CONCURRENT / wall)
    figures.rate_cpu.append(cpu / (per_task * CONCURRENT) * 1e6)


@contextlib.asynccontextmanager
async def started(client: RedisPy | Glide) -> AsyncIterator[Client]:
    await asyncio.wait_for(client.start(), 30)
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.aclose(), 10)


async def measure(url: str, rounds: int, calls: int, concurrent_calls: int, with_glide: bool) -> dict[str, Figures]:
    async with contextlib.AsyncExitStack() as stack:
        clients: list[Client] = [await stack.enter_async_context(started(RedisPy(url)))]
        if with_glide:
            clients.append(await stack.enter_async_context(started(Glide(url))))
        figures = {client.name: Figures() for client in clients}
        for n in range(rounds):
            order = clients if n % 2 == 0 else clients[::-1]
            for client in order:
                await sequential(client, calls, figures[client.name])
                await concurrent(client, concurrent_calls, figures[client.name])
            print(f"  round {n + 1}/{rounds} done", file=sys.stderr)
        return figures


def _pct(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000


def summary(figures: dict[str, Figures]) -> dict[str, dict[str, float]]:
    """name -> figure -> value: p50/p99 µs and CPU µs/call per kind, calls/s and CPU µs/call with 64 tasks."""
    out: dict[str, dict[str, float]] = {}
    for name, f in figures.items():
        row: dict[str, float] = {}
        for kind in KINDS:
            row[f"{kind} p50"] = _pct(f.latencies[kind], 0.50)
            row[f"{kind} p99"] = _pct(f.latencies[kind], 0.99)
            row[f"{kind} cpu"] = statistics.median(f.cpu[kind])
        row["64 tasks calls/s"] = statistics.median(f.rate)
        row["64 tasks cpu"] = statistics.median(f.rate_cpu)
        out[name] = row
    return out


def report(table: dict[str, dict[str, float]], rounds: int) -> None:
    names = list(table)
    print(
        f"\nstate clients, 127.0.0.1 redis-server, {rounds} rounds interleaved (µs unless said; CPU = process / calls)"
    )
    print(f"{'':32}" + "".join(f"{name:>22}" for name in names))
    for figure in next(iter(table.values())):
        digits = 0 if figure.endswith("calls/s") else 1
        print(f"{figure:32}" + "".join(f"{table[name][figure]:>22,.{digits}f}" for name in names))
    if len(names) < 2:
        return
    mine, other = names

    def ratio(figure: str) -> float:
        return table[other][figure] / table[mine][figure]

    cpu = statistics.median(ratio(f"{kind} cpu") for kind in KINDS)
    p50 = statistics.median(ratio(f"{kind} p50") for kind in KINDS)
    print(
        f"{other}/{mine}: CPU per sequential call {cpu:.2f}x (median of the kinds), p50 {p50:.2f}x,"
        f" CPU per call with 64 tasks {ratio('64 tasks cpu'):.2f}x, throughput with 64 tasks"
        f" {ratio('64 tasks calls/s'):.2f}x"
    )
    alone, busy = (other if cpu < 1 else mine), (other if ratio("64 tasks cpu") < 1 else mine)
    print(f"lighter on CPU per call: {alone} one call at a time, {busy} with 64 tasks")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.state_clients", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls and rounds: a smoke run")
    parser.add_argument("--rounds", type=int, default=None, help=f"rounds of every client in turn ({ROUNDS})")
    parser.add_argument("--json", type=Path, default=None, help="also save the figures to this file")
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else ROUNDS)
    if not 1 <= rounds <= 100:
        parser.error("--rounds: expected 1 to 100")
    calls, concurrent_calls = (300, 3_000) if args.quick else (SEQUENTIAL, CONCURRENT_CALLS)
    missing = glide_missing()
    if missing:
        print(missing)
    import uvloop

    try:
        with redis_server() as url:
            figures = uvloop.run(measure(url, rounds, calls, concurrent_calls, missing is None))
    except BenchError as exc:
        sys.exit(f"state_clients: {exc}")
    table = summary(figures)
    report(table, rounds)
    if args.json:
        args.json.write_text(json.dumps(table, indent=2) + "\n")


if __name__ == "__main__":
    main()
