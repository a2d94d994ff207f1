"""`reasoning_effort` and a caller's own `thinking` -> Anthropic `thinking` (+ `output_config.effort`).

What is sent depends on how the target model thinks (translator/models.py):
- `budget` models, and models the table does not know: `thinking: {type: enabled, budget_tokens}`
  with a budget per effort level (tables.THINKING_BUDGETS), `max_tokens` raised to keep the caller's
  answer room on top of it;
- `adaptive`, `both` and `always` models: `thinking: {type: adaptive}` and `output_config.effort`
  (Anthropic recommends adaptive wherever a model has it); a caller's budget becomes the matching effort;
- `none` models: reasoning is dropped with a note.
Extended thinking refuses sampling changes and a forced tool choice: those are dropped or refused here.
"""

from __future__ import annotations

from typing import Any

from protoshift.translator.checks import thinking_kind, want_int, want_object, want_str
from protoshift.translator.errors import TranslationError
from protoshift.translator.models import EFFORT_LEVELS
from protoshift.translator.openai_to_anthropic.context import Context
from protoshift.translator.tables import (
    EFFORT_FOR_BUDGET,
    EFFORTS,
    LARGEST_EFFORT,
    MIN_THINKING_BUDGET,
    THINKING_BUDGETS,
)

_ADAPTIVE_MODES = ("adaptive", "both", "always")


