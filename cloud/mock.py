"""`--backend mock`: an offline, deterministic Anthropic.

`MockBackend` is an `AnthropicBackend` whose transport is an `httpx.MockTransport` speaking the
real Anthropic wire format (JSON messages, and SSE bytes with message_start, ping,
content_block_*, message_delta, message_stop), so every call goes through the real translation,
headers and SSE decoding. It answers `You said: <last user text>`, one word per token and per
`text_delta`; honours `stop_sequences` and `max_tokens`; and calls a tool when `tool_choice`
forces one (`any` or `tool`), with an input built from the schema's required properties.
`/v1/messages/count_tokens` counts one token per word of the request, as the answers do.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx

from protoshift.cloud.anthropic import AnthropicBackend
from protoshift.cloud.kinds import BACKENDS

__all__ = ["MOCK_BASE_URL", "MOCK_MODEL", "MockBackend", "mock_transport"]

MOCK_BASE_URL = BACKENDS["mock"].default_base_url
MOCK_MODEL = BACKENDS["mock"].default_model
_DUMMY_KEY = "mock-key-not-a-secret"

JSON = dict[str, Any]


# -- what the mock says --------------------------------------------------------------------------


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts: list[str] = []
    if isinstance(content, list):
        for block in content:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text":
                parts.append(str(block.get("text", "")))
            elif block.get("type") == "tool_result":
                parts.append(_text_of(block.get("content", "")))
    return " ".join(p for p in parts if p)


def _words_in(body: JSON) -> int:
    count = len(_text_of(body.get("system", "")).split())
    for message in body.get("messages", []):
        if isinstance(message, dict):
            count += len(_text_of(message.get("content", "")).split())
    return max(count, 1)


def _placeholder(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return "mock"
    if "enum" in schema and isinstance(schema["enum"], list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object":
        return _tool_input(schema)
    return {"integer": 0, "number": 0, "boolean": False, "array": [], "null": None}.get(str(kind), "mock")


def _tool_input(schema: Any) -> JSON:
    if not isinstance(schema, dict):
        return {}
    props = schema.get("properties")
    props = props if isinstance(props, dict) else {}
    required = schema.get("required")
    required = required if isinstance(required, list) else []
    return {name: _placeholder(props.get(name)) for name in required if isinstance(name, str)}


def _forced_tool(body: JSON) -> JSON | None:
    choice = body.get("tool_choice")
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict) and t.get("name")]
    if not isinstance(choice, dict) or not tools:
        return None
    if choice.get("type") == "any":
        return tools[0]
    if choice.get("type") == "tool":
        return next((t for t in tools if t.get("name") == choice.get("name")), None)
    return None


_WORDS = re.compile(r"\s*\S+")


class _Answer:
    """The reply to one request, as a list of content blocks plus stop reason and usage."""

    def __init__(self, body: JSON) -> None:
        self.model = str(body.get("model") or MOCK_MODEL)
        self.id = "msg_mock_" + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:24]
        self.input_tokens = _words_in(body)
        self.stop_sequence: str | None = None
        self.tool = _forced_tool(body)
        self.words: list[str] = []
        if self.tool is not None:
            self.tool_input = _tool_input(self.tool.get("input_schema"))
            self.stop_reason = "tool_use"
            self.output_tokens = max(1, len(json.dumps(self.tool_input).split()))
            return
        last = next(
            (m for m in reversed(body.get("messages", [])) if isinstance(m, dict) and m.get("role") == "user"),
            {},
        )
        said = _text_of(last.get("content", "")).strip()
        text = f"You said: {said}" if said else "You said nothing."
        self.stop_reason = "end_turn"
        for stop in body.get("stop_sequences") or []:
            if isinstance(stop, str) and stop and stop in text:
                text = text[: text.index(stop)]
                self.stop_reason, self.stop_sequence = "stop_sequence", stop
                break
        # One word per token, each with the whitespace before it: markdown and line breaks survive.
        words = _WORDS.findall(text)
        max_tokens = body.get("max_tokens")
        if isinstance(max_tokens, int) and len(words) > max_tokens:
            words = words[:max_tokens]
            self.stop_reason, self.stop_sequence = "max_tokens", None
        self.words = words
        self.output_tokens = len(words)

    def pieces(self) -> list[str]:
        """The text as the deltas that make it up: one word each, with the whitespace before it."""
        return self.words

    def usage(self, output_tokens: int) -> JSON:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        }

    def content(self) -> list[JSON]:
        if self.tool is not None:
            return [{"type": "tool_use", "id": "toolu_mock_01", "name": self.tool["name"], "input": self.tool_input}]
        return [{"type": "text", "text": "".join(self.pieces())}] if self.words else []

    def message(self) -> JSON:
        return {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": self.content(),
            "stop_reason": self.stop_reason,
            "stop_sequence": self.stop_sequence,
            "usage": self.usage(self.output_tokens),
        }

    def events(self) -> list[JSON]:
        start = {**self.message(), "content": [], "stop_reason": None, "stop_sequence": None}
        start["usage"] = self.usage(1)
        events: list[JSON] = [{"type": "message_start", "message": start}, {"type": "ping"}]
        if self.tool is not None:
            block = {"type": "tool_use", "id": "toolu_mock_01", "name": self.tool["name"], "input": {}}
            events.append({"type": "content_block_start", "index": 0, "content_block": block})
            events.append(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "input_json_delta", "partial_json": json.dumps(self.tool_input)},
                }
            )
            events.append({"type": "content_block_stop", "index": 0})
        elif self.words:
            events.append({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
            events.extend(
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
                for piece in self.pieces()
            )
            events.append({"type": "content_block_stop", "index": 0})
        events.append(
            {
                "type": "message_delta",
                "delta": {"stop_reason": self.stop_reason, "stop_sequence": self.stop_sequence},
                "usage": {"output_tokens": self.output_tokens},
            }
        )
        events.append({"type": "message_stop"})
        return events


# -- the wire --------------------------------------------------------------------------------------


def _error(status: int, error_type: str, message: str) -> httpx.Response:
    body = {"type": "error", "error": {"type": error_type, "message": message}, "request_id": "req_mock"}
    return httpx.Response(status, json=body, headers={"request-id": "req_mock"})


async def _sse(events: list[JSON]) -> AsyncIterator[bytes]:
    for event in events:
        yield f"event: {event['type']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n".encode()


def _models() -> httpx.Response:
    model = {"type": "model", "id": MOCK_MODEL, "display_name": "protoshift mock", "created_at": "2025-01-01T00:00:00Z"}
    return httpx.Response(200, json={"data": [model], "has_more": False, "first_id": MOCK_MODEL, "last_id": MOCK_MODEL})


def _handle(request: httpx.Request) -> httpx.Response:
    if request.method == "GET" and request.url.path == "/v1/models":
        return _models()
    if request.method != "POST" or request.url.path not in ("/v1/messages", "/v1/messages/count_tokens"):
        return _error(404, "not_found_error", f"{request.method} {request.url.path} not found")
    if not request.headers.get("x-api-key"):
        return _error(401, "authentication_error", "x-api-key header is required")
    if not request.headers.get("anthropic-version"):
        return _error(400, "invalid_request_error", "anthropic-version header is required")
    try:
        body = json.loads(request.content)
    except ValueError:
        return _error(400, "invalid_request_error", "body is not JSON")
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return _error(400, "invalid_request_error", "messages: field required")
    if request.url.path == "/v1/messages/count_tokens":  # one token per word, as the answers count them
        return httpx.Response(200, json={"input_tokens": _words_in(body)}, headers={"request-id": "req_mock_count"})
    answer = _Answer(body)
    headers = {"request-id": "req_mock_" + answer.id[-12:]}
    if body.get("stream"):
        return httpx.Response(
            200,
            headers={**headers, "content-type": "text/event-stream"},
            content=_sse(answer.events()),
        )
    return httpx.Response(200, json=answer.message(), headers=headers)


def mock_transport() -> httpx.MockTransport:
    """An `httpx.MockTransport` that answers like Anthropic's /v1/messages, offline."""
    return httpx.MockTransport(_handle)


class MockBackend(AnthropicBackend):
    """An `AnthropicBackend` on `mock_transport()`: offline, deterministic, no key, no breaker."""

    name = "mock"

    def __init__(self, *, model: str | None = None, **options: Any) -> None:
        options.pop("api_key", None)
        options.pop("base_url", None)
        options.setdefault("breaker", False)
        options.setdefault("transport", mock_transport())
        super().__init__(api_key=_DUMMY_KEY, base_url=MOCK_BASE_URL, model=model, **options)
        # a request that names no model is the mock's own model's (the offline demo needs no -m)
        self.shaping = replace(self.shaping, default_model=MOCK_MODEL)
