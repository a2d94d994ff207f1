"""The floor under `protoshift serve`'s added latency: the same stack with nothing of protoshift's.

An ASGI app on uvicorn (uvloop + httptools, as `serve` runs) that reads the client's request, POSTs
one fixed Anthropic request to the fake upstream through one kept aiohttp session, and returns the
answer's bytes: no parsing, translation, retries, breaker, deadlines or log. benchmarks/serve.py
measures it at the same rates as the gateway, so what protoshift's own work adds can be told from
what the extra hop through uvicorn and aiohttp costs on the machine.

    UPSTREAM=http://127.0.0.1:PORT python -m uvicorn benchmarks.passthrough:app --loop uvloop --http httptools
"""

from __future__ import annotations

import json
import os
from typing import Any

_BODY = json.dumps(
    {
        "model": "claude-bench",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Say hello."}]}],
        "max_tokens": 64,
    }
).encode()
_HEADERS = {"x-api-key": "bench-key", "anthropic-version": "2023-06-01", "content-type": "application/json"}
_sessions: list[Any] = []  # the one aiohttp session, made in the server's event loop


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        for session in _sessions:
            await session.close()
        await send({"type": "lifespan.shutdown.complete"})
        return
    while (await receive()).get("more_body"):
        pass
    if not _sessions:
        import aiohttp

        _sessions.append(aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)))
    async with _sessions[0].post(os.environ["UPSTREAM"] + "/v1/messages", data=_BODY, headers=_HEADERS) as answer:
        data = await answer.read()
        status = answer.status
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
