"""Keys never show; keys never travel in clear text to a remote host."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

import httpx
import pytest

from protoshift.cloud import (
    CloudEvent,
    ConfigurationError,
    InsecureTransportError,
    InvalidKeyError,
    create_backend,
    create_client,
)
from protoshift.cloud.security import Secret, redact_headers, scrub
from tests.cloud.cloud_helpers import (
    KEY,
    OPENAI_KEY,
    REQUEST,
    Script,
    anthropic_error,
    chat_client,
    collect,
    ok,
    openai_chat_client,
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
    client = chat_client(script, events, max_retries=1)
    run(client.create(REQUEST))
    run(collect(client.stream(REQUEST)))
    with pytest.raises(Exception) as info:
        run(client.create(REQUEST))
    prepared = client.prepare(REQUEST)
    assert {e.kind for e in events} >= {"request", "response", "retry"}
    shown = [*(e.message for e in events), str(info.value), repr(info.value), repr(client), repr(prepared)]
    for text in [*shown, repr(client.backend)]:
        assert KEY not in text
    assert prepared.headers_redacted["x-api-key"] == "***"
    assert script.requests[0].headers["x-api-key"] == KEY  # but it was sent
    request_lines = [e.message for e in events if e.kind == "request"]
    assert all("x-api-key: ***" in line for line in request_lines)


def test_openai_bearer_is_redacted() -> None:
    events: list[CloudEvent] = []
    script = Script(httpx.Response(200, json={"id": "x", "object": "chat.completion", "choices": []}))
    client = openai_chat_client(script, events)
    run(client.create(REQUEST))
    assert script.requests[0].headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert "authorization: Bearer ***" in events[0].message
    assert OPENAI_KEY not in repr(client) and OPENAI_KEY not in repr(client.backend)
    assert all(OPENAI_KEY not in e.message for e in events)
    assert client.prepare(REQUEST).headers_redacted["authorization"] == "Bearer ***"


@pytest.mark.parametrize("url", ["http://api.example.com", "http://10.0.0.5:8080", "http://[2001:db8::1]"])
def test_plain_http_to_a_remote_host_is_refused(url: str) -> None:
    with pytest.raises(InsecureTransportError) as info:
        create_backend("anthropic", api_key=KEY, base_url=url)
    text = str(info.value)
    assert "http://" in text and "clear text" in text and KEY not in text
    with pytest.raises(InsecureTransportError):
        create_backend("openai", api_key=OPENAI_KEY, base_url=url)
    with pytest.raises(InsecureTransportError):  # a client is made the same way, whatever API it speaks
        create_client("anthropic", api="messages", api_key=KEY, base_url=url)


def test_allow_insecure_permits_it() -> None:
    backend = create_backend(
        "anthropic", api_key=KEY, base_url="http://api.example.com", allow_insecure=True, breaker=False
    )
    assert backend.url == "http://api.example.com/v1/messages"


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://127.1.2.3", "http://localhost:11434", "http://[::1]:9000"]
)
def test_plain_http_to_loopback_is_fine(url: str) -> None:
    assert create_backend("anthropic", api_key=KEY, base_url=url, breaker=False).base_url.startswith("http://")


def test_missing_anthropic_key_names_the_env_var() -> None:
    with pytest.raises(ConfigurationError, match="ANTHROPIC_API_KEY"):
        create_backend("anthropic")
    with pytest.raises(ConfigurationError, match="ANTHROPIC_API_KEY"):
        create_client("anthropic")


def test_missing_openai_key_names_the_env_var_unless_loopback() -> None:
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        create_backend("openai")
    local = create_client("openai", base_url="http://localhost:11434/v1", breaker=False)
    assert "authorization" not in local.prepare(REQUEST).headers_redacted


def test_env_vars_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "https://proxy.example.com/")
    backend = create_backend("anthropic", breaker=False)
    assert backend.url == "https://proxy.example.com/v1/messages"
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    assert create_backend("openai", breaker=False).url == "https://api.openai.com/v1/chat/completions"


@pytest.mark.parametrize("url", ["ftp://x", "not a url", "https://"])
def test_bad_base_url_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError, match="bad base URL"):
        create_backend("anthropic", api_key=KEY, base_url=url)


def test_unknown_backend_name() -> None:
    with pytest.raises(ConfigurationError, match="anthropic, openai, openai-responses, mock"):
        create_backend("gemini")
    with pytest.raises(ConfigurationError, match="anthropic, openai, openai-responses, mock"):
        create_client("gemini")


# ---- keys that cannot be sent, and keys in disguise (issue 9, items 9 and 10) ---------------------


@pytest.mark.parametrize(
    ("key", "said"),
    [
        (KEY + "\r", "contains a carriage return at its end"),
        (KEY + "\n", "contains a line feed at its end"),
        (" " + KEY, "contains a space at its start"),
        ("sk-ant one two", "contains a space inside it"),
        ("sk-ant-\tx", "contains a tab inside it"),
        ("sk-ant-ключ", "contains a character outside ASCII (U+043A) inside it"),
        ("sk-ant-\x07x", "contains a control character (U+0007) inside it"),
        ("sk-ant-\u00a0x", "contains whitespace (U+00A0) inside it"),
    ],
)
def test_a_key_that_cannot_be_a_header_is_refused_before_use_without_showing_it(
    key: str, said: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    with pytest.raises(InvalidKeyError) as info:
        create_backend("anthropic", breaker=False)
    assert str(info.value) == f"anthropic: the key from ANTHROPIC_API_KEY {said}"
    assert info.value.setting == "ANTHROPIC_API_KEY"
    assert "sk-ant" not in str(info.value) and "ключ" not in str(info.value)
    with pytest.raises(InvalidKeyError, match="the key from the api_key argument"):
        create_backend("openai", api_key=key, base_url="https://api.openai.test/v1", breaker=False)


def test_secret_headers_show_nothing_of_a_malformed_value() -> None:
    shown = redact_headers(
        {
            "x-api-key": "sk-ant first second",
            "authorization": "Bearer sk-good",
            "Authorization": "sk-ant first second",
            "proxy-authorization": "Bearer two words",
            "api-key": "Bearer x",
            "accept": "text/event-stream",
        }
    )
    assert shown == {
        "x-api-key": "***",
        "authorization": "Bearer ***",
        "Authorization": "***",
        "proxy-authorization": "***",
        "api-key": "***",
        "accept": "text/event-stream",
    }


def test_the_scrubber_catches_the_key_escaped_and_repr_d() -> None:
    key = 'sk-ant-K3y"with\\odd/chars+=\r'
    secret = Secret(key)
    texts = [
        f"Illegal header value {key.encode()!r}",  # what h11 printed
        f"value {key!r}",
        json.dumps({"key": key}),
        f"https://proxy.test/?key={quote(key, safe='')}",
        f"key={quote_plus(key)}",
        f"stripped: {key.strip()}.",
    ]
    for text in texts:
        scrubbed = scrub(text, secret)
        assert "K3y" not in scrubbed, scrubbed
        assert "***" in scrubbed
    assert scrub("ab and abc", Secret("ab")) == "ab and abc"  # too short to hunt for


@pytest.mark.parametrize(
    "url", ["http://anything.localhost", "http://evil.localhost:8080", "http://localhost.evil.com"]
)
def test_only_localhost_itself_counts_as_loopback(url: str) -> None:
    with pytest.raises(InsecureTransportError):
        create_backend("anthropic", api_key=KEY, base_url=url)
    with pytest.raises(InsecureTransportError):
        create_backend("openai", api_key=OPENAI_KEY, base_url=url)
