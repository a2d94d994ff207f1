"""OpenAI Responses as its clients speak it (Codex CLI, the OpenAI Agents SDK, `client.responses.create`):
`POST /v1/responses` (JSON, and SSE as OpenAI frames it: `event: TYPE` / `data: JSON`, every event with
its `sequence_number`), and the stored responses: `GET` and `DELETE /v1/responses/{id}`,
`GET /v1/responses/{id}/input_items`. Errors, the request id and `/v1/models` as OpenAI's (the Chat
surface's).

Policy of this surface:
- `store` (the API's default is true) keeps the response and the conversation it ends, so that
  `previous_response_id` continues it on any later request; `store: false` (Codex) keeps nothing. An
  unknown `previous_response_id` is a 404 in OpenAI's words;
- an upstream's refusal keeps its status and its own `code` (the Chat surface's rule); one that said no
  code, for a context window overflowed or a quota spent, gets the code Codex acts on
  (`context_length_exceeded`, `insufficient_quota`) from its words;
- a stream never just closes: one that fails midway ends with `response.failed` (the error's code as
  Codex reads it: `rate_limit_exceeded` with "try again in Ns", `server_error`...), carrying every
  item that streamed (the one cut short `incomplete`) and whole usage;
- to a backend that speaks Responses itself (`openai-responses`) the request goes as sent and its
  events come back byte for byte: `store` and `previous_response_id` are the backend's (OpenAI keeps
  the conversation; this gateway's store is neither read nor written), and the stored-response routes
  ask that backend (upstreams.responses_keeper) for what the gateway's store does not hold, its
  answer (a 404 included) as it said it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from pydantic_core import to_json

from protoshift.gateway.asgi import Receive, Scope, Send, send_response
from protoshift.gateway.errors import HTTPFailure, echoed, failure_for
from protoshift.gateway.store import StoredResponse
from protoshift.gateway.surfaces.base import Host, StreamFrames
from protoshift.gateway.surfaces.chat import ChatSurface
from protoshift.translator.chat_to_responses import (
    cut_short,
    encode_event,
    encode_response_event,
    failure,
    failure_code,
)
from protoshift.translator.sse import RawEvent
from protoshift.translator.sse import encode_event as encode_sse
from protoshift.translator.stamps import DEFAULT_STAMPS
from protoshift.translator.usage import chat_usage_to_responses, token_counts
from protoshift.translator.wire import JSON, RESPONSES

if TYPE_CHECKING:
    from protoshift.cloud.backend import Call, KeepsResponses
    from protoshift.gateway.exchange import Exchange
    from protoshift.gateway.routing import Route

__all__ = ["ResponsesSurface"]

_TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
_SNAPSHOTS = frozenset({"response.created", "response.in_progress"})
# The events whose content the frames keep (what a failure's response.failed and the store need)
_KEPT = frozenset({"response.output_item.added", "response.output_item.done", *_SNAPSHOTS, *_TERMINAL})
# The error codes Codex acts on in an HTTP error (it stops, saying why in its own words: "Codex ran out of
# room in the model's context window", "Quota exceeded"), whatever the upstream called them.
_ACTED_ON = frozenset({"context_length_exceeded", "insufficient_quota"})
INPUT_ITEMS_PAGE = 20  # the API's default page of input items
INPUT_ITEMS_MAX = 100


class _ResponsesFrames(StreamFrames):
    """Each event as OpenAI frames it; what the stream said of the response so far (its snapshot, the
    items done, the one still open, the final one), for the failure that may end it and for the store."""

    __slots__ = ("done_items", "final", "final_bytes", "open_item", "sequence", "snapshot")

    def __init__(self) -> None:
        self.sequence = -1
        self.snapshot: JSON | None = None
        self.done_items: list[JSON] = []
        self.open_item: JSON | None = None  # added, not done yet
        self.final: JSON | None = None
        self.final_bytes: bytes | None = None  # `final` as it went out inside its event: what the store keeps

    def frame(self, event: JSON) -> bytes:
        kind = event.get("type")
        number = event.get("sequence_number")
        if isinstance(number, int):
            self.sequence = number
        if kind in _KEPT:  # one test for the deltas, most of a stream
            if kind == "response.output_item.done":
                self.done_items.append(event.get("item") or {})
                self.open_item = None
            elif kind == "response.output_item.added":
                self.open_item = event.get("item") or {}
            elif kind in _SNAPSHOTS:
                self.snapshot = event.get("response")
            else:
                self.final = event.get("response")
                if type(event) is not RawEvent and type(number) is int and list(event) == _TERMINAL_KEYS:
                    # the response encoded once, for the event and for the store (as a JSON answer is)
                    self.final_bytes = to_json(self.final)
                    return encode_response_event(kind, number, self.final_bytes)
        if type(event) is RawEvent and event.data is not None:  # from a backend that speaks Responses: as it came
            return encode_sse(event.data, kind)
        return encode_event(event)

    def counted(self) -> tuple[int, int]:
        return token_counts(RESPONSES, (self.final or {}).get("usage"))

    def usage(self) -> JSON | None:
        usage = (self.final or {}).get("usage")
        return usage if isinstance(usage, dict) else None

    def answer(self) -> JSON | None:
        return self.final

    def answer_bytes(self) -> bytes | None:
        return self.final_bytes

    def end(self) -> bytes:
        return b""  # the terminal event (the bridge's) ended it already

    def error(self, failed: HTTPFailure) -> bytes:
        """`response.failed`, as the bridge's own failed event says it: every item that streamed (the one
        cut short as `incomplete`, a web search `failed`: it got no done event) and usage whole (none was
        said: zeros)."""
        retry_after = next((float(v) for k, v in failed.headers if k == b"retry-after"), None)
        output = list(self.done_items)
        if self.open_item is not None:
            output.append(cut_short(self.open_item))
        response = {
            **(self.snapshot or {}),
            "status": "failed",
            "output": output,
            "usage": chat_usage_to_responses(None),  # what the upstream used is not known: it broke
            "error": failure(failed.message, status=failed.status, kind=failed.upstream_type, retry_after=retry_after),
        }
        self.final, self.final_bytes = response, None
        self.sequence += 1
        return encode_event({"type": "response.failed", "sequence_number": self.sequence, "response": response})


_TERMINAL_KEYS = ["type", "sequence_number", "response"]  # a terminal event as the bridges make it


class ResponsesSurface(ChatSurface):
    api = RESPONSES
    items_field = "input"
    max_tokens_fields: ClassVar[tuple[str, ...]] = ("max_output_tokens",)
    what = "a Responses request"
    # and for clients given a base URL without /v1
    paths: ClassVar[Mapping[str, str]] = {"/v1/responses": "create", "/responses": "create"}

    def stream_frames(self, request: JSON) -> StreamFrames:
        return _ResponsesFrames()

    def word(self, failure: HTTPFailure) -> HTTPFailure:
        """An upstream's refusal that said no code of its own, for a context window overflowed or a quota
        spent, gets the `code` the Responses API gives it (as a stream failing midway does:
        chat_to_responses.failure_code), read from its words: Claude says "prompt is too long" with no code
        at all. A code the upstream said stands (a 429 whose message mentions a quota stays a rate limit)."""
        if failure.kind == "upstream_status" and failure.code is None:
            code = failure_code(message=failure.message)
            if code in _ACTED_ON:
                return replace(failure, code=code)
        return failure

    async def prepare(self, gateway: Host, request: JSON, call: Call) -> HTTPFailure | None:
        """`previous_response_id`: the stored conversation it names, for the bridge to put first (a
        backend that speaks Responses keeps its own: the id goes to it as sent). An answer to be stored here
        keeps its reasoning carriers (`call.carried`) even when its client did not ask to see them: the API
        keeps a stored response's reasoning whole for the turn that continues it."""
        if request.get("store") is not False and call.backend_api != RESPONSES:
            call.carried = {}
        previous = request.get("previous_response_id")
        if previous is None or call.backend_api == RESPONSES:
            return None
        stored = await gateway.store.get(previous) if isinstance(previous, str) else None
        if stored is None:
            message = f"Previous response with id '{echoed(str(previous))}' not found."
            return HTTPFailure.client(404, message, param="previous_response_id", code="previous_response_not_found")
        call.history = stored.conversation
        return None

    async def answered(
        self, gateway: Host, request: JSON, call: Call, response: JSON | None, encoded: bytes | None = None
    ) -> None:
        """Keep the response and the conversation it ends (`store`, true unless said false), unless the
        backend speaks Responses itself: it keeps them."""
        if response is None or request.get("store") is False or not isinstance(response.get("id"), str):
            return
        if call.backend_api == RESPONSES:
            return
        output = response.get("output")
        output = output if isinstance(output, list) else []
        if call.carried:  # the stored conversation's reasoning items with what the client was not shown
            output = [_with_carried(item, call.carried) for item in output]
        inputs = [*(call.history or ()), *_input_items(request.get("input"))]
        await gateway.store.put(StoredResponse(response["id"], response, inputs, output, encoded))

    def routes(self) -> list[Route]:
        from protoshift.gateway.routing import Route

        return [
            Route.of("/v1/responses/{id}", {"GET", "DELETE"}, _stored, name="/v1/responses/{id}", dialect=RESPONSES),
            Route.of(
                "/v1/responses/{id}/input_items",
                {"GET"},
                _input_items_page,
                name="/v1/responses/{id}/input_items",
                dialect=RESPONSES,
            ),
        ]


