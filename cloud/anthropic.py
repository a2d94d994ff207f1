"""Anthropic's Messages API, spoken as it is: Anthropic bodies in, Anthropic messages and events out
(`POST /v1/messages`, `/v1/messages/count_tokens`, `GET /v1/models`). Callers that speak another API
reach it through a bridge (cloud/bridged.py)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from protoshift.cloud.backend import JSON, PreparedRequest, TokenCount
from protoshift.cloud.client import HTTPClient, model_of
from protoshift.cloud.kinds import BACKENDS
from protoshift.cloud.messages import COUNT_TOKENS_FIELDS, AnthropicEventStream, beta_header
from protoshift.cloud.security import redact_headers
from protoshift.translator import DEFAULT_MAX_TOKENS, DEFAULT_TABLE, ModelTable
from protoshift.translator.bridges import Shaping
from protoshift.translator.model_objects import ModelInfo
from protoshift.translator.wire import MESSAGES

if TYPE_CHECKING:
    from protoshift.translator.bridges import StreamMapper
    from protoshift.translator.wire import API

__all__ = ["ANTHROPIC_VERSION", "AnthropicBackend"]

ANTHROPIC_VERSION = "2023-06-01"
_MAX_MODEL_PAGES = 20  # 1,000 models a page: far more than any provider lists


class AnthropicBackend(HTTPClient):
    """`{base_url}/v1/messages` with `x-api-key`. `model` (when set) replaces each request's model;
    `models` is the capability table bodies bridged to it are fitted to (default: the built-in one)."""

    name = "anthropic"
    api: ClassVar[API] = MESSAGES
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
        self.shaping = Shaping(model, DEFAULT_TABLE if models is None else models, strict, default_max_tokens)
        super().__init__(base_url=base_url, api_key=api_key, **options)
        self.url = f"{self.base_url}/v1/messages"

    def _headers(self, *, stream: bool = False, betas: Sequence[str] = (), body: bool = True) -> dict[str, str]:
        """Every request's headers: the key, the API version, the caller's betas (each checked to be
        one: anything else must not reach a header)."""
        headers = {
            "x-api-key": self._key.reveal(),
            "anthropic-version": ANTHROPIC_VERSION,
            "accept": "text/event-stream" if stream else "application/json",
        }
        if body:
            headers["content-type"] = "application/json"
        if betas and (beta := beta_header(betas)) is not None:
            headers["anthropic-beta"] = beta
        return headers

    def prepare(self, body: JSON, *, betas: Sequence[str] = ()) -> PreparedRequest:
        headers = self._headers(stream=body.get("stream") is True, betas=betas)
        return PreparedRequest("POST", self.url, redact_headers(headers), body)

    async def create(self, body: JSON | bytes, *, betas: Sequence[str] = (), model: str | None = None) -> JSON:
        if isinstance(body, dict):
            model = model_of(body)
        return await self._send_json(self.url, self._headers(betas=betas), body, model=model)

    def stream(
        self, body: JSON, *, betas: Sequence[str] = (), mapper: Callable[[], StreamMapper] | None = None
    ) -> AsyncGenerator[JSON, None]:
        headers = self._headers(stream=True, betas=betas)  # the send's own generator: no layer per event
        return self._send_stream(self.url, headers, body, AnthropicEventStream, model=model_of(body), mapper=mapper)

    async def count_tokens(self, body: JSON, *, betas: Sequence[str] = ()) -> TokenCount:
        """`POST /v1/messages/count_tokens` with the fields it takes: the exact count."""
        counted = {key: value for key, value in body.items() if key in COUNT_TOKENS_FIELDS}
        answer = await self._send_json(f"{self.url}/count_tokens", self._headers(betas=betas), counted)
        tokens = answer.get("input_tokens")
        if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 0:
            raise self.bad_answer("count_tokens: the answer has no input_tokens count")
        return TokenCount(tokens, exact=True)

    async def list_models(self) -> list[ModelInfo]:
        """`GET /v1/models`, every page."""
        models: list[ModelInfo] = []
        after: str | None = None
        for _ in range(_MAX_MODEL_PAGES):
            query = f"?limit=1000&after_id={quote(after, safe='')}" if after else "?limit=1000"
            url = f"{self.base_url}/v1/models{query}"
            page = await self._send_json(url, self._headers(body=False), None, method="GET")
            data = page.get("data")
            if not isinstance(data, list):
                raise self.bad_answer("the model list has no data array")
            models.extend(
                model for entry in data if (model := ModelInfo.from_messages(entry, owned_by="anthropic")) is not None
            )
            last = page.get("last_id")
            if not page.get("has_more") or not isinstance(last, str) or not data:
                break
            after = last
        return models
