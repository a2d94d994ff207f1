"""A minimal, fast Anthropic stand-in for the batch benchmarks: raw asyncio sockets, HTTP/1.1 keep-alive.

`python -m benchmarks.fastserver [--latency SECONDS]` prints `PORT\\n` on stdout once listening, then
answers every request (any method, any path) with the same Anthropic message, after `latency`
seconds. It runs in its own process so the client being measured has the CPU to itself (bar the
server's share), and does as little work per request as it can: no routing, no body parsing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys

MESSAGE = json.dumps(
    {
        "id": "msg_bench01",
        "type": "message",
        "role": "assistant",
        "model": "claude-bench",
        "content": [{"type": "text", "text": "Hello from the benchmark server."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 7},
    }
).encode()
RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nrequest-id: req_bench01\r\n"
    b"content-length: " + str(len(MESSAGE)).encode() + b"\r\n\r\n" + MESSAGE
)


async def _serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, latency: float) -> None:
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
            if latency:
                await asyncio.sleep(latency)
            writer.write(RESPONSE)
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def _main(latency: float, port: int) -> None:
    server = await asyncio.start_server(lambda r, w: _serve_connection(r, w, latency), "127.0.0.1", port, backlog=1024)
    sys.stdout.write(f"{server.sockets[0].getsockname()[1]}\n")
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fastserver")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args.latency, args.port))


if __name__ == "__main__":
    main()