class _Serving(Host, Protocol):
    """The gateway as the stored-response routes use it: the store, the backend that keeps responses
    itself (if the default one does), and its way of answering a failure."""

    def responses_keeper(self) -> KeepsResponses | None: ...

    async def fail(self, exchange: Exchange, send: Send, failure: HTTPFailure) -> None: ...


def _with_carried(item: Any, carried: dict[str, str]) -> Any:
    if isinstance(item, dict) and item.get("type") == "reasoning" and "encrypted_content" not in item:
        blob = carried.get(item.get("id"))  # type: ignore[arg-type]
        if blob is not None:
            return {**item, "encrypted_content": blob}
    return item


def _input_items(given: Any) -> list[JSON]:
    """A request's `input` as the items `input_items` lists (a string is one user message), each with an
    id (what a client sent without one gets one)."""
    if isinstance(given, str):
        given = [{"role": "user", "content": given}]
    items: list[JSON] = []
    for given_item in given if isinstance(given, list) else []:
        if not isinstance(given_item, dict):
            continue
        item = dict(given_item)
        if "role" in item and "type" not in item:
            item["type"] = "message"
        if item.get("type") == "message" and isinstance(item.get("content"), str):
            part = "output_text" if item.get("role") == "assistant" else "input_text"
            item["content"] = [{"type": part, "text": item["content"]}]
        if not isinstance(item.get("id"), str):
            item["id"] = DEFAULT_STAMPS.id("msg_" if item.get("type") == "message" else "item_")
        items.append(item)
    return items


