"""The backends every command that talks to a provider uses (chat, the interactive session, batch run,
models, serve): how the settings make the backend of a name, and the chain a command calls — the
primary backend, then the `--fallback`s — speaking the command's API; and the sink that turns cloud
events into stderr lines."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from protoshift.cli.settings import BackendSpec, Settings
from protoshift.cloud.kinds import BACKENDS

if TYPE_CHECKING:
    import httpx

    from protoshift.cli.io.console import Diagnostics
    from protoshift.cloud.backend import Backend, Client
    from protoshift.cloud.breaker import SharedBreakers
    from protoshift.cloud.events import CloudEvent, EventSink
    from protoshift.cloud.fallback import Unusable
    from protoshift.translator.wire import API

BackendFactory = Callable[[str, "EventSink"], "Backend"]


def backend_factory(
    settings: Settings,
    *,
    transport: Callable[[str], httpx.AsyncBaseTransport] | None = None,
    connections: int | None = None,
    probe_wait: float = 0.0,
    shared_breakers: SharedBreakers | None = None,
) -> BackendFactory:
    """`build(name, on_event)`: the backend of that name as the settings configure it (key, base URL,
    limits, the model capability table). `--base-url` is the settings' own backend's. `transport(name)`
    gives each HTTP backend its transport, or None for `cloud.transport.default_transport`, sized for
    `connections` requests in flight (`batch run`: its concurrency). `probe_wait`: how long a call waits
    for another's probe of a half-open circuit instead of failing (`batch run`). `shared_breakers`: each
    breaker's state shared beyond this machine too (`serve --state`: gateway/state/breaker.py)."""
    from protoshift import cloud

    models = settings.model_table()

    def build(name: str, on_event: EventSink) -> Backend:
        options: dict[str, Any] = {
            "timeout": settings.timeout,
            "idle_timeout": settings.idle_timeout,
            "max_event_size": settings.max_event_size,
            "max_retries": settings.max_retries,
            "breaker": settings.breaker,
            "breaker_cooldown": settings.breaker_cooldown,
            "on_event": on_event,
            "allow_insecure": settings.allow_insecure,
            "probe_wait": probe_wait,
            "models": models,
        }
        if shared_breakers is not None and settings.breaker:
            options["shared_breakers"] = shared_breakers
        if BACKENDS[name].key_env is not None:
            options["api_key"] = settings.api_key_for(name)
            options["key_source"] = settings.key_source(name)
            options["base_url"] = settings.base_url_for(name, primary=name == settings.backend)
            if transport is not None:
                options["transport"] = transport(name)
            if connections is not None:
                options["connections"] = connections
            if BACKENDS[name].api == "chat" and settings.keep_billing_header(name):
                options["keep_billing_header"] = True
        return cloud.create_backend(name, **options)

    return build


def create_chain(
    settings: Settings,
    diag: Diagnostics,
    *,
    api: API = "chat",
    on_event: EventSink | None = None,
    primary: str | None = None,
    **factory: Any,
) -> Client:
    """The client a command calls: the primary backend (`primary`, else the settings'), then each
    `--fallback`, bridged to `api` (the OpenAI Chat Completions the CLI speaks, by default). `on_event`
    replaces the stderr event sink; `factory`: `backend_factory`'s options."""
    from protoshift import cloud

    sink = on_event or event_sink(diag)
    build = backend_factory(settings, **factory)
    first = primary or settings.backend
    built: dict[str, Backend | Unusable] = {first: build(first, sink)}  # the primary must build: exit 2 if not
    # When it fails to build (no key, a key over http://), nothing was opened, so nothing to close.
    for spec in settings.fallbacks:
        if spec.name not in built:
            built[spec.name] = _fallback(build, spec, settings, diag, sink)
    specs = [BackendSpec(first, None), *settings.fallbacks]
    return cloud.client_for(api, [(built[spec.name], spec.model) for spec in specs], on_event=sink)


def _fallback(
    build: BackendFactory, spec: BackendSpec, settings: Settings, diag: Diagnostics, sink: EventSink
) -> Backend | Unusable:
    """A fallback's backend; one that cannot be built as configured (no key, its key command failing,
    a key over http://) is one warning line naming where it was configured, and an error only if the
    chain needs it (cloud's `Unusable`): a fallback is for when the primary fails, not a reason to fail."""
    from protoshift.cli.exits import CLIError, hint_for
    from protoshift.cloud.errors import ConfigurationError
    from protoshift.cloud.fallback import Unusable

    try:
        return build(spec.name, sink)
    except ConfigurationError as exc:
        problem, hint = exc.message, hint_for(exc)
    except CLIError as exc:  # api_key_cmd failed
        problem, hint = exc.message, exc.hint
    problem = problem.removeprefix(f"{spec.name}: ")
    reason = f"{problem}; {hint}" if hint else problem
    label = f"{spec.name}:{spec.model}" if spec.model else spec.name
    diag.warn(f"fallback {label} (from {settings.fallback_source}) cannot be used: {reason}")
    return Unusable(spec.name, reason)


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
