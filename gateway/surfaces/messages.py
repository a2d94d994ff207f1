"""Anthropic Messages as its clients speak it (the anthropic SDKs, Claude Code): `POST /v1/messages`
(JSON, and SSE framed as Anthropic frames it: `event: NAME` / `data: JSON` / a blank line),
`POST /v1/messages/count_tokens`, errors in Anthropic's shape (`{"type": "error", "error": {"type",
"message"}, "request_id"}`), the request id in `request-id`, and `GET /v1/models` as Anthropic lists
models (paged: `limit`, `after_id`, `before_id`).

Policy of this surface:
- the client's `anthropic-beta` values go with the call (an Anthropic backend forwards them);
- a stream silent for a while (Limits.ping_every) gets an `event: ping`, as Anthropic's own streams do;
- the error `type` for a status is cloud.errors.ERROR_TYPE_STATUS read backwards; another 4xx is an
  invalid_request_error, another 5xx an api_error;
- an open circuit is a 529 overloaded_error with `retry-after` (the Chat surface says 503): 529 is the
  status Anthropic clients know as "come back shortly" — the SDKs retry it after `retry-after`, and
  Claude Code reports it as the API being overloaded rather than as a failure of the request;
- a stream that fails midway ends with an `error` event carrying the provider's own error type when
  it named a known one (`overloaded_error` stays `overloaded_error`);
- a client key's limits go in Anthropic's `anthropic-ratelimit-*` headers on every answer (an RFC 3339
  time for reset).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import ClassVar

from pydantic_core import to_json

from protoshift.cloud.errors import ERROR_TYPE_STATUS
from protoshift.gateway.asgi import Headers, Scope, header_values
from protoshift.gateway.clients.headers import anthropic_headers
from protoshift.gateway.clients.limiter import RateState
from protoshift.gateway.errors import HTTPFailure
from protoshift.gateway.surfaces.base import Listing, StreamFrames, Surface
from protoshift.translator.model_objects import ModelInfo
from protoshift.translator.openai_to_anthropic import encode_event
from protoshift.translator.usage import token_counts
from protoshift.translator.wire import JSON, MESSAGES

__all__ = ["OVERLOADED", "MessagesSurface", "error_type"]

_TYPE_FOR_STATUS: Mapping[int, str] = {status: kind for kind, status in ERROR_TYPE_STATUS.items()}
OVERLOADED = 529
MODELS_PAGE = 20  # Anthropic's default page size for GET /v1/models
MODELS_PAGE_MAX = 1000


def error_type(status: int) -> str:
    return _TYPE_FOR_STATUS.get(status) or ("api_error" if status >= 500 else "invalid_request_error")


class _MessagesFrames(StreamFrames):
    """Usage from `message_start` and `message_delta` (Anthropic sends it in both; the totals are the
    later values), counted when the stream is done."""

    __slots__ = ("_usage", "over")

    def __init__(self) -> None:
        self._usage: dict[str, object] = {}
        self.over = False

    def frame(self, event: JSON) -> bytes:
        kind = event.get("type")
        if kind == "message_stop":
            self.over = True
        if kind in {"message_start", "message_delta"}:
            usage = (event.get("message") or {}).get("usage") if kind == "message_start" else event.get("usage")
            if isinstance(usage, dict):
                self._usage.update((k, v) for k, v in usage.items() if v is not None)
        return encode_event(event)

    def counted(self) -> tuple[int, int]:
        return token_counts(MESSAGES, self._usage)

    def usage(self) -> JSON | None:
        return dict(self._usage) if self._usage else None

    def end(self) -> bytes:
        return b""  # `message_stop` (the backend's last event) ended it already

    def error(self, failure: HTTPFailure) -> bytes:
        worded = MessagesSurface.word(failure)
        kind = failure.upstream_type if failure.upstream_type in ERROR_TYPE_STATUS else error_type(worded.status)
        return encode_event({"type": "error", "error": {"type": kind, "message": failure.message}})


class MessagesSurface(Surface):
    api = MESSAGES
    request_id_header: ClassVar[bytes] = b"request-id"
    what = "an Anthropic Messages request"
    paths: ClassVar[Mapping[str, str]] = {"/v1/messages": "create", "/v1/messages/count_tokens": "count_tokens"}
    max_tokens_fields: ClassVar[tuple[str, ...]] = ("max_tokens",)
    # Anthropic's API pings a stream that has nothing to say, and Claude Code gives up on one that is
    # silent for ~15-20 s: a model behind a chat upstream thinking (or reading a long prompt) is
    ping: ClassVar[bytes] = encode_event({"type": "ping"})

    def betas(self, scope: Scope) -> tuple[str, ...]:
        """One `anthropic-beta` header or several, each a comma-separated list."""
        values: list[str] = []
        for value in header_values(scope, b"anthropic-beta"):
            values += [part.strip() for part in value.decode("latin-1").split(",") if part.strip()]
        return tuple(values)

    def stream_frames(self, request: JSON) -> StreamFrames:
        return _MessagesFrames()

    @staticmethod
    def word(failure: HTTPFailure) -> HTTPFailure:
        return replace(failure, status=OVERLOADED) if failure.kind == "circuit_open" else failure

    def error_body(self, failure: HTTPFailure, request_id: str) -> bytes:
        error = {"type": error_type(failure.status), "message": failure.message}
        return to_json({"type": "error", "error": error, "request_id": request_id})

    def rate_headers(self, state: RateState) -> Headers:
        """`anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}` (reset: an RFC 3339 time), as
        Anthropic sends them on every answer."""
        return anthropic_headers(state)

    def model_object(self, model: ModelInfo) -> JSON:
        return model.to_messages()

    def model_list(self, models: Sequence[ModelInfo], query: Mapping[str, str]) -> Listing:
        try:
            limit = int(query.get("limit", MODELS_PAGE))
        except ValueError:
            limit = 0
        if not 1 <= limit <= MODELS_PAGE_MAX:
            return Listing(problem=f"limit: must be between 1 and {MODELS_PAGE_MAX}")
        ids = [model.id for model in models]
        start, end = 0, len(models)
        if (after := query.get("after_id")) in ids:
            start = ids.index(after) + 1
        if (before := query.get("before_id")) in ids:
            end = ids.index(before)
            start = max(start, end - limit)
        page = [model.to_messages() for model in models[start : min(end, start + limit)]]
        return Listing(
            {
                "data": page,
                "has_more": start + len(page) < end,
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
            }
        )
