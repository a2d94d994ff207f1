"""OpenAI's Responses API (`POST {base_url}/responses`), spoken as it is: Responses bodies in, the
`response` object and its stream events out, checked on what is read of them and otherwise untouched.
A Responses client reaches it through the identity bridge (nothing is translated: no notes, nothing
dropped); no bridge reaches it from Chat Completions or Messages (cloud.chain refuses those by name).

`store` and `previous_response_id` go to OpenAI as sent: OpenAI keeps the conversation, not protoshift.
The responses it keeps are reached with `stored_response` (the gateway's `GET /v1/responses/{id}`).

Same host, key and model list as the `openai` kind (`OpenAIBackend`): only the endpoint and the wire
format differ, so it is that class with its own `api`, calls and stream handler.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import quote, urlencode

from protoshift.cloud.backend import JSON, TokenCount
from protoshift.cloud.client import model_of
from protoshift.cloud.kinds import BACKENDS
from protoshift.cloud.openai import OpenAIBackend
from protoshift.translator.errors import IncompleteStreamError, TranslationError, UpstreamStreamError
from protoshift.translator.openai_checks import RESPONSE_TERMINAL, check_response, check_response_event
from protoshift.translator.sse import DONE
from protoshift.translator.wire import RESPONSES

if TYPE_CHECKING:
    from protoshift.translator.bridges import StreamMapper
    from protoshift.translator.wire import API

__all__ = ["OpenAIResponsesBackend", "ResponsesEventStream"]

_KIND = BACKENDS["openai-responses"]


class ResponsesEventStream:
    """Responses SSE events passed through as they came (a `StreamHandler` for `HTTPClient._send_stream`,
    which gives it `RawEvent`s: the surface sends their bytes on). Each event's `event:` name must be
    its data's `type` (a missing name is let be); an `error` event is an `UpstreamStreamError` (retried
    like its status before any output, a `StreamInterruptedError` after); the first of
    `response.completed` / `response.incomplete` / `response.failed` ends the stream (anything after it
    is not passed on); a stream that ends before one is cut."""

    __slots__ = ("finished",)

    def __init__(self) -> None:
        self.finished = False

    def feed(self, event: JSON) -> list[JSON]:
        if self.finished or event is DONE:
            return []
        kind = event.get("type")
        name = getattr(event, "name", "message")
        if name not in ("message", kind):
            raise TranslationError("type", f"is {kind!r} in an event sent as {name!r}")
        if kind == "error":
            raise _error_event(event)
        check_response_event(event)
        if kind in RESPONSE_TERMINAL:
            self.finished = True
        return [event]

    def close(self) -> list[JSON]:
        if not self.finished:
            raise IncompleteStreamError(
                "stream ended before response.completed, response.incomplete or response.failed"
            )
        return []


def _error_event(event: JSON) -> UpstreamStreamError:
    """OpenAI's `{"type": "error", "code", "message", "param"}` (or the fields under `error`, as some
    compatible servers send them), as the stream error it stands for: its code names the failure."""
    inner = event.get("error")
    said: JSON = inner if isinstance(inner, dict) else event
    kind = said.get("code") or said.get("type")
    kind = kind if isinstance(kind, str) and kind and kind != "error" else "api_error"
    message = said.get("message")
    return UpstreamStreamError(kind, message if isinstance(message, str) and message else kind)


class OpenAIResponsesBackend(OpenAIBackend):
    """POST `{base_url}/responses` with `Authorization: Bearer` (the key optional on a loopback base
    URL, as for `openai`). `model` (when set) replaces each request's model."""

    name = _KIND.name
    api: ClassVar[API] = RESPONSES
    key_env = _KIND.key_env or ""
    base_url_env = _KIND.base_url_env or ""

    def __init__(self, *, api_key: str | None, base_url: str = _KIND.default_base_url, **options: Any) -> None:
        super().__init__(api_key=api_key, base_url=base_url, **options)
        self.url = f"{self.base_url}/responses"

    async def create(self, body: JSON | bytes, *, betas: Sequence[str] = (), model: str | None = None) -> JSON:
        if isinstance(body, dict):
            model = model_of(body)
        response = await self._send_json(self.url, self._headers(), body, model=model)
        try:
            return check_response(response)
        except TranslationError as exc:
            raise self.bad_answer(f"the provider sent an invalid response object: {exc}") from exc

    def stream(
        self, body: JSON, *, betas: Sequence[str] = (), mapper: Callable[[], StreamMapper] | None = None
    ) -> AsyncGenerator[JSON, None]:
        headers = self._headers(stream=True)
        return self._send_stream(
            self.url, headers, body, ResponsesEventStream, model=model_of(body), mapper=mapper, raw=True
        )

    async def count_tokens(self, body: JSON, *, betas: Sequence[str] = ()) -> TokenCount | None:
        """None: no surface asks a Responses backend for a count (the Responses surface has no count)."""
        return None

    async def stored_response(
        self,
        method: Literal["GET", "DELETE"],
        response_id: str,
        *,
        input_items: bool = False,
        query: Mapping[str, str] | None = None,
    ) -> JSON:
        """A response OpenAI keeps (`store`): `GET {base_url}/responses/{id}` (or its `/input_items`, with
        `query`: order, limit, after...), or `DELETE` it. Its errors are the provider's (a 404 included)."""
        url = f"{self.url}/{quote(response_id, safe='')}" + ("/input_items" if input_items else "")
        if query:
            url += "?" + urlencode(query)
        return await self._send_json(url, self._headers(), None, method=method)
