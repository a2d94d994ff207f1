"""The backend chain every command that talks to a provider uses (chat, the interactive session,
batch run): the primary backend from the settings, wrapped in a fallback chain when `--fallback`
names others; and the sink that turns cloud events into stderr lines."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from protoshift.cli.settings import BackendSpec, Settings

if TYPE_CHECKING:
    import httpx

    from protoshift.cli.io.console import Diagnostics
    from protoshift.cloud.backend import Backend
    from protoshift.cloud.events import CloudEvent, EventSink


def create_chain(
    settings: Settings,
    diag: Diagnostics,
    *,
    on_event: EventSink | None = None,
    transport: Callable[[str], httpx.AsyncBaseTransport] | None = None,
    primary: str | None = None,
    connections: int | None = None,
    probe_wait: float = 0.0,
) -> Backend:
    """`on_event` replaces the stderr event sink; `transport(backend_name)` gives each HTTP backend
    its transport, or None for `cloud.transport.default_transport`, sized for `connections` requests
    in flight (`batch run`: its concurrency). `primary` starts the chain with another backend than
    the settings' (a `serve` alias naming one); `--base-url` applies to the settings' own backend only.
    `probe_wait`: how long a call waits for another's probe of a half-open circuit instead of
    failing (`batch run`)."""
    from protoshift import cloud

    sink = on_event or event_sink(diag)
    specs = [BackendSpec(primary or settings.backend, None), *settings.fallbacks]
    backends: list[tuple[Backend, str | None]] = []
    models = settings.model_table()
    for position, spec in enumerate(specs):
        options: dict[str, Any] = {
            "timeout": settings.timeout,
            "idle_timeout": settings.idle_timeout,
            "max_event_size": settings.max_event_size,
            "max_retries": settings.max_retries,
            "breaker": settings.breaker,
            "on_event": sink,
            "allow_insecure": settings.allow_insecure,
            "probe_wait": probe_wait,
        }
        # Bodies shaped by the model capability table: Anthropic bodies for a backend that speaks Anthropic,
        # OpenAI bodies (from Anthropic requests, issue 14) for one that speaks OpenAI.
        options["models"] = models
        if cloud.BACKENDS[spec.name].key_env is not None:
            options["api_key"] = settings.api_key_for(spec.name)
            options["key_source"] = settings.key_source(spec.name)
            options["base_url"] = settings.base_url_for(
                spec.name, primary=position == 0 and spec.name == settings.backend
            )
            if transport is not None:
                options["transport"] = transport(spec.name)
            if connections is not None:
                options["connections"] = connections
        # When one fails to build (no key, a key over http://), those built before it are dropped as
        # they are: their clients never opened a connection, so there is nothing to close.
        backends.append((cloud.create_backend(spec.name, **options), spec.model))
    if len(backends) == 1:
        return backends[0][0]
    return cloud.FallbackBackend(backends, on_event=sink)


def event_sink(diag: Diagnostics) -> EventSink:
    """Cloud events as stderr lines: the `-v` trace only when verbose, notes and the rest unless quiet."""

    def on_event(event: CloudEvent) -> None:
        if event.kind in ("request", "response"):
            if diag.verbose:  # read only when shown: the trace's message is made on first read
                diag.detail(event.message)
        elif event.kind == "note":
            diag.warn(f"note: {event.message}")
        else:
            diag.warn(event.message)

    return on_event
