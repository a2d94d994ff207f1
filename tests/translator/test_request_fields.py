"""openai_to_anthropic.request: the request's other fields (issue 2, section 2: tools, limits, sampling, extras, errors)."""

from __future__ import annotations

from typing import Any

import pytest

from protoshift.translator import DEFAULT_MAX_TOKENS, openai_to_anthropic
from protoshift.translator.report import LOSSY_ACTIONS

from .helpers import assistant, call, fn_tool, notes_at, one_note, refused, req, text, tool, translate, user

HI = user("hi")
ACTIONS = {"mapped", "dropped", "approximated", "kept", "defaulted"}


# ---- tools -------------------------------------------------------------------------------------


def test_tools_become_name_description_input_schema() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    body = translate(req(HI, tools=[fn_tool(description="Weather for a city", parameters=schema)])).body
    assert body["tools"] == [{"name": "get_weather", "description": "Weather for a city", "input_schema": schema}]


def test_tool_without_parameters_gets_an_empty_object_schema() -> None:
    body = translate(req(HI, tools=[fn_tool("ping")])).body
    assert body["tools"] == [{"name": "ping", "input_schema": {"type": "object", "properties": {}}}]


def test_parameters_without_type_are_an_object_schema() -> None:
    body = translate(req(HI, tools=[fn_tool(parameters={"properties": {"a": {"type": "integer"}}})])).body
    assert body["tools"][0]["input_schema"] == {"type": "object", "properties": {"a": {"type": "integer"}}}


def test_non_object_parameters_are_refused() -> None:
    refused(req(HI, tools=[fn_tool(parameters={"type": "string"})]), "tools[0].function.parameters.type", "object")


def test_tool_name_anthropic_would_reject_is_refused() -> None:
    refused(req(HI, tools=[fn_tool("get weather!")]), "tools[0].function.name")


def test_cache_control_on_a_tool_is_kept() -> None:
    tool_def = {**fn_tool("ping"), "cache_control": {"type": "ephemeral", "ttl": "1h"}}
    result = translate(req(HI, tools=[tool_def]))
    assert result.body["tools"][0]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    one_note(result, "tools[0].cache_control", "kept")


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ("required", {"type": "any"}),
        ({"type": "function", "function": {"name": "get_weather"}}, {"type": "tool", "name": "get_weather"}),
    ],
)
def test_tool_choice_mapping(choice: Any, expected: dict[str, Any]) -> None:
    body = translate(req(HI, tools=[fn_tool()], tool_choice=choice)).body
    assert body["tool_choice"] == expected


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (None, {"type": "auto", "disable_parallel_tool_use": True}),
        ("required", {"type": "any", "disable_parallel_tool_use": True}),
        ("none", {"type": "none"}),  # no tool use at all: nothing to serialise
    ],
)
def test_parallel_tool_calls_false_disables_parallel_tool_use(choice: Any, expected: dict[str, Any]) -> None:
    fields: dict[str, Any] = {"tools": [fn_tool()], "parallel_tool_calls": False}
    if choice is not None:
        fields["tool_choice"] = choice
    assert translate(req(HI, **fields)).body["tool_choice"] == expected


def test_parallel_tool_calls_true_is_the_default_and_sends_nothing() -> None:
    body = translate(req(HI, tools=[fn_tool()], parallel_tool_calls=True)).body
    assert "tool_choice" not in body


def test_named_tool_choice_not_in_tools_is_refused() -> None:
    choice = {"type": "function", "function": {"name": "delete_everything"}}
    refused(req(HI, tools=[fn_tool()], tool_choice=choice), "tool_choice.function.name", "delete_everything")


def test_forcing_a_tool_without_tools_is_refused() -> None:
    refused(req(HI, tool_choice="required"), "tool_choice", "no tools")


# ---- max_tokens --------------------------------------------------------------------------------


def test_max_completion_tokens_takes_precedence_over_max_tokens() -> None:
    result = translate(req(HI, max_tokens=100, max_completion_tokens=300))
    assert result.body["max_tokens"] == 300
    one_note(result, "max_tokens", "dropped")


def test_max_tokens_alone_is_used() -> None:
    result = translate(req(HI, max_tokens=100))
    assert result.body["max_tokens"] == 100
    assert not notes_at(result, "max_tokens")


