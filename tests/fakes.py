"""Fake provider servers on 127.0.0.1: real sockets, real HTTP, real SSE bytes.

A `FakeServer` runs in a background thread and answers every request with what a scripted
`Responder` returns for it. Helpers build the replies Anthropic and OpenAI really send:

    with FakeServer(lambda req: anthropic_message_reply("Hello")) as server:
        run protoshift with ANTHROPIC_BASE_URL=server.url
        server.requests  # what protoshift sent: method, path, headers, parsed JSON body

Replies can be JSON, an SSE stream sent event by event (with delays), a stream cut mid-way
(the connection is closed without the end), or a hang (for timeouts). A reply can also be held
until the test releases it (`hold`): "the client gave up while the server still held the answer"
is then what happened, whatever the machine's load, where a delay would only make it likely.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or raw bytes when not JSON

    @property
    def json(self) -> dict[str, Any]:
        assert isinstance(self.body, dict), self.body
        return self.body


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    events: list[bytes] | None = None  # SSE: sent one by one, flushed each
    delay: float = 0.0  # before the status line
    event_delay: float = 0.0  # between SSE events
    cut_after: int | None = None  # SSE: close the socket after this many events, no end
    hold: threading.Event | None = None  # wait until the test sets it (at most HOLD_LIMIT seconds)...
    hold_at: int = 0  # ...before the status line (0), or before SSE event number `hold_at`
    pauses: dict[int, float] = field(default_factory=dict)  # SSE: silent this long before event n...
    wake: threading.Event | None = None  # ...unless this is set first (a fake closing ends its pauses)
    before_event: Callable[[int], None] | None = None  # SSE: called before event n (a test pacing the stream)


HOLD_LIMIT = 60.0  # a held reply goes on by itself after this: a failing test never leaves a thread stuck


Responder = Callable[[Received], Reply]


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # many clients connecting at once (batch runs) are not dropped by the backlog
    daemon_threads = True

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.errors: list[str] = []
        self.open_connections = 0
        self.connections_changed = threading.Condition()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_changed:
            self.open_connections += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:  # each connection's end, whatever ended it
        super().shutdown_request(request)
        with self.connections_changed:
            self.open_connections -= 1
            self.connections_changed.notify_all()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Kept in `errors`, not printed: a client that hangs up mid-reply is what many tests do on
        purpose, and whatever is printed during an in-process CLI run lands in the run's stderr
        (tests/cli_runner.py)."""
        self.errors.append(traceback.format_exc())


class FakeServer:
    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.requests: list[Received] = []
        # Requests whose reply the client cut off (its socket closed while the reply was being sent).
        self.cut_by_client: list[Received] = []
        self.client_cut = threading.Event()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        # serve_forever polls for shutdown: a short interval keeps each test's teardown fast
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def errors(self) -> list[str]:
        """Tracebacks of the requests the server failed to handle (a client hung up, a responder raised)."""
        return self._server.errors

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def wait_connections_closed(self, timeout: float = 30) -> None:
        """Until every connection made so far is handled to its end: a client killed mid-request
        leaves requests in the socket that the server reads (and records) only afterwards."""
        with self._server.connections_changed:
            closed = self._server.connections_changed.wait_for(lambda: self._server.open_connections == 0, timeout)
        assert closed, f"{self._server.open_connections} connections still open after {timeout} s"

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _record(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # small writes go out at once, as a real server sends them

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body: Any = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                received = Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                server._record(received)
                reply = server.responder(received)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.hold is not None and reply.hold_at == 0:
                    reply.hold.wait(HOLD_LIMIT)
                try:
                    self._send(reply)
                except (BrokenPipeError, ConnectionResetError):
                    with server._lock:
                        server.cut_by_client.append(received)
                    server.client_cut.set()

            def _send(self, reply: Reply) -> None:
                self.send_response(reply.status)
                headers = {k.lower(): v for k, v in reply.headers.items()}
                if reply.events is None:
                    headers.setdefault("content-type", "application/json")
                    headers["content-length"] = str(len(reply.body))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    if self.command != "HEAD":  # a HEAD answer has the headers of the GET, no body
                        self.wfile.write(reply.body)
                    self.wfile.flush()
                    return
                headers.setdefault("content-type", "text/event-stream")
                headers["connection"] = "close"
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.close_connection = True
                for n, event in enumerate(reply.events):
                    if reply.cut_after is not None and n >= reply.cut_after:
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    if reply.event_delay and n:
                        time.sleep(reply.event_delay)
                    if reply.hold is not None and n and n == reply.hold_at:
                        reply.hold.wait(HOLD_LIMIT)
                    if reply.pauses.get(n):
                        (reply.wake or threading.Event()).wait(min(reply.pauses[n], HOLD_LIMIT))
                    if reply.before_event is not None:
                        reply.before_event(n)
                    self.wfile.write(event)
                    self.wfile.flush()

            do_POST = do_GET = do_DELETE = do_HEAD = _handle

        return Handler


def sequence(*replies: Reply | Callable[[Received], Reply]) -> Responder:
    """Answer the n-th request with the n-th reply; the last one repeats."""
    counter = itertools.count()

    def respond(received: Received) -> Reply:
        n = min(next(counter), len(replies) - 1)
        reply = replies[n]
        return reply(received) if callable(reply) else reply

    return respond


# ---- Anthropic wire format ---------------------------------------------------------------------


def anthropic_message(
    content: Iterable[dict[str, Any]] | str = "Hello!",
    *,
    stop_reason: str = "end_turn",
    model: str = "claude-test",
    usage: dict[str, int] | None = None,
    message_id: str = "msg_test01",
) -> dict[str, Any]:
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else list(content)
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": blocks,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage or {"input_tokens": 10, "output_tokens": 5},
    }


