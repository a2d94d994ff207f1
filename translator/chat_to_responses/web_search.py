"""Web searches the upstream ran -> Responses `web_search_call` items (status, `action: {type: search,
query}`, its `sources` when the request's `include` asks).

Chat Completions has no item for a search: the way from Claude carries its `server_tool_use` (web_search)
and `web_search_tool_result` blocks, as Anthropic sent them, in the message's (or the chunk's)
`provider_specific_fields.content_blocks` (anthropic_to_openai; LiteLLM's name). A search whose result
is an error, or never came, has status `failed`.
"""

from __future__ import annotations

from typing import Any

from protoshift.translator.chat_to_responses.common import item_id
from protoshift.translator.stamps import Stamps
from protoshift.translator.tables import WEB_SEARCH_SOURCES
from protoshift.translator.wire import JSON, ResponsesRequest

__all__ = [
    "action", "content_blocks", "is_result", "is_search", "search_item", "search_items", "status", "wants_sources",
]  # fmt: skip


def content_blocks(fields: Any) -> list[dict[str, Any]]:
    """The blocks of a chat message's (or delta's) `provider_specific_fields`, when it has some."""
    blocks = fields.get("content_blocks") if isinstance(fields, dict) else None
    return [block for block in blocks if isinstance(block, dict)] if isinstance(blocks, list) else []


def is_search(block: dict[str, Any]) -> bool:
    return block.get("type") == "server_tool_use" and block.get("name") == "web_search"


def is_result(block: dict[str, Any]) -> bool:
    return block.get("type") == "web_search_tool_result"


def wants_sources(request: ResponsesRequest) -> bool:
    include = request.get("include") if isinstance(request, dict) else None
    return isinstance(include, list) and WEB_SEARCH_SOURCES in include


def action(search: dict[str, Any], result: dict[str, Any] | None, sources: bool) -> JSON:
    """The item's `action`: the query searched for; with `sources`, the URLs the search found."""
    given = search.get("input")
    query = given.get("query") if isinstance(given, dict) else None
    out: JSON = {"type": "search", "query": query if isinstance(query, str) else ""}
    if sources:
        found = result.get("content") if result is not None else None
        out["sources"] = [
            {"type": "url", "url": page["url"]}
            for page in (found if isinstance(found, list) else [])
            if isinstance(page, dict) and isinstance(page.get("url"), str)
        ]
    return out


def status(result: dict[str, Any] | None) -> str:
    """`completed` when the search found its pages (a list, maybe empty), else `failed` (Anthropic's
    `web_search_tool_result_error`, or no result at all)."""
    return "completed" if result is not None and isinstance(result.get("content"), list) else "failed"


def search_item(item_id: str, status: str, action: JSON) -> JSON:
    """A web_search_call item, its keys in the API's order."""
    return {"id": item_id, "type": "web_search_call", "status": status, "action": action}


def search_items(fields: Any, stamps: Stamps, sources: bool) -> list[JSON]:
    """The web_search_call items of a whole answer, in the order searched."""
    blocks = content_blocks(fields)
    results = {block.get("tool_use_id"): block for block in blocks if is_result(block)}
    items: list[JSON] = []
    for search in (block for block in blocks if is_search(block)):
        result = results.get(search.get("id"))
        items.append(search_item(item_id(stamps, "ws_"), status(result), action(search, result, sources)))
    return items
