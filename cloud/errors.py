"""The errors cloud/ raises, and how a provider's error response becomes one of them.

Two families, told apart by `exit_code` (what the CLI exits with):

- `BackendError` (exit 1): the provider or the network failed. Each carries the backend name and
  three flags the machinery and the CLI act on: `retryable` (the retry loop tries again),
  `trips_breaker` (counts as a failure for the circuit breaker), `allows_fallback` (a fallback
  chain may move on to the next backend).
- `ConfigurationError` (exit 2): the call could not be made as configured (missing key, bad base
  URL, a key about to be sent in clear text). Nothing was sent.

Every message is one line: what failed, then what to do. Messages never contain a key.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, ClassVar

from protoshift.cloud.retry import is_retryable_status

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BackendError",
    "CircuitOpenError",
    "CloudError",
    "ConfigurationError",
    "ConflictError",
    "InsecureTransportError",
    "InvalidRequestError",
    "NotFoundError",
    "OverloadedError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeout",
    "ResponseFormatError",
    "ServerError",
    "StreamInterruptedError",
    "error_from_response",
    "error_from_stream_event",
    "parse_error_body",
]


class CloudError(Exception):
    """Root of everything cloud/ raises on purpose. `exit_code` is the CLI's exit status for it."""

    exit_code: ClassVar[int] = 1


class ConfigurationError(CloudError):
    """The backend cannot be used as configured (missing key, bad base URL). Nothing was sent."""

    exit_code: ClassVar[int] = 2


class InsecureTransportError(ConfigurationError):
    """A key would travel in clear text (`http://` to a host that is not loopback)."""


class BackendError(CloudError):
    """The provider or the network failed. One-line `str()`; `summary` is the short reason."""

    exit_code: ClassVar[int] = 1
    retryable: bool = False
    trips_breaker: bool = False
    allows_fallback: bool = False

    def __init__(self, backend: str, message: str, *, hint: str = "") -> None:
        self.backend = backend
        self.message = _one_line(message)
        self.hint = hint
        self.attempts = 1  # set by the retry loop when it gives up
        super().__init__(self.message)

    @property
    def summary(self) -> str:
        """The reason in a few words, for retry and fallback lines: `529 overloaded_error`."""
        return self.message

    def _attempts_suffix(self) -> str:
        return f" after {self.attempts} attempts" if self.attempts > 1 else ""

    def __str__(self) -> str:
        text = f"{self.backend}: {self.message}{self._attempts_suffix()}"
        return f"{text} — {self.hint}" if self.hint else text


# --- HTTP status errors -------------------------------------------------------------------------

