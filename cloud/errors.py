"""The errors cloud/ raises, and how a provider's error response becomes one of them.

They carry facts, not advice: which backend, what kind of failure, the HTTP status and error type,
the provider's request id, how long the server asked us to wait (`retry_after`), how many attempts
were made. What a failure means for a user (an exit code, a hint naming a flag) is the CLI's
business (cli/exits.py), so cloud/ stays usable from any program.

- `ConfigurationError`: the call could not be made as configured (no key, a bad base URL, a key
  about to travel in clear text). Nothing was sent.
- `BackendError`: the provider or the network failed. Three facts the machinery acts on:
  `retryable` (the retry loop tries again), `breaker_scope` (a failure for the host's circuit
  breaker, for the model's, or for neither), `allows_fallback` (a fallback chain may move on to the
  next backend).
- `FallbackExceptionGroup`: every backend of a chain failed; holds each failure.

Every message is one line. Messages never contain a key.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar, Literal, NamedTuple

from protoshift.cloud.retry import is_retryable_status, retry_after_seconds
from protoshift.translator.checks import printable
from protoshift.translator.wire import API_NAMES

__all__ = [
    "APIConnectionError",
    "APIMismatchError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BackendError",
    "CircuitOpenError",
    "CloudError",
    "ConfigurationError",
    "ConflictError",
    "ErrorBody",
    "ErrorKind",
    "FallbackExceptionGroup",
    "InsecureTransportError",
    "InvalidBaseURLError",
    "InvalidKeyError",
    "InvalidRequestError",
    "MissingKeyError",
    "NotFoundError",
    "OverloadedError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeout",
    "ResponseFormatError",
    "ServerError",
    "StreamInterruptedError",
    "UnknownBackendError",
    "UnusableBackendError",
    "error_from_response",
    "error_from_stream_event",
    "parse_error_body",
]


class CloudError(Exception):
    """Root of everything cloud/ raises on purpose."""


class ConfigurationError(CloudError):
    """The backend cannot be used as configured. Nothing was sent. `setting` names what to change
    (an environment variable or option name), when one thing does."""

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        self.message = message
        self.setting = setting
        super().__init__(message)


class MissingKeyError(ConfigurationError):
    """The backend needs a key and none was given."""

    def __init__(self, backend: str, key_env: str) -> None:
        self.backend = backend
        super().__init__(f"{backend}: no API key ({key_env} is not set)", setting=key_env)


class InvalidKeyError(ConfigurationError):
    """A key that cannot be sent as a header value: it holds a control character (a line break, a
    tab), whitespace or a character outside ASCII. Nothing of the key is in the message: only where
    it came from (`setting`), what was found (`character`) and where in the key (`place`)."""

    def __init__(self, backend: str, setting: str, character: str, place: str) -> None:
        self.backend = backend
        self.character = character
        self.place = place
        super().__init__(f"{backend}: the key from {setting} contains {character} {place}", setting=setting)


class InsecureTransportError(ConfigurationError):
    """A key would travel in clear text (`http://` to a host that is not loopback)."""

    def __init__(self, backend: str, host: str) -> None:
        self.backend = backend
        self.host = host
        super().__init__(f"{backend}: refusing to send the API key in clear text to {host} over http://")


class InvalidBaseURLError(ConfigurationError):
    """A base URL that is not `http(s)://host[:port][/path]`."""


class UnknownBackendError(ConfigurationError):
    def __init__(self, name: str, known: Sequence[str]) -> None:
        self.name = name
        self.known = tuple(known)
        super().__init__(f"unknown backend {name!r} (known: {', '.join(known)})")


class APIMismatchError(ConfigurationError):
    """A caller speaking `api` cannot reach `backend`, which speaks `speaks` and no bridge joins the two
    (a backend that speaks OpenAI Responses only, asked a Chat Completions request). Nothing was sent."""

    def __init__(self, backend: str, api: str, speaks: str) -> None:
        self.backend = backend
        self.api = api
        self.speaks = speaks
        names: Mapping[str, str] = API_NAMES
        super().__init__(
            f"backend {backend!r} speaks {names.get(speaks, speaks)} only:"
            f" an {names.get(api, api)} request cannot be sent to it"
        )


ErrorKind = Literal["status", "connection", "timeout", "circuit_open", "stream_interrupted", "bad_response", "fallback"]


class BackendError(CloudError):
    """The provider or the network failed. One-line `str()`; `summary` is the short reason."""

    kind: ClassVar[ErrorKind] = "connection"
    message: str
    retryable: bool = False
    allows_fallback: bool = False
    # Which breaker this failure counts for (cloud.breaker): the host's (the server or the network is
    # down) or the model's (that model is overloaded); None: it counts as neither.
    breaker_scope: Literal["host", "model"] | None = None

    @property
    def trips_breaker(self) -> bool:
        return self.breaker_scope is not None

    def __init__(self, backend: str, message: str, *, request_id: str | None = None) -> None:
        self.backend = backend
        self.message = _one_line(message)
        self.request_id = request_id
        self.attempts = 1  # set by the retry loop when it gives up
        super().__init__(self.message)

    @property
    def retry_after(self) -> float | None:
        """Seconds the provider asked callers to wait before trying again, when it said."""
        return None

    @property
    def summary(self) -> str:
        """The reason in a few words, for retry and fallback lines: `529 overloaded_error`."""
        return self.message

    def _attempts_suffix(self) -> str:
        return f" after {self.attempts} attempts" if self.attempts > 1 else ""

    def __str__(self) -> str:
        return f"{self.backend}: {self.message}{self._attempts_suffix()}"


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
    unless the server said otherwise (`x-should-retry`). `error_type` is its error's type (its code when
    it names no type); `code` and `param`, the error's own `code` and `param` when it said them
    (OpenAI's: `rate_limit_exceeded`, `context_length_exceeded`, ...; Anthropic's errors have none)."""

    kind: ClassVar[ErrorKind] = "status"

    def __init__(
        self,
        backend: str,
        status: int,
        error_type: str,
        message: str,
        request_id: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        retryable: bool | None = None,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        self.status = status
        self.error_type = error_type
        self.code = code
        self.param = param
        self.headers: Mapping[str, str] = dict(headers or {})
        self.retryable = is_retryable_status(status) if retryable is None else retryable
        super().__init__(backend, message, request_id=request_id)

    @property
    def retry_after(self) -> float | None:
        return retry_after_seconds(self.headers)

    @property
    def breaker_scope(self) -> Literal["host", "model"] | None:  # type: ignore[override]
        if self.status == 529:  # overloaded: that model, not the server
            return "model"
        return "host" if self.status >= 500 else None

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
        return text + self._attempts_suffix()


class InvalidRequestError(APIStatusError):
    """400, 413, 422: sending it again fails the same way."""


class AuthenticationError(APIStatusError):
    """401: the key was refused."""


class PermissionDeniedError(APIStatusError):
    """403: the key has no access to this model or endpoint."""


class NotFoundError(APIStatusError):
    """404: the model or the endpoint does not exist there."""


class ConflictError(APIStatusError):
    """409."""


class RequestTimeout(APIStatusError):
    """408: the server gave up waiting."""


class RateLimitError(APIStatusError):
    """429."""


class ServerError(APIStatusError):
    """5xx."""


class OverloadedError(ServerError):
    """529: Anthropic's "overloaded"."""


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

    kind: ClassVar[ErrorKind] = "connection"
    retryable = True
    breaker_scope = "host"
    allows_fallback = True


class APITimeoutError(APIConnectionError):
    """The provider did not answer within a time limit. `limit`: which one ran out, when it was one of
    the attempt's own (`total`: the attempt's timeout, `idle`: a stream's idle limit), with `seconds`."""

    kind: ClassVar[ErrorKind] = "timeout"

    def __init__(
        self,
        backend: str,
        message: str = "request timed out",
        *,
        request_id: str | None = None,
        limit: Literal["total", "idle"] | None = None,
        seconds: float | None = None,
    ) -> None:
        self.limit = limit
        self.seconds = seconds
        super().__init__(backend, message, request_id=request_id)


class UnusableBackendError(BackendError):
    """A fallback the chain reached that could not be set up as configured (no key, a key it may not
    send over http://...): nothing was sent. The chain goes on to the next one."""

    kind: ClassVar[ErrorKind] = "connection"
    allows_fallback = True

    def __init__(self, backend: str, reason: str) -> None:
        super().__init__(backend, f"cannot be used: {reason}")

    @property
    def summary(self) -> str:
        return "cannot be used"


class CircuitOpenError(BackendError):
    """The breaker is open: recent calls to this backend (or to this model of it: `model`) failed, so
    this one was not sent. `probing`: the cool-down is over and one request is testing the way."""

    kind: ClassVar[ErrorKind] = "circuit_open"
    allows_fallback = True

    def __init__(self, backend: str, retry_in_seconds: int, *, model: str | None = None, probing: bool = False) -> None:
        self.retry_in_seconds = retry_in_seconds
        self.model = model
        self.probing = probing
        who = backend if model is None else f"{backend} model {model}"
        testing = "; one request is testing it now" if probing else ""
        super().__init__(backend, f"circuit open for {who}, retry in {retry_in_seconds}s{testing}")

    @property
    def retry_after(self) -> float | None:
        return float(self.retry_in_seconds)

    @property
    def summary(self) -> str:
        return "circuit open"

    def __str__(self) -> str:
        return self.message


class StreamInterruptedError(BackendError):
    """A stream failed after output had been given out (an `error` event, or the connection cut).
    The chunks already given out stay given out; nothing is retried and no fallback is tried."""

    kind: ClassVar[ErrorKind] = "stream_interrupted"

    # Mid-stream error types that mean the provider is in trouble, and which breaker they count for.
    _BREAKER_SCOPES: ClassVar[Mapping[str, Literal["host", "model"]]] = {
        "overloaded_error": "model",
        "api_error": "host",
        "connection_error": "host",
        "timeout_error": "host",
    }

    def __init__(self, backend: str, error_type: str, message: str, request_id: str | None = None) -> None:
        self.error_type = error_type
        super().__init__(backend, message, request_id=request_id)

    @property
    def breaker_scope(self) -> Literal["host", "model"] | None:  # type: ignore[override]
        return self._BREAKER_SCOPES.get(self.error_type)

    @property
    def summary(self) -> str:
        return f"stream interrupted: {self.error_type}"

    def __str__(self) -> str:
        text = f"{self.backend}: stream interrupted: {self.error_type}"
        if self.message and self.message != self.error_type:
            text += f": {self.message}"
        if self.request_id:
            text += f" (request {self.request_id})"
        return text


class ResponseFormatError(BackendError):
    """The provider answered 2xx with something that is not the protocol (HTML, invalid JSON)."""

    kind: ClassVar[ErrorKind] = "bad_response"
    allows_fallback = True


class FallbackExceptionGroup(ExceptionGroup[BackendError], BackendError):  # type: ignore[override]
    """Every backend of a fallback chain failed: `exceptions` holds each one's failure, in order.

    Also a `BackendError` (so whoever handles one handles this), named after the first backend;
    none of its flags is set: the chain already tried everything it could."""

    kind: ClassVar[ErrorKind] = "fallback"

    def __init__(self, message: str, exceptions: Sequence[BackendError]) -> None:
        # BaseExceptionGroup.__new__ stored message and exceptions; `message` is read-only there.
        self.backend = exceptions[0].backend
        self.request_id = None
        self.attempts = sum(error.attempts for error in exceptions)

    def derive(self, excs: Sequence[BackendError]) -> FallbackExceptionGroup:  # type: ignore[override]
        return FallbackExceptionGroup(self.message, excs)

    @property
    def failures(self) -> tuple[BackendError, ...]:
        """Each backend's failure, in the order they were tried."""
        return tuple(error for error in self.exceptions if isinstance(error, BackendError))

    @property
    def summary(self) -> str:
        return "; ".join(error.summary for error in self.failures)

    def __str__(self) -> str:
        return f"{self.message}: " + "; ".join(str(error) for error in self.failures)


# --- parsing error responses --------------------------------------------------------------------

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_MAX_MESSAGE = 300


def _one_line(text: str) -> str:
    text = printable(" ".join(text.split()))
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


class ErrorBody(NamedTuple):
    """What an error response says: its type (its code when it names no type; else the status's), its
    message, the request id; and its own `code` and `param`, when it says them (strings only: vLLM's
    `code` is the HTTP status again)."""

    error_type: str
    message: str
    request_id: str | None
    code: str | None = None
    param: str | None = None


def parse_error_body(status: int, body: bytes, headers: Mapping[str, str]) -> ErrorBody:
    """The `ErrorBody` of any error response: Anthropic's `{"type":"error","error":{"type","message"},
    "request_id"}`, OpenAI's `{"error":{"message","type","param","code"}}`, `{"error": "text"}` (Ollama), a
    top-level `{"message","type","param","code"}` (vLLM), or no JSON at all (an HTML page)."""
    error_type = ""
    message = ""
    request_id: str | None = None
    fields: Mapping[str, Any] = {}  # where the error's own code and param are
    data: Any = None
    try:
        data = json.loads(body) if body else None
    except (ValueError, RecursionError):  # not JSON, or nested past what Python parses
        data = None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            error_type = _str(err.get("type")) or _str(err.get("code"))
            message = _str(err.get("message"))
            fields = err
        elif isinstance(err, str):
            message = err
        else:
            error_type = _str(data.get("type")) if data.get("type") != "error" else ""
            message = _str(data.get("message")) or _str(data.get("detail"))
            fields = data
        request_id = _str(data.get("request_id")) or None
    elif body:
        message = _text_of(body)
    reason = _reason(status)
    if not error_type:
        error_type = _STATUS_ERROR_TYPE.get(status, "")
    if not message:
        message = reason
    request_id = request_id or headers.get("request-id") or headers.get("x-request-id") or None
    return ErrorBody(
        printable(error_type),
        _one_line(message),
        printable(request_id) if request_id else None,
        _said(fields.get("code")),
        _said(fields.get("param")),
    )


def _said(value: object) -> str | None:
    """An error's `code` or `param` as it said it: a non-empty string, one printable line; else None."""
    if not isinstance(value, str):
        return None
    return _one_line(value) or None


def _str(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    try:
        return str(value)[:_MAX_MESSAGE]
    except (ValueError, RecursionError):  # an integer of thousands of digits, nesting Python cannot print
        return type(value).__name__


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


def error_from_response(backend: str, status: int, body: bytes, headers: Mapping[str, str]) -> APIStatusError:
    """The typed error for an error response. `x-should-retry: true|false` overrides the status rule."""
    said = parse_error_body(status, body, headers)
    should_retry = headers.get("x-should-retry")
    retryable = {"true": True, "false": False}.get(should_retry) if should_retry else None
    cls = status_error_class(status)
    return cls(
        backend,
        status,
        said.error_type,
        said.message,
        said.request_id,
        headers=headers,
        retryable=retryable,
        code=said.code,
        param=said.param,
    )


def error_from_stream_event(
    backend: str, error_type: str, message: str, request_id: str | None = None
) -> APIStatusError:
    """An `error` event that came before any output, as the status error it stands for
    (`overloaded_error` ~ 529, `api_error` ~ 500), so that it is retried like one."""
    status = ERROR_TYPE_STATUS.get(error_type, 500)
    return status_error_class(status)(backend, status, error_type, message or error_type, request_id)
