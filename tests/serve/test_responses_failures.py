"""The Responses surface when the upstream fails, as Codex CLI meets it (tests/agents/test_codex_serve.py
runs Codex itself): a stream cut midway ends in a `response.failed` that is a whole response (every item
that streamed, the one cut short `incomplete`, usage whole), and an upstream 429 reaches the client with
a `retry-after` in whole seconds whenever the upstream said when, in a header or in its message (Codex
retries a 429 only then); a refusal for a context window overflowed or a quota spent has the code Codex
acts on."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from tests.fakes import (
    FakeServer,
    Reply,
    anthropic_error_reply,
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


def _chat_429(headers: dict[str, str], message: str) -> Reply:
    body = {"error": {"message": message, "type": "tokens", "param": None, "code": "rate_limit_exceeded"}}
    return Reply(status=429, body=json.dumps(body).encode(), headers=headers)


@pytest.mark.parametrize(
    ("headers", "message", "said"),
    [
        ({"retry-after": "0.5"}, "Rate limit reached.", "1"),  # rounded up: Codex reads whole seconds only
        ({}, "Rate limit reached for m on tokens per min (TPM). Please try again in 1.5s. Visit ...", "2"),
        ({}, "Please try again in 20ms.", "1"),
        ({}, "Please try again in 1m12.5s.", "73"),
        ({}, "Slow down.", None),  # said nothing: nothing is made up
    ],
)
def test_an_upstream_429_says_when_to_retry(
    gateway: GatewayFactory, upstream: Any, headers: dict[str, str], message: str, said: str | None
) -> None:
    server = upstream(lambda received: _chat_429(headers, message))
    running = start(gateway, "openai", server)
    client = openai.OpenAI(base_url=running.base_url, api_key="unused", max_retries=0)
    with pytest.raises(openai.RateLimitError) as info:
        client.responses.create(model="m", input="hi", stream=True)
    assert info.value.response.headers.get("retry-after") == said
    with pytest.raises(openai.RateLimitError) as info:  # the same on every surface
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert info.value.response.headers.get("retry-after") == said


CONTEXT_TOO_LONG = {
    "anthropic": lambda: anthropic_error_reply(
        400, "invalid_request_error", "prompt is too long: 210417 tokens > 200000 maximum"
    ),
    "openai": lambda: Reply(
        status=400,
        body=json.dumps(
            {
                "error": {
                    "message": "This model's maximum context length is 131072 tokens. However, your messages resulted in "
                    "140321 tokens. Please reduce the length of the messages.",
                    "type": "invalid_request_error",
                    "param": "messages",
                    "code": "context_length_exceeded",
                }
            }
        ).encode(),
    ),
}


@pytest.mark.parametrize(
    ("backend", "refusal", "code"),
    [
        ("anthropic", CONTEXT_TOO_LONG["anthropic"], "context_length_exceeded"),
        ("openai", CONTEXT_TOO_LONG["openai"], "context_length_exceeded"),
        (
            "anthropic",
            lambda: anthropic_error_reply(
                400, "invalid_request_error", "Your credit balance is too low to access the API."
            ),
            "insufficient_quota",
        ),
        ("anthropic", lambda: anthropic_error_reply(400, "invalid_request_error", "messages.0: bad"), None),
    ],
)
def test_an_upstream_refusal_has_the_code_codex_acts_on(
    gateway: GatewayFactory, upstream: Any, backend: str, refusal: Any, code: str | None
) -> None:
    """Codex stops with its own words on `context_length_exceeded` ("Codex ran out of room in the model's
    context window") and `insufficient_quota`; with any other code it shows the raw error."""
    server = upstream(lambda received: refusal())
    running = start(gateway, backend, server)
    client = openai.OpenAI(base_url=running.base_url, api_key="unused", max_retries=0)
    with pytest.raises(openai.BadRequestError) as info:
        client.responses.create(model="m", input="hi", stream=True)
    assert isinstance(info.value.body, dict) and info.value.body["code"] == code
    assert info.value.body["type"] == "invalid_request_error"
