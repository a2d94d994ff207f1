"""The shared breaker's hot path (issue 22): what a healthy request asks of Redis under `protoshift serve
--state redis://...` (counted by Redis itself, `INFO commandstats` before and after), and what the shared
breaker costs beside the local one (the state file alone).

    uv run python -m benchmarks.breaker_state [--quick] [--rounds N] [--json PATH]

A `redis-server` (Debian's package) on a free loopback port, started and stopped by the benchmark. Two parts:

- in-process (the steadiest figure on a shared machine): what `cloud.attempts` does for each request, a
  permit from the host's breaker and the model's and a success to each, timed per request over 20,000
  requests a round (`--quick`: 5,000), 10 rounds in turns: `local` (each breaker on its `FileStore`, as
  without `--state`) and `shared` (the same, each also given its `RedisBreaker` share). A round never yields
  to the loop, so the shares' refresh runs between rounds: within one, past its first second, every read
  finds its snapshot old and asks for a refresh (the dearer path, so the figure is an upper bound).
- through `serve`: the zero-latency fake Anthropic of benchmarks/serve.py and two `protoshift serve` of this
  checkout (one worker each, the breaker on, `--max-retries 0`, the log to /dev/null): `local` (no `--state`)
  and `redis` (`--state`), warmed up. serve.py's load generator, in its own process: 64 clients back to back
  (req/s, and the server's CPU per request: steadier on a shared machine), then 200 requests/s (open loop: p50
  and p99). The servers take turns in each round (the order reversed every other round); each figure is the
  median of the rounds. For the Speed target of issue 22 read
  `python -m benchmarks.serve --state-compare` (JSON and stream, 50 and 200 requests/s, CPU per request).

What Redis runs meanwhile is all the breaker's (JSON chats store nothing; the benchmark's own calls are left
out). The figure to read is `scripts per request` (EVALSHA/EVAL, the breaker's round trips): the refresh of
each breaker's snapshot, at most once a second whatever the load, so it goes to zero as the rate grows: a
healthy request makes no round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from .serve import (
    CHAT,
    PATH,
    BenchError,
    commands_sent,
    commandstats,
    cpu_seconds,
    load,
    protoshift_serve,
    redis_server,
    this_checkout,
    upstream,
)

ROUNDS = 3
IN_PROCESS_ROUNDS = 10  # short turns (a second or less each): what the machine does meanwhile weighs on both
CLIENTS = 64
RATE = 200
SCRIPTS = ("cmdstat_evalsha", "cmdstat_eval")
BASE_URL = "https://api.anthropic.example"


# -- in-process ------------------------------------------------------------------------------------------


async def _in_process(url: str, requests: int, rounds: int) -> dict[str, Any]:
    from protoshift.cloud.breaker import CircuitBreaker, FileStore
    from protoshift.gateway.state.breaker import RedisBreakers
    from protoshift.gateway.state.connection import SharedState, StateURL

    state = SharedState(StateURL.parse(url, env={}))
    registry = RedisBreakers(state)
    with tempfile.TemporaryDirectory(prefix="bench-breaker-") as folder:

        def breakers(shared: bool) -> list[CircuitBreaker]:
            made = []
            for model in (None, "claude-bench"):
                store = FileStore("anthropic", BASE_URL, Path(folder) / ("shared" if shared else "local"), model=model)
                breaker = CircuitBreaker("anthropic", store, model=model)
                if shared:
                    breaker.share = registry(breaker, BASE_URL)
                made.append(breaker)
            return made

        sides = {"local": breakers(False), "shared": breakers(True)}
        await registry.sync()
        per_request: dict[str, list[float]] = {name: [] for name in sides}
        before = commandstats(url)
        started = time.monotonic()
        for turn in range(rounds):
            for name in list(sides) if turn % 2 == 0 else list(sides)[::-1]:
                pair = sides[name]
                began = time.perf_counter_ns()
                for _ in range(requests):
                    for breaker in pair:
                        breaker.success(await breaker.permit())
                per_request[name].append((time.perf_counter_ns() - began) / requests / 1000)
                await asyncio.sleep(0)  # the registry's refresh, when one is due, runs here as in serve
        seconds = time.monotonic() - started
        await state.aclose()
    sent = commands_sent(before, commandstats(url))
    return {
        "requests": requests * rounds,
        "seconds": seconds,
        "us_per_request": {name: statistics.median(each) for name, each in per_request.items()},
        "rounds_us": per_request,
        "commands": sent,
    }


# -- through serve ---------------------------------------------------------------------------------------


def _through_serve(url: str, rounds: int, seconds: float) -> dict[str, Any]:
    mine = this_checkout()
    sides = {"local": replace(mine, breaker=True), "redis": replace(mine, breaker=True, state=url)}
    runs: dict[str, list[dict[str, Any]]] = {"local": [], "redis": []}
    with (
        upstream() as fake,
        protoshift_serve(sides["local"], fake, 1) as local,
        protoshift_serve(sides["redis"], fake, 1) as shared,
    ):
        urls, pids = {"local": local[0], "redis": shared[0]}, {"local": local[1], "redis": shared[1]}
        for served in urls.values():
            load(served, PATH, CHAT, mode="clients", clients=8, seconds=1.0)  # warm-up
        for turn in range(rounds):
            for name in ("local", "redis") if turn % 2 == 0 else ("redis", "local"):
                before, cpu = commandstats(url), cpu_seconds(pids[name])
                sustained = load(urls[name], PATH, CHAT, mode="clients", clients=CLIENTS, seconds=seconds)
                cpu_us = (cpu_seconds(pids[name]) - cpu) / max(1, sustained["requests"]) * 1e6
                middle = commandstats(url)
                rated = load(urls[name], PATH, CHAT, mode="rate", rate=RATE, seconds=seconds)
                after = commandstats(url)
                runs[name].append(
                    {
                        "rps": sustained["rps"],
                        "cpu_us": cpu_us,
                        "p50_ms": rated["latency"]["p50"],
                        "p99_ms": rated["latency"]["p99"],
                        "errors": sustained["errors"] + rated["errors"],
                        "sustained": {"requests": sustained["requests"], "commands": commands_sent(before, middle)},
                        "rate": {"requests": rated["requests"], "commands": commands_sent(middle, after)},
                    }
                )
                _say(f"round {turn + 1} {name}: {sustained['rps']:.0f} req/s, p50 {rated['latency']['p50']:.2f} ms")
    figures: dict[str, Any] = {"rounds": rounds, "seconds": seconds, "sides": {}}
    for name, each in runs.items():
        figures["sides"][name] = {
            "rps": statistics.median(r["rps"] for r in each),
            "cpu_us": statistics.median(r["cpu_us"] for r in each),
            "p50_ms": statistics.median(r["p50_ms"] for r in each),
            "p99_ms": statistics.median(r["p99_ms"] for r in each),
            "errors": sum(r["errors"] for r in each),
            "runs": each,
        }
    figures["redis"] = {kind: _counted(r[kind] for r in runs["redis"]) for kind in ("sustained", "rate")}
    return figures


def _counted(parts: Any) -> dict[str, Any]:
    """Redis's counts summed over the `redis` turns of one load kind, and the scripts per request."""
    requests, total = 0, dict[str, int]()
    for part in parts:
        requests += part["requests"]
        for name, n in part["commands"].items():
            total[name] = total.get(name, 0) + n
    scripts = sum(total.get(name, 0) for name in SCRIPTS)
    return {
        "requests": requests,
        "commands": total,
        "scripts": scripts,
        "scripts_per_request": scripts / requests if requests else None,
    }


