"""An upstream's error reaches the gateway's clients with its own `code` and `param`, apart from its type,
on the Chat and the Responses surfaces (the official `openai` SDK as the client, a fake OpenAI-compatible
upstream on 127.0.0.1 answering as api.openai.com does); the Messages surface says Anthropic's type for
the status, and nothing else (its error shape has no code)."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai
import pytest

from tests.fakes import FakeServer, Reply, anthropic_error_reply

from .conftest import GatewayFactory, Running

# What api.openai.com answers (type, param and code as it sends them), and the SDK exception each is.
REFUSALS: dict[str, tuple[int, dict[str, Any], type[openai.APIStatusError]]] = {
    # a rate limit whose words name a quota: still a rate limit (Codex waits and retries; a quota stops it)
    "rate limit": (
        429,
        {
            "message": "Rate limit reached for m in organization org-x on requests per min (RPM): Limit 3, Used 3, "
            "Requested 1. You have exceeded your per-minute request quota.",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        },
        openai.RateLimitError,
    ),
    "context window": (
        400,
        {
            "message": "This model's maximum context length is 128000 tokens. However, your messages resulted in "
            "140321 tokens. Please reduce the length of the messages.",
            "type": "invalid_request_error",
            "param": "messages",
            "code": "context_length_exceeded",
        },
        openai.BadRequestError,
    ),
    "quota": (
        429,
        {
            "message": "You exceeded your current quota, please check your plan and billing details.",
            "type": "insufficient_quota",
            "param": None,
            "code": "insufficient_quota",
        },
        openai.RateLimitError,
    ),
    "model": (
        404,
        {
            "message": "The model `m` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        },
        openai.NotFoundError,
    ),
}


def start_openai(gateway: GatewayFactory, server: FakeServer) -> Running:
    gateway.monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    return gateway.start(server, flags={"backend": "openai"})


def refusing(upstream: Any, status: int, error: dict[str, Any]) -> FakeServer:
    return upstream(lambda received: Reply(status=status, body=json.dumps({"error": error}).encode()))


def sdk(running: Running) -> openai.OpenAI:
    return openai.OpenAI(base_url=running.base_url, api_key="unused", max_retries=0)


ASK: dict[str, Any] = {"model": "m"}
SURFACES = {
    "chat": lambda client: client.chat.completions.create(**ASK, messages=[{"role": "user", "content": "hi"}]),
    "responses": lambda client: client.responses.create(**ASK, input="hi"),
    "responses streamed": lambda client: client.responses.create(**ASK, input="hi", stream=True),
}


@pytest.mark.parametrize("surface", list(SURFACES))
@pytest.mark.parametrize("refusal", list(REFUSALS))
def test_the_upstreams_code_and_param_reach_the_client(
    gateway: GatewayFactory, upstream: Any, refusal: str, surface: str
) -> None:
    status, error, exception = REFUSALS[refusal]
    client = sdk(start_openai(gateway, refusing(upstream, status, error)))
    with pytest.raises(exception) as info:
        SURFACES[surface](client)
    body = info.value.body
    assert isinstance(body, dict) and set(body) == {"message", "type", "param", "code"}
    assert (info.value.code, info.value.param) == (error["code"], error["param"])
    assert (body["code"], body["param"]) == (error["code"], error["param"])
    assert body["message"].endswith(error["message"])


def test_an_upstream_that_says_no_code_gives_none_and_responses_reads_its_words(
    gateway: GatewayFactory, upstream: Any
) -> None:
    """Claude's errors have a type and no code: a chat client gets no code (not the type again); a Responses
    client gets the code Codex acts on when the words say it (Claude's "prompt is too long")."""
    replies = iter(
        [
            anthropic_error_reply(429, "rate_limit_error", "Number of request tokens has exceeded your rate limit."),
            anthropic_error_reply(400, "invalid_request_error", "prompt is too long: 210417 tokens > 200000 maximum"),
        ]
    )
    client = sdk(gateway.start(upstream(lambda received: next(replies))))
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(**ASK, messages=[{"role": "user", "content": "hi"}])
    assert isinstance(limited.value.body, dict)
    assert (limited.value.body["type"], limited.value.body["code"]) == ("rate_limit_error", None)
    with pytest.raises(openai.BadRequestError) as too_long:
        client.responses.create(**ASK, input="hi", stream=True)
    assert isinstance(too_long.value.body, dict) and too_long.value.body["code"] == "context_length_exceeded"


@pytest.mark.parametrize(
    ("refusal", "exception", "kind"),
    [
        ("rate limit", anthropic.RateLimitError, "rate_limit_error"),
        ("context window", anthropic.BadRequestError, "invalid_request_error"),
        ("quota", anthropic.RateLimitError, "rate_limit_error"),
        ("model", anthropic.NotFoundError, "not_found_error"),
    ],
)
def test_the_messages_surface_says_anthropics_type_for_the_status(
    gateway: GatewayFactory, upstream: Any, refusal: str, exception: type[anthropic.APIStatusError], kind: str
) -> None:
    status, error, _ = REFUSALS[refusal]
    running = start_openai(gateway, refusing(upstream, status, error))
    client = anthropic.Anthropic(base_url=running.url, api_key="unused", max_retries=0)
    with pytest.raises(exception) as info:
        client.messages.create(model="m", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert isinstance(info.value.body, dict)
    assert info.value.body["type"] == "error" and info.value.body["error"]["type"] == kind
    assert set(info.value.body["error"]) == {"type", "message"}
    assert info.value.body["error"]["message"].endswith(error["message"])
