"""What to change in a body when a model refuses a feature other Claude models take.

For a model the capability table (translator/models.py) knows, `openai_to_anthropic.request` already sends
what the model takes. For the others, the Anthropic backend sends what the caller asked for and,
when the API answers 400 naming one of these features, asks here for the body to send instead:
- deprecated sampling parameters (`temperature`, `top_p`, `top_k`) -> left out;
- budgeted thinking (`thinking.type: enabled`) -> adaptive thinking with the matching effort;
- `thinking.type: disabled` on a model that always thinks -> left out.

Each adaptation is also a fact learned about the model (`Adaptation.facts`, cells of the table),
which the backend uses for the requests after it, and which the notes spell out as the
`[models."<model>"]` config lines that make the next bodies right the first time.
Pure: the 400's message in, a new body, notes and facts out.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from protoshift.translator.report import Note
from protoshift.translator.tables import EFFORT_FOR_BUDGET, LARGEST_EFFORT, SAMPLING_FIELDS


class Adaptation(NamedTuple):
    body: dict[str, Any]
    notes: list[Note]
    facts: dict[str, Any]  # cells of the model table this refusal teaches (e.g. {"sampling": "none"})


def adapt_to_rejected_parameter(body: dict[str, Any], message: str) -> Adaptation | None:
    """The body to send instead of `body`, which a model refused with `message`; None if nothing fits."""
    text = message.lower()
    model = body.get("model")
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled" and "thinking.type.enabled" in text:
        return _adaptive_thinking(body, thinking)
    if isinstance(thinking, dict) and thinking.get("type") == "disabled" and "thinking.type.disabled" in text:
        hint = _config_hint(model, 'thinking = "always"')
        note = Note(
            "reasoning_effort", "approximated", f"{model} always thinks: sent again without thinking disabled{hint}"
        )
        return Adaptation({k: v for k, v in body.items() if k != "thinking"}, [note], {"thinking": "always"})
    refused = [key for key in SAMPLING_FIELDS if key in body and key in text]
    if refused:
        if "both" in text:  # "temperature and top_p cannot both be specified": keep temperature
            refused = [key for key in refused if key != "temperature"] or refused
            facts = {"sampling": "one"}
        else:
            facts = {"sampling": "none"}
        hint = _config_hint(model, f'sampling = "{facts["sampling"]}"')
        notes = [Note(key, "dropped", f"{model} refuses it; sent again without it{hint}") for key in refused]
        return Adaptation({key: value for key, value in body.items() if key not in refused}, notes, facts)
    return None


def _adaptive_thinking(body: dict[str, Any], thinking: dict[str, Any]) -> Adaptation:
    budget = thinking.get("budget_tokens")
    effort = LARGEST_EFFORT
    for limit, name in EFFORT_FOR_BUDGET:
        if isinstance(budget, int) and budget <= limit:
            effort = name
            break
    adaptive = {key: value for key, value in thinking.items() if key not in ("type", "budget_tokens")}
    output_config = {**body.get("output_config", {}), "effort": effort}
    model = body.get("model")
    note = Note(
        "reasoning_effort",
        "approximated",
        f"{model} only thinks adaptively: budget {budget} sent as effort {effort!r}"
        + _config_hint(model, 'thinking = "adaptive"'),
    )
    new_body = {**body, "thinking": {"type": "adaptive", **adaptive}, "output_config": output_config}
    return Adaptation(new_body, [note], {"thinking": "adaptive"})


def _config_hint(model: Any, line: str) -> str:
    return f' (learned for this run; add [models."{model}"] {line} to the config file to send it right the first time)'
