"""A local HTTP CONNECT proxy for benchmarks/transports.py: does a client honour `HTTPS_PROXY`?

`python -m benchmarks.proxyserver` prints `PORT\\n` once listening on 127.0.0.1. `CONNECT host:port`
opens a tunnel (to 127.0.0.1 only: nothing leaves the machine) and counts it; `GET /__stats`
answers `{"tunnels": N}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys

_counts = {"tunnels": 0}


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(ConnectionError, OSError):
        writer.close()


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        writer.close()
        return
    method, target = head.split(b" ", 2)[:2]
    if method == b"GET" and target == b"/__stats":
        body = json.dumps(_counts).encode()
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body))
        writer.close()
        return
    host, _, port = target.decode().rpartition(":")
    if method != b"CONNECT" or host.strip("[]") not in ("127.0.0.1", "localhost", "::1"):
        writer.write(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        writer.close()
        return
    try:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", int(port))
    except OSError:
        writer.write(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        writer.close()
        return
    _counts["tunnels"] += 1
    writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
    await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _main() -> None:
    server = await asyncio.start_server(_handle, "127.0.0.1", 0)
    sys.stdout.write(f"{server.sockets[0].getsockname()[1]}\n")
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main())
