"""`protoshift batch run` against a fast local server (benchmarks/fastserver.py, its own process).

`python -m benchmarks.batch [--quick] [--before PROTOSHIFT]`

- throughput: the whole `protoshift batch run` process (check pass, translation, HTTP, output lines,
  breaker state file) on a zero-latency server at concurrency 16, 64 and 256, next to the same number
  of POSTs from raw aiohttp and from a raw asyncio socket client (benchmarks/transports.py) in the same
  run: the floors. "req/s" is the rate the run reports (after its check pass; in brackets: lines / wall
  time of the whole process); "CPU/req" is the process's user + system time per request for the sending
  alone (a `--validate-only` run of the same input, start-up and check pass, taken away).
  Target (issue 11): at least 3,000 requests/s at concurrency 64.
- latency: 10,000 requests to a server answering after 50 ms, concurrency 256, against the ideal
  10000 / 256 x 0.05 s = 1.95 s. Target (issue 11): within 1.3x.
- memory: peak RSS of the `protoshift batch run` process (GNU time, that process alone) for 20,000 and
  200,000 lines. Target: flat (less than 20 MB more for 10x the lines).

`--before PROTOSHIFT` also runs the throughput and latency cases with another install's console
script (e.g. main's `.venv/bin/protoshift`): before and after in one run, on one machine.
"""

from __future__ import annotations

import argparse
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
from .transports import _run_child

THROUGHPUT_TARGET = 3000.0  # requests/s at concurrency 64
LATENCY_TARGET = 1.3  # x the ideal
MEMORY_TARGET_MB = 20.0
CONCURRENCIES = (16, 64, 256)
LATENCY = 0.05
LATENCY_REQUESTS = 10_000
LATENCY_CONCURRENCY = 256
REFERENCES = ("raw aiohttp", "raw asyncio")


@dataclass
class BatchResults:
    throughput: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # side -> c -> figures
    latency: dict[str, dict[str, float]] = field(default_factory=dict)  # side -> figures
    memory: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def server(latency: float = 0.0) -> AbstractContextManager[str]:
    """benchmarks.fastserver in its own process; yields its base URL."""
    return serve("benchmarks.fastserver", "--latency", str(latency))


# -- the CLI process -------------------------------------------------------------------------------


def _bin() -> Path:
    return Path(sys.prefix) / "bin" / "protoshift"


def _input(path: Path, lines: int) -> Path:
    if path.exists():
        return path
    with path.open("w") as fh:
        for n in range(lines):
            body = {"model": "claude-bench", "messages": [{"role": "user", "content": f"question number {n}"}]}
            fh.write(
                json.dumps({"custom_id": f"req-{n}", "method": "POST", "url": "/v1/chat/completions", "body": body})
            )
            fh.write("\n")
    return path


_SUMMARY = re.compile(r"(\d+) succeeded, (\d+) failed in ([\d.]+)s \(([\d.]+)/s")
_CHECK_CPU: dict[tuple[str, int], float] = {}  # (script, lines) -> CPU seconds of start-up + check pass


