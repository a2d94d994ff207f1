"""The in-process runner (tests/cli_runner.py): a run sees what a fresh process would, gives back
what a process would, and leaves the test process as it found it."""

from __future__ import annotations

import asyncio
import contextvars
import io
import logging
import os
import re
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from tests.cli_runner import run_in_process, run_in_subprocess

EXAMPLES = Path(__file__).parents[2] / "examples"
MARK: contextvars.ContextVar[str] = contextvars.ContextVar("MARK", default="fresh")


def _identity(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def test_a_run_is_a_process_of_its_own_and_leaves_nothing_behind(tmp_path: Path) -> None:
    """Everything the CLI does to its process (and protoshift's main does some of it) stays in the run."""
    seen: dict[str, object] = {}

    def main(argv: list[str]) -> int:
        seen["argv"], seen["sys.argv"] = argv, sys.argv
        seen["env"] = dict(os.environ)
        seen["stdin"] = os.read(sys.stdin.buffer.fileno(), 100)  # as cli.io.inputs reads it
        seen["ttys"] = [sys.stdin.isatty(), sys.stdout.isatty(), sys.stderr.isatty()]
        seen["mark"] = MARK.get()
        MARK.set("changed by a run")
        os.environ["SET_BY_THE_RUN"] = "1"
        sys.stdout.write("text out\n")
        sys.stderr.write("text err\n")
        sys.stdout.flush()
        os.write(1, b"fd 1\n")
        os.write(2, b"fd 2\n")
        sys.stdout.write("buffered when the reader went away\n")
        devnull = os.open(os.devnull, os.O_WRONLY)  # what cli.main does on a broken pipe
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))  # as the interactive session does
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
        asyncio.set_event_loop(asyncio.new_event_loop())
        logging.getLogger().addHandler(logging.StreamHandler())
        os.chdir(tmp_path)
        return 3

    before = {
        "fds": [_identity(fd) for fd in (0, 1, 2)],
        "streams": (sys.stdin, sys.stdout, sys.stderr),
        "env": dict(os.environ),
        "cwd": os.getcwd(),
        "sigint": signal.getsignal(signal.SIGINT),
        "httpx._main": sys.modules.get("httpx._main", "absent"),
        "handlers": logging.getLogger().handlers[:],
        "argv": sys.argv,
    }
    done = run_in_process(["chat", "-p", "x"], env={"ONLY": "this", "PATH": "/usr/bin"}, input=b"piped", main=main)

    assert done.returncode == 3
    assert done.stdout == b"text out\nfd 1\n"  # written after the reader went away: gone, as in a process
    assert done.stderr == b"text err\nfd 2\n"
    assert seen["argv"] == ["chat", "-p", "x"] and seen["sys.argv"] == ["protoshift", "chat", "-p", "x"]
    assert seen["env"] == {"ONLY": "this", "PATH": "/usr/bin"}
    assert seen["stdin"] == b"piped"
    assert seen["ttys"] == [False, False, False]
    assert seen["mark"] == "fresh"
    after = {
        "fds": [_identity(fd) for fd in (0, 1, 2)],
        "streams": (sys.stdin, sys.stdout, sys.stderr),
        "env": dict(os.environ),
        "cwd": os.getcwd(),
        "sigint": signal.getsignal(signal.SIGINT),
        "httpx._main": sys.modules.get("httpx._main", "absent"),
        "handlers": logging.getLogger().handlers[:],
        "argv": sys.argv,
    }
    assert after == before
    assert MARK.get() == "fresh"
    local = getattr(asyncio.get_event_loop_policy(), "_local", None)
    assert getattr(local, "_loop", None) is None


def test_an_uncaught_exception_is_a_traceback_on_stderr_and_status_1() -> None:
    def main(argv: list[str]) -> int:
        print("partial")
        raise ValueError("a bug")

    done = run_in_process([], env={}, main=main)
    assert done.returncode == 1
    assert done.stdout == b"partial\n"
    assert done.stderr.startswith(b"Traceback (most recent call last):")
    assert done.stderr.endswith(b"ValueError: a bug\n")


@pytest.mark.parametrize(("code", "status", "stderr"), [(None, 0, b""), (4, 4, b""), ("bye", 1, b"bye\n")])
def test_sys_exit_is_the_exit_status(code: object, status: int, stderr: bytes) -> None:
    def main(argv: list[str]) -> int:
        sys.exit(code)

    done = run_in_process([], env={}, main=main)
    assert (done.returncode, done.stderr) == (status, stderr)


