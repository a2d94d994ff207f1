"""Anthropic messages and stream events written from the documented format (checked against the SDK types)."""

from __future__ import annotations

import json
from typing import Any

from tests.oracles import validate_anthropic_event, validate_anthropic_message


def message(content: list[dict[str, Any]], stop_reason: str | None = "end_turn", **usage: int) -> dict[str, Any]:
    msg = {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 34, **usage},
    }
    validate_anthropic_message(msg)
    return msg


def text_block(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(block_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": block_id, "name": name, "input": args}


def thinking(value: str, signature: str) -> dict[str, Any]:
    return {"type": "thinking", "thinking": value, "signature": signature}


# ---- streams -----------------------------------------------------------------------------------


def ev(obj: dict[str, Any]) -> dict[str, Any]:
    validate_anthropic_event(obj)
    return obj


def message_start(msg_id: str = "msg_01Stream", model: str = "claude-sonnet-4-5", **usage: Any) -> dict[str, Any]:
    return ev(
        {
            "type": "message_start",
            "message": {
                "id": msg_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 25, "output_tokens": 1, **usage},
            },
        }
    )


def block_start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return ev({"type": "content_block_start", "index": index, "content_block": block})


def delta(index: int, d: dict[str, Any]) -> dict[str, Any]:
    return ev({"type": "content_block_delta", "index": index, "delta": d})


def block_stop(index: int) -> dict[str, Any]:
    return ev({"type": "content_block_stop", "index": index})


def message_delta(stop_reason: str | None, **usage: Any) -> dict[str, Any]:
    return ev(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": 15, **usage},
        }
    )


def message_stop() -> dict[str, Any]:
    return ev({"type": "message_stop"})


def ping() -> dict[str, Any]:
    return {"type": "ping"}  # not in RawMessageStreamEvent: the SDK drops pings before parsing


def text_events(index: int, *pieces: str) -> list[dict[str, Any]]:
    return [
        block_start(index, {"type": "text", "text": ""}),
        *(delta(index, {"type": "text_delta", "text": p}) for p in pieces),
        block_stop(index),
    ]


def tool_events(index: int, block_id: str, name: str, args: dict[str, Any], cuts: int = 3) -> list[dict[str, Any]]:
    """A tool_use block whose JSON input arrives in `cuts` fragments (or none, when args is empty)."""
    raw = json.dumps(args, ensure_ascii=False) if args else ""
    step = max(1, -(-len(raw) // cuts)) if raw else 1
    fragments = [raw[i : i + step] for i in range(0, len(raw), step)]
    return [
        block_start(index, {"type": "tool_use", "id": block_id, "name": name, "input": {}}),
        *(delta(index, {"type": "input_json_delta", "partial_json": f}) for f in fragments),
        block_stop(index),
    ]


def thinking_events(index: int, pieces: list[str], signature: str) -> list[dict[str, Any]]:
    return [
        block_start(index, {"type": "thinking", "thinking": "", "signature": ""}),
        *(delta(index, {"type": "thinking_delta", "thinking": p}) for p in pieces),
        delta(index, {"type": "signature_delta", "signature": signature}),
        block_stop(index),
    ]


def server_tool_events(index: int) -> list[dict[str, Any]]:
    return [
        block_start(index, {"type": "server_tool_use", "id": "srvtoolu_01", "name": "web_search", "input": {}}),
        delta(index, {"type": "input_json_delta", "partial_json": '{"query": "weather"}'}),
        block_stop(index),
        block_start(
            index + 1,
            {
                "type": "web_search_tool_result",
                "tool_use_id": "srvtoolu_01",
                "content": [
                    {
                        "type": "web_search_result",
                        "url": "https://example.com",
                        "title": "Weather",
                        "encrypted_content": "abc",
                        "page_age": None,
                    }
                ],
            },
        ),
        block_stop(index + 1),
    ]


def accumulate_anthropic(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Our own accumulator: Anthropic stream events -> the Message they stand for."""
    msg: dict[str, Any] = {}
    partial_json: dict[int, str] = {}
    for e in events:
        match e["type"]:
            case "message_start":
                msg = json.loads(json.dumps(e["message"]))
            case "content_block_start":
                msg["content"].append(json.loads(json.dumps(e["content_block"])))
            case "content_block_delta":
                block, d = msg["content"][e["index"]], e["delta"]
                match d["type"]:
                    case "text_delta":
                        block["text"] += d["text"]
                    case "thinking_delta":
                        block["thinking"] += d["thinking"]
                    case "signature_delta":
                        block["signature"] += d["signature"]
                    case "input_json_delta":
                        partial_json[e["index"]] = partial_json.get(e["index"], "") + d["partial_json"]
                    case "citations_delta":
                        block["citations"] = [*(block.get("citations") or []), d["citation"]]
            case "content_block_stop":
                if e["index"] in partial_json:
                    msg["content"][e["index"]]["input"] = json.loads(partial_json.pop(e["index"]))
            case "message_delta":
                msg["stop_reason"] = e["delta"]["stop_reason"]
                for key, value in e["usage"].items():
                    if value is not None:
                        msg["usage"][key] = value
    validate_anthropic_message(msg)
    return msg


def accumulate_openai(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """Our own accumulator: chat.completion.chunks -> the parts of a chat.completion they stand for."""
    content: list[str] = []
    reasoning: list[str] = []
    thinking_blocks: list[dict[str, Any]] = []
    calls: dict[int, dict[str, Any]] = {}
    annotations: list[dict[str, Any]] = []
    extra: dict[str, list[Any]] = {}
    finish = None
    usage = None
    for chunk in chunks:
        if chunk.get("usage"):
            usage = chunk["usage"]
        for choice in chunk["choices"]:
            d = choice["delta"]
            if d.get("content"):
                content.append(d["content"])
            if d.get("reasoning_content"):
                reasoning.append(d["reasoning_content"])
            thinking_blocks.extend(d.get("thinking_blocks") or [])
            annotations.extend(d.get("annotations") or [])
            for key, values in (d.get("provider_specific_fields") or {}).items():
                extra.setdefault(key, []).extend(values)
            for tc in d.get("tool_calls") or []:
                slot = calls.setdefault(tc["index"], {"id": None, "type": None, "name": "", "arguments": ""})
                if tc.get("id"):
                    slot["id"] = tc["id"]
                    slot["type"] = tc["type"]
                fn = tc.get("function") or {}
                slot["name"] += fn.get("name") or ""
                slot["arguments"] += fn.get("arguments") or ""
            if choice["finish_reason"] is not None:
                finish = choice["finish_reason"]
    message: dict[str, Any] = {"role": "assistant", "content": "".join(content) or None}
    if calls:
        assert sorted(calls) == list(range(len(calls))), "tool call indexes must be 0, 1, 2 ..."
        message["tool_calls"] = [
            {"id": c["id"], "type": c["type"], "function": {"name": c["name"], "arguments": c["arguments"]}}
            for _, c in sorted(calls.items())
        ]
    if thinking_blocks:
        message["reasoning_content"] = "".join(reasoning)
        message["thinking_blocks"] = thinking_blocks
    if annotations:
        message["annotations"] = annotations
    if extra:
        message["provider_specific_fields"] = extra
    return {
        "id": chunks[0]["id"],
        "model": chunks[0]["model"],
        "message": message,
        "finish_reason": finish,
        "usage": usage,
    }
