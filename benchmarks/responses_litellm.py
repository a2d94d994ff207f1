"""LiteLLM's Responses bridge, driven on the same inputs as protoshift in benchmarks/responses.py (issue 20).

`litellm.responses()` on a model with no Responses API of its own goes through its chat-completion bridge
(litellm.responses.litellm_completion_transformation): `openai/chat_completions/<model>` for a chat model
(an OpenAI-compatible server; the prefix is LiteLLM's way to send Responses requests to one) and
`anthropic/<model>` for Claude (LiteLLM has no Responses config for Anthropic). Checked against litellm
1.106 by capturing what `litellm.responses()` sends to a server on 127.0.0.1: the chains below give the
same upstream bodies (`python -m benchmarks.responses --check`). Entry points move between versions.

- request, "bridge": what `responses()` and the bridge's handler run on the request: the optional-params
  filter (`ResponsesAPIRequestUtils.get_requested_response_api_optional_param`), `hoist_additional_tools`
  and `LiteLLMCompletionResponsesConfig.transform_responses_api_request_to_chat_completion_request`:
  the Responses request -> `completion()` keyword arguments (messages, tools, params), not yet a body.
- request, "+ transform" (Claude): the bridge, then the Anthropic transformation alone, as benchmarks/
  litellm_side.py measures it: `AnthropicConfig.translate_developer_role_to_system_role`,
  `map_openai_params` and `transform_request` -> the Anthropic body.
- request, "+ completion path": the bridge, then what `completion()` runs before the HTTP call for that
  provider (`openai` or `anthropic`): the `validate_*` checks, the provider config lookup, the
  developer-role rewrite, `get_optional_params(..., drop_params=True)` and `transform_request` -> the
  body sent. Logging, callbacks, headers and the HTTP client are not included (as in litellm_side.py).
- answer: the upstream's parsed JSON -> `ResponsesAPIResponse`. Chat: `transform_chat_completion_response_
  to_responses_api_response` (which builds the `ModelResponse` from the dict itself). Claude:
  `AnthropicConfig.transform_parsed_response` (transform_response minus its logging call and
  `raw_response.json()`) into a fresh `ModelResponse`, then the same bridge transform. "bytes": JSON bytes
  in (`json.loads`), `model_dump_json(exclude_none=True)` out.
- stream, per upstream event, the bridge's `LiteLLMCompletionStreamingIterator` at the end of each:
  (a) events: chat: over `ModelResponseStream` objects built beforehand (their construction not counted:
      a favour to LiteLLM, whose real path builds them from the SDK's chunk objects); Claude: each event
      dict through `ModelResponseIterator.chunk_parser`, then the iterator;
  (b) bytes: SSE bytes through httpx's line decoder (what `iter_lines()` runs); chat: `json.loads` +
      `ModelResponseStream(**chunk)`; Claude: `ModelResponseIterator.__next__` (which JSON-decodes and
      parses each line); then the iterator, each event written as its proxy writes it
      (`data: ` + `model_dump_json(exclude_none=True, exclude_unset=True)`);
  (c) wrapped: what `litellm.responses(stream=True)` iterates: the same, with LiteLLM's
      `CustomStreamWrapper` between (chat: over the openai SDK's `ChatCompletionChunk` objects built
      beforehand, as its openai provider gets them; Claude: over `chunk_parser`), with a `Logging` object
      as `completion()` makes one.
  The iterator ends with `stream_chunk_builder` on every chunk it kept (the `response.completed` it
  builds) and that builder's cost lookup: part of LiteLLM's real path, counted.
"""

from __future__ import annotations

import copy
import datetime
import functools
import inspect
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from benchmarks import litellm_side

Request = dict[str, Any]
Event = dict[str, Any]


@dataclass(frozen=True)
class Upstream:
    """LiteLLM's provider for one upstream: its name, and the model as the bridge is handed it."""

    provider: str  # "openai" (openai/chat_completions/<model>) or "anthropic"
    model: str


@dataclass(frozen=True)
class Bridge:
    """LiteLLM's Responses bridge for one upstream, with the Responses request the answers and streams
    belong to (its tools tell custom tools and namespaces apart)."""

    upstream: Upstream
    request_input: Any
    params: Any  # the request's optional params, as the bridge's handler is given them (a TypedDict there)

    def iterator(self, wrapper: Any) -> Any:
        from litellm.responses.litellm_completion_transformation.streaming_iterator import (
            LiteLLMCompletionStreamingIterator,
        )

        return LiteLLMCompletionStreamingIterator(
            model=self.upstream.model,
            litellm_custom_stream_wrapper=wrapper,
            request_input=self.request_input,
            responses_api_request=self.params,
            custom_llm_provider=self.upstream.provider,
        )


