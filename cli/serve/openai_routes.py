"""The OpenAI side of the gateway: `POST /v1/chat/completions` (JSON, and SSE byte for byte as OpenAI
sends it) and `GET /v1/models`, plus `/healthz` and `/metrics`.

A streamed answer's status is decided by its first chunk: protoshift waits for it (retries and
fallback happen before it) and only then sends `200` and the stream, so a failure before any
output is a proper error status, as OpenAI's own API gives. After that, a failure is an
`{"error": ...}` event and the stream ends without `[DONE]` (the OpenAI SDK raises `APIError`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

from pydantic_core import from_json, to_json

from protoshift.cli.serve.app import Exchange, Gateway, Route
from protoshift.cli.serve.asgi import (
    BodyTooLarge,
    ClientGone,
    Receive,
    Scope,
    Send,
    read_body,
    send_response,
    send_stream,
)
from protoshift.cli.serve.errors import HTTPFailure, failure_for
from protoshift.translator import TranslationError
from protoshift.translator.model_objects import ModelInfo
from protoshift.translator.sse import encode_chunk, encode_done

MODELS_TTL = 60.0  # seconds a model list from upstream is reused
_ALIAS_OWNER = "protoshift-alias"


async def chat_completions(gateway: Gateway, exchange: Exchange, scope: Scope, receive: Receive, send: Send) -> None:
    async with gateway.slot(exchange, send) as admitted:
        if not admitted:
            return
        request = await read_request(gateway, exchange, scope, receive, send)
        if request is None:
            return
        target = gateway.target(request.get("model"))
        request["model"] = exchange.model = target.model
        chain = gateway.chain(target.backend)
        exchange.stream = bool(request.get("stream"))
        answer = (
            _stream(gateway, exchange, chain, request, send)
            if exchange.stream
            else _complete(gateway, exchange, chain, request, send)
        )
        await gateway.answer(exchange, receive, answer)


async def read_request(
    gateway: Gateway,
    exchange: Exchange,
    scope: Scope,
    receive: Receive,
    send: Send,
    what: str = "a chat completion request",
) -> dict[str, Any] | None:
    """The request body as a JSON object (`what` it should be, for the error), or None once an error
    answer was sent. Shared by both sides of the gateway."""
    limits = gateway.limits
    try:
        async with asyncio.timeout(limits.body_timeout):
            body = await read_body(scope, receive, limits.max_body_bytes)
    except BodyTooLarge as exc:
        await gateway.fail(exchange, send, HTTPFailure.client(413, f"request body is over {exc.limit} bytes"))
        return None
    except TimeoutError:
        await gateway.fail(
            exchange, send, HTTPFailure.client(408, f"request body not received in {limits.body_timeout:g}s")
        )
        return None
    except ClientGone:
        exchange.status, exchange.error = 499, "the client went away before sending its request"
        return None
    try:
        request = from_json(body, allow_inf_nan=False)
    except ValueError as exc:
        await gateway.fail(exchange, send, HTTPFailure.client(400, f"the body is not valid JSON: {exc}"))
        return None
    failure = _check_shape(request, limits.max_messages, what)
    if failure is not None:
        await gateway.fail(exchange, send, failure)
        return None
    if gateway.log.bodies:
        exchange.extra["request"] = request
    return request  # type: ignore[no-any-return]


def _check_shape(request: Any, max_messages: int, what: str) -> HTTPFailure | None:
    if not isinstance(request, dict):
        return HTTPFailure.client(400, f"the body must be a JSON object ({what})")
    messages = request.get("messages")
    if isinstance(messages, list) and len(messages) > max_messages:
        return HTTPFailure.client(
            400, f"{len(messages)} messages: this server takes at most {max_messages}", param="messages"
        )
    return None


async def _complete(gateway: Gateway, exchange: Exchange, chain: Any, request: dict[str, Any], send: Send) -> None:
    began = time.perf_counter()
    try:
        completion = await chain.complete(request)
    except Exception as exc:
        await _fail_upstream(gateway, exchange, send, exc, began)
        return
    exchange.upstream_seconds = elapsed = time.perf_counter() - began
    gateway.metrics.upstream(elapsed)
    exchange.tokens = gateway.metrics.usage(completion.get("usage"))
    if gateway.log.bodies:
        exchange.extra["response"] = completion
    await send_response(send, 200, to_json(completion), _response_headers(exchange))


async def _stream(gateway: Gateway, exchange: Exchange, chain: Any, request: dict[str, Any], send: Send) -> None:
    # Usage is always asked for (for the metrics and the log); a client that did not ask for it
    # gets the stream it asked for: no `usage` keys, no usage chunk.
    options = request.get("stream_options")
    wants_usage = isinstance(options, dict) and options.get("include_usage") is True
    if not wants_usage and (options is None or isinstance(options, dict)):
        request["stream_options"] = {**(options or {}), "include_usage": True}
    began = time.perf_counter()
    async with aclosing(chain.stream(request)) as chunks:
        try:
            first = await anext(chunks, None)
        except Exception as exc:
            await _fail_upstream(gateway, exchange, send, exc, began)
            return
        exchange.upstream_seconds = elapsed = time.perf_counter() - began
        gateway.metrics.upstream(elapsed)
        if first is None:  # an upstream stream with nothing in it: still a well-formed OpenAI stream
            await send_stream(send, encode_done(), _nothing(), _stream_headers(exchange))
            return
        frames = _frames(gateway, exchange, chunks, wants_usage)
        await send_stream(send, _encode(first, wants_usage), frames, _stream_headers(exchange))


async def _frames(
    gateway: Gateway, exchange: Exchange, chunks: AsyncGenerator[dict[str, Any], None], wants_usage: bool
) -> AsyncIterator[bytes]:
    """The rest of the stream as SSE frames; a failure midway becomes an `error` event."""
    try:
        async for chunk in chunks:
            usage = chunk.get("usage")
            if usage:
                exchange.tokens = gateway.metrics.usage(usage)
                if not wants_usage and not chunk.get("choices"):
                    continue  # the usage-only chunk the client did not ask for
            yield _encode(chunk, wants_usage)
    except Exception as exc:
        failure = failure_for(exc)
        if failure is None:
            raise
        exchange.error = failure.message
        gateway.metrics.error(failure.kind)
        error = {"message": failure.message, "type": failure.type, "param": None, "code": failure.code}
        yield b"data: " + to_json({"error": error}) + b"\n\n"
        return
    yield encode_done()


def _encode(chunk: dict[str, Any], wants_usage: bool) -> bytes:
    if not wants_usage:
        chunk.pop("usage", None)
    return encode_chunk(chunk)


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield  # an async generator that gives nothing


async def _fail_upstream(gateway: Gateway, exchange: Exchange, send: Send, exc: Exception, began: float) -> None:
    failure = failure_for(exc)
    if failure is None:
        raise exc
    if not isinstance(exc, TranslationError):  # the upstream answered (with an error): its time counts
        exchange.upstream_seconds = elapsed = time.perf_counter() - began
        gateway.metrics.upstream(elapsed)
    await gateway.fail(exchange, send, failure)


def _response_headers(exchange: Exchange) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"application/json"), (b"x-request-id", exchange.id.encode())]


def _stream_headers(exchange: Exchange) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", b"text/event-stream; charset=utf-8"),
        (b"cache-control", b"no-cache"),
        (b"x-accel-buffering", b"no"),
        (b"x-request-id", exchange.id.encode()),
    ]


# -- models ------------------------------------------------------------------------------------------


async def models(gateway: Gateway, exchange: Exchange, scope: Scope, receive: Receive, send: Send) -> None:
    listed = await model_list(gateway, exchange)
    await send_response(send, 200, to_json({"object": "list", "data": listed}))


async def model(gateway: Gateway, exchange: Exchange, scope: Scope, receive: Receive, send: Send) -> None:
    wanted = scope["path"].rsplit("/", 1)[-1]
    for entry in await model_list(gateway, exchange):
        if entry["id"] == wanted:
            await send_response(send, 200, to_json(entry))
            return
    await gateway.fail(
        exchange, send, HTTPFailure.client(404, f"no model {wanted!r} here", param="model", code="model_not_found")
    )


async def model_list(gateway: Gateway, exchange: Exchange) -> list[dict[str, Any]]:
    """The backend's models (cached a minute), then the aliases, each once. When the backend cannot
    list them, the default model stands in and the log says why."""
    now = time.monotonic()
    cached = gateway.models_cache
    if cached is not None and now - cached[0] < MODELS_TTL:
        upstream = cached[1]
    else:
        try:
            upstream = await gateway.chain().list_models()
            gateway.models_cache = (now, upstream)
        except Exception as exc:
            if failure_for(exc) is None:
                raise
            exchange.error = f"listing the backend's models failed: {exc}"
            owner = gateway.settings.backend
            upstream = [ModelInfo(gateway.settings.default_model(owner), owned_by=owner).to_chat()]
    listed = {entry["id"]: entry for entry in upstream}
    for name, _target in gateway.aliases.names():
        if not any(c in name for c in "*?["):
            listed.setdefault(name, ModelInfo(name, owned_by=_ALIAS_OWNER).to_chat())
    return list(listed.values())


# -- operations ----------------------------------------------------------------------------------------


async def healthz(gateway: Gateway, exchange: Exchange, scope: Scope, receive: Receive, send: Send) -> None:
    await send_response(send, 200, b'{"status":"ok"}')


async def metrics(gateway: Gateway, exchange: Exchange, scope: Scope, receive: Receive, send: Send) -> None:
    text = gateway.merged_metrics().render(gateway.breaker_states())
    await send_response(send, 200, text, [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")])


ROUTES: dict[str, Route] = {
    "/v1/chat/completions": Route("POST", chat_completions, "/v1/chat/completions"),
    "/chat/completions": Route("POST", chat_completions, "/v1/chat/completions"),
    "/v1/models": Route("GET", models, "/v1/models"),
    "/models": Route("GET", models, "/v1/models"),
    "/healthz": Route("GET", healthz, "/healthz", auth=False),
    "/metrics": Route("GET", metrics, "/metrics"),
}
PREFIXED: dict[str, Route] = {"/v1/models/": Route("GET", model, "/v1/models/{model}")}