def _env(base_url: str, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "PROTOSHIFT_"))}
    return env | {
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": "sk-ant-bench",
        "XDG_STATE_HOME": str(tmp / "state"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
    }


def _check_cpu(binary: Path, source: Path, lines: int, env: dict[str, str]) -> float:
    """CPU seconds of `batch run --validate-only` on the same input: start-up and check pass, no sending."""
    key = (str(binary), lines)
    if key not in _CHECK_CPU:
        proc = subprocess.Popen([str(binary), "batch", "run", str(source), "--validate-only"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        _, _, usage = os.wait4(proc.pid, 0)
        _CHECK_CPU[key] = usage.ru_utime + usage.ru_stime
    return _CHECK_CPU[key]


def run_cli(
    base_url: str, lines: int, tmp: Path, concurrency: int = 64, binary: Path | None = None
) -> dict[str, float]:
    """One `protoshift batch run`: wall seconds, send seconds and rate (from its summary), CPU, max RSS."""
    source = _input(tmp / f"in-{lines}.jsonl", lines)
    output = tmp / f"out-{lines}-{time.monotonic_ns()}.jsonl"
    env = _env(base_url, tmp)
    binary = binary or _bin()
    args = [str(binary), "batch", "run", str(source), "-o", str(output), "-j", str(concurrency)]
    # The child's ru_maxrss counts the image it was forked from (this process), so the peak RSS comes
    # from GNU time, which forks small and measures the exec'd protoshift alone.
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
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "lines": lines,
        "wall_s": wall,
        "process_rate": lines / wall,
        "send_s": float(match.group(3)),
        "send_rate": float(match.group(4)),
        "cpu_us_per_line": cpu / lines * 1e6,
        # the sending alone: the CPU of a --validate-only run of the same input taken away
        "send_cpu_us": max(0.0, cpu - _check_cpu(binary, source, lines, env)) / lines * 1e6,
        "max_rss_mb": rss_kb / 1024,  # Linux: kilobytes
    }


def _reference(name: str, url: str, requests: int, concurrency: int) -> dict[str, float]:
    args = ("--url", url, "--requests", str(requests), "--concurrency", str(concurrency))
    result = _run_child(name, "throughput", *args)
    if "error" in result:
        raise RuntimeError(result["error"])
    cpu = result["cpu_us"]
    return {"send_rate": result["rate"], "send_s": result["wall_s"], "cpu_us_per_line": cpu, "send_cpu_us": cpu}


def _sides(before: Path | None) -> dict[str, Path | None]:
    sides: dict[str, Path | None] = {"protoshift batch run": None}
    if before is not None:
        sides["before (--before)"] = before
    return sides


def _best(kept: dict[str, float] | None, new: dict[str, float]) -> dict[str, float]:
    return new if kept is None or new["send_rate"] > kept["send_rate"] else kept


def _throughput(results: BatchResults, tmp: Path, quick: bool, before: Path | None) -> None:
    lines = 2000 if quick else 6000
    with server() as base:
        for binary in _sides(before).values():
            run_cli(base, 200, tmp, binary=binary)  # warm-up: .pyc files, page cache
        for concurrency in CONCURRENCIES:
            key = f"c{concurrency}"
            for _round in range(1 if quick else 2):  # best of rounds: the machine is shared
                for name, binary in _sides(before).items():
                    try:
                        figures = run_cli(base, lines, tmp, concurrency, binary)
                    except Exception as exc:  # a figure missing is reported, not fatal
                        results.errors[f"{name} {key}"] = repr(exc)
                        continue
                    side = results.throughput.setdefault(name, {})
                    side[key] = _best(side.get(key), figures)
                for name in REFERENCES:
                    try:
                        figures = _reference(name, f"{base}/v1/messages", lines, concurrency)
                    except Exception as exc:
                        results.errors[f"{name} {key}"] = repr(exc)
                        continue
                    side = results.throughput.setdefault(name, {})
                    side[key] = _best(side.get(key), figures)


def _latency(results: BatchResults, tmp: Path, quick: bool, before: Path | None) -> None:
    total = LATENCY_REQUESTS // 4 if quick else LATENCY_REQUESTS
    ideal = total / LATENCY_CONCURRENCY * LATENCY
    with server(latency=LATENCY) as base:
        for name, binary in _sides(before).items():
            try:
                figures = run_cli(base, total, tmp, LATENCY_CONCURRENCY, binary)
            except Exception as exc:
                results.errors[f"{name} latency"] = repr(exc)
                continue
            results.latency[name] = {**figures, "ideal_s": ideal, "x_ideal": figures["send_s"] / ideal}
        for name in REFERENCES:
            try:
                figures = _reference(name, f"{base}/v1/messages", total, LATENCY_CONCURRENCY)
            except Exception as exc:
                results.errors[f"{name} latency"] = repr(exc)
                continue
            results.latency[name] = {**figures, "lines": total, "ideal_s": ideal, "x_ideal": figures["send_s"] / ideal}


def _memory(results: BatchResults, tmp: Path, quick: bool) -> None:
    small, large = (10_000, 100_000) if quick else (20_000, 200_000)
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


def run(quick: bool = False, before: Path | None = None) -> BatchResults:
    results = BatchResults()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        _throughput(results, tmp, quick, before)
        _latency(results, tmp, quick, before)
        try:
            _memory(results, tmp, quick)
        except Exception as exc:
            results.errors["memory"] = repr(exc)
    return results


# -- the report ------------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def text(res: BatchResults) -> str:
    lines = ["batch run vs raw clients, zero-latency local server in its own process (best of 2 rounds)"]
    head = f"  {'':<22}" + "".join(f"{f'c={c} req/s':>13}{'CPU/req':>10}" for c in CONCURRENCIES)
    lines.append(head + "   (process rate, start-up and check pass included)")
    for name, side in res.throughput.items():
        row = f"  {name:<22}"
        for c in CONCURRENCIES:
            f = side.get(f"c{c}")
            row += "-".rjust(23) if f is None else f"{f['send_rate']:>13,.0f}{f['send_cpu_us']:>7.0f} µs"
        if "process_rate" in next(iter(side.values()), {}):
            row += (
                "   ("
                + ", ".join(f"{side[f'c{c}']['process_rate']:,.0f}" for c in CONCURRENCIES if f"c{c}" in side)
                + ")"
            )
        lines.append(row)
    ours = res.throughput.get("protoshift batch run", {}).get("c64")
    if ours:
        ok = ours["send_rate"] >= THROUGHPUT_TARGET
        lines.append(f"  target >= {THROUGHPUT_TARGET:,.0f}/s at c=64: {ours['send_rate']:,.0f}/s {_verdict(ok)}")
    if res.latency:
        lines.append(
            f"  {next(iter(res.latency.values()))['lines']:,.0f} requests, {LATENCY * 1000:.0f} ms latency,"
            f" concurrency {LATENCY_CONCURRENCY}:"
        )
        for name, lat in res.latency.items():
            lines.append(
                f"    {name:<22} {lat['send_s']:6.2f} s vs ideal {lat['ideal_s']:.2f} s = {lat['x_ideal']:.2f}x"
                f"  CPU/req {lat['send_cpu_us']:.0f} µs"
            )
        ours_lat = res.latency.get("protoshift batch run")
        if ours_lat:
            ok = ours_lat["x_ideal"] <= LATENCY_TARGET
            lines.append(f"  target <= {LATENCY_TARGET}x the ideal: {ours_lat['x_ideal']:.2f}x {_verdict(ok)}")
    if res.memory:
        m = res.memory
        lines.append(
            f"  peak RSS: {m['small_lines']:,.0f} lines {m['small_rss_mb']:.1f} MB, {m['large_lines']:,.0f} lines"
            f" {m['large_rss_mb']:.1f} MB: {m['growth_mb']:+.1f} MB"
            f" (send rate at {m['large_lines']:,.0f}: {m['large_send_rate']:,.0f}/s)"
            f"  target < {MEMORY_TARGET_MB:.0f} MB: {_verdict(m['growth_mb'] < MEMORY_TARGET_MB)}"
        )
    for name, error in res.errors.items():
        lines.append(f"  {name}: FAILED: {error}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.batch", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--before", type=Path, help="another install's protoshift script, run beside this one")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    results = run(quick=args.quick, before=args.before)
    print(text(results))
    if args.json:
        args.json.write_text(json.dumps(results.as_dict(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
