"""A Responses `web_search` tool on the way to Claude (issue 20): it becomes Anthropic's web search tool
(through chat's `web_search_options`); on a chat upstream it stays dropped, said. Every body checked with
the SDKs' request types (tests/oracles.py)."""

from __future__ import annotations

from typing import Any

import pytest

from protoshift.translator import TranslationError, responses_to_chat
from protoshift.translator.bridges import Shaping, bridge
from protoshift.translator.wire import CHAT, MESSAGES, RESPONSES
from tests.oracles import assert_anthropic_body, assert_openai_body
from tests.translator.codex_fixtures import codex_request

CLAUDE = "claude-sonnet-4-5"
TO_CLAUDE = bridge(RESPONSES, MESSAGES)
TO_CHAT = bridge(RESPONSES, CHAT)


def request(**fields: Any) -> dict[str, Any]:
    return {"model": CLAUDE, "input": "When was Claude Shannon born?", "tools": [{"type": "web_search"}], **fields}


# ---- the request ----------------------------------------------------------------------------------------


def test_codexs_web_search_tool_reaches_claude_as_its_web_search_tool() -> None:
    req = codex_request() | {"model": CLAUDE}
    outbound = TO_CLAUDE.request(req, stream=True, shaping=Shaping())
    assert_anthropic_body(outbound.body, outbound.betas)
    [search] = [tool for tool in outbound.body["tools"] if tool.get("name") == "web_search"]
    assert search == {"type": "web_search_20250305", "name": "web_search"}
    assert not [note for note in outbound.notes if "web_search" in note.path or note.path == "tools[4]"]


def test_what_chat_carries_of_the_tool_reaches_claude_and_what_it_cannot_is_said() -> None:
    location = {"type": "approximate", "city": "Oslo", "country": "NO", "region": "Oslo", "timezone": "Europe/Oslo"}
    tool = {
        "type": "web_search",
        "search_context_size": "low",
        "user_location": location,
        "filters": {"allowed_domains": ["nrk.no"]},
        "external_web_access": False,
        "search_content_types": ["text", "image"],
    }
    chat = responses_to_chat.request(request(tools=[tool]), web_search="carry")
    assert_openai_body(chat.body)
    assert chat.body["web_search_options"] == {
        "search_context_size": "low",
        "user_location": {"type": "approximate", "approximate": {k: v for k, v in location.items() if k != "type"}},
    }
    assert "tools" not in chat.body
    outbound = TO_CLAUDE.request(request(tools=[tool]), stream=False, shaping=Shaping())
    assert_anthropic_body(outbound.body)
    assert outbound.body["tools"] == [
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 1, "user_location": location}
    ]
    said = {note.path: note.action for note in outbound.notes}
    assert said["tools[0].filters.allowed_domains"] == "dropped"  # chat has no domain filter: not limited, said
    assert said["tools[0].external_web_access"] == "approximated"  # no cached-only search: the live web
    assert said["tools[0].search_content_types"] == "approximated"  # pages, no images
    assert said["(as chat) web_search_options.search_context_size"] == "approximated"  # as max_uses
    with pytest.raises(TranslationError) as refused:
        TO_CLAUDE.request(request(tools=[tool]), stream=False, shaping=Shaping(strict=True))
    assert "tools[0].filters.allowed_domains" in [problem.path for problem in refused.value.problems]


def test_the_preview_tool_and_a_second_search_tool() -> None:
    tools = [{"type": "web_search_preview", "search_context_size": "high"}, {"type": "web_search_2025_08_26"}]
    outbound = TO_CLAUDE.request(request(tools=tools), stream=False, shaping=Shaping())
    assert outbound.body["tools"] == [{"type": "web_search_20250305", "name": "web_search", "max_uses": 10}]
    assert [(n.path, n.action) for n in outbound.notes if n.path.startswith("tools")] == [("tools[1]", "dropped")]


@pytest.mark.parametrize(
    ("tool", "path"),
    [
        ({"type": "web_search", "search_context_size": "huge"}, "tools[0].search_context_size"),
        ({"type": "web_search", "user_location": {"type": "exact"}}, "tools[0].user_location.type"),
        ({"type": "web_search", "user_location": {"city": 5}}, "tools[0].user_location.city"),
        ({"type": "web_search", "filters": {"allowed_domains": "nrk.no"}}, "tools[0].filters.allowed_domains"),
        ({"type": "web_search", "external_web_access": "yes"}, "tools[0].external_web_access"),
    ],
)
def test_a_bad_web_search_tool_is_refused_with_its_path(tool: dict[str, Any], path: str) -> None:
    with pytest.raises(TranslationError) as refused:
        TO_CLAUDE.request(request(tools=[tool]), stream=False, shaping=Shaping())
    assert [problem.path for problem in refused.value.problems] == [path]


def test_on_a_chat_upstream_the_tool_stays_dropped_and_said() -> None:
    outbound = TO_CHAT.request(request(include=["web_search_call.action.sources"]), stream=False, shaping=Shaping())
    assert "web_search_options" not in outbound.body and "tools" not in outbound.body
    assert {note.path: note.action for note in outbound.notes} == {"tools[0]": "dropped", "include[0]": "dropped"}
