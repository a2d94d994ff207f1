"""Failures as facts the surfaces put into words: the one table from cloud's and the translator's
errors to an HTTP status, a kind (for the metrics) and headers, as cli/exits.py is for the command
line. Each surface (gateway/surfaces) then says the failure in its API's error shape.

- a request protoshift cannot translate is the client's to fix: 400, every problem with its path;
- the upstream's 400/404/413/422/429/5xx/529 keep their status, their `retry-after` (a
  `retry-after: 0` included), so a client's own SDK retries them (or not) as against the provider, and
  the error's own `code` and `param` (`rate_limit_exceeded`, `context_length_exceeded`...); a
  429 whose wait is said only in its message (OpenAI's words: "Please try again in 1.5s") gets it as
  `retry-after` (Codex retries a 429 only when a `retry-after` says when);
- the upstream refusing *protoshift's* key (401/403) is no fault of the client's: 502, and
  `x-should-retry: false` (the official SDKs honour it) since trying again cannot help;
- no answer from upstream: 502 (connection) or 504 (timeout); an open circuit: 503 + `retry-after`
  (a surface may say it its own way: Anthropic clients know 529);
- a request routed to a backend its API cannot reach (a Chat Completions request to a backend that
  speaks OpenAI Responses only): 400 `backend_api_mismatch`, naming the backend and what it speaks.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

from protoshift.cloud.errors import (
    APIConnectionError,
    APIMismatchError,
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
from protoshift.gateway.asgi import Headers
from protoshift.translator import TranslationError

__all__ = ["HTTPFailure", "echoed", "failure_for", "internal_error"]


@dataclass(slots=True)
class HTTPFailure:
    """What the client is told, before a surface words it: a status, a message, and the facts a
    surface may name (`param`: the JSON path at fault; `code`: a machine-readable reason: protoshift's,
    or the upstream's own, as it said it; `upstream_type`: the upstream error's type)."""

    status: int
    message: str
    kind: str = "request"  # for the metrics: which family of failure
    param: str | None = None
    code: str | None = None
    headers: Headers = field(default_factory=list)
    upstream_type: str | None = None  # the provider's own error type, when it named one

    @classmethod
    def client(cls, status: int, message: str, *, param: str | None = None, code: str | None = None) -> HTTPFailure:
        """A problem with what the client sent (or with its key)."""
        return cls(status, message, param=param, code=code)


def retry_after(seconds: float | None) -> Headers:
    """`retry-after` in whole seconds, as the upstream said it (0 included: "now" is an answer too)."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return []
    return [(b"retry-after", str(math.ceil(seconds)).encode())]


def failure_for(exc: BaseException) -> HTTPFailure | None:
    """The HTTP answer for an expected failure; None for anything else (a bug: 500 and a log line)."""
    if isinstance(exc, TranslationError):
        # every problem, each with its path: the client sees all it must fix at once
        message = "; ".join(str(problem) for problem in exc.problems)
        return HTTPFailure(400, message, kind="translation", param=exc.path)
    if isinstance(exc, FallbackExceptionGroup):
        last = failure_for(exc.failures[-1])
        if last is not None:
            last.message = str(exc)
        return last
    if isinstance(exc, BackendError):
        return _upstream(exc)
    if isinstance(exc, APIMismatchError):
        return HTTPFailure.client(400, exc.message, code="backend_api_mismatch")
    return None


def _upstream(error: BackendError) -> HTTPFailure:
    message = str(error)
    if isinstance(error, AuthenticationError | PermissionDeniedError):
        return HTTPFailure(
            502,
            f"the provider refused protoshift's key: {message}",
            "upstream_auth",
            code="upstream_auth",
            headers=[(b"x-should-retry", b"false")],
        )
    if isinstance(error, APIStatusError):
        wait = error.retry_after
        if wait is None and error.status == 429:
            wait = said_wait(error.message)
        return HTTPFailure(
            error.status,
            message,
            "upstream_status",
            param=error.param,
            code=error.code,
            headers=retry_after(wait),
            upstream_type=error.error_type or None,
        )
    if isinstance(error, CircuitOpenError):
        return HTTPFailure(503, message, "circuit_open", code="circuit_open", headers=retry_after(error.retry_after))
    if isinstance(error, APITimeoutError):
        return HTTPFailure(504, message, "upstream_timeout", code="upstream_timeout")
    if isinstance(error, APIConnectionError):
        return HTTPFailure(502, message, "upstream_connection", code="upstream_connection")
    if isinstance(error, ResponseFormatError):
        return HTTPFailure(502, message, "upstream_bad_response", code="upstream_bad_response")
    if isinstance(error, StreamInterruptedError):
        return HTTPFailure(502, message, "stream_interrupted", code=error.error_type, upstream_type=error.error_type)
    return HTTPFailure(502, message, "upstream")


# "try again in 20ms", "in 1.5s", "in 1m12.5s", "in 2h0m0s": OpenAI's words for a rate limit's wait.
_SAID_WAIT = re.compile(r"try again in (?:(\d+(?:\.\d+)?)ms|(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?)", re.I)


def said_wait(message: str) -> float | None:
    """The seconds a rate limit's message says to wait ("Please try again in 1.5s."), when it says."""
    match = _SAID_WAIT.search(message)
    if match is None or not any(match.groups()):
        return None
    ms, hours, minutes, seconds = match.groups()
    if ms is not None:
        return float(ms) / 1000
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)


def echoed(text: str, limit: int = 100) -> str:
    """What a client sent (an id, a path), as an error message quotes it: at most `limit` characters, a
    newline or other control character escaped (`\\n`), so the message stays one line a log can hold."""
    text = text[:limit]
    return text if text.isprintable() else json.dumps(text)[1:-1]


def internal_error() -> HTTPFailure:
    return HTTPFailure(500, "internal error in protoshift (see its log)", "internal")
