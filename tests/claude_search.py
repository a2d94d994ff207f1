"""Claude answering with a web search (Anthropic's documented shapes, each checked against the anthropic
SDK's types where used): the search (`server_tool_use`), its result (`web_search_tool_result`, or the
error one), and an answer whose text cites it (`web_search_result_location`); whole (`message`) and as
Claude streams it (`events`, `sse_events` for a fake upstream). For tests/translator and tests/serve."""

from __future__ import annotations

import json
from typing import Any

CLAUDE = "claude-sonnet-4-5"

QUERY = "claude shannon birth date"
URL = "https://en.wikipedia.org/wiki/Claude_Shannon"
SEARCH = {"type": "server_tool_use", "id": "srvtoolu_01WYG3ziw53XMcoyKL4XcZmE", "name": "web_search"}
PAGES = [
    {
        "type": "web_search_result",
        "url": URL,
        "title": "Claude Shannon - Wikipedia",
        "encrypted_content": "EqgfCioIARgBIiQ3",
        "page_age": "April 30, 2025",
    },
    {
        "type": "web_search_result",
        "url": "https://www.britannica.com/biography/Claude-Shannon",
        "title": "Claude Shannon | Britannica",
        "encrypted_content": "EpMCCioIARgB",
        "page_age": None,
    },
]
RESULT = {"type": "web_search_tool_result", "tool_use_id": SEARCH["id"], "content": PAGES}
FAILED = {"type": "web_search_tool_result", "tool_use_id": SEARCH["id"], "content": {"type": "web_search_tool_result_error", "error_code": "max_uses_exceeded"}}  # fmt: skip
CITED = "Claude Shannon was born on April 30, 1916, in Petoskey, Michigan"
CITATION = {
    "type": "web_search_result_location",
    "url": URL,
    "title": "Claude Shannon - Wikipedia",
    "encrypted_index": "Eo8BCioIAhgBIiQyYjQ0OWJmZi1lNm",
    "cited_text": "Claude Shannon was born on April 30, 1916, in Petoskey, Michigan",
}
BEFORE, AFTER = "I'll search for when Claude Shannon was born.", "Based on the search results, "


def message(*blocks: dict[str, Any], stop: str = "end_turn") -> dict[str, Any]:
    return {
        "id": "msg_01Search",
        "type": "message",
        "role": "assistant",
        "model": CLAUDE,
        "content": list(blocks),
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 6039,
            "output_tokens": 931,
            "server_tool_use": {"web_search_requests": 1, "web_fetch_requests": 0},
        },
    }


SEARCHED = [
    {"type": "text", "text": BEFORE},
    {**SEARCH, "input": {"query": QUERY}},
    RESULT,
    {"type": "text", "text": AFTER},
    {"type": "text", "text": CITED, "citations": [CITATION]},
    {"type": "text", "text": "."},
]


def events(*blocks: dict[str, Any], stop: str = "end_turn") -> list[dict[str, Any]]:
    """`blocks` as Claude streams them: a search's input in input_json_delta fragments, a result whole in
    its start event, a cited text's citations_delta before its text."""
    out: list[dict[str, Any]] = [{"type": "message_start", "message": {**message(), "stop_reason": None}}]
    for index, block in enumerate(blocks):
        if block["type"] == "server_tool_use":
            out.append({"type": "content_block_start", "index": index, "content_block": {**block, "input": {}}})
            query = f'{{"query": "{block["input"]["query"]}"}}'
            for piece in (query[:9], query[9:]):
                out.append({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": piece}})  # fmt: skip
        elif block["type"] == "text":
            start = {"type": "text", "text": ""} | ({"citations": []} if "citations" in block else {})
            out.append({"type": "content_block_start", "index": index, "content_block": start})
            for citation in block.get("citations", []):
                out.append({"type": "content_block_delta", "index": index, "delta": {"type": "citations_delta", "citation": citation}})  # fmt: skip
            out.append({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": block["text"]}})  # fmt: skip
        else:
            out.append({"type": "content_block_start", "index": index, "content_block": block})
        out.append({"type": "content_block_stop", "index": index})
    out.append({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": 931, "server_tool_use": {"web_search_requests": 1, "web_fetch_requests": 0}}})  # fmt: skip
    return [*out, {"type": "message_stop"}]


def sse_events(*blocks: dict[str, Any], stop: str = "end_turn") -> list[bytes]:
    """`events(...)` as the wire carries them (tests/fakes.py's `Reply.events`)."""
    return [f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events(*blocks, stop=stop)]