def test_missing_limit_uses_the_configurable_default_with_a_note() -> None:
    assert translate(req(HI)).body["max_tokens"] == DEFAULT_MAX_TOKENS
    result = translate(req(HI), default_max_tokens=1234)
    assert result.body["max_tokens"] == 1234
    one_note(result, "max_tokens", "defaulted")


@pytest.mark.parametrize("value", [0, -5, "100", 1.5, True])
def test_invalid_max_tokens_is_refused(value: Any) -> None:
    refused(req(HI, max_tokens=value), "max_tokens")


# ---- stop, sampling, user, stream --------------------------------------------------------------


def test_stop_string_becomes_stop_sequences() -> None:
    assert translate(req(HI, stop="END")).body["stop_sequences"] == ["END"]


def test_stop_list_drops_whitespace_only_entries_with_a_note() -> None:
    result = translate(req(HI, stop=["###", " ", "\n", "STOP"]))
    assert result.body["stop_sequences"] == ["###", "STOP"]
    one_note(result, "stop[1]", "dropped")
    one_note(result, "stop[2]", "dropped")


def test_stop_with_only_whitespace_sends_no_stop_sequences() -> None:
    result = translate(req(HI, stop="\n\n"))
    assert "stop_sequences" not in result.body
    one_note(result, "stop", "dropped")


@pytest.mark.parametrize(("value", "sent"), [(0, 0), (0.4, 0.4), (1, 1)])
def test_temperature_in_anthropic_range_is_sent_as_is(value: float, sent: float) -> None:
    result = translate(req(HI, temperature=value))
    assert result.body["temperature"] == sent
    assert not notes_at(result, "temperature")


def test_temperature_above_one_is_clamped_with_a_note() -> None:
    result = translate(req(HI, temperature=1.7))
    assert result.body["temperature"] == 1
    assert "1.7" in one_note(result, "temperature", "approximated").reason


@pytest.mark.parametrize("value", [2.5, -0.1, "warm", float("nan")])
def test_temperature_outside_openai_range_is_refused(value: Any) -> None:
    refused(req(HI, temperature=value), "temperature")


def test_top_p_is_sent() -> None:
    assert translate(req(HI, top_p=0.9)).body["top_p"] == 0.9
    refused(req(HI, top_p=1.5), "top_p")


def test_user_becomes_metadata_user_id() -> None:
    body = translate(req(HI, user="user-42")).body
    assert body["metadata"] == {"user_id": "user-42"}


def test_stream_with_include_usage_is_consumed_not_forwarded() -> None:
    result = translate(req(HI, stream=True, stream_options={"include_usage": True}))
    assert result.body["stream"] is True
    assert result.stream and result.include_usage
    assert "stream_options" not in result.body


def test_no_stream_sends_no_stream_flag() -> None:
    result = translate(req(HI, stream=False))
    assert "stream" not in result.body
    assert not result.stream and not result.include_usage


# ---- reasoning and thinking --------------------------------------------------------------------


@pytest.mark.parametrize("effort", ["minimal", "low", "medium", "high"])
@pytest.mark.parametrize("max_tokens", [None, 1024, 4000, 50_000])
def test_reasoning_effort_gives_a_thinking_budget_below_max_tokens(effort: str, max_tokens: int | None) -> None:
    fields: dict[str, Any] = {"reasoning_effort": effort}
    if max_tokens is not None:
        fields["max_tokens"] = max_tokens
    result = translate(req(HI, **fields))
    thinking = result.body["thinking"]
    assert thinking["type"] == "enabled"
    assert 1024 <= thinking["budget_tokens"] < result.body["max_tokens"]
    if max_tokens is not None and result.body["max_tokens"] != max_tokens:
        # raised, and said so; and the caller keeps at least the answer room they asked for
        one_note(result, "max_tokens", "approximated")
        assert result.body["max_tokens"] - thinking["budget_tokens"] >= max_tokens
    if max_tokens == 50_000:
        assert result.body["max_tokens"] == 50_000


def test_more_effort_never_means_a_smaller_budget() -> None:
    budgets = [
        translate(req(HI, reasoning_effort=e, max_tokens=64_000)).body["thinking"]["budget_tokens"]
        for e in ("minimal", "low", "medium", "high")
    ]
    assert budgets == sorted(budgets)


def test_reasoning_effort_none_sends_no_thinking() -> None:
    assert "thinking" not in translate(req(HI, reasoning_effort="none")).body


