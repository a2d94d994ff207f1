"""The Responses surface when the upstream fails, as Codex CLI meets it (tests/agents/test_codex_serve.py
runs Codex itself): a stream cut midway ends in a `response.failed` that is a whole response (every item
that streamed, the one cut short `incomplete`, usage whole)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.fakes import (
    FakeServer,
    anthropic_stream_reply,
    openai_stream_reply,
    openai_text_chunks,
    openai_tool_call_chunks,
)
from tests.responses_oracles import assert_response_stream

from .conftest import GatewayFactory, Running


def start(gateway: GatewayFactory, backend: str, server: FakeServer) -> Running:
    if backend == "openai":
        gateway.monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
        return gateway.start(flags={"backend": "openai"})
    return gateway.start(server)


def events_of(running: Running, request: dict[str, Any]) -> list[dict[str, Any]]:
    with httpx.stream("POST", running.base_url + "/responses", json={**request, "stream": True}, timeout=30) as answer:
        assert answer.status_code == 200, answer.read()
        raw = answer.read().decode()
    return [json.loads(line[len("data: ") :]) for line in raw.splitlines() if line.startswith("data: ")]


# Each upstream's stream, cut inside its text (the gateway has begun the answer) or inside a call's arguments.
CUTS = {
    ("anthropic", "text"): lambda: anthropic_stream_reply(texts=["Hel", "lo", " there"], cut_after=4),
    ("openai", "text"): lambda: openai_stream_reply(openai_text_chunks(["Hel", "lo", " there"]), cut_after=2),
    ("anthropic", "call"): lambda: anthropic_stream_reply(
        texts=[], tool_calls=[("toolu_01", "get_weather", ['{"ci', 'ty": ', '"Paris"}'])], cut_after=4
    ),
    ("openai", "call"): lambda: openai_stream_reply(
        openai_tool_call_chunks([("call_01", "get_weather", ['{"ci', 'ty": ', '"Paris"}'])]), cut_after=2
    ),
}
TOOLS = [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}, "strict": False}]


@pytest.mark.parametrize(("backend", "cut_in"), list(CUTS))
def test_a_stream_cut_midway_fails_as_a_whole_response(
    gateway: GatewayFactory, upstream: Any, backend: str, cut_in: str
) -> None:
    server = upstream(lambda received: CUTS[backend, cut_in]())
    running = start(gateway, backend, server)
    events = events_of(running, {"model": "m", "input": "hi", "tools": TOOLS})
    failed = assert_response_stream(events)  # every event valid, the order, the output as it streamed
    assert events[-1]["type"] == "response.failed" and failed["error"]["code"] == "server_error"
    [item] = failed["output"]
    assert item["status"] == "incomplete" and item["type"] == ("message" if cut_in == "text" else "function_call")
    assert not [e for e in events if e["type"] == "response.output_item.done"]  # a half call is never done
    assert failed["usage"]["total_tokens"] == 0 and failed["usage"]["output_tokens_details"]["reasoning_tokens"] == 0
