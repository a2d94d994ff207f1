"""Fixtures of the fuzz suite (its summary line is printed by tests/conftest.py, which every
process of a session loads: with pytest-xdist, the controller adds up the workers' tallies)."""

from __future__ import annotations

from tests.cli.conftest import cli_env, run_cli  # noqa: F401  (fixtures re-used here)
