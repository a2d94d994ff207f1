"""Drive the real `protoshift` console script in a subprocess, as a user's shell would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

PROTOSHIFT = str(Path(sys.executable).with_name("protoshift"))

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
def run_cli(cli_env: dict[str, str]) -> RunCLI:
    def run(*args: str, input: bytes | str | None = None, env: dict[str, str] | None = None, timeout: float = 60):
        data = input.encode() if isinstance(input, str) else input
        return subprocess.run(
            [PROTOSHIFT, *args],
            input=data if data is not None else b"",
            capture_output=True,
            env={**cli_env, **(env or {})},
            timeout=timeout,
        )

    return run
