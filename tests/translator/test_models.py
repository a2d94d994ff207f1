"""The model capability table and bodies right for the model they go to (issue 10, section 3)."""

from __future__ import annotations

import base64
import datetime
import re
from typing import Any

import pytest

from protoshift.translator import DEFAULT_TABLE, ModelFacts, ModelTable, TranslationError, openai_to_anthropic
from protoshift.translator.models import BUILTIN, exact_pattern, parse_row

from .helpers import assistant, fn_tool, image, notes_at, one_note, refused, text, translate, user

HI = user("hi")
PDF = base64.b64encode(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF").decode()


def req(model: str, *messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": model, "messages": list(messages or [HI]), **fields}


# ---- the table --------------------------------------------------------------------------------


def test_every_row_has_a_date_and_a_source() -> None:
    for row in BUILTIN:
        assert datetime.date.fromisoformat(row.checked), row.pattern
        assert row.source.startswith("https://platform.claude.com/docs/"), row.pattern


@pytest.mark.parametrize(
    ("model", "pattern"),
    [
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5*"),
        ("claude-haiku-4-5", "claude-haiku-4-5*"),
        ("claude-opus-4-1-20250805", "claude-opus-4-1*"),
        ("claude-opus-4-20250514", "claude-opus-4-[02]*"),
        ("claude-opus-4-0", "claude-opus-4-[02]*"),
        ("claude-opus-5", "claude-opus-5"),
        ("claude-opus-5-5", "claude-opus-5-5*"),
        ("claude-3-haiku-20240307", "claude-3-haiku*"),
    ],
)
def test_a_model_id_finds_its_row(model: str, pattern: str) -> None:
    facts = DEFAULT_TABLE.lookup(model)
    assert facts is not None and facts.pattern == pattern


@pytest.mark.parametrize("model", ["claude-opus-5-7", "claude-future-1", "gpt-4o", "claude-opus-4-9"])
def test_unknown_models_have_no_facts(model: str) -> None:
    assert DEFAULT_TABLE.lookup(model) is None


def test_the_oldest_claude_3_model_gets_a_default_limit_it_takes() -> None:
    """8192 is above claude-3-haiku's 4096 output limit."""
    result = translate(req("claude-3-haiku-20240307"))
    assert result.body["max_tokens"] == 4096
    assert "maximum" in one_note(result, "max_tokens", "defaulted").reason


def test_a_limit_above_the_models_maximum_is_lowered_with_a_note() -> None:
    result = translate(req("claude-haiku-4-5", max_tokens=100_000))
    assert result.body["max_tokens"] == 64_000
    one_note(result, "max_tokens", "approximated")
    refused(req("claude-haiku-4-5", max_tokens=100_000), "max_tokens", "strict", strict=True)


def test_an_unknown_model_keeps_todays_behaviour() -> None:
    body = translate(
        req("claude-future-1", temperature=0.3, top_p=0.5, max_tokens=500_000, reasoning_effort="low")
    ).body
    assert body["max_tokens"] == 500_000 and body["thinking"]["type"] == "enabled"


# ---- sampling ---------------------------------------------------------------------------------


def test_a_model_without_sampling_parameters_gets_none_and_each_is_noted() -> None:
    result = translate(req("claude-opus-4-7", temperature=0.2, top_p=0.5, top_k=40))
    assert not {"temperature", "top_p", "top_k"} & set(result.body)
    for key in ("temperature", "top_p", "top_k"):
        one_note(result, key, "dropped")


def test_the_default_temperature_is_not_a_loss() -> None:
    result = translate(req("claude-opus-4-7", temperature=1), strict=True)
    assert "temperature" not in result.body
    one_note(result, "temperature", "defaulted")


def test_temperature_or_top_p_models_keep_temperature() -> None:
    result = translate(req("claude-sonnet-4-5", temperature=0.2, top_p=0.5))
    assert result.body["temperature"] == 0.2 and "top_p" not in result.body
    one_note(result, "top_p", "dropped")
    body = translate(req("claude-3-7-sonnet-20250219", temperature=0.2, top_p=0.5)).body
    assert body["temperature"] == 0.2 and body["top_p"] == 0.5


# ---- thinking ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("effort", "sent"), [("minimal", "low"), ("low", "low"), ("medium", "medium"), ("xhigh", "xhigh"), ("max", "max")]
)
def test_adaptive_models_get_adaptive_thinking_and_an_effort(effort: str, sent: str) -> None:
    result = translate(req("claude-opus-4-7", reasoning_effort=effort))
    assert result.body["thinking"] == {"type": "adaptive"}
    assert result.body["output_config"] == {"effort": sent}
    assert bool(notes_at(result, "reasoning_effort")) == (effort != sent)


def test_an_effort_the_model_lacks_becomes_the_next_one_down() -> None:
    result = translate(req("claude-opus-4-6", reasoning_effort="xhigh"))
    assert result.body["output_config"] == {"effort": "high"}
    assert "'xhigh'" in one_note(result, "reasoning_effort", "approximated").reason


def test_budget_models_keep_a_thinking_budget() -> None:
    body = translate(req("claude-haiku-4-5", reasoning_effort="medium")).body
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 8192}
    assert "output_config" not in body


