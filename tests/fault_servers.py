"""Servers on 127.0.0.1 that misbehave in ways `tests/fakes.py` cannot: they write raw bytes on the socket,
at their own pace, for as long as the client stays.

    with FaultServer(trickle(body, every=0.2)) as server:      # an answer, one byte at a time
    with FaultServer(endless(PING, every=0.05)) as server:     # an SSE stream that never ends
    with FaultServer(huge_event(20 << 20)) as server:          # one SSE event of 20 MB with no end
    with FaultServer(garbage(b"\\x00\\xffnot http")) as server:  # not HTTP at all

Each request is read whole (request line, headers, a content-length body) and recorded in `requests`;
then the behaviour writes what it wants. Writing stops when the client goes away or the server closes.
"""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Callable, Iterator
from typing import Any

Behaviour = Callable[["Connection"], None]


class Connection:
    """One accepted request: what came in, and a way out that stops when the test is over."""

    def __init__(self, handler: socketserver.StreamRequestHandler, stopping: threading.Event) -> None:
        self._handler = handler
        self.stopping = stopping
        self.request_line = ""
        self.headers: dict[str, str] = {}
        self.body = b""

    def read_request(self) -> bool:
        rfile = self._handler.rfile
        line = rfile.readline(65536)
        if not line:
            return False
        self.request_line = line.decode("latin-1").strip()
        while (header := rfile.readline(65536)) not in (b"\r\n", b"\n", b""):
            name, _, value = header.decode("latin-1").partition(":")
            self.headers[name.strip().lower()] = value.strip()
        length = int(self.headers.get("content-length") or 0)
        self.body = rfile.read(length) if length else b""
        return True

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def send(self, data: bytes) -> bool:
        """Write and flush; False once the client is gone or the server is closing."""
        if self.stopping.is_set():
            return False
        try:
            self._handler.wfile.write(data)
            self._handler.wfile.flush()
        except OSError:
            return False
        return True

    def pause(self, seconds: float) -> bool:
        """Sleep, unless the server is closing (then False)."""
        return not self.stopping.wait(seconds)


class FaultServer:
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.requests: list[Connection] = []
        self._stopping = threading.Event()
        server = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                connection = Connection(self, server._stopping)
                if connection.read_request():
                    server.requests.append(connection)
                    server.behaviour(connection)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()  # every behaviour still writing stops at its next write or pause
        self._server.shutdown()
        self._server.server_close()


# ---- behaviours ------------------------------------------------------------------------------------


def _head(status: str = "200 OK", content_type: str = "application/json", length: int | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"content-type: {content_type}", "request-id: req_fault"]
    lines.append(f"content-length: {length}" if length is not None else "connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def trickle(body: bytes, *, every: float) -> Behaviour:
    """A whole answer, announced with its length, then sent one byte every `every` seconds."""

    def behave(connection: Connection) -> None:
        if not connection.send(_head(length=len(body))):
            return
        for byte in body:
            if not connection.pause(every) or not connection.send(bytes([byte])):
                return

    return behave


def sse(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


MESSAGE_START = sse(
    {
        "type": "message_start",
        "message": {"id": "msg_fault", "type": "message", "role": "assistant", "model": "claude-fault",
                    "content": [], "stop_reason": None, "stop_sequence": None,
                    "usage": {"input_tokens": 1, "output_tokens": 1}},
    }
)  # fmt: skip
TEXT_START = sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
PING = sse({"type": "ping"})


def text_delta(text: str) -> bytes:
    return sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}})


STREAM_END = (
    sse({"type": "content_block_stop", "index": 0})
    + sse({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
           "usage": {"output_tokens": 3}})
    + sse({"type": "message_stop"})
)  # fmt: skip


def endless(event: bytes, *, every: float, first: bytes = MESSAGE_START + TEXT_START) -> Behaviour:
    """An SSE stream that begins with `first`, then sends `event` every `every` seconds, for ever."""

    def behave(connection: Connection) -> None:
        if not connection.send(_head(content_type="text/event-stream") + first):
            return
        while connection.pause(every) and connection.send(event):
            pass

    return behave


def stream(parts: Iterator[bytes] | list[bytes], *, every: float) -> Behaviour:
    """An SSE stream of `parts`, one every `every` seconds, then the end of the connection."""

    def behave(connection: Connection) -> None:
        if not connection.send(_head(content_type="text/event-stream")):
            return
        for part in parts:
            if not connection.pause(every) or not connection.send(part):
                return

    return behave


def huge_event(size: int, *, first: bytes = MESSAGE_START + TEXT_START) -> Behaviour:
    """An SSE stream whose next event is `size` bytes of data with no line end, then silence."""

    def behave(connection: Connection) -> None:
        if not connection.send(_head(content_type="text/event-stream") + first + b"data: "):
            return
        block = b"x" * 65536
        for _ in range(size // len(block)):
            if not connection.send(block):
                return
        while connection.pause(0.1):  # and never a line end
            pass

    return behave


def garbage(data: bytes, *, then_wait: float = 0.0) -> Behaviour:
    """Bytes that are not HTTP, then the connection closed."""

    def behave(connection: Connection) -> None:
        connection.send(data)
        if then_wait:
            connection.pause(then_wait)

    return behave
