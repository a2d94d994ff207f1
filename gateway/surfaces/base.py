"""What a surface is: one API as its clients speak it (OpenAI Chat Completions, Anthropic Messages).

The exchange pipeline (gateway/exchange.py) is written once; a surface fills in what differs between
APIs, each difference a named line of policy: which routes it serves, how its requests are read and
checked, and how its answers, stream frames, errors and headers are written. A surface never calls
a backend: the pipeline does, through a cloud `Client` that speaks the surface's API (translating,
where the backend speaks another, per `translator.bridges`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic_core import to_json

from protoshift.gateway.asgi import JSON_TYPE, SSE_HEADERS
from protoshift.translator import Problem
from protoshift.translator.checks import type_name
from protoshift.translator.usage import token_counts

if TYPE_CHECKING:
    from protoshift.cloud.backend import Call
    from protoshift.gateway.asgi import Headers, Scope
    from protoshift.gateway.clients.limiter import RateState
    from protoshift.gateway.errors import HTTPFailure
    from protoshift.gateway.limits import Limits
    from protoshift.gateway.routing import Route
    from protoshift.gateway.store import ResponseStore
    from protoshift.translator.model_objects import ModelInfo
    from protoshift.translator.wire import API, JSON

__all__ = ["Host", "Listing", "StreamFrames", "Surface"]


class Host(Protocol):
    """What a surface may ask of the gateway serving it (gateway/core.py's Gateway is one): its store
    of responses. Named here so that surfaces never import the core."""

    @property
    def store(self) -> ResponseStore: ...


@dataclass(frozen=True, slots=True)
class Listing:
    """A page of the model list, or the problem with the query that asked for it."""

    body: JSON | None = None
    problem: str | None = None


class StreamFrames(ABC):
    """One streamed answer as the surface frames it: each event or chunk from the backend in, the
    bytes to send out (empty: nothing to send for it); what ends the stream; the tokens it counted."""

    over = False  # the API's last event went out (Anthropic's message_stop): no ping after it

    @abstractmethod
    def counted(self) -> tuple[int, int]:
        """(input, output) tokens, as the stream's usage said them."""

    @abstractmethod
    def frame(self, event: JSON) -> bytes: ...

    @abstractmethod
    def end(self) -> bytes:
        """What a stream that ended well closes with (OpenAI's `[DONE]`; nothing for Anthropic's)."""

    @abstractmethod
    def error(self, failure: HTTPFailure) -> bytes:
        """The frame a stream that fails midway ends with."""

    def answer(self) -> JSON | None:
        """The whole answer the stream added up to, where its API says it (Responses' final event)."""
        return None

    def answer_bytes(self) -> bytes | None:
        """`answer()` as the JSON its client got inside the final event, when the frames made it."""
        return None

    def usage(self) -> JSON | None:
        """The usage the stream said (in its API's shape), for pricing it; None when it said none."""
        return None


class Surface(ABC):
    api: ClassVar[API]  # the protocol its clients speak, and the one a cloud Client is asked to speak
    request_id_header: ClassVar[bytes]  # where its API puts the request id in a response's headers
    items_field: ClassVar[str] = "messages"  # the field holding the conversation, bounded by Limits.max_messages
    what: ClassVar[str]  # what a request to it is, for errors ("a chat completion request")
    ping: ClassVar[bytes] = b""  # the frame a silent stream gets (Limits.ping_every); none: no pings
    # where a request says the most output it wants (the first one given counts): a token limit's estimate
    max_tokens_fields: ClassVar[tuple[str, ...]] = ("max_completion_tokens", "max_tokens")
    # its paths, each to an operation of the pipeline ("create", "count_tokens"); the log and the metrics
    # name each as its /v1 path
    paths: ClassVar[Mapping[str, str]]

    # -- reading ---------------------------------------------------------------------------------

    def betas(self, scope: Scope) -> tuple[str, ...]:
        """The client's `anthropic-beta` values, for an API that has them."""
        return ()

    def check(self, request: Mapping[str, Any], limits: Limits) -> list[Problem]:
        """What the pipeline refuses before any backend sees the request, every problem at once. The
        fields every API shares: `stream` is a boolean (a string such as "no" must not stream),
        `model` a non-empty string when given (never silently swapped for the default), and the
        conversation no longer than the server takes."""
        problems: list[Problem] = []
        stream = request.get("stream")
        if stream is not None and not isinstance(stream, bool):
            problems.append(Problem("stream", f"expected a boolean, got {type_name(stream)}"))
        model = request.get("model")
        if model is not None and not (isinstance(model, str) and model):
            got = "an empty string" if model == "" else type_name(model)
            problems.append(Problem("model", f"expected a model name (a non-empty string), got {got}"))
        items = request.get(self.items_field)
        if isinstance(items, list) and len(items) > limits.max_messages:
            reason = f"{len(items)} items: this server takes at most {limits.max_messages}"
            problems.append(Problem(self.items_field, reason))
        return problems

    async def prepare(self, gateway: Host, request: JSON, call: Call) -> HTTPFailure | None:
        """What the API needs done before the call (Responses: the stored conversation a request
        continues, put in `call`); a failure to answer instead. Nothing, by default."""
        return None

    async def answered(
        self, gateway: Host, request: JSON, call: Call, answer: JSON | None, encoded: bytes | None = None
    ) -> None:
        """The answer is made (whole, or the stream's when its last event says it) and about to go out
        (`encoded`: its bytes, when it goes whole): Responses stores it. Before, not after: a client may
        ask for it the moment it has it, and one that leaves once it has it would cancel what was still
        to be done."""
        return

    def routes(self) -> list[Route]:
        """Routes of its own beyond its POST paths (Responses: the stored responses)."""
        return []

    # -- answering -------------------------------------------------------------------------------

    def encode(self, answer: JSON) -> bytes:
        return to_json(answer)

    def tokens(self, answer: JSON) -> tuple[int, int]:
        return token_counts(self.api, answer.get("usage"))

    @abstractmethod
    def stream_frames(self, request: JSON) -> StreamFrames:
        """The framing of one streamed answer to `request` (which it may adjust before it is sent)."""

    @abstractmethod
    def word(self, failure: HTTPFailure) -> HTTPFailure:
        """The failure as this API's clients are told it (its status, where the API has its own)."""

    @abstractmethod
    def error_body(self, failure: HTTPFailure, request_id: str) -> bytes: ...

    def headers(self, request_id: str, *, stream: bool = False) -> Headers:
        own = (self.request_id_header, request_id.encode())
        return [*SSE_HEADERS, own] if stream else [JSON_TYPE, own]

    @abstractmethod
    def rate_headers(self, state: RateState) -> Headers:
        """A client key's limits in the headers this API's clients read (on every answer to the key)."""

    # -- models ----------------------------------------------------------------------------------

    @abstractmethod
    def model_object(self, model: ModelInfo) -> JSON: ...

    @abstractmethod
    def model_list(self, models: Sequence[ModelInfo], query: Mapping[str, str]) -> Listing: ...
