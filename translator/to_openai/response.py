"""Anthropic message -> OpenAI chat.completion."""

from __future__ import annotations

import time
from typing import Any

from protoshift.translator.checks import want_list, want_object
from protoshift.translator.errors import TranslationError
from protoshift.translator.to_openai.completion import (
    citation_annotations,
    completion_id,
    finish_reason,
    openai_usage,
    refusal_explanation,
    tool_arguments,
)


def translate_response(message: Any, *, created: int | None = None) -> dict[str, Any]:
    """Translate an Anthropic Messages response into an OpenAI chat.completion.

    Text blocks are joined exactly as they are; tool_use blocks become tool_calls; thinking goes to
    `message.reasoning_content`, and the thinking blocks with their signatures to
    `message.thinking_blocks`, so a later turn can hand them back. Citations of web search results
    become `message.annotations` (`url_citation`, over the characters of the text they back).
    What OpenAI has no field for is kept, as Anthropic sent it, under
    `message.provider_specific_fields` (LiteLLM's name): `citations` (other citations, with their
    character range) and `content_blocks` (server tool calls and results, and any other block type).
    """
    msg = want_object(message, "$")
    if msg.get("type") == "error":
        error = msg["error"] if isinstance(msg.get("error"), dict) else {}
        raise TranslationError("error", f"this is an Anthropic error, not a message: {error.get('message', '')}")
    blocks = want_list(msg.get("content"), "content")
    texts: list[str] = []
    length = 0  # characters of content so far
    annotations: list[dict[str, Any]] = []
    other_citations: list[dict[str, Any]] = []
    other_blocks: list[dict[str, Any]] = []
    reasoning: list[str] = []
    thinking_blocks: list[dict[str, Any]] = []
    tool_calls: list[dict[str, Any]] = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            if isinstance(text := block.get("text"), str):
                texts.append(text)
                if block.get("citations"):
                    found, others = citation_annotations(block["citations"], length, length + len(text))
                    annotations += found
                    other_citations += others
                length += len(text)
        elif kind == "tool_use":
            tool_calls.append(
                {
                    "id": str(block.get("id") or ""),
                    "type": "function",
                    "function": {
                        "name": str(block.get("name") or ""),
                        "arguments": tool_arguments(block.get("input")),
                    },
                }
            )
        elif kind == "thinking":
            thinking = block["thinking"] if isinstance(block.get("thinking"), str) else ""
            reasoning.append(thinking)
            thinking_blocks.append(
                {"type": "thinking", "thinking": thinking, "signature": block.get("signature") or ""}
            )
        elif kind == "redacted_thinking":
            thinking_blocks.append({"type": "redacted_thinking", "data": block.get("data") or ""})
        else:  # server tool calls and results, compaction, ...: no OpenAI field, kept as they are
            other_blocks.append(block)

    answer: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts or not tool_calls else None,
        "refusal": refusal_explanation(msg.get("stop_details")) if msg.get("stop_reason") == "refusal" else None,
    }
    if tool_calls:
        answer["tool_calls"] = tool_calls
    if thinking_blocks:
        answer["reasoning_content"] = "".join(reasoning)
        answer["thinking_blocks"] = thinking_blocks
    if annotations:
        answer["annotations"] = annotations
    if other_citations or other_blocks:
        extra: dict[str, Any] = {}
        if other_citations:
            extra["citations"] = other_citations
        if other_blocks:
            extra["content_blocks"] = other_blocks
        answer["provider_specific_fields"] = extra
    return {
        "id": completion_id(msg.get("id")),
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": msg.get("model") if isinstance(msg.get("model"), str) else "",
        "choices": [
            {
                "index": 0,
                "message": answer,
                "logprobs": None,
                "finish_reason": finish_reason(msg.get("stop_reason")),
            }
        ],
        "usage": openai_usage(msg.get("usage")),
    }
