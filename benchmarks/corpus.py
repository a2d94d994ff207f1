"""The inputs both sides get: a varied corpus of OpenAI requests and Anthropic event streams.

Every request is valid for both protoshift and LiteLLM (no http image URLs: LiteLLM may fetch
them over the network; no `n`/`logprobs`: protoshift refuses them on purpose).
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

MODEL = "claude-sonnet-4-5"

Request = dict[str, Any]
Event = dict[str, Any]


def _png(width: int, height: int) -> str:
    """A real (grey) PNG as a data URL, `width` x `height` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    rows = b"".join(b"\x00" + bytes((x * 7 + y * 13) % 256 for x in range(width)) for y in range(height))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return "data:image/png;base64," + base64.b64encode(png).decode()


_PARAGRAPH = (
    "The translation layer takes an OpenAI Chat Completions request and produces an Anthropic "
    "Messages body; every field is either mapped, kept, dropped with a note or refused. "
)

_WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["city"],
        },
    },
}
_SEARCH_TOOL = {
    "type": "function",
    "function": {
        "name": "search_docs",
        "description": "Full-text search over the documentation",
        "parameters": {
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 50},
                "filters": {
                    "type": "object",
                    "properties": {"section": {"type": "string"}, "since": {"type": "string", "format": "date"}},
                },
            },
            "required": ["query"],
        },
    },
}
_NO_PARAMS_TOOL = {"type": "function", "function": {"name": "get_time", "description": "The current UTC time"}}


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def _assistant(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


def _call(call_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


def _long_multiturn(turns: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": "You are a careful reviewer."}]
    for i in range(turns):
        messages.append(_user(f"Question {i}: " + _PARAGRAPH * (1 + i % 3)))
        messages.append(_assistant(f"Answer {i}: " + _PARAGRAPH * (1 + i % 2)))
    messages.append(_user("Summarise the whole discussion."))
    return messages


def _tool_rounds(rounds: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [_user("Compare the weather in several cities and search the docs.")]
    for r in range(rounds):
        calls = [
            _call(f"call_{r}_a", "get_weather", {"city": f"City{r}", "unit": "c"}),
            _call(f"call_{r}_b", "search_docs", {"query": f"topic {r}", "limit": 5, "filters": {"section": "api"}}),
        ]
        messages.append({"role": "assistant", "content": f"Round {r}: looking things up.", "tool_calls": calls})
        messages.append({"role": "tool", "tool_call_id": f"call_{r}_a", "content": f"{10 + r}°C, cloudy"})
        messages.append({"role": "tool", "tool_call_id": f"call_{r}_b", "content": json.dumps({"hits": [r, r + 1]})})
    messages.append(_user("Now give me the table."))
    return messages


def requests() -> dict[str, Request]:
    """Named OpenAI Chat Completions requests, 20+ kinds."""
    small_png = _png(16, 16)
    big_png = _png(256, 256)
    corpus: dict[str, Request] = {
        "short_chat": {"model": MODEL, "messages": [_user("Hi!")]},
        "system_prompt": {
            "model": MODEL,
            "messages": [{"role": "system", "content": "You are a concise assistant."}, _user("Say hello.")],
            "max_tokens": 256,
        },
        "developer_role": {
            "model": MODEL,
            "messages": [{"role": "developer", "content": "Answer in French."}, _user("What is a protocol?")],
        },
        "system_parts": {
            "model": MODEL,
            "messages": [
                {
                    "role": "system",
                    "content": [{"type": "text", "text": "Rule one."}, {"type": "text", "text": "Two."}],
                },
                _user("Go."),
            ],
        },
        "params_stop_temp": {
            "model": MODEL,
            "messages": [_user("List three fruits.")],
            "temperature": 0.4,
            "top_p": 0.9,
            "stop": ["\n\n", "END"],
            "max_completion_tokens": 512,
        },
        "stop_string_user": {
            "model": MODEL,
            "messages": [_user("Count to ten.")],
            "stop": "7",
            "user": "user-1234",
            "max_tokens": 100,
        },
        "dropped_fields": {
            "model": MODEL,
            "messages": [_user("Hello there.")],
            "seed": 42,
            "presence_penalty": 0.5,
            "frequency_penalty": 0.2,
        },
        "content_parts": {
            "model": MODEL,
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "First part."}, {"type": "text", "text": "Second part."}],
                }
            ],
        },
        "multi_turn_short": {
            "model": MODEL,
            "messages": [_user("Hi"), _assistant("Hello! How can I help?"), _user("Tell me a joke.")],
        },
        "long_multiturn_40": {"model": MODEL, "messages": _long_multiturn(20), "max_tokens": 2048},
        "long_multiturn_200": {"model": MODEL, "messages": _long_multiturn(100), "max_tokens": 4096},
        "long_single_text": {
            "model": MODEL,
            "messages": [{"role": "system", "content": _PARAGRAPH * 50}, _user(_PARAGRAPH * 200)],
        },
        "unicode_text": {
            "model": MODEL,
            "messages": [_user("Traduis : « Ça coûte 5 € » — 日本語でも 🙂 " * 20)],
        },
        "tools_defined": {
            "model": MODEL,
            "messages": [_user("What's the weather in Paris?")],
            "tools": [_WEATHER_TOOL, _SEARCH_TOOL, _NO_PARAMS_TOOL],
            "tool_choice": "auto",
        },
        "tool_choice_named": {
            "model": MODEL,
            "messages": [_user("Weather in Oslo please.")],
            "tools": [_WEATHER_TOOL],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "parallel_tool_calls": False,
        },
        "tool_choice_required": {
            "model": MODEL,
            "messages": [_user("Search for streaming.")],
            "tools": [_SEARCH_TOOL],
            "tool_choice": "required",
        },
        "tool_calls_results": {
            "model": MODEL,
            "messages": [
                _user("What's the weather in Paris and in Oslo?"),
                {
                    "role": "assistant",
                    "content": "Let me look both up.",
                    "tool_calls": [
                        _call("call_paris", "get_weather", {"city": "Paris"}),
                        _call("call_oslo", "get_weather", {"city": "Oslo"}),
                    ],
                },
                {"role": "tool", "tool_call_id": "call_paris", "content": "18°C, sunny"},
                {"role": "tool", "tool_call_id": "call_oslo", "content": "4°C, rain"},
            ],
            "tools": [_WEATHER_TOOL],
        },
        "tool_rounds_10": {
            "model": MODEL,
            "messages": _tool_rounds(10),
            "tools": [_WEATHER_TOOL, _SEARCH_TOOL],
            "tool_choice": "auto",
        },
        "image_data_url": {
            "model": MODEL,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is in this image?"},
                        {"type": "image_url", "image_url": {"url": small_png}},
                    ],
                }
            ],
        },
        "images_large_multi": {
            "model": MODEL,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Compare these."},
                        {"type": "image_url", "image_url": {"url": big_png}},
                        {"type": "image_url", "image_url": {"url": small_png}},
                    ],
                }
            ],
        },
        "assistant_prefill": {
            "model": MODEL,
            "messages": [_user("Give me JSON with a name."), _assistant('{"name": "')],
        },
        "reasoning_effort": {
            "model": MODEL,
            "messages": [_user("Prove that sqrt(2) is irrational.")],
            "reasoning_effort": "low",
            "max_tokens": 4096,
        },
        "response_format_schema": {
            "model": MODEL,
            "messages": [_user("Extract the city: I live in Lyon.")],
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": "city",
                    "schema": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                        "additionalProperties": False,
                    },
                },
            },
        },
        "stream_options": {
            "model": MODEL,
            "messages": [_user("Stream me a haiku.")],
            "stream": True,
            "stream_options": {"include_usage": True},
        },
        "cache_control_parts": {
            "model": MODEL,
            "messages": [
                {
                    "role": "system",
                    "content": [{"type": "text", "text": _PARAGRAPH * 20, "cache_control": {"type": "ephemeral"}}],
                },
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "Question?", "cache_control": {"type": "ephemeral"}}],
                },
            ],
        },
    }
    return corpus


