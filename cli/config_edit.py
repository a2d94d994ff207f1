"""Editing one entry of one table of the config file (`protoshift aliases set|remove`), keeping the rest
of the file as it was: comments, order, spacing, other tables.

A small writer rather than a TOML library that rewrites the whole file (tomli-w drops comments;
tomlkit keeps them but is a dependency for one table): the table's lines are found, the entry's line
is replaced, added or removed, and the result is parsed again and must equal the old file with that
one change; otherwise nothing is written and the error says to edit the file by hand. The file is
written atomically and 0600, as the config file is trusted only when no one else can write it.
"""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path
from typing import Any

from protoshift.cli.exits import InputError
from protoshift.cli.io.output import atomic_file
from protoshift.cli.settings import load_config_file

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_string(text: str) -> str:
    """A TOML basic string."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else toml_string(key)


def set_entry(path: Path, table: str, key: str, value: str | None) -> bool:
    """Set `[table] key = "value"` in the config file at `path` (value None: remove the key). Returns
    whether the file changed."""
    old = load_config_file(path)  # the trust check, and the file as it is now
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    expected = copy.deepcopy(old)
    section = expected.setdefault(table, {})
    if not isinstance(section, dict):
        raise InputError(f"{path}: {table} is not a table; edit the file by hand")
    if value is None:
        if key not in section:
            return False
        del section[key]
    else:
        section[key] = value
    new = _edited(text, table, key, value, path, defined=table in old)
    _check(new, expected, path, table)
    with atomic_file(path, private=True) as fh:
        fh.write(new.encode("utf-8"))
    return True


def _edited(text: str, table: str, key: str, value: str | None, path: Path, *, defined: bool) -> str:
    lines = text.splitlines(keepends=True)
    header = _header_line(lines, table)
    entry = None if value is None else f"{toml_key(key)} = {toml_string(value)}\n"
    if header is None:
        if defined:
            raise InputError(f"{path}: {table} is not written as a [{table}] table; edit it by hand")
        if entry is None:
            return text
        gap = "" if not text else ("\n" if text.endswith("\n") else "\n\n")
        return f"{text}{gap}[{table}]\n{entry}"
    end = _section_end(lines, header)
    at = _key_line(lines, header + 1, end, key)
    if at is not None:
        lines[at : at + 1] = [] if value is None else [_with_value(lines[at], entry or "", value)]
    elif entry is not None:
        last = max(i for i in range(header, end) if lines[i].strip() and not lines[i].lstrip().startswith("#"))
        if not lines[last].endswith("\n"):
            lines[last] += "\n"
        lines.insert(last + 1, entry)
    return "".join(lines)


# The key of an entry line as it is written (bare, "basic" or 'literal'), and the `=` after it.
_KEY_PREFIX = re.compile(r"""\s*(?:"(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)\s*=\s*""")


def _with_value(line: str, entry: str, value: str) -> str:
    """The entry's line with a new value, its key spelt as it was."""
    prefix = _KEY_PREFIX.match(line)
    return f"{prefix.group(0)}{toml_string(value)}\n" if prefix else entry


def _header_line(lines: list[str], table: str) -> int | None:
    pattern = re.compile(rf"\s*\[\s*(?:{re.escape(table)}|\"{re.escape(table)}\")\s*\]\s*(?:#.*)?")
    return next((i for i, line in enumerate(lines) if pattern.fullmatch(line.rstrip("\r\n"))), None)


def _section_end(lines: list[str], header: int) -> int:
    """The line after the table's last: the next table header, or the end."""
    return next((i for i in range(header + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))


def _key_line(lines: list[str], start: int, end: int, key: str) -> int | None:
    for at in range(start, end):
        try:
            parsed = tomllib.loads(lines[at])
        except tomllib.TOMLDecodeError:
            continue
        if list(parsed) == [key]:
            return at
    return None


def _check(text: str, expected: dict[str, Any], path: Path, table: str) -> None:
    try:
        parsed = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        parsed = None
    if parsed != expected:
        raise InputError(f"{path}: [{table}] could not be edited safely; edit it by hand (nothing was written)")
