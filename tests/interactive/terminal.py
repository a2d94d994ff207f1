"""Drive the real `protoshift` in a pseudo-terminal and read the screen as a person sees it.

pexpect runs the program on a pty of a fixed size; everything it writes is fed to pyte, a VT100
emulator with scrollback, so tests assert on the lines a person would see (and scroll back to),
not on raw escape sequences: a redraw that leaves a copy behind shows up as a duplicated line.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from typing import Any

import pexpect
import pyte

DEFAULT_TIMEOUT = 20.0


class Terminal:
    def __init__(self, command: str, args: list[str], env: dict[str, str], *, rows: int = 30, cols: int = 100) -> None:
        self.rows, self.cols = rows, cols
        self.screen = pyte.HistoryScreen(cols, rows, history=100_000)
        self._stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self.child = pexpect.spawn(command, args, env=env, dimensions=(rows, cols), timeout=DEFAULT_TIMEOUT)
        self.child.logfile_read = self  # every byte read goes to write() below

    # pexpect's logfile interface
    def write(self, data: bytes) -> None:
        self.raw += data
        self._stream.feed(data)

    def flush(self) -> None:
        pass

    # -- what is on the terminal -----------------------------------------------------------------

    def lines(self) -> list[str]:
        """Scrollback then screen, trailing spaces and trailing empty lines removed."""
        history = [self._row(line) for line in self.screen.history.top]
        shown = [row.rstrip() for row in self.screen.display]
        lines = history + shown
        while lines and not lines[-1]:
            lines.pop()
        return lines

    def text(self) -> str:
        return "\n".join(self.lines())

    def _row(self, line: Any) -> str:
        return "".join(line[x].data for x in range(self.cols)).rstrip()

    @property
    def cursor_line(self) -> str:
        return str(self.screen.display[self.screen.cursor.y]).rstrip()

    def at_prompt(self) -> bool:
        return self.cursor_line == ">" and self.screen.cursor.x == 2

    def prompts(self) -> int:
        """How many prompts were shown so far (each line the user typed, and the one waiting)."""
        return sum(1 for line in self.lines() if line == ">" or line.startswith("> "))

    # -- waiting ---------------------------------------------------------------------------------

    def pump(self, seconds: float = 0.05) -> None:
        with contextlib.suppress(pexpect.TIMEOUT):
            self.child.read_nonblocking(65536, timeout=seconds)

    def wait_until(self, check: Callable[[], bool], what: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen:\n{self.text()}")
            try:
                self.pump()
            except pexpect.EOF:
                if check():
                    return
                raise AssertionError(f"the program ended while waiting for {what}; screen:\n{self.text()}") from None

    def wait_for(self, pattern: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.wait_until(lambda: re.search(pattern, self.text(), re.M) is not None, repr(pattern), timeout)

    def wait_prompt(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait for an empty prompt that stays: shown, and the program asleep waiting for a line."""
        self.wait_until(self.at_prompt, "the prompt", timeout)
        self.wait_idle(timeout)
        self.wait_until(self.at_prompt, "the prompt", timeout)

    # -- typing ----------------------------------------------------------------------------------

    def line(self, text: str) -> None:
        """Type a line and press Enter."""
        self.child.send(text + "\r")

    def say(self, text: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Type a line at the prompt and wait until the program is back at the prompt."""
        self.wait_prompt(timeout)
        before = self.prompts()
        self.line(text)
        self.wait_until(lambda: self.prompts() > before and self.at_prompt(), f"the answer to {text!r}", timeout)

    def wait_idle(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until the program sleeps, waiting for keys or for the network (not busy with what it
        was sent before)."""

        def sleeping() -> bool:
            with open(f"/proc/{self.child.pid}/stat") as stat:
                return stat.read().rpartition(")")[2].split()[0] == "S"

        self.wait_until(lambda: sleeping() and (self.pump(0.01) or sleeping()), "the program to wait", timeout)

    def resize(self, rows: int, cols: int) -> None:
        """Resize the terminal as xterm does: a narrower one cuts its lines (a row stays a row); a
        shorter one drops the empty rows under the cursor first, then scrolls its top rows into the
        scrollback, the cursor staying on its line. (pyte alone drops top rows and keeps the cursor's
        row number, leaving it under another line.) The program gets its SIGWINCH."""
        screen = self.screen
        shorter = screen.lines - rows
        if shorter > 0:
            below = screen.lines - 1 - screen.cursor.y
            scroll = max(0, shorter - below)
            x, y = screen.cursor.x, screen.cursor.y
            screen.cursor.y = screen.lines - 1
            for _ in range(scroll):
                screen.index()  # the top row into the scrollback
            # pyte's resize drops rows from the top: put blank ones there (the empty rows at the bottom
            # fall off), then give the cursor back its line
            screen.cursor_position(1, 1)
            screen.insert_lines(shorter)
            screen.resize(rows, cols)
            screen.cursor.x, screen.cursor.y = x, y - scroll
        else:
            screen.resize(rows, cols)
        self.rows, self.cols = rows, cols
        self.child.setwinsize(rows, cols)

    def paste(self, text: str, *, bracketed: bool = True) -> None:
        """Paste `text` as a terminal does: its line breaks sent as CR, between the bracketed-paste
        marks when `bracketed` (what a terminal sends once the program asked for them). Sent in
        pieces, reading the output in between: a large paste must not fill both directions of the pty."""
        data = text.replace("\r\n", "\r").replace("\n", "\r").encode()
        if bracketed:
            data = b"\x1b[200~" + data + b"\x1b[201~"
        sent = 0
        while sent < len(data):
            sent += self.child.send(data[sent : sent + 4096])
            self.pump(0.001)

    def ctrl_c(self) -> None:
        """Ctrl-C once the program waits: CPython's readline looks for a signal only when the select()
        it waits in is interrupted, so a Ctrl-C that lands while it is still busy with the keys before
        is seen only at the next key (10 in 30 were lost, sent right after a line of text)."""
        self.wait_idle()
        self.child.sendintr()

    def ctrl_d(self) -> None:
        self.child.sendeof()

    def wait_exit(self, timeout: float = DEFAULT_TIMEOUT) -> int:
        deadline = time.monotonic() + timeout
        while self.child.isalive():
            if time.monotonic() > deadline:
                raise AssertionError(f"the program did not end; screen:\n{self.text()}")
            try:
                self.pump()
            except pexpect.EOF:
                break
        self.child.close()
        status = self.child.exitstatus
        assert status is not None, f"killed by signal {self.child.signalstatus}"
        return int(status)

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)
