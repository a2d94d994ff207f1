"""Anthropic `thinking` and `output_config` -> OpenAI `reasoning_effort` and `response_format`.

- `thinking: enabled` with a budget -> the `reasoning_effort` whose budget (tables.THINKING_BUDGETS)
  is nearest, among those OpenAI-compatible servers take (low, medium, high), with a note;
- `thinking: adaptive` -> `output_config.effort` when given (above "high" sent as "high"), else
  nothing: the model's own default; `thinking: disabled` -> nothing;
- `output_config.effort` without thinking -> `reasoning_effort` too;
- a model the model table knows does not reason gets no `reasoning_effort` (a note says so);
- `output_config.format` (json_schema) -> `response_format: json_schema` (strict), or, for a model
  known to lack structured outputs, `json_object` with the schema asked for in a system message.
"""

from __future__ import annotations

import json
import math
from typing import Any

from protoshift.translator.checks import thinking_kind, want_int, want_object, want_str
from protoshift.translator.errors import TranslationError
from protoshift.translator.models import EFFORT_LEVELS
from protoshift.translator.openai_to_anthropic.context import Context
from protoshift.translator.tables import (
    JSON_SCHEMA_INSTRUCTION,
    JSON_SCHEMA_NAME,
    MIN_THINKING_BUDGET,
    OPENAI_REASONING_EFFORTS,
    OUTPUT_CONFIG_KEYS,
    OUTPUT_FORMAT_KEYS,
    THINKING_BUDGETS,
)


def effort_for_budget(budget: int) -> str:
    """The OpenAI reasoning_effort whose thinking budget is nearest `budget` (by ratio)."""
    return min(OPENAI_REASONING_EFFORTS, key=lambda level: abs(math.log(budget / THINKING_BUDGETS[level])))


def translate_reasoning(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    config = req.get("output_config")
    effort: str | None = None
    if config is not None:
        config = want_object(config, "output_config")
        if not OUTPUT_CONFIG_KEYS.issuperset(config):
            ctx.unknown_keys(config, OUTPUT_CONFIG_KEYS, "output_config")
        if (raw := config.get("effort")) is not None:
            effort = want_str(raw, "output_config.effort")
            if effort not in EFFORT_LEVELS:
                raise TranslationError("output_config.effort", f"expected one of {', '.join(EFFORT_LEVELS)}")
        if (fmt := config.get("format")) is not None:
            try:
                _response_format(fmt, body, ctx)
            except TranslationError as exc:
                ctx.failed(exc)
    thinking = req.get("thinking")
    before = len(ctx.notes)
    level, path = _level(thinking, effort, ctx)
    if level is None:
        return
    facts = ctx.facts
    if facts is not None and facts.thinking == "none":
        del ctx.notes[before:]  # how it would have been sent no longer matters
        ctx.note(path, "dropped", f"{ctx.model} does not reason (no reasoning_effort)")
        return
    body["reasoning_effort"] = level


def _level(thinking: Any, effort: str | None, ctx: Context) -> tuple[str | None, str]:
    """The reasoning_effort to send (or None) and the request path it comes from."""
    if thinking is not None:
        decided = _thinking_level(want_object(thinking, "thinking"), effort, ctx)
        if decided is not None:
            return decided
    if effort is None:
        return None, "thinking"  # adaptive with no effort: the model's own default
    path = "output_config.effort"
    if effort not in OPENAI_REASONING_EFFORTS:
        highest = OPENAI_REASONING_EFFORTS[-1]
        ctx.note(path, "approximated", f"OpenAI-compatible servers take at most {highest!r}: sent as {highest!r}")
        return highest, path
    return effort, path


def _thinking_level(config: dict[str, Any], effort: str | None, ctx: Context) -> tuple[str | None, str] | None:
    """What `thinking` decides (a budget, or off), or None when the effort decides (adaptive)."""
    kind = thinking_kind(config)
    if config.get("display") is not None:
        ctx.note("thinking.display", "dropped", "OpenAI-compatible models decide themselves what reasoning they show")
    if kind == "enabled":
        budget = want_int(config.get("budget_tokens"), "thinking.budget_tokens", minimum=MIN_THINKING_BUDGET)
        level = effort_for_budget(budget)
        ctx.note("thinking", "approximated", f"a budget of {budget} tokens sent as reasoning_effort {level!r}")
        if effort is not None:
            ctx.note("output_config.effort", "dropped", "thinking.budget_tokens sets the reasoning effort")
        return level, "thinking"
    if kind in ("disabled", "between_tools"):
        if effort is not None:
            ctx.note("output_config.effort", "dropped", f"thinking is {kind}")
        return None, "thinking"
    return None


def _response_format(value: Any, body: dict[str, Any], ctx: Context) -> None:
    fmt = want_object(value, "output_config.format")
    if fmt.get("type") != "json_schema":
        raise TranslationError("output_config.format.type", f'expected "json_schema", got {fmt.get("type")!r}')
    if not OUTPUT_FORMAT_KEYS.issuperset(fmt):
        ctx.unknown_keys(fmt, OUTPUT_FORMAT_KEYS, "output_config.format")
    schema = want_object(fmt.get("schema"), "output_config.format.schema")
    facts = ctx.facts
    if facts is not None and facts.structured_outputs is False:
        body["response_format"] = {"type": "json_object"}
        instruction = {"role": "system", "content": JSON_SCHEMA_INSTRUCTION + json.dumps(schema, ensure_ascii=False)}
        messages = body["messages"]
        at = 0
        while at < len(messages) and messages[at]["role"] == "system":
            at += 1
        messages.insert(at, instruction)
        ctx.note(
            "output_config.format",
            "approximated",
            f"{ctx.model} has no structured outputs: JSON mode, with the schema asked for in a system message",
        )
        return
    body["response_format"] = {
        "type": "json_schema",
        "json_schema": {"name": JSON_SCHEMA_NAME, "schema": schema, "strict": True},
    }
