"""Keys never show; keys never travel in clear text to a remote host."""

from __future__ import annotations

import httpx
import pytest

from protoshift.cloud import (
    CloudEvent,
    ConfigurationError,
    InsecureTransportError,
    create_anthropic_backend,
    create_backend,
    create_openai_backend,
)
from tests.cloud.cloud_helpers import (
    KEY,
    OPENAI_KEY,
    REQUEST,
    Script,
    anthropic,
    anthropic_error,
    collect,
    ok,
    openai_backend,
    run,
    sse,
    sse_response,
    stream_events,
)


def test_key_is_absent_from_every_event_error_and_repr() -> None:
    events: list[CloudEvent] = []
    script = Script(
        anthropic_error(529, "overloaded_error"),
        ok(),
        sse_response(sse(stream_events())),
        httpx.ConnectError(f"refused {KEY}"),
    )
    backend = anthropic(script, events, max_retries=1)
    run(backend.complete(REQUEST))
    run(collect(backend.stream(REQUEST)))
    with pytest.raises(Exception) as info:
        run(backend.complete(REQUEST))
    prepared = backend.prepare(REQUEST)
    assert {e.kind for e in events} >= {"request", "response", "retry"}
    for text in [*(e.message for e in events), str(info.value), repr(info.value), repr(backend), repr(prepared)]:
        assert KEY not in text
    assert prepared.headers_redacted["x-api-key"] == "***"
    assert script.requests[0].headers["x-api-key"] == KEY  # but it was sent
    request_lines = [e.message for e in events if e.kind == "request"]
    assert all("x-api-key: ***" in line for line in request_lines)


def test_openai_bearer_is_redacted() -> None:
    events: list[CloudEvent] = []
    script = Script(httpx.Response(200, json={"id": "x", "object": "chat.completion", "choices": []}))
    backend = openai_backend(script, events)
    run(backend.complete(REQUEST))
    assert script.requests[0].headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert "authorization: Bearer ***" in events[0].message
    assert OPENAI_KEY not in repr(backend) and all(OPENAI_KEY not in e.message for e in events)
    assert backend.prepare(REQUEST).headers_redacted["authorization"] == "Bearer ***"


@pytest.mark.parametrize("url", ["http://api.example.com", "http://10.0.0.5:8080", "http://[2001:db8::1]"])
def test_plain_http_to_a_remote_host_is_refused(url: str) -> None:
    with pytest.raises(InsecureTransportError) as info:
        create_anthropic_backend(KEY, url)
    text = str(info.value)
    assert "http://" in text and "clear text" in text and KEY not in text
    with pytest.raises(InsecureTransportError):
        create_openai_backend(OPENAI_KEY, url)


def test_allow_insecure_permits_it() -> None:
    backend = create_anthropic_backend(KEY, "http://api.example.com", allow_insecure=True, breaker=False)
    assert backend.url == "http://api.example.com/v1/messages"


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://127.1.2.3", "http://localhost:11434", "http://[::1]:9000"]
)
def test_plain_http_to_loopback_is_fine(url: str) -> None:
    assert create_anthropic_backend(KEY, url, breaker=False).base_url.startswith("http://")


def test_missing_anthropic_key_names_the_env_var() -> None:
    with pytest.raises(ConfigurationError, match="ANTHROPIC_API_KEY"):
        create_anthropic_backend()


def test_missing_openai_key_names_the_env_var_unless_loopback() -> None:
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        create_openai_backend()
    local = create_openai_backend(base_url="http://localhost:11434/v1", breaker=False)
    assert "authorization" not in local.prepare(REQUEST).headers_redacted


def test_env_vars_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "https://proxy.example.com/")
    backend = create_anthropic_backend(breaker=False)
    assert backend.url == "https://proxy.example.com/v1/messages"
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    assert create_openai_backend(breaker=False).url == "https://api.openai.com/v1/chat/completions"


@pytest.mark.parametrize("url", ["ftp://x", "not a url", "https://"])
def test_bad_base_url_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError, match="bad base URL"):
        create_anthropic_backend(KEY, url)


def test_unknown_backend_name() -> None:
    with pytest.raises(ConfigurationError, match="anthropic, openai, mock"):
        create_backend("gemini")
