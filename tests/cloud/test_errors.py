"""Provider error bodies become typed, one-line errors that say what failed and what to do."""

from __future__ import annotations

import httpx
import pytest

from protoshift.cloud import (
    AuthenticationError,
    BackendError,
    CircuitOpenError,
    CloudError,
    ConfigurationError,
    InsecureTransportError,
    OverloadedError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
    StreamInterruptedError,
)
from protoshift.cloud.errors import error_from_response, error_from_stream_event, parse_error_body
from tests.cloud.cloud_helpers import (
    KEY,
    OPENAI_KEY,
    REQUEST,
    Script,
    anthropic_error,
    chat_client,
    openai_chat_client,
    run,
)

HTML_502 = b"""<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"""


def test_anthropic_error_body() -> None:
    body = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011"}'
    assert parse_error_body(529, body, {}) == ("overloaded_error", "Overloaded", "req_011", None, None)


def test_anthropic_request_id_from_header() -> None:
    body = b'{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}'
    assert parse_error_body(401, body, {"request-id": "req_hdr"})[2] == "req_hdr"


def test_openai_error_body_and_request_id_header() -> None:
    body = b'{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}'
    said = parse_error_body(429, body, {"x-request-id": "req_oai"})
    assert said == ("requests", "Rate limit reached", "req_oai", "rate_limit_exceeded", None)
    # the error keeps its own code and param apart from its type (the gateway hands them on)
    too_long = b'{"error":{"message":"too long","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}'
    err = error_from_response("openai", 400, too_long, {})
    assert (err.error_type, err.code, err.param) == ("invalid_request_error", "context_length_exceeded", "messages")


def test_openai_error_with_only_a_code() -> None:
    body = b'{"error":{"message":"bad model","type":null,"code":"model_not_found"}}'
    assert parse_error_body(404, body, {})[:2] == ("model_not_found", "bad model")
    assert parse_error_body(404, body, {}).code == "model_not_found"


def test_string_error_and_top_level_message() -> None:
    assert parse_error_body(404, b'{"error":"model \\"llama\\" not found"}', {})[1] == 'model "llama" not found'
    assert parse_error_body(400, b'{"object":"error","message":"too long","type":"BadRequestError"}', {})[:2] == (
        "BadRequestError",
        "too long",
    )
    # vLLM's code is the status again: no code of its own
    vllm = b'{"object":"error","message":"too long","type":"BadRequestError","param":"max_tokens","code":400}'
    assert parse_error_body(400, vllm, {})[3:] == (None, "max_tokens")


def test_html_page_gives_a_clean_line() -> None:
    _error_type, message, request_id, _code, _param = parse_error_body(502, HTML_502, {})
    assert message == "502 Bad Gateway"
    assert request_id is None
    err = error_from_response("anthropic", 502, HTML_502, {})
    assert isinstance(err, ServerError)
    text = str(err)
    assert "\n" not in text and "<" not in text
    assert text.startswith("anthropic: 502 ")


def test_empty_and_garbage_bodies() -> None:
    assert parse_error_body(503, b"", {})[1] == "Service Unavailable"
    assert parse_error_body(529, b"", {})[:2] == ("overloaded_error", "Overloaded")
    assert parse_error_body(500, b"\xff\xfe not json", {})[1]
    long = parse_error_body(500, b"x" * 5000, {})[1]
    assert len(long) <= 300


def test_message_format_says_what_failed() -> None:
    body = (
        b'{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"},"request_id":"req_123"}'
    )
    err = error_from_response("anthropic", 401, body, {})
    assert isinstance(err, AuthenticationError)
    assert str(err) == "anthropic: 401 authentication_error: invalid x-api-key (request req_123)"
    assert (err.kind, err.status, err.request_id) == ("status", 401, "req_123")


def test_errors_carry_facts_not_advice() -> None:
    """cloud/ knows no flags: what to do about a failure is the CLI's (cli/exits.py)."""
    rate = error_from_response("anthropic", 429, b"", {"retry-after": "7"})
    assert rate.retry_after == 7.0 and rate.kind == "status"
    assert CircuitOpenError("anthropic", 12).retry_after == 12.0
    for error in (rate, CircuitOpenError("anthropic", 12), StreamInterruptedError("a", "api_error", "x")):
        assert "--" not in str(error), str(error)


