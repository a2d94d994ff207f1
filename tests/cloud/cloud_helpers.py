"""Test helpers for cloud/: scripted HTTP, fake sleep and clock, the SDK types as oracles."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from typing import Any, TypeVar

import httpx
import respx

from protoshift.cloud import CloudEvent
from protoshift.cloud.anthropic import AnthropicBackend
from protoshift.cloud.backend import Backend
from protoshift.cloud.bridged import Bridged
from protoshift.cloud.openai import OpenAIBackend
from protoshift.translator.bridges import bridge
from protoshift.translator.wire import CHAT, MESSAGES
from tests.oracles import assert_anthropic_body, assert_valid_chunk, assert_valid_completion

T = TypeVar("T")

KEY = "sk-ant-test-SECRET-0123456789"
OPENAI_KEY = "sk-openai-test-SECRET-9876543210"
BASE = "https://api.anthropic.test"
OPENAI_BASE = "https://api.openai.test/v1"


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class FakeSleep:
    """Records the delays instead of sleeping."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Script:
    """A respx router, as an httpx transport, that answers with the next scripted step (the last one
    repeats) and records every request it got."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []
        self.router = respx.Router(assert_all_called=False)
        self.router.route().mock(side_effect=self._handle)
        self.transport = httpx.MockTransport(self.router.async_handler)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return step
        return step(request)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


# -- Anthropic wire format -------------------------------------------------------------------------


def message(text: str = "Hello there", *, stop_reason: str = "end_turn", model: str = "claude-test") -> dict[str, Any]:
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 5, "output_tokens": 2},
    }


def ok(text: str = "Hello there", **headers: str) -> httpx.Response:
    return httpx.Response(200, json=message(text), headers={"request-id": "req_ok", **headers})


def anthropic_error(status: int, error_type: str, msg: str = "boom", **headers: str) -> httpx.Response:
    body = {"type": "error", "error": {"type": error_type, "message": msg}, "request_id": "req_err"}
    return httpx.Response(status, json=body, headers={k.replace("_", "-"): v for k, v in headers.items()})


def stream_events(words: Iterable[str] = ("Hello", " world")) -> list[dict[str, Any]]:
    start = {**message(""), "content": [], "stop_reason": None, "usage": {"input_tokens": 5, "output_tokens": 1}}
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": start},
        {"type": "ping"},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    events += [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": w}} for w in words]
    events += [
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 2},
        },
        {"type": "message_stop"},
    ]
    return events


def sse(events: Iterable[dict[str, Any]]) -> list[bytes]:
    return [f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events]


def sse_response(parts: Iterable[bytes | Exception], status: int = 200) -> httpx.Response:
    """A streamed response whose body comes in `parts`; an exception part cuts the connection."""
    items = list(parts)

    async def body() -> AsyncIterator[bytes]:
        for part in items:
            if isinstance(part, Exception):
                raise part
            yield part

    return httpx.Response(
        status, headers={"content-type": "text/event-stream", "request-id": "req_stream"}, content=body()
    )


# -- backends ----------------------------------------------------------------------------------------


def anthropic(script: Script, events: list[CloudEvent] | None = None, **options: Any) -> AnthropicBackend:
    options.setdefault("breaker", False)
    options.setdefault("sleep", FakeSleep())
    return AnthropicBackend(
        api_key=KEY,
        base_url=BASE,
        transport=script.transport,
        on_event=events.append if events is not None else None,
        **options,
    )


def openai_backend(script: Script, events: list[CloudEvent] | None = None, **options: Any) -> OpenAIBackend:
    options.setdefault("breaker", False)
    options.setdefault("sleep", FakeSleep())
    options.setdefault("api_key", OPENAI_KEY)
    options.setdefault("base_url", OPENAI_BASE)
    return OpenAIBackend(transport=script.transport, on_event=events.append if events is not None else None, **options)


# -- clients: a backend as a caller of one API sees it (what `cloud.client_for` makes of one member) ----


def chat(backend: Backend, model: str | None = None) -> Bridged:
    """`backend` spoken to in OpenAI Chat Completions (translated for an Anthropic backend)."""
    return Bridged(backend, bridge(CHAT, backend.api), model=model)


def messages(backend: Backend, model: str | None = None) -> Bridged:
    """`backend` spoken to in Anthropic Messages (translated for an OpenAI-compatible backend)."""
    return Bridged(backend, bridge(MESSAGES, backend.api), model=model)


def chat_client(script: Script, events: list[CloudEvent] | None = None, **options: Any) -> Bridged:
    """An OpenAI Chat Completions client of an `AnthropicBackend` answering from `script`."""
    return chat(anthropic(script, events, **options))


def openai_chat_client(script: Script, events: list[CloudEvent] | None = None, **options: Any) -> Bridged:
    """An OpenAI Chat Completions client of an `OpenAIBackend` (a pass-through) answering from `script`."""
    return chat(openai_backend(script, events, **options))


REQUEST: dict[str, Any] = {"model": "claude-test", "messages": [{"role": "user", "content": "Hi"}]}


def check_completion(completion: dict[str, Any]) -> dict[str, Any]:
    assert_valid_completion(completion)
    return completion


def check_chunk(chunk: dict[str, Any]) -> dict[str, Any]:
    assert_valid_chunk(chunk)
    return chunk


def check_anthropic_body(body: dict[str, Any]) -> dict[str, Any]:
    assert_anthropic_body(body)
    return body


async def collect(
    iterator: AsyncIterator[dict[str, Any]], into: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    out = into if into is not None else []
    async for chunk in iterator:
        out.append(check_chunk(chunk))
    return out