def test_warnings_are_printed_on_the_runs_stderr_as_a_fresh_interpreter_prints_them() -> None:
    def main(argv: list[str]) -> int:
        for _ in range(2):  # a fresh process shows a warning once per place
            warnings.warn("careful", UserWarning, stacklevel=1)
        warnings.warn("old", DeprecationWarning, stacklevel=1)  # hidden outside __main__
        return 0

    first = run_in_process([], env={}, main=main)
    second = run_in_process([], env={}, main=main)
    for done in (first, second):  # the second run is a new process too: it warns again
        assert done.stderr.count(b"UserWarning: careful") == 1, done.stderr
        assert b"old" not in done.stderr


def test_runs_cannot_overlap() -> None:
    def main(argv: list[str]) -> int:
        run_in_process([], env={}, main=lambda argv: 0)
        return 0

    done = run_in_process([], env={}, main=main)
    assert done.returncode == 1
    assert b"RuntimeError: protoshift is already running in this process" in done.stderr


def test_an_interactive_session_is_refused_in_process() -> None:
    """`chat -i` with stdin not a terminal opens /dev/tty: in-process, the terminal pytest runs in."""
    with pytest.raises(ValueError, match="needs a terminal"):
        run_in_process(["chat", "-i", "--backend", "mock"], env={})


def test_the_environment_of_one_run_is_not_seen_by_the_next(tmp_path: Path) -> None:
    seen = []

    def main(argv: list[str]) -> int:
        seen.append(os.environ.get("FIRST"))
        return 0

    run_in_process([], env={"FIRST": "1"}, main=main)
    run_in_process([], env={}, main=main)
    assert seen == ["1", None]


@pytest.mark.process
@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["chat", "--bogus"],
        ["translate", "request", "--explain", str(EXAMPLES / "tools.json")],
        ["translate", "request", str(EXAMPLES / "hello.json")],
        ["chat", "--backend", "mock", "-p", "same bytes", "--stream"],
        ["chat", "--backend", "mock", "-f", "text"],
    ],
    ids=["help", "usage-error", "explain-table", "notes", "stream", "stdin-text"],
)
def test_in_process_and_in_a_process_give_the_same_bytes(args: list[str], cli_env: dict[str, str]) -> None:
    """The runner's promise, checked against the real console script: the same exit status, stdout
    and stderr, byte for byte (help and tables wrapped to the same width, notes, streams)."""
    stdin = b'{"messages": [{"role": "user", "content": "from stdin"}]}'
    real = run_in_subprocess(args, env=cli_env, input=stdin)
    here = run_in_process(args, env=cli_env, input=stdin)
    assert (here.returncode, _timeless(here.stdout), here.stderr) == (
        real.returncode,
        _timeless(real.stdout),
        real.stderr,
    )
    assert real.stdout or real.stderr


def _timeless(stdout: bytes) -> bytes:
    """The two runs may fall in different seconds: chunks carry the time they were made."""
    return re.sub(rb'"created":\d+', b'"created":0', stdout)


INNER_SUITE = """
import os, sys, time
import pytest
from tests.cli_runner import run_in_process

@pytest.mark.timeout(1)
def test_a_run_that_hangs():
    run_in_process(["chat"], env={"SET_BY_THE_HANGING_RUN": "1"}, main=lambda argv: time.sleep(600) or 0)

def test_the_next_test_finds_the_process_as_it_was():
    assert "SET_BY_THE_HANGING_RUN" not in os.environ
    done = run_in_process([], env={}, main=lambda argv: print("next") or 0)
    assert done.stdout == b"next\\n"
"""


@pytest.mark.process
def test_a_run_that_hangs_fails_its_test_and_the_suite_goes_on(tmp_path: Path) -> None:
    """The per-test timeout (pytest-timeout, "signal") interrupts an in-process run; the runner puts
    the process back as it was on the way out, so the next test is not affected."""
    (tmp_path / "test_inner.py").write_text(INNER_SUITE)
    (tmp_path / "pytest.ini").write_text("[pytest]\ntimeout_method = signal\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2]), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "pytest_timeout", "-p", "no:cacheprovider", "-q", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "1 failed, 1 passed" in done.stdout, done.stdout + done.stderr
    assert "Timeout (>1.0s)" in done.stdout, done.stdout
