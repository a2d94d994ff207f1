"""`HTTPClient`: what every client of a provider's HTTP API shares — the backends
(`AnthropicBackend`, `OpenAIBackend`) and the Message Batches client.

One `httpx.AsyncClient` per instance, its transport from `cloud.transport` unless one is given (the
mock's, a test's); every call through the one retry loop (`cloud.attempts`);
the key wrapped as a `Secret`, checked against the base URL's scheme, and scrubbed from every
event and error. A subclass builds URLs, headers and bodies, and (for streams) a `StreamHandler`
that turns each decoded SSE event into output chunks:

- `_send_json`: one request, the parsed JSON object of its 2xx answer.
- `_send_stream`: a POST whose SSE answer becomes chunks as each read arrives (no buffering: time
  to first chunk matters); retried only until the first chunk is out, after which a failure is a
  `StreamInterruptedError`.
- Events: `retry` per retry, `breaker` when it opens/closes, and the `-v` trace (`request` with
  headers redacted, `response` with status and request id).
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import re
import ssl
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from contextlib import aclosing, asynccontextmanager
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

import httpx
from pydantic_core import from_json, to_json

from protoshift import __version__
from protoshift.cloud.attempts import Attempt, Attempts, Sleep
from protoshift.cloud.backend import DEFAULT_IDLE_TIMEOUT, DEFAULT_TIMEOUT, JSON
from protoshift.cloud.breaker import Breakers, CircuitBreaker, FileStore, MemoryStore, SharedBreakers
from protoshift.cloud.deadline import Deadline, DeadlineExceeded
from protoshift.cloud.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BackendError,
    MissingKeyError,
    ResponseFormatError,
    StreamInterruptedError,
    error_from_response,
    error_from_stream_event,
)
from protoshift.cloud.events import CloudEvent, EventKind, EventSink, ignore_events
from protoshift.cloud.retry import DEFAULT_MAX_RETRIES, RetryPolicy
from protoshift.cloud.security import (
    Secret,
    check_key,
    check_transport,
    parse_base_url,
    redact_headers,
    safe_url,
    scrub,
)
from protoshift.translator.checks import check_json
from protoshift.translator.errors import IncompleteStreamError, TranslationError, UpstreamStreamError
from protoshift.translator.sse import (
    DEFAULT_MAX_EVENT_SIZE,
    JSONEventDecoder,
    RawJSONEventDecoder,
    SSEDataError,
    json_error_reason,
)

if TYPE_CHECKING:
    from protoshift.cloud.transport import AiohttpTransport
    from protoshift.translator.bridges import Shaping, StreamMapper

__all__ = [
    "CONNECT_TIMEOUT",
    "HTTPClient",
    "StreamHandler",
    "last_request_id",
]

CONNECT_TIMEOUT = 10.0
USER_AGENT = f"protoshift/{__version__}"

# The provider's request id of the last response this task received (`request-id`/`x-request-id`),
# for callers that report it per request (`batch run`). A ContextVar: each asyncio task sees its own.
last_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("last_request_id", default=None)


class StreamHandler(Protocol):
    """Turns each decoded SSE event into output chunks. `feed` raises `UpstreamStreamError` on an
    error event; `close` raises `IncompleteStreamError` when the stream did not end properly."""

    @property
    def finished(self) -> bool: ...

    def feed(self, event: JSON) -> list[JSON]: ...

    def close(self) -> list[JSON]: ...


def model_of(body: JSON) -> str | None:
    """The model a body names (for its breaker), if it names one."""
    model = body.get("model")
    return model if isinstance(model, str) and model else None


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f}ms" if seconds < 0.1 else f"{seconds:.1f}s"


def _request_id(response: httpx.Response) -> str | None:
    rid: str | None = response.headers.get("request-id") or response.headers.get("x-request-id")
    return rid


class HTTPClient:
    """Shared HTTP machinery. Subclasses set `name`, `key_env` and `base_url_env`, and build requests."""

    shaping: Shaping  # how bodies are fitted to a backend (cloud.backend.Backend); the backends set it
    name: str = "http"
    key_env: str = "API_KEY"
    base_url_env: str = "BASE_URL"

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        key_required: bool = True,
        timeout: float | None = None,
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        max_retries: int = DEFAULT_MAX_RETRIES,
        breaker: bool | CircuitBreaker = True,
        breaker_dir: Path | None = None,
        breaker_cooldown: float | None = None,
        shared_breakers: SharedBreakers | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        connections: int | None = None,
        on_event: EventSink | None = None,
        sleep: Sleep | None = None,
        retry_policy: RetryPolicy | None = None,
        clock: Callable[[], float] | None = None,
        allow_insecure: bool = False,
        key_source: str | None = None,
        probe_wait: float = 0.0,
    ) -> None:
        url = parse_base_url(base_url, self.base_url_env)
        if not api_key and key_required:
            raise MissingKeyError(self.name, self.key_env)
        if api_key:
            check_key(api_key, backend=self.name, setting=key_source or "the api_key argument")
        check_transport(self.name, url, has_key=bool(api_key), allow_insecure=allow_insecure)
        self.base_url = str(url).rstrip("/")
        self._key = Secret(api_key or "")
        self.timeout = timeout  # cloud.backend: None is 600 s for an answer, no limit for a stream
        self.idle_timeout = idle_timeout
        self.max_event_size = max_event_size
        self._on_event: EventSink = on_event or ignore_events
        self.breakers = self._make_breakers(breaker, breaker_dir, clock, breaker_cooldown, shared_breakers)
        self.breaker = self.breakers.host if self.breakers is not None else None  # the host's
        self.retry_policy = retry_policy or RetryPolicy(max_retries=max_retries)
        self._attempts = Attempts(
            self.retry_policy,
            self.breakers,
            sleep=sleep or asyncio.sleep,
            on_retry=self._on_retry,
            probe_wait=probe_wait,
        )
        # protoshift's own transport takes a request's parts as they are (`AiohttpTransport.send`, no
        # `httpx.Request` built); a transport given by the caller (a MockTransport in tests, the mock
        # backend's) is sent `httpx.Request`s.
        self._direct: AiohttpTransport | None = None
        if transport is None:  # the one place a transport is chosen (cloud.transport)
            from protoshift.cloud.transport import AiohttpTransport, default_transport

            transport = default_transport(self.base_url, connections=connections)
            if isinstance(transport, AiohttpTransport):
                self._direct = transport
        self._client = httpx.AsyncClient(
            transport=transport,
            # Only connecting is httpx's to time: every other wait is under the attempt's Deadline.
            timeout=httpx.Timeout(None, connect=CONNECT_TIMEOUT),
            headers={"user-agent": USER_AGENT},
            follow_redirects=False,
        )
        # What `_stream` sends with every request, taken from the client once: its default headers
        # (accept-encoding, connection, user-agent) and its timeouts.
        self._transport = transport
        self._default_headers = {k.lower(): v for k, v in self._client.headers.items()}
        self._extensions = {"timeout": self._client.timeout.as_dict()}
        self._urls: dict[str, httpx.URL] = {}

    def _make_breakers(
        self,
        breaker: bool | CircuitBreaker,
        directory: Path | None,
        clock: Callable[[], float] | None,
        cooldown: float | None = None,
        shared: SharedBreakers | None = None,
    ) -> Breakers | None:
        """The host's breaker and a factory of the models' (cloud.breaker). A `CircuitBreaker` given
        by the caller is the host's; its models' breakers are made like it, in memory. Otherwise each
        keeps its state in a file (shared by the processes of this machine) and, given `shared`, beyond
        it too (`serve --state`: the file is then what a process falls back on)."""
        if not breaker:
            return None
        if isinstance(breaker, CircuitBreaker):
            given = breaker

            def in_memory(model: str) -> CircuitBreaker:
                return CircuitBreaker(
                    given.backend,
                    MemoryStore(),
                    failure_threshold=given.failure_threshold,
                    cooldown=given.cooldown,
                    probe_timeout=given.probe_timeout,
                    clock=given.clock,
                    on_change=given.on_change,
                    model=model,
                )

            return Breakers(given, in_memory)

        def on_file(model: str | None) -> CircuitBreaker:
            store = FileStore(self.name, self.base_url, directory, model=model, on_warning=self._warn)
            on_change = lambda message: self.emit("breaker", message)  # noqa: E731
            made = CircuitBreaker(self.name, store, clock=clock or time.time, on_change=on_change, model=model)
            if cooldown is not None:
                made.cooldown = cooldown
            if shared is not None:
                made.share = shared(made, self.base_url)
            return made

        return Breakers(on_file(None), on_file)

    def _warn(self, message: str) -> None:
        self.emit("breaker", message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, base_url={safe_url(httpx.URL(self.base_url))!r})"

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

    def emit(self, kind: EventKind, message: str) -> None:
        self._on_event(CloudEvent(kind, scrub(message, self._key), self.name))

    def _trace(self, kind: EventKind, make: Callable[[], str]) -> None:
        """A `-v` trace event, its message made only if the sink reads it."""
        key = self._key
        self._on_event(CloudEvent(kind, lambda: scrub(make(), key), self.name))

    def _on_retry(self, error: BackendError, delay: float, next_attempt: int) -> None:
        self.emit(
            "retry",
            f"{self.name}: {error.summary}, retrying in {_duration(delay)}"
            f" (attempt {next_attempt} of {self.retry_policy.max_attempts})",
        )

    def _log_request(self, method: str, url: str, headers: Mapping[str, str]) -> None:
        def message() -> str:
            shown = ", ".join(f"{k}: {v}" for k, v in redact_headers(headers).items())
            return f"{self.name}: {method} {safe_url(httpx.URL(url))} [{shown}]"

        self._trace("request", message)

    def _log_response(self, response: httpx.Response, started: float, attempt: Attempt) -> None:
        attempt.request_id = rid = _request_id(response)
        last_request_id.set(rid)
        elapsed = time.perf_counter() - started

        def message() -> str:
            text = f"{self.name}: {response.status_code} {response.reason_phrase}".rstrip()
            if rid:
                text += f" (request {rid})"
            return f"{text} in {elapsed:.2f}s"

        self._trace("response", message)

    def _scrubbed(self, error: BackendError) -> BackendError:
        error.message = scrub(error.message, self._key)
        error.args = (error.message,)
        if isinstance(error, APIStatusError):  # what the provider said goes on to clients: never the key
            error.code = error.code and scrub(error.code, self._key)
            error.param = error.param and scrub(error.param, self._key)
        return error

    def bad_answer(self, message: str) -> BackendError:
        return self._scrubbed(ResponseFormatError(self.name, message))

    def breaker_state(self) -> str | None:
        return self.breaker.state() if self.breaker is not None else None

    def learn(self, model: str, facts: dict[str, Any]) -> None:
        """What a refusal taught about `model` (cells of the capability table): the bodies fitted to it
        after this take it in. For the backends, which have a `shaping`."""
        self.shaping = replace(self.shaping, models=self.shaping.models.learn(model, facts))

    # -- classifying failures --------------------------------------------------------------------

    def _transport_error(self, exc: httpx.TransportError) -> BackendError:
        if isinstance(exc, httpx.TimeoutException):
            error: BackendError = APITimeoutError(self.name, f"request timed out ({type(exc).__name__})")
        elif isinstance(exc, httpx.ConnectError):
            error = APIConnectionError(self.name, _cannot_connect(exc, httpx.URL(self.base_url)))
        else:
            detail = str(exc) or type(exc).__name__
            error = APIConnectionError(self.name, f"connection error ({type(exc).__name__}: {detail})")
        error.__cause__ = exc
        return self._scrubbed(error)

    def _deadline_error(self, exc: DeadlineExceeded) -> BackendError:
        if exc.limit == "idle":
            message = f"timed out: the stream sent no content for {exc.seconds:g}s (pings do not count)"
        else:
            message = f"timed out: no complete answer within {exc.seconds:g}s"
        return self._scrubbed(APITimeoutError(self.name, message, limit=exc.limit, seconds=exc.seconds))

    def _answer_deadline(self) -> Deadline:
        """The limit of an attempt whose answer comes whole: the timeout, 600 s unless set."""
        return Deadline(total=DEFAULT_TIMEOUT if self.timeout is None else self.timeout)

    def _stream_deadline(self) -> Deadline:
        """The limits of a streamed attempt: the timeout only when set, and the idle limit."""
        return Deadline(total=self.timeout, idle=self.idle_timeout)

    def _status_error(self, response: httpx.Response) -> BackendError:
        return self._scrubbed(error_from_response(self.name, response.status_code, response.content, response.headers))

    def _after_output(self, attempt: Attempt, error: BackendError, error_type: str) -> BackendError:
        """A failure as is before any output; once output was given out, a `StreamInterruptedError`."""
        if not attempt.started:
            return error
        interrupted = StreamInterruptedError(self.name, error_type, error.message, attempt.request_id)
        interrupted.__cause__ = error.__cause__
        return self._scrubbed(interrupted)

    # -- one attempt -----------------------------------------------------------------------------

    @staticmethod
    def _encode(body: Mapping[str, Any]) -> bytes:
        """The body as sent: compact UTF-8 JSON, by pydantic-core's encoder (as for the chunks: no
        encoder object built per call as json.dumps does). What cannot be sent (NaN, a lone
        surrogate, a value that is not JSON) is a TranslationError naming its path: the request is
        at fault, not the provider, and nothing is sent."""
        try:
            data = to_json(body)
        except (ValueError, TypeError, RecursionError):
            check_json(body)
            raise
        if b"NaN" in data or b"Infinity" in data:  # pydantic-core writes NaN as NaN: a float, or text?
            check_json(body)
        return data

    async def _send(
        self, method: str, url: str, *, content: bytes | None, headers: Mapping[str, str]
    ) -> httpx.Response:
        """`AsyncClient.send(stream=True)` without the steps protoshift has no use for (auth flows,
        redirects, the cookie jar, event hooks, elapsed timers): the same `httpx.Request` to the same
        transport, about 60 µs less CPU per request (benchmarks/batch.py, issue 11); on protoshift's
        own transport, the request's parts without the object. The caller closes the response."""
        if self._client.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        target = self._urls.get(url)
        if target is None:
            target = httpx.URL(url)
            if len(self._urls) < 64:  # a backend calls a few URLs, over and over
                self._urls[url] = target
        if self._direct is not None:
            return await self._direct.send(
                method, target, {**self._default_headers, **headers}, content, self._extensions["timeout"]
            )
        request = httpx.Request(
            method, target, content=content, headers={**self._default_headers, **headers}, extensions=self._extensions
        )
        response = await self._transport.handle_async_request(request)
        response.request = request
        return response

    @asynccontextmanager
    async def _exchange(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | None,
        attempt: Attempt,
        deadline: Deadline,
    ) -> AsyncIterator[httpx.Response]:
        """Send one attempt and give its 2xx response, its body not yet read; an error status, a
        failed connection or a limit of `deadline` running out (here, or while the caller reads the
        body under it) become the `BackendError` they stand for."""
        headers = {**headers, **attempt.retry_headers(method)}
        self._log_request(method, url, headers)
        started = time.perf_counter()
        try:
            response = await deadline.bounded(self._send(method, url, content=content, headers=headers))
            try:
                self._log_response(response, started, attempt)
                if not response.is_success:
                    await deadline.bounded(response.aread())
                    raise self._status_error(response)
                yield response
            finally:
                await response.aclose()
        except httpx.TransportError as exc:
            raise self._after_output(attempt, self._transport_error(exc), "connection_error") from exc
        except DeadlineExceeded as exc:
            raise self._after_output(attempt, self._deadline_error(exc), "timeout_error") from None

    # -- calls -----------------------------------------------------------------------------------

    async def _send_json(
        self,
        url: str,
        headers: dict[str, str],
        body: Mapping[str, Any] | bytes | None,
        *,
        method: str = "POST",
        model: str | None = None,
    ) -> JSON:
        """Send `body` (a JSON object, bytes already encoded, or nothing), retrying; the parsed JSON
        object of the 2xx answer. `model`: whose breaker the call goes through besides the host's."""
        content = body if body is None or isinstance(body, bytes) else self._encode(body)

        async def once(attempt: Attempt) -> AsyncGenerator[JSON, None]:
            deadline = self._answer_deadline()
            async with self._exchange(method, url, headers, content, attempt, deadline) as response:
                try:
                    body = response.content  # a small answer comes whole with its head (cloud.transport)
                except httpx.ResponseNotRead:
                    body = await deadline.bounded(response.aread())
            yield self._parse_json(response.status_code, body, response.headers)

        answers: list[JSON] = []
        async with aclosing(self._attempts.run(once, model=model)) as attempts:
            async for answer in attempts:  # `once` gives one answer; reading to the end scores it
                answers.append(answer)
        return answers[0]

    def _parse_json(self, status: int, content: bytes, headers: Mapping[str, str]) -> JSON:
        """The JSON object of a 2xx answer. pydantic-core's parser refuses what is not plain JSON (NaN,
        lone surrogates, nesting past 200, numbers past 4,300 digits) where json.loads would take it
        or recurse until it fails."""
        if not content.strip():  # nothing after the head: a connection cut before the answer, not a bad answer
            message = f"connection error (the provider's {status} answer ended before its body)"
            raise self._scrubbed(APIConnectionError(self.name, message))
        try:
            data = from_json(content, allow_inf_nan=False)
        except ValueError as exc:
            detail = headers.get("content-type", "?")
            if content.lstrip()[:1] in (b"{", b"["):  # JSON gone wrong: say where
                detail += f": {json_error_reason(exc)}"
            message = f"the provider sent a {status} answer that is not JSON ({detail})"
            raise self._scrubbed(ResponseFormatError(self.name, message)) from None
        if not isinstance(data, dict):
            raise self._scrubbed(
                ResponseFormatError(self.name, f"the provider sent a {status} answer that is not a JSON object")
            )
        return data

    async def _send_stream(
        self,
        url: str,
        headers: dict[str, str],
        body: Mapping[str, Any],
        handler: Callable[[], StreamHandler],
        *,
        model: str | None = None,
        mapper: Callable[[], StreamMapper] | None = None,
        raw: bool = False,
    ) -> AsyncGenerator[JSON, None]:
        """POST `body` and yield the chunks `handler` makes of the SSE events, as they arrive; with a
        `mapper`, what it makes of those (a new one each attempt). `raw`: the events are `RawEvent`s
        (their `event:` name and `data:` text kept, for a pass-through)."""
        content = self._encode(body)

        def events() -> StreamHandler:
            return handler() if mapper is None else _Mapped(handler(), mapper())

        async def once(attempt: Attempt) -> AsyncGenerator[JSON, None]:
            deadline = self._stream_deadline()
            async with self._exchange("POST", url, headers, content, attempt, deadline) as response:
                try:
                    chunks_of = _chunks(response, events(), deadline, self.max_event_size, raw)
                    async with aclosing(chunks_of) as chunks:
                        async for chunk in chunks:
                            yield chunk
                except UpstreamStreamError as exc:
                    raise self._stream_error_event(exc, attempt) from exc
                except IncompleteStreamError as exc:
                    cut = APIConnectionError(self.name, f"connection error ({exc.reason})")
                    raise self._after_output(attempt, cut, "connection_error") from exc
                except SSEDataError as exc:
                    bad: BackendError = ResponseFormatError(self.name, f"the provider sent {exc}")
                    raise self._after_output(attempt, bad, "invalid_stream") from exc
                except _InvalidEvent as exc:
                    bad = ResponseFormatError(self.name, f"the provider sent an invalid {exc.what}: {exc.error}")
                    raise self._after_output(attempt, bad, "invalid_stream") from exc.error
            if not attempt.started:  # it ended well, with nothing in it: no answer at all
                raise self.bad_answer("the provider's stream was empty")

        async with aclosing(self._attempts.run(once, model=model)) as chunks:
            async for chunk in chunks:
                yield chunk

    def _stream_error_event(self, exc: UpstreamStreamError, attempt: Attempt) -> BackendError:
        """An `error` event: before any output it stands for the status it names (and is retried
        like one); after, the stream is interrupted."""
        if attempt.started:
            error: BackendError = StreamInterruptedError(self.name, exc.error_type, exc.message, attempt.request_id)
        else:
            error = error_from_stream_event(self.name, exc.error_type, exc.message, attempt.request_id)
        return self._scrubbed(error)