def test_a_budget_that_does_not_fit_the_model_is_lowered() -> None:
    result = translate(req("claude-haiku-4-5", reasoning_effort="max"))
    assert result.body["max_tokens"] == 64_000
    assert result.body["thinking"]["budget_tokens"] < result.body["max_tokens"]
    one_note(result, "reasoning_effort", "approximated")


def test_a_callers_budget_becomes_an_effort_on_an_adaptive_only_model() -> None:
    result = translate(req("claude-sonnet-5", thinking={"type": "enabled", "budget_tokens": 16000}, max_tokens=32000))
    assert result.body["thinking"] == {"type": "adaptive"}
    assert result.body["output_config"] == {"effort": "high"}  # the "high" budget is 16384
    one_note(result, "thinking", "approximated")


def test_adaptive_thinking_asked_of_a_budget_model_becomes_a_budget() -> None:
    result = translate(req("claude-sonnet-4-5", thinking={"type": "adaptive", "display": "summarized"}))
    assert result.body["thinking"]["type"] == "enabled" and result.body["thinking"]["display"] == "summarized"
    one_note(result, "thinking", "approximated")


def test_models_without_thinking_drop_reasoning_with_a_note() -> None:
    result = translate(req("claude-3-5-haiku-20241022", reasoning_effort="high"))
    assert "thinking" not in result.body
    one_note(result, "reasoning_effort", "dropped")


def test_always_thinking_models_cannot_be_told_not_to_think() -> None:
    result = translate(req("claude-opus-5-5", reasoning_effort="none"))
    assert "thinking" not in result.body and result.body["output_config"] == {"effort": "low"}
    one_note(result, "reasoning_effort", "approximated")
    result = translate(req("claude-opus-5-5", thinking={"type": "disabled"}))
    assert "thinking" not in result.body
    one_note(result, "thinking", "dropped")


def test_no_reasoning_on_a_model_that_thinks_unasked_disables_thinking() -> None:
    assert translate(req("claude-sonnet-5", reasoning_effort="none")).body["thinking"] == {"type": "disabled"}


# ---- what a model takes -------------------------------------------------------------------------


def test_json_schema_on_a_model_without_structured_outputs_is_asked_for_in_the_system_prompt() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    result = translate(req("claude-sonnet-4-20250514", response_format=fmt))
    assert "output_config" not in result.body
    assert '"properties": {"n": {"type": "integer"}}' in result.body["system"][-1]["text"]
    one_note(result, "response_format", "approximated")


