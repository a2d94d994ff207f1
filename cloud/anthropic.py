"""Anthropic's Messages API, spoken to in OpenAI Chat Completions format through the translator."""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import httpx

from protoshift.cloud.base import JSON, HTTPBackend, PreparedRequest, redact_headers, shape_request
from protoshift.cloud.breaker import CircuitBreaker
from protoshift.cloud.errors import InvalidRequestError, ResponseFormatError
from protoshift.cloud.events import EventSink
from protoshift.translator import (
    DEFAULT_TABLE,
    ModelTable,
    RequestTranslation,
    StreamTranslator,
    TranslationError,
    translate_request,
    translate_response,
)
from protoshift.translator.report import LOSSY_ACTIONS
from protoshift.translator.to_anthropic.compat import adapt_to_refusal

__all__ = ["ANTHROPIC_VERSION", "DEFAULT_ANTHROPIC_BASE_URL", "AnthropicBackend", "create_anthropic_backend"]

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_ANTHROPIC_BASE_URL = "https://api.anthropic.com"


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


class AnthropicBackend(HTTPBackend):
    """POST `{base_url}/v1/messages`. Takes OpenAI requests, gives OpenAI completions and chunks.

    `model` (when set) replaces each request's model. `models` is the model capability table the
    bodies are shaped by (default: the built-in one). Translation notes that lose or approximate
    something are reported as `note` events. A `TranslationError` (bad input) propagates as is.
    """

    name = "anthropic"
    key_env = "ANTHROPIC_API_KEY"
    base_url_env = "ANTHROPIC_BASE_URL"

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str = DEFAULT_ANTHROPIC_BASE_URL,
        model: str | None = None,
        default_max_tokens: int = 8192,
        strict: bool = False,
        name: str | None = None,
        models: ModelTable | None = None,
        **options: Any,
    ) -> None:
        if name:
            self.name = name
        self.model = model
        self.models = models if models is not None else DEFAULT_TABLE
        self.default_max_tokens = default_max_tokens
        self.strict = strict
        super().__init__(base_url=base_url, api_key=api_key, **options)
        self.url = f"{self.base_url}/v1/messages"

    # -- building --------------------------------------------------------------------------------

    def _translate(self, request: Mapping[str, Any], *, stream: bool) -> RequestTranslation:
        openai_request = shape_request(request, model=self.model, stream=stream)
        translation = translate_request(
            openai_request, default_max_tokens=self.default_max_tokens, strict=self.strict, models=self.models
        )
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
        while True:  # see `_adapted`
            try:
                message = await self._send_json(self.url, headers, body)
                break
            except InvalidRequestError as exc:
                body = self._adapted(exc, body)
        try:
            return translate_response(message)
        except TranslationError as exc:
            raise self._scrubbed(
                ResponseFormatError(self.name, f"the answer is not an Anthropic message: {exc}")
            ) from exc

    async def stream(self, request: Mapping[str, Any]) -> AsyncGenerator[JSON, None]:
        translation = self._translate(request, stream=True)
        include_usage = translation.include_usage
        headers, body = self._headers(translation), translation.body
        while True:  # as in `complete`; a status error comes before any chunk was given out
            try:
                async for chunk in self._send_stream(self.url, headers, body, lambda: _AnthropicEvents(include_usage)):
                    yield chunk
                return
            except InvalidRequestError as exc:
                body = self._adapted(exc, body)

    def _adapted(self, error: InvalidRequestError, body: JSON) -> JSON:
        """The body to send again when the model refused a feature other models take (deprecated
        sampling parameters, budgeted thinking); re-raises any other 400. Each round changes
        something the 400 named, so the retry loops in `complete` and `stream` end. What the
        refusal taught about the model shapes this backend's later bodies for it."""
        adapted = adapt_to_refusal(body, str(error))
        if adapted is None:
            raise error
        model = body.get("model")
        if isinstance(model, str) and model:
            self.models = self.models.learn(model, adapted.facts)
        for note in adapted.notes:
            self._emit("note", f"{note} ({error.message})")
        return adapted.body


def create_anthropic_backend(
    api_key: str | None = None,
    base_url: str | None = None,
    *,
    model: str | None = None,
    timeout: float = 600.0,
    max_retries: int = 2,
    breaker: bool | CircuitBreaker = True,
    transport: httpx.AsyncBaseTransport | None = None,
    on_event: EventSink | None = None,
    default_max_tokens: int = 8192,
    strict: bool = False,
    allow_insecure: bool = False,
    models: ModelTable | None = None,
    **options: Any,
) -> AnthropicBackend:
    """An `AnthropicBackend`. `api_key` defaults to `$ANTHROPIC_API_KEY`; `base_url` to
    `$ANTHROPIC_BASE_URL`, then `https://api.anthropic.com`; `models` the model capability table
    (e.g. `translator.DEFAULT_TABLE.with_overrides(config)`). Raises `ConfigurationError` (no key,
    bad URL) or `InsecureTransportError` (a key over http:// to a non-loopback host)."""
    return AnthropicBackend(
        api_key=api_key if api_key is not None else os.environ.get("ANTHROPIC_API_KEY"),
        base_url=base_url or os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_ANTHROPIC_BASE_URL,
        model=model,
        timeout=timeout,
        max_retries=max_retries,
        breaker=breaker,
        transport=transport,
        on_event=on_event,
        default_max_tokens=default_max_tokens,
        strict=strict,
        allow_insecure=allow_insecure,
        models=models,
        **options,
    )
