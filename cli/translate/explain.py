"""The `--explain` table: what happened to each field, on stderr."""

from __future__ import annotations

from typing import IO

from protoshift.cli.io.console import no_color
from protoshift.translator import Note

_STYLES = {
    "mapped": "green",
    "kept": "cyan",
    "defaulted": "blue",
    "approximated": "yellow",
    "dropped": "red",
    "refused": "bold red",
}


def print_explain_table(rows: list[tuple[str, Note]], stream: IO[str]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    several = len({where for where, _ in rows}) > 1
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    if several:
        table.add_column("input")
    table.add_column("field")
    table.add_column("action")
    table.add_column("what and why", overflow="fold")
    for where, note in rows:
        cells = [Text(note.path), Text(note.action, style=_STYLES[note.action]), Text(note.reason)]
        table.add_row(*([where, *cells] if several else cells))
    Console(file=stream, no_color=no_color(), highlight=False, soft_wrap=False).print(table)
