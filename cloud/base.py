"""The machinery every HTTP backend shares: one `httpx.AsyncClient`, retries, the breaker, events.

A backend subclass supplies the URL, headers and body of a call and, for streams, a `StreamHandler`
that turns each decoded SSE event into output chunks. `HTTPBackend` does the rest:

- `_send_json`: POST, retrying as `RetryPolicy` says, every attempt gated and scored by the breaker.
- `_send_stream`: the same until the first chunk has been given out to the caller; after that a
  failure is a `StreamInterruptedError` and nothing is retried. Chunks are yielded as each read
  arrives (no buffering: time to first chunk matters).
- Events: `retry` per retry, `breaker` when it opens/closes, and the `-v` trace (`request` with
  headers redacted, `response` with status and request id).
"""

from __future__ import annotations

import asyncio
import contextvars
import ipaddress
import json
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

import httpx

from protoshift.cloud.breaker import CircuitBreaker, FileStore, Permit
from protoshift.cloud.errors import (
    APIConnectionError,
    APITimeoutError,
    BackendError,
    ConfigurationError,
    InsecureTransportError,
    ResponseFormatError,
    StreamInterruptedError,
    error_from_response,
    error_from_stream_event,
)
from protoshift.cloud.events import CloudEvent, EventKind, EventSink, ignore_events
from protoshift.cloud.retry import RetryPolicy
from protoshift.translator.errors import IncompleteStreamError, UpstreamStreamError
from protoshift.translator.sse import JSONEventDecoder, SSEDataError

__all__ = [
    "Backend",
    "HTTPBackend",
    "PreparedRequest",
    "Secret",
    "StreamHandler",
    "is_loopback",
    "last_request_id",
    "redact_headers",
    "shape_request",
]

T = TypeVar("T")
JSON = dict[str, Any]
Sleep = Callable[[float], Awaitable[None]]

CONNECT_TIMEOUT = 10.0
USER_AGENT = "protoshift/0.1.0"

# The provider's request id of the last response this task received (`request-id`/`x-request-id`),
# for callers that report it per request (`batch run`). A ContextVar: each asyncio task sees its own.
last_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("last_request_id", default=None)

# Header names whose values are secrets: shown as `***` in every log and dry run.
_SECRET_HEADERS = frozenset({"x-api-key", "authorization", "api-key", "proxy-authorization", "cookie"})


class Backend(Protocol):
    """What every backend offers. All take and give OpenAI Chat Completions format."""

    @property
    def name(self) -> str: ...

    async def complete(self, request: Mapping[str, Any]) -> JSON: ...

    def stream(self, request: Mapping[str, Any]) -> AsyncGenerator[JSON, None]: ...

    def prepare(self, request: Mapping[str, Any]) -> PreparedRequest: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """The upstream request a call would send (`--dry-run`): headers with keys as `***`."""

    method: str
    url: str
    headers_redacted: dict[str, str]
    body: JSON