async def _found(
    gateway: _Serving, exchange: Exchange, scope: Scope, send: Send, *, input_items: bool = False
) -> StoredResponse | None:
    """The stored response the path names; None once answered otherwise: by the backend that keeps its
    own responses, or 404."""
    response_id = scope["path_params"]["id"]
    stored = await gateway.store.get(response_id)
    if stored is None and not await _kept_upstream(gateway, exchange, scope, send, input_items=input_items):
        failure_ = HTTPFailure.client(404, f"Response with id '{echoed(response_id)}' not found.", code="not_found")
        await gateway.fail(exchange, send, failure_)
    return stored


async def _kept_upstream(
    gateway: _Serving, exchange: Exchange, scope: Scope, send: Send, *, input_items: bool = False
) -> bool:
    """A response the gateway's store does not hold, asked of the backend that keeps its own
    (OpenAI Responses, spoken natively): its answer, or its error, sent as the backend said it. False:
    there is no such backend (the caller answers 404)."""
    keeper = gateway.responses_keeper()
    if keeper is None:
        return False
    from urllib.parse import parse_qsl

    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    query.pop("stream", None)  # answered whole here
    method: Literal["GET", "DELETE"] = "DELETE" if scope["method"] == "DELETE" else "GET"
    try:
        answer = await keeper.stored_response(method, scope["path_params"]["id"], input_items=input_items, query=query)
    except Exception as exc:
        failure_ = failure_for(exc)
        if failure_ is None:
            raise
        exchange.error = failure_.message
        await gateway.fail(exchange, send, failure_)
        return True
    await send_response(send, 200, to_json(answer), exchange.surface.headers(exchange.id))
    return True


async def _stored(gateway: _Serving, exchange: Exchange, scope: Scope, receive: Receive, send: Send) -> None:
    """`GET /v1/responses/{id}` (the response as its client got it), `DELETE` (it is gone); one the store
    does not hold, from the backend that keeps it."""
    stored = await _found(gateway, exchange, scope, send)
    if stored is None:
        return
    headers = exchange.surface.headers(exchange.id)
    if scope["method"] == "DELETE":
        await gateway.store.delete(stored.id)
        await send_response(send, 200, to_json({"id": stored.id, "object": "response", "deleted": True}), headers)
        return
    await send_response(send, 200, to_json(stored.response), headers)


def _small_number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 9


async def _input_items_page(gateway: _Serving, exchange: Exchange, scope: Scope, receive: Receive, send: Send) -> None:
    """`GET /v1/responses/{id}/input_items`: a page of the items given as the response's input (`order`
    desc by default, `limit` 1-100, `after` an item id)."""
    from urllib.parse import parse_qsl

    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    order, limit = query.get("order", "desc"), query.get("limit", str(INPUT_ITEMS_PAGE))
    # ASCII digits only, and few: int() refuses "²" (a digit to isdigit) and numbers past 4,300 digits
    if order not in ("asc", "desc") or not _small_number(limit) or not 1 <= int(limit) <= INPUT_ITEMS_MAX:
        reason = f"order: asc or desc; limit: 1 to {INPUT_ITEMS_MAX}"
        await gateway.fail(
            exchange, send, HTTPFailure.client(400, reason, param="order" if order not in ("asc", "desc") else "limit")
        )
        return
    stored = await _found(gateway, exchange, scope, send, input_items=True)
    if stored is None:
        return
    items = stored.input_items if order == "asc" else stored.input_items[::-1]
    after = query.get("after")
    start = next((k + 1 for k, item in enumerate(items) if item.get("id") == after), 0) if after else 0
    page = items[start : start + int(limit)]
    body = {
        "object": "list",
        "data": page,
        "first_id": page[0].get("id") if page else None,
        "last_id": page[-1].get("id") if page else None,
        "has_more": start + len(page) < len(items),
    }
    await send_response(send, 200, to_json(body), exchange.surface.headers(exchange.id))
