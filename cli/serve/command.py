"""`protoshift serve`: flags and config in, the gateway (protoshift.gateway) built from them and run
on uvicorn (uvloop + httptools).

- Bound to 127.0.0.1 by default. Any other address needs server keys (`--api-key`, or
  `PROTOSHIFT_SERVER_KEYS` with one or more, comma-separated): clients then send one as a bearer token.
- SIGTERM (or Ctrl-C): stop accepting, let requests and streams in flight finish for `--grace`
  seconds; then what still runs is cut the way its API says so (a 503, or the stream's own error
  event and a proper end of the body: gateway/drain.py), and the server exits (0 after SIGTERM, 130
  after Ctrl-C).
- SIGHUP: the config file is read again (aliases, models, keys, backends, prices) and serves the
  requests that come after; those in flight finish as they began. The log says what changed; a file
  that does not load leaves the configuration as it was, and the log says why.
- `--workers N`: N processes on one socket; each has its own backend chains and they share the
  breaker (a file, as every protoshift process does) and the metrics (gateway/metrics.py). SIGHUP
  reaches each of them.
- `--state URL`: replicas (on any machine) share the breakers and the stored responses through one
  Redis or Valkey (gateway/state/); each falls back on its own while it does not answer.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import signal
import socket
import sys
import tempfile
import threading
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from protoshift.cli.exits import OK, PROVIDER_FAILED, CLIError, InputError
from protoshift.cli.flags import ProviderFlags, ServeFlags
from protoshift.cli.gc_policy import tune_for_throughput
from protoshift.cli.io.console import Diagnostics
from protoshift.cli.settings import Settings
from protoshift.cloud.kinds import BACKENDS
from protoshift.cloud.security import is_loopback
from protoshift.gateway.auth import LOOPBACK_NAMES

if TYPE_CHECKING:
    from types import FrameType

    from protoshift.gateway.clients.gate import ClientKeys
    from protoshift.gateway.config import GatewayConfig
    from protoshift.gateway.core import Gateway
    from protoshift.gateway.state.connection import SharedState
    from protoshift.gateway.store import ResponseStore

KEYS_ENV = "PROTOSHIFT_SERVER_KEYS"
_WORKER_STATE_ENV = "PROTOSHIFT_SERVE_WORKER"  # how the parent hands the options to its workers
GRACE_MARGIN = 5.0  # seconds uvicorn waits past --grace, for the gateway's cut answers to go out


def run_serve(options: ServeFlags, settings: Settings, diag: Diagnostics) -> int:
    keys = server_keys(options.api_keys)
    _check(options, keys)
    if options.store_dir is None:  # stored responses live with protoshift's other data
        from protoshift.cloud.state import data_dir

        options.store_dir = data_dir()
    _check_backend(settings, diag)  # a missing key or a bad URL is exit 2 now, not a failed worker later
    import uvicorn

    from protoshift.gateway.http_guard import raise_fd_limit

    cap = raise_fd_limit()  # as many connections as the system allows, less what upstream needs
    sock = _bind(options.host, options.port)
    _on_sigterm()  # before the start line: a supervisor may stop the server the moment it reads it
    host, port = sock.getsockname()[:2]
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    clients = f"OpenAI SDK: base_url={url}/v1; Anthropic SDK or Claude Code: ANTHROPIC_BASE_URL={url}"
    if BACKENDS[settings.backend].api == "responses":  # it takes Responses requests only
        clients = f"OpenAI SDK (client.responses) or Codex: base_url={url}/v1"
    diag.warn(
        f"serving {settings.backend} on {url}/v1 ({options.workers} worker{'s' * (options.workers > 1)},"
        f" at most {cap} connections each); {clients}{_shared_with(options)}; Ctrl-C to stop"
    )
    if options.workers == 1:
        tune_for_throughput()
        gateway = build_gateway(options, keys, settings, diag, metrics_dir=None)
        app = functools.partial(_serving, gateway, options, keys, settings, None)  # uvicorn calls it once started
        server = uvicorn.Server(_config(uvicorn, app, options))
        server.run(sockets=[sock])
        if not server.started:
            raise CLIError("the server did not start (the reason is above)", PROVIDER_FAILED)
    else:
        _run_workers(uvicorn, options, keys, settings, sock)
    return OK


def _shared_with(options: ServeFlags) -> str:
    if options.state is None:
        return ""
    from protoshift.gateway.state.connection import StateURL

    return f"; shared state: {StateURL.parse(options.state).shown} (fail {options.state_fail})"


def server_keys(given: list[str]) -> list[str]:
    """The keys clients must present: `--api-key`s, else `PROTOSHIFT_SERVER_KEYS` (comma-separated).
    A blank one from either is refused: `--api-key "$KEY"` with KEY unset would otherwise mean no key."""
    for key in given:
        if not key.strip():
            raise InputError(
                "--api-key is empty: the server would answer anyone",
                hint="give the key itself (is the variable you meant to pass set?)",
            )
    if given:
        return given
    raw = os.environ.get(KEYS_ENV)
    if raw is None:
        return []
    keys = [part.strip() for part in raw.split(",")]
    if not any(keys) or not all(keys):
        where = "is set but empty" if not any(keys) else f"has an empty key (number {keys.index('') + 1})"
        raise InputError(f"{KEYS_ENV} {where}: the server would answer anyone", hint=f"{KEYS_ENV}=KEY1,KEY2")
    return keys


def hosts(options: ServeFlags, keys: list[str]) -> list[str] | None:
    """The Host names the server answers: on loopback without keys, loopback names only (a web page on a
    DNS-rebinding domain must not reach it), and any `--allow-host`; else any, unless `--allow-host` says."""
    if options.allow_hosts or (is_loopback(options.host) and not keys):
        return [*LOOPBACK_NAMES, *options.allow_hosts]
    return None


def _check(options: ServeFlags, keys: list[str]) -> None:
    if options.state is not None:
        from protoshift.gateway.state.connection import StateURL

        try:
            StateURL.parse(options.state)
        except ValueError as exc:
            raise InputError(
                f"--state: {exc}", hint="--state redis://HOST:6379/0 (or rediss://, unix:///PATH)"
            ) from None
    if options.workers < 1:
        raise InputError("--workers must be at least 1")
    if not 0 <= options.port <= 65535:
        raise InputError(f"--port {options.port}: not a port number")
    if options.log is not None and not options.log.parent.is_dir():  # else a traceback once serving
        raise InputError(f"--log {options.log}: no folder {options.log.parent}")
    if not is_loopback(options.host) and not keys and not _client_keys_exist(options):
        raise InputError(
            f"--host {options.host} opens the server to other machines, and it would spend your provider key for"
            " anyone who reaches it",
            hint=f"give --api-key KEY (or {KEYS_ENV}=KEY1,KEY2), or make client keys (protoshift keys add NAME):"
            " clients must then send one as a bearer token",
        )


def _client_keys_exist(options: ServeFlags) -> bool:
    """Client keys in the store `serve` reads (their presence makes every request need a key)."""
    from protoshift.cli.keys_cmd import with_store

    try:
        return bool(with_store(options.state, lambda store: store.keys()))
    except CLIError:
        return False


def _check_backend(settings: Settings, diag: Diagnostics) -> None:
    import asyncio

    from protoshift.cli.chain import create_chain

    chain = create_chain(settings, diag, api=BACKENDS[settings.backend].api)  # an API it speaks: any reaches it
    asyncio.run(chain.aclose())


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        hint = "another program has that port: --port N picks another (--port 0: any free one)"
        in_use = exc.errno == errno.EADDRINUSE
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", hint if in_use else None) from None
    sock.listen(2048)  # connections wait in the backlog until uvicorn takes them: none is refused at start
    sock.set_inheritable(True)
    return sock


def _config(uvicorn: Any, app: Any, options: ServeFlags) -> Any:
    """uvicorn's config, served by the guarded protocol (gateway/http_guard.py): heads bounded while
    they are read, deadlines for a head and for an idle connection, a cap on connections."""
    from protoshift.gateway.http_guard import GuardLimits, guard

    config = uvicorn.Config(
        app,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,  # the gateway writes its own line per request
        log_level="warning",
        # the gateway cuts what still runs at the end of the grace period (gateway/drain.py); uvicorn's own
        # limit, a little later, only catches what could not even be cut (a client that reads nothing)
        timeout_graceful_shutdown=options.grace + GRACE_MARGIN,
        factory=True,
        server_header=False,
        workers=options.workers,
    )
    return guard(config, GuardLimits(max_header_bytes=options.max_header_bytes))


def build_gateway(
    options: ServeFlags, keys: list[str], settings: Settings, diag: Diagnostics, metrics_dir: Path | None
) -> Gateway:
    """The gateway the settings describe: their backend first, their fallbacks after it, their aliases."""
    from protoshift.gateway import build_app

    state = _shared_state(options)
    config = gateway_config(
        options, keys, settings, metrics_dir, _store(options, state), state, _clients(options, state)
    )
    return build_app(config)


def _clients(options: ServeFlags, state: SharedState | None) -> ClientKeys | None:
    """Where the client keys are read and their limits counted: the shared Redis, else the SQLite file in the
    data folder (every worker and `protoshift keys` on this machine); none for a gateway with no folder."""
    from protoshift.gateway.clients.gate import ClientKeys

    if state is not None:
        return ClientKeys.shared_in(state)
    if options.store_dir is None:
        return None
    from protoshift.gateway.clients.sqlite import FILENAME

    return ClientKeys.local(options.store_dir / FILENAME)


def _shared_state(options: ServeFlags) -> SharedState | None:
    """The Redis the replicas share (`--state`), connected on first use in this process's loop."""
    if options.state is None:
        return None
    from protoshift.gateway.state.connection import SharedState, StateURL

    return SharedState(
        StateURL.parse(options.state),
        timeout=options.state_timeout_ms / 1000,
        fail="closed" if options.state_fail == "closed" else "open",
    )