def load() -> float | str:
    """The seconds importing LiteLLM's bridge took, or why it cannot be."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # else the import fetches the cost map
    os.environ.setdefault("LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS", "True")  # else a call fetches a header table
    t0 = time.perf_counter()
    try:
        import litellm
        import litellm.llms.anthropic.chat.handler
        import litellm.responses.litellm_completion_transformation.streaming_iterator
        import litellm.responses.litellm_completion_transformation.transformation
    except ImportError as exc:
        return f"not installed ({exc.name or exc}); run `uv run --group bench python -m benchmarks.responses`"
    litellm.suppress_debug_info = True
    return time.perf_counter() - t0


def version() -> str:
    from importlib.metadata import version as of

    return of("litellm")


# ---- requests --------------------------------------------------------------------------------------------


@functools.cache
def _named() -> frozenset[str]:
    """The arguments `responses()` names (the rest of a request reaches it as **kwargs)."""
    from litellm.responses.main import responses

    return frozenset(inspect.signature(responses).parameters)


def _optional_params(request: Request) -> tuple[Any, Any, dict[str, Any]]:
    """What `responses()` makes of a request: (input, the optional params, the **kwargs it passes on to
    `completion()`: `client_metadata` it never bridges). Named arguments and **kwargs alike go through
    the optional-params filter."""
    from litellm.responses.utils import ResponsesAPIRequestUtils

    rest = dict(request)
    rest.pop("model")
    input_ = rest.pop("input")
    kwargs = {k: v for k, v in rest.items() if k not in _named() and k != "client_metadata"}
    params = ResponsesAPIRequestUtils.get_requested_response_api_optional_param(rest)
    return input_, params, kwargs


def bridge_kwargs(request: Request, upstream: Upstream) -> dict[str, Any]:
    """The Responses request -> `completion()`'s keyword arguments, as the bridge's handler makes them."""
    from litellm.responses.additional_tools import hoist_additional_tools
    from litellm.responses.litellm_completion_transformation.transformation import (
        LiteLLMCompletionResponsesConfig,
    )

    input_, params, kwargs = _optional_params(request)
    hoisted = hoist_additional_tools(input_, params.get("tools"))
    if hoisted.hoisted:
        params = {**params, "tools": list(hoisted.tools)}
    out: dict[str, Any] = LiteLLMCompletionResponsesConfig.transform_responses_api_request_to_chat_completion_request(
        model=upstream.model,
        input=hoisted.input,
        responses_api_request=params,
        custom_llm_provider=upstream.provider,
        stream=params.get("stream"),
    )
    return {**kwargs, **out}


_LITELLM_ONLY = ("custom_llm_provider", "extra_headers", "metadata", "model", "messages")


def _split(kwargs: dict[str, Any]) -> tuple[str, list[Any], dict[str, Any]]:
    params = {k: v for k, v in kwargs.items() if k not in _LITELLM_ONLY}
    return kwargs["model"], kwargs["messages"], params


def anthropic_transform(kwargs: dict[str, Any]) -> dict[str, Any]:
    """completion() kwargs -> the Anthropic body: `AnthropicConfig` alone (litellm_side.py's "transform")."""
    return litellm_side.transform_parts(*_split(kwargs))


def completion_path(kwargs: dict[str, Any], provider: str) -> dict[str, Any]:
    """completion() kwargs -> the body sent: what `completion()` runs before the HTTP call, for `provider`."""
    return litellm_side.completion_parts(*_split(kwargs), provider)


# ---- answers -----------------------------------------------------------------------------------------------


def chat_answer(bridge: Bridge, completion: Event) -> Any:
    from litellm.responses.litellm_completion_transformation.transformation import (
        LiteLLMCompletionResponsesConfig,
    )

    return LiteLLMCompletionResponsesConfig.transform_chat_completion_response_to_responses_api_response(
        request_input=bridge.request_input, responses_api_request=bridge.params, chat_completion_response=completion
    )


_RAW: Any = None


def anthropic_answer(bridge: Bridge, message: Event) -> Any:
    import httpx
    from litellm.llms.anthropic.chat.transformation import AnthropicConfig
    from litellm.types.utils import ModelResponse

    global _RAW  # noqa: PLW0603  (one headers-only response, as transform_parsed_response reads its headers)
    if _RAW is None:
        _RAW = httpx.Response(200, headers={"content-type": "application/json", "request-id": "req_bench"})
    chat = AnthropicConfig().transform_parsed_response(
        completion_response=message, raw_response=_RAW, model_response=ModelResponse(), json_mode=False
    )
    return chat_answer(bridge, chat)


def answer_bytes(answer: Callable[[Event], Any], data: bytes) -> bytes:
    out: str = answer(json.loads(data)).model_dump_json(exclude_none=True)
    return out.encode()


# ---- streams -----------------------------------------------------------------------------------------------


class _Feed:
    """The CustomStreamWrapper the iterator reads, minus its work: chunks built beforehand, its logging object."""

    def __init__(self, chunks: Iterator[Any], logging_obj: Any) -> None:
        self._chunks = chunks
        self.logging_obj = logging_obj

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> Any:
        return next(self._chunks)


def logging_obj(upstream: Upstream) -> Any:
    """A `Logging` object as completion() makes one (the iterator's end-of-stream builder reads it)."""
    from litellm.litellm_core_utils.litellm_logging import Logging

    logging = Logging(
        model=upstream.model,
        messages=[{"role": "user", "content": "x"}],
        stream=True,
        call_type="completion",
        start_time=datetime.datetime.now(),
        litellm_call_id=str(uuid.uuid4()),
        function_id="benchmarks",
    )
    logging.update_environment_variables(
        model=upstream.model, user=None, optional_params={}, litellm_params={}, custom_llm_provider=upstream.provider
    )
    return logging


@dataclass
class Prepared:
    """A stream's input, built outside the timing: what the upstream gave (objects or dicts) and the
    logging object its call would have."""

    items: list[Any]
    logging: Any


def prepare_chat_objects(bridge: Bridge, chunks: list[Event]) -> Prepared:
    from litellm.types.utils import ModelResponseStream

    return Prepared([ModelResponseStream(**copy.deepcopy(c)) for c in chunks], logging_obj(bridge.upstream))


def prepare_sdk_chunks(bridge: Bridge, chunks: list[Event]) -> Prepared:
    from openai.types.chat import ChatCompletionChunk

    return Prepared([ChatCompletionChunk.model_validate(c) for c in chunks], logging_obj(bridge.upstream))


def prepare_dicts(bridge: Bridge, events: list[Event]) -> Prepared:
    return Prepared(copy.deepcopy(events), logging_obj(bridge.upstream))


def prepare_reads(bridge: Bridge, reads: list[bytes]) -> Prepared:
    return Prepared(list(reads), logging_obj(bridge.upstream))


def chat_events(bridge: Bridge, prepared: Prepared) -> list[Any]:
    return list(bridge.iterator(_Feed(iter(prepared.items), prepared.logging)))


def anthropic_events(bridge: Bridge, prepared: Prepared) -> list[Any]:
    from litellm.llms.anthropic.chat.handler import ModelResponseIterator

    parse = ModelResponseIterator(None, sync_stream=True, json_mode=False).chunk_parser
    return list(bridge.iterator(_Feed((parse(e) for e in prepared.items), prepared.logging)))


def _lines(reads: list[bytes]) -> Iterator[str]:
    """httpx.Response.iter_lines(), minus the socket."""
    from httpx._decoders import LineDecoder, TextDecoder

    text, line = TextDecoder(), LineDecoder()
    for read in reads:
        yield from line.decode(text.decode(read))
    yield from line.decode(text.flush())
    yield from line.flush()


def _sse(events: Any) -> list[bytes]:
    return [b"data: " + e.model_dump_json(exclude_none=True, exclude_unset=True).encode() + b"\n\n" for e in events]


def chat_bytes(bridge: Bridge, prepared: Prepared) -> list[bytes]:
    from litellm.types.utils import ModelResponseStream

    def chunks() -> Iterator[Any]:
        for line in _lines(prepared.items):
            if line.startswith("data: ") and line != "data: [DONE]":
                yield ModelResponseStream(**json.loads(line[6:]))

    return _sse(bridge.iterator(_Feed(chunks(), prepared.logging)))


def anthropic_bytes(bridge: Bridge, prepared: Prepared) -> list[bytes]:
    from litellm.llms.anthropic.chat.handler import ModelResponseIterator
    from litellm.types.utils import ModelResponseStream

    def chunks() -> Iterator[Any]:
        for chunk in ModelResponseIterator(_lines(prepared.items), sync_stream=True, json_mode=False):
            if isinstance(chunk, ModelResponseStream):  # the rest are empty chunks for event:/blank lines
                yield chunk

    return _sse(bridge.iterator(_Feed(chunks(), prepared.logging)))


def chat_wrapped(bridge: Bridge, prepared: Prepared) -> list[Any]:
    from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper

    wrapper = CustomStreamWrapper(
        completion_stream=iter(prepared.items),
        model=bridge.upstream.model,
        custom_llm_provider=bridge.upstream.provider,
        logging_obj=prepared.logging,
    )
    return list(bridge.iterator(wrapper))


def anthropic_wrapped(bridge: Bridge, prepared: Prepared) -> list[Any]:
    from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper
    from litellm.llms.anthropic.chat.handler import ModelResponseIterator

    parse = ModelResponseIterator(None, sync_stream=True, json_mode=False).chunk_parser
    wrapper = CustomStreamWrapper(
        completion_stream=(parse(e) for e in prepared.items),
        model=bridge.upstream.model,
        custom_llm_provider=bridge.upstream.provider,
        logging_obj=prepared.logging,
    )
    return list(bridge.iterator(wrapper))


def make_bridge(request: Request, upstream: Upstream) -> Bridge:
    """The bridge's view of the request an answer or a stream belongs to (built once, outside the timing)."""
    input_, params, _ = _optional_params(request)
    return Bridge(upstream, input_, params)
