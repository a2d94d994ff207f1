"""A chain of backends: the next one takes the request when the current one fails before any
output, with an error that says another backend may do better (`allows_fallback`: connection
errors, timeouts, retries used up on 5xx/529/429, an open circuit). Auth errors, invalid
requests and `TranslationError` never move on; neither does a stream that has begun.

When the chain ends in failure after moving on, the error is a `FallbackExceptionGroup` holding
each backend's failure in order (one backend tried: its own error)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from typing import Any

from protoshift.cloud.backend import JSON, Backend, PreparedRequest
from protoshift.cloud.errors import BackendError, FallbackExceptionGroup
from protoshift.cloud.events import CloudEvent, EventSink, ignore_events

__all__ = ["FallbackBackend"]


class FallbackBackend:
    """`backends`: `(backend, model)` pairs, tried in order; `model` (when not None) replaces the
    request's model for that backend. Each switch is one `fallback` event."""

    def __init__(self, backends: Sequence[tuple[Backend, str | None]], on_event: EventSink | None = None) -> None:
        if not backends:
            raise ValueError("FallbackBackend needs at least one backend")
        self.backends = list(backends)
        self._on_event: EventSink = on_event or ignore_events

    @property
    def name(self) -> str:
        return self.backends[0][0].name

    def __repr__(self) -> str:
        return f"FallbackBackend({', '.join(_label(b, m) for b, m in self.backends)})"

    @staticmethod
    def _request(request: Mapping[str, Any], model: str | None) -> Mapping[str, Any]:
        return {**request, "model": model} if model else request

    def _move_on(self, index: int, error: BackendError) -> bool:
        """Whether to try backend `index + 1` after `error`; reports the switch."""
        if not error.allows_fallback or index + 1 >= len(self.backends):
            return False
        failed = self.backends[index][0].name
        backend, model = self.backends[index + 1]
        self._on_event(
            CloudEvent(
                "fallback", f"{failed} failed ({error.summary}); falling back to {_label(backend, model)}", failed
            )
        )
        return True

    @staticmethod
    def _group(errors: list[BackendError]) -> FallbackExceptionGroup:
        return FallbackExceptionGroup(f"all {len(errors)} backends tried failed", errors)

    async def _first(
        self, call: Callable[[Backend, Mapping[str, Any]], Awaitable[JSON]], request: Mapping[str, Any]
    ) -> JSON:
        """`call` on each backend in turn until one answers (or the error says not to move on)."""
        errors: list[BackendError] = []
        for index, (backend, model) in enumerate(self.backends):
            try:
                return await call(backend, self._request(request, model))
            except BackendError as error:
                errors.append(error)
                if not self._move_on(index, error):
                    if len(errors) == 1:
                        raise
                    raise self._group(errors) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _first_stream(
        self,
        open_stream: Callable[[Backend, Mapping[str, Any]], AsyncGenerator[JSON, None]],
        request: Mapping[str, Any],
    ) -> AsyncGenerator[JSON, None]:
        """The stream `open_stream` gives on each backend in turn until one gives anything; once output
        began, a failure ends it (no fallback mid-stream)."""
        errors: list[BackendError] = []
        for index, (backend, model) in enumerate(self.backends):
            started = False
            try:
                async with contextlib.aclosing(open_stream(backend, self._request(request, model))) as items:
                    async for item in items:
                        started = True
                        yield item
                return
            except BackendError as error:
                errors.append(error)
                if started or not self._move_on(index, error):
                    if len(errors) == 1:
                        raise
                    raise self._group(errors) from None

    async def complete(self, request: Mapping[str, Any]) -> JSON:
        return await self._first(lambda backend, req: backend.complete(req), request)

    async def stream(self, request: Mapping[str, Any]) -> AsyncGenerator[JSON, None]:
        async with contextlib.aclosing(self._first_stream(lambda backend, req: backend.stream(req), request)) as chunks:
            async for chunk in chunks:
                yield chunk

    # -- the Anthropic surface, chained the same way --------------------------------------------------

    async def create_message(self, body: Mapping[str, Any], *, betas: Sequence[str] = ()) -> JSON:
        return await self._first(lambda backend, req: backend.create_message(req, betas=betas), body)

    async def stream_message(self, body: Mapping[str, Any], *, betas: Sequence[str] = ()) -> AsyncGenerator[JSON, None]:
        events = self._first_stream(lambda backend, req: backend.stream_message(req, betas=betas), body)
        async with contextlib.aclosing(events):
            async for event in events:
                yield event

    async def count_tokens(self, body: Mapping[str, Any], *, betas: Sequence[str] = ()) -> JSON:
        return await self._first(lambda backend, req: backend.count_tokens(req, betas=betas), body)

    async def list_models(self) -> list[JSON]:
        """The primary backend's models: the ones a request names without a fallback in mind."""
        return await self.backends[0][0].list_models()

    def prepare(self, request: Mapping[str, Any]) -> PreparedRequest:
        backend, model = self.backends[0]
        return backend.prepare(self._request(request, model))

    async def aclose(self) -> None:
        async with contextlib.AsyncExitStack() as stack:  # closes every backend even if one fails
            for backend, _ in self.backends:
                stack.push_async_callback(backend.aclose)

    async def __aenter__(self) -> FallbackBackend:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _label(backend: Backend, model: str | None) -> str:
    return f"{backend.name}:{model}" if model else backend.name