# ---- Anthropic streams ---------------------------------------------------------------------------


def _message_start(msg_id: str) -> Event:
    return {
        "type": "message_start",
        "message": {
            "id": msg_id,
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 512, "output_tokens": 1, "cache_read_input_tokens": 128},
        },
    }


def _end(stop_reason: str, output_tokens: int) -> list[Event]:
    return [
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        },
        {"type": "message_stop"},
    ]


def _words(n: int) -> list[str]:
    base = [
        "The",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "the",
        "lazy",
        "dog",
        "while",
        "the",
        "stream",
        "keeps",
        "flowing",
    ]
    return [(" " if i else "") + base[i % len(base)] + ("," if i % 11 == 10 else "") for i in range(n)]


def _text_block(index: int, deltas: int) -> list[Event]:
    events: list[Event] = [
        {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}
    ]
    events += [
        {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": w}}
        for w in _words(deltas)
    ]
    events.append({"type": "content_block_stop", "index": index})
    return events


def _tool_block(index: int, tool_id: str, name: str, args: dict[str, Any], fragment: int) -> list[Event]:
    text = json.dumps(args)
    events: list[Event] = [
        {
            "type": "content_block_start",
            "index": index,
            "content_block": {"type": "tool_use", "id": tool_id, "name": name, "input": {}},
        }
    ]
    events += [
        {
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": "input_json_delta", "partial_json": text[i : i + fragment]},
        }
        for i in range(0, len(text), fragment)
    ]
    events.append({"type": "content_block_stop", "index": index})
    return events


def _thinking_block(index: int, deltas: int) -> list[Event]:
    events: list[Event] = [
        {
            "type": "content_block_start",
            "index": index,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
        }
    ]
    events += [
        {"type": "content_block_delta", "index": index, "delta": {"type": "thinking_delta", "thinking": w}}
        for w in _words(deltas)
    ]
    events.append(
        {
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIM" * 8},
        }
    )
    events.append({"type": "content_block_stop", "index": index})
    return events


def streams() -> dict[str, list[Event]]:
    """Named Anthropic event sequences, each a complete stream from message_start to message_stop."""
    text = [_message_start("msg_01TextStream"), {"type": "ping"}, *_text_block(0, 300), *_end("end_turn", 300)]
    args = {"city": "Paris", "unit": "c", "notes": "a fairly long argument string " * 6}
    tools = [
        _message_start("msg_01ToolStream"),
        *_text_block(0, 20),
        *_tool_block(1, "toolu_01A", "get_weather", args, 8),
        *_tool_block(2, "toolu_01B", "search_docs", {"query": "streaming tool calls", "limit": 5}, 8),
        *_end("tool_use", 120),
    ]
    thinking = [
        _message_start("msg_01ThinkStream"),
        *_thinking_block(0, 200),
        *_text_block(1, 100),
        *_end("end_turn", 400),
    ]
    return {"text_deltas": text, "tool_input_json": tools, "thinking_then_text": thinking}


def sse_reads(events: list[Event]) -> list[bytes]:
    """The stream as Anthropic sends it, one network read per event (`event:` + `data:` lines)."""
    return [
        f"event: {e['type']}\ndata: {json.dumps(e, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()
        for e in events
    ]
