"""What a reload (SIGHUP) changed, in words for the log: the settings read before and after. Keys and
commands are named, never shown."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from protoshift.cli.settings import PROVIDER_KEYS, Settings
from protoshift.cloud.kinds import BACKENDS

__all__ = ["changes"]

_TABLES = ("aliases", "models", "prices")  # tables of named rows: said row by row


def changes(old: Settings, new: Settings) -> list[str]:
    said: list[str] = []
    if old.backend != new.backend:
        said.append(f"backend: {old.backend} -> {new.backend}")
    before, after = old.default_model(old.backend), new.default_model(new.backend)
    if before != after:
        said.append(f"default model: {before} -> {after}")
    if old.fallbacks != new.fallbacks:
        said.append(f"fallback: {_specs(old)} -> {_specs(new)}")
    for table in _TABLES:
        said += _rows(table, _table(old.file, table), _table(new.file, table))
    for name in BACKENDS:
        was, now = _table(old.file, name), _table(new.file, name)
        # named, not shown: a key, its command, a base URL that may carry a password
        said += [f"[{name}] {key} changed" for key in sorted(PROVIDER_KEYS) if was.get(key) != now.get(key)]
    for key in sorted(set(old.file) | set(new.file)):
        if key in _TABLES or key in BACKENDS or key in ("backend", "model", "fallback"):
            continue
        if old.file.get(key) != new.file.get(key):
            said.append(f"{key}: {_shown(old.file.get(key))} -> {_shown(new.file.get(key))}")
    return said


def _table(file: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = file.get(name)
    return value if isinstance(value, dict) else {}


def _rows(table: str, was: dict[str, Any], now: dict[str, Any]) -> list[str]:
    added = sorted(set(now) - set(was))
    removed = sorted(set(was) - set(now))
    changed = sorted(name for name in set(was) & set(now) if was[name] != now[name])
    parts = [*(f"+{n}" for n in added), *(f"-{n}" for n in removed), *(f"~{n}" for n in changed)]
    return [f"[{table}] {', '.join(parts)}"] if parts else []


def _specs(settings: Settings) -> str:
    return ", ".join(f"{s.name}:{s.model}" if s.model else s.name for s in settings.fallbacks) or "none"


def _shown(value: Any) -> str:
    return "(unset)" if value is None else repr(value)[:60]
