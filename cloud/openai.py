"""Any OpenAI-compatible Chat Completions endpoint (OpenAI, vLLM, Ollama, LM Studio, llama.cpp,
OpenRouter...), spoken as it is: Chat Completions bodies in, checked completions and chunks out.
Callers that speak another API reach it through a bridge (cloud/bridged.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from protoshift.cloud.attempts import CALLER_RETRIES
from protoshift.cloud.backend import JSON, PreparedRequest, TokenCount
from protoshift.cloud.client import HTTPClient, model_of
from protoshift.cloud.errors import APIStatusError, BackendError
from protoshift.cloud.kinds import BACKENDS
from protoshift.cloud.security import is_loopback, redact_headers
from protoshift.translator import DEFAULT_MAX_TOKENS, DEFAULT_TABLE, ModelTable, TranslationError
from protoshift.translator.bridges import Shaping
from protoshift.translator.checks import check_json
from protoshift.translator.errors import IncompleteStreamError, UpstreamStreamError
from protoshift.translator.model_objects import ModelInfo
from protoshift.translator.openai_checks import check_chunk, check_completion
from protoshift.translator.sse import DONE
from protoshift.translator.wire import CHAT

if TYPE_CHECKING:
    from protoshift.translator.bridges import StreamMapper
    from protoshift.translator.wire import API

__all__ = ["OpenAIBackend"]


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
    """POST `{base_url}/chat/completions` with `Authorization: Bearer`. The key is optional when the
    base URL is loopback (local servers need none). `model` (when set) replaces each request's model;
    `models` is the capability table bodies bridged to it are fitted to."""

    name = "openai"
    api: ClassVar[API] = CHAT
    key_env = BACKENDS["openai"].key_env or ""
    base_url_env = BACKENDS["openai"].base_url_env or ""

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str = BACKENDS["openai"].default_base_url,
        model: str | None = None,
        default_max_tokens: int = DEFAULT_MAX_TOKENS,
        strict: bool = False,
        name: str | None = None,
        models: ModelTable | None = None,
        keep_billing_header: bool = False,
        **options: Any,
    ) -> None:
        if name:
            self.name = name
        table = DEFAULT_TABLE if models is None else models
        self.shaping = Shaping(model, table, strict, default_max_tokens, keep_billing_header=keep_billing_header)
        try:
            local = is_loopback(httpx.URL(base_url).host)
        except (httpx.InvalidURL, TypeError):
            local = False  # the base class reports the bad URL
        super().__init__(base_url=base_url, api_key=api_key, key_required=not local, **options)
        self.url = f"{self.base_url}/chat/completions"
        # vLLM serves /tokenize beside /v1, not under it.
        self._tokenize_url = f"{self.base_url.removesuffix('/v1')}/tokenize"
        self._tokenize: bool | None = None  # None: not known yet; False: the server has none
        self._probing: asyncio.Event | None = None  # set when the call finding out has its answer

    def _headers(self, *, stream: bool = False) -> dict[str, str]:
        headers = {"content-type": "application/json", "accept": "text/event-stream" if stream else "application/json"}
        if self._key:
            headers["authorization"] = f"Bearer {self._key.reveal()}"
        return headers

    def prepare(self, body: JSON, *, betas: Sequence[str] = ()) -> PreparedRequest:
        return PreparedRequest("POST", self.url, redact_headers(self._headers(stream=body.get("stream") is True)), body)

    async def create(self, body: JSON | bytes, *, betas: Sequence[str] = (), model: str | None = None) -> JSON:
        if isinstance(body, dict):
            model = model_of(body)
        completion = await self._send_json(self.url, self._headers(), body, model=model)
        try:
            return check_completion(completion)
        except TranslationError as exc:
            raise self.bad_answer(f"the provider sent an invalid chat.completion: {exc}") from exc

    def stream(
        self, body: JSON, *, betas: Sequence[str] = (), mapper: Callable[[], StreamMapper] | None = None
    ) -> AsyncGenerator[JSON, None]:
        headers = self._headers(stream=True)  # the send's own generator: no layer per event
        return self._send_stream(self.url, headers, body, _OpenAIEvents, model=model_of(body), mapper=mapper)

    async def count_tokens(self, body: JSON, *, betas: Sequence[str] = ()) -> TokenCount | None:
        """Exact where the server can count: vLLM's (and SGLang's) `POST /tokenize` renders the messages
        and tools through the model's chat template. Chat Completions itself has no count: None, for the
        bridge to estimate, when the server has no such endpoint (learned once: a 4xx) or it fails now.
        Until the server has shown whether it has one, one call asks and the others wait for its answer
        (Claude Code's /context sends 24 at once: one refusal, not 24)."""
        if self._tokenize is None and self._probing is not None:
            await self._probing.wait()  # once: a probe that failed for now (a 5xx) lets each ask for itself
        if self._tokenize is False:
            return None
        if self._tokenize is not None or self._probing is not None:
            return await self._count(body)
        self._probing = probing = asyncio.Event()
        try:
            return await self._count(body)
        finally:
            self._probing = None
            probing.set()

    async def _count(self, body: JSON) -> TokenCount | None:
        request: JSON = {k: body[k] for k in ("model", "messages", "tools") if k in body}
        statuses_once = CALLER_RETRIES.set(True)  # a count is no reason to wait out a status: estimate
        try:
            answer = await self._send_json(
                self._tokenize_url, self._headers(), {**request, "add_generation_prompt": True}
            )
        except APIStatusError as exc:
            if exc.status < 500:
                self._tokenize = False  # no such endpoint here (Ollama, LM Studio, OpenAI): estimate from now on
            return None
        except BackendError:
            return None
        finally:
            CALLER_RETRIES.reset(statuses_once)
        count = answer.get("count")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            self._tokenize = False
            return None
        self._tokenize = True
        return TokenCount(count, exact=True)

    async def list_models(self) -> list[ModelInfo]:
        """`GET {base_url}/models` (OpenAI, Ollama, vLLM... list them alike)."""
        page = await self._send_json(f"{self.base_url}/models", self._headers(), None, method="GET")
        data = page.get("data")
        if not isinstance(data, list):
            raise self.bad_answer("the model list has no data array")
        return [model for entry in data if (model := ModelInfo.from_chat(entry, owned_by=self.name)) is not None]
