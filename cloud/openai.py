"""Any OpenAI-compatible Chat Completions endpoint (OpenAI, vLLM, Ollama, LM Studio, llama.cpp):
the same protocol, passed through. Streams are decoded only to give out whole chunks."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing
from typing import Any

import httpx

from protoshift.cloud.backend import JSON, PreparedRequest, shape_request
from protoshift.cloud.client import HTTPClient
from protoshift.cloud.errors import ResponseFormatError
from protoshift.cloud.kinds import BACKENDS
from protoshift.cloud.security import is_loopback, redact_headers
from protoshift.translator import (
    DEFAULT_TABLE,
    ModelTable,
    OpenAIRequestTranslation,
    TranslationError,
    anthropic_to_openai,
    openai_to_anthropic,
)
from protoshift.translator.checks import check_json
from protoshift.translator.errors import IncompleteStreamError, UpstreamStreamError
from protoshift.translator.estimate import estimate_input_tokens
from protoshift.translator.model_objects import ModelInfo
from protoshift.translator.openai_checks import check_chunk, check_completion
from protoshift.translator.report import LOSSY_ACTIONS
from protoshift.translator.sse import DONE

__all__ = ["OpenAIBackend", "create_openai_backend"]


class _OpenAIEvents:
    """Chunks pass through, checked (`check_chunk`: what is read has the protocol's types, and all
    of it is plain JSON); `[DONE]` ends the stream; an `{"error": ...}` object is an error event."""

    __slots__ = ("_saw_finish", "finished")

    def __init__(self) -> None:
        self.finished = False
        self._saw_finish = False

    def feed(self, event: JSON) -> list[JSON]:
        if event is DONE:
            self.finished = True
            return []
        error = event.get("error")
        if event.get("object") == "error":  # vLLM's: the error's fields at the top level
            error = event
        if error:  # OpenAI's {"error": ...}; OpenRouter's comes inside a chunk, with finish_reason "error"
            check_json(event)
            if isinstance(error, dict):
                kind = error.get("type") or error.get("code") or "api_error"
                kind = kind if isinstance(kind, str) else "api_error"
                message = error.get("message")
                raise UpstreamStreamError(kind, message if isinstance(message, str) and message else kind)
            raise UpstreamStreamError("api_error", error if isinstance(error, str) else "the stream sent an error")
        check_chunk(event)
        if not self._saw_finish:
            for choice in event.get("choices") or ():
                if isinstance(choice, dict) and choice.get("finish_reason"):
                    self._saw_finish = True
        return [event]

    def close(self) -> list[JSON]:
        # Some compatible servers end without `[DONE]`; a finish_reason is proof enough of an end.
        if not self.finished and not self._saw_finish:
            raise IncompleteStreamError("stream ended before [DONE]")
        return []


class OpenAIBackend(HTTPClient):
    """POST `{base_url}/chat/completions` with `Authorization: Bearer`. The key is optional when
    the base URL is loopback (local servers need none).

    The Anthropic surface (`create_message`, `stream_message`, `count_tokens`) translates: Anthropic
    requests in, shaped by the model capability table `models` for the model they go to, the OpenAI
    call as `complete` / `stream` make it, Anthropic messages and events out."""

    name = "openai"
    key_env = BACKENDS["openai"].key_env or ""
    base_url_env = BACKENDS["openai"].base_url_env or ""

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str = BACKENDS["openai"].default_base_url,
        model: str | None = None,
        name: str | None = None,
        models: ModelTable | None = None,
        strict: bool = False,
        **options: Any,
    ) -> None:
        if name:
            self.name = name
        self.model = model
        self.models = models if models is not None else DEFAULT_TABLE
        self.strict = strict
        try:
            local = is_loopback(httpx.URL(base_url).host)
        except (httpx.InvalidURL, TypeError):
            local = False  # the base class reports the bad URL
        super().__init__(base_url=base_url, api_key=api_key, key_required=not local, **options)
        self.url = f"{self.base_url}/chat/completions"

    def _body(self, request: Mapping[str, Any], *, stream: bool) -> JSON:
        body = shape_request(request, model=self.model, stream=stream)
        check_json(body)  # passed through untranslated: held to what every request is held to
        return body

    def _headers(self, *, stream: bool) -> dict[str, str]:
        headers = {
            "content-type": "application/json",
            "accept": "text/event-stream" if stream else "application/json",
        }
        if self._key:
            headers["authorization"] = f"Bearer {self._key.reveal()}"
        return headers

    def prepare(self, request: Mapping[str, Any]) -> PreparedRequest:
        stream = bool(request.get("stream"))
        return PreparedRequest(
            "POST", self.url, redact_headers(self._headers(stream=stream)), self._body(request, stream=stream)
        )

    async def complete(self, request: Mapping[str, Any]) -> JSON:
        body = self._body(request, stream=False)
        completion = await self._send_json(self.url, self._headers(stream=False), body, model=_model_of(body))
        try:
            return check_completion(completion)
        except TranslationError as exc:
            raise self._scrubbed(
                ResponseFormatError(self.name, f"the provider sent an invalid chat.completion: {exc}")
            ) from exc

    async def list_models(self) -> list[JSON]:
        """`GET {base_url}/models`: the models the server offers (OpenAI, Ollama, vLLM... list them alike)."""
        page = await self._send_json(f"{self.base_url}/models", self._headers(stream=False), None, method="GET")
        data = page.get("data")
        if not isinstance(data, list):
            raise self._scrubbed(ResponseFormatError(self.name, "the model list has no data array"))
        return [
            info.to_chat() for entry in data if (info := ModelInfo.from_chat(entry, owned_by=self.name)) is not None
        ]

    async def stream(self, request: Mapping[str, Any]) -> AsyncGenerator[JSON, None]:
        body = self._body(request, stream=True)
        chunks = self._send_stream(self.url, self._headers(stream=True), body, _OpenAIEvents, model=_model_of(body))
        async with aclosing(chunks):
            async for chunk in chunks:
                yield chunk

    # -- the Anthropic surface, through the translator ---------------------------------------------

    def _from_anthropic(
        self, body: Mapping[str, Any], *, default_max_tokens: int | None = None
    ) -> OpenAIRequestTranslation:
        """The OpenAI request for an Anthropic one (model override applied first: the table is read
        for the model the request goes to); lossy notes become `note` events."""
        request = {**body, "model": self.model} if self.model else dict(body)  # the translator reads dicts
        translation = anthropic_to_openai.request(
            request, strict=self.strict, models=self.models, default_max_tokens=default_max_tokens
        )
        for note in translation.notes:
            if note.action in LOSSY_ACTIONS:
                self._emit("note", str(note))
        return translation

    async def create_message(self, body: Mapping[str, Any], *, betas: Sequence[str] = ()) -> JSON:
        """An Anthropic request answered by the OpenAI-compatible model: the Anthropic message."""
        translation = self._from_anthropic(body)
        completion = await self.complete(translation.body)
        try:
            return openai_to_anthropic.response(completion, model=translation.body["model"])
        except TranslationError as exc:
            raise self._scrubbed(
                ResponseFormatError(self.name, f"the answer cannot be an Anthropic message: {exc}")
            ) from exc

    async def stream_message(self, body: Mapping[str, Any], *, betas: Sequence[str] = ()) -> AsyncGenerator[JSON, None]:
        """An Anthropic request streamed by the OpenAI-compatible model: Anthropic events as the chunks arrive."""
        translation = self._from_anthropic({**body, "stream": True})
        translator = openai_to_anthropic.Stream(model=translation.body["model"])
        async with aclosing(self.stream(translation.body)) as chunks:
            async for chunk in chunks:
                for event in translator.feed(chunk):
                    yield event
        for event in translator.close():
            yield event

    async def count_tokens(self, body: Mapping[str, Any], *, betas: Sequence[str] = ()) -> JSON:
        """An estimate (OpenAI-compatible servers cannot count): `{"input_tokens": n, "exact": False}`."""
        translation = self._from_anthropic(body, default_max_tokens=1)  # count requests carry no max_tokens
        return {"input_tokens": estimate_input_tokens(translation.body), "exact": False}


def _model_of(body: JSON) -> str | None:
    model = body.get("model")
    return model if isinstance(model, str) and model else None


def create_openai_backend(api_key: str | None = None, base_url: str | None = None, **options: Any) -> OpenAIBackend:
    """An `OpenAIBackend`. `api_key` defaults to `$OPENAI_API_KEY`; `base_url` to
    `$OPENAI_BASE_URL`, then `https://api.openai.com/v1`."""
    return OpenAIBackend(**BACKENDS["openai"].connection(api_key, base_url, options))
