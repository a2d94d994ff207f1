"""What to change in a body when a model refuses a feature other Claude models take.

Anthropic's models differ: Opus 4.7 and later refuse the deprecated sampling parameters and
`thinking.type: enabled` (a token budget); older models take both and some do not know adaptive
thinking. Rather than keep a model table that goes stale, the Anthropic backend sends what the
caller asked for and, when the API answers 400 naming one of these features, asks here for the
body to send instead. Pure: the 400's message in, a new body and notes out.
"""

from __future__ import annotations

from typing import Any

from protoshift.translator.report import Note
from protoshift.translator.tables import SAMPLING_FIELDS, THINKING_BUDGETS

# budget_tokens -> output_config.effort for models that only think adaptively (upper bounds).
_EFFORT_FOR_BUDGET: tuple[tuple[int, str], ...] = (
    (THINKING_BUDGETS["low"], "low"),
    (THINKING_BUDGETS["medium"], "medium"),
    (THINKING_BUDGETS["high"], "high"),
)
_LARGEST_EFFORT = "xhigh"


def adapt_to_rejected_parameter(body: dict[str, Any], message: str) -> tuple[dict[str, Any], list[Note]] | None:
    """The body to send instead of `body`, which a model refused with `message`; None if nothing fits."""
    text = message.lower()
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled" and "thinking.type.enabled" in text:
        return _adaptive_thinking(body, thinking)
    refused = [key for key in SAMPLING_FIELDS if key in body and key in text]
    if refused:
        if "both" in text:  # "temperature and top_p cannot both be specified": keep temperature
            refused = [key for key in refused if key != "temperature"] or refused
        model = body.get("model")
        notes = [Note(key, "dropped", f"{model} refuses it; sent again without it") for key in refused]
        return {key: value for key, value in body.items() if key not in refused}, notes
    return None


def _adaptive_thinking(body: dict[str, Any], thinking: dict[str, Any]) -> tuple[dict[str, Any], list[Note]]:
    budget = thinking.get("budget_tokens")
    effort = _LARGEST_EFFORT
    for limit, name in _EFFORT_FOR_BUDGET:
        if isinstance(budget, int) and budget <= limit:
            effort = name
            break
    adaptive = {key: value for key, value in thinking.items() if key not in ("type", "budget_tokens")}
    output_config = {**body.get("output_config", {}), "effort": effort}
    note = Note(
        "reasoning_effort",
        "approximated",
        f"{body.get('model')} only thinks adaptively: budget {budget} sent as effort {effort!r}",
    )
    return {**body, "thinking": {"type": "adaptive", **adaptive}, "output_config": output_config}, [note]
