"""translator.openai_to_anthropic.compat: the body to send when a model refuses a feature other Claude models take."""

from __future__ import annotations

import pytest

from protoshift.translator import openai_to_anthropic
from protoshift.translator.openai_to_anthropic.compat import adapt_to_rejected_parameter
from tests.oracles import assert_valid_anthropic_body

BASE = {"model": "claude-future-9", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize(
    ("effort", "expected"),
    [("minimal", "low"), ("low", "low"), ("medium", "medium"), ("high", "high"), ("xhigh", "xhigh")],
)
def test_budgeted_thinking_becomes_adaptive_with_the_matching_effort(effort: str, expected: str) -> None:
    body = openai_to_anthropic.request({**BASE, "reasoning_effort": effort}).body
    adapted = adapt_to_rejected_parameter(body, '"thinking.type.enabled" is not supported for this model.')
    assert adapted is not None
    new_body, notes, facts = adapted
    assert facts == {"thinking": "adaptive"}
    assert new_body["thinking"] == {"type": "adaptive"}
    assert new_body["output_config"]["effort"] == expected
    assert notes[0].path == "reasoning_effort" and notes[0].action == "approximated"
    assert_valid_anthropic_body(new_body)


def test_structured_output_survives_the_switch_to_adaptive_thinking() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}
    request = {
        **BASE,
        "reasoning_effort": "high",
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
    }
    body = openai_to_anthropic.request(request).body
    new_body, _, _ = adapt_to_rejected_parameter(body, "thinking.type.enabled is not supported") or ({}, [], {})
    assert new_body["output_config"] == {"format": {"type": "json_schema", "schema": schema}, "effort": "high"}


def test_sampling_parameters_named_in_the_refusal_are_dropped() -> None:
    body = openai_to_anthropic.request({**BASE, "temperature": 0.2, "top_p": 0.5}).body
    new_body, notes, facts = adapt_to_rejected_parameter(body, "`top_p` is deprecated for this model.") or ({}, [], {})
    assert "top_p" not in new_body and new_body["temperature"] == 0.2
    assert [n.path for n in notes] == ["top_p"]
    assert facts == {"sampling": "none"}
    assert '[models."claude-future-9"] sampling = "none"' in notes[0].reason  # how to teach the table


def test_temperature_and_top_p_together_keep_temperature_and_learn_one_of_them() -> None:
    body = openai_to_anthropic.request({**BASE, "temperature": 0.2, "top_p": 0.5}).body
    message = "`temperature` and `top_p` cannot both be specified for this model. Please use only one."
    new_body, _notes, facts = adapt_to_rejected_parameter(body, message) or ({}, [], {})
    assert new_body["temperature"] == 0.2 and "top_p" not in new_body
    assert facts == {"sampling": "one"}


def test_disabled_thinking_refused_by_an_always_thinking_model_is_left_out() -> None:
    body = {**openai_to_anthropic.request(BASE).body, "thinking": {"type": "disabled"}}
    message = '"thinking.type.disabled" is not supported for this model.'
    new_body, _notes, facts = adapt_to_rejected_parameter(body, message) or ({}, [], {})
    assert "thinking" not in new_body and facts == {"thinking": "always"}
    assert_valid_anthropic_body(new_body)


def test_a_refusal_about_something_else_changes_nothing() -> None:
    body = openai_to_anthropic.request({**BASE, "temperature": 0.2}).body
    assert adapt_to_rejected_parameter(body, "messages.0.content: text content blocks must be non-empty") is None
    assert adapt_to_rejected_parameter(body, '"thinking.type.enabled" is not supported') is None  # no thinking sent