# -- the report ------------------------------------------------------------------------------------------


def _commands_text(commands: dict[str, int]) -> str:
    return ", ".join(f"{name.removeprefix('cmdstat_')} {n}" for name, n in commands.items()) or "nothing"


def text(figures: dict[str, Any]) -> str:
    inner = figures["in_process"]
    local_us, shared_us = inner["us_per_request"]["local"], inner["us_per_request"]["shared"]
    inner_scripts = sum(inner["commands"].get(name, 0) for name in SCRIPTS)
    lines = [
        f"shared breaker, in-process: permit + success on the host's and the model's breaker, per request"
        f" ({inner['requests'] // IN_PROCESS_ROUNDS:,} requests a round, {IN_PROCESS_ROUNDS} rounds in turns; medians)",
        f"  local (state file)     {local_us:8.2f} µs",
        f"  shared (Redis share)   {shared_us:8.2f} µs   shared - local {shared_us - local_us:+.2f} µs",
        f"  Redis meanwhile: {_commands_text(inner['commands'])}; {inner_scripts} scripts in {inner['seconds']:.1f} s"
        f" for {inner['requests'] * 2:,} breaker permits ({inner_scripts / inner['requests']:.5f} per request)",
        "",
    ]
    served = figures["serve"]
    local, shared = served["sides"]["local"], served["sides"]["redis"]
    lines += [
        f"shared breaker, through serve (1 worker each; {served['rounds']} rounds of {served['seconds']:g} s per load;"
        " medians)",
        f"  {'':<22}{'local state':>14}{'--state redis':>16}{'redis/local':>14}",
        f"  {'req/s, 64 clients':<22}{local['rps']:>14.0f}{shared['rps']:>16.0f}{shared['rps'] / local['rps']:>14.2f}",
        f"  {'  CPU per request, µs':<22}{local['cpu_us']:>14.0f}{shared['cpu_us']:>16.0f}"
        f"{shared['cpu_us'] / local['cpu_us']:>14.2f}",
        f"  {f'p50 at {RATE}/s, ms':<22}{local['p50_ms']:>14.2f}{shared['p50_ms']:>16.2f}"
        f"{shared['p50_ms'] - local['p50_ms']:>+12.2f}ms",
        f"  {f'p99 at {RATE}/s, ms':<22}{local['p99_ms']:>14.2f}{shared['p99_ms']:>16.2f}"
        f"{shared['p99_ms'] - local['p99_ms']:>+12.2f}ms",
        f"  {'errors':<22}{local['errors']:>14}{shared['errors']:>16}",
        "  what Redis ran during the --state server's turns (INFO commandstats, the benchmark's own calls left out):",
    ]
    for kind, label in (("sustained", f"{CLIENTS} clients"), ("rate", f"{RATE} req/s")):
        counted = served["redis"][kind]
        per = counted["scripts_per_request"] or 0.0
        lines.append(
            f"    {label}: {counted['requests']:,} requests, {counted['scripts']} scripts ({per:.5f} per request):"
            f" {_commands_text(counted['commands'])}"
        )
    return "\n".join(lines)


def _say(message: str) -> None:
    print(f"[breaker_state {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.breaker_state", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests in-process, loads of 1 s instead of 3 s")
    parser.add_argument("--rounds", type=int, default=ROUNDS, metavar="N", help=f"rounds of turns [{ROUNDS}]")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every figure to PATH as JSON")
    args = parser.parse_args()
    rounds = max(1, args.rounds)
    started = time.perf_counter()
    try:
        with redis_server() as url:
            _say("in-process")
            figures: dict[str, Any] = {"rounds": rounds}
            figures["in_process"] = asyncio.run(_in_process(url, 5_000 if args.quick else 20_000, IN_PROCESS_ROUNDS))
            _say("through serve")
            figures["serve"] = _through_serve(url, rounds, 1.0 if args.quick else 3.0)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(text(figures))
    print(f"\nbreaker_state benchmark: {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