def anthropic_message_reply(content: Iterable[dict[str, Any]] | str = "Hello!", **kwargs: Any) -> Reply:
    return Reply(body=json.dumps(anthropic_message(content, **kwargs)).encode(), headers={"request-id": "req_fake01"})


def anthropic_error_reply(status: int, error_type: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    body = {"type": "error", "error": {"type": error_type, "message": message}, "request_id": "req_fakeerr"}
    return Reply(
        status=status, body=json.dumps(body).encode(), headers={"request-id": "req_fakeerr", **(headers or {})}
    )


def sse(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


def anthropic_stream_events(
    texts: Iterable[str] = ("Hel", "lo", "!"),
    *,
    tool_calls: Iterable[tuple[str, str, list[str]]] = (),
    thinking: Iterable[str] = (),
    signature: str = "sig_fake",
    stop_reason: str | None = None,
    model: str = "claude-test",
    message_id: str = "msg_stream01",
    error: dict[str, str] | None = None,
) -> list[bytes]:
    """The events of one streamed message. tool_calls: (id, name, [partial_json fragments])."""
    texts, tool_calls, thinking = list(texts), list(tool_calls), list(thinking)
    events = [
        sse({
            "type": "message_start",
            "message": {**anthropic_message([], model=model, message_id=message_id), "stop_reason": None,
                        "usage": {"input_tokens": 10, "output_tokens": 1}},
        }),
        sse({"type": "ping"}),
    ]  # fmt: skip
    index = itertools.count()
    if thinking:
        i = next(index)
        events.append(
            sse(
                {
                    "type": "content_block_start",
                    "index": i,
                    "content_block": {"type": "thinking", "thinking": "", "signature": ""},
                }
            )
        )
        events += [
            sse({"type": "content_block_delta", "index": i, "delta": {"type": "thinking_delta", "thinking": t}})
            for t in thinking
        ]
        events.append(
            sse(
                {
                    "type": "content_block_delta",
                    "index": i,
                    "delta": {"type": "signature_delta", "signature": signature},
                }
            )
        )
        events.append(sse({"type": "content_block_stop", "index": i}))
    if texts:
        i = next(index)
        events.append(sse({"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}}))
        events += [
            sse({"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": t}}) for t in texts
        ]
        if error is None:
            events.append(sse({"type": "content_block_stop", "index": i}))
    if error is not None:
        return [*events, sse({"type": "error", "error": error})]
    for call_id, name, fragments in tool_calls:
        i = next(index)
        events.append(
            sse(
                {
                    "type": "content_block_start",
                    "index": i,
                    "content_block": {"type": "tool_use", "id": call_id, "name": name, "input": {}},
                }
            )
        )
        events += [
            sse({"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": f}})
            for f in fragments
        ]
        events.append(sse({"type": "content_block_stop", "index": i}))
    reason = stop_reason or ("tool_use" if tool_calls else "end_turn")
    events.append(
        sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": reason, "stop_sequence": None},
                "usage": {"output_tokens": 7},
            }
        )
    )
    events.append(sse({"type": "message_stop"}))
    return events


def anthropic_stream_reply(**kwargs: Any) -> Reply:
    event_delay = kwargs.pop("event_delay", 0.0)
    cut_after = kwargs.pop("cut_after", None)
    return Reply(events=anthropic_stream_events(**kwargs), event_delay=event_delay, cut_after=cut_after,
                 headers={"request-id": "req_fakestream"})  # fmt: skip


# ---- OpenAI wire format ------------------------------------------------------------------------


def openai_completion(
    content: str = "Hello!", *, model: str = "gpt-test", finish_reason: str = "stop"
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake01",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": None},
                     "logprobs": None, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
    }  # fmt: skip


def openai_completion_reply(content: str = "Hello!", **kwargs: Any) -> Reply:
    return Reply(body=json.dumps(openai_completion(content, **kwargs)).encode(), headers={"x-request-id": "req_oai01"})