def test_unknown_reasoning_effort_is_refused() -> None:
    refused(req(HI, reasoning_effort="extreme"), "reasoning_effort", "extreme")


@pytest.mark.parametrize("choice", ["required", {"type": "function", "function": {"name": "get_weather"}}])
def test_thinking_cannot_be_combined_with_a_forced_tool_call(choice: Any) -> None:
    refused(req(HI, tools=[fn_tool()], tool_choice=choice, reasoning_effort="low"), "tool_choice", "reasoning")


def test_thinking_with_auto_tool_choice_is_fine() -> None:
    body = translate(req(HI, tools=[fn_tool()], tool_choice="auto", reasoning_effort="low")).body
    assert body["tool_choice"] == {"type": "auto"} and body["thinking"]["type"] == "enabled"


def test_temperature_is_dropped_with_thinking() -> None:
    result = translate(req(HI, temperature=0.2, reasoning_effort="low"))
    assert "temperature" not in result.body
    one_note(result, "temperature", "dropped")


def test_anthropic_thinking_passed_on_purpose_is_kept() -> None:
    thinking = {"type": "enabled", "budget_tokens": 2000}
    result = translate(req(HI, max_tokens=8000, thinking=thinking))
    assert result.body["thinking"] == thinking
    assert result.body["max_tokens"] == 8000
    one_note(result, "thinking", "kept")


# ---- response_format ---------------------------------------------------------------------------


def test_json_schema_becomes_output_config_format() -> None:
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer"}},
        "required": ["n"],
        "additionalProperties": False,
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": True}}
    body = translate(req(HI, response_format=fmt)).body
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": schema}}


def test_json_object_adds_an_instruction_to_system_with_a_note() -> None:
    result = translate(req(user("list three colours"), response_format={"type": "json_object"}))
    system = result.body["system"]
    assert len(system) == 1 and "JSON" in system[0]["text"]
    one_note(result, "response_format", "approximated")


def test_json_object_instruction_comes_after_the_callers_system_prompt() -> None:
    request = req({"role": "system", "content": "You are terse."}, HI, response_format={"type": "json_object"})
    system = translate(request).body["system"]
    assert system[0] == {"type": "text", "text": "You are terse."}
    assert "JSON" in system[1]["text"]


