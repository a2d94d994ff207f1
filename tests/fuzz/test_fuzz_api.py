"""The Python API under hostile input: every call either gives a result that is plain JSON (and, for what protoshift
writes in OpenAI's format, valid for the official SDK's types) or raises one of the errors it documents. Anything
else is a traceback a user would see."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from hypothesis import given
from hypothesis import strategies as st

from protoshift.cli.io.inputs import JSONInputError, load_json
from protoshift.cloud import BackendError, client_for
from protoshift.cloud.anthropic import AnthropicBackend
from protoshift.cloud.openai import OpenAIBackend
from protoshift.translator import (
    IncompleteStreamError,
    TranslationError,
    UpstreamStreamError,
    anthropic_to_openai,
    chat_to_responses,
    openai_to_anthropic,
    responses_to_chat,
)
from protoshift.translator.accumulate import ChunkAccumulator
from protoshift.translator.checks import json_problem
from protoshift.translator.openai_checks import check_chunk, check_completion
from protoshift.translator.sse import JSONEventDecoder, SSEDataError, encode_chunk
from tests.fuzz.profiles import API
from tests.fuzz.strategies import (
    CHUNK_SEEDS,
    COMPLETION_SEEDS,
    MESSAGE_SEEDS,
    json_text,
    mangled_text,
    mutated,
    mutated_sequence,
    request_seeds,
    sse_text,
    stream_seeds,
)
from tests.fuzz.tally import TALLY
from tests.oracles import validate_chunk, validate_completion
from tests.responses_oracles import assert_response_stream, validate_response
from tests.translator.codex_fixtures import codex_request

T = TypeVar("T")
REQUESTS = request_seeds()
STREAMS = stream_seeds()


def survive(call: Callable[[], T], *expected: type[BaseException]) -> T | None:
    """`call()`; None when it raised one of the `expected` errors; a traceback (counted) for anything else."""
    TALLY.tried["api"] += 1
    try:
        return call()
    except expected:
        return None
    except Exception:
        TALLY.tracebacks += 1
        raise


def plain_json(value: Any) -> None:
    """What protoshift gives out is plain JSON: no NaN, nothing a UTF-8 encoder refuses."""
    json.dumps(value, allow_nan=False, ensure_ascii=False).encode()
    assert json_problem(value) is None, json_problem(value)


@API
@given(mutated(REQUESTS))
def test_openai_to_anthropic_request(request: Any) -> None:
    translation = survive(lambda: openai_to_anthropic.request(request), TranslationError)
    if translation is not None:
        plain_json(translation.body)


@API
@given(mutated(MESSAGE_SEEDS))
def test_anthropic_to_openai_response(message: Any) -> None:
    completion = survive(lambda: anthropic_to_openai.response(message), TranslationError)
    if completion is not None:
        plain_json(completion)
        validate_completion(completion)


def _translate_stream(events: list[Any]) -> list[dict[str, Any]]:
    translator = anthropic_to_openai.Stream(include_usage=True)
    chunks = [chunk for event in events for chunk in translator.feed(event)]
    return chunks + translator.close()


@API
@given(mutated_sequence(STREAMS))
def test_stream_translator(events: list[Any]) -> None:
    chunks = survive(lambda: _translate_stream(events), TranslationError, UpstreamStreamError, IncompleteStreamError)
    for chunk in chunks or []:
        plain_json(chunk)
        validate_chunk(chunk)
        encode_chunk(chunk)


def _decode(data: bytes) -> list[dict[str, Any]]:
    decoder = JSONEventDecoder(max_event_size=1 << 20)
    events = decoder.feed(data[: len(data) // 2])
    return events + decoder.feed(data[len(data) // 2 :]) + decoder.close()


@API
@given(mutated_sequence(STREAMS).map(sse_text).flatmap(mangled_text))
def test_sse_decoder(data: bytes) -> None:
    for event in survive(lambda: _decode(data), SSEDataError) or []:
        assert isinstance(event, dict)
        # No NaN, no lone surrogate, no runaway nesting (an integer may be long: what reads it checks it).
        json.dumps(event, allow_nan=False, ensure_ascii=False).encode()


@API
@given(mutated(REQUESTS).map(json_text).flatmap(mangled_text))
def test_the_cli_json_reader(data: bytes) -> None:
    value = survive(lambda: load_json(data), JSONInputError)
    if value is not None:
        plain_json(value)


def _accumulate(chunks: list[Any]) -> dict[str, Any]:
    accumulator = ChunkAccumulator()
    for chunk in chunks:
        accumulator.add(check_chunk(chunk))
    return accumulator.completion()


@API
@given(mutated_sequence(CHUNK_SEEDS))
def test_openai_chunk_checks_and_the_accumulator(chunks: list[Any]) -> None:
    completion = survive(lambda: _accumulate(chunks), TranslationError)
    if completion is not None:
        plain_json(completion)


@API
@given(mutated(COMPLETION_SEEDS))
def test_openai_completion_checks(completion: Any) -> None:
    checked = survive(lambda: check_completion(completion), TranslationError)
    if checked is not None:
        plain_json(checked)


# ---- OpenAI Responses on a chat model (issue 20) -----------------------------------------------------

RESPONSES_REQUESTS = [
    codex_request(input=codex_request()["input"][1:]),  # the developer prompt is long: mutations reach the rest
    {"model": "m", "input": "hi", "instructions": "x", "text": {"format": {"type": "json_object"}}, "stream": True},
]
RESPONSES_TRANSLATION = responses_to_chat.request(RESPONSES_REQUESTS[0])


@API
@given(mutated(RESPONSES_REQUESTS))
def test_responses_to_chat_request(request: Any) -> None:
    translation = survive(lambda: responses_to_chat.request(request, history=[]), TranslationError)
    if translation is not None:
        plain_json(translation.body)


@API
@given(mutated(COMPLETION_SEEDS))
def test_chat_to_responses_response(completion: Any) -> None:
    request, tools = RESPONSES_REQUESTS[0], RESPONSES_TRANSLATION.tools
    response = survive(lambda: chat_to_responses.response(completion, request=request, tools=tools), TranslationError)
    if response is not None:
        plain_json(response)
        validate_response(response)


def _responses_stream(chunks: list[Any]) -> list[dict[str, Any]]:
    """The chunks as a backend hands them on (checked), through the Responses stream."""
    stream = chat_to_responses.Stream(request=RESPONSES_REQUESTS[0], tools=RESPONSES_TRANSLATION.tools)
    events = [event for chunk in chunks for event in stream.feed(check_chunk(chunk))]
    return events + stream.close()


@API
@given(mutated_sequence(CHUNK_SEEDS))
def test_chat_to_responses_stream(chunks: list[Any]) -> None:
    events = survive(lambda: _responses_stream(chunks), TranslationError)
    if events is not None:
        for event in events:
            plain_json(event)
            chat_to_responses.encode_event(event)
        assert_response_stream(events)


# ---- the backends, over a transport that answers with hostile bytes ------------------------------------


def _backend(kind: type[AnthropicBackend | OpenAIBackend], answer: Callable[[httpx.Request], httpx.Response]) -> Any:
    base = "https://api.anthropic.test" if kind is AnthropicBackend else "https://api.openai.test/v1"
    return kind(api_key="sk-fuzz-0123456789", base_url=base, breaker=False, max_retries=0,
                transport=httpx.MockTransport(answer))  # fmt: skip


def _call(backend: Any, request: dict[str, Any], stream: bool) -> list[dict[str, Any]]:
    """`request` sent by an OpenAI Chat Completions client of `backend` (translated for Anthropic's)."""
    client = client_for("chat", [(backend, None)])

    async def go() -> list[dict[str, Any]]:
        try:
            if stream:
                return [chunk async for chunk in client.stream(request)]
            return [await client.create(request)]
        finally:
            await client.aclose()

    return asyncio.run(go())


REQUEST = {"model": "claude-test", "messages": [{"role": "user", "content": "hi"}]}
JSON_ANSWERS = st.one_of(
    mutated(MESSAGE_SEEDS).map(lambda m: (AnthropicBackend, m)),
    mutated(COMPLETION_SEEDS).map(lambda m: (OpenAIBackend, m)),
)
STREAM_ANSWERS = st.one_of(
    mutated_sequence(STREAMS).map(lambda e: (AnthropicBackend, e)),
    mutated_sequence(CHUNK_SEEDS).map(lambda e: (OpenAIBackend, [*e, "[DONE]"])),
)


@API
@given(JSON_ANSWERS, st.data())
def test_backends_on_hostile_answers(answer: tuple[Any, Any], data: st.DataObject) -> None:
    kind, body = answer
    text = data.draw(mangled_text(json_text(body)))
    backend = _backend(kind, lambda request: httpx.Response(200, content=text))
    for completion in survive(lambda: _call(backend, REQUEST, stream=False), BackendError) or []:
        plain_json(completion)
        if kind is AnthropicBackend:  # what protoshift writes; an OpenAI-compatible server's own fields pass through
            validate_completion(completion)


@API
@given(STREAM_ANSWERS, st.data())
def test_backends_on_hostile_streams(answer: tuple[Any, list[Any]], data: st.DataObject) -> None:
    kind, events = answer
    text = "".join("data: [DONE]\n\n" if e == "[DONE]" else sse_text([e]) for e in events)
    body = data.draw(mangled_text(text))
    backend = _backend(kind, lambda request: httpx.Response(200, headers={"content-type": "text/event-stream"},
                                                             content=body))  # fmt: skip
    for chunk in survive(lambda: _call(backend, REQUEST, stream=True), BackendError) or []:
        plain_json(chunk)
        if kind is AnthropicBackend:
            validate_chunk(chunk)


ANTHROPIC_SSE = sse_text(STREAMS[0]).encode()
OPENAI_SSE = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in CHUNK_SEEDS[0]).encode() + b"data: [DONE]\n\n"


def _ok(request: httpx.Request) -> httpx.Response:
    anthropic = request.url.path.endswith("/v1/messages")
    if json.loads(request.content).get("stream"):
        return httpx.Response(200, headers={"content-type": "text/event-stream"},
                              content=ANTHROPIC_SSE if anthropic else OPENAI_SSE)  # fmt: skip
    return httpx.Response(200, json=MESSAGE_SEEDS[0] if anthropic else COMPLETION_SEEDS[0])


@API
@given(mutated(REQUESTS), st.sampled_from([AnthropicBackend, OpenAIBackend]), st.booleans())
def test_backends_on_hostile_requests(request: Any, kind: type[Any], stream: bool) -> None:
    if not isinstance(request, dict):
        request = {"messages": request}
    backend = _backend(kind, _ok)
    for answer in survive(lambda: _call(backend, request, stream=stream), TranslationError, BackendError) or []:
        plain_json(answer)