def openai_stream_events(texts: Iterable[str] = ("Hel", "lo"), *, model: str = "gpt-test") -> list[bytes]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        body = {"id": "chatcmpl-fakestream", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}  # fmt: skip
        return f"data: {json.dumps(body)}\n\n".encode()

    return [
        chunk({"role": "assistant", "content": ""}),
        *(chunk({"content": t}) for t in texts),
        chunk({}, "stop"),
        b"data: [DONE]\n\n",
    ]


def openai_error_reply(status: int, message: str, error_type: str = "server_error") -> Reply:
    body = {"error": {"message": message, "type": error_type, "code": None}}
    return Reply(status=status, body=json.dumps(body).encode(), headers={"x-request-id": "req_oaierr"})


def free_port() -> int:
    """A loopback port nobody listens on (for connection-refused tests)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def iter_sse_payloads(data: bytes) -> Iterator[str]:
    for block in data.decode().split("\n\n"):
        for line in block.splitlines():
            if line.startswith("data: "):
                yield line[len("data: ") :]


# ---- OpenAI-compatible streams, with the quirks real servers have (issue 14) ----------------------


def openai_chunk(
    delta: dict[str, Any] | None = None,
    finish: str | None = None,
    *,
    usage: dict[str, int] | None = None,
    model: str = "gpt-test",
    chunk_id: str = "chatcmpl-fakestream",
    **extra: Any,
) -> dict[str, Any]:
    """One chat.completion.chunk; `delta=None` gives a chunk with no choices (a usage-only chunk, or Azure's first)."""
    body: dict[str, Any] = {"id": chunk_id, "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model}
    body["choices"] = [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    if usage is not None:
        body["usage"] = {**usage, "total_tokens": usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0)}
    return {**body, **extra}


def openai_data(obj: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(obj)}\n\n".encode()


def openai_stream_reply(
    chunks: Iterable[dict[str, Any]], *, done: bool = True, event_delay: float = 0.0, cut_after: int | None = None
) -> Reply:
    """An OpenAI-compatible SSE answer; `done=False` leaves out `[DONE]` (Ollama captures, some proxies)."""
    events = [openai_data(c) for c in chunks] + ([b"data: [DONE]\n\n"] if done else [])
    return Reply(events=events, event_delay=event_delay, cut_after=cut_after, headers={"x-request-id": "req_oaistream"})


def openai_text_chunks(
    texts: Iterable[str], *, finish: str = "stop", usage: dict[str, int] | None = None, reasoning: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """A role-only first chunk, reasoning_content deltas, content deltas, the finish chunk, and a usage-only chunk."""
    chunks = [openai_chunk({"role": "assistant", "content": ""})]
    chunks += [openai_chunk({"reasoning_content": r}) for r in reasoning]
    chunks += [openai_chunk({"content": t}) for t in texts]
    chunks.append(openai_chunk({}, finish))
    if usage is not None:
        chunks.append(openai_chunk(None, usage=usage))
    return chunks


def openai_tool_call_chunks(
    calls: Iterable[tuple[str, str, list[str]]],
    *,
    interleave: bool = False,
    name_late: bool = False,
    repeat_id: bool = False,
) -> list[dict[str, Any]]:
    """Tool-call deltas for `calls` ((id, name, argument fragments)): one after the other, or with their
    fragments interleaved; with the function name after the first fragment; with the id on every chunk."""
    calls = list(calls)
    per_call: list[list[dict[str, Any]]] = []
    for index, (call_id, name, fragments) in enumerate(calls):
        deltas: list[dict[str, Any]] = []
        for k, fragment in enumerate(fragments or [""]):
            entry: dict[str, Any] = {"index": index, "function": {"arguments": fragment}}
            if k == 0 or repeat_id:
                entry["id"] = call_id
                entry["type"] = "function"
            if k == 1 if name_late and len(fragments) > 1 else k == 0:
                entry["function"]["name"] = name
            deltas.append(openai_chunk({"tool_calls": [entry]}))
        per_call.append(deltas)
    if not interleave:
        return [chunk for deltas in per_call for chunk in deltas]
    out: list[dict[str, Any]] = []
    for round_ in itertools.zip_longest(*per_call):
        out += [chunk for chunk in round_ if chunk is not None]
    return out


class ScriptedFake:
    """What the scripted fakes of each API (tests/agents/fake_*.py) share: their `server` on 127.0.0.1, its
    URLs, what it received, and `released`, set at close so every stalled reply ends. A context manager."""

    server: FakeServer
    released: threading.Event

    @property
    def url(self) -> str:
        """The server's root (ANTHROPIC_BASE_URL: the Anthropic SDKs add /v1/messages themselves)."""
        return self.server.url

    @property
    def base_url(self) -> str:
        """OPENAI_BASE_URL: the OpenAI SDKs add /chat/completions, /responses."""
        return self.server.url + "/v1"

    @property
    def requests(self) -> list[Received]:
        """Every request received, refused ones included."""
        return self.server.requests

    def __enter__(self) -> Self:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.server.__exit__(*exc)