class _Mapped:
    """A stream handler whose output goes on through a mapper (a bridge's: the caller's API). A stream
    with nothing in it maps to nothing: what an empty stream means is the caller's to say (the gateway's
    one policy), not a mapper's complaint about its input."""

    __slots__ = ("_handler", "_mapped", "_mapper")

    def __init__(self, handler: StreamHandler, mapper: StreamMapper) -> None:
        self._handler = handler
        self._mapper = mapper
        self._mapped = False

    @property
    def finished(self) -> bool:
        return self._handler.finished

    def feed(self, event: JSON) -> list[JSON]:
        items = self._handler.feed(event)
        if len(items) == 1:  # the handlers pass an event through as it came: the hot path
            self._mapped = True
            return self._mapper.feed(items[0])
        return self._map(items)

    def close(self) -> list[JSON]:
        out = self._map(self._handler.close())
        return [*out, *self._mapper.close()] if self._mapped else out

    def _map(self, items: list[JSON]) -> list[JSON]:
        if not items:
            return items
        self._mapped = True
        return [out for item in items for out in self._mapper.feed(item)]


class _InvalidEvent(Exception):
    """An event (or chunk) the stream handler refused: what it was, and the TranslationError."""

    def __init__(self, event: JSON, error: TranslationError) -> None:
        kind = event.get("type")
        self.what = f"{kind} event" if isinstance(kind, str) and kind and kind != "[DONE]" else "chunk"
        self.error = error
        super().__init__(f"{self.what}: {error}")


