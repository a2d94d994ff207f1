"""What an exchange cost (the CLI's footer and log, the gateway's budgets and metrics): a price table as data, one row per model pattern, each row dated and sourced,
overridable per pattern in the config file:

    [prices."claude-sonnet-5-5*"]     # USD per million tokens
    input = 3.0
    output = 15.0
    cache_read = 0.3                  # cached input (a cache hit)
    cache_write = 3.75                # input written to the cache

A cost is only ever computed from a row: a model no row matches has no cost (nothing is shown, never a
guess). What it prices is the usage the answer reports in OpenAI's terms: `prompt_tokens` (cached ones
included), `prompt_tokens_details.cached_tokens` and `completion_tokens`. That usage does not say which
input tokens were written to Anthropic's cache (they count as prompt tokens), so those are priced as
input: a request with `cache_control` breakpoints costs a little more than shown (a cache write is
1.25x the input price for 5 minutes, 2x for an hour). Batch discounts are not applied.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MILLION = 1_000_000


class PriceError(ValueError):
    """A `[prices."pattern"]` row that cannot be read (the command line says it as an input error)."""


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens for the models `patterns` match (fnmatch, case-sensitive). `cache_read` /
    `cache_write` None: not known (cached tokens then leave the cost unknown). `above`: the row holds for
    requests whose prompt is longer than this many tokens only (prices that rise with the prompt)."""

    patterns: tuple[str, ...]
    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None
    above: int = 0
    checked: str = ""  # the date the source was read, YYYY-MM-DD
    source: str = ""

    def matches(self, model: str, prompt_tokens: int) -> bool:
        return prompt_tokens > self.above and self.names(model)

    def names(self, model: str) -> bool:
        """One of `patterns` matches `model` (whatever the prompt's length)."""
        return any(fnmatch.fnmatchcase(model, p) for p in self.patterns)

    def cost(self, prompt_tokens: int, completion_tokens: int, cached_tokens: int) -> float | None:
        if cached_tokens and self.cache_read is None:
            return None
        uncached = max(prompt_tokens - cached_tokens, 0)
        total = uncached * self.input + cached_tokens * (self.cache_read or 0.0) + completion_tokens * self.output
        return total / MILLION


_ANTHROPIC = "https://platform.claude.com/docs/en/about-claude/pricing"
_MODEL_PAGE = "https://platform.claude.com/docs/en/models/{}/overview"
_OPENAI = "https://developers.openai.com/api/docs/pricing (Standard tier)"
_READ = "2026-11-30"


def _claude(patterns: tuple[str, ...], input: float, output: float, read: float, write: float, **kw: Any) -> Price:
    return Price(patterns, input, output, read, write, checked=_READ, source=kw.pop("source", _ANTHROPIC), **kw)


def _openai(patterns: tuple[str, ...], input: float, output: float, read: float) -> Price:
    # OpenAI caches by itself and does not charge for writing: cache_write is the input price.
    return Price(patterns, input, output, read, input, checked=_READ, source=_OPENAI)


# Specific rows first: the first row that matches wins. Anthropic's 5-minute cache write is the
# `cache_write` column (the default lifetime).
BUILTIN: tuple[Price, ...] = (
    _claude(("claude-fable-5-1*",), 10.0, 50.0, 0.25, 12.5),
    _claude(("claude-fable-5", "claude-fable-5-20*"), 10.0, 50.0, 1.0, 12.5),
    _claude(("claude-opus-5-5*",), 4.0, 20.0, 0.2, 5.0, source=_MODEL_PAGE.format("opus-5-5")),
    _claude(("claude-opus-5", "claude-opus-5-20*", "claude-opus-4-[5678]*"), 5.0, 25.0, 0.5, 6.25),
    _claude(("claude-opus-4-1*", "claude-opus-4-0*", "claude-opus-4-20*", "claude-3-opus*"), 15.0, 75.0, 1.5, 18.75),
    # Sonnet 5.5's cache reads: $0.10 since the cut of 2026-10-07 (its model page still said $0.20).
    _claude(("claude-sonnet-5-5*",), 2.0, 10.0, 0.1, 2.5, source=_MODEL_PAGE.format("sonnet-5-5")),
    _claude(("claude-sonnet-5", "claude-sonnet-5-20*"), 2.0, 10.0, 0.2, 2.5, source=_MODEL_PAGE.format("sonnet-5")),
    _claude(("claude-sonnet-4*", "claude-3-7-sonnet*"), 3.0, 15.0, 0.3, 3.75),
    # Haiku 5.5 is priced by prompt length: up to 100,000 prompt tokens, and above (every token of it).
    _claude(("claude-haiku-5-5*",), 0.5, 2.5, 0.05, 0.625, above=100_000, source=_MODEL_PAGE.format("haiku-5-5")),
    _claude(("claude-haiku-5-5*",), 0.1, 0.5, 0.01, 0.125, source=_MODEL_PAGE.format("haiku-5-5")),
    _claude(("claude-haiku-4-5*",), 1.0, 5.0, 0.1, 1.25),
    _claude(("claude-3-5-haiku*",), 0.8, 4.0, 0.08, 1.0),
    _claude(("claude-3-haiku*",), 0.25, 1.25, 0.03, 0.3),
    _openai(("gpt-5", "gpt-5-20*"), 1.25, 10.0, 0.125),
    _openai(("gpt-5-mini", "gpt-5-mini-20*"), 0.25, 2.0, 0.025),
    _openai(("gpt-5-nano", "gpt-5-nano-20*"), 0.05, 0.4, 0.005),
    _openai(("gpt-4.1", "gpt-4.1-20*"), 2.0, 8.0, 0.5),
    _openai(("gpt-4.1-mini", "gpt-4.1-mini-20*"), 0.4, 1.6, 0.1),
    _openai(("gpt-4.1-nano", "gpt-4.1-nano-20*"), 0.1, 0.4, 0.025),
    _openai(("gpt-4o", "gpt-4o-20*"), 2.5, 10.0, 1.25),
    _openai(("gpt-4o-mini", "gpt-4o-mini-20*"), 0.15, 0.6, 0.075),
    _openai(("o3", "o3-20*"), 2.0, 8.0, 0.5),
    _openai(("o4-mini", "o4-mini-20*"), 1.1, 4.4, 0.275),
)

