"""The gateway as an ASGI application: routing, the lifespan of its backend chains, auth and the
header limit, and the bookkeeping every request shares (in-flight count, metrics, the log line)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from protoshift.cli.aliases import Aliases, Target
from protoshift.cli.chain import create_chain
from protoshift.cli.serve.anthropic_errors import anthropic_error_body, anthropic_failure
from protoshift.cli.serve.asgi import (
    Receive,
    Scope,
    Send,
    cancel_on_disconnect,
    header,
    headers_size,
    send_response,
)
from protoshift.cli.serve.auth import ServerKeys
from protoshift.cli.serve.errors import HTTPFailure, failure_for, internal_error
from protoshift.cli.serve.limits import Limits
from protoshift.cli.serve.log import RequestLog
from protoshift.cli.serve.metrics import Metrics, SharedCounts
from protoshift.cli.settings import Settings

if TYPE_CHECKING:
    from protoshift.cli.io.console import Diagnostics
    from protoshift.cloud.backend import Backend
    from protoshift.cloud.events import CloudEvent

Handler = Callable[["Gateway", "Exchange", Scope, Receive, Send], Awaitable[None]]

# How often a worker leaves its counts for the others (several workers only).
PUBLISH_INTERVAL = 1.0


@dataclass(frozen=True)
class Route:
    method: str
    handler: Handler
    name: str
    auth: bool = True
    # Errors in Anthropic's shape (True), OpenAI's (False), or as the request's `anthropic-version` header says (None).
    anthropic: bool | None = False


@dataclass
class GatewayConfig:
    settings: Settings
    diag: Diagnostics
    limits: Limits = field(default_factory=Limits)
    keys: ServerKeys = field(default_factory=lambda: ServerKeys(()))
    log_path: Path | None = None
    log_bodies: bool = False
    metrics_dir: Path | None = None  # set when several workers share the counts


@dataclass(slots=True)
class Exchange:
    """One request's bookkeeping, turned into its log line and metrics at the end."""

    route: str
    id: str = field(default_factory=lambda: "req_" + os.urandom(10).hex())
    started: float = field(default_factory=time.perf_counter)
    status: int = 200
    model: str | None = None
    stream: bool = False
    upstream_seconds: float | None = None
    tokens: tuple[int, int] = (0, 0)
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    anthropic: bool = False  # the client speaks Anthropic's API: errors go back in its shape

    def entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"id": self.id, "route": self.route, "status": self.status}
        if self.model is not None:
            entry["model"] = self.model
            entry["stream"] = self.stream
            entry["prompt_tokens"], entry["completion_tokens"] = self.tokens
        if self.upstream_seconds is not None:
            entry["upstream_ms"] = round(self.upstream_seconds * 1000, 2)
        entry["total_ms"] = round((time.perf_counter() - self.started) * 1000, 2)
        if self.error is not None:
            entry["error"] = self.error
        entry.update(self.extra)
        return entry


