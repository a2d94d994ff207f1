"""Fallback moves on only on the errors it should, never after output began."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from protoshift.cloud import (
    AuthenticationError,
    BackendError,
    CircuitBreaker,
    CircuitOpenError,
    CloudEvent,
    FallbackExceptionGroup,
    InvalidRequestError,
    OverloadedError,
    ServerError,
    StreamInterruptedError,
)
from protoshift.cloud.backend import Backend
from protoshift.cloud.chain import client_for
from protoshift.cloud.fallback import FallbackClient
from protoshift.translator import TranslationError
from tests.cloud.cloud_helpers import (
    REQUEST,
    Clock,
    Script,
    anthropic,
    anthropic_error,
    check_completion,
    collect,
    ok,
    openai_backend,
    run,
    sse,
    sse_response,
    stream_events,
)


def openai_ok(model: str = "gpt-4o-mini") -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "from openai"}, "finish_reason": "stop"}
            ],
        },
    )


def chain(primary: Backend, secondary: Backend, model: str | None, events: list[CloudEvent]) -> FallbackClient:
    """An OpenAI Chat Completions client of `primary`, then `secondary` (with `model`, when given)."""
    client = client_for("chat", [(primary, None), (secondary, model)], on_event=events.append)
    assert isinstance(client, FallbackClient)
    return client


def test_falls_back_after_retries_used_up_on_529_with_model_override() -> None:
    primary = Script(anthropic_error(529, "overloaded_error"))
    secondary = Script(openai_ok())
    events: list[CloudEvent] = []
    backend = chain(anthropic(primary), openai_backend(secondary), "gpt-4o-mini", events)
    completion = check_completion(run(backend.create(REQUEST)))
    assert completion["choices"][0]["message"]["content"] == "from openai"
    assert len(primary.requests) == 3
    assert secondary.bodies[0]["model"] == "gpt-4o-mini"
    assert secondary.bodies[0]["messages"] == REQUEST["messages"]
    assert [e.message for e in events if e.kind == "fallback"] == [
        "anthropic failed (529 overloaded_error); falling back to openai:gpt-4o-mini"
    ]


@pytest.mark.parametrize(
    "step",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow"),
        anthropic_error(429, "rate_limit_error"),
        anthropic_error(500, "api_error"),
    ],
)
def test_falls_back_on_connection_timeout_429_5xx(step: Any) -> None:
    secondary = Script(openai_ok())
    events: list[CloudEvent] = []
    backend = chain(anthropic(Script(step), max_retries=0), openai_backend(secondary), None, events)
    run(backend.create(REQUEST))
    assert len(secondary.requests) == 1
    assert secondary.bodies[0]["model"] == REQUEST["model"]  # no override: same model


def test_falls_back_when_the_circuit_is_open() -> None:
    breaker = CircuitBreaker("anthropic", clock=Clock(), failure_threshold=1)
    breaker.failure(breaker.acquire())
    primary = Script(ok())
    secondary = Script(openai_ok())
    events: list[CloudEvent] = []
    run(chain(anthropic(primary, breaker=breaker), openai_backend(secondary), None, events).create(REQUEST))
    assert primary.requests == []
    assert "(circuit open); falling back to openai" in events[0].message


@pytest.mark.parametrize(
    ("step", "error"),
    [
        (anthropic_error(401, "authentication_error"), AuthenticationError),
        (anthropic_error(400, "invalid_request_error"), InvalidRequestError),
    ],
)
def test_never_falls_back_on_auth_or_invalid_request(step: httpx.Response, error: type[Exception]) -> None:
    secondary = Script(openai_ok())
    events: list[CloudEvent] = []
    with pytest.raises(error):
        run(chain(anthropic(Script(step)), openai_backend(secondary), None, events).create(REQUEST))
    assert secondary.requests == [] and events == []


def test_never_falls_back_on_translation_error() -> None:
    primary = Script(ok())
    secondary = Script(openai_ok())
    bad = {"model": "m", "messages": "not a list"}
    with pytest.raises(TranslationError):
        run(chain(anthropic(primary), openai_backend(secondary), None, []).create(bad))
    assert primary.requests == [] and secondary.requests == []


def test_every_failure_of_the_chain_comes_back_in_one_group() -> None:
    events: list[CloudEvent] = []
    with pytest.raises(FallbackExceptionGroup) as info:
        run(
            chain(
                anthropic(Script(anthropic_error(529, "overloaded_error")), max_retries=0),
                anthropic(Script(anthropic_error(503, "api_error")), max_retries=1),
                None,
                events,
            ).create(REQUEST)
        )
    assert [e.kind for e in events] == ["fallback"]
    group = info.value
    assert [type(e) for e in group.exceptions] == [OverloadedError, ServerError]
    assert [e.attempts for e in group.failures] == [1, 2]
    assert isinstance(group, BackendError) and not group.allows_fallback and not group.retryable
    assert "529 overloaded_error" in str(group) and "503 api_error" in str(group)


def test_a_chain_that_stops_on_its_first_backend_raises_that_error_itself() -> None:
    with pytest.raises(AuthenticationError):
        run(
            chain(
                anthropic(Script(anthropic_error(401, "authentication_error")), max_retries=0),
                anthropic(Script(ok()), max_retries=0),
                None,
                [],
            ).create(REQUEST)
        )


def test_stream_falls_back_before_output() -> None:
    primary = Script(httpx.ConnectError("refused"))
    secondary = Script(sse_response(sse(stream_events(["second"]))))
    events: list[CloudEvent] = []
    backend = chain(anthropic(primary, max_retries=0), anthropic(secondary), "claude-other", events)
    chunks = run(collect(backend.stream(REQUEST)))
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == "second"
    assert secondary.bodies[0]["model"] == "claude-other"


def test_stream_does_not_fall_back_after_output_began() -> None:
    cut: list[bytes | Exception] = [*sse(stream_events(["first"])[:4]), httpx.ReadError("reset")]
    secondary = Script(sse_response(sse(stream_events(["second"]))))
    events: list[CloudEvent] = []
    got: list[dict[str, Any]] = []
    backend = chain(anthropic(Script(sse_response(cut))), anthropic(secondary), None, events)
    with pytest.raises(StreamInterruptedError):
        run(collect(backend.stream(REQUEST), got))
    assert secondary.requests == [] and events == []
    assert any(c["choices"] and c["choices"][0]["delta"].get("content") == "first" for c in got)


def test_circuit_open_error_itself_allows_fallback() -> None:
    assert CircuitOpenError("x", 1).allows_fallback
