"""The fuzz suite's summary line at the end of a session that ran it."""

from __future__ import annotations

from typing import Any

from tests.cli.conftest import cli_env, run_cli  # noqa: F401  (fixtures re-used here)
from tests.fuzz.profiles import PROFILE
from tests.fuzz.tally import TALLY


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TALLY.tried:
        terminalreporter.write_line(f"{TALLY.line()} [profile {PROFILE}]")
