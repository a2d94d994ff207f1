from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.interactive.terminal import Terminal

PROTOSHIFT = str(Path(sys.executable).with_name("protoshift"))

StartChat = Callable[..., Terminal]


@pytest.fixture
def chat_env(tmp_path: Path) -> dict[str, str]:
    """A clean environment: no real keys, config and state in the test's folders, a known terminal."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ANTHROPIC_", "OPENAI_", "PROTOSHIFT_")) and k not in ("COLUMNS", "LINES")
    }
    env.update(
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        NO_COLOR="1",
        TERM="xterm-256color",
        LANG="C.UTF-8",
        INPUTRC="/dev/null",
        ANTHROPIC_API_KEY="sk-ant-test-key",
        OPENAI_API_KEY="sk-openai-test-key",
    )
    return env


@pytest.fixture
def start_chat(chat_env: dict[str, str]) -> Iterator[StartChat]:
    """start_chat(*args, env={...}, rows=30, cols=100, shell=None) -> a Terminal running protoshift.
    `shell`: a shell command line instead (for pipes), run with bash -c."""
    started: list[Terminal] = []

    def start(
        *args: str, env: dict[str, str] | None = None, rows: int = 30, cols: int = 100, shell: str | None = None
    ) -> Terminal:
        full_env = {**chat_env, **(env or {})}
        if shell is not None:
            terminal = Terminal("bash", ["-c", shell], full_env, rows=rows, cols=cols)
        else:
            terminal = Terminal(PROTOSHIFT, list(args), full_env, rows=rows, cols=cols)
        started.append(terminal)
        return terminal

    yield start
    for terminal in started:
        terminal.close()
