"""A minimal, fast Anthropic stand-in for the batch and transport benchmarks: raw asyncio sockets,
HTTP/1.1 keep-alive.

`python -m benchmarks.fastserver [--latency SECONDS] [--tls CERT KEY]` prints `PORT\\n` on stdout once
listening, then answers every request (any method, any path) with the same Anthropic message, after
`latency` seconds. It runs in its own process so the client being measured has the CPU to itself (bar
the server's share), and does as little work per request as it can: no routing, no body parsing.

A few paths are special, for benchmarks/transports.py (checked on the request line only):

- `GET /__stats`: `{"connections": N, "stream_closed_at": T}`: connections accepted so far (this one
  included), and when (`time.monotonic()`, one clock for every process on Linux) the server saw the
  last `/stream/long` connection close (null while it has not).
- `POST /stream/gap`: an SSE answer (chunked): one event, a pause of `GAP` seconds, then the rest: a
  client that buffers shows a first chunk late by the pause.
- `POST /stream/long`: one SSE event every 10 ms for up to 10 s: a client that leaves early must
  close the connection (the server notices at once), not drain it or keep it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import ssl
import sys
import time

MESSAGE_OBJECT = {
    "id": "msg_bench01",
    "type": "message",
    "role": "assistant",
    "model": "claude-bench",
    "content": [{"type": "text", "text": "Hello from the benchmark server."}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 12, "output_tokens": 7},
}
MESSAGE = json.dumps(MESSAGE_OBJECT).encode()
RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nrequest-id: req_bench01\r\n"
    b"content-length: " + str(len(MESSAGE)).encode() + b"\r\n\r\n" + MESSAGE
)
GAP = 0.2  # seconds between the first event of /stream/gap and the rest
LONG_EVENTS = 1000  # /stream/long: this many events, 10 ms apart
SSE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


def sse_event(n: int) -> bytes:
    data = json.dumps({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f" {n}"}})
    return f"event: content_block_delta\ndata: {data}\n\n".encode()


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class _Stats:
    connections = 0
    stream_closed_at: float | None = None


async def _stream_gap(writer: asyncio.StreamWriter) -> None:
    writer.write(SSE_HEAD + _chunk(sse_event(0)))
    await writer.drain()
    await asyncio.sleep(GAP)
    writer.write(b"".join(_chunk(sse_event(n)) for n in range(1, 6)) + b"0\r\n\r\n")
    await writer.drain()


async def _stream_long(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Events until the client goes away; notes when it did."""
    _Stats.stream_closed_at = None
    eof = asyncio.ensure_future(reader.read(1))  # b"" when the client closes its end
    writer.write(SSE_HEAD)
    try:
        for n in range(LONG_EVENTS):
            writer.write(_chunk(sse_event(n)))
            await writer.drain()
            done, _ = await asyncio.wait({eof}, timeout=0.01)
            if done:
                break
        else:
            writer.write(b"0\r\n\r\n")
            return
    except ConnectionError:
        pass
    _Stats.stream_closed_at = time.monotonic()
    eof.cancel()
    raise ConnectionResetError  # this connection is over


def _stats() -> bytes:
    body = json.dumps({"connections": _Stats.connections, "stream_closed_at": _Stats.stream_closed_at}).encode()
    return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)


async def _serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, latency: float) -> None:
    _Stats.connections += 1
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
                    break
            if length:
                await reader.readexactly(length)
            special = head[:1] != b"P" or head[:7] == b"POST /s"  # cheap: the hot path is POST /v1/...
            if special and await _special(head, reader, writer):
                continue
            if latency:
                await asyncio.sleep(latency)
            writer.write(RESPONSE)
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def _special(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    """Answer a special request; False when it is an ordinary one."""
    if head.startswith(b"GET /__stats"):
        writer.write(_stats())
    elif head.startswith(b"POST /stream/gap"):
        await _stream_gap(writer)
    elif head.startswith(b"POST /stream/long"):
        await _stream_long(reader, writer)
    else:
        return False
    return True


async def _main(latency: float, port: int, tls: list[str] | None) -> None:
    context = None
    if tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls[0], tls[1])
    server = await asyncio.start_server(
        lambda r, w: _serve_connection(r, w, latency), "127.0.0.1", port, backlog=1024, ssl=context
    )
    sys.stdout.write(f"{server.sockets[0].getsockname()[1]}\n")
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fastserver")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="serve HTTPS with this certificate")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args.latency, args.port, args.tls))


if __name__ == "__main__":
    main()
