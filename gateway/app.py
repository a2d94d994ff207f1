"""`build_app(config)`: the gateway's ASGI app — its routes, one list: each surface's paths (each to an
operation of the pipeline), then the endpoints every surface shares (models, health, metrics, `/`)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from pydantic_core import to_json

from protoshift.gateway import pipeline
from protoshift.gateway.asgi import JSON_TYPE, Receive, Scope, Send, send_response
from protoshift.gateway.core import Gateway
from protoshift.gateway.errors import HTTPFailure, echoed
from protoshift.gateway.routing import Route, Router
from protoshift.gateway.surfaces import SURFACES

if TYPE_CHECKING:
    from protoshift.gateway.config import GatewayConfig
    from protoshift.gateway.exchange import Exchange

__all__ = ["DESCRIPTION", "Gateway", "build_app"]

DESCRIPTION = b"protoshift gateway: OpenAI /v1/chat/completions and /v1/responses, Anthropic /v1/messages\n"


def build_app(config: GatewayConfig) -> Gateway:
    """The ASGI app for `config`: mount it, or hand it to any ASGI server."""
    return Gateway(config, Router(routes()))


# -- endpoints every surface shares --------------------------------------------------------------------


async def describe(gateway: Gateway, exchange: Exchange, scope: Scope, receive: Receive, send: Send) -> None:
    """`GET /` and `HEAD /`, and `/api/hello` (Claude Code's preconnect at start, when it may send more
    than it must): what this server is, in one line."""
    await send_response(send, 200, DESCRIPTION, [(b"content-type", b"text/plain; charset=utf-8")])


async def healthz(gateway: Gateway, exchange: Exchange, scope: Scope, receive: Receive, send: Send) -> None:
    await send_response(send, 200, b'{"status":"ok"}', [JSON_TYPE])


async def metrics(gateway: Gateway, exchange: Exchange, scope: Scope, receive: Receive, send: Send) -> None:
    text = gateway.merged_metrics().render(gateway.upstreams.breaker_states())
    await send_response(send, 200, text, [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")])


async def list_models(gateway: Gateway, exchange: Exchange, scope: Scope, receive: Receive, send: Send) -> None:
    surface = exchange.surface
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    with gateway.upstreams as upstreams:
        listing = surface.model_list(await upstreams.models(exchange), query)
    if listing.body is None:
        await gateway.fail(exchange, send, HTTPFailure.client(400, listing.problem or "bad query"))
        return
    await send_response(send, 200, to_json(listing.body), surface.headers(exchange.id))


async def get_model(gateway: Gateway, exchange: Exchange, scope: Scope, receive: Receive, send: Send) -> None:
    surface = exchange.surface
    wanted = scope["path_params"]["model"]
    with gateway.upstreams as upstreams:
        models = await upstreams.models(exchange)
    for model in models:
        if model.id == wanted:
            await send_response(send, 200, to_json(surface.model_object(model)), surface.headers(exchange.id))
            return
    failure = HTTPFailure.client(404, f"model: {echoed(wanted)} not found", param="model", code="model_not_found")
    await gateway.fail(exchange, send, failure)


def routes() -> list[Route]:
    """Every route: the surfaces' own (each path to an operation of the pipeline), then the shared ones."""
    own = [
        Route.of(
            path, {"POST"}, functools.partial(_operate, pipeline.OPERATIONS[op]), name=_v1(path), dialect=surface.api
        )
        for surface in SURFACES
        for path, op in surface.paths.items()
    ]
    return [
        *own,
        *(route for surface in SURFACES for route in surface.routes()),
        Route.of("/v1/models", {"GET"}, list_models),
        Route.of("/models", {"GET"}, list_models, name="/v1/models"),
        Route.of("/v1/models/{model:path}", {"GET"}, get_model, name="/v1/models/{model}"),
        Route.of("/", {"GET"}, describe, auth=False),
        Route.of("/api/hello", {"GET"}, describe, auth=False),
        Route.of("/healthz", {"GET"}, healthz, auth=False),
        Route.of("/metrics", {"GET"}, metrics, admin=True),
    ]


def _v1(path: str) -> str:
    """The name of a path in the log and the metrics: its /v1 form (one name for both spellings)."""
    return path if path.startswith("/v1/") else "/v1" + path


async def _operate(
    op: pipeline.Operation, gateway: Gateway, exchange: Exchange, scope: Scope, receive: Receive, send: Send
) -> Any:
    await pipeline.run(gateway, exchange, scope, receive, send, op)
