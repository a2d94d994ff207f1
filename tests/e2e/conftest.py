"""End-to-end: the `protoshift` command line against fake servers on 127.0.0.1.

`chat(...)` runs `protoshift chat ...` and checks what must hold for every run, whatever the case:
no traceback on stderr and the API key nowhere in stdout or stderr. Runs are in this process
(tests/cli_runner.py), or in a new one for tests marked `process`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from tests.cli.conftest import PROTOSHIFT, cli_env, run_cli
from tests.cli_runner import run_in_process
from tests.fakes import FakeServer, Responder

__all__ = ["cli_env", "run_cli"]

PROTOSHIFT_CMD = PROTOSHIFT

ANTHROPIC_KEY = "sk-ant-e2e-Zq7XwV3pLm9T"
OPENAI_KEY = "sk-oai-e2e-Hd4RbN8cYk2W"

Serve = Callable[[Responder], FakeServer]
Done = subprocess.CompletedProcess[bytes]


def checked(done: Done) -> Done:
    """What holds for every run: neither key printed, no traceback."""
    for stream in (done.stdout, done.stderr):
        assert ANTHROPIC_KEY.encode() not in stream, "the Anthropic key was printed"
        assert OPENAI_KEY.encode() not in stream, "the OpenAI key was printed"
    assert b"Traceback" not in done.stderr, done.stderr.decode(errors="replace")
    return done


class Running:
    """A `protoshift chat` started by `chat.start(...)`; `wait()` gives its result, checked."""

    def __init__(self, args: list[str], env: dict[str, str], input: bytes, timeout: float, *, in_process: bool) -> None:
        self.args, self.timeout = args, timeout
        self._input = input
        self._done: Done | None = None
        self._process: subprocess.Popen[bytes] | None = None
        if in_process:  # one run at a time in a process: it runs to the end here
            self._done = run_in_process(args[1:], env=env, input=input)
        else:
            self._process = subprocess.Popen(
                args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )

    def wait(self) -> Done:
        if self._process is not None:
            try:
                out, err = self._process.communicate(self._input, timeout=self.timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.communicate()
                raise
            self._done = subprocess.CompletedProcess(self.args, self._process.returncode, out, err)
        assert self._done is not None
        return checked(self._done)


class Chat:
    """`chat(*args, server=..., openai=..., input=..., env=...)`: `protoshift chat` with both keys set,
    run to the end. `chat.start(...)` then `.wait()`: in a new process (tests marked `process`) it runs
    in the background meanwhile, so several run at once; in this process it has already run when
    `start` returns. `server` (a FakeServer or a URL) becomes ANTHROPIC_BASE_URL, `openai`
    OPENAI_BASE_URL (+ /v1). Every run is checked for a traceback and for either key in its output."""

    def __init__(self, env: dict[str, str], *, in_process: bool = True) -> None:
        self._env = env
        self._in_process = in_process

    def start(self, *args: str, server: Any = None, openai: Any = None, env: dict[str, str] | None = None,
              input: bytes | str | None = None, timeout: float = 30) -> Running:  # fmt: skip
        full = {**self._env, "ANTHROPIC_API_KEY": ANTHROPIC_KEY, "OPENAI_API_KEY": OPENAI_KEY}
        if server is not None:
            full["ANTHROPIC_BASE_URL"] = server if isinstance(server, str) else server.url
        if openai is not None:
            full["OPENAI_BASE_URL"] = openai if isinstance(openai, str) else f"{openai.url}/v1"
        full.update(env or {})
        data = input.encode() if isinstance(input, str) else (input or b"")
        return Running([PROTOSHIFT, "chat", *args], full, data, timeout, in_process=self._in_process)

    def __call__(self, *args: str, **kwargs: Any) -> Done:
        return self.start(*args, **kwargs).wait()


@pytest.fixture
def serve() -> Iterator[Serve]:
    """`serve(responder)` starts a fake server for the test's lifetime."""
    with ExitStack() as stack:
        yield lambda responder: stack.enter_context(FakeServer(responder))


@pytest.fixture
def chat(cli_env: dict[str, str], in_process: bool) -> Chat:
    return Chat(cli_env, in_process=in_process)
