"""The writes of a stream, as a client's socket sees them (uvicorn writes each ASGI body message as one HTTP
chunk): what one upstream event makes goes out in one chunk, at once, and nothing waits for a later event.

The fake upstream sends its events in lockstep with the client: event n+1 only once the client has read
the chunk event n made. A gateway that held frames back for a later event would leave the client waiting
for a chunk that never comes (a bounded read: the test fails, it does not hang)."""

from __future__ import annotations

import json
import socket
import threading
from typing import Any
from urllib.parse import urlsplit

from tests.fakes import HOLD_LIMIT, FakeServer, Reply, anthropic_stream_events, sequence
from tests.responses_oracles import assert_response_stream

from .conftest import SERVER_KEY, GatewayFactory

READ_LIMIT = 20.0  # seconds a read waits for the next chunk: a bound on waiting, not on the gateway's speed


class _ChunkedReader:
    """An HTTP/1.1 answer read off a socket: its head, then its body chunk by chunk, as they were written."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""

    def _until(self, marker: bytes) -> bytes:
        while marker not in self._buffer:
            more = self._sock.recv(65536)
            assert more, f"the connection closed before {marker!r}: {self._buffer[-200:]!r}"
            self._buffer += more
        head, _, self._buffer = self._buffer.partition(marker)
        return head

    def _exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            more = self._sock.recv(65536)
            assert more, "the connection closed inside a chunk"
            self._buffer += more
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def head(self) -> tuple[int, dict[str, str]]:
        lines = self._until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:])
        return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}

    def chunk(self) -> bytes:
        """The next chunk's data (b"": the last one)."""
        size = int(self._until(b"\r\n"), 16)
        data = self._exactly(size)
        assert self._exactly(2) == b"\r\n"
        return data


def _events(chunk: bytes) -> list[dict[str, Any]]:
    """A chunk's SSE events, each whole (`event: TYPE`, `data: JSON`, a blank line) and parsed."""
    assert chunk.endswith(b"\n\n"), f"a chunk that ends inside an event: {chunk[-80:]!r}"
    events = []
    for block in chunk[:-2].split(b"\n\n"):
        name, data = block.split(b"\n")
        assert name.startswith(b"event: ") and data.startswith(b"data: "), block
        event = json.loads(data[len(b"data: ") :])
        assert event["type"] == name[len(b"event: ") :].decode()
        events.append(event)
    return events


# The Responses events each of Claude's events makes, in the order they come (anthropic_stream_events).
UPSTREAM_TO_CHUNK: list[tuple[str, list[str]]] = [
    ("message_start", ["response.created", "response.in_progress"]),
    ("ping", []),
    ("content_block_start", []),  # the item opens with its first text
    (
        "content_block_delta",
        ["response.output_item.added", "response.content_part.added", "response.output_text.delta"],
    ),
    ("content_block_delta", ["response.output_text.delta"]),
    ("content_block_stop", []),
    ("message_delta", ["response.output_text.done", "response.content_part.done", "response.output_item.done"]),
    ("message_stop", ["response.completed"]),  # the usage is whole
]


def test_what_one_upstream_event_makes_is_one_chunk_and_none_waits_for_the_next(
    gateway: GatewayFactory, upstream: Any
) -> None:
    released = [threading.Event() for _ in UPSTREAM_TO_CHUNK]
    events = anthropic_stream_events(texts=("Hel", "lo"))
    assert [json.loads(e.split(b"data: ", 1)[1])["type"] for e in events] == [t for t, _ in UPSTREAM_TO_CHUNK]
    reply = Reply(events=events, before_event=lambda n: released[n].wait(HOLD_LIMIT))
    fake: FakeServer = upstream(sequence(reply))
    running = gateway.start(fake, keys=[SERVER_KEY])
    address = urlsplit(running.url)
    body = json.dumps({"model": "claude-sonnet-4-5", "input": "Say hello.", "stream": True, "store": False}).encode()
    request = (
        f"POST /v1/responses HTTP/1.1\r\nhost: {address.netloc}\r\ncontent-type: application/json\r\n"
        f"authorization: Bearer {SERVER_KEY}\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode() + body
    streamed: list[dict[str, Any]] = []
    try:
        with socket.create_connection((address.hostname, address.port), timeout=READ_LIMIT) as sock:
            sock.sendall(request)
            reader = _ChunkedReader(sock)
            for n, (upstream_type, expected) in enumerate(UPSTREAM_TO_CHUNK):
                released[n].set()  # the upstream sends event n now, and nothing more until the next turn
                if n == 0:
                    status, headers = reader.head()
                    assert status == 200 and headers["content-type"].startswith("text/event-stream"), headers
                if not expected:
                    continue
                chunk = _events(reader.chunk())
                assert [event["type"] for event in chunk] == expected, f"the chunk {upstream_type} made"
                streamed += chunk
            assert reader.chunk() == b"", "the body ends after the terminal event"
    finally:
        for gate in released:
            gate.set()  # a failed turn leaves no upstream thread waiting
    response = assert_response_stream(streamed)  # in order, each valid (the openai types), one terminal event
    assert [item["content"][0]["text"] for item in response["output"]] == ["Hello"]
