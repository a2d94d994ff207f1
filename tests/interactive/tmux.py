"""Drive a program in tmux: a real terminal emulator, one that rewraps long lines when it gets narrower
(as GNOME Terminal, Konsole, kitty, iTerm2 and Windows Terminal do; pyte cuts them instead). The tests
that resize the terminal read the screen through it."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

AVAILABLE = shutil.which("tmux") is not None
TIMEOUT = 20.0


class Tmux:
    """One detached tmux session (its own server, on a socket in `folder`) running `argv`."""

    def __init__(self, folder: Path, argv: list[str], env: dict[str, str], *, cols: int, rows: int) -> None:
        self._tmux = ["tmux", "-S", str(folder / "tmux.sock"), "-f", "/dev/null"]
        # the program's environment is the one given, nothing of tmux's own (env -i ... the command)
        command = shlex.join(["env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv])
        self._run("new-session", "-d", "-x", str(cols), "-y", str(rows), "-s", "t", command, env=env)
        self._run("set-option", "-g", "remain-on-exit", "on")

    def _run(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            [*self._tmux, *args], capture_output=True, text=True, env=env, timeout=TIMEOUT, check=True
        )
        return done.stdout

    def keys(self, *keys: str) -> None:
        self._run("send-keys", "-t", "t", *keys)

    def resize(self, cols: int, rows: int) -> None:
        self._run("resize-window", "-t", "t", "-x", str(cols), "-y", str(rows))

    def rows(self) -> list[str]:
        """The scrollback and the screen, row by row as shown."""
        return [row.rstrip() for row in self._run("capture-pane", "-p", "-S", "-", "-t", "t").splitlines()]

    def text(self) -> str:
        return "\n".join(self.rows()).rstrip()

    def wait_until(self, check: Callable[[list[str]], bool], what: str, timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not check(self.rows()):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen:\n{self.text()}")
            time.sleep(0.05)

    def wait_for(self, pattern: str, timeout: float = TIMEOUT) -> None:
        self.wait_until(lambda rows: any(re.search(pattern, row) for row in rows), repr(pattern), timeout)

    def close(self) -> None:
        subprocess.run([*self._tmux, "kill-server"], capture_output=True, timeout=TIMEOUT, check=False)
