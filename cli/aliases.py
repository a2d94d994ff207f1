"""Model aliases from the config file, so programs that hard-code one provider's model names reach a
model that exists:

    [aliases]
    "gpt-4o" = "claude-sonnet-4-5"            # a model of the backend the request goes to
    "gpt-4o-mini" = "anthropic:claude-haiku-4-5"
    "claude-*haiku*" = "openai:gpt-4.1-mini"   # a pattern (fnmatch), and another backend

An exact name wins over a pattern; patterns are tried in file order. A value `BACKEND:MODEL` names
the backend too, when BACKEND is one protoshift knows (`llama3.2:3b` stays a model name).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from protoshift.cli.exits import InputError
from protoshift.cloud.registry import BACKENDS

if TYPE_CHECKING:
    from protoshift.cli.io.console import Diagnostics

_PATTERN_CHARS = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class Target:
    """Where an alias points: a model, and the backend when the alias names one."""

    model: str
    backend: str | None = None

    def __str__(self) -> str:
        return f"{self.backend}:{self.model}" if self.backend else self.model


def parse_target(value: str) -> Target:
    backend, sep, model = value.partition(":")
    if sep and backend in BACKENDS and model:
        return Target(model, backend)
    return Target(value)


class Aliases:
    def __init__(self, table: Mapping[str, str] | None = None) -> None:
        self._exact: dict[str, Target] = {}
        self._patterns: list[tuple[str, Target]] = []
        for name, value in (table or {}).items():
            target = parse_target(value)
            if _PATTERN_CHARS.intersection(name):
                self._patterns.append((name, target))
            else:
                self._exact[name] = target

    @classmethod
    def from_config(cls, config: Mapping[str, Any], where: str) -> Aliases:
        table = config.get("aliases")
        if table is None:
            return cls()
        if not isinstance(table, dict) or not all(isinstance(v, str) and v for v in table.values()):
            raise InputError(f"{where}: [aliases] must map names to model names (strings)")
        return cls(table)

    def resolve(self, model: str) -> Target | None:
        """The target `model` is an alias of, or None when it is no alias."""
        target = self._exact.get(model)
        if target is not None:
            return target
        for pattern, target in self._patterns:
            if fnmatch.fnmatchcase(model, pattern):
                return target
        return None

    def names(self) -> list[tuple[str, Target]]:
        """Every alias, exact names first, as (name or pattern, target)."""
        return [*self._exact.items(), *self._patterns]

    def __bool__(self) -> bool:
        return bool(self._exact or self._patterns)


# -- the aliases commands ------------------------------------------------------------------------------


def run_list_aliases(json_lines: bool) -> int:
    """`protoshift aliases`: NAME -> MODEL, one a line (JSON lines with --json)."""
    from protoshift.cli.io.console import Diagnostics
    from protoshift.cli.io.output import json_line, write_stdout
    from protoshift.cli.settings import config_path, load_config_file

    diag = Diagnostics()
    path = config_path()
    aliases = Aliases.from_config(load_config_file(path, warn=diag.warn), str(path))
    for name, target in aliases.names():
        if json_lines:
            write_stdout(json_line({"alias": name, "model": target.model, "backend": target.backend}))
        else:
            write_stdout(f"{name} -> {target}\n".encode())
    if not aliases:
        diag.warn(f"no aliases in {path} (protoshift aliases set NAME MODEL adds one)")
    return 0


def run_set_alias(name: str, model: str, diag: Diagnostics) -> int:
    from protoshift.cli.config_edit import set_entry
    from protoshift.cli.settings import config_path

    if not name.strip() or not model.strip():
        raise InputError("an alias and its model cannot be empty")
    path = config_path()
    set_entry(path, "aliases", name, model)
    diag.warn(f"{name} -> {parse_target(model)} (in {path})")
    return 0


def run_remove_alias(name: str, diag: Diagnostics) -> int:
    from protoshift.cli.config_edit import set_entry
    from protoshift.cli.settings import config_path

    path = config_path()
    if not set_entry(path, "aliases", name, None):
        raise InputError(f"no alias {name!r} in {path}", hint="protoshift aliases lists them")
    diag.warn(f"{name} removed (from {path})")
    return 0
