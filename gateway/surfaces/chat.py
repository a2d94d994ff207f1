"""OpenAI Chat Completions as its clients speak it: `POST /v1/chat/completions` (JSON, and SSE byte
for byte as OpenAI sends it: `data: {chunk}` frames, then `data: [DONE]`), errors in OpenAI's shape
(`{"error": {"message", "type", "param", "code"}}`), the request id in `x-request-id`, and
`GET /v1/models` as OpenAI lists models.

Policy of this surface:
- usage is always asked of the backend (the log and the metrics count tokens); a client that did
  not ask for it (`stream_options.include_usage`) gets the stream it asked for: no `usage`, no
  usage-only chunk;
- a stream that fails midway ends with an `{"error": ...}` frame and no `[DONE]` (the OpenAI SDK
  raises `APIError` on it);
- an open circuit is a 503 with `retry-after`;
- a client key's limits go in OpenAI's `x-ratelimit-*` headers on every answer (a duration until reset).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from pydantic_core import to_json

from protoshift.gateway.asgi import Headers
from protoshift.gateway.clients.headers import openai_headers
from protoshift.gateway.clients.limiter import RateState
from protoshift.gateway.errors import HTTPFailure
from protoshift.gateway.surfaces.base import Listing, StreamFrames, Surface
from protoshift.translator.model_objects import ModelInfo
from protoshift.translator.sse import encode_chunk, encode_done
from protoshift.translator.usage import token_counts
from protoshift.translator.wire import API, CHAT, JSON

__all__ = ["ChatSurface", "error_object"]

# OpenAI's error `type` for a status (what api.openai.com sends; the SDKs pick exceptions by status).
_TYPE_FOR_STATUS: Mapping[int, str] = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    408: "timeout_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    504: "timeout_error",
}


def error_type(status: int) -> str:
    return _TYPE_FOR_STATUS.get(status) or ("api_error" if status >= 500 else "invalid_request_error")


def error_object(failure: HTTPFailure) -> JSON:
    return {
        "message": failure.message,
        "type": error_type(failure.status),
        "param": failure.param,
        "code": failure.code,
    }


class _ChatFrames(StreamFrames):
    __slots__ = ("said", "tokens", "wants_usage")

    def __init__(self, wants_usage: bool) -> None:
        self.wants_usage = wants_usage
        self.tokens = (0, 0)
        self.said: JSON | None = None

    def frame(self, event: JSON) -> bytes:
        usage = event.get("usage")
        if usage:
            self.tokens = token_counts(CHAT, usage)
            self.said = usage
        if not self.wants_usage:
            if usage and not event.get("choices"):
                return b""  # the usage-only chunk the client did not ask for
            event.pop("usage", None)
        return encode_chunk(event)

    def counted(self) -> tuple[int, int]:
        return self.tokens

    def usage(self) -> JSON | None:
        return self.said

    def end(self) -> bytes:
        return encode_done()

    def error(self, failure: HTTPFailure) -> bytes:
        return b"data: " + to_json({"error": error_object(failure)}) + b"\n\n"


class ChatSurface(Surface):
    api: ClassVar[API] = CHAT
    request_id_header: ClassVar[bytes] = b"x-request-id"
    what = "a chat completion request"
    # and for clients given a base URL without /v1
    paths: ClassVar[Mapping[str, str]] = {"/v1/chat/completions": "create", "/chat/completions": "create"}

    def stream_frames(self, request: JSON) -> StreamFrames:
        options = request.get("stream_options")
        wants_usage = isinstance(options, dict) and options.get("include_usage") is True
        if not wants_usage and (options is None or isinstance(options, dict)):
            request["stream_options"] = {**(options or {}), "include_usage": True}
        return _ChatFrames(wants_usage)

    def word(self, failure: HTTPFailure) -> HTTPFailure:
        return failure

    def error_body(self, failure: HTTPFailure, request_id: str) -> bytes:
        return to_json({"error": error_object(failure)})

    def rate_headers(self, state: RateState) -> Headers:
        """`x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, as OpenAI sends them on every answer."""
        return openai_headers(state)

    def model_object(self, model: ModelInfo) -> JSON:
        return model.to_chat()

    def model_list(self, models: Sequence[ModelInfo], query: Mapping[str, str]) -> Listing:
        return Listing({"object": "list", "data": [model.to_chat() for model in models]})
