"""The two seams of cloud/:

- `Backend`: a provider's API as it speaks it, in its own protocol (`api`: OpenAI Chat Completions,
  Anthropic Messages), with no translation: bodies in that API in, its answers and stream events out.
  One module per protocol (cloud/anthropic.py, cloud/openai.py), one record per kind (cloud/kinds.py).
- `KeepsResponses`: a backend that keeps the responses it makes (OpenAI Responses with `store`), and
  gives them back by id.
- `Client`: what a caller speaking some API calls: a backend bridged to that API (cloud/bridged.py),
  or a chain of them (cloud/fallback.py). `client_for(api, members)` builds one.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias, runtime_checkable

if TYPE_CHECKING:
    from protoshift.cloud.errors import BackendError
    from protoshift.cloud.events import EventKind
    from protoshift.translator.bridges import Shaping, StreamMapper
    from protoshift.translator.model_objects import ModelInfo
    from protoshift.translator.report import Note
    from protoshift.translator.wire import API

__all__ = [
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "JSON",
    "Backend",
    "Batch",
    "Call",
    "Client",
    "EventStream",
    "KeepsResponses",
    "PreparedRequest",
    "TokenCount",
]

JSON = dict[str, Any]

# The time limits of one attempt (cloud.deadline). `timeout`: the most an attempt may take, start to
# end; by default 600 s for an answer (as the official SDKs), and none for a stream, so a long
# generation is never cut for its length; a timeout the caller sets holds for both. A stream is
# bounded instead by its idle limit: the longest it may go without a content event (pings do not
# count), 600 s by default, the patience the SDKs have with a silent server.
DEFAULT_TIMEOUT = 600.0
DEFAULT_IDLE_TIMEOUT = 600.0


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """The upstream request a call would send (`--dry-run`): headers with keys as `***`."""

    method: str
    url: str
    headers_redacted: dict[str, str]
    body: JSON


@dataclass(frozen=True, slots=True)
class TokenCount:
    """A request's input tokens: `exact` when the provider counted them, else an estimate."""

    input_tokens: int
    exact: bool


@dataclass(slots=True)
class Call:
    """What one call carries besides its request: the client's `anthropic-beta` values (an Anthropic
    backend sends them on), the stored conversation a Responses request continues (`history`), the
    notes of what its translation lost or approximated, for a caller that reports them per request, and
    the backend it went to (a fallback chain's member that answered: what a log names).
    `backend_api`: the API the chain's first backend speaks, when the caller knows it (the gateway: a
    Responses request to a backend that speaks Responses leaves its conversation to the backend)."""

    betas: Sequence[str] = ()
    history: list[Any] | None = None
    notes: list[Note] = field(default_factory=list)
    backend: str | None = None  # set by the call: the backend it went to last
    backend_api: API | None = None
    # A stored Responses answer's reasoning carriers its client did not ask to see (no `include`): reasoning
    # item id -> encrypted_content, for the stored copy, so that `previous_response_id` hands them back
    carried: dict[str, str] | None = None
    # The caller takes a stream's events in batches: each item a `Batch`, the events made of one upstream
    # event (the gateway writes each batch at once: one write, nothing held back for a later event).
    batched: bool = False


# What a batched stream (Call.batched) hands on for each upstream event: the events it was mapped to, never
# empty. A list, where every event is a dict: `type(item) is list` tells one from an event.
Batch: TypeAlias = list[JSON]


class EventStream(Protocol):
    """A call's stream, read with `async for` (or `anext`) and closed with `aclose()` (which ends the
    upstream request): an async generator is one."""

    def __aiter__(self) -> AsyncIterator[JSON]: ...

    async def __anext__(self) -> JSON: ...

    async def aclose(self) -> None: ...


class Backend(Protocol):
    """A provider's API in its own protocol. `shaping` says how bodies are fitted to it (its model
    override and capability table: it learns what its models refuse)."""

    @property
    def name(self) -> str: ...

    @property
    def api(self) -> API: ...

    @property
    def shaping(self) -> Shaping: ...

    async def create(self, body: JSON | bytes, *, betas: Sequence[str] = (), model: str | None = None) -> JSON:
        """One answer. `body` may be the JSON bytes to send (then `model` names its model, for the breaker)."""
        ...

    def stream(
        self, body: JSON, *, betas: Sequence[str] = (), mapper: Callable[[], StreamMapper] | None = None
    ) -> AsyncGenerator[JSON, None]:
        """The answer's stream events as they come; `mapper` (one per attempt) turns them into the
        caller's, inside the attempt, so a bad event is the provider's failure like any other."""
        ...

    async def count_tokens(self, body: JSON, *, betas: Sequence[str] = ()) -> TokenCount | None:
        """The body's input tokens as the provider counts them; None when its API has no count."""
        ...

    async def list_models(self) -> list[ModelInfo]: ...

    def prepare(self, body: JSON, *, betas: Sequence[str] = ()) -> PreparedRequest: ...

    def emit(self, kind: EventKind, message: str) -> None:
        """Tell the backend's caller something (a note, a retry), secrets scrubbed."""
        ...

    def bad_answer(self, message: str) -> BackendError:
        """The error for an answer that cannot be used (secrets scrubbed)."""
        ...

    def breaker_state(self) -> str | None:
        """The host's circuit: closed, half-open or open (None without a breaker)."""
        ...

    def learn(self, model: str, facts: dict[str, Any]) -> None:
        """What a refusal taught about `model` (cells of its capability table), for the bodies after it."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class KeepsResponses(Protocol):
    """A backend that keeps the responses it makes (OpenAI's Responses API, `store`): a caller that
    keeps none itself for it (the gateway) asks it for them by id."""

    async def stored_response(
        self,
        method: Literal["GET", "DELETE"],
        response_id: str,
        *,
        input_items: bool = False,
        query: Mapping[str, str] | None = None,
    ) -> JSON:
        """The response (`GET`), its input items (`input_items`, a page as `query` asks), or its deletion."""
        ...


class Client(Protocol):
    """What a caller speaking `api` calls: requests and answers in that API, whatever the backends speak."""

    @property
    def name(self) -> str: ...

    api: API

    async def create(self, request: Mapping[str, Any], call: Call | None = None) -> JSON: ...

    def stream(self, request: Mapping[str, Any], call: Call | None = None) -> EventStream: ...

    async def count_tokens(self, request: Mapping[str, Any], call: Call | None = None) -> TokenCount: ...

    async def list_models(self) -> list[ModelInfo]: ...

    def prepare(self, request: Mapping[str, Any], call: Call | None = None) -> PreparedRequest: ...

    def backends(self) -> list[Backend]: ...

    async def aclose(self) -> None: ...
