"""anthropic_to_openai.request: Anthropic Messages requests -> OpenAI Chat Completions bodies (issue 14).

Every body is checked against `openai.types.chat.CompletionCreateParams` (tests.oracles.assert_openai_body)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from protoshift.translator import DEFAULT_TABLE, Note, OpenAIRequestTranslation, TranslationError, anthropic_to_openai
from protoshift.translator.report import LOSSY_ACTIONS
from tests.oracles import assert_openai_body, validate_message_create_params

MODEL = "qwen3:8b"  # a model the table does not know: the request is sent as asked
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
PDF = base64.b64encode(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF").decode()
WEATHER = {
    "name": "get_weather",
    "description": "Weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def areq(*messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 1024, "messages": list(messages), **fields}


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(content: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


def tool_use(call_id: str, name: str = "get_weather", args: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": name, "input": {"city": "Paris"} if args is None else args}


def result(call_id: str, content: Any = "sunny", **extra: Any) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": call_id, "content": content, **extra}


def translate(request: dict[str, Any], **kwargs: Any) -> OpenAIRequestTranslation:
    validate_message_create_params(request)  # the inputs are real Anthropic requests
    translation = anthropic_to_openai.request(request, **kwargs)
    assert_openai_body(translation.body)
    return translation


def problems(request: dict[str, Any], **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(TranslationError) as info:
        anthropic_to_openai.request(request, **kwargs)
    return [(p.path, p.reason) for p in info.value.problems]


def notes(translation: OpenAIRequestTranslation, path: str) -> list[Note]:
    return [note for note in translation.notes if note.path == path]


# ---- the envelope ---------------------------------------------------------------------------------


def test_a_plain_request_maps_one_to_one_and_says_nothing() -> None:
    t = translate(
        areq(
            user("Capital of France?"),
            system="Be brief.",
            temperature=0.2,
            top_p=0.9,
            stop_sequences=["\n\nHuman:", "END"],
            metadata={"user_id": "u-123"},
        )
    )
    assert t.body == {
        "model": MODEL,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}],
        "max_tokens": 1024,
        "temperature": 0.2,
        "top_p": 0.9,
        "stop": ["\n\nHuman:", "END"],
        "user": "u-123",
    }
    assert t.notes == []
    assert not t.include_usage and t.betas == []


def test_system_blocks_become_one_system_message_with_their_parts_and_cache_control_is_noted() -> None:
    t = translate(
        areq(
            user("hi"),
            system=[
                {"type": "text", "text": "You are Claude Code."},
                {"type": "text", "text": "Project notes...", "cache_control": {"type": "ephemeral"}},
            ],
        )
    )
    assert t.body["messages"][0] == {
        "role": "system",
        "content": [{"type": "text", "text": "You are Claude Code."}, {"type": "text", "text": "Project notes..."}],
    }
    [note] = notes(t, "system[1].cache_control")
    assert note.action == "dropped"


def test_stream_asks_for_usage_so_the_anthropic_stream_can_carry_it() -> None:
    t = translate(areq(user("hi"), stream=True))
    assert t.body["stream"] is True and t.body["stream_options"] == {"include_usage": True}
    assert t.include_usage


def test_max_tokens_is_required_as_anthropic_requires_it_unless_a_default_is_given() -> None:
    request = areq(user("hi"))
    del request["max_tokens"]
    assert problems(request) == [("max_tokens", "is required")]
    t = anthropic_to_openai.request(request, default_max_tokens=4096)
    assert t.body["max_tokens"] == 4096 and notes(t, "max_tokens")[0].action == "defaulted"


def test_max_tokens_is_lowered_to_the_target_models_limit_with_a_note() -> None:
    t = translate({**areq(user("hi")), "model": "gpt-4.1-mini", "max_tokens": 64000})
    assert t.body["max_tokens"] == 32768
    [note] = notes(t, "max_tokens")
    assert note.action == "approximated" and "64000" in note.reason and "32768" in note.reason


def test_a_config_row_sets_the_limit_through_the_same_table() -> None:
    models = DEFAULT_TABLE.with_overrides({"gpt-4.1*": {"max_output": 1000}, "llama*": {"max_output": 2048}})
    assert translate({**areq(user("hi")), "model": "gpt-4.1"}, models=models).body["max_tokens"] == 1000
    assert translate({**areq(user("hi")), "model": "llama3.2"}, models=models).body["max_tokens"] == 1024
    plain = {"llama*": {"max_output": 512}}  # rows as plain data work too
    assert translate({**areq(user("hi")), "model": "llama3.2"}, models=plain).body["max_tokens"] == 512


def test_openai_reasoning_models_get_max_completion_tokens_and_no_sampling() -> None:
    t = translate({**areq(user("hi")), "model": "o4-mini", "temperature": 0.5, "top_p": 1})
    assert "max_tokens" not in t.body and t.body["max_completion_tokens"] == 1024
    assert "temperature" not in t.body and "top_p" not in t.body
    assert notes(t, "temperature")[0].action == "dropped"
    assert notes(t, "top_p")[0].action == "defaulted"  # 1 is the default: nothing is lost


def test_top_k_and_anthropic_only_fields_are_dropped_with_a_note_and_unknown_ones_too() -> None:
    request = {**areq(user("hi")), "top_k": 40, "service_tier": "auto", "context_management": {"edits": []}}
    t = anthropic_to_openai.request(request)
    assert_openai_body(t.body)
    assert {(n.path, n.action) for n in t.notes} == {
        ("top_k", "dropped"),
        ("service_tier", "dropped"),
        ("context_management", "dropped"),
    }
    t = anthropic_to_openai.request({**areq(user("hi")), "frobnicate": 1})
    assert [(n.path, n.action, n.reason) for n in t.notes] == [("frobnicate", "dropped", "unknown field, not sent")]


def test_mcp_servers_are_refused_their_loss_would_change_the_answer() -> None:
    assert problems({**areq(user("hi")), "mcp_servers": [{"type": "url", "url": "https://x", "name": "x"}]})[0][0] == (
        "mcp_servers"
    )


# ---- messages ----------------------------------------------------------------------------------------


def test_images_base64_and_url_become_image_url_parts() -> None:
    t = translate(
        areq(
            user(
                [
                    {"type": "text", "text": "What is in these?"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
                ]
            )
        )
    )
    assert t.body["messages"][0]["content"] == [
        {"type": "text", "text": "What is in these?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
    ]


def test_a_pdf_document_becomes_a_file_part_and_a_text_document_text() -> None:
    t = translate(
        areq(
            user(
                [
                    {
                        "type": "document",
                        "title": "report.pdf",
                        "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
                    },
                    {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": PDF}},
                    {
                        "type": "document",
                        "title": "notes",
                        "source": {"type": "text", "media_type": "text/plain", "data": "Line one."},
                    },
                ]
            )
        )
    )
    assert t.body["messages"][0]["content"] == [
        {"type": "file", "file": {"filename": "report.pdf", "file_data": f"data:application/pdf;base64,{PDF}"}},
        {"type": "file", "file": {"filename": "document.pdf", "file_data": f"data:application/pdf;base64,{PDF}"}},
        {"type": "text", "text": "Line one."},
    ]
    [note] = notes(t, "messages[0].content[2]")
    assert note.action == "approximated" and "title" in note.reason


def test_a_pdf_by_url_is_refused_with_its_path() -> None:
    request = areq(user([{"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}}]))
    [(path, reason)] = problems(request)
    assert path == "messages[0].content[0].source.type" and "base64" in reason


def test_images_for_a_model_without_vision_are_refused() -> None:
    request = areq(user([{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}]))
    [(path, reason)] = problems(request, models={MODEL: {"vision": False}})
    assert path == "messages[0].content[0].type" and "does not take images" in reason


def test_tool_use_and_results_become_tool_calls_and_tool_messages_in_order() -> None:
    t = translate(
        areq(
            user("Weather in Paris and Rome?"),
            assistant(
                [
                    {"type": "text", "text": "Checking both."},
                    tool_use("toolu_1"),
                    tool_use("toolu_2", args={"city": "Rome"}),
                ]
            ),
            user(
                [
                    result("toolu_1", "sunny"),
                    result("toolu_2", [{"type": "text", "text": "rain"}]),
                    {"type": "text", "text": "And tomorrow?"},
                ]
            ),
            tools=[WEATHER],
        )
    )
    assert t.body["messages"][1:] == [
        {
            "role": "assistant",
            "content": "Checking both.",
            "tool_calls": [
                {
                    "id": "toolu_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                },
                {
                    "id": "toolu_2",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": "rain"},
        {"role": "user", "content": "And tomorrow?"},
    ]
    assert t.body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather in a city",
                "parameters": WEATHER["input_schema"],
            },
        }
    ]
    assert t.notes == []


def test_an_assistant_turn_of_tool_calls_only_has_null_content() -> None:
    t = translate(areq(user("go"), assistant([tool_use("t1")]), user([result("t1")]), tools=[WEATHER]))
    assert t.body["messages"][1]["content"] is None


def test_is_error_keeps_the_content_with_a_note() -> None:
    t = translate(
        areq(
            user("go"),
            assistant([tool_use("t1")]),
            user([result("t1", "city not found", is_error=True)]),
            tools=[WEATHER],
        )
    )
    assert t.body["messages"][2] == {"role": "tool", "tool_call_id": "t1", "content": "city not found"}
    [note] = notes(t, "messages[2].content[0].is_error")
    assert note.action == "approximated"


def test_images_in_a_tool_result_move_to_a_user_message_after_the_tool_messages() -> None:
    screenshot = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
    t = translate(
        areq(
            user("Screenshot?"),
            assistant([tool_use("t1", "screenshot", {}), tool_use("t2", "screenshot", {})]),
            user(
                [
                    result("t1", [{"type": "text", "text": "here"}, screenshot]),
                    result("t2", "none"),
                    {"type": "text", "text": "Describe it."},
                ]
            ),
            tools=[{"name": "screenshot", "input_schema": {"type": "object"}}],
        )
    )
    assert t.body["messages"][2:] == [
        {"role": "tool", "tool_call_id": "t1", "content": "here"},
        {"role": "tool", "tool_call_id": "t2", "content": "none"},
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                {"type": "text", "text": "Describe it."},
            ],
        },
    ]
    [note] = notes(t, "messages[2].content[0].content")
    assert note.action == "approximated" and "user message" in note.reason


def test_thinking_goes_to_reasoning_content_and_redacted_thinking_is_dropped() -> None:
    t = translate(
        areq(
            user("2+2?"),
            assistant(
                [
                    {"type": "thinking", "thinking": "Simple sum.", "signature": "sig=="},
                    {"type": "redacted_thinking", "data": "opaque"},
                    {"type": "text", "text": "4"},
                ]
            ),
            user("and 3+3?"),
        )
    )
    assert t.body["messages"][1] == {"role": "assistant", "content": "4", "reasoning_content": "Simple sum."}
    assert notes(t, "messages[1].content[0]")[0].action == "approximated"
    assert notes(t, "messages[1].content[1]")[0].action == "dropped"


def test_a_final_assistant_turn_is_kept_with_a_note_that_it_is_no_prefill_there() -> None:
    t = translate(areq(user("Say hi"), assistant("Hello")))
    assert t.body["messages"][-1] == {"role": "assistant", "content": "Hello"}
    assert notes(t, "messages[1]")[0].action == "approximated"


def test_every_problem_at_once_with_json_paths_in_request_order() -> None:
    request = {
        "model": MODEL,
        "max_tokens": 0,
        "messages": [
            {"role": "robot", "content": "hi"},
            user([{"type": "image", "source": {"type": "file", "file_id": "file_1"}}]),
            assistant([tool_use("t1")]),
            user("no result"),
        ],
        "tools": [{"name": "t", "input_schema": "not a schema"}],
        "tool_choice": {"type": "tool", "name": "missing"},
        "temperature": 3,
    }
    found = problems(request)
    assert [path for path, _ in found] == [
        "max_tokens",
        "messages[0].role",
        "messages[1].content[0].source.type",
        "messages[2].content[0]",
        "tools[0].input_schema",
        "tool_choice",
        "temperature",
    ]


def test_a_tool_result_for_an_unknown_call_is_refused() -> None:
    found = problems(areq(user("hi"), assistant("ok"), user([result("nope")])))
    assert found == [
        ("messages[2].content[0].tool_use_id", "no tool_use block of the assistant turn before has this id")
    ]


def test_strict_refuses_whatever_would_be_dropped_or_approximated() -> None:
    request = areq(user("hi"), top_k=5)
    assert translate(request).notes
    [(path, reason)] = problems(request, strict=True)
    assert path == "top_k" and "strict" in reason


def test_explain_uses_the_other_directions_table() -> None:
    request = areq(user("hi"), stop_sequences=["x"], top_k=3)
    rows = translate(request).explain(request)
    assert [(r.path, r.action) for r in rows] == [
        ("model", "mapped"),
        ("max_tokens", "mapped"),
        ("messages", "mapped"),
        ("stop_sequences", "mapped"),
        ("top_k", "dropped"),
    ]
    assert rows[3].reason == "-> stop"


# ---- tools and choices ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, "auto"),
        ({"type": "any"}, "required"),
        ({"type": "none"}, "none"),
        ({"type": "tool", "name": "get_weather"}, {"type": "function", "function": {"name": "get_weather"}}),
    ],
)
def test_tool_choice(choice: dict[str, Any], expected: Any) -> None:
    t = translate(areq(user("hi"), tools=[WEATHER], tool_choice=choice))
    assert t.body["tool_choice"] == expected
    assert "parallel_tool_calls" not in t.body


def test_disable_parallel_tool_use_is_parallel_tool_calls_false() -> None:
    t = translate(areq(user("hi"), tools=[WEATHER], tool_choice={"type": "auto", "disable_parallel_tool_use": True}))
    assert t.body["tool_choice"] == "auto" and t.body["parallel_tool_calls"] is False


def test_anthropics_own_tools_are_never_a_400_of_ours_and_strict_custom_tools_stay_strict() -> None:
    """Claude Code sends Anthropic's web search and fetch on every turn: a 400 here would fail them all.
    The client-run ones (bash, the text editor, memory) become functions of their documented schema;
    web search and fetch become functions whose calls the answer gives as the tool's failure; the ones
    that need Anthropic's side are dropped, said."""
    t = translate(
        areq(
            user("hi"),
            tools=[
                WEATHER,
                {"type": "web_search_20250305", "name": "web_search", "max_uses": 5},
                {"type": "web_fetch_20250910", "name": "web_fetch"},
                {"type": "code_execution_20250825", "name": "code_execution"},
                {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"},
                {"type": "bash_20250124", "name": "bash"},
                {"type": "tool_search_tool_regex_20251119", "name": "tool_search_tool_regex"},
            ],
        )
    )
    offered = {tool["function"]["name"]: tool["function"] for tool in t.body["tools"]}
    assert list(offered) == ["get_weather", "web_search", "web_fetch", "str_replace_based_edit_tool", "bash"]
    assert offered["web_search"]["parameters"]["required"] == ["query"]
    assert offered["str_replace_based_edit_tool"]["parameters"]["properties"]["command"]["enum"][:4] == [
        "view", "create", "str_replace", "insert",
    ]  # fmt: skip
    assert offered["bash"]["parameters"]["required"] == ["command"]
    assert t.answered_here == {"web_search": "web_search", "web_fetch": "web_fetch"}
    assert [notes(t, f"tools[{k}]")[0].action for k in range(1, 7)] == [
        "approximated", "approximated", "dropped", "approximated", "approximated", "dropped",
    ]  # fmt: skip
    with pytest.raises(TranslationError):  # what --strict is for
        translate(areq(user("hi"), tools=[{"type": "bash_20250124", "name": "bash"}]), strict=True)
    t = translate(areq(user("hi"), tools=[{**WEATHER, "strict": True, "cache_control": {"type": "ephemeral"}}]))
    assert t.body["tools"][0]["function"]["strict"] is True
    assert notes(t, "tools[0].cache_control")[0].action == "dropped"


def test_a_server_tools_blocks_from_an_earlier_turn_go_as_text() -> None:
    """A conversation that began on Claude (which ran a search) goes on on a chat model: what the search
    did is said in the assistant's turn, not refused."""
    searched = [
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "tide times"}},
        {
            "type": "web_search_tool_result",
            "tool_use_id": "srvtoolu_1",
            "content": [{"type": "web_search_result", "title": "Tides", "url": "https://tides.example", "encrypted_content": "x"}],
        },
        {"type": "text", "text": "High tide is at noon."},
    ]  # fmt: skip
    t = translate(areq(user("When is high tide?"), {"role": "assistant", "content": searched}, user("Thanks")))
    said = t.body["messages"][1]["content"]
    assert '[web_search {"query":"tide times"}]' in said and "Tides https://tides.example" in said
    assert said.endswith("High tide is at noon.")
    assert notes(t, "messages[1].content[0]")[0].action == "approximated"


