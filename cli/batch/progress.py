"""Progress of a batch on stderr: a live rich bar when stderr is a terminal, otherwise nothing until
the one-line summary at the end. rich is imported only when the bar is shown."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any

from protoshift.cli.io.console import Diagnostics, no_color


@dataclass
class Tally:
    total: int = 0  # requests to send in this run
    skipped: int = 0  # already in OUTPUT (--resume)
    succeeded: int = 0
    failed: int = 0
    in_flight: int = 0
    tokens: int = 0
    cost: float = 0.0  # USD, of the answers the price table could price
    priced: int = 0  # how many answers it priced
    retries: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def done(self) -> int:
        return self.succeeded + self.failed

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


class Progress:
    """`tick()` after every change of the tally; `stop()` once. Shows a bar only on a terminal."""

    def __init__(self, tally: Tally, diag: Diagnostics, *, label: str = "batch") -> None:
        self.tally = tally
        self._bar: Any = None
        self._task: Any = None
        self._last = 0.0
        if diag.quiet or not _stderr_is_terminal():
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        console = Console(file=sys.stderr, no_color=no_color())
        self._bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed, {task.fields[in_flight]} in flight"),
            TextColumn("{task.fields[tokens]:,} tokens, {task.fields[rate]:.1f}/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            redirect_stderr=True,  # warnings (retries, breaker) print above the bar
            transient=False,
        )
        self._task = self._bar.add_task(label, total=tally.total or None, **self._fields())
        self._bar.start()

    def _fields(self) -> dict[str, Any]:
        t = self.tally
        elapsed = t.elapsed
        return {
            "failed": t.failed,
            "in_flight": t.in_flight,
            "tokens": t.tokens,
            "rate": t.done / elapsed if elapsed > 0 else 0.0,
        }

    def tick(self) -> None:
        if self._bar is None:
            return
        now = time.monotonic()
        if now - self._last < 0.05 and self.tally.done < self.tally.total:  # at most 20 updates a second
            return
        self._last = now
        self._bar.update(self._task, completed=self.tally.done, **self._fields())

    def set_description(self, text: str, *, total: int | None = None, completed: int | None = None) -> None:
        if self._bar is not None:
            self._bar.update(self._task, description=text, total=total, completed=completed)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=self.tally.done, **self._fields())
            self._bar.stop()
            self._bar = None


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
