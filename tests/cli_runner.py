"""Run the `protoshift` command line as a shell would: in this process (the default), or in a new one.

In this process, `run_in_process` calls `main(argv)` as the console script does, and makes the call
look like a fresh process to the CLI, at about a hundredth of the cost of starting Python:

- file descriptors 0, 1 and 2 are the run's own stdin (a file holding the given bytes: a real fileno,
  not a terminal), stdout and stderr (files read back as bytes), with `sys.stdin/stdout/stderr` made
  over them as Python makes them. The CLI reads stdin with `os.read`, probes terminals and their
  size on 0-2 (rich, click's help), and dup2's /dev/null over stdout when the reader goes away: all
  of it lands on the run's files, and pytest's own descriptors are put back afterwards;
- `os.environ` is the test's environment, `sys.argv` is `protoshift ARGS`, the contextvars context is
  empty, warnings use the interpreter's default filters and are printed on the run's stderr, and so
  are logging's last-resort messages and exceptions nobody could raise (unraisable, thread ones);
- an exception `main` lets out is printed on the run's stderr with exit status 1, as Python does.

Afterwards everything a run may change in the process is put back: the three descriptors and the
`sys` streams (the interactive session replaces `sys.stdin`), the environment, argv, the working
directory, signal handlers, the collector's thresholds, the hooks, logging's root handlers, the
`httpx._main` entry that `main` puts in `sys.modules`, rich's global console, and an event loop left set. Threads the run started
and left running are joined, as the interpreter does at exit. So each run starts from the same state,
whatever ran before it. (protoshift's own modules read no environment at import time: checked by
tests/test_import_graph.py.)

One run at a time in a process: a run owns the environment, descriptors 0-2 and the `sys` streams,
so while it runs, whatever another thread prints lands in the run's output (the fake servers print
nothing), and a second run started meanwhile fails at once instead of mixing with the first.
pytest-xdist workers are separate processes, each with its own runs.

Hangs: an in-process run cannot be killed from outside like a process; the global per-test timeout
(pytest-timeout, pyproject.toml) interrupts it, and the state is put back on the way out.

`run_in_subprocess` starts the real console script, for what only a real process shows (signals,
pipes closing, terminals, the entry point itself): tests that need it are marked `process`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import io
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

PROTOSHIFT = str(Path(sys.executable).with_name("protoshift"))

Done = subprocess.CompletedProcess[bytes]
Main = Callable[[list[str]], int]

# What a fresh interpreter starts with (no -W, no PYTHONWARNINGS, not in development mode).
_DEFAULT_WARNING_FILTERS: tuple[tuple[Any, type[Warning], str], ...] = (
    ("default", DeprecationWarning, "__main__"),
    ("ignore", DeprecationWarning, ""),
    ("ignore", PendingDeprecationWarning, ""),
    ("ignore", ImportWarning, ""),
    ("ignore", ResourceWarning, ""),
)
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE, signal.SIGWINCH, signal.SIGALRM)
_THREAD_EXIT_TIMEOUT = 30.0

_running = threading.Lock()


def run_in_process(
    args: Sequence[str], *, env: Mapping[str, str], input: bytes = b"", main: Main | None = None
) -> Done:
    """`protoshift ARGS` with this environment and stdin, in this process. `main` is for testing
    this runner; by default it is protoshift's."""
    if main is None:
        from protoshift.cli.runner import main as protoshift_main

        main = protoshift_main
    argv = ["protoshift", *args]
    if {"-i", "--interactive"} & set(args):  # it would open /dev/tty: the terminal pytest runs in
        raise ValueError("an interactive session needs a terminal: drive it on a pty (tests/interactive)")
    if not _running.acquire(blocking=False):
        raise RuntimeError("protoshift is already running in this process: in-process runs cannot overlap")
    try:
        with (
            tempfile.TemporaryFile(buffering=0) as stdin,
            tempfile.TemporaryFile(buffering=0) as stdout,
            tempfile.TemporaryFile(buffering=0) as stderr,
        ):
            stdin.write(input)
            stdin.seek(0)
            with _as_a_process(argv, env, stdin.fileno(), stdout.fileno(), stderr.fileno()):
                code = contextvars.Context().run(_call, main, list(args))
            stdout.seek(0)
            stderr.seek(0)
            return subprocess.CompletedProcess(argv, code, stdout.read(), stderr.read())
    finally:
        _running.release()


def run_in_subprocess(args: Sequence[str], *, env: Mapping[str, str], input: bytes = b"", timeout: float = 60) -> Done:
    """`protoshift ARGS` in a new process: the console script, as a shell starts it."""
    return subprocess.run([PROTOSHIFT, *args], input=input, capture_output=True, env=dict(env), timeout=timeout)


def _call(main: Main, argv: list[str]) -> int:
    """What the interpreter makes of `sys.exit(main(argv))`."""
    try:
        return main(argv)
    except SystemExit as exc:
        return _exit_status(exc.code)
    except Exception:
        traceback.print_exc()  # on the run's stderr, as an uncaught exception is
        return 1


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


