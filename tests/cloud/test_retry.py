"""Retry rules, as the official SDKs apply them, checked on the wire."""

from __future__ import annotations

import email.utils

import httpx
import pytest

from protoshift.cloud import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    CloudEvent,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeout,
    RetryPolicy,
    ServerError,
)
from protoshift.cloud.retry import RETRYABLE_STATUSES, is_retryable_status
from tests.cloud.cloud_helpers import (
    REQUEST,
    Clock,
    FakeSleep,
    Script,
    anthropic_error,
    chat_client,
    check_anthropic_body,
    check_completion,
    collect,
    ok,
    run,
    sse,
    sse_response,
    stream_events,
)


def policy(**kw: object) -> RetryPolicy:
    return RetryPolicy(random=lambda: 0.0, **kw)  # type: ignore[arg-type]


# -- the policy alone -------------------------------------------------------------------------------


def test_retryable_status_table() -> None:
    for status in (408, 409, 429, 500, 502, 503, 504, 529):
        assert is_retryable_status(status)
    for status in (400, 401, 403, 404, 413, 422, 418, 200):
        assert not is_retryable_status(status)
    assert 529 in RETRYABLE_STATUSES


def test_backoff_doubles_from_half_a_second_to_eight() -> None:
    p = policy(max_retries=10)
    assert [p.delay(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


def test_jitter_shortens_by_at_most_a_quarter() -> None:
    p = RetryPolicy(random=lambda: 0.999999)
    assert 0.375 <= p.delay(0) < 0.5
    assert RetryPolicy(random=lambda: 0.0).delay(0) == 0.5


def test_retry_after_ms_wins_over_retry_after() -> None:
    p = policy()
    assert p.delay(0, {"retry-after-ms": "1500", "retry-after": "9"}) == 1.5


def test_retry_after_seconds_and_float() -> None:
    assert policy().delay(0, {"retry-after": "7"}) == 7.0
    assert policy().delay(0, {"retry-after": "2.5"}) == 2.5


def test_retry_after_http_date() -> None:
    clock = Clock(1_700_000_000.0)
    p = RetryPolicy(random=lambda: 0.0, now=clock)
    date = email.utils.formatdate(clock.now + 20, usegmt=True)
    assert p.delay(0, {"retry-after": date}) == pytest.approx(20.0, abs=1.0)


@pytest.mark.parametrize("value", ["61", "3600", "0", "-1", "nonsense", "inf"])
def test_retry_after_outside_0_to_60_falls_back_to_backoff(value: str) -> None:
    assert policy().delay(1, {"retry-after": value}) == 1.0


def test_retry_after_date_in_the_past_falls_back_to_backoff() -> None:
    clock = Clock()
    p = RetryPolicy(random=lambda: 0.0, now=clock)
    assert p.delay(0, {"retry-after": email.utils.formatdate(clock.now - 100, usegmt=True)}) == 0.5


def test_x_should_retry_overrides_status() -> None:
    p = policy()
    assert p.should_retry_status(400, {"x-should-retry": "true"})
    assert not p.should_retry_status(503, {"x-should-retry": "false"})
    assert p.should_retry_status(503, {})
    assert not p.should_retry_status(400, {})


# -- on the wire --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type", "cls"),
    [
        (408, "timeout_error", RequestTimeout),
        (409, "conflict_error", ConflictError),
        (429, "rate_limit_error", RateLimitError),
        (500, "api_error", ServerError),
        (502, "api_error", ServerError),
        (503, "api_error", ServerError),
        (529, "overloaded_error", OverloadedError),
    ],
)
def test_retryable_statuses_are_retried_then_succeed(status: int, error_type: str, cls: type[APIStatusError]) -> None:
    script = Script(anthropic_error(status, error_type), ok("done"))
    sleep = FakeSleep()
    events: list[CloudEvent] = []
    client = chat_client(script, events, sleep=sleep)
    completion = check_completion(run(client.create(REQUEST)))
    assert completion["choices"][0]["message"]["content"] == "done"
    assert len(script.requests) == 2
    assert len(sleep.delays) == 1
    retries = [e.message for e in events if e.kind == "retry"]
    assert retries == [f"anthropic: {status} {error_type}, retrying in {sleep.delays[0]:.1f}s (attempt 2 of 3)"]
    for body in script.bodies:
        check_anthropic_body(body)


@pytest.mark.parametrize(
    ("status", "error_type", "cls"),
    [
        (400, "invalid_request_error", InvalidRequestError),
        (401, "authentication_error", AuthenticationError),
        (403, "permission_error", PermissionDeniedError),
        (404, "not_found_error", NotFoundError),
        (413, "request_too_large", InvalidRequestError),
        (422, "invalid_request_error", InvalidRequestError),
    ],
)
def test_non_retryable_statuses_send_exactly_one_request(
    status: int, error_type: str, cls: type[APIStatusError]
) -> None:
    script = Script(anthropic_error(status, error_type, "nope"), ok())
    sleep = FakeSleep()
    client = chat_client(script, sleep=sleep)
    with pytest.raises(cls) as info:
        run(client.create(REQUEST))
    assert len(script.requests) == 1
    assert sleep.delays == []
    err = info.value
    assert (err.status, err.error_type, err.request_id) == (status, error_type, "req_err")
    assert not err.retryable and not err.allows_fallback and not err.trips_breaker
    assert err.kind == "status" and not err.retryable


@pytest.mark.parametrize("max_retries", [0, 1, 2, 4])
def test_attempts_are_max_retries_plus_one(max_retries: int) -> None:
    script = Script(anthropic_error(500, "api_error"))
    sleep = FakeSleep()
    client = chat_client(script, sleep=sleep, max_retries=max_retries)
    with pytest.raises(ServerError) as info:
        run(client.create(REQUEST))
    assert len(script.requests) == max_retries + 1
    assert len(sleep.delays) == max_retries
    assert info.value.attempts == max_retries + 1
    if max_retries:
        assert f"after {max_retries + 1} attempts" in str(info.value)


def test_backoff_delays_grow_between_attempts() -> None:
    script = Script(anthropic_error(529, "overloaded_error"))
    sleep = FakeSleep()
    client = chat_client(
        script, sleep=sleep, max_retries=4, retry_policy=RetryPolicy(max_retries=4, random=lambda: 0.0)
    )
    with pytest.raises(OverloadedError):
        run(client.create(REQUEST))
    assert sleep.delays == [0.5, 1.0, 2.0, 4.0]


def test_retry_after_ms_header_is_honoured() -> None:
    script = Script(anthropic_error(429, "rate_limit_error", retry_after_ms="1234"), ok())
    sleep = FakeSleep()
    run(chat_client(script, sleep=sleep).create(REQUEST))
    assert sleep.delays == [1.234]


def test_retry_after_seconds_header_is_honoured() -> None:
    script = Script(anthropic_error(429, "rate_limit_error", retry_after="3"), ok())
    sleep = FakeSleep()
    run(chat_client(script, sleep=sleep).create(REQUEST))
    assert sleep.delays == [3.0]


def test_retry_after_http_date_header_is_honoured() -> None:
    clock = Clock()
    date = email.utils.formatdate(clock.now + 10, usegmt=True)
    script = Script(anthropic_error(503, "api_error", retry_after=date), ok())
    sleep = FakeSleep()
    client = chat_client(script, sleep=sleep, retry_policy=RetryPolicy(now=clock))
    run(client.create(REQUEST))
    assert sleep.delays == [pytest.approx(10.0, abs=1.0)]


def test_retry_after_above_60_seconds_is_capped_to_backoff() -> None:
    script = Script(anthropic_error(429, "rate_limit_error", retry_after="600"), ok())
    sleep = FakeSleep()
    run(chat_client(script, sleep=sleep, retry_policy=RetryPolicy(random=lambda: 0.0)).create(REQUEST))
    assert sleep.delays == [0.5]


def test_x_should_retry_true_retries_a_400() -> None:
    script = Script(anthropic_error(400, "invalid_request_error", x_should_retry="true"), ok())
    run(chat_client(script).create(REQUEST))
    assert len(script.requests) == 2


def test_x_should_retry_false_stops_a_500() -> None:
    script = Script(anthropic_error(500, "api_error", x_should_retry="false"), ok())
    with pytest.raises(ServerError) as info:
        run(chat_client(script).create(REQUEST))
    assert len(script.requests) == 1
    assert not info.value.retryable


def test_connection_errors_are_retried() -> None:
    script = Script(httpx.ConnectError("[Errno 111] Connection refused"), ok("back"))
    events: list[CloudEvent] = []
    completion = run(chat_client(script, events).create(REQUEST))
    assert completion["choices"][0]["message"]["content"] == "back"
    assert len(script.requests) == 2
    (retry,) = [e for e in events if e.kind == "retry"]
    assert "cannot connect to api.anthropic.test:443 (connection refused)" in retry.message


def test_connection_errors_exhaust_retries() -> None:
    script = Script(httpx.ConnectError("refused"))
    with pytest.raises(APIConnectionError) as info:
        run(chat_client(script).create(REQUEST))
    assert len(script.requests) == 3
    err = info.value
    assert err.retryable and err.allows_fallback and err.trips_breaker
    assert str(err) == "anthropic: cannot connect to api.anthropic.test:443 (refused) after 3 attempts"


def test_timeouts_are_retried_and_typed() -> None:
    script = Script(httpx.ReadTimeout("timed out"))
    with pytest.raises(APITimeoutError) as info:
        run(chat_client(script, max_retries=1).create(REQUEST))
    assert len(script.requests) == 2
    assert "timed out" in str(info.value) and info.value.kind == "timeout"


def test_retries_carry_one_idempotency_key_and_count_themselves() -> None:
    """The server can tell a retry from a new request: one key per logical call, reused by its retries."""
    script = Script(anthropic_error(529, "overloaded_error"), anthropic_error(529, "overloaded_error"), ok())
    client = chat_client(script, max_retries=2)
    run(client.create(REQUEST))
    keys = [r.headers["idempotency-key"] for r in script.requests]
    assert len(set(keys)) == 1 and keys[0].startswith("protoshift-")
    assert [r.headers["x-stainless-retry-count"] for r in script.requests] == ["0", "1", "2"]
    run(client.create(REQUEST))
    assert script.requests[-1].headers["idempotency-key"] != keys[0]  # a new call, a new key
    assert script.requests[-1].headers["x-stainless-retry-count"] == "0"


def test_streams_are_retried_with_the_same_key_until_output_begins() -> None:
    script = Script(anthropic_error(529, "overloaded_error"), sse_response(sse(stream_events())))
    chunks = run(collect(chat_client(script, max_retries=1).stream(REQUEST)))
    assert chunks and len({r.headers["idempotency-key"] for r in script.requests}) == 1