@pytest.mark.parametrize(
    "fmt",
    [
        {"type": "json_object"},
        {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
    ],
)
def test_response_format_is_never_silently_dropped(fmt: dict[str, Any]) -> None:
    plain = translate(req(HI)).body
    result = translate(req(HI, response_format=fmt))
    assert result.body != plain or notes_at(result, "response_format")


def test_unknown_response_format_is_refused() -> None:
    refused(req(HI, response_format={"type": "yaml"}), "response_format.type")
    refused(
        req(HI, response_format={"type": "json_schema", "json_schema": {"name": "x"}}),
        "response_format.json_schema.schema",
    )


# ---- dropped, refused, strict ------------------------------------------------------------------

DROPPED = {
    "seed": 42,
    "presence_penalty": 0.5,
    "frequency_penalty": -0.5,
    "logit_bias": {"50256": -100},
    "store": True,
    "metadata": {"project": "demo"},
    "service_tier": "flex",
    "prediction": {"type": "content", "content": "old text"},
}


@pytest.mark.parametrize(("field", "value"), DROPPED.items(), ids=DROPPED)
def test_field_without_equivalent_is_dropped_with_a_note(field: str, value: Any) -> None:
    result = translate(req(HI, **{field: value}))
    one_note(result, field, "dropped")
    assert field not in result.body or field == "metadata"
    assert "metadata" not in result.body  # OpenAI's metadata is not Anthropic's metadata


@pytest.mark.parametrize(("field", "value"), DROPPED.items(), ids=DROPPED)
def test_strict_refuses_every_dropped_field(field: str, value: Any) -> None:
    refused(req(HI, **{field: value}), field, "strict", strict=True)


REFUSED = {
    "n": (3, "n"),
    "logprobs": (True, "logprobs"),
    "top_logprobs": (5, "top_logprobs"),
    "audio": ({"voice": "alloy", "format": "mp3"}, "audio"),
    "modalities": (["text", "audio"], "modalities[1]"),
}


@pytest.mark.parametrize(("field", "case"), REFUSED.items(), ids=REFUSED)
def test_field_whose_loss_changes_the_answer_is_refused(field: str, case: tuple[Any, str]) -> None:
    value, path = case
    refused(req(HI, **{field: value}), path)


@pytest.mark.parametrize(
    ("field", "value"), [("n", 1), ("logprobs", False), ("top_logprobs", 0), ("modalities", ["text"])]
)
def test_harmless_values_of_those_fields_are_accepted(field: str, value: Any) -> None:
    translate(req(HI, **{field: value}), strict=True)


@pytest.mark.parametrize(
    ("request_", "path"),
    [
        (req(HI, temperature=1.5), "temperature"),
        (req(HI, stop=["ok", "  "]), "stop[1]"),
        (req(HI, response_format={"type": "json_object"}), "response_format"),
        (req(user("hi"), assistant("prefill ")), "messages[1].content"),
        (req(HI, reasoning_effort="high", max_tokens=1000), "max_tokens"),
        (req(user("hi", name="bob")), "messages[0].name"),
        (req(HI, unknown_field=1), "unknown_field"),
    ],
)
def test_strict_turns_each_dropped_or_approximated_note_into_an_error(request_: dict[str, Any], path: str) -> None:
    lenient = translate(request_)
    assert any(n.path == path and n.action in LOSSY_ACTIONS for n in lenient.notes)
    refused(request_, path, "strict", strict=True)


def test_strict_accepts_kept_and_defaulted_notes() -> None:
    request = req(user([text("hi", cache_control={"type": "ephemeral"})]), top_k=40)
    result = translate(request, strict=True)
    assert {n.action for n in result.notes} == {"kept", "defaulted"}
    assert result.body["top_k"] == 40


# ---- Anthropic extras --------------------------------------------------------------------------


def test_cache_control_on_parts_is_kept() -> None:
    cc = {"type": "ephemeral", "ttl": "5m"}
    request = req(
        user(
            [
                text("big document", cache_control=cc),
                {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}, "cache_control": cc},
            ]
        ),
        assistant(None, tool_calls=[call("c1")]),
        tool("c1", [text("result", cache_control=cc)]),
    )
    body = translate(request).body
    assert body["messages"][0]["content"][0]["cache_control"] == cc
    assert body["messages"][0]["content"][1]["cache_control"] == cc
    assert body["messages"][2]["content"][0]["content"][0]["cache_control"] == cc


def test_bad_cache_control_is_refused() -> None:
    refused(req(user([text("x", cache_control={"type": "forever"})])), "messages[0].content[0].cache_control.type")


def test_top_k_is_kept_and_dropped_with_thinking() -> None:
    assert translate(req(HI, top_k=20)).body["top_k"] == 20
    result = translate(req(HI, top_k=20, reasoning_effort="low"))
    assert "top_k" not in result.body
    one_note(result, "top_k", "dropped")


# ---- invalid input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "path", "reason"),
    [
        ([], "$", "object"),
        ("hello", "$", "object"),
        (None, "$", "object"),
        ({"messages": [HI]}, "model", "required"),
        ({"model": "", "messages": [HI]}, "model", "empty"),
        ({"model": 7, "messages": [HI]}, "model", "string"),
        ({"model": "m"}, "messages", "required"),
        ({"model": "m", "messages": []}, "messages", "at least one"),
        ({"model": "m", "messages": {"role": "user"}}, "messages", "array"),
        ({"model": "m", "messages": ["hi"]}, "messages[0]", "object"),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role", "robot"),
        ({"model": "m", "messages": [{"content": "x"}]}, "messages[0].role", "required"),
        ({"model": "m", "messages": [{"role": "user", "content": 5}]}, "messages[0].content", "array"),
        ({"model": "m", "messages": [{"role": "user"}]}, "messages[0].content", "required"),
        (
            {"model": "m", "messages": [{"role": "user", "content": [{"text": "x"}]}]},
            "messages[0].content[0].type",
            "required",
        ),
        ({"model": "m", "messages": [{"role": "user", "content": [text(3)]}]}, "messages[0].content[0].text", "string"),  # type: ignore[arg-type]
        ({"model": "m", "messages": [{"role": "system", "content": "only rules"}]}, "messages", "user or assistant"),
        (req(HI, tools={"name": "x"}), "tools", "array"),
        (req(HI, tools=[{"type": "function"}]), "tools[0].function", "object"),
        (req(HI, stream="yes"), "stream", "true or false"),
        (req(HI, stop=5), "stop", "array"),
        (req(HI, stop=["a", 5]), "stop[1]", "string"),
        (req(HI, user=5), "user", "string"),
        (req(HI, tool_choice=5, tools=[fn_tool()]), "tool_choice", ""),
    ],
)
def test_invalid_input_names_the_path_and_the_reason(request_: Any, path: str, reason: str) -> None:
    refused(request_, path, reason)


