"""The fake upstreams of upstreams.py refuse what the real providers refuse, and take what they take: a
fake that took anything would let a gateway defect through. Fast (no agent client): in the default run."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.agents.upstreams import PROVIDER_KEY, Call, ChatUpstream, ClaudeUpstream, Upstream, calls, text
from tests.fakes import iter_sse_payloads

CLAUDE_HEADERS = {"x-api-key": PROVIDER_KEY, "anthropic-version": "2023-06-01"}
TOOL: dict[str, Any] = {
    "name": "exec_command",
    "input_schema": {"type": "object", "properties": {"cmd": {"type": "string"}}},
}
CHAT_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {"name": "exec_command", "parameters": TOOL["input_schema"]},
}
THOUGHT = "Think first."


@pytest.fixture
def claude() -> Iterator[ClaudeUpstream]:
    script = [calls(Call("toolu_01a", "exec_command", {"cmd": "ls"}), thinking=THOUGHT), text("Done.")]
    with ClaudeUpstream(script) as upstream:
        yield upstream


@pytest.fixture
def chat() -> Iterator[ChatUpstream]:
    with ChatUpstream([calls(Call("call_a", "exec_command", {"cmd": "ls"})), text("Done.")]) as upstream:
        yield upstream


def post(upstream: Upstream, body: dict[str, Any]) -> httpx.Response:
    if isinstance(upstream, ClaudeUpstream):
        return httpx.post(upstream.url + "/v1/messages", json=body, headers=CLAUDE_HEADERS, timeout=10)
    return httpx.post(upstream.url + "/v1/chat/completions", json=body, timeout=10)


def claude_loop(upstream: ClaudeUpstream) -> dict[str, Any]:
    """A first streamed turn (signed thinking, then a tool_use), and the request continuing it, as it must be."""
    first: dict[str, Any] = {
        "model": upstream.model,
        "max_tokens": 1024,
        "stream": True,
        "thinking": {"type": "adaptive"},
        "tools": [TOOL],
        "messages": [{"role": "user", "content": "List the files."}],
    }
    answer = post(upstream, first)
    assert answer.status_code == 200, answer.text
    deltas = [json.loads(p) for p in iter_sse_payloads(answer.content)]
    [signature] = [e["delta"]["signature"] for e in deltas if e.get("delta", {}).get("type") == "signature_delta"]
    thinking = {"type": "thinking", "thinking": THOUGHT, "signature": signature}
    use = {"type": "tool_use", "id": "toolu_01a", "name": "exec_command", "input": {"cmd": "ls"}}
    result = {"type": "tool_result", "tool_use_id": "toolu_01a", "content": "a.txt"}
    return {
        **first,
        "messages": [
            *first["messages"],
            {"role": "assistant", "content": [thinking, use]},
            {"role": "user", "content": [result]},
        ],
    }


def _without_thinking(body: dict[str, Any]) -> None:
    del body["messages"][1]["content"][0]


def _unsigned(body: dict[str, Any]) -> None:
    body["messages"][1]["content"][0]["signature"] = ""


def _result_without_call(body: dict[str, Any]) -> None:
    body["messages"][2]["content"][0]["tool_use_id"] = "toolu_other"


def _empty_text(body: dict[str, Any]) -> None:
    body["messages"][2]["content"].append({"type": "text", "text": ""})


def _unknown_field(body: dict[str, Any]) -> None:
    body["messages"][1]["content"][1]["extra"] = 1


def _text_before_result(body: dict[str, Any]) -> None:
    body["messages"][2]["content"].insert(0, {"type": "text", "text": "Here:"})


def _call_without_result(body: dict[str, Any]) -> None:
    body["messages"][2]["content"] = [{"type": "text", "text": "never mind"}]


def _other_model(body: dict[str, Any]) -> None:
    body["model"] = "claude-other"


def _tool_choice_not_sent(body: dict[str, Any]) -> None:
    body["tool_choice"] = {"type": "tool", "name": "apply_patch"}


CLAUDE_REFUSES = [
    _without_thinking,
    _unsigned,
    _result_without_call,
    _empty_text,
    _unknown_field,
    _text_before_result,
    _call_without_result,
    _other_model,
    _tool_choice_not_sent,
]


def test_claude_takes_a_signed_loop(claude: ClaudeUpstream) -> None:
    assert post(claude, claude_loop(claude)).status_code == 200
    assert not claude.violations


@pytest.mark.parametrize("spoil", CLAUDE_REFUSES, ids=lambda f: f.__name__.strip("_"))
def test_claude_refuses(claude: ClaudeUpstream, spoil: Any) -> None:
    body = copy.deepcopy(claude_loop(claude))
    spoil(body)
    answer = post(claude, body)
    assert answer.status_code == 400 and answer.json()["error"]["type"] == "invalid_request_error", answer.text
    assert len(claude.violations) == 1 and len(claude.bodies) == 1  # refused: not a turn


def test_claude_with_budgeted_thinking_always_wants_it_back(claude: ClaudeUpstream) -> None:
    """`enabled` thinking: the model always thinks, so a tool loop without thinking was dropped by the client."""
    body = claude_loop(claude)
    body["thinking"] = {"type": "enabled", "budget_tokens": 1024}
    _without_thinking(body)
    assert post(claude, body).status_code == 400


def chat_loop(upstream: ChatUpstream) -> dict[str, Any]:
    call = {"id": "call_a", "type": "function", "function": {"name": "exec_command", "arguments": '{"cmd": "ls"}'}}
    return {
        "model": upstream.model,
        "tools": [CHAT_TOOL],
        "messages": [
            {"role": "user", "content": "List the files."},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_a", "content": "a.txt"},
        ],
    }


def _tool_without_call(body: dict[str, Any]) -> None:
    body["messages"][2]["tool_call_id"] = "call_other"


def _chat_call_without_result(body: dict[str, Any]) -> None:
    body["messages"][2] = {"role": "user", "content": "never mind"}


def _chat_unknown_field(body: dict[str, Any]) -> None:
    body["messages"][1]["extra"] = 1


def _chat_tool_choice_not_sent(body: dict[str, Any]) -> None:
    body["tool_choice"] = {"type": "function", "function": {"name": "apply_patch"}}


def _bad_tool_name(body: dict[str, Any]) -> None:
    body["tools"][0] = {**CHAT_TOOL, "function": {**CHAT_TOOL["function"], "name": "multi_agent.spawn"}}


def _empty_assistant(body: dict[str, Any]) -> None:
    body["messages"][1:] = [{"role": "assistant", "content": ""}, {"role": "user", "content": "again"}]


CHAT_REFUSES = [
    _tool_without_call,
    _chat_call_without_result,
    _chat_unknown_field,
    _chat_tool_choice_not_sent,
    _bad_tool_name,
    _empty_assistant,
    _other_model,
]


def test_chat_takes_a_loop(chat: ChatUpstream) -> None:
    answer = post(chat, chat_loop(chat))
    assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["tool_calls"]
    assert not chat.violations


@pytest.mark.parametrize("spoil", CHAT_REFUSES, ids=lambda f: f.__name__.strip("_"))
def test_chat_refuses(chat: ChatUpstream, spoil: Any) -> None:
    body = copy.deepcopy(chat_loop(chat))
    spoil(body)
    answer = post(chat, body)
    assert answer.status_code == 400 and answer.json()["error"]["message"], answer.text
    assert len(chat.violations) == 1 and not chat.bodies
