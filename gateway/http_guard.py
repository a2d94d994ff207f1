"""The connection layer's guard: uvicorn's httptools protocol with limits that hold while a request
head is read, deadlines, a cap on open connections, and JSON answers for what the parser refuses
(issue 19, items 2, 3 and 11).

    config = guard(uvicorn.Config(app, loop="uvloop", ...), GuardLimits(head_timeout=10))
    cap = raise_fd_limit()  # at start, before serving: the soft RLIMIT_NOFILE up to the hard one

`guard` sets `config.http` to `GuardedHttpToolsProtocol` and hangs the limits on the config, which
uvicorn's `Multiprocess` pickles into each worker: the same config serves one process or N
(`http=GuardedHttpToolsProtocol` alone gives the defaults).

What it holds, per connection:

- a head (request line + headers) is counted while it arrives: past `max_header_bytes` or
  `max_headers`, 431; a target past `max_url_bytes`, 414; answered and closed at once, the rest unread.
  httptools keeps a header field that is still arriving out of sight: the bytes of every read that
  ends inside a head are counted as well, so no field grows past the limit unseen;
- a head must be complete `head_timeout` seconds after the connection opened (or after the first
  byte of a kept-alive connection's next request): 408 if it had begun, else closed without a word;
- a kept-alive connection waits `idle_timeout` seconds for its next request (this replaces
  uvicorn's `timeout_keep_alive`);
- heads that arrive in more than one read hold at most `max_held_head_bytes` between them (per
  process): past it, the oldest is refused (503). Memory stays bounded however many connections
  send slow, large heads;
- past `max_connections` open connections (per process), a new one takes the place of the oldest
  one that holds no request: kept-alive first, then a head still arriving (503). If every
  connection is in a request, the new one gets the 503. Slow or idle clients cannot lock out a
  `/healthz`: they are the ones that make room;
- what the parser refuses (a control character in a header, `Content-Length: -1`, CL+TE, ...) gets
  a 400 in JSON; an HTTP/2 preface gets HTTP/2's own refusal, a GOAWAY with HTTP_1_1_REQUIRED;
  an `Upgrade` it cannot do (h2c) is ignored without uvicorn's two warnings per request.

The error body is Anthropic's error shape with OpenAI's fields in it:
`{"type": "error", "error": {"type", "message", "param", "code"}}`. The parser cannot know which API
a client speaks; both SDKs read this one whole: OpenAI's takes `error` and reads message, type,
param and code from it; Anthropic's reads `error.type` and `error.message` from the whole body.
The types are the ones both APIs use (invalid_request_error, timeout_error, api_error).

Deadlines are checked by one sweep per event loop, not a timer per request: each request costs a
clock read and two dict updates, and the sweep walks only the connections past their deadline.

Imports nothing of protoshift: stdlib, uvicorn and httptools only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from dataclasses import dataclass
from typing import Any

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

__all__ = [
    "GuardLimits",
    "GuardedHttpToolsProtocol",
    "connection_cap",
    "error_body",
    "guard",
    "limits_of",
    "raise_fd_limit",
]

logger = logging.getLogger("uvicorn.error")


@dataclass(frozen=True, slots=True)
class GuardLimits:
    """The guard's limits, per connection unless said; each default is here and only here."""

    max_header_bytes: int = 64 * 1024  # request line + headers; past it, 431 (the gateway's limit before)
    max_headers: int = 100  # header fields in one head; past it, 431 (Apache's LimitRequestFields)
    max_url_bytes: int = 8 * 1024  # the request target; past it, 414 (Apache's LimitRequestLine)
    head_timeout: float = 10.0  # s from connection (or a kept-alive request's first byte) to the head's end
    idle_timeout: float = 5.0  # s a kept-alive connection waits for its next request (uvicorn's default)
    max_connections: int | None = None  # open connections per process; None: connection_cap(soft RLIMIT_NOFILE)
    # Bytes held for heads that came in more than one read, all connections of a process together;
    # past it, the oldest such head is refused (503). Bounds memory whatever the number of connections
    # (a head that comes in one read, as nearly all do, is never held).
    max_held_head_bytes: int = 32 * 1024 * 1024


_CONFIG_ATTRIBUTE = "http_guard_limits"  # where `guard` leaves the limits on a uvicorn.Config


def guard(config: uvicorn.Config, limits: GuardLimits | None = None) -> uvicorn.Config:
    """`config` served by `GuardedHttpToolsProtocol` with `limits` (the defaults if None); returned."""
    config.http = GuardedHttpToolsProtocol
    if config.loaded:
        config.http_protocol_class = GuardedHttpToolsProtocol
    setattr(config, _CONFIG_ATTRIBUTE, limits or GuardLimits())  # travels with the config to each worker
    return config


