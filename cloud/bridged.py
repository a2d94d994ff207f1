"""A backend as a client of some API sees it: every call's request through the bridge
(translator.bridges) to the backend's own API, its answers and stream events back.

A chain of them (with fallback) is put together in one place: `cloud.chain.client_for`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from pydantic_core import from_json

from protoshift.cloud.backend import Backend, Call, EventStream, PreparedRequest, TokenCount
from protoshift.cloud.errors import BackendError, InvalidRequestError
from protoshift.translator import TranslationError
from protoshift.translator.bridges import Bridge, Outbound, Shaping, StreamMapper
from protoshift.translator.estimate import estimate_input_tokens
from protoshift.translator.model_objects import ModelInfo
from protoshift.translator.report import LOSSY_ACTIONS
from protoshift.translator.wire import API, CHAT, JSON, MESSAGES

__all__ = ["Bridged"]

T = TypeVar("T")


class Bridged:
    """`backend`, spoken to in `bridge.client`'s API. `model` (a fallback member's) replaces the
    request's model for this backend."""

    def __init__(self, backend: Backend, bridge: Bridge, *, model: str | None = None) -> None:
        self.backend = backend
        self.bridge = bridge
        self.api: API = bridge.client
        self.model = model

    @property
    def name(self) -> str:
        return self.backend.name

    def __repr__(self) -> str:
        return f"Bridged({self.backend!r}, {self.bridge.client} -> {self.bridge.backend})"

    def backends(self) -> list[Backend]:
        return [self.backend]

    def _shaping(self) -> Shaping:
        shaping = self.backend.shaping  # read per call: a backend learns what its models refuse
        return replace(shaping, model=self.model) if self.model else shaping

    def outbound(self, request: Mapping[str, Any], *, stream: bool, call: Call | None = None) -> Outbound:
        """The request bridged for the backend; what it lost or approximated is told (a `note` event,
        and in `call.notes` for a caller that reports them per request)."""
        history = call.history if call is not None else None
        if call is not None:
            call.backend = self.name
        outbound = self.bridge.request(request, stream=stream, shaping=self._shaping(), history=history)
        for note in outbound.notes:
            if note.action in LOSSY_ACTIONS:
                self.backend.emit("note", str(note))
                if call is not None:
                    call.notes.append(note)
        if call is not None:
            outbound.carried = call.carried
        if call is not None and call.betas:
            outbound.betas = list(dict.fromkeys([*outbound.betas, *call.betas]))
        return outbound

    async def create(self, request: Mapping[str, Any], call: Call | None = None) -> JSON:
        return await self.send(self.outbound(request, stream=False, call=call), call)

    async def send(self, outbound: Outbound, call: Call | None = None) -> JSON:
        """A request bridged already (`batch run` bridges each line once, in its check pass)."""

        async def attempt(outbound: Outbound) -> JSON:
            body = outbound.body if outbound.encoded is None else outbound.encoded
            return await self.backend.create(body, betas=outbound.betas, model=outbound.model or None)

        answer, outbound = await self._resending(outbound, attempt, call)
        try:
            return self.bridge.response(answer, outbound)
        except TranslationError as exc:
            raise self._unusable(exc) from exc

    def _unusable(self, exc: TranslationError) -> BackendError:
        """A whole answer the bridge cannot map back. An Anthropic message that cannot be read is one the
        provider sent wrong, said as every malformed answer is ("the provider sent ..."); a chat.completion
        (checked already by the backend) may hold what an Anthropic message cannot (tool arguments that
        are not JSON)."""
        if self.bridge.backend == MESSAGES:
            return self.backend.bad_answer(f"the provider sent an invalid message: {exc}")
        if self.bridge.client == MESSAGES:
            return self.backend.bad_answer(f"the answer cannot be an Anthropic message: {exc}")
        return self.backend.bad_answer(f"the answer cannot be carried back: {exc}")

    def stream(self, request: Mapping[str, Any], call: Call | None = None) -> EventStream:
        return _Opening(self, self.outbound(request, stream=True, call=call), call)

    async def open_stream(
        self, outbound: Outbound, *, batched: bool = False
    ) -> tuple[AsyncGenerator[JSON, None], JSON | None]:
        """The backend's stream, opened up to its first event (a refusal comes before it); `batched`:
        its items are `Batch`es (Call.batched)."""
        mapper: Callable[[], StreamMapper] = lambda: self.bridge.stream(outbound)  # noqa: E731  (one per attempt)
        if batched:
            mapper = lambda: _Batches(self.bridge.stream(outbound))  # noqa: E731
        events = self.backend.stream(outbound.body, betas=outbound.betas, mapper=mapper)
        try:
            return events, await anext(events, None)
        except BaseException:
            await events.aclose()
            raise

    async def _resending(
        self, outbound: Outbound, attempt: Callable[[Outbound], Awaitable[T]], call: Call | None
    ) -> tuple[T, Outbound]:
        """The one resend loop: `attempt(outbound)`, and when the model refuses a parameter the bridge put
        there, again with the body the bridge adapts (at most `max_adaptations` times); what it gave and
        the request it was for. A refusal is a status: it comes before any output. What an adaptation
        changed is told as translation's notes are (a `note` event, and in `call.notes`)."""
        for adaptations_left in range(self.bridge.max_adaptations, -1, -1):
            try:
                return await attempt(outbound), outbound
            except InvalidRequestError as refusal:
                outbound = self._adapted(refusal, outbound, adaptations_left, call)
        raise AssertionError("unreachable")  # pragma: no cover: the last turn re-raises the refusal

    def _adapted(
        self, refusal: InvalidRequestError, outbound: Outbound, adaptations_left: int, call: Call | None
    ) -> Outbound:
        body = outbound.body if outbound.encoded is None else from_json(outbound.encoded)
        adapted = self.bridge.adapt(body, str(refusal)) if adaptations_left else None
        if adapted is None:
            raise refusal
        if outbound.model:
            self.backend.learn(outbound.model, adapted.facts)
        for note in adapted.notes:
            self.backend.emit("note", f"{note} ({refusal.message})")
            if call is not None:
                call.notes.append(note)
        return replace(outbound, body=adapted.body, encoded=None, notes=[*outbound.notes, *adapted.notes])

    async def count_tokens(self, request: Mapping[str, Any], call: Call | None = None) -> TokenCount:
        """Exact where the backend counts (Anthropic's count_tokens), else an estimate, marked so."""
        body = self.bridge.count_body(request, self._shaping())
        counted = await self.backend.count_tokens(body, betas=call.betas if call else ())
        if counted is not None:
            return counted
        assert self.bridge.backend == CHAT  # the one API without a count: estimated from its body
        return TokenCount(estimate_input_tokens(body), exact=False)

    async def list_models(self) -> list[ModelInfo]:
        return await self.backend.list_models()

    def prepare(self, request: Mapping[str, Any], call: Call | None = None) -> PreparedRequest:
        """Everything a call would send (per the request's own `stream`), sent nowhere (`--dry-run`)."""
        stream = request.get("stream") is True
        outbound = self.outbound(request, stream=stream, call=call)
        return self.backend.prepare(outbound.body, betas=outbound.betas)

    async def aclose(self) -> None:
        await self.backend.aclose()

    async def __aenter__(self) -> Bridged:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class _Opening:
    """A bridged stream: opened through the resend loop at its first read, then the backend's own
    stream, one call per event (a class, not one more generator layer every event passes through)."""

    __slots__ = ("_call", "_client", "_events", "_first", "_outbound")

    def __init__(self, client: Bridged, outbound: Outbound, call: Call | None) -> None:
        self._client = client
        self._outbound = outbound
        self._call = call
        self._events: AsyncGenerator[JSON, None] | None = None

    def __aiter__(self) -> _Opening:
        return self

    async def __anext__(self) -> JSON:
        if self._events is not None:
            return await self._events.__anext__()
        client, call = self._client, self._call
        batched = call is not None and call.batched
        opening = (lambda outbound: client.open_stream(outbound, batched=True)) if batched else client.open_stream
        (self._events, first), _ = await client._resending(self._outbound, opening, call)
        if first is None:
            raise StopAsyncIteration
        return first

    async def aclose(self) -> None:
        if self._events is not None:
            await self._events.aclose()


class _Batches:
    """A mapper whose output for each upstream event is handed on as one item, a `Batch` (Call.batched):
    one step through the stream's layers for the lot, and the gateway writes it at once."""

    __slots__ = ("_mapper",)

    def __init__(self, mapper: StreamMapper) -> None:
        self._mapper = mapper

    # list[Any]: each item is a Batch where a mapper's are events (the one consumer asked for them)
    def feed(self, event: JSON) -> list[Any]:
        events = self._mapper.feed(event)
        return [events] if events else events

    def close(self) -> list[Any]:
        events = self._mapper.close()
        return [events] if events else events
