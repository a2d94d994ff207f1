"""OpenAI chat.completion.chunk stream -> the chat.completion it adds up to.

Used wherever a stream must also be kept whole: `chat --stream --format json`, the interactive
history, batch results. Works on any OpenAI-format stream, ours or an OpenAI-compatible server's.
"""

from __future__ import annotations

from typing import Any


class ChunkAccumulator:
    __slots__ = (
        "_annotations",
        "_content",
        "_created",
        "_extra",
        "_finish",
        "_id",
        "_model",
        "_reasoning",
        "_refusal",
        "_thinking",
        "_tools",
        "_usage",
    )

    def __init__(self) -> None:
        self._id = ""
        self._model = ""
        self._created = 0
        self._content: list[str] = []
        self._reasoning: list[str] = []
        self._refusal: list[str] = []
        self._thinking: list[dict[str, Any]] = []
        self._tools: dict[int, dict[str, Any]] = {}
        self._finish: str | None = None
        self._usage: dict[str, Any] | None = None
        self._annotations: list[dict[str, Any]] = []
        self._extra: dict[str, list[Any]] = {}  # provider_specific_fields: lists, added up

    def add(self, chunk: dict[str, Any]) -> None:
        self._id = self._id or str(chunk.get("id") or "")
        self._model = self._model or str(chunk.get("model") or "")
        self._created = self._created or int(chunk.get("created") or 0)
        if chunk.get("usage"):
            self._usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) == 0:
                self._add_delta(choice.get("delta") or {})
                if choice.get("finish_reason"):
                    self._finish = choice["finish_reason"]

    def _add_delta(self, delta: dict[str, Any]) -> None:
        if content := delta.get("content"):
            self._content.append(content)
        if reasoning := delta.get("reasoning_content"):
            self._reasoning.append(reasoning)
        if refusal := delta.get("refusal"):
            self._refusal.append(refusal)
        if blocks := delta.get("thinking_blocks"):
            self._thinking.extend(blocks)
        if annotations := delta.get("annotations"):
            self._annotations.extend(annotations)
        if isinstance(extra := delta.get("provider_specific_fields"), dict):
            for key, values in extra.items():
                if isinstance(values, list):
                    self._extra.setdefault(key, []).extend(values)
        for call in delta.get("tool_calls") or ():
            self._add_tool_call(call)

    def _add_tool_call(self, call: dict[str, Any]) -> None:
        slot = self._tools.setdefault(
            int(call.get("index", 0)), {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
        )
        if call.get("id"):
            slot["id"] = call["id"]
        function = call.get("function") or {}
        if function.get("name") and not slot["function"]["name"]:
            slot["function"]["name"] = function["name"]
        if function.get("arguments"):
            slot["function"]["arguments"] += function["arguments"]

    @property
    def text(self) -> str:
        return "".join(self._content)

    @property
    def finish_reason(self) -> str | None:
        return self._finish

    @property
    def usage(self) -> dict[str, Any] | None:
        return self._usage

    def message(self) -> dict[str, Any]:
        """The assistant message so far (also usable for a reply that was cut)."""
        tools = [self._tools[i] for i in sorted(self._tools)]
        message: dict[str, Any] = {
            "role": "assistant",
            "content": self.text if self._content or not tools else None,
            "refusal": "".join(self._refusal) or None,
        }
        if tools:
            message["tool_calls"] = tools
        if self._reasoning or self._thinking:
            message["reasoning_content"] = "".join(self._reasoning)
        if self._thinking:
            message["thinking_blocks"] = self._thinking
        if self._annotations:
            message["annotations"] = self._annotations
        if self._extra:
            message["provider_specific_fields"] = self._extra
        return message

    def completion(self) -> dict[str, Any]:
        completion: dict[str, Any] = {
            "id": self._id,
            "object": "chat.completion",
            "created": self._created,
            "model": self._model,
            "choices": [
                {"index": 0, "message": self.message(), "logprobs": None, "finish_reason": self._finish or "stop"}
            ],
        }
        if self._usage is not None:
            completion["usage"] = self._usage
        return completion
