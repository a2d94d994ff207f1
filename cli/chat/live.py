"""Live markdown for the interactive chat, without duplicated or torn lines in the scrollback.

Redrawing a whole reply on every token (a `rich.live.Live` around one `Markdown`) breaks as soon
as the reply is taller than the screen: the cursor cannot move back above the top line, so every
refresh leaves a copy behind. Here a reply is cut into markdown blocks as it streams in:

- a block that something else already follows (a paragraph, a closed code fence, a whole list)
  can no longer change, and is printed once, for good, into the scrollback;
- only the last block, still being written, lives in a small `Live` region, and that region is
  cropped to its last lines so it never grows taller than the screen.

Reasoning is shown dimmed (finished lines printed for good, the current line live), or replaced
by a spinner when hidden. Tool calls are shown as one compact panel.

A terminal made narrower while a reply streams rewraps the live region's lines (tmux, GNOME
Terminal, Konsole, kitty, iTerm2, Windows Terminal do; xterm and the Linux console cut them), so
the region takes more rows than were drawn, and clearing the rows drawn would leave its top behind:
a stale copy of a line. The view keeps each drawn line's width and, before drawing again, counts
the rows they take now (`_fit_to_resize`). For that count to hold, a drawn line ends with its last
character (no padding: a terminal may keep or drop trailing spaces when it rewraps), and a reply
leaves the last column free: a line that fills it leaves the cursor waiting to wrap, which
terminals place differently when they rewrap.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable
from typing import Any, Literal

from markdown_it import MarkdownIt
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.panel import Panel
from rich.segment import Segment
from rich.spinner import Spinner
from rich.text import Text

from protoshift.cli.chat.markdown import Markdown
from protoshift.cli.chat.render import compact_arguments

Kind = Literal["reasoning", "content"]

# The parser rich's Markdown uses, so block boundaries are the ones it renders.
_parser = MarkdownIt().enable("strikethrough").enable("table")


def split_markdown(text: str) -> tuple[str, str]:
    """(finished, pending): the top-level blocks that another block already follows, and the rest.

    A block is finished when a later block has started after it: markdown can only make the
    *last* block grow (a paragraph turning into a setext heading or a table, a list gaining
    items, a fence getting its lines). Split on line starts, so both halves stay valid markdown.
    """
    starts = [token.map[0] for token in _parser.parse(text) if token.level == 0 and token.map and token.nesting >= 0]
    if len(starts) < 2 or starts[-1] == 0:
        return "", text
    lines = text.split("\n")
    cut = starts[-1]
    return "\n".join(lines[:cut]) + "\n", "\n".join(lines[cut:])


class _Tail:
    """Shows the last `max_lines` lines of a renderable: the live region never outgrows the screen."""

    def __init__(self, renderable: RenderableType, max_lines: int) -> None:
        self.renderable = renderable
        self.max_lines = max(1, max_lines)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = console.render_lines(self.renderable, options.update(height=None), pad=False)
        for line in lines[-self.max_lines :]:
            yield from line
            yield Segment.line()


class _Measured:
    """The live region as drawn: each line's width (cells) is kept for `StreamView._fit_to_resize`."""

    def __init__(self, renderable: RenderableType, drawn: list[int]) -> None:
        self.renderable = renderable
        self.drawn = drawn

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = [_rstrip(line) for line in console.render_lines(self.renderable, reply_options(options), pad=False)]
        self.drawn[:] = [Segment.get_line_length(line) for line in lines]
        for line in lines:
            yield from line
            yield Segment.line()


def reply_options(options: ConsoleOptions) -> ConsoleOptions:
    """A reply is laid out one column short of the terminal's width (see the module's doc)."""
    return options.update_width(max(1, options.max_width - 1))


def _rstrip(line: list[Segment]) -> list[Segment]:
    """A rendered line without the spaces that pad it (those with no background colour)."""
    line = list(line)
    while line and not line[-1].control and not (line[-1].style and line[-1].style.bgcolor):
        text = line[-1].text.rstrip(" ")
        if text:
            line[-1] = Segment(text, line[-1].style)
            break
        line.pop()
    return line


