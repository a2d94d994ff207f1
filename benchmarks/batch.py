"""`protoshift batch run` against a fast local server (benchmarks/fastserver.py, its own process).

- pools: raw httpx, 3,000 POSTs at 64 in flight, one connection pool vs the same connections split
  over small pools (`cloud.ShardedTransport`): the measurement behind batch run's transport
  (encode/httpx#3215).
- throughput: the whole `protoshift batch run` process (check pass, translation, HTTP, output lines,
  breaker state file) on a zero-latency server at concurrency 64. Target: at least 500 requests/s.
  "send rate" is the rate the run itself reports (after the check pass); "process" is lines / wall time.
- latency: 2,000 requests on a server answering after 20 ms, concurrency 64, against the ideal
  (requests x latency / concurrency). Target: within 4x.
- memory: peak RSS of the `protoshift batch run` process (wait4 rusage, that process alone) for an
  input of N lines and of 10 N lines. Target: it grows by less than 20 MB.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .servers import serve

THROUGHPUT_TARGET = 500.0  # requests/s
LATENCY_TARGET = 4.0  # x the ideal
MEMORY_TARGET_MB = 20.0
CONCURRENCY = 64


@dataclass
class BatchResults:
    pools: dict[str, float] = field(default_factory=dict)  # configuration -> requests/s
    throughput: dict[str, float] = field(default_factory=dict)
    latency: dict[str, float] = field(default_factory=dict)
    memory: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def server(latency: float = 0.0) -> AbstractContextManager[str]:
    """benchmarks.fastserver in its own process; yields its base URL."""
    return serve("benchmarks.fastserver", "--latency", str(latency))


# -- raw httpx: one pool vs many small ones --------------------------------------------------------


async def _hammer(url: str, requests: int, concurrency: int, transport: Any, limits: Any) -> float:
    import httpx

    kwargs: dict[str, Any] = {"transport": transport} if transport is not None else {}
    if limits is not None:
        kwargs["limits"] = limits
    async with httpx.AsyncClient(**kwargs) as client:
        counter = itertools.count()

        async def worker() -> None:
            while next(counter) < requests:
                response = await client.post(url, content=b'{"model":"m"}')
                response.json()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests / (time.perf_counter() - started)


def pools(requests: int, concurrency: int = CONCURRENCY) -> dict[str, float]:
    import httpx

    from protoshift.cloud.pool import ShardedTransport

    configs: dict[str, Any] = {
        "httpx default (1 pool, keep-alive 20)": lambda: (None, None),
        f"1 pool x {concurrency}": lambda: (
            None,
            httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        ),
        f"{concurrency // 16} pools x 16": lambda: (ShardedTransport(concurrency, per_pool=16), None),
        f"{concurrency // 8} pools x 8": lambda: (ShardedTransport(concurrency, per_pool=8), None),
        f"{concurrency // 4} pools x 4 (batch run)": lambda: (ShardedTransport(concurrency, per_pool=4), None),
        f"{concurrency} pools x 1": lambda: (ShardedTransport(concurrency, per_pool=1), None),
    }
    figures: dict[str, float] = {}
    with server() as base:
        url = f"{base}/v1/messages"
        for _round in range(2):  # two rounds, best of each: the machine is shared with the server
            for name, make in configs.items():
                transport, limits = make()
                rate = asyncio.run(_hammer(url, requests, concurrency, transport, limits))
                figures[name] = max(figures.get(name, 0.0), rate)
    return figures


# -- the CLI process -------------------------------------------------------------------------------


def _bin() -> Path:
    return Path(sys.prefix) / "bin" / "protoshift"


def _input(path: Path, lines: int) -> Path:
    with path.open("w") as fh:
        for n in range(lines):
            body = {"model": "claude-bench", "messages": [{"role": "user", "content": f"question number {n}"}]}
            fh.write(
                json.dumps({"custom_id": f"req-{n}", "method": "POST", "url": "/v1/chat/completions", "body": body})
            )
            fh.write("\n")
    return path


_SUMMARY = re.compile(r"(\d+) succeeded, (\d+) failed in ([\d.]+)s \(([\d.]+)/s")


def run_cli(base_url: str, lines: int, tmp: Path, concurrency: int = CONCURRENCY) -> dict[str, float]:
    """One `protoshift batch run`: wall seconds, send seconds and rate (from its summary), max RSS."""
    source = _input(tmp / f"in-{lines}.jsonl", lines)
    output = tmp / f"out-{lines}-{time.monotonic_ns()}.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "PROTOSHIFT_"))}
    env |= {
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": "sk-ant-bench",
        "XDG_STATE_HOME": str(tmp / "state"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
    }
    args = [str(_bin()), "batch", "run", str(source), "-o", str(output), "-c", str(concurrency)]
    # The child's ru_maxrss counts the image it was forked from (this process, LiteLLM and all), so
    # the peak RSS comes from GNU time, which forks small and measures the exec'd protoshift alone.
    gnu_time = os.path.exists("/usr/bin/time")
    measured = ["/usr/bin/time", "-f", "maxrss_kb=%M", *args] if gnu_time else args
    started = time.perf_counter()
    proc = subprocess.Popen(measured, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    stderr = proc.stderr.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    rss_kb = usage.ru_maxrss
    if gnu_time and (found := re.search(r"maxrss_kb=(\d+)", stderr)):
        rss_kb = int(found.group(1))
    match = _SUMMARY.search(stderr)
    if proc.returncode != 0 or match is None or int(match.group(1)) != lines:
        raise RuntimeError(f"batch run exited {proc.returncode}: {stderr.strip()[-300:]}")
    output.unlink()
    return {
        "lines": lines,
        "wall_s": wall,
        "process_rate": lines / wall,
        "send_s": float(match.group(3)),
        "send_rate": float(match.group(4)),
        "max_rss_mb": rss_kb / 1024,  # Linux: kilobytes
    }


def run(quick: bool = False) -> BatchResults:
    results = BatchResults()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        try:
            results.pools = pools(1000 if quick else 2000)
        except Exception as exc:  # a figure missing is reported, not fatal
            results.errors["pools"] = repr(exc)
        try:
            with server() as base:
                run_cli(base, 200, tmp)  # warm-up: .pyc files, page cache
                best = max(
                    (run_cli(base, 1000 if quick else 3000, tmp) for _ in range(2)), key=lambda r: r["send_rate"]
                )
            results.throughput = best
        except Exception as exc:
            results.errors["throughput"] = repr(exc)
        try:
            with server(latency=0.02) as base:
                figures = run_cli(base, 2000, tmp)
            ideal = 2000 * 0.02 / CONCURRENCY
            results.latency = {**figures, "ideal_s": ideal, "x_ideal": figures["send_s"] / ideal}
        except Exception as exc:
            results.errors["latency"] = repr(exc)
        try:
            small, large = (1000, 10_000) if quick else (2000, 20_000)
            with server() as base:
                low = run_cli(base, small, tmp)
                high = run_cli(base, large, tmp)
            results.memory = {
                "small_lines": small,
                "small_rss_mb": low["max_rss_mb"],
                "large_lines": large,
                "large_rss_mb": high["max_rss_mb"],
                "growth_mb": high["max_rss_mb"] - low["max_rss_mb"],
                "large_send_rate": high["send_rate"],
            }
        except Exception as exc:
            results.errors["memory"] = repr(exc)
    return results


def _verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def text(res: BatchResults) -> str:
    lines = [f"batch run (concurrency {CONCURRENCY}, local server in its own process)"]
    if res.pools:
        lines.append("  httpx alone, requests/s by connection pool layout (best of 2 rounds):")
        width = max(len(k) for k in res.pools)
        for name, rate in res.pools.items():
            lines.append(f"    {name.ljust(width)}  {rate:8,.0f}")
    if res.throughput:
        t = res.throughput
        lines.append(
            f"  throughput, zero latency, {t['lines']:,.0f} lines: send rate {t['send_rate']:,.0f}/s"
            f" (process incl. start-up and check pass: {t['process_rate']:,.0f}/s, {t['wall_s']:.2f} s)"
            f"  target >= {THROUGHPUT_TARGET:.0f}/s: {_verdict(t['send_rate'] >= THROUGHPUT_TARGET)}"
        )
    if res.latency:
        lat = res.latency
        lines.append(
            f"  2,000 requests, 20 ms latency: {lat['send_s']:.2f} s vs ideal {lat['ideal_s']:.3f} s"
            f" = {lat['x_ideal']:.2f}x  target <= {LATENCY_TARGET:.0f}x: {_verdict(lat['x_ideal'] <= LATENCY_TARGET)}"
        )
    if res.memory:
        m = res.memory
        lines.append(
            f"  peak RSS: {m['small_lines']:,.0f} lines {m['small_rss_mb']:.1f} MB, {m['large_lines']:,.0f} lines"
            f" {m['large_rss_mb']:.1f} MB: +{m['growth_mb']:.1f} MB"
            f"  target < {MEMORY_TARGET_MB:.0f} MB: {_verdict(m['growth_mb'] < MEMORY_TARGET_MB)}"
        )
    for name, error in res.errors.items():
        lines.append(f"  {name}: FAILED: {error}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(text(run(quick="--quick" in sys.argv)))