def limits_of(config: uvicorn.Config) -> GuardLimits:
    limits = getattr(config, _CONFIG_ATTRIBUTE, None)
    return limits if isinstance(limits, GuardLimits) else GuardLimits()


# -- file descriptors ------------------------------------------------------------------------------

_UNLIMITED_FDS = 1 << 20  # what "unlimited" is taken for (Linux's default fs.nr_open)
_MACOS_OPEN_MAX = 10240  # macOS refuses a soft limit above OPEN_MAX whatever the hard limit says
_NO_RLIMIT_FDS = 8192  # where there is no RLIMIT_NOFILE (Windows)


def connection_cap(fd_limit: int) -> int:
    """Client connections one process may hold with `fd_limit` descriptors. The rest is reserved:
    upstream connections (up to one per request in flight), logs, the event loop's own, and the
    connections accept() takes in one go before the cap can act on them (up to the listen backlog)."""
    reserve = min(max(fd_limit // 4, 64), 2048)
    return max(fd_limit - reserve, 1)


def current_fd_limit() -> int:
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return _NO_RLIMIT_FDS
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return _UNLIMITED_FDS if soft == resource.RLIM_INFINITY else soft


def raise_fd_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit (as far as the system allows); return the
    connection cap for the limit now in force. Workers inherit the raised limit."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return connection_cap(_NO_RLIMIT_FDS)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = _UNLIMITED_FDS if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and want > soft:
        for target in (want, min(want, _MACOS_OPEN_MAX)):
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
                break
            except (ValueError, OSError):
                continue
    return connection_cap(current_fd_limit())


# -- answers ---------------------------------------------------------------------------------------

_ERROR_TYPE = {400: "invalid_request_error", 408: "timeout_error", 414: "invalid_request_error",
               431: "invalid_request_error", 503: "api_error"}  # fmt: skip


def error_body(status: int, message: str, code: str) -> bytes:
    """The JSON body of a refusal; see the module's docstring for its shape."""
    error = {"type": _ERROR_TYPE.get(status, "invalid_request_error"), "message": message, "param": None, "code": code}
    return json.dumps({"type": "error", "error": error}, separators=(",", ":")).encode()


def _response(status: int, message: str, code: str, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    body = error_body(status, message, code)
    head = [STATUS_LINE[status]]
    for name, value in default_headers:
        head += [name, b": ", value, b"\r\n"]
    head.append(b"content-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n" % len(body))
    if status == 503:
        head.append(b"retry-after: 1\r\n")
    head.append(b"\r\n")
    return b"".join(head) + body


def _h2_refusal() -> bytes:
    """An HTTP/2 client's preface answered in HTTP/2: the server's preface (an empty SETTINGS), then
    GOAWAY with HTTP_1_1_REQUIRED (RFC 9113, 7) and the JSON error as its debug data."""

    def frame(kind: int, payload: bytes) -> bytes:
        return len(payload).to_bytes(3, "big") + bytes([kind, 0]) + (0).to_bytes(4, "big") + payload

    debug = error_body(400, "this server speaks HTTP/1.1 only", "http2_not_supported")
    return frame(0x4, b"") + frame(0x7, (0).to_bytes(4, "big") + (0xD).to_bytes(4, "big") + debug)


_H2_REFUSAL = _h2_refusal()


class _Refused(Exception):
    """Raised in a parser callback to stop the parser; the protocol answers with it."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


# -- the connections of one server -----------------------------------------------------------------


class _Watch:
    """The connections of one server (one event loop) that hold no request: a head being awaited,
    or kept alive between requests; each dict oldest first, as entries are added when they start
    waiting (a clock read each) and moved to the end when they start again."""

    __slots__ = ("cap", "heads", "held", "idles", "last_warning", "limits", "loop", "partial", "tick", "timer")

    def __init__(self, loop: asyncio.AbstractEventLoop, limits: GuardLimits) -> None:
        self.loop = loop
        self.limits = limits
        self.cap = limits.max_connections if limits.max_connections is not None else connection_cap(current_fd_limit())
        self.heads: dict[GuardedHttpToolsProtocol, None] = {}
        self.idles: dict[GuardedHttpToolsProtocol, None] = {}
        self.partial: dict[GuardedHttpToolsProtocol, None] = {}  # heads that came in more than one read
        self.held = 0  # their bytes (each one's `_raw`)
        # A deadline is met within a tick of itself: an eighth of the shorter timeout, 20 ms to 1 s.
        self.tick = min(1.0, max(0.02, min(limits.head_timeout, limits.idle_timeout) / 8))
        self.timer: asyncio.TimerHandle | None = None
        self.last_warning = -1e9

    def wake(self) -> None:
        if self.timer is None:
            self.timer = self.loop.call_later(self.tick, self.sweep)

    def sweep(self) -> None:
        self.timer = None
        now = self.loop.time()
        for protocol in _expired(self.heads, now - self.limits.head_timeout):
            protocol.head_timed_out()
        for protocol in _expired(self.idles, now - self.limits.idle_timeout):
            protocol.idle_timed_out()
        if self.heads or self.idles:
            self.wake()

    def make_room(self) -> bool:
        """Close the oldest connection that holds no request; False if there is none."""
        victim = next(iter(self.idles), None) or next(iter(self.heads), None)
        if victim is None:
            return False
        self.warn(f"{self.cap} connections open (the cap): closing the oldest that hold no request")
        victim.evict()
        return True

    def trim(self) -> None:
        """Refuse the oldest heads that came in several reads until they hold less than the budget."""
        self.warn(f"unfinished request heads hold over {self.limits.max_held_head_bytes} bytes: refusing the oldest")
        while self.held > self.limits.max_held_head_bytes and self.partial:
            next(iter(self.partial)).refuse_held_head()

    def warn(self, message: str) -> None:
        now = self.loop.time()
        if now - self.last_warning > 10:  # at most one line per 10 s: under attack it would be one per connection
            self.last_warning = now
            logger.warning("%s", message)


def _expired(waiting: dict[GuardedHttpToolsProtocol, None], started_before: float) -> list[GuardedHttpToolsProtocol]:
    expired = []
    for protocol in waiting:  # oldest first: stop at the first still in time
        if protocol.since > started_before:
            break
        expired.append(protocol)
    return expired


_WATCHES: weakref.WeakKeyDictionary[ServerState, _Watch] = weakref.WeakKeyDictionary()


def _head_size(url: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    """A head's size as sent, less the method and version: the target, and each field with its ": " and CRLF."""
    return len(url) + sum(len(name) + len(value) + 4 for name, value in headers)


# -- the protocol ----------------------------------------------------------------------------------


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol (uvicorn 0.30+) with the guard; the limits come from
    `limits_of(config)`. Overrides the parser callbacks, `data_received` (parse errors) and
    `on_response_complete` (keep-alive waits on the sweep instead of a timer of its own)."""

    # Slots for the guard's own state: uvicorn's instance dict keeps its size. A connection costs
    # 170 bytes more than uvicorn's own; 1.4 KB more if these went into the dict.
    __slots__ = ("_chunk", "_deferred", "_in_head", "_max_header_bytes", "_max_headers", "_max_url_bytes",
                 "_raw", "_refusal", "_refused", "_waiting", "_watch", "since")  # fmt: skip

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        limits = limits_of(config)
        watch = _WATCHES.get(server_state)
        if watch is None or watch.loop is not self.loop:
            watch = _WATCHES[server_state] = _Watch(self.loop, limits)
        self._watch = watch
        self._max_header_bytes = limits.max_header_bytes
        self._max_headers = limits.max_headers
        self._max_url_bytes = limits.max_url_bytes
        self._waiting: dict[GuardedHttpToolsProtocol, None] | None = None  # watch.heads, watch.idles or None
        self.since = 0.0  # when it started waiting
        self._in_head = False  # between the first byte of a request and the end of its headers
        self._raw = 0  # bytes of the reads that ended inside the current head: at least what it holds unseen
        self._chunk = 0  # the length of the read being parsed
        self._refusal: _Refused | None = None  # set by a callback that stops the parser
        self._refused = False  # answered (or about to be): what the client sends next is not read
        self._deferred: bytes | None = None  # a refusal due once the responses before it are sent

    # -- waiting --------------------------------------------------------------------------------

    def _wait(self, waiting: dict[GuardedHttpToolsProtocol, None]) -> None:
        if self._waiting is not None:
            del self._waiting[self]
        self._waiting = waiting
        waiting[self] = None
        self.since = self.loop.time()
        if self._watch.timer is None:
            self._watch.wake()

    def _stop_waiting(self) -> None:
        if self._waiting is not None:
            del self._waiting[self]
            self._waiting = None

    def head_timed_out(self) -> None:
        self._stop_waiting()
        if self._in_head:
            timeout = self._watch.limits.head_timeout
            self._refuse(408, f"request head not received in {timeout:g}s", "request_head_timeout")
        else:
            self._refused = True
            self.transport.close()

    def idle_timed_out(self) -> None:
        self._stop_waiting()
        self._refused = True
        self.transport.close()

    def refuse_held_head(self) -> None:
        self._refuse(503, "the server holds too many unfinished requests", "server_busy")

    def _release_head(self) -> None:
        """The current head no longer counts toward the held bytes (done, refused or closed)."""
        if self._raw:
            self._watch.held -= self._raw
            self._watch.partial.pop(self, None)
            self._raw = 0

    def evict(self) -> None:
        self._stop_waiting()
        if self._in_head:
            self._refuse(503, "the server is at its connection limit", "too_many_connections")
        else:
            self._refused = True
            self.transport.close()

    # -- the connection -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self._watch.cap and not self._watch.make_room():
            self._refuse(503, "the server is at its connection limit", "too_many_connections")
            return
        self._wait(self._watch.heads)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        self._release_head()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        self._stop_waiting()
        super().handle_websocket_upgrade()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._chunk = len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError as exc:
            self._parser_error(exc)
            return
        if self._in_head and not self._hold(len(data)):
            return
        # A kept-alive connection's next request has begun and its head is not whole yet (a whole one
        # stopped the wait): the head's deadline runs. Blank lines between requests count too.
        if self._waiting is self._watch.idles:
            self._wait(self._watch.heads)

    def _unsupported_upgrade_warning(self) -> None:
        # uvicorn warns twice for each request that asks for an upgrade (`curl --http2` asks for h2c
        # every time): a client could fill the log. The request is served as HTTP/1.1, which RFC 9110
        # (7.8) allows.
        logger.debug("upgrade to %r ignored: served as HTTP/1.1", self._get_upgrade())

    def _hold(self, size: int) -> bool:
        """A read of `size` bytes ended inside a head: what httptools holds of it is at most `_raw`.
        False if that refused it."""
        watch = self._watch
        if not self._raw:
            watch.partial[self] = None
        self._raw += size
        watch.held += size
        if self._raw > self._max_header_bytes:
            self._refuse(431, f"request headers are over {self._max_header_bytes} bytes", "header_too_large")
        elif watch.held > watch.limits.max_held_head_bytes:
            watch.trim()
        return not self._refused

    def _parser_error(self, exc: httptools.HttpParserError) -> None:
        refusal = self._refusal
        if refusal is not None:
            self._refuse(refusal.status, refusal.message, refusal.code)
        elif self.parser.get_method() == b"PRI":  # HTTP/2 with prior knowledge: its preface
            self._refused = True
            self._stop_waiting()
            self.transport.write(_H2_REFUSAL)
            self.transport.close()
        else:
            logger.debug("invalid HTTP request: %s", exc)  # not a warning: the client picks how often
            self._refuse(400, f"invalid HTTP/1.1 request: {exc}", "invalid_http_request")

    def _refuse(self, status: int, message: str, code: str) -> None:
        """Answer `status` and close, without cutting a response already under way."""
        self._refused = True
        self._stop_waiting()
        self._release_head()
        response = _response(status, message, code, self.server_state.default_headers)
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            self.transport.write(response)
            self.transport.close()
        elif self._in_head or not cycle.more_body:
            # A later request, pipelined behind one still being answered: that answer goes first.
            self._deferred = response
            self.flow.pause_reading()
        elif not cycle.response_started:
            # The body of the request being answered does not parse: its app is told the client left.
            cycle.disconnected = True
            cycle.message_event.set()
            self.transport.write(response)
            self.transport.close()
        else:
            self.transport.close()

    def _stop(self, status: int, message: str, code: str) -> None:
        """From a parser callback: stop the parser, to be answered by `_parser_error`."""
        self._refusal = _Refused(status, message, code)
        raise self._refusal

    # -- parser callbacks -----------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        if self._raw:  # a pipelined head behind one that came in several reads
            self._release_head()

    def on_url(self, url: bytes) -> None:
        self.url += url
        if len(self.url) > self._max_url_bytes:
            self._stop(414, f"request target over {self._max_url_bytes} bytes", "uri_too_long")

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self.headers) >= self._max_headers:
            self._stop(431, f"more than {self._max_headers} request headers", "too_many_headers")
        # uvicorn's (0.30 to 0.54) inline: a call to it would cost more than the check, once per header.
        name = name.lower()
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        # A bound first (the reads it came in); the exact size only when a head could be over.
        if (
            self._raw + self._chunk > self._max_header_bytes
            and _head_size(self.url, self.headers) > self._max_header_bytes
        ):
            self._stop(431, f"request headers are over {self._max_header_bytes} bytes", "header_too_large")
        self._in_head = False
        if self._raw:
            self._release_head()
        if self._waiting is not None:
            del self._waiting[self]
            self._waiting = None
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        # uvicorn's (0.54), with the keep-alive wait on the watch and a deferred refusal.
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        elif self._deferred is not None:
            self.transport.write(self._deferred)
            self.transport.close()
        else:
            self._wait(self._watch.heads if self._in_head else self._watch.idles)