@contextlib.contextmanager
def _as_a_process(argv: list[str], env: Mapping[str, str], stdin: int, stdout: int, stderr: int) -> Iterator[None]:
    saved_streams = (sys.stdin, sys.stdout, sys.stderr)
    saved_argv, saved_env, saved_cwd = sys.argv, dict(os.environ), os.getcwd()
    saved_signals = {number: signal.getsignal(number) for number in _SIGNALS}
    saved_hooks = (sys.excepthook, sys.unraisablehook, threading.excepthook)
    saved_gc = gc.get_threshold()  # `batch run` and `serve` tune the collector for their process
    saved_httpx_main = sys.modules.get("httpx._main", _ABSENT)
    root = logging.getLogger()
    saved_handlers = root.handlers[:]
    threads_before = set(threading.enumerate())
    loop_before = _current_loop()
    for stream in saved_streams:  # what pytest buffered goes where it belongs before fds 0-2 move
        with contextlib.suppress(Exception):
            stream.flush()
    saved_fds = [_dup(fd) for fd in (0, 1, 2)]
    streams: tuple[io.TextIOWrapper, ...] = ()
    try:
        for fd, target in zip((0, 1, 2), (stdin, stdout, stderr), strict=True):
            os.dup2(target, fd)
        os.environ.clear()
        os.environ.update(env)
        streams = _std_streams(unbuffered=bool(env.get("PYTHONUNBUFFERED")))
        sys.stdin, sys.stdout, sys.stderr = streams
        sys.argv = argv
        sys.excepthook, sys.unraisablehook = sys.__excepthook__, sys.__unraisablehook__
        threading.excepthook = threading.__excepthook__
        root.handlers = []  # with no handler, logging's last resort writes WARNING and up to stderr
        with warnings.catch_warnings():
            warnings.resetwarnings()
            for action, category, module in _DEFAULT_WARNING_FILTERS:
                warnings.filterwarnings(action, category=category, module=module, append=True)
            warnings.showwarning = _show_warning
            try:
                yield
            finally:
                _join_new_threads(threads_before)
    finally:
        for stream in (*streams, sys.stdout, sys.stderr):  # the run's, and any it put in their place
            if stream not in saved_streams:
                with contextlib.suppress(Exception):
                    stream.flush()
        for stream in streams:  # closed: a leftover reference can no longer write on pytest's fds
            with contextlib.suppress(Exception):
                stream.close()
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        for fd, saved in zip((0, 1, 2), saved_fds, strict=True):
            if saved is None:  # it was closed before the run: closed again
                with contextlib.suppress(OSError):
                    os.close(fd)
            else:
                os.dup2(saved, fd)
                os.close(saved)
        os.environ.clear()
        os.environ.update(saved_env)
        sys.argv = saved_argv
        if os.getcwd() != saved_cwd:
            os.chdir(saved_cwd)
        for number, handler in saved_signals.items():
            if handler is not None and signal.getsignal(number) is not handler:
                signal.signal(number, handler)
        sys.excepthook, sys.unraisablehook, threading.excepthook = saved_hooks
        root.handlers = saved_handlers
        gc.set_threshold(*saved_gc)
        if saved_httpx_main is _ABSENT:
            sys.modules.pop("httpx._main", None)
        else:
            sys.modules["httpx._main"] = saved_httpx_main  # type: ignore[assignment]
        _forget_rich_console()
        _close_new_loop(loop_before)


_ABSENT = object()


def _dup(fd: int) -> int | None:
    try:
        return os.dup(fd)
    except OSError:
        return None


def _std_streams(*, unbuffered: bool) -> tuple[io.TextIOWrapper, io.TextIOWrapper, io.TextIOWrapper]:
    """sys.stdin, sys.stdout, sys.stderr over fds 0-2 as Python makes them when they are not
    terminals: stdout buffered by block, stderr by line, both written through under PYTHONUNBUFFERED;
    encoded as this interpreter's own (the runs' environment is the test process's, less keys and
    paths, so its locale is the same)."""

    def stream(fd: int, like: Any, default_errors: str, *, line_buffering: bool = False) -> io.TextIOWrapper:
        raw = io.FileIO(fd, "r" if fd == 0 else "w", closefd=False)
        buffered = io.BufferedReader(raw) if fd == 0 else io.BufferedWriter(raw)
        return io.TextIOWrapper(
            buffered,
            encoding=getattr(like, "encoding", None) or "utf-8",
            errors=getattr(like, "errors", None) or default_errors,
            newline="\n",
            line_buffering=line_buffering,
            write_through=unbuffered and fd != 0,
        )

    return (
        stream(0, sys.__stdin__, "strict"),
        stream(1, sys.__stdout__, "strict"),
        stream(2, sys.__stderr__, "backslashreplace", line_buffering=True),
    )


def _show_warning(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _join_new_threads(before: set[threading.Thread]) -> None:
    """Python waits for non-daemon threads before a process ends; so does a run."""
    for thread in set(threading.enumerate()) - before:
        if thread.daemon or thread is threading.current_thread():
            continue
        thread.join(_THREAD_EXIT_TIMEOUT)
        if thread.is_alive():
            raise RuntimeError(f"protoshift left thread {thread.name} running: a real process would not exit")


def _forget_rich_console() -> None:
    """rich keeps one global console (rich.get_console), sized and coloured from the environment it
    was made in; the next run makes its own."""
    rich = sys.modules.get("rich")
    if rich is not None:
        rich._console = None  # type: ignore[attr-defined]


def _current_loop() -> asyncio.AbstractEventLoop | None:
    """The loop set for this thread, without making one (asyncio.get_event_loop would)."""
    local = getattr(asyncio.get_event_loop_policy(), "_local", None)
    return getattr(local, "_loop", None)


def _close_new_loop(before: asyncio.AbstractEventLoop | None) -> None:
    """asyncio.run leaves no loop set; a loop made and set otherwise would outlive the run."""
    loop = _current_loop()
    if loop is before:
        return
    if loop is not None and not loop.is_running():
        loop.close()
    asyncio.set_event_loop(before)
