"""What the command line said, one typed object per group of options that many commands share.

`cli/options.py` declares the options and hands each command its object; `cli/settings.py` merges
`ProviderFlags` with the environment and the config file. A field's default here is the option's
default (nothing given), read by the declaration: it is written nowhere else.

Light (the standard library only): the CLI reads these at start-up, and serve's workers without typer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from protoshift.gateway.limits import MB, Limits
from protoshift.gateway.state.connection import DEFAULT_TIMEOUT as STATE_TIMEOUT

if TYPE_CHECKING:
    from protoshift.cli.io.console import Diagnostics

LIMITS = Limits()  # the gateway's own defaults: serve's options show and use these
POLL_INTERVAL = 30.0  # batch status --wait: seconds between polls of a Message Batch
# ... and the longest it waits: a batch ends within 24 hours (its requests expire then), so longer
# than that and a margin waits for nothing.
MAX_WAIT = 25 * 3600.0

__all__ = ["ProviderFlags", "ServeFlags", "Verbosity"]


@dataclass(frozen=True, slots=True)
class ProviderFlags:
    """The provider options as given: None (or False) where not given, so that the environment, then
    the config file, then the defaults decide (`cli.settings.resolve_settings`)."""

    backend: str | None = None  # --backend/-b NAME
    model: str | None = None  # --model/-m
    max_tokens: int | None = None  # --max-tokens (chat)
    base_url: str | None = None  # --base-url: the primary backend's
    fallbacks: tuple[str, ...] = ()  # --fallback BACKEND[:MODEL], each as given (commas split later)
    timeout: float | None = None  # --timeout
    idle_timeout: float | None = None  # --idle-timeout
    max_retries: int | None = None  # --max-retries
    no_breaker: bool = False  # --no-breaker
    allow_insecure: bool = False  # --allow-insecure


@dataclass(frozen=True, slots=True)
class Verbosity:
    """-v and -q: how much a command says on stderr."""

    verbose: bool = False  # --verbose/-v
    quiet: bool = False  # --quiet/-q

    def diagnostics(self) -> Diagnostics:
        """The command's stderr; -q with -v is bad usage (InputError, exit 2)."""
        from protoshift.cli.io.console import Diagnostics

        return Diagnostics.checked(quiet=self.quiet, verbose=self.verbose)


@dataclass
class ServeFlags:
    """`protoshift serve`'s own options; the limits' defaults are the gateway's (gateway/limits.py)."""

    host: str = "127.0.0.1"  # --host: loopback unless told otherwise
    port: int = 8080  # --port
    workers: int = 1  # --workers/-w
    api_keys: list[str] = field(default_factory=list)  # --api-key (or PROTOSHIFT_SERVER_KEYS)
    allow_hosts: list[str] = field(default_factory=list)  # --allow-host NAME: a Host it answers besides loopback
    cors_origins: list[str] = field(default_factory=list)  # --cors-origin ORIGIN: pages that may call it
    log: Path | None = None  # --request-log FILE (default: stderr)
    # where /v1/responses keeps stored responses (a SQLite file in it); None: in memory (the tests, a library)
    store_dir: Path | None = None
    log_bodies: bool = False  # --log-bodies
    verbose: bool = False  # -v: each upstream HTTP request and response in the request log too
    grace: float = 30.0  # --grace: seconds streams in flight may finish after SIGTERM
    max_body_mb: float = LIMITS.max_body_bytes / MB  # --max-body-mb
    max_in_flight: int = LIMITS.max_in_flight  # --max-in-flight
    max_messages: int = LIMITS.max_messages
    max_header_bytes: int = LIMITS.max_header_bytes
    body_timeout: float = LIMITS.body_timeout
    ping_every: float = LIMITS.ping_every
    # --state URL (or [state] url): the Redis or Valkey replicas share; None: this process's own state
    state: str | None = None
    state_fail: str = "open"  # --state-fail: when the shared state does not answer, "open" or "closed"
    state_timeout_ms: float = STATE_TIMEOUT * 1000  # --state-timeout: how long one call to it may take

    def limits(self) -> Limits:
        return Limits(
            max_body_bytes=int(self.max_body_mb * MB),
            max_messages=self.max_messages,
            max_header_bytes=self.max_header_bytes,
            max_in_flight=self.max_in_flight,
            body_timeout=self.body_timeout,
            ping_every=self.ping_every,
        )
