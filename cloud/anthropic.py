"""Anthropic's Messages API, spoken to in OpenAI Chat Completions format through the translator."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing
from typing import Any
from urllib.parse import quote

from protoshift.cloud.backend import JSON, PreparedRequest, shape_request
from protoshift.cloud.client import HTTPClient
from protoshift.cloud.errors import InvalidRequestError, ResponseFormatError
from protoshift.cloud.kinds import BACKENDS
from protoshift.cloud.messages import COUNT_TOKENS_FIELDS, AnthropicEventStream, beta_header, message_body, token_count
from protoshift.cloud.security import redact_headers
from protoshift.translator import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_TABLE,
    ModelTable,
    RequestTranslation,
    TranslationError,
    anthropic_to_openai,
    openai_to_anthropic,
)
from protoshift.translator.model_objects import ModelInfo
from protoshift.translator.openai_to_anthropic.compat import adapt_to_rejected_parameter
from protoshift.translator.report import LOSSY_ACTIONS
from protoshift.translator.tables import SAMPLING_FIELDS

__all__ = ["ANTHROPIC_VERSION", "AnthropicBackend", "create_anthropic_backend"]

ANTHROPIC_VERSION = "2023-06-01"

# Each resend after a 400 takes out one parameter the model rejected (a sampling parameter, or
# budgeted thinking), so a call is sent at most this many times more.
_MAX_ADAPTATIONS = len(SAMPLING_FIELDS) + 1
_MAX_MODEL_PAGES = 20  # 1,000 models a page: far more than any provider lists


class _AnthropicEvents:
    """Anthropic SSE events -> chat.completion.chunk dicts, through `anthropic_to_openai.Stream`."""

    __slots__ = ("_translator", "finished")

    def __init__(self, include_usage: bool) -> None:
        self._translator = anthropic_to_openai.Stream(include_usage=include_usage)
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

    `model` (when set) replaces each request's model. `models` is the model capability table the
    bodies are shaped by (default: the built-in one). Translation notes that lose or approximate
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
        translation = openai_to_anthropic.request(
            openai_request, default_max_tokens=self.default_max_tokens, strict=self.strict, models=self.models
        )
        for note in translation.notes:
            if note.action in LOSSY_ACTIONS:
                self._emit("note", str(note))
        return translation

    def _headers(self, translation: RequestTranslation) -> dict[str, str]:
        return self._headers_for(stream=translation.stream, betas=translation.betas)

    def _headers_for(self, *, stream: bool, betas: Sequence[str]) -> dict[str, str]:
        headers = {
            "x-api-key": self._key.reveal(),
            "anthropic-version": ANTHROPIC_VERSION,
            "content-type": "application/json",
            "accept": "text/event-stream" if stream else "application/json",
        }
        if betas:
            headers["anthropic-beta"] = ",".join(betas)
        return headers

    def prepare(self, request: Mapping[str, Any]) -> PreparedRequest:
        """Everything `complete`/`stream` would send (per the request's own `stream`), sent nowhere."""
        translation = self._translate(request, stream=bool(request.get("stream")))
        return PreparedRequest("POST", self.url, redact_headers(self._headers(translation)), translation.body)

    # -- calling ---------------------------------------------------------------------------------

    async def complete(self, request: Mapping[str, Any]) -> JSON:
        translation = self._translate(request, stream=False)
        return await self.complete_translated(translation.body, translation.betas)

    async def complete_translated(
        self, body: JSON | bytes, betas: Sequence[str] = (), *, model: str | None = None
    ) -> JSON:
        """`complete` for a request translated already (`batch run` translates each line once, in its
        check pass): the Anthropic body, as a dict or its JSON bytes (then with its `model`), and its
        beta flags."""
        headers = self._headers_for(stream=False, betas=betas)
        for adaptations_left in range(_MAX_ADAPTATIONS, -1, -1):
            try:
                message = await self._send_json(
                    self.url, headers, body, model=_model_of(body) if isinstance(body, dict) else model
                )
                break
            except InvalidRequestError as exc:
                body = self._adapted(exc, body if isinstance(body, dict) else json.loads(body), adaptations_left)
        try:
            return anthropic_to_openai.response(message)
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

    async def list_models(self) -> list[JSON]:
        """`GET /v1/models`, every page, as OpenAI model objects."""
        headers = {
            "x-api-key": self._key.reveal(),
            "anthropic-version": ANTHROPIC_VERSION,
            "accept": "application/json",
        }
        models: list[JSON] = []
        after: str | None = None
        for _ in range(_MAX_MODEL_PAGES):
            query = f"?limit=1000&after_id={quote(after, safe='')}" if after else "?limit=1000"
            page = await self._send_json(f"{self.base_url}/v1/models{query}", headers, None, method="GET")
            data = page.get("data")
            if not isinstance(data, list):
                raise self._scrubbed(ResponseFormatError(self.name, "the model list has no data array"))
            models.extend(
                info.to_chat() for entry in data if (info := ModelInfo.from_messages(entry, owned_by="anthropic"))
            )
            last = page.get("last_id")
            if not page.get("has_more") or not isinstance(last, str) or not data:
                break
            after = last
        return models

    # -- the Anthropic surface: a pass-through (no translation; the same retries, breaker and errors) --

    def _message_headers(self, betas: Sequence[str], *, stream: bool) -> dict[str, str]:
        headers = {
            "x-api-key": self._key.reveal(),
            "anthropic-version": ANTHROPIC_VERSION,
            "content-type": "application/json",
            "accept": "text/event-stream" if stream else "application/json",
        }
        if (beta := beta_header(betas)) is not None:
            headers["anthropic-beta"] = beta
        return headers

    async def create_message(self, body: Mapping[str, Any], *, betas: Sequence[str] = ()) -> JSON:
        """POST /v1/messages with the caller's Anthropic request as it is; the Anthropic message."""
        shaped = message_body(body, model=self.model, stream=False)
        return await self._send_json(self.url, self._message_headers(betas, stream=False), shaped)

    async def stream_message(self, body: Mapping[str, Any], *, betas: Sequence[str] = ()) -> AsyncGenerator[JSON, None]:
        """POST /v1/messages with `stream: true`; Anthropic's events as they arrive."""
        shaped = message_body(body, model=self.model, stream=True)
        events = self._send_stream(self.url, self._message_headers(betas, stream=True), shaped, AnthropicEventStream)
        async with aclosing(events):
            async for event in events:
                yield event

    async def count_tokens(self, body: Mapping[str, Any], *, betas: Sequence[str] = ()) -> JSON:
        """POST /v1/messages/count_tokens (the fields it takes): `{"input_tokens": n, "exact": True}`."""
        shaped = {key: value for key, value in body.items() if key in COUNT_TOKENS_FIELDS}
        if self.model:
            shaped["model"] = self.model
        url = f"{self.base_url}/v1/messages/count_tokens"
        answer = await self._send_json(url, self._message_headers(betas, stream=False), shaped)
        try:
            return token_count(answer, exact=True)
        except ValueError as exc:
            raise self._scrubbed(ResponseFormatError(self.name, f"count_tokens: {exc}")) from None

    def _adapted(self, error: InvalidRequestError, body: JSON, adaptations_left: int) -> JSON:
        """The body to send again when the model rejected a parameter other models take
        (deprecated sampling parameters, budgeted thinking); re-raises any other 400. What the
        rejection taught about the model shapes this backend's later bodies for it."""
        adapted = adapt_to_rejected_parameter(body, str(error)) if adaptations_left else None
        if adapted is None:
            raise error
        model = body.get("model")
        if isinstance(model, str) and model:
            self.models = self.models.learn(model, adapted.facts)
        for note in adapted.notes:
            self._emit("note", f"{note} ({error.message})")
        return adapted.body


def _model_of(body: JSON) -> str | None:
    model = body.get("model")
    return model if isinstance(model, str) and model else None


def create_anthropic_backend(
    api_key: str | None = None, base_url: str | None = None, **options: Any
) -> AnthropicBackend:
    """An `AnthropicBackend`. `api_key` defaults to `$ANTHROPIC_API_KEY`; `base_url` to
    `$ANTHROPIC_BASE_URL`, then `https://api.anthropic.com`. Other options as `AnthropicBackend`
    takes them (model, timeout, max_retries, breaker, transport, on_event, default_max_tokens,
    strict, allow_insecure, models: the model capability table, e.g.
    `translator.DEFAULT_TABLE.with_overrides(config)`). Raises `MissingKeyError`, `InvalidBaseURLError` or
    `InsecureTransportError` (a key over http:// to a non-loopback host)."""
    return AnthropicBackend(**BACKENDS["anthropic"].connection(api_key, base_url, options))