# ---- explain -----------------------------------------------------------------------------------


def test_explain_gives_every_top_level_field_an_action() -> None:
    request = req(
        {"role": "system", "content": "rules"},
        user([{"type": "image_url", "image_url": {"url": "https://x.test/a.png", "detail": "low"}}]),
        max_tokens=500,
        temperature=1.5,
        top_p=0.5,
        stop=["x", " "],
        user="u1",
        stream=True,
        stream_options={"include_usage": True},
        tools=[fn_tool()],
        tool_choice="auto",
        parallel_tool_calls=False,
        response_format={"type": "json_object"},
        seed=1,
        logit_bias={},
        store=False,
        n=1,
        top_k=5,
        brand_new_option=True,
    )
    result = translate(request)
    rows = result.explain(request)
    assert all(row.action in ACTIONS and row.reason for row in rows)
    by_path = {row.path: row.action for row in rows}
    for key in request:
        assert key in by_path, f"{key} missing from explain()"
    assert by_path["seed"] == "dropped" and by_path["brand_new_option"] == "dropped"
    assert by_path["temperature"] == "approximated"
    assert by_path["top_k"] == "kept"
    assert by_path["model"] == "mapped"
    # nested notes appear too, after their field's own row
    paths = [row.path for row in rows]
    assert paths.index("messages") < paths.index("messages[1].content[0].image_url.detail")
    assert "stop[1]" in paths
    # every note of the translation is in the table
    assert set(result.notes) <= set(rows)


def test_notes_are_only_about_fields_that_changed() -> None:
    """A plain request that maps one to one has nothing to report (besides the default limit)."""
    result = translate(req(user("hi"), max_tokens=10, temperature=0.5, user="u", stop="x"))
    assert result.notes == []


def test_request_does_not_change_the_callers_request() -> None:
    import copy

    request = req(
        {"role": "system", "content": "s"},
        user([text("hi  ")]),
        assistant("prefill   "),
        tools=[fn_tool(parameters={"properties": {}})],
        response_format={"type": "json_object"},
    )
    before = copy.deepcopy(request)
    openai_to_anthropic.request(request)
    assert request == before


@pytest.mark.parametrize(
    ("thinking", "path"),
    [
        ({"type": "disabled", "budget_tokens": 2048}, "thinking.budget_tokens"),
        ({"type": "enabled", "budget_tokens": 2048, "effort": "high"}, "thinking.effort"),
        ({"type": "adaptive", "display": "loud"}, "thinking.display"),
        ({"type": "enabled", "budget_tokens": 100}, "thinking.budget_tokens"),
        ({"type": "sometimes"}, "thinking.type"),
    ],
)
def test_anthropic_thinking_the_api_would_reject_is_refused_here(thinking: dict[str, Any], path: str) -> None:
    refused(req(HI, thinking=thinking), path)


@pytest.mark.parametrize("where", ["top", "part", "tool"])
def test_cache_control_with_unknown_fields_is_refused_here(where: str) -> None:
    cc = {"type": "ephemeral", "scope": "global"}
    if where == "top":
        refused(req(HI, cache_control=cc), "cache_control.scope")
    elif where == "part":
        refused(req(user([text("x", cache_control=cc)])), "messages[0].content[0].cache_control.scope")
    else:
        refused(req(HI, tools=[{**fn_tool(), "cache_control": cc}]), "tools[0].cache_control.scope")


def test_adaptive_thinking_is_kept_and_drops_temperature() -> None:
    request = req(HI, temperature=0.3, thinking={"type": "adaptive", "display": "summarized"})
    result = translate({**request, "model": "claude-sonnet-4-6"})  # a model that thinks adaptively
    assert result.body["thinking"] == {"type": "adaptive", "display": "summarized"}
    assert "temperature" not in result.body


