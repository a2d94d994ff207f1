"""The gateway (`protoshift serve`'s ASGI app) driven in-process for volume: a fake Anthropic provider on
127.0.0.1 behind it (tests/fakes.py), the app on an event loop of its own thread (its lifespan run as a server
runs it), each request given as uvicorn gives it (the path percent-decoded, the query and headers as bytes).
`check(...)` holds the invariants every answer must keep, whatever was sent."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from protoshift.cloud import create_backend
from protoshift.gateway import GatewayConfig, build_app
from protoshift.gateway.limits import Limits
from tests.fakes import FakeServer, Received, Reply, anthropic_message_reply, anthropic_stream_reply

FUZZ_BODY_LIMIT = 256 * 1024  # small, so that an over-limit body is cheap to send (the limit is configurable)
_HEADER_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")  # RFC 9110's field-value: no control characters
WAIT = 60.0  # seconds: a bound on one answer, never a measure of speed

SURFACE_OF = {
    "/v1/chat/completions": "openai",
    "/v1/responses": "openai",
    "/v1/messages": "anthropic",
    "/v1/messages/count_tokens": "anthropic",
}


def provider(received: Received) -> Reply:
    """A provider that answers every request well: any error answer is then the gateway's own."""
    if received.path.endswith("/count_tokens"):
        return Reply(body=b'{"input_tokens": 3}')
    if isinstance(received.body, dict) and received.body.get("stream") is True:
        return anthropic_stream_reply()
    return anthropic_message_reply("ok")


def gateway_config(upstream: FakeServer, log_path: Path, limit: int) -> GatewayConfig:
    """The gateway under test: Anthropic's API (the fake) behind every surface, no retries, no breaker."""
    return GatewayConfig(
        backend="anthropic",
        build_backend=lambda name, on_event: create_backend(
            name, api_key="sk-ant-fuzz", base_url=upstream.url, on_event=on_event, breaker=False, max_retries=0
        ),
        limits=Limits(max_body_bytes=limit),
        log_path=log_path,
    )


@dataclass
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: bytes) -> bytes | None:
        return next((v for k, v in self.headers if k == name), None)


