"""A recording pass-through between a client and `protoshift serve`, on 127.0.0.1: what Codex sent and
what the gateway answered it, byte for byte, streamed through as it comes (each piece forwarded as
soon as it is read). The only way to see what the client got: the gateway translates what it sends on.

    with Tap(running.url) as tap:
        codex.run(..., base_url=tap.base_url)
        tap.exchanges   # [Exchange(request body, status, headers, response bytes)], in order
        tap.exchanges[0].events()   # the SSE events of a streamed answer, parsed
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

HOP_BY_HOP = frozenset({"host", "content-length", "connection", "transfer-encoding", "keep-alive"})


@dataclass
class Exchange:
    method: str
    path: str
    request: Any  # the JSON body
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def events(self) -> list[dict[str, Any]]:
        """The SSE events of the answer (`event: TYPE` / `data: JSON` frames), each checked to name its type."""
        events = []
        for frame in self.body.decode().split("\n\n"):
            lines = dict(line.split(": ", 1) for line in frame.splitlines() if ": " in line)
            if "data" in lines:
                event = json.loads(lines["data"])
                assert lines.get("event") == event.get("type"), f"a frame's event line is not its type: {frame!r}"
                events.append(event)
        return events


class Tap:
    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.exchanges: list[Exchange] = []
        self.errors: list[str] = []
        self._client = httpx.Client(timeout=httpx.Timeout(60.0), trust_env=False)  # loopback only, no proxy
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> Tap:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        tap = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                exchange = Exchange(self.command, self.path, json.loads(raw) if raw else None)
                tap.exchanges.append(exchange)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                try:
                    with tap._client.stream(
                        self.command, tap.target + self.path, content=raw, headers=headers
                    ) as answer:
                        exchange.status = answer.status_code
                        exchange.headers = {k.lower(): v for k, v in answer.headers.items()}
                        self.send_response(answer.status_code)
                        for name, value in answer.headers.items():
                            if name.lower() not in HOP_BY_HOP:
                                self.send_header(name, value)
                        self.send_header("connection", "close")  # the body ends when the connection does
                        self.end_headers()
                        self.close_connection = True
                        for piece in answer.iter_raw():
                            exchange.body += piece
                            self.wfile.write(piece)
                            self.wfile.flush()
                except (httpx.HTTPError, OSError) as exc:
                    tap.errors.append(f"{self.path}: {exc!r}")

            do_GET = do_DELETE = do_POST

        return Handler
