"""End-to-end: the real `protoshift` console script in a subprocess, against fake servers on 127.0.0.1.

`chat(...)` runs `protoshift chat ...` and checks what must hold for every run, whatever the case:
no traceback on stderr and the API key nowhere in stdout or stderr.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from tests.cli.conftest import PROTOSHIFT, cli_env, run_cli
from tests.fakes import FakeServer, Responder

__all__ = ["cli_env", "run_cli"]

PROTOSHIFT_CMD = PROTOSHIFT

ANTHROPIC_KEY = "sk-ant-e2e-Zq7XwV3pLm9T"
OPENAI_KEY = "sk-oai-e2e-Hd4RbN8cYk2W"

Serve = Callable[[Responder], FakeServer]
Done = subprocess.CompletedProcess[bytes]


class Running:
    """A `protoshift chat` process started by `chat.start(...)`; `wait()` gives its result, checked."""

    def __init__(self, args: list[str], env: dict[str, str], input: bytes, timeout: float) -> None:
        self.args, self.timeout = args, timeout
        self._input = input
        self._process = subprocess.Popen(
            args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )

    def wait(self) -> Done:
        try:
            out, err = self._process.communicate(self._input, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.communicate()
            raise
        done = subprocess.CompletedProcess(self.args, self._process.returncode, out, err)
        for stream in (done.stdout, done.stderr):
            assert ANTHROPIC_KEY.encode() not in stream, "the Anthropic key was printed"
            assert OPENAI_KEY.encode() not in stream, "the OpenAI key was printed"
        assert b"Traceback" not in done.stderr, done.stderr.decode()
        return done


class Chat:
    """`chat(*args, server=..., openai=..., input=..., env=...)`: `protoshift chat` with both keys set,
    run to the end; `chat.start(...)` runs it in the background (several runs at once keep the suite
    fast: each run is a new Python process). `server` (a FakeServer or a URL) becomes
    ANTHROPIC_BASE_URL, `openai` OPENAI_BASE_URL (+ /v1). Every run is checked for a traceback and
    for either key in stdout or stderr."""

    def __init__(self, env: dict[str, str]) -> None:
        self._env = env

    def start(self, *args: str, server: Any = None, openai: Any = None, env: dict[str, str] | None = None,
              input: bytes | str | None = None, timeout: float = 30) -> Running:  # fmt: skip
        full = {**self._env, "ANTHROPIC_API_KEY": ANTHROPIC_KEY, "OPENAI_API_KEY": OPENAI_KEY}
        if server is not None:
            full["ANTHROPIC_BASE_URL"] = server if isinstance(server, str) else server.url
        if openai is not None:
            full["OPENAI_BASE_URL"] = openai if isinstance(openai, str) else f"{openai.url}/v1"
        full.update(env or {})
        data = input.encode() if isinstance(input, str) else (input or b"")
        return Running([PROTOSHIFT, "chat", *args], full, data, timeout)

    def __call__(self, *args: str, **kwargs: Any) -> Done:
        return self.start(*args, **kwargs).wait()


@pytest.fixture
def serve() -> Iterator[Serve]:
    """`serve(responder)` starts a fake server for the test's lifetime."""
    with ExitStack() as stack:
        yield lambda responder: stack.enter_context(FakeServer(responder))


@pytest.fixture
def chat(cli_env: dict[str, str]) -> Chat:
    return Chat(cli_env)