# One table: an Anthropic/OpenAI `error.type` and the HTTP status it stands for. Used to name the
# type of a body that carries none, and to turn a stream `error` event into a status error.
ERROR_TYPE_STATUS: Mapping[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
_STATUS_ERROR_TYPE: Mapping[int, str] = {status: kind for kind, status in ERROR_TYPE_STATUS.items()}


class APIStatusError(BackendError):
    """The provider answered with an error status. `retryable` follows the SDK rule for the status
    unless the server said otherwise (`x-should-retry`)."""

    default_hint: ClassVar[str] = ""

    def __init__(
        self,
        backend: str,
        status: int,
        error_type: str,
        message: str,
        request_id: str | None = None,
        *,
        hint: str | None = None,
        headers: Mapping[str, str] | None = None,
        retryable: bool | None = None,
    ) -> None:
        self.status = status
        self.error_type = error_type
        self.request_id = request_id
        self.headers: Mapping[str, str] = dict(headers or {})
        if retryable is None:
            retryable = is_retryable_status(status)
        self.retryable = retryable
        super().__init__(backend, message, hint=self.default_hint if hint is None else hint)

    @property
    def trips_breaker(self) -> bool:  # type: ignore[override]
        return self.status >= 500

    @property
    def allows_fallback(self) -> bool:  # type: ignore[override]
        return is_retryable_status(self.status)

    @property
    def summary(self) -> str:
        return f"{self.status} {self.error_type or _reason(self.status)}"

    def __str__(self) -> str:
        summary = self.summary
        text = f"{self.backend}: {summary}"
        if self.message and self.message not in (self.error_type, _reason(self.status), summary):
            text += f": {self.message}"
        if self.request_id:
            text += f" (request {self.request_id})"
        text += self._attempts_suffix()
        return f"{text} — {self.hint}" if self.hint else text


class InvalidRequestError(APIStatusError):
    default_hint = "fix the request; it will fail the same way if sent again"


class AuthenticationError(APIStatusError):
    default_hint = "check the API key"


class PermissionDeniedError(APIStatusError):
    default_hint = "check that the key has access to this model and endpoint"


class NotFoundError(APIStatusError):
    default_hint = "check the model name and the base URL"


class ConflictError(APIStatusError):
    default_hint = "retry later"


class RequestTimeout(APIStatusError):
    default_hint = "retry later, or raise --timeout"


class RateLimitError(APIStatusError):
    default_hint = "wait and retry, lower the request rate, or add a --fallback"


class ServerError(APIStatusError):
    default_hint = "the provider failed; retry later or add a --fallback"


class OverloadedError(ServerError):
    default_hint = "the provider is overloaded; retry later or add a --fallback"


# One table: which class stands for which status (anything else >= 500 is a ServerError).
_STATUS_CLASS: Mapping[int, type[APIStatusError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: RequestTimeout,
    409: ConflictError,
    413: InvalidRequestError,
    422: InvalidRequestError,
    429: RateLimitError,
    529: OverloadedError,
}


def status_error_class(status: int) -> type[APIStatusError]:
    cls = _STATUS_CLASS.get(status)
    if cls is not None:
        return cls
    return ServerError if status >= 500 else APIStatusError


# --- transport-level errors ---------------------------------------------------------------------


class APIConnectionError(BackendError):
    """No usable answer: the connection failed, was refused or cut before any output."""

    retryable = True
    trips_breaker = True
    allows_fallback = True

    def __init__(self, backend: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(backend, message, hint="check the network and the base URL" if hint is None else hint)


class APITimeoutError(APIConnectionError):
    """The provider did not answer within the timeout."""

    def __init__(self, backend: str, message: str = "request timed out", *, hint: str | None = None) -> None:
        super().__init__(backend, message, hint="retry later, or raise --timeout" if hint is None else hint)


class CircuitOpenError(BackendError):
    """The breaker is open: recent calls to this backend failed, so this one was not sent."""

    allows_fallback = True

    def __init__(self, backend: str, retry_in_seconds: int) -> None:
        self.retry_in_seconds = retry_in_seconds
        super().__init__(backend, f"circuit open for {backend}, retry in {retry_in_seconds}s")

    @property
    def summary(self) -> str:
        return "circuit open"

    def __str__(self) -> str:
        return self.message


class StreamInterruptedError(BackendError):
    """A stream failed after output had been given out (an `error` event, or the connection cut).
    The chunks already given out stay given out; nothing is retried and no fallback is tried."""

    # Mid-stream error types that mean the provider is in trouble (they count for the breaker).
    _BREAKER_TYPES: ClassVar[frozenset[str]] = frozenset(
        {"overloaded_error", "api_error", "connection_error", "timeout_error"}
    )

    def __init__(self, backend: str, error_type: str, message: str, request_id: str | None = None) -> None:
        self.error_type = error_type
        self.request_id = request_id
        super().__init__(backend, message, hint="the output above is incomplete; run the request again")

    @property
    def trips_breaker(self) -> bool:  # type: ignore[override]
        return self.error_type in self._BREAKER_TYPES

    @property
    def summary(self) -> str:
        return f"stream interrupted: {self.error_type}"

    def __str__(self) -> str:
        text = f"{self.backend}: stream interrupted: {self.error_type}"
        if self.message and self.message != self.error_type:
            text += f": {self.message}"
        if self.request_id:
            text += f" (request {self.request_id})"
        return f"{text} — {self.hint}"


class ResponseFormatError(BackendError):
    """The provider answered 2xx with something that is not the protocol (HTML, invalid JSON)."""

    allows_fallback = True

    def __init__(self, backend: str, message: str) -> None:
        super().__init__(backend, message, hint="check the base URL points at the right API")


# --- parsing error responses --------------------------------------------------------------------

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_MAX_MESSAGE = 300


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def parse_error_body(status: int, body: bytes, headers: Mapping[str, str]) -> tuple[str, str, str | None]:
    """`(error_type, message, request_id)` from any error response: Anthropic's
    `{"type":"error","error":{"type","message"},"request_id"}`, OpenAI's `{"error":{"message","type","code"}}`,
    `{"error": "text"}` (Ollama), a top-level `{"message","type"}` (vLLM), or no JSON at all (an HTML page)."""
    error_type = ""
    message = ""
    request_id: str | None = None
    data: Any = None
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            error_type = _str(err.get("type")) or _str(err.get("code"))
            message = _str(err.get("message"))
        elif isinstance(err, str):
            message = err
        else:
            error_type = _str(data.get("type")) if data.get("type") != "error" else ""
            message = _str(data.get("message")) or _str(data.get("detail"))
        request_id = _str(data.get("request_id")) or None
    elif body:
        message = _text_of(body)
    reason = _reason(status)
    if not error_type:
        error_type = _STATUS_ERROR_TYPE.get(status, "")
    if not message:
        message = reason
    request_id = request_id or headers.get("request-id") or headers.get("x-request-id") or None
    return error_type, _one_line(message), request_id


def _str(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return str(value)


def _reason(status: int) -> str:
    if status == 529:
        return "Overloaded"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def _text_of(body: bytes) -> str:
    """A readable line out of a non-JSON body: an HTML page's <title>, or its first text."""
    match = _TITLE.search(body[:65536])
    raw = match.group(1) if match else body[:2048]
    text = html.unescape(_TAG.sub(" ", raw.decode("utf-8", errors="replace")))
    return _one_line(text)


def error_from_response(
    backend: str,
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    *,
    key_env: str | None = None,
) -> APIStatusError:
    """The typed error for an error response. `x-should-retry: true|false` overrides the status rule."""
    error_type, message, request_id = parse_error_body(status, body, headers)
    should_retry = headers.get("x-should-retry")
    retryable = {"true": True, "false": False}.get(should_retry) if should_retry else None
    cls = status_error_class(status)
    hint: str | None = None
    if cls is AuthenticationError and key_env:
        hint = f"check {key_env}"
    return cls(backend, status, error_type, message, request_id, hint=hint, headers=headers, retryable=retryable)


def error_from_stream_event(
    backend: str, error_type: str, message: str, request_id: str | None = None
) -> APIStatusError:
    """An `error` event that came before any output, as the status error it stands for
    (`overloaded_error` ~ 529, `api_error` ~ 500), so that it is retried like one."""
    status = ERROR_TYPE_STATUS.get(error_type, 500)
    return status_error_class(status)(backend, status, error_type, message or error_type, request_id)