class Secret:
    """A key that does not show itself in reprs, f-strings or tracebacks' locals."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower() in _SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value else ""
            out[name] = f"{scheme} ***" if scheme else "***"
        else:
            out[name] = value
    return out


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and `localhost`."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_base_url(raw: str, setting: str) -> httpx.URL:
    """A base URL as `http(s)://host[:port][/path]`, without a trailing slash."""
    try:
        url = httpx.URL(raw.strip())
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigurationError(f"bad base URL {raw!r}: {exc} — set {setting} or --base-url") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(
            f"bad base URL {_safe_url(url)!r}: expected http:// or https:// and a host — set {setting} or --base-url"
        )
    return url.copy_with(path=url.path.rstrip("/") or "/", query=None, fragment=None)


def _safe_url(url: httpx.URL) -> str:
    """A URL for display: no password."""
    if url.password:
        url = url.copy_with(password="***")
    return str(url)


def shape_request(request: Mapping[str, Any], *, model: str | None, stream: bool) -> JSON:
    """The caller's OpenAI request as a backend sends it: its `model` override applied, and `stream`
    (with `stream_options`) set or removed to match the call."""
    shaped = dict(request)
    if model:
        shaped["model"] = model
    if stream:
        shaped["stream"] = True
    else:
        shaped.pop("stream", None)
        shaped.pop("stream_options", None)
    return shaped


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f}ms" if seconds < 0.1 else f"{seconds:.1f}s"


class StreamHandler(Protocol):
    """Turns each decoded SSE event into output chunks. `feed` raises `UpstreamStreamError` on an
    error event; `close` raises `IncompleteStreamError` when the stream did not end properly."""

    finished: bool

    def feed(self, event: JSON) -> list[JSON]: ...

    def close(self) -> list[JSON]: ...


@dataclass(slots=True)
class _Attempt:
    """Bookkeeping of one call across its attempts."""

    retries_taken: int = 0
    started: bool = False
    request_id: str | None = field(default=None)


class HTTPBackend:
    """Shared HTTP machinery. Subclasses set `name` and `key_env` and build requests."""

    name: str = "http"
    key_env: str = "API_KEY"
    base_url_env: str = "BASE_URL"

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        key_required: bool = True,
        timeout: float = 600.0,
        max_retries: int = 2,
        breaker: bool | CircuitBreaker = True,
        breaker_dir: Path | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        on_event: EventSink | None = None,
        sleep: Sleep | None = None,
        retry_policy: RetryPolicy | None = None,
        clock: Callable[[], float] | None = None,
        allow_insecure: bool = False,
    ) -> None:
        url = parse_base_url(base_url, self.base_url_env)
        if not api_key and key_required:
            raise ConfigurationError(
                f"{self.name}: no API key — set {self.key_env} (or pass an api_key in the config file)"
            )
        if api_key and url.scheme == "http" and not is_loopback(url.host) and not allow_insecure:
            raise InsecureTransportError(
                f"{self.name}: refusing to send the API key in clear text to {url.host} over http:// —"
                " use https://, a loopback address, or --allow-insecure"
            )
        self.base_url = str(url).rstrip("/")
        self._key = Secret(api_key or "")
        self.timeout = timeout
        self.retry_policy = retry_policy or RetryPolicy(max_retries=max_retries)
        self._on_event: EventSink = on_event or ignore_events
        self._sleep: Sleep = sleep or asyncio.sleep
        self.breaker: CircuitBreaker | None
        if isinstance(breaker, CircuitBreaker):
            self.breaker = breaker
        elif breaker:
            self.breaker = CircuitBreaker(
                self.name,
                FileStore(self.name, self.base_url, breaker_dir),
                clock=clock or time.time,
                on_change=lambda message: self._emit("breaker", message),
            )
        else:
            self.breaker = None
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT),
            headers={"user-agent": USER_AGENT},
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, base_url={_safe_url(httpx.URL(self.base_url))!r})"

    # -- lifecycle -------------------------------------------------------------------------------

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- events and secrets ----------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        key = self._key.reveal()
        return text.replace(key, "***") if key and len(key) >= 4 else text

    def _emit(self, kind: EventKind, message: str) -> None:
        self._on_event(CloudEvent(kind, self._scrub(message), self.name))

    def _log_request(self, method: str, url: str, headers: Mapping[str, str]) -> None:
        shown = ", ".join(f"{k}: {v}" for k, v in redact_headers(headers).items())
        self._emit("request", f"{self.name}: {method} {_safe_url(httpx.URL(url))} [{shown}]")

    def _log_response(self, response: httpx.Response, started: float) -> None:
        rid = response.headers.get("request-id") or response.headers.get("x-request-id")
        last_request_id.set(rid)
        text = f"{self.name}: {response.status_code} {response.reason_phrase}".rstrip()
        if rid:
            text += f" (request {rid})"
        self._emit("response", f"{text} in {time.perf_counter() - started:.2f}s")

    # -- breaker ---------------------------------------------------------------------------------

    def _acquire(self) -> Permit | None:
        return self.breaker.acquire() if self.breaker else None

    def _score(self, permit: Permit | None, error: BackendError | None) -> None:
        """Tell the breaker how an attempt went: a success, a failure, or neither (429)."""
        if self.breaker is None or permit is None:
            return
        if error is None:
            self.breaker.success(permit)
        elif error.trips_breaker:
            self.breaker.failure(permit)
        elif getattr(error, "status", None) == 429 or not hasattr(error, "status"):
            self.breaker.neutral(permit)
        else:  # any other answer from the server (a 4xx): it is up
            self.breaker.success(permit)

    # -- errors ----------------------------------------------------------------------------------

    def _transport_error(self, exc: httpx.TransportError) -> BackendError:
        if isinstance(exc, httpx.TimeoutException):
            error: BackendError = APITimeoutError(self.name, f"request timed out ({type(exc).__name__})")
        else:
            detail = str(exc) or type(exc).__name__
            error = APIConnectionError(self.name, f"connection error ({type(exc).__name__}: {detail})")
        error.__cause__ = exc
        return self._scrubbed(error)

    def _scrubbed(self, error: BackendError) -> BackendError:
        error.message = self._scrub(error.message)
        error.args = (error.message,)
        return error

    def _status_error(self, response: httpx.Response) -> BackendError:
        return self._scrubbed(
            error_from_response(
                self.name, response.status_code, response.content, response.headers, key_env=self.key_env
            )
        )

    async def _before_retry(self, state: _Attempt, error: BackendError) -> bool:
        """Sleep and report when `error` gets another attempt; False when it does not."""
        if not error.retryable or state.retries_taken >= self.retry_policy.max_retries:
            error.attempts = state.retries_taken + 1
            return False
        headers: Mapping[str, str] | None = getattr(error, "headers", None)
        delay = self.retry_policy.delay(state.retries_taken, headers)
        state.retries_taken += 1
        self._emit(
            "retry",
            f"{self.name}: {error.summary}, retrying in {_duration(delay)}"
            f" (attempt {state.retries_taken + 1} of {self.retry_policy.max_attempts})",
        )
        await self._sleep(delay)
        return True

    # -- sending ---------------------------------------------------------------------------------

    @staticmethod
    def _encode(body: Mapping[str, Any]) -> bytes:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

    async def _send_json(
        self,
        url: str,
        headers: dict[str, str],
        body: Mapping[str, Any] | bytes | None,
        *,
        method: str = "POST",
    ) -> JSON:
        """Send `body` (a JSON object, bytes already encoded, or nothing), retrying; the parsed JSON
        object of the 2xx answer."""
        content = body if body is None or isinstance(body, bytes) else self._encode(body)
        state = _Attempt()
        while True:
            permit = self._acquire()
            error: BackendError | None = None
            try:
                self._log_request(method, url, headers)
                started = time.perf_counter()
                try:
                    response = await self._client.request(method, url, content=content, headers=headers)
                except httpx.TransportError as exc:
                    error = self._transport_error(exc)
                else:
                    self._log_response(response, started)
                    if not response.is_success:
                        error = self._status_error(response)
                    else:
                        self._score(permit, None)
                        return self._parse_json(response)
            except BaseException:
                if self.breaker and permit:
                    self.breaker.neutral(permit)
                raise
            self._score(permit, error)
            if not await self._before_retry(state, error):
                raise error

    def _parse_json(self, response: httpx.Response) -> JSON:
        try:
            data = json.loads(response.content)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            ctype = response.headers.get("content-type", "?")
            raise self._scrubbed(
                ResponseFormatError(self.name, f"{response.status_code} answer is not a JSON object ({ctype})")
            )
        return data

    async def _send_stream(
        self, url: str, headers: dict[str, str], body: Mapping[str, Any], handler: Callable[[], StreamHandler]
    ) -> AsyncGenerator[JSON, None]:
        """POST `body` and yield the chunks `handler` makes of the SSE events, as they arrive.
        Retried like `_send_json` until the first chunk is out; after that a failure raises
        `StreamInterruptedError` and the chunks given out stay given out."""
        content = self._encode(body)
        state = _Attempt()
        while True:
            permit = self._acquire()
            error: BackendError | None = None
            try:
                self._log_request("POST", url, headers)
                started = time.perf_counter()
                try:
                    async with self._client.stream("POST", url, content=content, headers=headers) as response:
                        self._log_response(response, started)
                        state.request_id = response.headers.get("request-id") or response.headers.get("x-request-id")
                        if not response.is_success:
                            await response.aread()
                            error = self._status_error(response)
                        else:
                            decoder = JSONEventDecoder()
                            events = handler()
                            async for raw in response.aiter_bytes():
                                for event in decoder.iter_feed(raw):
                                    for chunk in events.feed(event):
                                        state.started = True
                                        yield chunk
                                if events.finished:
                                    break
                            if not events.finished:
                                for event in decoder.close():
                                    for chunk in events.feed(event):
                                        state.started = True
                                        yield chunk
                            for chunk in events.close():
                                state.started = True
                                yield chunk
                            self._score(permit, None)
                            return
                except httpx.TransportError as exc:
                    error = self._stream_failure(state, self._transport_error(exc), "connection_error")
                except UpstreamStreamError as exc:
                    if state.started:
                        error = StreamInterruptedError(self.name, exc.error_type, exc.message, state.request_id)
                    else:
                        error = error_from_stream_event(self.name, exc.error_type, exc.message, state.request_id)
                    error.__cause__ = exc
                    error = self._scrubbed(error)
                except IncompleteStreamError as exc:
                    cut = APIConnectionError(self.name, f"connection error ({exc.reason})")
                    cut.__cause__ = exc
                    error = self._stream_failure(state, cut, "connection_error")
                except SSEDataError as exc:
                    bad: BackendError = ResponseFormatError(self.name, f"invalid stream: {exc}")
                    if state.started:
                        bad = StreamInterruptedError(self.name, "invalid_stream", str(exc), state.request_id)
                    bad.__cause__ = exc
                    error = self._scrubbed(bad)
            except BaseException:
                # The caller stopped early (or was cancelled): output that flowed proves the server up.
                if self.breaker and permit:
                    if state.started:
                        self.breaker.success(permit)
                    else:
                        self.breaker.neutral(permit)
                raise
            self._score(permit, error)
            if state.started:
                raise error
            if not await self._before_retry(state, error):
                raise error

    def _stream_failure(self, state: _Attempt, error: BackendError, error_type: str) -> BackendError:
        """A transport failure: as is before any output; a `StreamInterruptedError` after."""
        if not state.started:
            return error
        interrupted = StreamInterruptedError(self.name, error_type, error.message, state.request_id)
        interrupted.__cause__ = error.__cause__
        return self._scrubbed(interrupted)