# ---- reasoning and structured output ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("budget", "effort"), [(1024, "low"), (4000, "low"), (5000, "medium"), (10000, "medium"), (31999, "high")]
)
def test_a_thinking_budget_becomes_the_nearest_reasoning_effort(budget: int, effort: str) -> None:
    t = translate(areq(user("hi"), max_tokens=40000, thinking={"type": "enabled", "budget_tokens": budget}))
    assert t.body["reasoning_effort"] == effort
    assert notes(t, "thinking")[0].action == "approximated"


def test_adaptive_thinking_with_an_effort_sends_that_effort() -> None:
    t = translate(areq(user("hi"), thinking={"type": "adaptive"}, output_config={"effort": "medium"}))
    assert t.body["reasoning_effort"] == "medium" and t.notes == []
    t = translate(areq(user("hi"), thinking={"type": "adaptive"}, output_config={"effort": "max"}))
    assert t.body["reasoning_effort"] == "high" and notes(t, "output_config.effort")[0].action == "approximated"
    t = translate(areq(user("hi"), thinking={"type": "adaptive"}))
    assert "reasoning_effort" not in t.body
    t = translate(areq(user("hi"), thinking={"type": "disabled"}))
    assert "reasoning_effort" not in t.body


def test_a_model_that_does_not_reason_gets_no_reasoning_effort() -> None:
    t = translate({**areq(user("hi")), "model": "gpt-4o", "thinking": {"type": "enabled", "budget_tokens": 2048}})
    assert "reasoning_effort" not in t.body
    assert [(n.path, n.action) for n in t.notes] == [("thinking", "dropped")]


