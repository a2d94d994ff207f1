"""LiteLLM's OpenAI -> Anthropic transformation, driven on the same inputs as protoshift.

Entry points (checked against litellm 1.106; they move between versions):

- requests, "transform": what `AnthropicConfig` itself does — `translate_developer_role_to_system_role`
  (completion() applies it first; without it a developer message is refused), `map_openai_params`
  (OpenAI params -> optional_params) and `transform_request` (messages -> the Anthropic body).
- requests, "completion path": what `litellm.completion()` runs before the HTTP call: the
  `validate_*` input checks, the provider config lookup, the developer-role rewrite,
  `get_optional_params(..., drop_params=True)` (which calls `map_openai_params`) and
  `transform_request`. Logging, callbacks, header building and the HTTP client are not included.
- streams, per event: `ModelResponseIterator.chunk_parser(event_dict) -> ModelResponseStream`;
  bytes: httpx's own line decoder (what `iter_lines()` uses) -> `ModelResponseIterator.__next__`
  (which JSON-decodes each `data:` line) -> `model_dump_json(exclude_none=True)` as `data: ...`;
  wrapped: chunk_parser followed by `CustomStreamWrapper`, what `completion(stream=True)` yields.
"""

from __future__ import annotations

import datetime
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .corpus import MODEL, Event


@dataclass(frozen=True)
class LiteLLM:
    version: str
    import_seconds: float
    transform: Callable[[dict[str, Any]], dict[str, Any]]
    completion_path: Callable[[dict[str, Any]], dict[str, Any]]
    new_parser: Callable[[], Callable[[Event], Any]]
    bytes_path: Callable[[list[bytes]], list[bytes]]
    wrapped_stream: Callable[[list[Event]], list[Any]]


def load() -> LiteLLM | str:
    """LiteLLM's entry points, or the reason they are not available."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # else the import fetches the cost map
    t0 = time.perf_counter()
    try:
        from importlib.metadata import version

        import litellm
        import litellm.litellm_core_utils.litellm_logging
        import litellm.litellm_core_utils.streaming_handler
        import litellm.llms.anthropic.chat.handler
        import litellm.llms.anthropic.chat.transformation
        import litellm.types.utils
        import litellm.utils
    except ImportError as exc:
        return f"not installed ({exc.name or exc}); run `uv run --group bench python -m benchmarks`"
    import_seconds = time.perf_counter() - t0
    litellm.suppress_debug_info = True
    return LiteLLM(
        version=version("litellm"),
        import_seconds=import_seconds,
        transform=_transform,
        completion_path=_completion_path,
        new_parser=_new_parser,
        bytes_path=_bytes_path,
        wrapped_stream=_wrapped_stream,
    )


def _split(request: dict[str, Any]) -> tuple[str, list[Any], dict[str, Any]]:
    params = {k: v for k, v in request.items() if k not in ("model", "messages")}
    return request["model"], request["messages"], params


def _transform(request: dict[str, Any]) -> dict[str, Any]:
    return transform_parts(*_split(request))


def _completion_path(request: dict[str, Any]) -> dict[str, Any]:
    return completion_parts(*_split(request), "anthropic")


def transform_parts(model: str, messages: list[Any], params: dict[str, Any]) -> dict[str, Any]:
    """The Anthropic body from `AnthropicConfig` alone (the "transform" rows)."""
    from litellm.llms.anthropic.chat.transformation import AnthropicConfig

    config = AnthropicConfig()
    messages = config.translate_developer_role_to_system_role(messages=messages)
    optional = config.map_openai_params(params, {}, model, True)
    body: dict[str, Any] = config.transform_request(model, messages, optional, {}, {})  # typed with or without litellm
    return body


def completion_parts(model: str, messages: list[Any], params: dict[str, Any], provider: str) -> dict[str, Any]:
    """The body `completion()` sends to `provider`: what it runs before the HTTP call (the "completion path"
    rows; benchmarks/responses_litellm.py's too)."""
    from litellm.types.utils import LlmProviders
    from litellm.utils import (
        ProviderConfigManager,
        get_optional_params,
        validate_and_fix_openai_messages,
        validate_and_fix_openai_tools,
        validate_and_fix_thinking_param,
        validate_chat_completion_tool_choice,
        validate_openai_optional_params,
    )

    messages = validate_and_fix_openai_messages(messages=messages)
    params["tools"] = validate_and_fix_openai_tools(tools=params.get("tools"))
    params["tool_choice"] = validate_chat_completion_tool_choice(tool_choice=params.get("tool_choice"), model=model)
    params["stop"] = validate_openai_optional_params(stop=params.get("stop"))
    params["thinking"] = validate_and_fix_thinking_param(thinking=params.get("thinking"))
    config = ProviderConfigManager.get_provider_chat_config(model=model, provider=LlmProviders(provider))
    assert config is not None
    messages = config.translate_developer_role_to_system_role(messages=messages)
    optional = get_optional_params(
        model=model, custom_llm_provider=provider, messages=messages, drop_params=True, **params
    )
    body: dict[str, Any] = config.transform_request(model, messages, optional, {"custom_llm_provider": provider}, {})
    return body


def _new_parser() -> Callable[[Event], Any]:
    from litellm.llms.anthropic.chat.handler import ModelResponseIterator

    parser: Callable[[Event], Any] = ModelResponseIterator(None, sync_stream=True, json_mode=False).chunk_parser
    return parser


def _bytes_path(reads: list[bytes]) -> list[bytes]:
    from httpx._decoders import LineDecoder, TextDecoder
    from litellm.llms.anthropic.chat.handler import ModelResponseIterator
    from litellm.types.utils import ModelResponseStream

    def lines() -> Iterator[str]:  # httpx.Response.iter_lines(), minus the socket
        text, line = TextDecoder(), LineDecoder()
        for read in reads:
            yield from line.decode(text.decode(read))
        yield from line.decode(text.flush())
        yield from line.flush()

    out: list[bytes] = []
    for chunk in ModelResponseIterator(lines(), sync_stream=True, json_mode=False):
        if isinstance(chunk, ModelResponseStream):  # the rest are empty chunks for event:/blank lines
            out.append(b"data: " + chunk.model_dump_json(exclude_none=True).encode() + b"\n\n")
    return out


def _wrapped_stream(events: list[Event]) -> list[Any]:
    from litellm.litellm_core_utils.litellm_logging import Logging
    from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper

    logging = Logging(
        model=MODEL,
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        call_type="completion",
        start_time=datetime.datetime.now(),
        litellm_call_id=str(uuid.uuid4()),
        function_id="benchmarks",
    )
    logging.update_environment_variables(
        model=MODEL, user=None, optional_params={}, litellm_params={}, custom_llm_provider="anthropic"
    )
    parse = _new_parser()
    wrapper = CustomStreamWrapper(
        completion_stream=(parse(e) for e in events),
        model=MODEL,
        custom_llm_provider="anthropic",
        logging_obj=logging,
    )
    return list(wrapper)
