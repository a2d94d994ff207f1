"""What each Claude model accepts: one row per model-id pattern, one fact per cell, each row dated and sourced.
(And, in OPENAI_BUILTIN, the OpenAI models an Anthropic request may be sent to: their output limit and
whether they reason.)

`openai_to_anthropic.request` looks the request's model up here so that offline bodies, Message Batches (which
have no second chance) and live calls are right the first time. A cell left `None` is not known:
the translator then sends what the caller asked, and the Anthropic backend's 400-and-resend
adaptation (`openai_to_anthropic/compat.py`) still covers it. A model no row matches is unknown in every cell.

A config file extends or overrides the table (`ModelTable.with_overrides`, plain data in, no I/O
here): an override row whose pattern is new comes before the built-in rows; its cells win over
those of the built-in row the same model matches, and the cells it leaves out come from there.

Patterns are shell-style (`fnmatch`, case-sensitive): `claude-opus-4-7*` matches the alias and every
dated snapshot. The first built-in row that matches wins, so the table lists specific rows first.

Cells:
- `max_output`: the most `max_tokens` the model takes (the default limit is capped at it).
- `context_window`: input tokens the model can read (for reference; nothing here counts tokens).
- `sampling`: `all` (temperature, top_p, top_k), `one` (temperature or top_p, not both; and top_k),
  `none` (non-default sampling parameters are refused).
- `thinking`: `none`, `budget` (`thinking.type: enabled` + `budget_tokens`), `both` (budget or
  adaptive), `adaptive` (only adaptive, depth set by `output_config.effort`), `always` (adaptive
  and cannot be turned off).
- `efforts`: the `output_config.effort` levels an adaptive model takes, lowest first.
- `structured_outputs`: `output_config.format` and strict tools.
- `forced_tool_choice`: `tool_choice` `any` / `tool`.
- `prefill`: a final assistant message the answer continues.
- `vision`, `pdf`: image and PDF document input.

Cells for OpenAI-compatible models (an Anthropic or Responses request sent to a chat upstream):
- `system`: where the model's chat template takes a system message: `anywhere` (OpenAI's), `first`
  (only at the start: one later goes as a `<system-reminder>` in the user's turn; the default), `none`
  (no system role at all: the system prompt goes first in the first user turn).
- `refuses`: Chat Completions fields the upstream refuses for this model (`user`, `stream_options`,
  `parallel_tool_calls`, `tools.strict`...): left out of its bodies. Learned from a refusal
  (translator/chat_compat.py) or set in the config file.
- `tool_description_max`: the longest function description the upstream takes (some deployments
  refuse over 1024 characters; Claude Code's Bash tool says 3 KB): longer ones are cut to it.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

from protoshift.translator.errors import TranslationError

Sampling = Literal["all", "one", "none"]
Thinking = Literal["none", "budget", "both", "adaptive", "always"]
SystemPlacement = Literal["anywhere", "first", "none"]

SAMPLING_VALUES: tuple[str, ...] = ("all", "one", "none")
THINKING_VALUES: tuple[str, ...] = ("none", "budget", "both", "adaptive", "always")
SYSTEM_VALUES: tuple[str, ...] = ("anywhere", "first", "none")
EFFORT_LEVELS: tuple[str, ...] = ("low", "medium", "high", "xhigh", "max")  # Anthropic's, lowest first


@dataclass(frozen=True, slots=True)
class ModelFacts:
    """One row of the table. Every cell may be None: not known, so nothing is changed for it."""

    pattern: str
    max_output: int | None = None
    context_window: int | None = None
    sampling: Sampling | None = None
    thinking: Thinking | None = None
    efforts: tuple[str, ...] | None = None
    structured_outputs: bool | None = None
    forced_tool_choice: bool | None = None
    prefill: bool | None = None
    vision: bool | None = None
    pdf: bool | None = None
    system: SystemPlacement | None = None
    refuses: tuple[str, ...] | None = None
    tool_description_max: int | None = None
    checked: str = ""  # the date the source was read, YYYY-MM-DD
    source: str = ""

    def merged_over(self, base: ModelFacts) -> ModelFacts:
        """These cells, and `base`'s wherever this row leaves one out."""
        changes = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) not in (None, "")}
        return replace(base, **changes)


