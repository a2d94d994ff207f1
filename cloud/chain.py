"""The one place a chain of backends is put together, for the CLI's commands and every surface of the
gateway alike: each member backend bridged to the caller's API (cloud.bridged), with its model when
the chain names one; more than one member, a `FallbackClient` trying them in order."""

from __future__ import annotations

from collections.abc import Sequence

from protoshift.cloud.backend import Backend, Client
from protoshift.cloud.bridged import Bridged
from protoshift.cloud.events import EventSink
from protoshift.cloud.fallback import FallbackClient
from protoshift.translator.bridges import bridge
from protoshift.translator.wire import API

__all__ = ["client_for"]


def client_for(api: API, members: Sequence[tuple[Backend, str | None]], *, on_event: EventSink | None = None) -> Client:
    """A client speaking `api` over `members` (backend, model or None), tried in order when one fails."""
    clients = [Bridged(backend, bridge(api, backend.api), model=model) for backend, model in members]
    if len(clients) == 1:
        return clients[0]
    return FallbackClient(clients, on_event=on_event)
