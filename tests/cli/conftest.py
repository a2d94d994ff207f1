"""Drive the `protoshift` command line as a user's shell would: arguments, environment, stdin in;
exit code, stdout, stderr out. In this process by default (tests/cli_runner.py); in a new process
for tests marked `process`."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_runner import PROTOSHIFT, run_in_process, run_in_subprocess

__all__ = ["PROTOSHIFT", "RunCLI", "cli_env", "run_cli"]

RunCLI = Callable[..., subprocess.CompletedProcess[bytes]]


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """A clean environment: no real keys, config, state and the log in the test's own folders."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "OPENAI_", "PROTOSHIFT_"))}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    env["XDG_DATA_HOME"] = str(tmp_path / "data")  # the log of exchanges
    env["NO_COLOR"] = "1"
    return env


@pytest.fixture
def run_cli(cli_env: dict[str, str], in_process: bool) -> RunCLI:
    """run_cli(*args, input=..., env={...}) -> CompletedProcess of `protoshift ARGS`, checked for a
    traceback on stderr. `timeout` bounds a real process; an in-process run is bounded by the
    per-test timeout."""

    def run(*args: str, input: bytes | str | None = None, env: dict[str, str] | None = None, timeout: float = 60):
        data = input.encode() if isinstance(input, str) else (input or b"")
        full = {**cli_env, **(env or {})}
        if in_process:
            done = run_in_process(args, env=full, input=data)
        else:
            done = run_in_subprocess(args, env=full, input=data, timeout=timeout)
        assert b"Traceback" not in done.stderr, done.stderr.decode(errors="replace")
        return done

    return run
