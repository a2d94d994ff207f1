"""What a gateway is built from: a plain object, no flags and no files (`protoshift serve` reads
those and fills this in; a Python program fills it in itself):

    from protoshift.cloud import create_backend
    from protoshift.gateway import GatewayConfig, build_app

    app = build_app(GatewayConfig(backend="anthropic", build_backend=lambda name, on_event: create_backend(name, on_event=on_event)))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from protoshift.cloud.aliases import Aliases
from protoshift.gateway.limits import Limits
from protoshift.gateway.store import MemoryStore, ResponseStore

if TYPE_CHECKING:
    from protoshift.cloud.backend import Backend
    from protoshift.cloud.events import EventSink
    from protoshift.cloud.pricing import PriceTable
    from protoshift.gateway.clients.gate import ClientKeys
    from protoshift.gateway.state.connection import SharedState

__all__ = ["BackendFactory", "GatewayConfig"]

# Makes the backend of a name (a cloud.kinds record's, or any name the factory knows), reporting its
# retries, fallbacks and notes to the sink it is given. Called once per name; the gateway closes them.
BackendFactory = Callable[[str, "EventSink"], "Backend"]


@dataclass
class GatewayConfig:
    backend: str  # where a request goes when no alias sends its model elsewhere
    build_backend: BackendFactory
    fallbacks: Sequence[tuple[str, str | None]] = ()  # (backend, model or None) tried in order when one fails
    default_model: str | None = None  # for a request that names none (default: the backend kind's own)
    aliases: Aliases = field(default_factory=Aliases)
    limits: Limits = field(default_factory=Limits)
    keys: Sequence[str] = ()  # keys a client must present (bearer or x-api-key); none: no auth
    # The Host names it answers (any port; 127.x and [::1] as given): None, any. A loopback server
    # without keys should answer loopback names only (auth.LOOPBACK_NAMES): DNS rebinding.
    hosts: Sequence[str] | None = None
    cors_origins: Sequence[str] = ()  # web origins whose pages may call it ("*": any); none by default
    store: ResponseStore = field(default_factory=MemoryStore)  # stored responses (/v1/responses, store: true)
    state: SharedState | None = None  # the Redis replicas share (gateway/state/); None: this process's own
    # client keys, with their limits (gateway/clients): where they are kept and counted; None: none
    clients: ClientKeys | None = None
    prices: PriceTable | None = None  # what answers cost (a client key's spend and budget); None: nothing
    log_path: Path | None = None  # the request log (one JSON line each); None: stderr
    log_bodies: bool = False
    log_upstream: bool = False  # each upstream HTTP request and response in the log too (serve -v; keys hidden)
    metrics_dir: Path | None = None  # set when several workers share the counts
