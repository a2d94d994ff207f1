"""The exchange pipeline, written once for every surface: admission (a slot among the requests in
flight), the body read under its limits and parsed, checked (every problem at once), the model
routed (aliases, then the backend chain), the backend called under cancellation when the client
leaves, the answer encoded (JSON, or a stream whose status waits for its first event), and the
bookkeeping (one log line, the metrics) — whatever the API, whatever the backend speaks.

A streamed answer's status is decided by its first event: the pipeline waits for it (retries and
fallback happen before it), so a failure before any output is a proper error status, as the
providers' own APIs give. After it, a failure is the surface's error frame and the stream ends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import TYPE_CHECKING, TypeVar

from pydantic_core import from_json, to_json

from protoshift.cloud.attempts import CALLER_RETRIES
from protoshift.cloud.backend import Batch, Call, TokenCount
from protoshift.cloud.errors import APIMismatchError
from protoshift.gateway.asgi import (
    BodyTooLarge,
    ClientGone,
    Headers,
    Receive,
    Scope,
    Send,
    header,
    read_body,
    send_response,
)
from protoshift.gateway.drain import SHUTTING_DOWN, ShutdownCut, shutting_down
from protoshift.gateway.errors import HTTPFailure, failure_for
from protoshift.translator import TranslationError
from protoshift.translator.estimate import estimate_body_tokens

if TYPE_CHECKING:
    from protoshift.cloud.backend import Client, EventStream
    from protoshift.gateway.core import Gateway
    from protoshift.gateway.exchange import Exchange
    from protoshift.gateway.surfaces.base import StreamFrames
    from protoshift.translator.wire import JSON

__all__ = ["OPERATIONS", "Operation", "count_tokens", "create", "run"]

TOKEN_COUNT_HEADER = b"x-protoshift-token-count"
T = TypeVar("T")


# What a POST endpoint does once its request is read, checked and routed: call the client, answer.
Operation = Callable[["Gateway", "Exchange", "Client", "JSON", Call, Send], Awaitable[None]]


async def run(gateway: Gateway, exchange: Exchange, scope: Scope, receive: Receive, send: Send, op: Operation) -> None:
    """The pipeline around one operation: admission, the request, its model's route, the call under
    cancellation when the client leaves."""
    async with gateway.admission(exchange, send) as admitted:
        if not admitted:
            return
        request = await read_request(gateway, exchange, scope, receive, send)
        if request is None:
            return
        with gateway.upstreams as upstreams:  # a reload meanwhile lets this request finish on these
            try:
                client = upstreams.route(exchange.surface.api, request, exchange)
            except APIMismatchError as exc:  # its model's backend does not take this API
                await gateway.fail(exchange, send, failure_for(exc) or HTTPFailure.client(400, exc.message))
                return
            if exchange.client is not None and gateway.clients is not None:  # a client key: its model, its limits
                failure = await gateway.clients.admit(exchange, request, limited=op in LIMITED)
                if failure is not None:
                    await gateway.fail(exchange, send, failure)
                    return
            call = Call(betas=exchange.surface.betas(scope), backend_api=client.backends()[0].api, batched=True)
            failure = await exchange.surface.prepare(gateway, request, call)
            if failure is not None:
                await gateway.fail(exchange, send, failure)
                return
            # a client that retries itself gets the provider's statuses at once (cloud/attempts.py)
            retries = CALLER_RETRIES.set(header(scope, b"x-stainless-retry-count") is not None)
            try:
                work = op(gateway, exchange, client, request, call, send)
                await gateway.until_done_or_gone(exchange, receive, work)
            finally:
                CALLER_RETRIES.reset(retries)


async def read_request(gateway: Gateway, exchange: Exchange, scope: Scope, receive: Receive, send: Send) -> JSON | None:
    """The request body as a JSON object the surface's checks pass, or None once an error answer was sent."""
    limits = gateway.limits
    try:
        async with asyncio.timeout(limits.body_timeout):
            body = await read_body(scope, receive, limits.max_body_bytes)
    except BodyTooLarge as exc:
        await gateway.fail(exchange, send, HTTPFailure.client(413, f"request body is over {exc.limit} bytes"))
        return None
    except TimeoutError:
        failure = HTTPFailure.client(408, f"request body not received in {limits.body_timeout:g}s")
        await gateway.fail(exchange, send, failure)
        return None
    except ClientGone:
        exchange.status, exchange.error = 499, "the client went away before sending its request"
        return None
    try:
        request = from_json(body, allow_inf_nan=False)
    except ValueError as exc:
        await gateway.fail(exchange, send, HTTPFailure.client(400, f"the body is not valid JSON: {exc}"))
        return None
    if not isinstance(request, dict):
        message = f"the body must be a JSON object ({exchange.surface.what})"
        await gateway.fail(exchange, send, HTTPFailure.client(400, message))
        return None
    problems = exchange.surface.check(request, limits)
    if problems:
        await gateway.fail(exchange, send, failure_for(TranslationError.of(problems)) or HTTPFailure.client(400, ""))
        return None
    if exchange.client is not None and exchange.client.tpm is not None:
        exchange.estimate = estimate_body_tokens(body)  # its input, for the token limit: set right once answered
    if gateway.log.bodies:
        exchange.extra["request"] = request
    return request