def test_multiline_message_is_one_line() -> None:
    body = b'{"error":{"message":"line one\\nline two","type":"server_error"}}'
    assert "\n" not in str(error_from_response("openai", 500, body, {}))


def test_flags_by_family() -> None:
    assert isinstance(error_from_response("a", 429, b"", {}), RateLimitError)
    rate = error_from_response("a", 429, b"", {})
    assert rate.retryable and rate.allows_fallback and not rate.trips_breaker
    over = error_from_response("a", 529, b"", {})
    assert isinstance(over, OverloadedError) and over.trips_breaker and over.allows_fallback
    auth = error_from_response("a", 401, b"", {})
    assert not (auth.retryable or auth.allows_fallback or auth.trips_breaker)
    circuit = CircuitOpenError("anthropic", 12)
    assert str(circuit) == "circuit open for anthropic, retry in 12s"
    assert circuit.allows_fallback and not circuit.retryable and not circuit.trips_breaker
    cut = StreamInterruptedError("anthropic", "overloaded_error", "Overloaded")
    assert cut.trips_breaker and not cut.allows_fallback and not cut.retryable
    assert not StreamInterruptedError("anthropic", "invalid_request_error", "x").trips_breaker


def test_error_families() -> None:
    assert issubclass(InsecureTransportError, ConfigurationError)
    assert issubclass(BackendError, CloudError) and issubclass(ConfigurationError, CloudError)
    assert not issubclass(ConfigurationError, BackendError)


def test_stream_error_event_maps_to_status() -> None:
    over = error_from_stream_event("anthropic", "overloaded_error", "Overloaded")
    assert isinstance(over, OverloadedError) and over.status == 529 and over.retryable
    api = error_from_stream_event("anthropic", "api_error", "Internal")
    assert api.status == 500 and api.retryable
    unknown = error_from_stream_event("anthropic", "weird_error", "??")
    assert unknown.status == 500


def test_backend_401_hides_the_key() -> None:
    # A server that echoes the key back must not get it onto the user's terminal.
    body = {"type": "error", "error": {"type": "authentication_error", "message": f"invalid x-api-key {KEY}"}}
    script = Script(httpx.Response(401, json=body, headers={"request-id": "req_9"}))
    with pytest.raises(AuthenticationError) as info:
        run(chat_client(script).create(REQUEST))
    text = str(info.value)
    assert KEY not in text and KEY not in repr(info.value) and KEY not in str(info.value.args)
    assert "401 authentication_error" in text and "(request req_9)" in text


def test_openai_backend_errors_hide_openai_key() -> None:
    body = {"error": {"message": f"Incorrect API key provided: {OPENAI_KEY}", "type": "invalid_request_error"}}
    script = Script(httpx.Response(401, json=body, headers={"x-request-id": "req_o"}))
    with pytest.raises(AuthenticationError) as info:
        run(openai_chat_client(script).create(REQUEST))
    assert OPENAI_KEY not in str(info.value)
    assert info.value.backend == "openai" and "req_o" in str(info.value)


def test_200_with_html_is_a_response_format_error() -> None:
    script = Script(httpx.Response(200, content=b"<html>captive portal</html>", headers={"content-type": "text/html"}))
    with pytest.raises(ResponseFormatError) as info:
        run(chat_client(script).create(REQUEST))
    assert "the provider sent a 200 answer that is not JSON (text/html)" in str(info.value)
    assert len(script.requests) == 1


def test_anthropic_body_via_backend_keeps_type_and_id() -> None:
    script = Script(anthropic_error(529, "overloaded_error", "Overloaded"))
    with pytest.raises(OverloadedError) as info:
        run(chat_client(script, max_retries=0).create(REQUEST))
    # the message that only repeats the status is not said twice
    assert str(info.value) == "anthropic: 529 overloaded_error (request req_err)"
