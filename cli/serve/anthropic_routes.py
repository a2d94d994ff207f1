"""The Anthropic side of the gateway (issue 14): `POST /v1/messages` (JSON, and SSE framed as Anthropic
frames it: `event: NAME` / `data: JSON` / a blank line), `POST /v1/messages/count_tokens`, and
`GET /v1/models` (and `/v1/models/{id}`) in Anthropic's shape when asked with `anthropic-version`.

The request's model goes through the `[aliases]` table (exact names and patterns, `backend:model`
values) so Claude Code's model names land on a model that exists; a name no alias matches goes to the
default backend as it is. With an Anthropic backend the request is passed through (no translation); with
an OpenAI-compatible one it is translated there and back (cloud.OpenAIBackend). `anthropic-beta` values
are passed to an Anthropic backend and ignored by the others; `anthropic-version` only picks the shape
of `/v1/models` and of errors.

As on the OpenAI side, a stream's status waits for its first event (retries and fallback happen before
it), so a failure before any output is a proper error status; after, it is an `error` event and the
stream ends (the anthropic SDK raises `APIStatusError`).
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any
from urllib.parse import parse_qs

from pydantic_core import to_json

from protoshift.cli.serve.anthropic_errors import anthropic_error_event
from protoshift.cli.serve.app import Exchange, Gateway, Route
from protoshift.cli.serve.asgi import Receive, Scope, Send, send_response, send_stream
from protoshift.cli.serve.errors import HTTPFailure, failure_for
from protoshift.cli.serve.openai_routes import model as openai_model_route
from protoshift.cli.serve.openai_routes import model_list, read_request
from protoshift.cli.serve.openai_routes import models as openai_models_route
from protoshift.cloud.errors import ERROR_TYPE_STATUS, StreamInterruptedError
from protoshift.translator import TranslationError
from protoshift.translator.model_objects import ModelInfo
from protoshift.translator.openai_to_anthropic import encode_event
from protoshift.translator.usage import token_counts
from protoshift.translator.wire import MESSAGES

_WHAT = "an Anthropic Messages request"
TOKEN_COUNT_HEADER = b"x-protoshift-token-count"
MODELS_PAGE = 20  # Anthropic's default page size for GET /v1/models
MODELS_PAGE_MAX = 1000


def betas_of(scope: Scope) -> list[str]:
    """The `anthropic-beta` values of the request (one header or several, comma-separated)."""
    values: list[str] = []
    for key, value in scope["headers"]:
        if key == b"anthropic-beta":
            values += [part.strip() for part in value.decode("latin-1").split(",") if part.strip()]
    return values


# -- POST /v1/messages ------------------------------------------------------------------------------


async def messages(gateway: Gateway, exchange: Exchange, scope: Scope, receive: Receive, send: Send) -> None:
    async with gateway.slot(exchange, send) as admitted:
        if not admitted:
            return
        request = await read_request(gateway, exchange, scope, receive, send, _WHAT)
        if request is None:
            return
        chain = _route_model(gateway, exchange, request)
        exchange.stream = request.get("stream") is True
        betas = betas_of(scope)
        answer = (
            _stream(gateway, exchange, chain, request, betas, send)
            if exchange.stream
            else _create(gateway, exchange, chain, request, betas, send)
        )
        await gateway.answer(exchange, receive, answer)


def _route_model(gateway: Gateway, exchange: Exchange, request: dict[str, Any]) -> Any:
    """The backend chain for the request's model (aliases applied); the request names the target model."""
    model = request.get("model")
    if isinstance(model, str) and model:
        target = gateway.target(model)
        request["model"] = exchange.model = target.model
        return gateway.chain(target.backend)
    exchange.model = str(model) if model is not None else ""
    return gateway.chain()  # no model: the translator (or the provider) says so, with the field's path


async def _create(
    gateway: Gateway, exchange: Exchange, chain: Any, request: dict[str, Any], betas: list[str], send: Send
) -> None:
    began = time.perf_counter()
    try:
        message = await chain.create_message(request, betas=betas)
    except Exception as exc:
        await _fail_upstream(gateway, exchange, send, exc, began)
        return
    _upstream_time(gateway, exchange, began)
    exchange.tokens = gateway.metrics.usage(_openai_usage(message.get("usage")))
    if gateway.log.bodies:
        exchange.extra["response"] = message
    await send_response(send, 200, to_json(message), _headers(exchange, b"application/json"))


async def _stream(
    gateway: Gateway, exchange: Exchange, chain: Any, request: dict[str, Any], betas: list[str], send: Send
) -> None:
    began = time.perf_counter()
    async with aclosing(chain.stream_message(request, betas=betas)) as events:
        try:
            first = await anext(events, None)
        except Exception as exc:
            await _fail_upstream(gateway, exchange, send, exc, began)
            return
        _upstream_time(gateway, exchange, began)
        if first is None:  # nothing came and nothing failed: say so the way a stream can
            failure = HTTPFailure(502, "the provider's stream was empty", "api_error", kind="upstream_bad_response")
            await gateway.fail(exchange, send, failure)
            return
        usage = _StreamUsage(gateway, exchange)
        usage.see(first)
        frames = _frames(gateway, exchange, events, usage)
        await send_stream(send, encode_event(first), frames, _headers(exchange, b"text/event-stream; charset=utf-8"))


