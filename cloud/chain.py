"""The one place a chain of backends is put together, for the CLI's commands and every surface of the
gateway alike: each member backend bridged to the caller's API (cloud.bridged), with its model when
the chain names one; more than one member, a `FallbackClient` trying them in order."""

from __future__ import annotations

from collections.abc import Sequence

from protoshift.cloud.backend import Backend, Client
from protoshift.cloud.bridged import Bridged
from protoshift.cloud.events import EventSink
from protoshift.cloud.fallback import FallbackClient, Unusable
from protoshift.translator.bridges import bridge
from protoshift.translator.wire import API

__all__ = ["client_for"]


def client_for(
    api: API, members: Sequence[tuple[Backend | Unusable, str | None]], *, on_event: EventSink | None = None
) -> Client:
    """A client speaking `api` over `members` (backend, model or None), tried in order when one fails.
    A fallback that could not be built is an `Unusable` in its place: it fails only when reached."""
    clients: list[Bridged | Unusable] = [
        Unusable(backend.name, backend.reason, api=api, model=model)
        if isinstance(backend, Unusable)
        else Bridged(backend, bridge(api, backend.api), model=model)
        for backend, model in members
    ]
    if isinstance(clients[0], Unusable):
        raise ValueError("the first member of a chain must be usable: its failure is the caller's to report")
    if len(clients) == 1:
        return clients[0]
    return FallbackClient(clients, on_event=on_event)