# -- operations --------------------------------------------------------------------------------------


async def create(gateway: Gateway, exchange: Exchange, client: Client, request: JSON, call: Call, send: Send) -> None:
    """A request answered whole, or streamed when it says `"stream": true`."""
    exchange.stream = request.get("stream") is True
    if exchange.stream:
        frames = exchange.surface.stream_frames(request)  # first: it may adjust the request the stream sends
        try:  # the bridge translates the request as the stream opens: one it cannot is refused here (400)
            opened = client.stream(request, call)
        except Exception as exc:
            await _fail_upstream(gateway, exchange, send, exc, time.perf_counter())
            return
        await _stream(gateway, exchange, frames, opened, request, call, send)
        return
    answer = await _upstream(gateway, exchange, send, client.create(request, call))
    if answer is _FAILED:
        return
    assert isinstance(answer, dict)
    exchange.tokens = gateway.metrics.add_tokens(exchange.surface.tokens(answer))
    exchange.usage = answer.get("usage")
    if gateway.log.bodies:
        exchange.extra["response"] = answer
    surface = exchange.surface
    body = surface.encode(answer)
    # kept before it goes out: a client may ask for it at once (the bytes it gets, kept as they are)
    await surface.answered(gateway, request, call, answer, body)
    await send_response(send, 200, body, [*surface.headers(exchange.id), *_dropped(exchange, call)])


async def count_tokens(
    gateway: Gateway, exchange: Exchange, client: Client, request: JSON, call: Call, send: Send
) -> None:
    """The request's input tokens: exact where the backend counts them, else an estimate, and the
    `x-protoshift-token-count` header says which."""
    counted = await _upstream(gateway, exchange, send, client.count_tokens(request, call))
    if not isinstance(counted, TokenCount):
        return
    exchange.extra["token_count"] = how = "exact" if counted.exact else "estimate"
    headers = [*exchange.surface.headers(exchange.id), (TOKEN_COUNT_HEADER, how.encode())]
    await send_response(send, 200, to_json({"input_tokens": counted.input_tokens}), headers)


_FAILED = object()  # an upstream call that failed, its error answer sent


async def _upstream(gateway: Gateway, exchange: Exchange, send: Send, call: Awaitable[T]) -> T | object:
    """The upstream call's result, its time counted; or `_FAILED` once the failure was answered (the
    end of the grace period of a server shutting down is one)."""
    began = time.perf_counter()
    try:
        async with gateway.drain.bounded():
            result = await call
    except ShutdownCut:
        await _cut_by_shutdown(gateway, exchange, send, None)
        return _FAILED
    except Exception as exc:
        await _fail_upstream(gateway, exchange, send, exc, began)
        return _FAILED
    _upstream_time(gateway, exchange, began)
    return result


async def _stream(
    gateway: Gateway,
    exchange: Exchange,
    frames: StreamFrames,
    opened: EventStream,
    request: JSON,
    call: Call,
    send: Send,
) -> None:
    surface = exchange.surface
    began = time.perf_counter()
    started = False
    async with aclosing(opened) as events:
        try:
            async with gateway.drain.bounded():
                try:
                    first = await anext(events, None)
                except Exception as exc:
                    await _fail_upstream(gateway, exchange, send, exc, began)
                    return
                _upstream_time(gateway, exchange, began)
                if first is None:
                    # Policy, both surfaces: a stream that ended with nothing in it (no event, no error)
                    # is the provider's failure to answer, not an empty answer.
                    failure = HTTPFailure(502, "the provider's stream was empty", "upstream_bad_response")
                    await gateway.fail(exchange, send, failure)
                    return
                headers = [*surface.headers(exchange.id, stream=True), *_dropped(exchange, call)]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                started = True
                beat = _Heartbeat(send, surface.ping, gateway.limits.ping_every, frames) if surface.ping else None
                kept = False
                try:
                    async for data in _framed(gateway, exchange, frames, first, events):
                        if not kept and (final := frames.answer()) is not None:
                            # kept before the last event goes out: a client may continue from it at once,
                            # and one that leaves once it has it cancels nothing still to do
                            kept = True
                            await surface.answered(gateway, request, call, final, frames.answer_bytes())
                        if beat is not None:
                            beat.sending = True
                        await send({"type": "http.response.body", "body": data, "more_body": True})
                        if beat is not None:
                            beat.sent()
                finally:
                    if beat is not None:
                        beat.stop()
        except ShutdownCut:
            await _cut_by_shutdown(gateway, exchange, send, frames if started else None)
            if not started:
                return
        await send({"type": "http.response.body", "body": b""})


