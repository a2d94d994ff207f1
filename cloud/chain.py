"""The one place a chain of backends is put together, for the CLI's commands and every surface of the
gateway alike: each member backend bridged to the caller's API (cloud.bridged), with its model when
the chain names one; more than one member, a `FallbackClient` trying them in order.

A backend no bridge reaches from the caller's API (one that speaks OpenAI Responses only, for a Chat
Completions caller) cannot be a member: first in the chain, the chain is refused (`APIMismatchError`,
naming the backend and what it speaks); a fallback, it is left out of this API's chain, said once in a
`fallback` event."""

from __future__ import annotations

from collections.abc import Sequence

from protoshift.cloud.backend import Backend, Client
from protoshift.cloud.bridged import Bridged
from protoshift.cloud.errors import APIMismatchError
from protoshift.cloud.events import CloudEvent, EventSink
from protoshift.cloud.fallback import FallbackClient, Unusable
from protoshift.translator.bridges import bridge, reaches
from protoshift.translator.wire import API, API_NAMES

__all__ = ["client_for"]


def client_for(
    api: API, members: Sequence[tuple[Backend | Unusable, str | None]], *, on_event: EventSink | None = None
) -> Client:
    """A client speaking `api` over `members` (backend, model or None), tried in order when one fails.
    A fallback that could not be built is an `Unusable` in its place: it fails only when reached."""
    first = members[0][0] if members else None
    if isinstance(first, Unusable):
        raise ValueError("the first member of a chain must be usable: its failure is the caller's to report")
    if first is not None and not reaches(api, first.api):
        raise APIMismatchError(first.name, api, first.api)
    clients: list[Bridged | Unusable] = []
    for backend, model in members:
        if isinstance(backend, Unusable):
            clients.append(Unusable(backend.name, backend.reason, api=api, model=model))
        elif reaches(api, backend.api):
            clients.append(Bridged(backend, bridge(api, backend.api), model=model))
        elif on_event is not None:
            said = (
                f"{backend.name} speaks {API_NAMES[backend.api]} only: {API_NAMES[api]} requests do not fall back to it"
            )
            on_event(CloudEvent("fallback", said, backend.name))
    if len(clients) == 1:
        return clients[0]
    return FallbackClient(clients, on_event=on_event)
