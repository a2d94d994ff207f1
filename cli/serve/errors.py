"""Failures as HTTP answers in OpenAI's error shape: `{"error": {"message", "type", "param", "code"}}`.

The one table for `serve`, as cli/exits.py is for the command line: cloud's error facts in, a status,
an error type and headers out. The rules:

- a request protoshift cannot translate is the client's to fix: 400, `param` = its JSON path;
- the upstream's 400/404/413/422/429/5xx/529 keep their status and their `retry-after`, so a client's
  own SDK retries them (or not) as it would against the provider;
- the upstream refusing *protoshift's* key (401/403) is no fault of the client's: 502, and
  `x-should-retry: false` (the official SDKs honour it) since trying again cannot help;
- no answer from upstream: 502 (connection) or 504 (timeout); an open circuit: 503 + `retry-after`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pydantic_core import to_json

from protoshift.cloud.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BackendError,
    CircuitOpenError,
    FallbackExceptionGroup,
    PermissionDeniedError,
    ResponseFormatError,
    StreamInterruptedError,
)
from protoshift.translator import TranslationError

# OpenAI's error `type` for a status (what api.openai.com sends; the SDKs pick exceptions by status).
_TYPE_FOR_STATUS: dict[int, str] = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    408: "timeout_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


@dataclass(slots=True)
class HTTPFailure:
    """What the client gets back: a status, OpenAI's error object, and headers."""

    status: int
    message: str
    type: str
    param: str | None = None
    code: str | None = None
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    kind: str = "request"  # for the metrics: which family of failure

    @classmethod
    def client(cls, status: int, message: str, *, param: str | None = None, code: str | None = None) -> HTTPFailure:
        """A problem with what the client sent (or with its key)."""
        return cls(status, message, _TYPE_FOR_STATUS.get(status, "invalid_request_error"), param, code)

    def body(self) -> bytes:
        return to_json({"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}})

    def all_headers(self) -> list[tuple[bytes, bytes]]:
        return [(b"content-type", b"application/json"), *self.headers]


def _retry_after(seconds: float | None) -> list[tuple[bytes, bytes]]:
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        return []
    return [(b"retry-after", str(math.ceil(seconds)).encode())]


def failure_for(exc: BaseException) -> HTTPFailure | None:
    """The HTTP answer for an expected failure; None for anything else (a bug: 500 and a log line)."""
    if isinstance(exc, TranslationError):
        failure = HTTPFailure.client(400, str(exc), param=exc.path)
        failure.kind = "translation"
        return failure
    if isinstance(exc, FallbackExceptionGroup):
        last = failure_for(exc.failures[-1])
        if last is not None:
            last.message = str(exc)
        return last
    if isinstance(exc, BackendError):
        return _upstream(exc)
    return None


def _upstream(error: BackendError) -> HTTPFailure:
    message = str(error)
    if isinstance(error, AuthenticationError | PermissionDeniedError):
        return HTTPFailure(
            502,
            f"the provider refused protoshift's key: {message}",
            "api_error",
            code="upstream_auth",
            headers=[(b"x-should-retry", b"false")],
            kind="upstream_auth",
        )
    if isinstance(error, APIStatusError):
        status = error.status
        kind = _TYPE_FOR_STATUS.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return HTTPFailure(
            status,
            message,
            kind,
            code=error.error_type or None,
            headers=_retry_after(error.retry_after),
            kind="upstream_status",
        )
    if isinstance(error, CircuitOpenError):
        return HTTPFailure(
            503, message, "api_error", code="circuit_open", headers=_retry_after(error.retry_after), kind="circuit_open"
        )
    if isinstance(error, APITimeoutError):
        return HTTPFailure(504, message, "timeout_error", code="upstream_timeout", kind="upstream_timeout")
    if isinstance(error, APIConnectionError):
        return HTTPFailure(502, message, "api_error", code="upstream_connection", kind="upstream_connection")
    if isinstance(error, ResponseFormatError):
        return HTTPFailure(502, message, "api_error", code="upstream_bad_response", kind="upstream_bad_response")
    if isinstance(error, StreamInterruptedError):
        return HTTPFailure(502, message, "api_error", code=error.error_type, kind="stream_interrupted")
    return HTTPFailure(502, message, "api_error", kind="upstream")


def internal_error() -> HTTPFailure:
    failure = HTTPFailure(500, "internal error in protoshift (see its log)", "api_error")
    failure.kind = "internal"
    return failure
