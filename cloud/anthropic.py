"""Anthropic's Messages API, spoken to in OpenAI Chat Completions format through the translator."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from typing import Any

from protoshift.cloud.backend import JSON, PreparedRequest, shape_request
from protoshift.cloud.client import HTTPClient
from protoshift.cloud.errors import InvalidRequestError, ResponseFormatError
from protoshift.cloud.registry import BACKENDS, create_backend
from protoshift.cloud.security import redact_headers
from protoshift.translator import (
    DEFAULT_MAX_TOKENS,
    RequestTranslation,
    StreamTranslator,
    TranslationError,
    translate_request,
    translate_response,
)
from protoshift.translator.report import LOSSY_ACTIONS
from protoshift.translator.tables import SAMPLING_FIELDS
from protoshift.translator.to_anthropic.compat import adapt_to_rejected_parameter

__all__ = ["ANTHROPIC_VERSION", "AnthropicBackend", "create_anthropic_backend"]

ANTHROPIC_VERSION = "2023-06-01"

# Each resend after a 400 takes out one parameter the model rejected (a sampling parameter, or
# budgeted thinking), so a call is sent at most this many times more.
_MAX_ADAPTATIONS = len(SAMPLING_FIELDS) + 1


class _AnthropicEvents:
    """Anthropic SSE events -> chat.completion.chunk dicts, through `StreamTranslator`."""

    __slots__ = ("_translator", "finished")

    def __init__(self, include_usage: bool) -> None:
        self._translator = StreamTranslator(include_usage=include_usage)
        self.finished = False

    def feed(self, event: JSON) -> list[JSON]:
        chunks = self._translator.feed(event)
        if event.get("type") == "message_stop":
            self.finished = True
        return chunks

    def close(self) -> list[JSON]:
        return self._translator.close()


class AnthropicBackend(HTTPClient):
    """POST `{base_url}/v1/messages`. Takes OpenAI requests, gives OpenAI completions and chunks.

    `model` (when set) replaces each request's model. Translation notes that lose or approximate
    something are reported as `note` events. A `TranslationError` (bad input) propagates as is.
    """

    name = "anthropic"
    key_env = BACKENDS["anthropic"].key_env or ""
    base_url_env = BACKENDS["anthropic"].base_url_env or ""

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str = BACKENDS["anthropic"].default_base_url,
        model: str | None = None,
        default_max_tokens: int = DEFAULT_MAX_TOKENS,
        strict: bool = False,
        name: str | None = None,
        **options: Any,
    ) -> None:
        if name:
            self.name = name
        self.model = model
        self.default_max_tokens = default_max_tokens
        self.strict = strict
        super().__init__(base_url=base_url, api_key=api_key, **options)
        self.url = f"{self.base_url}/v1/messages"

    # -- building --------------------------------------------------------------------------------

    def _translate(self, request: Mapping[str, Any], *, stream: bool) -> RequestTranslation:
        openai_request = shape_request(request, model=self.model, stream=stream)
        translation = translate_request(openai_request, default_max_tokens=self.default_max_tokens, strict=self.strict)
        for note in translation.notes:
            if note.action in LOSSY_ACTIONS:
                self._emit("note", str(note))
        return translation

    def _headers(self, translation: RequestTranslation) -> dict[str, str]:
        headers = {
            "x-api-key": self._key.reveal(),
            "anthropic-version": ANTHROPIC_VERSION,
            "content-type": "application/json",
            "accept": "text/event-stream" if translation.stream else "application/json",
        }
        if translation.betas:
            headers["anthropic-beta"] = ",".join(translation.betas)
        return headers

    def prepare(self, request: Mapping[str, Any]) -> PreparedRequest:
        """Everything `complete`/`stream` would send (per the request's own `stream`), sent nowhere."""
        translation = self._translate(request, stream=bool(request.get("stream")))
        return PreparedRequest("POST", self.url, redact_headers(self._headers(translation)), translation.body)

    # -- calling ---------------------------------------------------------------------------------

    async def complete(self, request: Mapping[str, Any]) -> JSON:
        translation = self._translate(request, stream=False)
        headers, body = self._headers(translation), translation.body
        for adaptations_left in range(_MAX_ADAPTATIONS, -1, -1):
            try:
                message = await self._send_json(self.url, headers, body, model=_model_of(body))
                break
            except InvalidRequestError as exc:
                body = self._adapted(exc, body, adaptations_left)
        try:
            return translate_response(message)
        except TranslationError as exc:
            raise self._scrubbed(
                ResponseFormatError(self.name, f"the provider sent an invalid message: {exc}")
            ) from exc

    async def stream(self, request: Mapping[str, Any]) -> AsyncGenerator[JSON, None]:
        translation = self._translate(request, stream=True)
        include_usage = translation.include_usage
        headers, body = self._headers(translation), translation.body
        # As in `complete`: a status error comes before any chunk was given out.
        for adaptations_left in range(_MAX_ADAPTATIONS, -1, -1):
            try:
                chunks = self._send_stream(
                    self.url, headers, body, lambda: _AnthropicEvents(include_usage), model=_model_of(body)
                )
                async with aclosing(chunks):
                    async for chunk in chunks:
                        yield chunk
                return
            except InvalidRequestError as exc:
                body = self._adapted(exc, body, adaptations_left)

    def _adapted(self, error: InvalidRequestError, body: JSON, adaptations_left: int) -> JSON:
        """The body to send again when the model rejected a parameter other models take
        (deprecated sampling parameters, budgeted thinking); re-raises any other 400."""
        adapted = adapt_to_rejected_parameter(body, str(error)) if adaptations_left else None
        if adapted is None:
            raise error
        new_body, notes = adapted
        for note in notes:
            self._emit("note", f"{note} ({error.message})")
        return new_body


def _model_of(body: JSON) -> str | None:
    model = body.get("model")
    return model if isinstance(model, str) and model else None


def create_anthropic_backend(
    api_key: str | None = None, base_url: str | None = None, **options: Any
) -> AnthropicBackend:
    """An `AnthropicBackend`. `api_key` defaults to `$ANTHROPIC_API_KEY`; `base_url` to
    `$ANTHROPIC_BASE_URL`, then `https://api.anthropic.com`. Other options as `AnthropicBackend`
    takes them (model, timeout, max_retries, breaker, transport, on_event, default_max_tokens,
    strict, allow_insecure). Raises `MissingKeyError`, `InvalidBaseURLError` or
    `InsecureTransportError` (a key over http:// to a non-loopback host)."""
    backend = create_backend("anthropic", api_key=api_key, base_url=base_url, **options)
    assert isinstance(backend, AnthropicBackend)
    return backend