def _fed(events: StreamHandler, event: JSON) -> list[JSON]:
    try:
        return events.feed(event)
    except TranslationError as exc:
        raise _InvalidEvent(event, exc) from exc


async def _chunks(
    response: httpx.Response, events: StreamHandler, deadline: Deadline, max_event_size: int, keep_raw: bool = False
) -> AsyncGenerator[JSON, None]:
    """The SSE body of `response` as `events` turns it into chunks, read by read, each read under
    `deadline`; every event but a ping starts its idle limit again."""
    decoder = (RawJSONEventDecoder if keep_raw else JSONEventDecoder)(max_event_size=max_event_size)
    async for raw in deadline.reads(response.aiter_bytes()):
        for event in decoder.iter_feed(raw):
            if event.get("type") != "ping":
                deadline.touch()
            for chunk in _fed(events, event):
                yield chunk
        if events.finished:
            break
    if not events.finished:
        for event in decoder.close():
            for chunk in _fed(events, event):
                yield chunk
    for chunk in events.close():
        yield chunk


def _cannot_connect(exc: httpx.ConnectError, url: httpx.URL) -> str:
    """`cannot connect to 127.0.0.1:9 (connection refused)`: where, and the system's reason without
    its errno (both transports say `[Errno 111] Connection refused`; TLS failures keep their words)."""
    reason = re.sub(r"^\[Errno -?\d+\] ", "", str(exc)).strip() or type(exc).__name__
    cause: BaseException | None = exc
    for _ in range(8):  # httpx's transport: "All connection attempts failed", the errno further down
        cause = cause.__cause__ or cause.__context__ if cause is not None else None
        if isinstance(cause, ssl.SSLError):  # its words are in the message already
            break
        if isinstance(cause, OSError) and isinstance(cause.errno, int) and cause.errno > 0:
            reason = os.strerror(cause.errno)
            break
    port = url.port or {"https": 443, "http": 80}.get(url.scheme)
    where = f"{url.host}:{port}" if port else url.host
    return f"cannot connect to {where} ({reason[:1].lower()}{reason[1:]})"
