"""Anthropic message -> OpenAI chat.completion."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from protoshift.translator.anthropic_to_openai.completion import (
    EXTRA_DEPTH,
    citation_annotations,
    completion_id,
    finish_reason,
    refusal_explanation,
    tool_arguments,
)
from protoshift.translator.checks import check_json, want_list, want_object, want_str
from protoshift.translator.errors import TranslationError
from protoshift.translator.stamps import DEFAULT_STAMPS, Stamps
from protoshift.translator.usage import messages_usage_to_chat
from protoshift.translator.wire import ChatCompletion, Message


def response(message: Message, *, stamps: Stamps = DEFAULT_STAMPS) -> ChatCompletion:
    """Translate an Anthropic Messages response into an OpenAI chat.completion.

    Text blocks are joined exactly as they are; tool_use blocks become tool_calls; thinking goes to
    `message.reasoning_content`, and the thinking blocks with their signatures to
    `message.thinking_blocks`, so a later turn can hand them back. Citations of web search results
    become `message.annotations` (`url_citation`, over the characters of the text they back).
    What OpenAI has no field for is kept, as Anthropic sent it, under
    `message.provider_specific_fields` (LiteLLM's name): `citations` (other citations, with their
    character range) and `content_blocks` (server tool calls and results, and any other block type).

    What is not the protocol (a block that is no object, a text that is no string, lone
    surrogates, NaN, runaway nesting) is a TranslationError naming the field. `stamps`: the clock
    (`created`) and the id when the message has none.
    """
    msg = want_object(message, "$")
    if msg.get("type") == "error":
        error = msg["error"] if isinstance(msg.get("error"), dict) else {}
        raise TranslationError("error", f"this is an Anthropic error, not a message: {error.get('message', '')}")
    check_json(msg)  # lone surrogates, NaN, huge integers, deep nesting: refused with their path
    answer = _Answer()
    for k, item in enumerate(want_list(msg.get("content"), "content")):
        path = f"content[{k}]"
        block = want_object(item, path)
        handle = _BLOCKS.get(want_str(block.get("type"), f"{path}.type"), _Answer.other)
        handle(answer, block, path)
    model = msg.get("model")
    refusal = refusal_explanation(msg.get("stop_details")) if msg.get("stop_reason") == "refusal" else None
    return {
        "id": completion_id(msg.get("id"), stamps),
        "object": "chat.completion",
        "created": stamps.now(),
        "model": "" if model is None else want_str(model, "model"),
        "choices": [
            {
                "index": 0,
                "message": answer.message(refusal),
                "logprobs": None,
                "finish_reason": finish_reason(msg.get("stop_reason")),
            }
        ],
        "usage": messages_usage_to_chat(msg.get("usage")),
    }


class _Answer:
    """The assistant message being built from the blocks, in order."""

    __slots__ = ("annotations", "length", "other_blocks", "other_citations", "reasoning", "texts", "thinking_blocks", "tool_calls")  # fmt: skip

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.length = 0  # characters of content so far
        self.annotations: list[dict[str, Any]] = []
        self.other_citations: list[dict[str, Any]] = []
        self.other_blocks: list[dict[str, Any]] = []
        self.reasoning: list[str] = []
        self.thinking_blocks: list[dict[str, Any]] = []
        self.tool_calls: list[dict[str, Any]] = []

    def text(self, block: dict[str, Any], path: str) -> None:
        text = want_str(block.get("text"), f"{path}.text")
        self.texts.append(text)
        if block.get("citations"):
            found, others = citation_annotations(block["citations"], self.length, self.length + len(text))
            self.annotations += found
            for citation in others:
                check_json(citation, f"{path}.citations", EXTRA_DEPTH)
            self.other_citations += others
        self.length += len(text)

    def tool_use(self, block: dict[str, Any], path: str) -> None:
        name = want_str(block.get("name"), f"{path}.name")
        arguments = tool_arguments(want_object(block.get("input", {}), f"{path}.input"))
        call = {"name": name, "arguments": arguments}
        self.tool_calls.append({"id": want_str(block.get("id"), f"{path}.id"), "type": "function", "function": call})

    def thinking(self, block: dict[str, Any], path: str) -> None:
        thinking = want_str(block.get("thinking"), f"{path}.thinking")
        signature = block.get("signature")
        signature = "" if signature is None else want_str(signature, f"{path}.signature")
        self.reasoning.append(thinking)
        self.thinking_blocks.append({"type": "thinking", "thinking": thinking, "signature": signature})

    def redacted_thinking(self, block: dict[str, Any], path: str) -> None:
        self.thinking_blocks.append({"type": "redacted_thinking", "data": want_str(block.get("data"), f"{path}.data")})

    def other(self, block: dict[str, Any], path: str) -> None:
        """Server tool calls and results, compaction, ...: no OpenAI field, kept as they are."""
        check_json(block, path, EXTRA_DEPTH)
        self.other_blocks.append(block)

    def message(self, refusal: str | None) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(self.texts) if self.texts or not self.tool_calls else None,
            "refusal": refusal,
        }
        if self.tool_calls:
            answer["tool_calls"] = self.tool_calls
        if self.thinking_blocks:
            answer["reasoning_content"] = "".join(self.reasoning)
            answer["thinking_blocks"] = self.thinking_blocks
        if self.annotations:
            answer["annotations"] = self.annotations
        if self.other_citations or self.other_blocks:
            extra: dict[str, Any] = {}
            if self.other_citations:
                extra["citations"] = self.other_citations
            if self.other_blocks:
                extra["content_blocks"] = self.other_blocks
            answer["provider_specific_fields"] = extra
        return answer


_BLOCKS: dict[str, Callable[[_Answer, dict[str, Any], str], None]] = {
    "text": _Answer.text,
    "tool_use": _Answer.tool_use,
    "thinking": _Answer.thinking,
    "redacted_thinking": _Answer.redacted_thinking,
}