class _Errors(logging.Handler):
    """Every WARNING-or-worse record any logger gets while the gateway runs (asyncio's 'Task exception was
    never retrieved', uvicorn's 'Exception in ASGI application'): none may appear."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))


@dataclass
class InProcessGateway:
    upstream: FakeServer
    log_path: Path
    limit: int = FUZZ_BODY_LIMIT
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    errors: _Errors = field(default_factory=_Errors)

    def __post_init__(self) -> None:
        self.app = build_app(gateway_config(self.upstream, self.log_path, self.limit))
        self._log_seen = 0
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._lifespan_in: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._lifespan_out: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(WAIT)
        logging.getLogger().addHandler(self.errors)

    async def _start(self) -> None:
        self._lifespan = asyncio.ensure_future(
            self.app({"type": "lifespan"}, self._lifespan_in.get, self._lifespan_out.put)
        )
        await self._lifespan_in.put({"type": "lifespan.startup"})
        started = await self._lifespan_out.get()
        assert started["type"] == "lifespan.startup.complete", started

    async def _stop(self) -> None:
        await self._lifespan_in.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(self._lifespan, WAIT)

    def close(self) -> None:
        logging.getLogger().removeHandler(self.errors)
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(WAIT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(WAIT)

    def request(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        headers: list[tuple[bytes, bytes]] | None = None,
        *,
        content_length: bool = True,
    ) -> Answer:
        """`method target` (target: the path as sent on the wire, percent-encoded, with its query)."""
        raw_path, _, query = target.partition("?")
        given = list(headers if headers is not None else [(b"content-type", b"application/json")])
        if content_length:
            given.append((b"content-length", str(len(body)).encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": unquote(raw_path),  # as uvicorn decodes it
            "raw_path": raw_path.encode("latin-1", "replace"),
            "query_string": query.encode("latin-1", "replace"),
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1:8000"), *given],
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8000),
        }
        return asyncio.run_coroutine_threadsafe(self._call(scope, body), self.loop).result(WAIT)

    async def _call(self, scope: dict[str, Any], body: bytes) -> Answer:
        answered = asyncio.Event()
        sent_body = False
        start: dict[str, Any] = {}
        parts: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await answered.wait()  # the client stays until its answer is whole
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                assert not start, "a second response head"
                for name, value in message["headers"]:  # what uvicorn refuses (a RuntimeError, then a 500)
                    assert _HEADER_VALUE.fullmatch(value), f"header {name!r}: {value[:100]!r} is not a valid value"
                start.update(message)
            else:
                assert start, "a body before the head"
                parts.append(message.get("body", b""))
                if not message.get("more_body", False):
                    answered.set()

        await self.app(scope, receive, send)
        assert answered.is_set(), "the app returned without finishing its answer"
        return Answer(start["status"], list(start["headers"]), b"".join(parts))

    def new_log_lines(self) -> list[dict[str, Any]]:
        data = self.log_path.read_bytes() if self.log_path.exists() else b""
        fresh, self._log_seen = data[self._log_seen :], len(data)
        return [json.loads(line) for line in fresh.splitlines() if line.strip()]


@contextmanager
def in_process_gateway(directory: Path) -> Iterator[InProcessGateway]:
    with FakeServer(provider) as upstream:
        gateway = InProcessGateway(upstream, directory / "gateway.log")
        try:
            yield gateway
        finally:
            gateway.close()


@dataclass
class SocketGateway:
    """The same gateway served as `protoshift serve` serves it: uvicorn with the guarded httptools protocol, on a
    free port of 127.0.0.1, in a thread; requests sent as raw bytes on a socket (what no HTTP client would send)."""

    upstream: FakeServer
    log_path: Path
    errors: _Errors = field(default_factory=_Errors)

    def __post_init__(self) -> None:
        import time

        import uvicorn

        from protoshift.gateway.http_guard import GuardLimits, guard

        uv_config = uvicorn.Config(
            build_app(gateway_config(self.upstream, self.log_path, FUZZ_BODY_LIMIT)), host="127.0.0.1", port=0, loop="uvloop", http="httptools", lifespan="on",
            access_log=False, log_level="warning", server_header=False, timeout_graceful_shutdown=2,
        )  # fmt: skip
        self.server = uvicorn.Server(guard(uv_config, GuardLimits()))
        self._thread = threading.Thread(target=self.server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + WAIT
        while not self.server.started:
            assert self._thread.is_alive() and time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        for name in ("uvicorn.error", "uvicorn", ""):
            logging.getLogger(name).addHandler(self.errors)
        self._log_seen = 0

    def close(self) -> None:
        for name in ("uvicorn.error", "uvicorn", ""):
            logging.getLogger(name).removeHandler(self.errors)
        self.server.should_exit = True
        self._thread.join(WAIT)

    def exchange(self, raw: bytes) -> Answer:
        return exchange_raw(self.port, raw)

    new_log_lines = InProcessGateway.new_log_lines


def exchange_raw(port: int, raw: bytes) -> Answer:
    """`raw` (a whole request, `connection: close` in it) sent to 127.0.0.1:`port`; the answer read to the
    connection's end."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        with contextlib.suppress(OSError):  # refused before all was sent: the answer is read below
            sock.sendall(raw)
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except OSError:
            pass  # a reset after the answer
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0].startswith(b"HTTP/1.1 "), data[:200]
    headers = [(k.strip().lower(), v.strip()) for k, _, v in (line.partition(b":") for line in lines[1:])]
    if (b"transfer-encoding", b"chunked") in headers:
        body = _unchunked(body)
    return Answer(int(lines[0].split()[1]), headers, body)


def _unchunked(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out


def raw_request(method: str, target: bytes, body: bytes, headers: list[tuple[bytes, bytes]], length: bool) -> bytes:
    """A whole HTTP/1.1 request as bytes: the body said by its length, or chunked."""
    head = [method.encode() + b" " + target + b" HTTP/1.1", b"host: 127.0.0.1", b"connection: close"]
    head += [k + b": " + v for k, v in headers]
    if length:
        return b"\r\n".join([*head, b"content-length: " + str(len(body)).encode(), b"", body])
    chunked = (f"{len(body):x}\r\n".encode() + body + b"\r\n" if body else b"") + b"0\r\n\r\n"
    return b"\r\n".join([*head, b"transfer-encoding: chunked", b"", chunked])


@contextmanager
def socket_gateway(directory: Path) -> Iterator[SocketGateway]:
    with FakeServer(provider) as upstream:
        gateway = SocketGateway(upstream, directory / "socket-gateway.log")
        try:
            yield gateway
        finally:
            gateway.close()