class Gateway:
    """`await gateway(scope, receive, send)`: the ASGI entry point."""

    def __init__(
        self, config: GatewayConfig, routes: dict[str, Route], prefixed: dict[str, Route] | None = None
    ) -> None:
        self.config = config
        self.settings = config.settings
        self.limits = config.limits
        self.keys = config.keys
        self.routes = routes
        self.prefixed = prefixed or {}
        self.aliases: Aliases = config.settings.aliases()
        self.metrics = Metrics()
        self.log = RequestLog(config.log_path, bodies=config.log_bodies)
        self._chains: dict[str, Backend] = {}
        self._shared = SharedCounts(config.metrics_dir) if config.metrics_dir else None
        self._publisher: asyncio.Task[None] | None = None
        self.models_cache: tuple[float, list[dict[str, Any]]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    # -- backends --------------------------------------------------------------------------------

    def chain(self, backend: str | None = None) -> Backend:
        """The backend chain starting with `backend` (default: the settings' own), built once."""
        name = backend or self.settings.backend
        chain = self._chains.get(name)
        if chain is None:
            chain = create_chain(self.settings, self.config.diag, on_event=self._on_event, primary=name)
            self._chains[name] = chain
        return chain

    def target(self, model: Any) -> Target:
        """The backend and model a request naming `model` goes to (aliases applied)."""
        if not isinstance(model, str) or not model:
            return Target(self.settings.default_model(self.settings.backend))
        return self.aliases.resolve(model) or Target(model)

    def breaker_states(self) -> list[tuple[str, str]]:
        states: list[tuple[str, str]] = []
        for chain in self._chains.values():
            for backend in _members(chain):
                breaker = getattr(backend, "breaker", None)
                if breaker is not None:
                    with contextlib.suppress(Exception):
                        states.append((backend.name, breaker.state()))
        return sorted(set(states))

    def _on_event(self, event: CloudEvent) -> None:
        """Retries, fallbacks, breaker changes and translation notes go to the request log."""
        if event.kind not in ("request", "response"):
            self.log.write({"event": event.kind, "backend": event.backend, "message": event.message})

    # -- lifespan --------------------------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.chain()  # a missing key or a bad base URL fails the start, not the first request
                except Exception as exc:  # reported by uvicorn, which then exits
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                if self._shared is not None:
                    self._publisher = asyncio.create_task(self._publish())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _close(self) -> None:
        if self._publisher is not None:
            self._publisher.cancel()
        for chain in self._chains.values():
            with contextlib.suppress(Exception):
                await chain.aclose()
        if self._shared is not None:
            self._shared.publish(self.metrics)
        self.log.close()

    async def _publish(self) -> None:
        assert self._shared is not None
        while True:
            await asyncio.sleep(PUBLISH_INTERVAL)
            if self.metrics.changed:
                self.metrics.changed = False
                self._shared.publish(self.metrics)

    def merged_metrics(self) -> Metrics:
        if self._shared is None:
            return self.metrics
        merged = Metrics()
        merged.add(self.metrics.snapshot())
        for snapshot in self._shared.others():
            merged.add(snapshot)
        return merged

    # -- requests --------------------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self._route(scope["path"])
        exchange = Exchange(route.name if route is not None else "unknown")
        dialect = route.anthropic if route is not None else None
        exchange.anthropic = dialect if dialect is not None else header(scope, b"anthropic-version") is not None
        try:
            failure = self._refusal(route, scope)
            if failure is not None:
                await self.fail(exchange, send, failure)
            else:
                assert route is not None
                await route.handler(self, exchange, scope, receive, send)
        except Exception as exc:  # a bug: answer 500 if nothing was sent yet, and log it
            exchange.error = f"internal: {type(exc).__name__}: {exc}"
            with contextlib.suppress(Exception):
                await self.fail(exchange, send, failure_for(exc) or internal_error())
        finally:
            self.metrics.request(exchange.route, exchange.status)
            self.log.write(exchange.entry())

    def _route(self, path: str) -> Route | None:
        route = self.routes.get(path)
        if route is None:
            for prefix, candidate in self.prefixed.items():
                if path.startswith(prefix) and len(path) > len(prefix):
                    return candidate
        return route

    def _refusal(self, route: Route | None, scope: Scope) -> HTTPFailure | None:
        if route is None:
            return HTTPFailure.client(404, f"no route {scope['method']} {scope['path']}", code="unknown_url")
        if scope["method"] != route.method:
            return HTTPFailure.client(405, f"{scope['path']} takes {route.method}, not {scope['method']}")
        if route.auth and not self.keys.allows(scope):
            return HTTPFailure.client(
                401, "missing or wrong API key for this protoshift server", code="invalid_api_key"
            )
        if headers_size(scope) > self.limits.max_header_bytes:
            return HTTPFailure.client(431, f"request headers are over {self.limits.max_header_bytes} bytes")
        return None

    @contextlib.asynccontextmanager
    async def slot(self, exchange: Exchange, send: Send) -> AsyncIterator[bool]:
        """A place among the requests answered at once, or a 429 with `retry-after` (then False)."""
        if self.metrics.in_flight >= self.limits.max_in_flight:
            failure = HTTPFailure.client(429, "too many requests in flight on this protoshift server; retry shortly")
            failure.headers.append((b"retry-after", b"1"))
            await self.fail(exchange, send, failure)
            yield False
            return
        self.metrics.in_flight += 1
        try:
            yield True
        finally:
            self.metrics.in_flight -= 1

    async def answer(self, exchange: Exchange, receive: Receive, work: Awaitable[None]) -> None:
        """Run `work` (the request was read whole) until it ends or the client goes away; then it is
        cancelled at once, upstream request included, and logged as 499."""
        if await cancel_on_disconnect(receive, work):
            exchange.status, exchange.error = 499, "the client went away; the upstream request was cancelled"
            self.metrics.error("client_gone")

    async def fail(self, exchange: Exchange, send: Send, failure: HTTPFailure) -> None:
        if exchange.anthropic:
            failure = anthropic_failure(failure)
        exchange.status = failure.status
        exchange.error = exchange.error or failure.message
        self.metrics.error(failure.kind)
        body = anthropic_error_body(failure, exchange.id) if exchange.anthropic else failure.body()
        await send_response(send, failure.status, body, failure.all_headers())


def _members(chain: Backend) -> list[Backend]:
    """The backends of a chain (a fallback chain's members, or the backend itself)."""
    members = getattr(chain, "backends", None)
    if isinstance(members, list):
        return [backend for backend, _ in members]
    return [chain]