_DOCS = "https://platform.claude.com/docs/en"
_ALL_EFFORTS = EFFORT_LEVELS
_NO_XHIGH = ("low", "medium", "high", "max")

# Read on 2026-11-30 from the model pages, the models overview and the migration guides named in each row.
# Specific patterns first: the first row that matches wins.
BUILTIN: tuple[ModelFacts, ...] = (
    # -- current lineup ------------------------------------------------------------------------
    ModelFacts(
        "claude-fable-5-1*", max_output=128_000, context_window=1_000_000, sampling="none", thinking="always",
        efforts=_ALL_EFFORTS, structured_outputs=True, forced_tool_choice=False, prefill=False, vision=True,
        pdf=True, checked="2026-11-30", source=f"{_DOCS}/models/opus-5-5/whats-new-opus-5-5",
    ),
    ModelFacts(
        "claude-opus-5-5*", max_output=128_000, context_window=1_000_000, sampling="none", thinking="always",
        efforts=_ALL_EFFORTS, structured_outputs=True, forced_tool_choice=False, prefill=False, vision=True,
        pdf=True, checked="2026-11-30", source=f"{_DOCS}/models/opus-5-5/whats-new-opus-5-5",
    ),
    ModelFacts(
        "claude-sonnet-5-5*", max_output=128_000, context_window=1_000_000, sampling="none", thinking="adaptive",
        efforts=_ALL_EFFORTS, structured_outputs=True, forced_tool_choice=False, prefill=False, vision=True,
        pdf=True, checked="2026-11-30", source=f"{_DOCS}/models/sonnet-5-5/whats-new-sonnet-5-5",
    ),
    ModelFacts(
        "claude-haiku-5-5*", max_output=128_000, context_window=1_000_000, sampling="none", thinking="adaptive",
        efforts=_ALL_EFFORTS, structured_outputs=True, prefill=False, vision=True, pdf=True,
        checked="2026-11-30", source=f"{_DOCS}/models/haiku-5-5/migration-guide",
    ),
    ModelFacts(
        "claude-fable-5", max_output=128_000, context_window=1_000_000, sampling="none", thinking="adaptive",
        efforts=_ALL_EFFORTS, structured_outputs=True, prefill=False, vision=True, pdf=True,
        checked="2026-11-30", source=f"{_DOCS}/models/overview",
    ),
    ModelFacts(
        "claude-opus-5", max_output=128_000, context_window=1_000_000, sampling="none", thinking="adaptive",
        efforts=_ALL_EFFORTS, structured_outputs=True, prefill=False, vision=True, pdf=True,
        checked="2026-11-30", source=f"{_DOCS}/models/opus-5/migration-guide",
    ),
    ModelFacts(
        "claude-sonnet-5", max_output=128_000, context_window=1_000_000, sampling="none", thinking="adaptive",
        efforts=_ALL_EFFORTS, structured_outputs=True, prefill=False, vision=True, pdf=True,
        checked="2026-11-30", source=f"{_DOCS}/models/sonnet-5/migration-guide",
    ),
    ModelFacts(
        "claude-haiku-4-5*", max_output=64_000, context_window=200_000, sampling="one", thinking="budget",
        structured_outputs=True, vision=True, pdf=True,
        checked="2026-11-30", source=f"{_DOCS}/models/haiku-4-5/migration-guide",
    ),
    # -- legacy, still served --------------------------------------------------------------------
    ModelFacts(
        "claude-opus-4-8*", max_output=128_000, context_window=1_000_000, sampling="none", thinking="adaptive",
        efforts=_ALL_EFFORTS, structured_outputs=True, prefill=False, vision=True, pdf=True,
        checked="2026-11-30", source=f"{_DOCS}/about-claude/models/whats-new-claude-4-8",
    ),
    ModelFacts(
        "claude-opus-4-7*", max_output=128_000, context_window=1_000_000, sampling="none", thinking="adaptive",
        efforts=_ALL_EFFORTS, structured_outputs=True, prefill=False, vision=True, pdf=True,
        checked="2026-11-30", source=f"{_DOCS}/about-claude/models/migration-guide#migrating-to-claude-opus-4-7",
    ),
    ModelFacts(
        "claude-opus-4-6*", max_output=128_000, context_window=1_000_000, sampling="one", thinking="both",
        efforts=_NO_XHIGH, structured_outputs=True, prefill=False, vision=True, pdf=True,
        checked="2026-11-30", source=f"{_DOCS}/models/opus-4-6/overview",
    ),
    ModelFacts(
        "claude-sonnet-4-6*", max_output=64_000, context_window=1_000_000, sampling="one", thinking="both",
        efforts=_NO_XHIGH, structured_outputs=True, prefill=False, vision=True, pdf=True,
        checked="2026-11-30", source=f"{_DOCS}/about-claude/models/migration-guide",
    ),
    ModelFacts(
        "claude-opus-4-5*", max_output=64_000, context_window=200_000, sampling="one", thinking="budget",
        structured_outputs=True, vision=True, pdf=True,
        checked="2026-11-30", source=f"{_DOCS}/models/opus-4-5/overview",
    ),
    ModelFacts(
        "claude-sonnet-4-5*", max_output=64_000, context_window=200_000, sampling="one", thinking="budget",
        structured_outputs=True, vision=True, pdf=True,
        checked="2026-11-30", source=f"{_DOCS}/models/sonnet-4-5/overview",
    ),
    ModelFacts(
        "claude-opus-4-1*", max_output=32_000, context_window=200_000, sampling="one", thinking="budget",
        structured_outputs=True, vision=True, pdf=True,
        checked="2026-11-30", source=f"{_DOCS}/models/opus-4-1/overview",
    ),
    ModelFacts(
        "claude-opus-4-[02]*", max_output=32_000, context_window=200_000, sampling="all", thinking="budget",
        structured_outputs=False, vision=True, pdf=True,
        checked="2026-11-30", source=f"{_DOCS}/about-claude/models/overview#legacy-models",
    ),
    ModelFacts(
        "claude-sonnet-4-[02]*", max_output=64_000, context_window=200_000, sampling="all", thinking="budget",
        structured_outputs=False, vision=True, pdf=True,
        checked="2026-11-30", source=f"{_DOCS}/about-claude/models/overview#legacy-models",
    ),
    ModelFacts(
        "claude-3-7-sonnet*", max_output=64_000, context_window=200_000, sampling="all", thinking="budget",
        structured_outputs=False, vision=True,
        checked="2026-11-30", source=f"{_DOCS}/about-claude/models/overview#legacy-models",
    ),
    ModelFacts(
        "claude-3-5-haiku*", max_output=8_192, context_window=200_000, sampling="all", thinking="none",
        structured_outputs=False, vision=True,
        checked="2026-11-30", source=f"{_DOCS}/about-claude/models/overview#legacy-models",
    ),
    ModelFacts(
        "claude-3-haiku*", max_output=4_096, context_window=200_000, sampling="all", thinking="none",
        structured_outputs=False, vision=True,
        checked="2026-11-30", source=f"{_DOCS}/about-claude/models/overview#legacy-models",
    ),
)  # fmt: skip