def test_strict_tools_on_a_model_without_structured_outputs_lose_strict_with_a_note() -> None:
    result = translate(req("claude-opus-4-20250514", tools=[fn_tool(parameters={"type": "object"}, strict=True)]))
    assert "strict" not in result.body["tools"][0]
    one_note(result, "tools[0].function.strict", "dropped")


@pytest.mark.parametrize("choice", ["required", {"type": "function", "function": {"name": "get_weather"}}])
def test_a_forced_tool_choice_is_refused_where_the_model_refuses_it(choice: Any) -> None:
    refused(req("claude-sonnet-5-5", tools=[fn_tool()], tool_choice=choice), "tool_choice", "forced")
    translate(req("claude-sonnet-5-5", tools=[fn_tool()], tool_choice="auto"))


def test_a_prefill_is_refused_where_the_model_refuses_it() -> None:
    refused(req("claude-opus-4-6", HI, assistant("Sure:")), "messages[1]", "prefill")
    translate(req("claude-sonnet-4-5", HI, assistant("Sure:")))


def test_images_and_pdfs_are_refused_where_the_model_takes_none() -> None:
    table = DEFAULT_TABLE.with_overrides({"claude-text-only": {"vision": False, "pdf": False}})
    pdf = {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{PDF}"}}
    request = req("claude-text-only", user([text("look"), image("https://x.test/a.png"), pdf]))
    with pytest.raises(TranslationError) as info:
        openai_to_anthropic.request(request, models=table)
    assert [p.path for p in info.value.problems] == [
        "messages[0].content[1].type",
        "messages[0].content[2].file.file_data",
    ]


# ---- overrides (a config file's [models."pattern"] tables) --------------------------------------


def test_an_override_row_changes_only_the_cells_it_names() -> None:
    table = DEFAULT_TABLE.with_overrides({"claude-haiku-4-5*": {"max_output": 1000}})
    facts = table.lookup("claude-haiku-4-5")
    assert facts is not None and facts.max_output == 1000 and facts.sampling == "one" and facts.thinking == "budget"
    assert translate(req("claude-haiku-4-5"), models=table).body["max_tokens"] == 1000


def test_an_override_row_teaches_the_table_a_new_model() -> None:
    overrides = {"my-proxy-claude*": {"sampling": "none", "max_output": 2048}}
    body = translate(req("my-proxy-claude-1", temperature=0.5), models=overrides).body
    assert body["max_tokens"] == 2048 and "temperature" not in body


@pytest.mark.parametrize(
    ("cells", "path"),
    [
        ({"max_output": "big"}, 'models."x".max_output'),
        ({"sampling": "some"}, 'models."x".sampling'),
        ({"thinking": True}, 'models."x".thinking'),
        ({"efforts": ["huge"]}, 'models."x".efforts'),
        ({"vision": "yes"}, 'models."x".vision'),
        ({"colour": "red"}, 'models."x".colour'),
    ],
)
def test_a_malformed_override_names_the_cell(cells: dict[str, Any], path: str) -> None:
    with pytest.raises(TranslationError) as info:
        parse_row("x", cells)
    assert info.value.path == path


def test_learn_keeps_what_was_learned_before_about_the_same_model() -> None:
    table = ModelTable().learn("claude-x[1]", {"sampling": "none"}).learn("claude-x[1]", {"thinking": "adaptive"})
    facts = table.lookup("claude-x[1]")
    assert facts is not None and (facts.sampling, facts.thinking) == ("none", "adaptive")
    assert table.lookup("claude-x1") is None  # learned for that exact id only
    assert re.fullmatch(r"claude-x\[\[\]1\[\]\]", exact_pattern("claude-x[1]"))


def test_rows_are_plain_data() -> None:
    row = ModelFacts("claude-y*", max_output=10)
    assert row.merged_over(ModelFacts("base", sampling="all", max_output=99)) == ModelFacts(
        "claude-y*", max_output=10, sampling="all"
    )
