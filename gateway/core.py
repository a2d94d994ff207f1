"""The gateway as an ASGI application: the lifespan of its backends, the refusals before any work
(route, method, key, header size), admission, failures in the surface's words, and the bookkeeping
every request shares (in-flight count, metrics, the log line, a client key's usage, the
`x-protoshift-overhead-ms` header on every answer). Its routes are given (gateway/app.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

from protoshift.gateway.asgi import (
    Head,
    Message,
    Receive,
    Scope,
    Send,
    cancel_on_disconnect,
    header,
    send_response,
)
from protoshift.gateway.auth import Browsers, Hosts, ServerKeys, is_json, presented
from protoshift.gateway.clients.records import PREFIX
from protoshift.gateway.drain import Drain
from protoshift.gateway.errors import HTTPFailure, echoed, failure_for, internal_error
from protoshift.gateway.exchange import Exchange
from protoshift.gateway.log import RequestLog
from protoshift.gateway.metrics import Metrics, SharedCounts
from protoshift.gateway.routing import Match, NotAllowed, Route, Router
from protoshift.gateway.state.connection import StateUnavailable
from protoshift.gateway.surfaces import SURFACES, Surface
from protoshift.gateway.upstreams import Upstreams
from protoshift.translator.bridges import reaches

if TYPE_CHECKING:
    from protoshift.cloud.backend import KeepsResponses
    from protoshift.cloud.events import CloudEvent
    from protoshift.gateway.config import GatewayConfig

__all__ = ["Gateway"]

PUBLISH_INTERVAL = 1.0  # how often a worker leaves its counts for the others (several workers only)
# On every answer: the milliseconds protoshift itself took before its head went out (the time since the request
# came, less the upstream's: to its whole answer, or to a stream's first event), as MLflow's gateway says it.
OVERHEAD_HEADER = b"x-protoshift-overhead-ms"
CLIENT_KEY_PREFIX = PREFIX.encode()


class Gateway:
    """`await gateway(scope, receive, send)`: the ASGI entry point."""

    def __init__(self, config: GatewayConfig, router: Router) -> None:
        self.config = config
        self.limits = config.limits
        self.keys = ServerKeys(config.keys)
        self.hosts = Hosts(config.hosts)
        self.browsers = Browsers(config.cors_origins)
        self.metrics = Metrics()
        self.log = RequestLog(config.log_path, bodies=config.log_bodies)
        self.upstreams = Upstreams(config, self._on_event)
        self.router = router
        self.drain = Drain()
        self.store = config.store
        self.store.on_event = lambda kind, message: self.log.write({"event": kind, "message": message})
        self.state = config.state
        if self.state is not None:
            self.state.on_event = lambda kind, message: self.log.write({"event": kind, "message": message})
        self.clients = config.clients
        if self.clients is not None:
            self.clients.metrics = self.metrics
            self.clients.on_event = lambda kind, message: self.log.write({"event": kind, "message": message})
        self._shared = SharedCounts(config.metrics_dir) if config.metrics_dir else None
        self._publisher: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reloading: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    def _on_event(self, event: CloudEvent) -> None:
        """Retries, fallbacks, breaker changes and translation notes go to the request log; with
        `log_upstream`, each upstream request and response too (its message made only then)."""
        if event.kind not in ("request", "response") or self.config.log_upstream:
            self.log.write({"event": event.kind, "backend": event.backend, "message": event.message})

    # -- lifespan --------------------------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._loop = asyncio.get_running_loop()
                try:  # a missing key or a bad base URL fails the start
                    backend = self.upstreams.backend(self.config.backend)
                    # its chain for the first surface that reaches it (one that speaks Responses only: that one)
                    self.upstreams.client(next((s.api for s in SURFACES if reaches(s.api, backend.api)), backend.api))
                except Exception as exc:  # reported by the server, which then exits
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                if self._shared is not None:
                    self._publisher = asyncio.create_task(self._publish())
                if self.clients is not None:
                    await self.clients.start()
                await send({"type": "lifespan.startup.complete"})
                self.log.write({"event": "started", "pid": os.getpid()})
            elif message["type"] == "lifespan.shutdown":
                await self._close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def reload(self, config: GatewayConfig) -> None:
        """Serve with `config` from now on: the requests in flight finish on what they began with (their
        backends close after them); the next ones get the new aliases, models, keys, backends."""
        old = self.upstreams
        self.config = config
        self.limits = config.limits
        self.keys = ServerKeys(config.keys)
        self.hosts = Hosts(config.hosts)
        self.browsers = Browsers(config.cors_origins)
        self.upstreams = Upstreams(config, self._on_event)
        old.retire()

    def reload_soon(self, load: Callable[[], tuple[GatewayConfig, list[str]]]) -> None:
        """SIGHUP: `load()` — run in a thread, as it reads files (and may run a key command) — gives the
        new config and what changed, in words; applied on the loop and logged. A `load` that fails keeps
        the config as it was, and the log says why. Safe from a signal handler or another thread."""
        loop = self._loop
        if loop is None:
            return

        async def reloading() -> None:
            try:
                config, changes = await asyncio.to_thread(load)
            except Exception as exc:
                self.log.write({"event": "reload", "error": f"{exc}; the previous configuration stays"})
                return
            self.reload(config)
            self.log.write({"event": "reload", "changed": changes or ["nothing"]})

        def start() -> None:
            self._reloading = loop.create_task(reloading())

        loop.call_soon_threadsafe(start)

    def begin_drain(self, grace: float) -> None:
        """The server is shutting down: whatever still runs in `grace` seconds is cut, each request the
        way its API says so (gateway/drain.py). Safe to call from a signal handler or another thread."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.drain.begin, grace)

    async def _close(self) -> None:
        if self._publisher is not None:
            self._publisher.cancel()
        await self.upstreams.aclose()
        if self.clients is not None:
            await self.clients.aclose()  # what the last requests used, added to the store
        await self.store.aclose()
        if self.state is not None:
            await self.state.aclose()
        if self._shared is not None:
            self._shared.publish(self.metrics)
        self.log.close()

    async def _publish(self) -> None:
        assert self._shared is not None
        while True:
            await asyncio.sleep(PUBLISH_INTERVAL)
            if self.state is not None:
                self.metrics.state_failures = self.state.failures
            if self.metrics.changed:
                self.metrics.changed = False
                self._shared.publish(self.metrics)

    def merged_metrics(self) -> Metrics:
        if self.state is not None:
            self.metrics.state_failures = self.state.failures
        if self._shared is None:
            return self.metrics
        merged = Metrics()
        merged.add(self.metrics.snapshot())
        for snapshot in self._shared.others():
            merged.add(snapshot)
        return merged

    # -- requests --------------------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.router.match(scope["method"], scope["path"])
        if isinstance(found, Match):
            scope["path_params"] = found.params
            exchange = Exchange(found.route.name, _surface(found.route.dialect, scope))
        else:
            exchange = Exchange("unknown", _surface(found.dialect if found else None, scope))
        head = Head(scope)
        origin = head.origin
        send = self._stamped(send, exchange)
        if origin is not None and self.browsers.allows(origin):
            send = self._with_cors(send, origin)
        try:
            failure = self._refusal(found, scope, head)
            if failure is None and isinstance(found, Match) and found.route.auth:
                failure = await self._authenticate(found.route, scope, exchange) or self._oversized(scope, head)
            if failure is not None:
                await self.fail(exchange, send, failure)
            elif isinstance(found, NotAllowed):  # an allowed origin's preflight
                headers = self.browsers.preflight(found.allow, scope)
                await send_response(send, 204, b"", [(b"allow", ", ".join(found.allow).encode()), *headers])
            else:
                assert isinstance(found, Match)
                await found.route.endpoint(self, exchange, scope, receive, send)
        except Exception as exc:  # a bug: answer 500 if nothing was sent yet, and log it
            exchange.error = f"internal: {type(exc).__name__}: {exc}"
            with contextlib.suppress(Exception):
                await self.fail(exchange, send, failure_for(exc) or internal_error())
        finally:
            self.metrics.request(exchange.route, exchange.status)
            if exchange.client is not None and self.clients is not None:
                self.clients.settle(exchange, self.config.prices)
            self.log.write(exchange.entry())

    def _refusal(self, found: Match | NotAllowed | None, scope: Scope, head: Head) -> HTTPFailure | None:
        """Why the request is refused before any work (None: it is not). An allowed origin's
        preflight is no refusal: `found` is then `NotAllowed` (no route takes OPTIONS)."""
        origin = head.origin
        if not self.hosts.allows(head.host):
            host = (head.host or b"").decode("latin-1")[:100]
            return HTTPFailure.client(
                403,
                f"this protoshift server does not answer for the host {host!r} (start it with --allow-host NAME to add one)",
                code="host_not_allowed",
            )
        if origin is not None and not self.browsers.allows(origin):
            return HTTPFailure.client(
                403,
                "requests from web pages are refused unless their origin is allowed (--cors-origin ORIGIN)",
                code="origin_not_allowed",
            )
        if found is None:
            return HTTPFailure.client(
                404, f"no route {echoed(scope['method'])} {echoed(scope['path'])}", code="unknown_url"
            )
        if isinstance(found, NotAllowed):
            if scope["method"] == "OPTIONS" and origin is not None and _is_preflight(scope):
                return None
            failure = HTTPFailure.client(
                405, f"{echoed(scope['path'])} takes {', '.join(found.allow)}, not {echoed(scope['method'])}"
            )
            failure.headers.append((b"allow", ", ".join(found.allow).encode()))
            return failure
        if found.route.auth:
            return None  # the key, then the rest (`_oversized`): after `_authenticate`
        return self._oversized(scope, head)

    def _oversized(self, scope: Scope, head: Head) -> HTTPFailure | None:
        if head.size > self.limits.max_header_bytes:
            return HTTPFailure.client(431, f"request headers are over {self.limits.max_header_bytes} bytes")
        if scope["method"] == "POST" and not is_json(head.content_type):
            return HTTPFailure.client(
                415,
                "the body must be sent as JSON, with the header Content-Type: application/json",
                code="unsupported_media_type",
            )
        return None

    async def _authenticate(self, route: Route, scope: Scope, exchange: Exchange) -> HTTPFailure | None:
        """A server key (`--api-key`: no limits), or a client key (its limits: `exchange.client`); None when
        neither kind exists. `/metrics` (every key's name and spend) takes a server key once client keys are in use."""
        clients = self.clients
        if clients is None and not self.keys:
            return None  # no keys of either kind: nothing to read
        token = presented(scope)
        if clients is not None and not clients.active and (token is None or not token.startswith(CLIENT_KEY_PREFIX)):
            clients = None  # no client key known yet, and this is none: as if there were none
        if not self.keys and clients is None:
            return None
        if token is not None and self.keys and self.keys.matches(token):
            return None
        if token is not None and clients is not None and not route.admin:
            try:
                key = await clients.find(token)
            except StateUnavailable:
                failure = HTTPFailure(
                    503,
                    "the store of client keys is unavailable; retry shortly",
                    "state_unavailable",
                    code="state_unavailable",
                )
                failure.headers.append((b"retry-after", b"1"))
                return failure
            if key is not None:
                exchange.client = key
                return None
        message = "missing or wrong API key for this protoshift server"
        if route.admin and clients is not None:
            message += " (with client keys in use, this path takes a server key: --api-key)"
        return HTTPFailure.client(401, message, code="invalid_api_key")

    def _stamped(self, send: Send, exchange: Exchange) -> Send:
        """`send` with what every answer's head carries: the overhead, and a client key's rate-limit headers;
        a client key's request is counted before its answer's end goes out (its next request may be at once)."""

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                stamp = [(OVERHEAD_HEADER, f"{exchange.overhead_ms():.2f}".encode())]
                if exchange.rate is not None:
                    stamp += exchange.surface.rate_headers(exchange.rate)
                message["headers"] = [*message["headers"], *stamp]
            elif exchange.client is not None and not message.get("more_body", False) and self.clients is not None:
                await self.clients.settle_before_end(exchange, self.config.prices)  # the answer's end: counted first
            await send(message)

        return sending

    def _with_cors(self, send: Send, origin: bytes) -> Send:
        """`send` with the CORS headers of an allowed origin on the answer's head."""
        cors = self.browsers.headers(origin)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], *cors]
            await send(message)

        return sending

    @contextlib.asynccontextmanager
    async def admission(self, exchange: Exchange, send: Send) -> AsyncIterator[bool]:
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

    async def until_done_or_gone(self, exchange: Exchange, receive: Receive, work: Awaitable[None]) -> None:
        """Run `work` (the request was read whole) until it ends or the client goes away; then it is
        cancelled at once, upstream request included, and logged as 499."""
        if await cancel_on_disconnect(receive, work):
            exchange.status, exchange.error = 499, "the client went away; the upstream request was cancelled"
            self.metrics.error("client_gone")

    def responses_keeper(self) -> KeepsResponses | None:
        """The configured backend that keeps the responses it makes (OpenAI Responses, spoken natively):
        `GET /v1/responses/{id}` asks it for those the gateway's store does not hold."""
        return self.upstreams.responses_keeper()

    async def fail(self, exchange: Exchange, send: Send, failure: HTTPFailure) -> None:
        surface = exchange.surface
        worded = surface.word(failure)
        exchange.status = worded.status
        exchange.error = exchange.error or worded.message
        self.metrics.error(worded.kind)
        headers = [*surface.headers(exchange.id), *worded.headers]
        await send_response(send, worded.status, surface.error_body(worded, exchange.id), headers)


def _is_preflight(scope: Scope) -> bool:
    return header(scope, b"access-control-request-method") is not None


def _surface(dialect: str | None, scope: Scope) -> Surface:
    """The surface whose words a route's answers and errors take: its own, or for a route every API
    shares (`/v1/models`), the one the request's headers speak (`anthropic-version`: Anthropic's)."""
    if dialect is None:
        dialect = "messages" if header(scope, b"anthropic-version") is not None else "chat"
    return BY_API[dialect]


BY_API: dict[str, Surface] = {surface.api: surface for surface in SURFACES}