class _StreamUsage:
    """The token counts of a stream, from message_start and message_delta, counted once at the end."""

    __slots__ = ("exchange", "gateway", "usage")

    def __init__(self, gateway: Gateway, exchange: Exchange) -> None:
        self.gateway = gateway
        self.exchange = exchange
        self.usage: dict[str, Any] = {}

    def see(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "message_start":
            usage = (event.get("message") or {}).get("usage")
        elif kind == "message_delta":
            usage = event.get("usage")
        else:
            return
        if isinstance(usage, dict):
            self.usage.update((k, v) for k, v in usage.items() if v is not None)

    def count(self) -> None:
        self.exchange.tokens = self.gateway.metrics.usage(_openai_usage(self.usage))


async def _frames(
    gateway: Gateway, exchange: Exchange, events: AsyncGenerator[dict[str, Any], None], usage: _StreamUsage
) -> AsyncIterator[bytes]:
    """The rest of the stream as Anthropic SSE frames; a failure midway becomes an `error` event."""
    try:
        async for event in events:
            usage.see(event)
            yield encode_event(event)
    except Exception as exc:
        failure = failure_for(exc)
        if failure is None:
            raise
        exchange.error = failure.message
        gateway.metrics.error(failure.kind)
        event = anthropic_error_event(failure)
        if isinstance(exc, StreamInterruptedError) and exc.error_type in ERROR_TYPE_STATUS:
            event["error"] = {"type": exc.error_type, "message": failure.message}  # the provider's own type
        yield encode_event(event)
    finally:
        usage.count()


async def _fail_upstream(gateway: Gateway, exchange: Exchange, send: Send, exc: Exception, began: float) -> None:
    failure = failure_for(exc)
    if failure is None:
        raise exc
    if isinstance(exc, TranslationError):
        # every problem, each with its path: the client sees all it must fix at once
        failure.message = "; ".join(str(problem) for problem in exc.problems)
    else:
        _upstream_time(gateway, exchange, began)
    await gateway.fail(exchange, send, failure)


def _upstream_time(gateway: Gateway, exchange: Exchange, began: float) -> None:
    exchange.upstream_seconds = elapsed = time.perf_counter() - began
    gateway.metrics.upstream(elapsed)


def _openai_usage(usage: Any) -> dict[str, int]:
    """Anthropic usage as the metrics count it (prompt = input + cache reads + cache writes)."""
    tokens_in, tokens_out = token_counts(MESSAGES, usage)
    return {"prompt_tokens": tokens_in, "completion_tokens": tokens_out}


def _headers(exchange: Exchange, content_type: bytes) -> list[tuple[bytes, bytes]]:
    headers = [(b"content-type", content_type), (b"request-id", exchange.id.encode())]
    if content_type.startswith(b"text/event-stream"):
        headers += [(b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]
    return headers


# -- POST /v1/messages/count_tokens -----------------------------------------------------------------


async def count_tokens(gateway: Gateway, exchange: Exchange, scope: Scope, receive: Receive, send: Send) -> None:
    request = await read_request(gateway, exchange, scope, receive, send, "an Anthropic token-count request")
    if request is None:
        return
    chain = _route_model(gateway, exchange, request)
    began = time.perf_counter()
    try:
        counted = await chain.count_tokens(request, betas=betas_of(scope))
    except Exception as exc:
        await _fail_upstream(gateway, exchange, send, exc, began)
        return
    _upstream_time(gateway, exchange, began)
    exchange.extra["token_count"] = "exact" if counted["exact"] else "estimate"
    headers = [*_headers(exchange, b"application/json"), (TOKEN_COUNT_HEADER, exchange.extra["token_count"].encode())]
    await send_response(send, 200, to_json({"input_tokens": counted["input_tokens"]}), headers)


# -- GET /v1/models, in Anthropic's shape when asked with anthropic-version ----------------------------


async def models(gateway: Gateway, exchange: Exchange, scope: Scope, receive: Receive, send: Send) -> None:
    if not exchange.anthropic:
        await openai_models_route(gateway, exchange, scope, receive, send)
        return
    listed = [
        info.to_messages() for entry in await model_list(gateway, exchange) if (info := ModelInfo.from_chat(entry))
    ]
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    try:
        limit = int(query.get("limit", [str(MODELS_PAGE)])[0])
    except ValueError:
        limit = 0
    if not 1 <= limit <= MODELS_PAGE_MAX:
        await gateway.fail(exchange, send, HTTPFailure.client(400, f"limit: must be between 1 and {MODELS_PAGE_MAX}"))
        return
    ids = [entry["id"] for entry in listed]
    start, end = 0, len(listed)
    if (after := query.get("after_id")) and after[0] in ids:
        start = ids.index(after[0]) + 1
    if (before := query.get("before_id")) and before[0] in ids:
        end = ids.index(before[0])
        start = max(start, end - limit)
    page = listed[start : min(end, start + limit)]
    body = {
        "data": page,
        "has_more": start + len(page) < end,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
    }
    await send_response(send, 200, to_json(body), _headers(exchange, b"application/json"))


async def model(gateway: Gateway, exchange: Exchange, scope: Scope, receive: Receive, send: Send) -> None:
    if not exchange.anthropic:
        await openai_model_route(gateway, exchange, scope, receive, send)
        return
    wanted = scope["path"].rsplit("/", 1)[-1]
    for entry in await model_list(gateway, exchange):
        if entry["id"] == wanted and (info := ModelInfo.from_chat(entry)):
            await send_response(send, 200, to_json(info.to_messages()), _headers(exchange, b"application/json"))
            return
    await gateway.fail(exchange, send, HTTPFailure.client(404, f"model: {wanted} not found"))


ROUTES: dict[str, Route] = {
    "/v1/messages": Route("POST", messages, "/v1/messages", anthropic=True),
    "/v1/messages/count_tokens": Route("POST", count_tokens, "/v1/messages/count_tokens", anthropic=True),
    "/v1/models": Route("GET", models, "/v1/models", anthropic=None),
}
PREFIXED: dict[str, Route] = {"/v1/models/": Route("GET", model, "/v1/models/{model}", anthropic=None)}
