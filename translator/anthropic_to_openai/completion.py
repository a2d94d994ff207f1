"""What a chat.completion and a chat.completion.chunk share: ids, finish reasons, tool arguments,
citations (usage: translator/usage.py)."""

from __future__ import annotations

import json
from typing import Any

from protoshift.translator.stamps import Stamps
from protoshift.translator.tables import DEFAULT_FINISH_REASON, FINISH_REASONS

_json_args = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode  # OpenAI's own spacing: {"a": 1}


def completion_id(message_id: Any, stamps: Stamps) -> str:
    """`msg_X` -> `chatcmpl-X`: the same message always gives the same completion id."""
    if isinstance(message_id, str) and message_id:
        return "chatcmpl-" + (message_id[4:] if message_id.startswith("msg_") else message_id)
    return stamps.id("chatcmpl-")


def finish_reason(stop_reason: Any) -> str:
    return (
        FINISH_REASONS.get(stop_reason, DEFAULT_FINISH_REASON)
        if isinstance(stop_reason, str)
        else DEFAULT_FINISH_REASON
    )


def tool_arguments(value: Any) -> str:
    return _json_args(value if value is not None else {})


def refusal_explanation(stop_details: Any) -> str | None:
    if isinstance(stop_details, dict):
        explanation = stop_details.get("explanation")
        if isinstance(explanation, str) and explanation:
            return explanation
    return None


def citation_annotations(citations: Any, start: int, end: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """An Anthropic text block's citations -> OpenAI `url_citation` annotations over the block's
    characters in the joined content (`start`, `end`: Python string indices, end exclusive), and
    the citations OpenAI has no annotation for (documents, pages, ...), each with the same range."""
    annotations: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    if not isinstance(citations, list):
        return annotations, others
    for citation in citations:
        if not isinstance(citation, dict):
            continue
        kind = citation.get("type")
        url = citation.get("url") if kind == "web_search_result_location" else citation.get("source")
        if kind in ("web_search_result_location", "search_result_location") and _is_url(url):
            title = citation.get("title")
            annotations.append(
                {
                    "type": "url_citation",
                    "url_citation": {
                        "url": url,
                        "title": title if isinstance(title, str) and title else url,
                        "start_index": start,
                        "end_index": end,
                    },
                }
            )
        else:
            others.append({"start_index": start, "end_index": end, "citation": citation})
    return annotations, others


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://"))


# How deep an item of `provider_specific_fields` (a content block, a citation) sits, in a completion
# (choices[0].message.provider_specific_fields.content_blocks[i]) as in a chunk (choices[0].delta...):
# what Anthropic nested within the limit must still be within it there.
EXTRA_DEPTH = 6
