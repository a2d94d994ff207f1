"""Shared by every test: whether the `protoshift` command line runs in this process or in a new one.

Runs are in this process (tests/cli_runner.py), except in tests marked `process`, which need what
only a real process shows: signals, pipes closing, terminals, the console script itself.
`uv run pytest -m process` runs those alone, `-m "not process"` all the others.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def in_process(request: pytest.FixtureRequest) -> bool:
    """True unless the test is marked `process`: the CLI fixtures run protoshift accordingly."""
    return request.node.get_closest_marker("process") is None