# The other direction (issue 14): the OpenAI models an Anthropic request may be sent to, read by
# `anthropic_to_openai.request` (through `ModelTable.openai_side()`, under the same config override rows),
# never by `openai_to_anthropic.request`. `max_tokens` is lowered to max_output; reasoning models get
# reasoning_effort (low/medium/high) and no sampling parameters; the others get no reasoning_effort.
# OpenAI takes a system message anywhere in the conversation (system="anywhere").
OPENAI_BUILTIN: tuple[ModelFacts, ...] = (
    ModelFacts(
        "gpt-4.1*", max_output=32_768, context_window=1_047_576, thinking="none", vision=True, pdf=True, system="anywhere",
        checked="2026-11-30", source="https://vercel.com/ai-gateway/models/gpt-4.1-fast.md (-> platform.openai.com/docs/models/gpt-4.1)",
    ),
    ModelFacts(
        "gpt-4o*", max_output=16_384, context_window=128_000, thinking="none", vision=True, pdf=True, system="anywhere",
        checked="2026-11-30", source="https://vercel.com/ai-gateway/models/gpt-4o-mini-fast.md; docs.uipath.com supported-models-and-limits (GPT-4o)",
    ),
    ModelFacts(
        "gpt-5*", max_output=128_000, sampling="none", thinking="adaptive", efforts=("low", "medium", "high"),
        vision=True, pdf=True, system="anywhere",
        checked="2026-11-30", source="https://vercel.com/ai-gateway/models/gpt-5-fast.md, .../openai/gpt-5.2-fast.md, .../gpt-5.4.md",
    ),
    ModelFacts(
        "o[34]*", max_output=100_000, context_window=200_000, sampling="none", thinking="adaptive",
        efforts=("low", "medium", "high"), vision=True, pdf=True, system="anywhere",
        checked="2026-11-30", source="https://vercel.com/ai-gateway/models/o4-mini-fast.md; RooCodeInc/Roo-Code#2691 (-> platform.openai.com/docs/models/o3)",
    ),
)  # fmt: skip

