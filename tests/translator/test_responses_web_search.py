"""A Responses `web_search` tool on the way to Claude (issue 20): it becomes Anthropic's web search tool
(through chat's `web_search_options`), and Claude's searches come back as `web_search_call` items, whole
and streamed, its citations as `url_citation` annotations; on a chat upstream it stays dropped, said.
Every body checked with the SDKs' request types, every answer and event with the openai SDK's Responses
types, the event order, and the SDK's own stream accumulator (tests/oracles.py, tests/responses_oracles.py)."""

from __future__ import annotations

from typing import Any

import pytest

from protoshift.translator import TranslationError, anthropic_to_openai, chat_to_responses, responses_to_chat
from protoshift.translator.bridges import Shaping, bridge
from protoshift.translator.wire import CHAT, MESSAGES, RESPONSES
from tests.claude_search import (
    AFTER,
    BEFORE,
    CITATION,
    CITED,
    CLAUDE,
    FAILED,
    PAGES,
    QUERY,
    SEARCH,
    SEARCHED,
    URL,
    events,
    message,
)
from tests.oracles import (
    assert_anthropic_body,
    assert_openai_body,
    validate_anthropic_event,
    validate_anthropic_message_closed,
)
from tests.responses_oracles import accumulate_response_events, assert_response_stream, validate_response
from tests.translator.codex_fixtures import codex_request

TO_CLAUDE = bridge(RESPONSES, MESSAGES)
TO_CHAT = bridge(RESPONSES, CHAT)


def request(**fields: Any) -> dict[str, Any]:
    return {"model": CLAUDE, "input": "When was Claude Shannon born?", "tools": [{"type": "web_search"}], **fields}


