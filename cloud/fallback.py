"""A chain of clients of one API: the next one takes the request when the current one fails before
any output, with an error that says another backend may do better (`allows_fallback`: connection
errors, timeouts, retries used up on 5xx/529/429, an open circuit). Auth errors, invalid requests
and `TranslationError` never move on; neither does a stream that has begun. A fallback whose bridge
refuses the request (a `TranslationError`: what it would lose, such as a conversation that only the
failed backend keeps) ends the chain with the failures before it, said in a `fallback` event: the
request was good, the backends that could take it failed.

When the chain ends in failure after moving on, the error is a `FallbackExceptionGroup` holding
each backend's failure in order (one backend tried: its own error)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from protoshift.cloud.backend import Backend, Call, PreparedRequest, TokenCount
from protoshift.cloud.errors import BackendError, FallbackExceptionGroup, UnusableBackendError
from protoshift.cloud.events import CloudEvent, EventSink, ignore_events
from protoshift.translator.errors import TranslationError

if TYPE_CHECKING:
    from protoshift.cloud.bridged import Bridged
    from protoshift.translator.model_objects import ModelInfo
    from protoshift.translator.wire import API, JSON

__all__ = ["FallbackClient", "Unusable"]

T = TypeVar("T")


class FallbackClient:
    """`members`, tried in order (each a backend bridged to the chain's API, with its model). Each
    switch is one `fallback` event."""

    def __init__(self, members: Sequence[Bridged | Unusable], on_event: EventSink | None = None) -> None:
        if not members:
            raise ValueError("FallbackClient needs at least one member")
        self.members = list(members)
        self.api = members[0].api
        self._on_event: EventSink = on_event or ignore_events

    @property
    def name(self) -> str:
        return self.members[0].name

    def __repr__(self) -> str:
        return f"FallbackClient({', '.join(_label(member) for member in self.members)})"

    def backends(self) -> list[Backend]:
        return [backend for member in self.members for backend in member.backends()]

    def _move_on(self, index: int, error: BackendError) -> bool:
        """Whether to try member `index + 1` after `error`; reports the switch."""
        if not error.allows_fallback or index + 1 >= len(self.members):
            return False
        failed = self.members[index].name
        message = f"{failed} failed ({error.summary}); falling back to {_label(self.members[index + 1])}"
        self._on_event(CloudEvent("fallback", message, failed))
        return True

    @staticmethod
    def _group(errors: list[BackendError]) -> FallbackExceptionGroup:
        return FallbackExceptionGroup(f"all {len(errors)} backends tried failed", errors)

    def _refused(self, index: int, refusal: TranslationError, errors: list[BackendError]) -> BaseException:
        """What ends the chain when member `index`, a fallback, cannot take the request: the failures
        before it (one: itself), the refusal said in an event."""
        member = self.members[index]
        said = f"{_label(member)} cannot take this request ({refusal}); the chain ends with what failed before it"
        self._on_event(CloudEvent("fallback", said, member.name))
        return errors[0] if len(errors) == 1 else self._group(errors)

    async def _first(self, call: Callable[[Bridged | Unusable], Awaitable[T]]) -> T:
        """`call` on each member in turn until one answers (or the error says not to move on)."""
        errors: list[BackendError] = []
        for index, member in enumerate(self.members):
            try:
                return await call(member)
            except TranslationError as refusal:
                if not errors:
                    raise
                raise self._refused(index, refusal, errors) from None
            except BackendError as error:
                errors.append(error)
                if not self._move_on(index, error):
                    if len(errors) == 1:
                        raise
                    raise self._group(errors) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def create(self, request: Mapping[str, Any], call: Call | None = None) -> JSON:
        return await self._first(lambda member: member.create(request, call))

    async def count_tokens(self, request: Mapping[str, Any], call: Call | None = None) -> TokenCount:
        return await self._first(lambda member: member.count_tokens(request, call))

    async def stream(self, request: Mapping[str, Any], call: Call | None = None) -> AsyncGenerator[JSON, None]:
        """Each member's stream in turn until one gives anything; once output began, a failure ends it
        (no fallback mid-stream)."""
        errors: list[BackendError] = []
        for index, member in enumerate(self.members):
            started = False
            try:
                async with contextlib.aclosing(member.stream(request, call)) as items:
                    async for item in items:
                        started = True
                        yield item
                return
            except TranslationError as refusal:
                if started or not errors:
                    raise
                raise self._refused(index, refusal, errors) from None
            except BackendError as error:
                errors.append(error)
                if started or not self._move_on(index, error):
                    if len(errors) == 1:
                        raise
                    raise self._group(errors) from None

    async def list_models(self) -> list[ModelInfo]:
        """The first member's models: the ones a request names without a fallback in mind."""
        return await self.members[0].list_models()

    def prepare(self, request: Mapping[str, Any], call: Call | None = None) -> PreparedRequest:
        return self.members[0].prepare(request, call)

    async def aclose(self) -> None:
        async with contextlib.AsyncExitStack() as stack:  # closes every member even if one fails
            for member in self.members:
                stack.push_async_callback(member.aclose)

    async def __aenter__(self) -> FallbackClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class Unusable:
    """A fallback that cannot be set up as configured (no key; a key it may not send over http://),
    standing in its place in the chain: the caller names it once when the chain is made, the backends
    before it still answer, and only when the chain reaches it does it fail, as `UnusableBackendError`
    (nothing sent; the chain goes on to the next one). `reason` says why and what to do, in the
    caller's words."""

    def __init__(self, name: str, reason: str, *, api: API = "chat", model: str | None = None) -> None:
        self.name = name
        self.reason = reason
        self.api: API = api
        self.model = model

    def __repr__(self) -> str:
        return f"Unusable({self.name!r})"

    def backends(self) -> list[Backend]:
        return []

    def _error(self) -> UnusableBackendError:
        return UnusableBackendError(self.name, self.reason)

    async def create(self, request: Mapping[str, Any], call: Call | None = None) -> JSON:
        raise self._error()

    async def count_tokens(self, request: Mapping[str, Any], call: Call | None = None) -> TokenCount:
        raise self._error()

    async def stream(self, request: Mapping[str, Any], call: Call | None = None) -> AsyncGenerator[JSON, None]:
        raise self._error()
        yield {}  # pragma: no cover  (an async generator, as the other members' streams)

    async def list_models(self) -> list[ModelInfo]:
        raise self._error()

    def prepare(self, request: Mapping[str, Any], call: Call | None = None) -> PreparedRequest:
        raise self._error()

    async def aclose(self) -> None:
        return None


def _label(member: Bridged | Unusable) -> str:
    return f"{member.name}:{member.model}" if member.model else member.name