def translate_thinking(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    thinking = req.get("thinking")
    effort = req.get("reasoning_effort")
    mode = ctx.facts.thinking if ctx.facts is not None else None
    if thinking is not None:
        if effort is not None:
            ctx.note("reasoning_effort", "dropped", "thinking takes precedence")
        _callers_thinking(_checked(thinking), mode, body, ctx)
        return
    if effort is None:
        return
    level = want_str(effort, "reasoning_effort")
    if level != "none" and level not in THINKING_BUDGETS:
        raise TranslationError(
            "reasoning_effort", f"expected one of none, {', '.join(THINKING_BUDGETS)}; got {level!r}"
        )
    if level == "none":
        if mode == "always":
            lowest = _model_effort("low", ctx)
            body.setdefault("output_config", {})["effort"] = lowest
            ctx.note(
                "reasoning_effort", "approximated", f"{ctx.model} always thinks: sent the lowest effort, {lowest!r}"
            )
        elif mode == "adaptive":  # these models may think unasked: say no
            body["thinking"] = {"type": "disabled"}
        return
    if mode == "none":
        ctx.note("reasoning_effort", "dropped", f"{ctx.model} has no extended thinking")
        return
    if mode in _ADAPTIVE_MODES:
        _adaptive(level, body, ctx, "reasoning_effort")
        return
    budget = THINKING_BUDGETS[level]
    body["thinking"] = {"type": "enabled", "budget_tokens": budget}
    _fit_budget(body, budget, ctx, "reasoning_effort")
    _drop_for_thinking(body, ctx)


def _checked(thinking: Any) -> dict[str, Any]:
    config = want_object(thinking, "thinking")
    kind = thinking_kind(config)
    if config.get("display") not in (None, "summarized", "omitted"):
        raise TranslationError("thinking.display", 'expected "summarized" or "omitted"')
    if kind == "enabled":
        want_int(config.get("budget_tokens"), "thinking.budget_tokens", minimum=MIN_THINKING_BUDGET)
    return config


def _callers_thinking(config: dict[str, Any], mode: str | None, body: dict[str, Any], ctx: Context) -> None:
    """Anthropic's own `thinking`, passed on purpose: kept, or changed to what the model takes."""
    kind = config["type"]
    extra = {key: value for key, value in config.items() if key == "display"}
    if kind in ("disabled", "between_tools"):
        if mode == "always" and kind == "disabled":
            ctx.note("thinking", "dropped", f"{ctx.model} always thinks; it cannot be disabled")
            return
        body["thinking"] = config
        ctx.note("thinking", "kept", "Anthropic extended-thinking setting")
        return
    if mode == "none":
        ctx.note("thinking", "dropped", f"{ctx.model} has no extended thinking")
        return
    if kind == "enabled" and mode in ("adaptive", "always"):
        budget = config["budget_tokens"]
        effort = next((name for limit, name in EFFORT_FOR_BUDGET if budget <= limit), LARGEST_EFFORT)
        effort = _model_effort(effort, ctx)
        body["thinking"] = {"type": "adaptive", **extra}
        body.setdefault("output_config", {})["effort"] = effort
        ctx.note(
            "thinking", "approximated", f"{ctx.model} only thinks adaptively: budget {budget} sent as effort {effort!r}"
        )
        _drop_for_thinking(body, ctx)
        return
    if kind == "adaptive" and mode == "budget":
        budget = THINKING_BUDGETS["medium"]
        body["thinking"] = {"type": "enabled", "budget_tokens": budget, **extra}
        ctx.note("thinking", "approximated", f"{ctx.model} has no adaptive thinking: sent a budget of {budget} tokens")
        _fit_budget(body, budget, ctx, "thinking")
        _drop_for_thinking(body, ctx)
        return
    body["thinking"] = config
    ctx.note("thinking", "kept", "Anthropic extended-thinking setting")
    if kind == "enabled":
        _fit_budget(body, config["budget_tokens"], ctx, "thinking.budget_tokens")
    _drop_for_thinking(body, ctx)


def _adaptive(level: str, body: dict[str, Any], ctx: Context, path: str) -> None:
    effort = _model_effort(EFFORTS[level], ctx)
    body["thinking"] = {"type": "adaptive"}
    body.setdefault("output_config", {})["effort"] = effort
    if effort != level:
        why = "Anthropic has no minimal effort" if level == "minimal" else f"{ctx.model} has no {level!r} effort"
        ctx.note(path, "approximated", f"sent as effort {effort!r}: {why}")
    _drop_for_thinking(body, ctx)


def _model_effort(effort: str, ctx: Context) -> str:
    """`effort`, or the highest level below it that the model takes (its lowest if none is below)."""
    efforts = ctx.facts.efforts if ctx.facts is not None else None
    if not efforts or effort in efforts:
        return effort
    below = [level for level in EFFORT_LEVELS[: EFFORT_LEVELS.index(effort)] if level in efforts]
    return below[-1] if below else efforts[0]


def _fit_budget(body: dict[str, Any], budget: int, ctx: Context, budget_path: str) -> None:
    """Anthropic needs budget_tokens < max_tokens; keep the caller's answer room on top of the budget,
    within the model's output limit when the table knows it."""
    cap = ctx.facts.max_output if ctx.facts is not None else None
    if ctx.max_tokens_defaulted:  # the caller set no limit
        total = body["max_tokens"] + budget
        capped = cap is not None and total > cap
        body["max_tokens"] = cap if capped and cap is not None else total
        for k, note in enumerate(ctx.notes):
            if note.path == "max_tokens" and note.action == "defaulted":
                ctx.notes[k] = type(note)(
                    "max_tokens",
                    "defaulted",
                    f"Anthropic requires a limit; used {body['max_tokens']} (thinking budget included"
                    + (f", {ctx.model}'s maximum)" if capped else ")"),
                )
                break
    elif body["max_tokens"] <= budget:
        raised = budget + body["max_tokens"]
        if cap is not None:
            raised = min(raised, cap)
        ctx.note(
            "max_tokens",
            "approximated",
            f"raised from {body['max_tokens']} to {raised} to fit a thinking budget of {budget}",
        )
        body["max_tokens"] = raised
    if budget >= body["max_tokens"]:  # only when the model's limit left no room for the budget
        smaller = max(MIN_THINKING_BUDGET, body["max_tokens"] // 2)
        body["thinking"]["budget_tokens"] = smaller
        ctx.note(
            budget_path,
            "approximated",
            f"thinking budget lowered from {budget} to {smaller}: {ctx.model} writes at most {body['max_tokens']} tokens",
        )


def _drop_for_thinking(body: dict[str, Any], ctx: Context) -> None:
    """Extended thinking refuses sampling changes and forced tool use."""
    if "temperature" in body and body["temperature"] != 1:
        ctx.note("temperature", "dropped", "Anthropic extended thinking runs at temperature 1")
        del body["temperature"]
    if "top_p" in body and body["top_p"] < 0.95:
        ctx.note("top_p", "dropped", "Anthropic extended thinking needs top_p of at least 0.95")
        del body["top_p"]
    choice = body.get("tool_choice")
    if choice is not None and choice["type"] in ("any", "tool"):
        raise TranslationError(
            "tool_choice", "a forced tool call cannot be combined with reasoning (extended thinking)"
        )
