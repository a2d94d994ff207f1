"""Anthropic tool fields and server tools passed through, and web_search_options (issue 10, section 1)."""

from __future__ import annotations

from typing import Any

import pytest

from protoshift.translator import openai_to_anthropic

from .helpers import fn_tool, notes_at, one_note, refused, req, translate, user

HI = user("search the web")


@pytest.mark.parametrize("where", ["tool", "function"])
def test_anthropic_tool_fields_are_checked_and_forwarded_from_the_tool_or_its_function(where: str) -> None:
    extras: dict[str, Any] = {
        "defer_loading": True,
        "eager_input_streaming": True,
        "input_examples": [{"city": "Paris"}],
        "allowed_callers": ["direct", "code_execution_20250825"],
    }
    tool_def = {**fn_tool(), **extras} if where == "tool" else fn_tool(**extras)
    result = translate(req(HI, tools=[tool_def]))
    sent = result.body["tools"][0]
    assert {key: sent[key] for key in extras} == extras
    prefix = "tools[0]" if where == "tool" else "tools[0].function"
    for key in extras:
        one_note(result, f"{prefix}.{key}", "kept")
    assert result.betas == []  # GA fields of anthropic.types.ToolParam


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("defer_loading", "yes", "tools[0].defer_loading"),
        ("input_examples", [1], "tools[0].input_examples[0]"),
        ("allowed_callers", ["anyone"], "tools[0].allowed_callers[0]"),
    ],
)
def test_bad_anthropic_tool_fields_are_refused_with_their_path(field: str, value: Any, path: str) -> None:
    refused(req(HI, tools=[{**fn_tool(), field: value}]), path)


SERVER_TOOLS: dict[str, tuple[dict[str, Any], str | None]] = {
    "web_search": ({"type": "web_search_20250305", "name": "web_search", "max_uses": 3}, None),
    "web_fetch": ({"type": "web_fetch_20250910", "name": "web_fetch", "allowed_domains": ["example.com"]}, None),
    "code_execution": ({"type": "code_execution_20250825", "name": "code_execution"}, None),
    "bash": ({"type": "bash_20250124", "name": "bash"}, None),
    "text_editor": (
        {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool", "max_characters": 5000},
        None,
    ),
    "computer": (
        {"type": "computer_20250124", "name": "computer", "display_width_px": 1024, "display_height_px": 768},
        "computer-use-2025-01-24",
    ),
    "computer-2024": (
        {"type": "computer_20241022", "name": "computer", "display_width_px": 800, "display_height_px": 600},
        "computer-use-2024-10-22",
    ),
}


@pytest.mark.parametrize(("tool_def", "beta"), SERVER_TOOLS.values(), ids=SERVER_TOOLS)
def test_server_tools_are_forwarded_with_the_beta_header_they_need(tool_def: dict[str, Any], beta: str | None) -> None:
    result = translate(req(HI, tools=[fn_tool(), tool_def]))
    assert result.body["tools"][1] == tool_def
    assert result.betas == ([beta] if beta else [])
    note = one_note(result, "tools[1]", "kept")
    assert tool_def["type"] in note.reason


def test_a_server_tool_with_a_field_it_does_not_have_is_refused() -> None:
    refused(req(HI, tools=[{"type": "web_search_20250305", "name": "web_search", "colour": "red"}]), "tools[0].colour")
    refused(req(HI, tools=[{"type": "bash_20250124", "name": "shell"}]), "tools[0].name", '"bash"')


def test_two_tools_with_one_name_are_refused() -> None:
    refused(req(HI, tools=[fn_tool("f"), fn_tool("f")]), "tools[1]", "unique")


# ---- web_search_options -------------------------------------------------------------------------


def test_web_search_options_become_the_web_search_server_tool() -> None:
    """The request of OpenAI's web search guide for Chat Completions (user location, context size)."""
    options = {
        "search_context_size": "high",
        "user_location": {
            "type": "approximate",
            "approximate": {"country": "GB", "city": "London", "region": "London", "timezone": "Europe/London"},
        },
    }
    result = translate(req(user("What was a positive news story from today?"), web_search_options=options))
    assert result.body["tools"] == [
        {
            "type": "web_search_20250305",
            "name": "web_search",
            "max_uses": 10,
            "user_location": {
                "type": "approximate",
                "city": "London",
                "region": "London",
                "country": "GB",
                "timezone": "Europe/London",
            },
        }
    ]
    one_note(result, "web_search_options.search_context_size", "approximated")
    assert not notes_at(result, "web_search_options")  # mapped: explain() says so


def test_empty_web_search_options_give_a_plain_web_search_tool_beside_the_callers_tools() -> None:
    body = translate(req(HI, tools=[fn_tool()], web_search_options={})).body
    assert [t["name"] for t in body["tools"]] == ["get_weather", "web_search"]


def test_web_search_options_next_to_a_web_search_tool_are_noted_not_doubled() -> None:
    tool_def = {"type": "web_search_20250305", "name": "web_search"}
    result = translate(req(HI, tools=[tool_def], web_search_options={"search_context_size": "low"}))
    assert len(result.body["tools"]) == 1
    assert [n.action for n in notes_at(result, "web_search_options")] == ["dropped"]


@pytest.mark.parametrize(
    ("options", "path"),
    [
        ({"search_context_size": "huge"}, "web_search_options.search_context_size"),
        ({"user_location": {"type": "exact"}}, "web_search_options.user_location.type"),
        ({"user_location": {"approximate": {"city": 5}}}, "web_search_options.user_location.approximate.city"),
    ],
)
def test_bad_web_search_options_are_refused_with_their_path(options: dict[str, Any], path: str) -> None:
    refused(req(HI, web_search_options=options), path)


def test_web_search_options_can_be_refused_in_strict_mode_only_for_what_is_approximated() -> None:
    openai_to_anthropic.request(
        req(HI, web_search_options={"user_location": {"approximate": {"city": "Oslo"}}}), strict=True
    )
    refused(
        req(HI, web_search_options={"search_context_size": "low"}),
        "web_search_options.search_context_size",
        strict=True,
    )