_MEMO_LIMIT = 512  # distinct model names remembered per table (a server sees what clients send)


class ModelTable:
    """The capability table: built-in rows, plus override rows from a config file."""

    __slots__ = ("_builtin", "_memo", "_openai", "_overrides")

    def __init__(self, overrides: tuple[ModelFacts, ...] = (), builtin: tuple[ModelFacts, ...] = BUILTIN) -> None:
        self._overrides = tuple((re.compile(fnmatch.translate(row.pattern)), row) for row in overrides)
        self._builtin = tuple((re.compile(fnmatch.translate(row.pattern)), row) for row in builtin)
        self._memo: dict[str, ModelFacts | None] = {}
        self._openai: ModelTable | None = None

    def openai_side(self) -> ModelTable:
        """The table of the other direction: these override rows over the built-in rows of OpenAI's models
        (OPENAI_BUILTIN), for Anthropic requests sent to an OpenAI-compatible model. Built once."""
        if self._openai is None:
            self._openai = ModelTable(tuple(row for _, row in self._overrides), OPENAI_BUILTIN)
        return self._openai

    @property
    def rows(self) -> tuple[ModelFacts, ...]:
        """Override rows first, then the built-in ones, as they are matched."""
        return tuple(row for _, row in self._overrides) + tuple(row for _, row in self._builtin)

    def lookup(self, model: str) -> ModelFacts | None:
        """What the table knows about `model` (override cells over built-in ones), or None."""
        try:
            return self._memo[model]
        except KeyError:
            pass
        base = next((row for pattern, row in self._builtin if pattern.match(model)), None)
        override = next((row for pattern, row in self._overrides if pattern.match(model)), None)
        facts = base if override is None else override.merged_over(base or ModelFacts(override.pattern))
        if len(self._memo) >= _MEMO_LIMIT:
            self._memo.clear()
        self._memo[model] = facts
        return facts

    def with_overrides(self, data: Mapping[str, Any]) -> ModelTable:
        """This table with rows from a config file's `[models."pattern"]` tables (plain data).
        Raises TranslationError naming `models."pattern".cell` for anything malformed."""
        rows = [parse_row(pattern, cells) for pattern, cells in _want_table(data, "models").items()]
        return self.with_rows(rows)

    def learn(self, model: str, facts: Mapping[str, Any]) -> ModelTable:
        """This table, knowing `facts` (cells) about exactly `model` (as an Anthropic 400 taught them)."""
        if not facts:
            return self
        pattern = exact_pattern(model)
        # The override row the model matches now (a config row for "qwen3*", or what was learned): its
        # cells go on in the new row, which comes first and so hides it.
        now = next((row for regex, row in self._overrides if regex.match(model)), None)
        known = ModelFacts(pattern) if now is None else replace(now, pattern=pattern)
        cells = dict(facts)
        if "refuses" in cells:  # a list: what it held still holds
            cells["refuses"] = tuple(dict.fromkeys((*(known.refuses or ()), *cells["refuses"])))
        return self.with_rows([replace(known, **cells)])

    def with_rows(self, rows: list[ModelFacts]) -> ModelTable:
        """This table with `rows` in front (a row for a pattern already overridden replaces it)."""
        patterns = {row.pattern for row in rows}
        kept = tuple(row for _, row in self._overrides if row.pattern not in patterns)
        return ModelTable((*rows, *kept), tuple(row for _, row in self._builtin))


