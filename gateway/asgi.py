"""The few ASGI primitives the gateway needs, written against the ASGI spec directly: a framework's
request and response objects cost more per request than everything protoshift does with one
(measured in benchmarks/serve.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

JSON_TYPE = (b"content-type", b"application/json")
SSE_HEADERS: Headers = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # a reverse proxy in front must not hold the stream back
]


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        self.limit = limit


class ClientGone(Exception):
    """The client disconnected before its request was read."""


def header(scope: Scope, name: bytes) -> bytes | None:
    """The value of one request header (`name` in lower case, as ASGI gives them)."""
    for key, value in scope["headers"]:
        if key == name:
            return value  # type: ignore[no-any-return]
    return None


def header_values(scope: Scope, name: bytes) -> Iterable[bytes]:
    """Every value of a request header that may be sent more than once."""
    return (value for key, value in scope["headers"] if key == name)


class Head:
    """What the gateway reads of every request's headers before any work, in one pass over them."""

    __slots__ = ("content_type", "host", "origin", "size")

    def __init__(self, scope: Scope) -> None:
        self.host: bytes | None = None
        self.origin: bytes | None = None
        self.content_type: bytes | None = None
        size = 0
        for key, value in scope["headers"]:
            size += len(key) + len(value) + 4
            if key == b"host":
                self.host = value
            elif key == b"content-type":
                self.content_type = value
            elif key == b"origin":
                self.origin = value
        self.size = size


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole request body, refused past `limit` bytes (before reading, when the client said
    its length)."""
    declared = header(scope, b"content-length")
    # bytes.isdigit() is ASCII digits only; a length of more digits than the limit has is over it (and int()
    # refuses numbers past 4,300 digits)
    if declared is not None and declared.isdigit() and (len(declared) > len(str(limit)) or int(declared) > limit):
        raise BodyTooLarge(limit)
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        part = message.get("body", b"")
        size += len(part)
        if size > limit:
            raise BodyTooLarge(limit)
        parts.append(part)
        if not message.get("more_body", False):
            return parts[0] if len(parts) == 1 else b"".join(parts)


async def send_response(send: Send, status: int, body: bytes, headers: Headers) -> None:
    """A whole answer, its length said (no chunked framing for the client to undo)."""
    length = (b"content-length", str(len(body)).encode())
    await send({"type": "http.response.start", "status": status, "headers": [*headers, length]})
    await send({"type": "http.response.body", "body": body})


async def until_disconnect(receive: Receive) -> None:
    """Returns when the client has gone away (the body was read already)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def cancel_on_disconnect(receive: Receive, work: Awaitable[None]) -> bool:
    """Run `work` until it ends or the client disconnects, whichever comes first; a disconnect
    cancels it at once (its `finally`s close the upstream request). True when the client left."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(until_disconnect(receive))
    try:
        await asyncio.wait((task, watcher), return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if task.cancelled():
        return True
    task.result()  # re-raises what the work raised
    return False
