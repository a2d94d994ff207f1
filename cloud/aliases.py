"""Model aliases, so programs that hard-code one provider's model names reach a model that exists
(`chat -m`, `/model`, and every request `serve` routes). In the config file:

    [aliases]
    "gpt-4o" = "claude-sonnet-5-5"            # a model of the backend the request goes to
    "gpt-4o-mini" = "anthropic:claude-haiku-4-5"
    "claude-*haiku*" = "openai:gpt-4.1-mini"   # a pattern (fnmatch), and another backend

An exact name wins over a pattern; patterns are tried in file order. A value `BACKEND:MODEL` names
the backend too, when BACKEND is one protoshift knows (`llama3.2:3b` stays a model name).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from protoshift.cloud.errors import ConfigurationError
from protoshift.cloud.kinds import BACKENDS

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
            raise ConfigurationError(f"{where}: [aliases] must map names to model names (strings)", setting="aliases")
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