def test_tool_history_without_tools_declares_the_tools_used_and_forbids_new_calls() -> None:
    """Anthropic needs tools defined for tool blocks; the caller offered none, so none may be called."""
    request = req(
        user("Weather?"),
        assistant(None, tool_calls=[call("c1", "get_weather", '{"city": "Oslo"}'), call("c2", "get_time", "{}")]),
        tool("c1", "4°C"),
        tool("c2", "noon"),
        user("Thanks, and now a poem."),
    )
    result = translate(request)
    assert result.body["tools"] == [
        {"name": "get_weather", "input_schema": {"type": "object"}},
        {"name": "get_time", "input_schema": {"type": "object"}},
    ]
    assert result.body["tool_choice"] == {"type": "none"}
    assert "get_weather, get_time" in one_note(result, "tools", "defaulted").reason
    translate(request, strict=True)  # nothing the caller asked for is lost


def test_no_tools_declared_when_the_history_has_no_tool_calls() -> None:
    result = translate(req(user("hi")))
    assert "tools" not in result.body and "tool_choice" not in result.body


# ---- user, stream_options, new OpenAI fields (issue 10) -----------------------------------------


@pytest.mark.parametrize("user_id", ["user-42", "a1b2c3d4-uuid-like", "12345", "sha256:0123abcd"])
def test_an_opaque_user_id_is_sent_as_it_is(user_id: str) -> None:
    result = translate(req(HI, user=user_id))
    assert result.body["metadata"] == {"user_id": user_id}
    assert not notes_at(result, "user")


@pytest.mark.parametrize(
    "user_id", ["jane.doe@example.com", "+1 (555) 123-4567", "+447700900123", "5551234567", "Jane Doe", "x" * 300]
)
def test_a_user_that_looks_like_personal_data_is_sent_as_a_stable_hash(user_id: str) -> None:
    import hashlib

    result = translate(req(HI, user=user_id))
    sent = result.body["metadata"]["user_id"]
    assert sent == "sha256:" + hashlib.sha256(user_id.encode()).hexdigest()[:32]
    assert user_id not in str(result.body) and user_id not in str(result.notes)  # never echoed
    assert sent in one_note(result, "user", "approximated").reason
    assert translate(req(HI, user=user_id)).body["metadata"]["user_id"] == sent  # stable


def test_safety_identifier_gets_the_same_treatment() -> None:
    result = translate(req(HI, safety_identifier="ops@example.org"))
    assert result.body["metadata"]["user_id"].startswith("sha256:")
    one_note(result, "safety_identifier", "approximated")


@pytest.mark.parametrize("stream", [None, False])
def test_stream_options_without_stream_true_are_refused_as_openai_refuses_them(stream: bool | None) -> None:
    fields: dict[str, Any] = {"stream_options": {"include_usage": True}}
    if stream is not None:
        fields["stream"] = stream
    refused(req(HI, **fields), "stream_options", "stream")


def test_stream_options_keys_are_read() -> None:
    result = translate(
        req(HI, stream=True, stream_options={"include_usage": True, "include_obfuscation": True, "x": 1})
    )
    assert result.include_usage
    one_note(result, "stream_options.include_obfuscation", "dropped")
    one_note(result, "stream_options.x", "dropped")


def test_moderation_is_refused_and_prompt_cache_options_dropped_with_a_note() -> None:
    refused(req(HI, moderation={"model": "omni-moderation-latest"}), "moderation", "moderat")
    one_note(translate(req(HI, prompt_cache_options={"mode": "explicit"})), "prompt_cache_options", "dropped")


def test_an_assistant_refusal_is_sent_back_as_text_and_old_annotations_are_noted() -> None:
    """What openai-python's `message.model_dump()` gives when a client hands an answer back."""
    answer = {
        "role": "assistant",
        "content": None,
        "refusal": "I can't help with that.",
        "annotations": [
            {
                "type": "url_citation",
                "url_citation": {"url": "https://x", "title": "x", "start_index": 0, "end_index": 1},
            }
        ],
        "audio": None,
        "function_call": None,
        "tool_calls": None,
    }
    result = translate(req(HI, answer, user("why not?")))
    assert result.body["messages"][1]["content"] == [{"type": "text", "text": "I can't help with that."}]
    one_note(result, "messages[1].refusal", "approximated")
    one_note(result, "messages[1].annotations", "dropped")


def test_reasoning_effort_max_is_known() -> None:
    request = {**req(HI, reasoning_effort="max", max_tokens=100_000), "model": "claude-future-1"}  # not in the table
    assert translate(request).body["thinking"]["budget_tokens"] == 65536