def _store(options: ServeFlags, state: SharedState | None = None) -> ResponseStore:
    """Where `/v1/responses` keeps what it stores: a SQLite file in the data folder (shared by the
    workers; 0600); in memory when the options name no folder (a gateway built in a test); with a shared
    state, in its Redis, the local one under it for when Redis is away."""
    from protoshift.gateway.store import MemoryStore, SQLiteStore

    local: ResponseStore = (
        MemoryStore()
        if options.store_dir is None
        else SQLiteStore(options.store_dir / "responses.sqlite3", shared=options.workers > 1)
    )
    if state is None:
        return local
    from protoshift.gateway.state.responses import RedisResponseStore

    return RedisResponseStore(state, local)


def gateway_config(
    options: ServeFlags,
    keys: list[str],
    settings: Settings,
    metrics_dir: Path | None,
    store: ResponseStore,
    state: SharedState | None = None,
    clients: ClientKeys | None = None,
) -> GatewayConfig:
    from protoshift.cli.chain import backend_factory
    from protoshift.gateway import GatewayConfig

    shared = None
    if state is not None:  # each backend's breakers shared by every replica (gateway/state/breaker.py)
        from protoshift.gateway.state.breaker import shared_breakers

        shared = shared_breakers(state)
    return GatewayConfig(
        backend=settings.backend,
        build_backend=backend_factory(settings, shared_breakers=shared),
        fallbacks=[(spec.name, spec.model) for spec in settings.fallbacks],
        default_model=settings.default_model(settings.backend),
        aliases=settings.aliases(),
        limits=options.limits(),
        keys=keys,
        hosts=hosts(options, keys),
        cors_origins=options.cors_origins,
        store=store,
        state=state,
        clients=clients,
        prices=settings.prices(),
        log_path=options.log,
        log_bodies=options.log_bodies,
        log_upstream=options.verbose,
        metrics_dir=metrics_dir,
    )