def test_output_format_becomes_a_strict_json_schema_response_format() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "required": ["a"],
        "additionalProperties": False,
    }
    t = translate(areq(user("hi"), output_config={"format": {"type": "json_schema", "schema": schema}}))
    assert t.body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "response", "schema": schema, "strict": True},
    }


def test_every_note_is_lossy_or_informative_never_silent() -> None:
    t = translate(areq(user([{"type": "text", "text": "x", "cache_control": {"type": "ephemeral", "ttl": "1h"}}])))
    assert [(n.path, n.action in LOSSY_ACTIONS) for n in t.notes] == [("messages[0].content[0].cache_control", True)]


def test_the_openai_rows_serve_this_direction_only() -> None:
    from protoshift.translator import openai_to_anthropic
    from protoshift.translator.models import OPENAI_BUILTIN

    for row in OPENAI_BUILTIN:  # dated and sourced, as the Claude rows are
        assert row.checked == "2026-11-30" and row.source.startswith("https://") and row.max_output, row.pattern
    assert DEFAULT_TABLE.lookup("gpt-4o") is None  # an OpenAI request naming gpt-4o is not reshaped for gpt-4o
    forward = openai_to_anthropic.request({"model": "gpt-4o", "max_tokens": 50000, "reasoning_effort": "low",
                                 "messages": [{"role": "user", "content": "hi"}]})  # fmt: skip
    assert forward.body["thinking"]["type"] == "enabled" and forward.body["max_tokens"] == 50000  # not 16384
    assert DEFAULT_TABLE.openai_side().lookup("gpt-4o-mini") is not None
    # a config row reaches both sides; the built-in rows of one side never reach the other
    models = DEFAULT_TABLE.with_overrides({"gpt-4o*": {"max_output": 100}})
    assert models.lookup("gpt-4o") is not None and models.openai_side().lookup("gpt-4o").max_output == 100  # type: ignore[union-attr]