class _Heartbeat:
    """While the backend is silent mid-stream, the surface's ping every `every` seconds (Claude Code gives
    up on a stream that sends nothing for ~15-20 s; a local model thinking, or working through a long
    prompt, sends nothing). One task per stream, asleep between beats."""

    __slots__ = ("_every", "_frame", "_frames", "_last", "_loop", "_send", "_task", "sending")

    def __init__(self, send: Send, frame: bytes, every: float, frames: StreamFrames) -> None:
        self._send = send
        self._frames = frames
        self._frame = frame
        self._every = every
        self._loop = asyncio.get_running_loop()
        self._last = self._loop.time()
        self.sending = False  # the stream's own frame is on its way: no ping in between
        self._task = self._loop.create_task(self._beat())

    def sent(self) -> None:
        self.sending = False
        self._last = self._loop.time()

    def stop(self) -> None:
        self._task.cancel()

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(max(self._last + self._every - self._loop.time(), 0.05))
            if self._frames.over:
                return
            if not self.sending and self._loop.time() - self._last >= self._every:
                self.sending = True
                await self._send({"type": "http.response.body", "body": self._frame, "more_body": True})
                self.sent()


async def _cut_by_shutdown(gateway: Gateway, exchange: Exchange, send: Send, frames: StreamFrames | None) -> None:
    """The grace period ended: a stream begun ends with its surface's error event (the caller ends the
    body), a request not yet answered gets a 503."""
    exchange.extra["cut"] = "shutdown"
    exchange.error = SHUTTING_DOWN
    failure = shutting_down()
    if frames is None:
        await gateway.fail(exchange, send, failure)
        return
    gateway.metrics.error(failure.kind)
    await send({"type": "http.response.body", "body": frames.error(failure), "more_body": True})


async def _framed(
    gateway: Gateway, exchange: Exchange, frames: StreamFrames, first: JSON, events: EventStream
) -> AsyncIterator[bytes]:
    """The stream as the surface frames it, one write for what one upstream event made (a `Batch`: the
    Responses bridge makes several events of most of Claude's), none held back for a later one; a failure
    midway becomes its error frame, which ends it."""
    try:
        if data := _frame(frames, first):
            yield data
        async for item in events:
            data = _frame(frames, item)
            if data:
                yield data
    except Exception as exc:
        failure = failure_for(exc)
        if failure is None:
            raise
        exchange.error = failure.message
        gateway.metrics.error(failure.kind)
        yield frames.error(failure)
        return
    finally:
        exchange.tokens = gateway.metrics.add_tokens(frames.counted())
        exchange.usage = frames.usage()
    if end := frames.end():
        yield end


def _frame(frames: StreamFrames, item: JSON | Batch) -> bytes:
    """An event's frame, or a batch's frames as one (Call.batched; a client that does not batch hands
    on events one by one)."""
    if not isinstance(item, list):
        return frames.frame(item)
    if len(item) == 1:
        return frames.frame(item[0])
    return b"".join([frames.frame(event) for event in item])


async def _fail_upstream(gateway: Gateway, exchange: Exchange, send: Send, exc: Exception, began: float) -> None:
    failure = failure_for(exc)
    if failure is None:
        raise exc
    if not isinstance(exc, TranslationError):  # the upstream answered (with an error): its time counts
        _upstream_time(gateway, exchange, began)
    await gateway.fail(exchange, send, failure)


DROPPED_HEADER = b"x-protoshift-dropped"
_HEADER_SAFE = bytes(c if 0x20 <= c < 0x7F else 0x3F for c in range(256))  # else "?"


def _dropped(exchange: Exchange, call: Call) -> Headers:
    """What the translation could not carry to the backend: named in a header (the fields dropped, by
    their JSON paths) and in the log line (every lossy note). Nothing a client sends is lost unsaid."""
    if not call.notes:
        return []
    exchange.extra["notes"] = [str(note) for note in call.notes]
    paths = [note.path for note in call.notes if note.action == "dropped"]
    if not paths:
        return []
    # a header value is visible ASCII: a key sent with a control character in it ("a\x0cb") is "a?b" here
    value = ", ".join(dict.fromkeys(paths)).encode("ascii", "replace").translate(_HEADER_SAFE)[:4000]
    return [(DROPPED_HEADER, value)]


def _upstream_time(gateway: Gateway, exchange: Exchange, began: float) -> None:
    exchange.upstream_seconds = elapsed = time.perf_counter() - began
    gateway.metrics.upstream(elapsed)


OPERATIONS: dict[str, Operation] = {"create": create, "count_tokens": count_tokens}  # what a surface's paths name
# What a client key's limits count: the model calls (count_tokens and the model list spend nothing).
LIMITED: frozenset[Operation] = frozenset({create})
