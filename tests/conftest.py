"""Shared by every test: whether the `protoshift` command line runs in this process or in a new one,
no wall-clock limit in property tests, and the fuzz suite's figures summed over every process of
the session (with pytest-xdist, the controller adds up the workers' tallies).

Runs are in this process (tests/cli_runner.py), except in tests marked `process`, which need what
only a real process shows: signals, pipes closing, terminals, the console script itself.
`uv run pytest -m process` runs those alone, `-m "not process"` all the others.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.bytecode import compile_once
from tests.fuzz.profiles import PROFILE
from tests.fuzz.tally import TALLY
from tests.redis_server import RedisServer
from tests.trust_store import trust_nothing

# Tests send Ctrl-C (SIGINT) to protoshift processes. A shell without job control (a CI script, `cmd &`
# in a script) starts background jobs with SIGINT ignored, the processes they start inherit that, and
# Python leaves an ignored SIGINT ignored: Ctrl-C would do nothing to them. Handled here, the processes
# the tests start get the default again (exec resets a handled signal, not an ignored one).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Some machines set PYTHONDONTWRITEBYTECODE: every process the suite starts (pytest-xdist's workers, the
# protoshift processes, serve's workers) would then compile every module it imports from source, over and
# over: a third of the suite's CPU. The compiled files go to __pycache__ (git-ignored), the venv's too
# (.ci/run has uv compile them at install; a venv made without is compiled here, once: tests/bytecode.py).
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False
if "PYTEST_XDIST_WORKER" not in os.environ:  # before the workers start: compiled once, not by each
    compile_once()

# hypothesis fails an example that takes over 200 ms (`deadline`) and a test whose data takes too
# long to generate (`too_slow`): wall-clock limits that a busy machine breaks. The number of
# examples, not the time they take, is what the property tests are about.
settings.register_profile("steady", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("steady")

trust_nothing()  # no test speaks TLS; each client would load certifi's CAs (tests/trust_store.py)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own on a free loopback port, stopped after it."""
    server = RedisServer(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def in_process(request: pytest.FixtureRequest) -> bool:
    """True unless the test is marked `process`: the CLI fixtures run protoshift accordingly."""
    return request.node.get_closest_marker("process") is None


def pytest_collection_finish(session: pytest.Session) -> None:
    # What collection imported (the SDKs' thousands of pydantic classes, hypothesis, protoshift) lives until
    # the process ends, yet each full collection walked it again. Frozen, the collector leaves it out: a
    # quarter less of its time after collection (tests/translator and tests/cli in one worker: 2.3 -> 1.8 s).
    gc.freeze()


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: its tally goes to the controller
        workeroutput["fuzz"] = TALLY.as_dict()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    data = getattr(node, "workeroutput", {}).get("fuzz")
    if data:
        TALLY.add(data)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TALLY.tried:
        terminalreporter.write_line(f"{TALLY.line()} [profile {PROFILE}]")