DEFAULT_TABLE = ModelTable()


def parse_row(pattern: Any, cells: Any) -> ModelFacts:
    """One `[models."pattern"]` table -> a row; TranslationError names the bad cell."""
    if not isinstance(pattern, str) or not pattern:
        raise TranslationError("models", "a model pattern must be a non-empty string")
    where = f'models."{pattern}"'
    table = _want_table(cells, where)
    values: dict[str, Any] = {}
    for key, value in table.items():
        path = f"{where}.{key}"
        cell = _CELLS.get(key)
        if cell is None:
            known = ", ".join(f.name for f in fields(ModelFacts) if f.name != "pattern")
            raise TranslationError(path, f"unknown model fact (known: {known})")
        values[key] = cell(value, path)
    return ModelFacts(pattern, **values)


# ---- one checker per kind of cell: the value as the row keeps it, or TranslationError ----------


def _positive_int(value: Any, path: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise TranslationError(path, "expected a positive integer")
    return value


def _one_of(choices: tuple[str, ...]) -> Callable[[Any, str], Any]:
    def check(value: Any, path: str) -> Any:
        if value not in choices:
            raise TranslationError(path, f"expected one of {', '.join(choices)}")
        return value

    return check


def _efforts(value: Any, path: str) -> tuple[str, ...]:
    """A list of effort levels, kept lowest first."""
    if not isinstance(value, list) or not value or any(v not in EFFORT_LEVELS for v in value):
        raise TranslationError(path, f"expected a list of effort levels ({', '.join(EFFORT_LEVELS)})")
    return tuple(level for level in EFFORT_LEVELS if level in value)


def _names(value: Any, path: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise TranslationError(path, "expected a list of field names")
    return tuple(dict.fromkeys(value))


def _flag(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise TranslationError(path, "expected true or false")
    return value


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise TranslationError(path, "expected a string")
    return value


_CELLS: dict[str, Callable[[Any, str], Any]] = {
    "max_output": _positive_int,
    "tool_description_max": _positive_int,
    "context_window": _positive_int,
    "sampling": _one_of(SAMPLING_VALUES),
    "thinking": _one_of(THINKING_VALUES),
    "efforts": _efforts,
    "system": _one_of(SYSTEM_VALUES),
    "refuses": _names,
    **dict.fromkeys(("structured_outputs", "forced_tool_choice", "prefill", "vision", "pdf"), _flag),
    "checked": _text,
    "source": _text,
}


def exact_pattern(model: str) -> str:
    """A pattern that matches `model` and nothing else (for a fact learned about one model)."""
    return "".join(f"[{c}]" if c in "*?[]" else c for c in model)


def _want_table(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise TranslationError(path, "expected a table")
    return dict(value)
