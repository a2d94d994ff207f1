"""Anthropic's Message Batches API: create, retrieve, list, cancel, and stream the results.

    POST /v1/messages/batches                  {"requests": [{"custom_id", "params"}, ...]} -> batch
    GET  /v1/messages/batches/{id}                                                           -> batch
    GET  /v1/messages/batches?limit=&after_id=  -> {"data": [batch...], "has_more", "first_id", "last_id"}
    POST /v1/messages/batches/{id}/cancel                                                    -> batch
    GET  {results_url}                          -> JSONL, one {"custom_id", "result"} per line

A batch is `{"id", "type": "message_batch", "processing_status": "in_progress"|"canceling"|"ended",
"request_counts": {"processing", "succeeded", "errored", "canceled", "expired"}, "results_url",
"created_at", "expires_at", "ended_at", ...}` (anthropic-sdk-python `types/messages/message_batch.py`).

`MessageBatchesClient` is an `HTTPClient`: the key handling, the retry policy, the circuit breaker
(shared with the Messages backend of the same base URL), the `-v` trace and the error types are the
ones every backend uses. Bodies here are Anthropic format as is: translation is the caller's business.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from protoshift.cloud.anthropic import ANTHROPIC_VERSION, AnthropicBackend
from protoshift.cloud.attempts import Attempt
from protoshift.cloud.backend import JSON
from protoshift.cloud.client import HTTPClient
from protoshift.cloud.deadline import Deadline
from protoshift.cloud.errors import ConfigurationError, ResponseFormatError
from protoshift.cloud.kinds import BACKENDS

__all__ = ["BATCH_STATUSES", "RESULT_COUNTS", "MessageBatchesClient", "create_batches_client"]

BATCH_STATUSES = ("in_progress", "canceling", "ended")
RESULT_COUNTS = ("processing", "succeeded", "errored", "canceled", "expired")
_ACCEPT_JSONL = "application/binary"  # what the official SDK asks for when downloading results


class MessageBatchesClient(HTTPClient):
    # The same name as the Messages backend: one breaker for one host, and errors that name it alike.
    name = AnthropicBackend.name
    key_env = AnthropicBackend.key_env
    base_url_env = AnthropicBackend.base_url_env

    def __init__(
        self, *, api_key: str | None, base_url: str = BACKENDS["anthropic"].default_base_url, **options: Any
    ) -> None:
        super().__init__(base_url=base_url, api_key=api_key, **options)
        self.url = f"{self.base_url}/v1/messages/batches"

    def _headers(self, *, betas: Sequence[str] = (), accept: str = "application/json") -> dict[str, str]:
        headers = {"x-api-key": self._key.reveal(), "anthropic-version": ANTHROPIC_VERSION, "accept": accept}
        if betas:
            headers["anthropic-beta"] = ",".join(betas)
        return headers

    def _batch_url(self, batch_id: str, suffix: str = "") -> str:
        if not batch_id or batch_id.strip() != batch_id:
            raise ConfigurationError(f"bad batch id {batch_id!r}")
        return f"{self.url}/{quote(batch_id, safe='')}{suffix}"

    # -- calls -----------------------------------------------------------------------------------

    async def create(self, body: bytes | Mapping[str, Any], *, betas: Sequence[str] = ()) -> JSON:
        """POST a `{"requests": [...]}` body (already encoded bytes, or an object). Returns the batch."""
        headers = {**self._headers(betas=betas), "content-type": "application/json"}
        return self._batch(await self._send_json(self.url, headers, body))

    async def retrieve(self, batch_id: str) -> JSON:
        return self._batch(await self._send_json(self._batch_url(batch_id), self._headers(), None, method="GET"))

    async def cancel(self, batch_id: str) -> JSON:
        url = self._batch_url(batch_id, "/cancel")
        return self._batch(await self._send_json(url, self._headers(), None))

    async def list_page(self, *, limit: int = 20, after_id: str | None = None) -> JSON:
        query: dict[str, str | int] = {"limit": limit}
        if after_id:
            query["after_id"] = after_id
        page = await self._send_json(f"{self.url}?{urlencode(query)}", self._headers(), None, method="GET")
        if not isinstance(page.get("data"), list):
            raise self._scrubbed(ResponseFormatError(self.name, "the batch list has no data array"))
        return page

    async def iter_batches(self, *, limit: int) -> AsyncIterator[JSON]:
        """Up to `limit` batches, newest first, page after page."""
        after: str | None = None
        given = 0
        while given < limit:
            page = await self.list_page(limit=min(limit - given, 1000), after_id=after)
            for batch in page["data"]:
                if isinstance(batch, dict):
                    given += 1
                    yield batch
            last = page.get("last_id")
            if not page.get("has_more") or not isinstance(last, str) or not last or not page["data"]:
                return
            after = last

    def results_url(self, batch: Mapping[str, Any]) -> str:
        """Where to download the results: the batch's `results_url`, always on our base URL's origin.
        A results_url on another host (behind a proxy, say) keeps its path but is fetched from the
        base URL, so the key never goes to a host the user did not configure."""
        raw = batch.get("results_url")
        if not isinstance(raw, str) or not raw:
            status = batch.get("processing_status", "?")
            raise self._scrubbed(
                ResponseFormatError(self.name, f"batch {batch.get('id', '?')} has no results yet ({status})")
            )
        base = httpx.URL(self.base_url)
        try:
            url = httpx.URL(raw)
            if url.is_relative_url or (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port):
                url = base.copy_with(raw_path=url.raw_path)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            message = f"the provider sent an invalid results_url for batch {batch.get('id', '?')}: {exc}"
            raise self._scrubbed(ResponseFormatError(self.name, message)) from None
        return str(url)

    async def results(self, batch: Mapping[str, Any]) -> AsyncIterator[bytes]:
        """The results JSONL of an ended batch, line by line (non-blank lines), as the bytes arrive.
        Retried like any call until the first line is out; a cut after that raises."""
        url = self.results_url(batch)
        headers = self._headers(accept=_ACCEPT_JSONL)

        async def once(attempt: Attempt) -> AsyncGenerator[bytes, None]:
            deadline = self._stream_deadline()  # a download as long as it keeps coming, line by line
            async with (
                self._exchange("GET", url, headers, None, attempt, deadline) as response,
                aclosing(_lines(deadline.reads(response.aiter_bytes()), deadline)) as lines,
            ):
                async for line in lines:
                    yield line

        async with aclosing(self._attempts.run(once)) as lines:
            async for line in lines:
                yield line

    def _batch(self, data: JSON) -> JSON:
        if data.get("type") != "message_batch" or not isinstance(data.get("id"), str):
            raise self._scrubbed(ResponseFormatError(self.name, "the answer is not a message batch"))
        return data


async def _lines(chunks: AsyncIterator[bytes], deadline: Deadline) -> AsyncGenerator[bytes, None]:
    parts: list[bytes] = []
    async for chunk in chunks:
        if b"\n" not in chunk:
            parts.append(chunk)
            continue
        *complete, rest = chunk.split(b"\n")
        if parts:
            complete[0] = b"".join((*parts, complete[0]))
            parts.clear()
        for line in complete:
            if line.strip():
                deadline.touch()
                yield line
        if rest:
            parts.append(rest)
    tail = b"".join(parts)
    if tail.strip():
        yield tail


def create_batches_client(
    api_key: str | None = None, base_url: str | None = None, **options: Any
) -> MessageBatchesClient:
    """A `MessageBatchesClient`: `api_key` defaults to `$ANTHROPIC_API_KEY`, `base_url` to
    `$ANTHROPIC_BASE_URL`, then https://api.anthropic.com. Options as for `create_anthropic_backend`
    (timeout, max_retries, breaker, transport, on_event, allow_insecure)."""
    return MessageBatchesClient(**BACKENDS["anthropic"].connection(api_key, base_url, options))
