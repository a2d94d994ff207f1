"""A small ASGI app behind the guard in tests/gateway (importable by name, for uvicorn's workers):
answers `{"pid", "path", "body"}` once the body is read; `/hold?KEY` first waits until the test sets
`HELD[KEY]` (a request kept in progress for as long as the test needs it)."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from typing import Any

HELD: dict[str, threading.Event] = {}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/hold":
        release = HELD[scope["query_string"].decode()]
        while not release.is_set():  # the test's thread sets it
            await asyncio.sleep(0.01)
    size, more = 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    body = json.dumps({"pid": os.getpid(), "path": scope["path"], "body": size}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
