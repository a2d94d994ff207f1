"""Anthropic message -> OpenAI chat.completion."""

from __future__ import annotations

import time
from typing import Any

from protoshift.translator.checks import check_json, want_list, want_object, want_str
from protoshift.translator.errors import TranslationError
from protoshift.translator.to_openai.completion import (
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
    `message.thinking_blocks`, so a later turn can hand them back. Unknown block types are skipped.
    """
    msg = want_object(message, "$")
    check_json(msg)  # lone surrogates, NaN, huge integers, deep nesting: refused with their path
    if msg.get("type") == "error":
        error = msg["error"] if isinstance(msg.get("error"), dict) else {}
        raise TranslationError("error", f"this is an Anthropic error, not a message: {error.get('message', '')}")
    blocks = want_list(msg.get("content"), "content")
    texts: list[str] = []
    reasoning: list[str] = []
    thinking_blocks: list[dict[str, Any]] = []
    tool_calls: list[dict[str, Any]] = []
    for k, item in enumerate(blocks):
        path = f"content[{k}]"
        block = want_object(item, path)
        kind = want_str(block.get("type"), f"{path}.type")
        if kind == "text":
            texts.append(want_str(block.get("text"), f"{path}.text"))
        elif kind == "tool_use":
            tool_calls.append(
                {
                    "id": want_str(block.get("id"), f"{path}.id"),
                    "type": "function",
                    "function": {
                        "name": want_str(block.get("name"), f"{path}.name"),
                        "arguments": tool_arguments(want_object(block.get("input", {}), f"{path}.input")),
                    },
                }
            )
        elif kind == "thinking":
            thinking = want_str(block.get("thinking"), f"{path}.thinking")
            reasoning.append(thinking)
            signature = block.get("signature")
            signature = "" if signature is None else want_str(signature, f"{path}.signature")
            thinking_blocks.append({"type": "thinking", "thinking": thinking, "signature": signature})
        elif kind == "redacted_thinking":
            thinking_blocks.append({"type": "redacted_thinking", "data": want_str(block.get("data"), f"{path}.data")})
        # server tools, their results, compaction, fallback markers ...: nothing OpenAI can carry

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
    model = msg.get("model")
    return {
        "id": completion_id(msg.get("id")),
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": "" if model is None else want_str(model, "model"),
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