def _serving(
    gateway: Gateway, options: ServeFlags, keys: list[str], settings: Settings, metrics_dir: Path | None
) -> Gateway:
    """The app, as uvicorn's factory gives it once uvicorn has taken SIGTERM and SIGINT: each is then
    also the start of the gateway's grace period, and SIGHUP a reload of the config file."""
    if threading.current_thread() is not threading.main_thread():
        return gateway  # signals reach the main thread only (an app served from a thread: tests)
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)

        def drain_then(signum: int, frame: FrameType | None, previous: Any = previous) -> None:
            gateway.begin_drain(options.grace)
            if callable(previous):
                previous(signum, frame)

        signal.signal(sig, drain_then)
    current = [settings]

    def load() -> tuple[GatewayConfig, list[str]]:
        from protoshift.cli.serve.reload import changes
        from protoshift.cli.settings import resolve_settings

        fresh = resolve_settings(current[0].flags)
        config = gateway_config(
            options, keys, fresh, metrics_dir, gateway.store, gateway.config.state, gateway.clients
        )  # the stores stay
        said = changes(current[0], fresh)
        current[0] = fresh
        return config, said

    signal.signal(signal.SIGHUP, lambda signum, frame: gateway.reload_soon(load))
    return gateway


def _on_sigterm() -> None:
    """SIGTERM ends the command with exit 0, not death by the signal: while uvicorn holds the signal it
    shuts down gracefully, then re-raises it here; one that comes before (the server still starting)
    stops the start — swallowed, it would leave a server that no SIGTERM stops."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)


# -- several workers -----------------------------------------------------------------------------


def _run_workers(uvicorn: Any, options: ServeFlags, keys: list[str], settings: Settings, sock: socket.socket) -> None:
    from uvicorn.supervisors import Multiprocess

    with tempfile.TemporaryDirectory(prefix="protoshift-serve-") as metrics_dir:
        state = {
            "options": {key: str(v) if isinstance(v, Path) else v for key, v in asdict(options).items()},
            "keys": keys,
            # what the command line said: each worker reads the environment and the config file itself
            # (keys never travel through the state variable)
            "flags": asdict(settings.flags),
            "metrics_dir": metrics_dir,
        }
        os.environ[_WORKER_STATE_ENV] = json.dumps(state)  # the workers are new processes: they read it back
        config = _config(uvicorn, "protoshift.cli.serve.command:worker_app", options)

        class Workers(Multiprocess):
            def handle_hup(self) -> None:
                """SIGHUP reloads each worker's config in place (uvicorn's own would restart them)."""
                for process in self.processes:
                    if process.pid is not None:
                        with contextlib.suppress(OSError):
                            os.kill(process.pid, signal.SIGHUP)

        Workers(config, sockets=[sock]).run()


def worker_app() -> Any:
    """The app of one worker process (uvicorn calls this factory in each)."""
    from protoshift.cli.settings import resolve_settings

    state = json.loads(os.environ[_WORKER_STATE_ENV])
    raw = state["options"]
    paths = {key: Path(raw[key]) if raw[key] else None for key in ("log", "store_dir")}
    options = ServeFlags(**{**raw, **paths})
    flags = state["flags"]
    settings = resolve_settings(ProviderFlags(**{**flags, "fallbacks": tuple(flags["fallbacks"])}))
    diag = Diagnostics()
    with contextlib.suppress(OSError):
        sys.stdin.close()
    tune_for_throughput()
    metrics_dir = Path(state["metrics_dir"])
    gateway = build_gateway(options, state["keys"], settings, diag, metrics_dir)
    return _serving(gateway, options, state["keys"], settings, metrics_dir)
