"""Start-up cost of the CLI, measured as whole processes with the venv's own interpreter and script.

Two conditions, both with bytecode caches kept in a temporary PYTHONPYCACHEPREFIX (the tree is not touched):
- warm: `.pyc` files written by the warm-up runs and reused, as on any normal install;
- cold: no `.pyc` to read and none written (PYTHONDONTWRITEBYTECODE=1, empty cache), so every
  module is compiled from source on every run, as in sandboxes that set PYTHONDONTWRITEBYTECODE.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .corpus import requests


@dataclass
class StartupResults:
    runs: int
    cold_runs: int
    median_ms: dict[str, float] = field(default_factory=dict)
    p90_ms: dict[str, float] = field(default_factory=dict)
    commands: dict[str, list[str]] = field(default_factory=dict)
    import_self: list[tuple[str, int]] = field(default_factory=list)  # module, self µs
    import_cumulative: list[tuple[str, int]] = field(default_factory=list)  # top-level module, cumulative µs
    import_total_us: int = 0
    errors: dict[str, str] = field(default_factory=dict)


def _bin_dir() -> Path:
    """The venv's bin/ (sys.executable may resolve elsewhere; the console script sits next to it)."""
    return Path(sys.prefix) / ("Scripts" if os.name == "nt" else "bin")


def _env(cache_dir: str, *, cold: bool) -> dict[str, str]:
    env = dict(os.environ)
    for var in ("PYTHONPROFILEIMPORTTIME", "PYTHONDEVMODE", "PYTHONTRACEMALLOC", "PYTHONDONTWRITEBYTECODE"):
        env.pop(var, None)
    env["PYTHONPYCACHEPREFIX"] = cache_dir
    if cold:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run(runs: int, cold_runs: int, warmup: int = 2) -> StartupResults:
    bindir = _bin_dir()
    python = str(bindir / "python")
    protoshift = str(bindir / "protoshift")
    with tempfile.TemporaryDirectory() as tmp:
        request_file = Path(tmp) / "request.json"
        request_file.write_text(json.dumps(requests()["tool_calls_results"]))
        commands = {
            "python -c pass": [python, "-c", "pass"],
            "python -c 'import translator'": [python, "-c", "import translator"],
            "protoshift --help": [protoshift, "--help"],
            "protoshift translate request FILE": [protoshift, "translate", "request", str(request_file)],
        }
        results = StartupResults(
            runs=runs, cold_runs=cold_runs, commands={k: [Path(c[0]).name, *c[1:]] for k, c in commands.items()}
        )
        warm_env = _env(str(Path(tmp) / "pycache-warm"), cold=False)
        cold_env = _env(str(Path(tmp) / "pycache-cold"), cold=True)
        _time_commands(commands, warm_env, warmup, runs, "", results)
        _time_commands(commands, cold_env, 0, cold_runs, " (cold)", results)
        _importtime(protoshift, warm_env, results)
    return results


def _time_commands(
    commands: dict[str, list[str]], env: dict[str, str], warmup: int, runs: int, suffix: str, results: StartupResults
) -> None:
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for i in range(warmup + runs):
        for name, cmd in commands.items():  # round-robin, so drift hits every command alike
            if name + suffix in results.errors:
                continue
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, env=env, check=False)
            elapsed = time.perf_counter() - t0
            if proc.returncode != 0:
                stderr = proc.stderr.decode(errors="replace").strip()[:200]
                results.errors[name + suffix] = f"exit {proc.returncode}: {stderr}"
            elif i >= warmup:
                samples[name].append(elapsed * 1e3)
    for name, values in samples.items():
        if values:
            values.sort()
            results.median_ms[name + suffix] = statistics.median(values)
            results.p90_ms[name + suffix] = values[min(len(values) - 1, int(0.9 * len(values)))]


def _importtime(protoshift: str, warm_env: dict[str, str], results: StartupResults) -> None:
    """`-X importtime` of `protoshift --help` (warm cache): the ten costliest modules by self time,
    and the ten costliest top-level imports by cumulative time."""
    env = warm_env | {"PYTHONPROFILEIMPORTTIME": "1"}
    proc = subprocess.run([protoshift, "--help"], capture_output=True, env=env, check=False)
    rows: list[tuple[str, int, int, int]] = []  # module, self, cumulative, depth
    for line in proc.stderr.decode(errors="replace").splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|", 2)
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2  # "| " then two spaces per level
        rows.append((name.strip(), int(self_us), int(cumulative_us), depth))
    results.import_self = [(m, s) for m, s, _, _ in sorted(rows, key=lambda r: -r[1])[:10]]
    top = [r for r in rows if r[3] == 0]
    results.import_cumulative = [(m, c) for m, _, c, _ in sorted(top, key=lambda r: -r[2])[:10]]
    results.import_total_us = sum(c for _, _, c, _ in top)