_CELLS = ("input", "output", "cache_read", "cache_write")
_MODELS_REMEMBERED = 256  # a bound on PriceTable's memo: model names come from input


class PriceTable:
    """The built-in rows, after the config file's `[prices."pattern"]` rows (which win)."""

    def __init__(self, overrides: Mapping[str, Any] | None = None, where: str = "the config file") -> None:
        self.rows: tuple[Price, ...] = (*_override_rows(overrides or {}, where), *BUILTIN)
        # model -> the rows naming it, in order: a batch prices every answer, mostly of one model, and
        # matching every pattern of every row each time cost `batch run` 7% of its CPU.
        self._rows_of: dict[str, tuple[Price, ...]] = {}

    @classmethod
    def free(cls) -> PriceTable:
        """No row at all: every cost is unknown."""
        table = cls()
        table.rows = ()
        return table

    def price(self, model: str, prompt_tokens: int = 0) -> Price | None:
        rows = self._rows_of.get(model)
        if rows is None:
            if len(self._rows_of) >= _MODELS_REMEMBERED:
                self._rows_of.clear()
            rows = self._rows_of[model] = tuple(row for row in self.rows if row.names(model))
        for row in rows:
            if prompt_tokens > row.above:
                return row
        return None

    def cost(self, model: str | None, usage: Mapping[str, Any] | None) -> float | None:
        """USD for one answer's usage (OpenAI's shape); None when the model or the usage is not known."""
        if not model or not usage:
            return None
        prompt = _count(usage.get("prompt_tokens"))
        details = usage.get("prompt_tokens_details")
        cached = _count(details.get("cached_tokens")) if isinstance(details, Mapping) else 0
        row = self.price(model, prompt)
        return None if row is None else row.cost(prompt, _count(usage.get("completion_tokens")), cached)


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _override_rows(table: Mapping[str, Any], where: str) -> list[Price]:
    """`[prices."pattern"]` rows: input and output are required; cache_read and cache_write may be left
    out (then an answer with cached tokens has no cost)."""
    if not isinstance(table, Mapping):
        raise PriceError(f"{where}: [prices] must be tables of prices per model pattern")
    rows = []
    for pattern, cells in table.items():
        if not isinstance(cells, Mapping):
            raise PriceError(f'{where}: prices."{pattern}" must be a table (input = 3.0, output = 15.0, ...)')
        values = {name: _price_cell(pattern, name, cells.get(name), where) for name in _CELLS}
        unknown = sorted(set(cells) - set(_CELLS))
        if unknown:
            raise PriceError(f'{where}: prices."{pattern}": unknown cell {unknown[0]!r} (use {", ".join(_CELLS)})')
        input, output = values["input"], values["output"]
        if input is None or output is None:
            raise PriceError(f'{where}: prices."{pattern}": input and output are required (USD per million tokens)')
        rows.append(Price((pattern,), input, output, values["cache_read"], values["cache_write"], source=where))
    return rows


def _price_cell(pattern: str, name: str, value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise PriceError(f'{where}: prices."{pattern}".{name}: expected a number of USD per million tokens')
    return float(value)


__all__ = ["BUILTIN", "Price", "PriceError", "PriceTable"]