def rewraps_on_resize() -> bool:
    """Whether the terminal rewraps long lines when it gets narrower: most do; xterm (which says so
    in XTERM_VERSION) and the Linux console cut them instead, a row staying a row."""
    return not os.environ.get("XTERM_VERSION") and os.environ.get("TERM") != "linux"


def rows_after_rewrap(widths: Iterable[int], columns: int) -> int:
    """The rows lines of these widths take once a terminal of `columns` has rewrapped them."""
    return sum(max(1, -(-width // max(1, columns))) for width in widths)


class _Lines:
    """Lines already rendered (segments), printed as they are."""

    def __init__(self, lines: list[list[Segment]]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines:
            yield from line
            yield Segment.line()


class StreamView:
    """One reply on the terminal, as it streams. `start()`, then `reasoning()`/`content()` per delta,
    then `close()` (also after Ctrl-C or an error: what arrived is printed for good)."""

    def __init__(
        self, console: Console, *, show_reasoning: bool = True, waiting: str = "waiting", markdown: bool = True
    ) -> None:
        self._console = console
        self._show_reasoning = show_reasoning
        self._markdown = markdown  # False: the text exactly as it comes, line by line
        self._waiting = waiting
        self._live: Live | None = None
        self._kind: Kind | None = None
        self._pending = ""
        self._gap = False  # the next thing printed needs a blank line before it
        self._context = ""  # the markdown printed last in this segment: spacing is rich's, as if printed whole
        self._printed_any = False
        self._spinner = Spinner("dots", style="dim")
        self._cache: tuple[str, Kind | None, RenderableType] | None = None
        self._drawn: list[int] = []  # the live region's lines as last drawn: their widths...
        self._drawn_at = 0  # ... on a terminal this wide
        self._rewraps = rewraps_on_resize()

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        if not self._console.is_terminal:
            return
        # No refresh thread: rich's Live renders its region outside its lock, so a refresh from
        # that thread racing a print from ours can leave a stale copy of the region behind.
        # `animate()` refreshes from the event loop instead, the thread that prints.
        self._live = Live(
            get_renderable=self._measured_region,
            console=self._console,
            auto_refresh=False,
            transient=True,
            vertical_overflow="crop",
            redirect_stdout=True,
            redirect_stderr=True,
        )
        self._live.start()

    async def animate(self, interval: float = 1 / 20) -> None:
        """Redraw the live region every `interval` when something changed (new text, the terminal's
        size) or a spinner turns, until cancelled. A region that waits on a quiet stream writes nothing."""
        shown: object = None
        while True:
            await asyncio.sleep(interval)
            now = (self._pending, self._kind, self._console.size)
            if self._live is not None and (now != shown or self._spinning()):
                shown = now
                self._live.refresh()

    def _spinning(self) -> bool:
        return (self._kind == "reasoning" and not self._show_reasoning) or not self._pending.strip()

    def close(self) -> None:
        """Stop the live region and print what is still pending, for good."""
        if self._live is not None:
            live, self._live = self._live, None
            live.stop()
        self._flush()

    # -- deltas ----------------------------------------------------------------------------------

    def reasoning(self, text: str) -> None:
        self._switch("reasoning")
        if not self._show_reasoning:
            return
        self._pending += text
        done, newline, rest = self._pending.rpartition("\n")
        if newline:
            self._print(Text(done, style="dim"))
            self._pending = rest

    def content(self, text: str) -> None:
        self._switch("content")
        self._pending += text
        if "\n" not in self._pending:
            return
        if not self._markdown:  # whole lines are printed for good as they come
            done, _, self._pending = self._pending.rpartition("\n")
            self._print(Text(done), soft_wrap=True)
            return
        finished, pending = split_markdown(self._pending)
        if finished:
            self._print_markdown(finished)
            self._pending = pending

    def tool_calls(self, calls: Iterable[dict[str, Any]]) -> None:
        self._flush()
        panel = tool_panel(calls)
        if panel is not None:
            self._gap = self._printed_any
            self._print(panel)

    @property
    def printed_any(self) -> bool:
        return self._printed_any or bool(self._pending)

    # -- internals -------------------------------------------------------------------------------

    def _switch(self, kind: Kind) -> None:
        if self._kind != kind:
            self._flush()
            self._kind = kind
            self._gap = self._printed_any
            self._context = ""

    def _flush(self) -> None:
        pending, self._pending = self._pending, ""
        if self._kind == "content" and pending and not self._markdown:
            self._print(Text(pending), soft_wrap=True)
        elif self._kind == "content" and pending.strip():
            self._print_markdown(pending)
        elif self._kind == "reasoning" and pending:
            self._print(Text(pending, style="dim"))

    def _print_markdown(self, text: str) -> None:
        """Print markdown that follows `_context`, spaced exactly as rich spaces a whole document:
        render context alone and context + text, print the lines the text added."""
        options = reply_options(self._console.options)  # as the live region laid it out
        skip = len(self._console.render_lines(Markdown(self._context), options, pad=False)) if self._context else 0
        lines = self._console.render_lines(Markdown(self._context + text), options, pad=False)
        self._print(_Lines([_rstrip(line) for line in lines[skip:]]))
        self._context = text

    def _print(self, renderable: RenderableType, *, soft_wrap: bool = False) -> None:
        self._fit_to_resize()
        if self._gap:
            self._console.print()
            self._gap = False
        self._console.print(renderable, soft_wrap=soft_wrap)  # soft_wrap: the terminal wraps, no line breaks added
        self._printed_any = True

    def _measured_region(self) -> RenderableType:
        self._fit_to_resize()
        return _Measured(self._region(), self._drawn)

    def _fit_to_resize(self) -> None:
        """Before the live region is cleared to be drawn again: if the terminal got narrower since it
        was drawn, the rows to clear are the rows its lines take now, rewrapped."""
        live, columns = self._live, self._console.width
        shape = live._live_render._shape if live is not None else None  # rich's record of the rows it drew
        if live is not None and shape is not None and self._drawn and self._rewraps and columns < self._drawn_at:
            empty = max(0, shape[1] - len(self._drawn))  # a row the cursor waits on, under the last line
            live._live_render._shape = (columns, rows_after_rewrap(self._drawn, columns) + empty)
        self._drawn_at = columns

    def _region(self) -> RenderableType:
        """What the live region shows now: the block being written, or a spinner."""
        pending, kind = self._pending, self._kind
        if self._cache is not None and self._cache[:2] == (pending, kind):
            return self._cache[2]
        renderable: RenderableType
        if kind == "reasoning" and not self._show_reasoning:
            renderable = Group(self._spinner_line("thinking"))
        elif not pending.strip():
            renderable = Group(self._spinner_line("thinking" if kind == "reasoning" else self._waiting))
        elif kind == "reasoning":
            renderable = _Tail(Text(pending, style="dim"), self._console.height - 2)
        elif not self._markdown:
            renderable = _Tail(Text(pending), self._console.height - 2)
        else:
            renderable = _Tail(Markdown(pending), self._console.height - 2)
        if isinstance(renderable, Group):  # the spinner animates: never cached
            return renderable
        self._cache = (pending, kind, renderable)
        return renderable

    def _spinner_line(self, label: str) -> Spinner:
        self._spinner.update(text=Text(label + "…", style="dim"))
        return self._spinner


def tool_panel(calls: Iterable[dict[str, Any]]) -> Panel | None:
    """Tool calls as one compact panel: a `name(args)  id` line per call."""
    lines = Text()
    for call in calls:
        function = call.get("function") or {}
        if lines:
            lines.append("\n")
        lines.append(str(function.get("name") or "?"), style="bold")
        lines.append(f"({compact_arguments(function.get('arguments'))})")
        if call.get("id"):
            lines.append(f"  {call['id']}", style="dim")
    if not lines:
        return None
    return Panel(lines, title="tool call", title_align="left", border_style="dim", expand=False)