def whole(req: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    validate_anthropic_message_closed(answer)  # the fixture is what Claude sends
    outbound = TO_CLAUDE.request(req, stream=False, shaping=Shaping())
    response = TO_CLAUDE.response(answer, outbound)
    validate_response(response)
    return response


def streamed(req: dict[str, Any], claude: list[dict[str, Any]], *, cut: int | None = None) -> list[dict[str, Any]]:
    """The events the client gets through the bridge (the stream checked whole: types, order, the SDK's
    accumulator); `cut`: the upstream breaks after that many events, and the stream fails (`fail`)."""
    outbound = TO_CLAUDE.request({**req, "stream": True}, stream=True, shaping=Shaping())
    assert outbound.responses is not None
    to_chat = anthropic_to_openai.Stream(include_usage=True)
    to_responses = chat_to_responses.Stream(request=req, tools=outbound.responses.tools)
    mapper = TO_CLAUDE.stream(outbound) if cut is None else None
    out: list[dict[str, Any]] = []
    for event in claude[:cut]:
        validate_anthropic_event(event)  # the fixture is what Claude sends
        if mapper is not None:
            out += mapper.feed(event)
        else:
            out += [e for chunk in to_chat.feed(event) for e in to_responses.feed(chunk)]
    out += mapper.close() if mapper is not None else to_responses.fail("the upstream broke")
    final = assert_response_stream(out)
    if cut is None:  # what the SDK's own accumulator (client.responses.stream) makes of it
        accumulated = accumulate_response_events(out, req["tools"])
        assert [item.type for item in accumulated.output] == [item["type"] for item in final["output"]]
        searches = [i.model_dump(exclude_unset=True) for i in accumulated.output if i.type == "web_search_call"]
        assert searches == [item for item in final["output"] if item["type"] == "web_search_call"]
        assert accumulated.output_text == "".join(texts(final))
    return out


def texts(response: dict[str, Any]) -> list[str]:
    return [part["text"] for item in response["output"] if item["type"] == "message" for part in item["content"]]


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
    on_claude = TO_CLAUDE.request(request(include=["web_search_call.action.sources"]), stream=False, shaping=Shaping())
    assert not [note for note in on_claude.notes if note.path == "include[0]"]  # sources: Claude's search has them


# ---- the answer, whole --------------------------------------------------------------------------------


def test_claudes_search_comes_back_as_a_web_search_call_and_its_citations_as_annotations() -> None:
    response = whole(request(), message(*SEARCHED))
    search, said = response["output"]
    assert search["type"] == "web_search_call" and search["id"].startswith("ws_")
    assert (search["status"], search["action"]) == ("completed", {"type": "search", "query": QUERY})
    assert said["type"] == "message"
    [part] = said["content"]
    assert part["text"] == BEFORE + AFTER + CITED + "."
    [annotation] = part["annotations"]
    assert annotation == {
        "type": "url_citation",
        "start_index": len(BEFORE + AFTER),
        "end_index": len(BEFORE + AFTER + CITED),
        "title": CITATION["title"],
        "url": URL,
    }
    assert part["text"][annotation["start_index"] : annotation["end_index"]] == CITED


def test_the_sources_of_a_search_when_include_asks() -> None:
    response = whole(request(include=["web_search_call.action.sources"]), message(*SEARCHED))
    assert response["output"][0]["action"]["sources"] == [{"type": "url", "url": page["url"]} for page in PAGES]


def test_a_search_that_failed_or_never_answered_is_failed() -> None:
    response = whole(request(), message({**SEARCH, "input": {"query": QUERY}}, FAILED, {"type": "text", "text": "No."}))
    assert [(item["type"], item.get("status")) for item in response["output"]] == [
        ("web_search_call", "failed"),
        ("message", "completed"),
    ]
    paused = whole(request(), message({**SEARCH, "input": {"query": QUERY}}, stop="pause_turn"))
    assert paused["output"][0]["status"] == "failed"


# ---- the answer, streamed -----------------------------------------------------------------------------


def test_a_streamed_search_has_its_events_in_openais_order() -> None:
    out = streamed(request(include=["web_search_call.action.sources"]), events(*SEARCHED))
    kinds = [e["type"].removeprefix("response.") for e in out]
    begins = kinds.index("web_search_call.in_progress") - 1
    assert kinds[begins : begins + 5] == [
        "output_item.added",
        "web_search_call.in_progress",
        "web_search_call.searching",
        "web_search_call.completed",
        "output_item.done",
    ]
    added, done = out[begins]["item"], out[begins + 4]["item"]
    assert added == {"id": added["id"], "type": "web_search_call", "status": "in_progress", "action": {"type": "search", "query": QUERY}}  # fmt: skip
    sources = [{"type": "url", "url": page["url"]} for page in PAGES]
    assert done == {**added, "status": "completed", "action": {"type": "search", "query": QUERY, "sources": sources}}
    assert {e["item_id"] for e in out[begins + 1 : begins + 4]} == {added["id"]}
    # the text before the search is one message, the text after it another; the citation over its own text
    final = out[-1]["response"]
    assert [item["type"] for item in final["output"]] == ["message", "web_search_call", "message"]
    assert texts(final) == [BEFORE, AFTER + CITED + "."]
    [annotation] = final["output"][2]["content"][0]["annotations"]
    assert texts(final)[1][annotation["start_index"] : annotation["end_index"]] == CITED
    [added_annotation] = [e for e in out if e["type"] == "response.output_text.annotation.added"]
    assert added_annotation["annotation"] == annotation and added_annotation["output_index"] == 2


def test_a_streamed_search_that_failed_or_never_answered() -> None:
    out = streamed(request(), events({**SEARCH, "input": {"query": QUERY}}, FAILED, {"type": "text", "text": "No."}))
    assert "response.web_search_call.completed" not in [e["type"] for e in out]
    assert [(i["type"], i["status"]) for i in out[-1]["response"]["output"]] == [
        ("web_search_call", "failed"),
        ("message", "completed"),
    ]
    paused = streamed(request(), events({**SEARCH, "input": {"query": QUERY}}, stop="pause_turn"))
    assert [(i["type"], i["status"]) for i in paused[-1]["response"]["output"]] == [("web_search_call", "failed")]


def test_a_stream_that_breaks_while_claude_searches_fails_with_the_search_cut_short() -> None:
    claude = events(*SEARCHED)
    searching = next(k for k, e in enumerate(claude) if e.get("content_block", {}).get("type") == "web_search_tool_result")  # fmt: skip
    out = streamed(request(), claude, cut=searching)
    assert out[-1]["type"] == "response.failed"
    output = out[-1]["response"]["output"]
    assert [(i["type"], i["status"]) for i in output] == [("message", "completed"), ("web_search_call", "failed")]
