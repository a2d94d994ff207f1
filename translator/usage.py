"""Token usage: the one mapping between the protocols' usage objects, and the counts a log or a
metric reads from either.

- `messages_usage_to_chat(usage)`: Anthropic usage -> OpenAI usage (cached input counts as prompt
  tokens, as it does at OpenAI);
- `chat_usage_to_messages(usage)`: OpenAI usage -> Anthropic usage (prompt tokens minus the cached
  ones are `input_tokens`, the cached ones `cache_read_input_tokens`);
- `chat_usage_to_responses(usage)`: OpenAI chat usage -> Responses usage, every field present (0 when
  the provider did not say): Codex refuses a usage without `output_tokens_details.reasoning_tokens`;
- `responses_usage_to_chat(usage)`: Responses usage -> OpenAI chat usage;
- `token_counts(api, usage) -> (tokens in, tokens out)`, for any API's usage object;
- `usage_as_chat(api, usage)`: any API's usage in OpenAI's chat terms, what a price table prices.

Whatever a provider sent, a count is a positive int or 0: a string, a bool, a null, a negative
number, a missing key count nothing (usage is read off answers no one has checked field by field).
"""

from __future__ import annotations

from typing import Any

from protoshift.translator.wire import API, CHAT, JSON, MESSAGES, RESPONSES

__all__ = [
    "chat_usage_to_messages",
    "chat_usage_to_responses",
    "messages_usage_to_chat",
    "responses_usage_to_chat",
    "token_counts",
    "usage_as_chat",
]


def _count(usage: dict[str, Any], key: str) -> int:
    value = usage.get(key)
    if type(value) is int:  # most counts (an answer's own, or the one made of it): one test
        return value if value > 0 else 0
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def messages_usage_to_chat(usage: Any) -> JSON:
    """Anthropic usage -> OpenAI usage. Cached input (read or written) counts as prompt tokens, as it
    does at OpenAI; the reads are `prompt_tokens_details.cached_tokens`; thinking tokens (when the
    usage says them) are `completion_tokens_details.reasoning_tokens`."""
    u = usage if isinstance(usage, dict) else {}
    cache_read = _count(u, "cache_read_input_tokens")
    prompt = _count(u, "input_tokens") + _count(u, "cache_creation_input_tokens") + cache_read
    completion = _count(u, "output_tokens")
    result: JSON = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cache_read},
    }
    details = u.get("output_tokens_details")
    if isinstance(details, dict) and (thinking := _count(details, "thinking_tokens")):
        result["completion_tokens_details"] = {"reasoning_tokens": thinking}
    return result


def chat_usage_to_messages(usage: Any) -> JSON:
    """OpenAI usage -> Anthropic usage: prompt tokens minus the cached ones are `input_tokens`, the
    cached ones `cache_read_input_tokens`; reasoning tokens -> `output_tokens_details.thinking_tokens`."""
    u = usage if isinstance(usage, dict) else {}
    cached = _cached_tokens(u)
    result: JSON = {
        "input_tokens": max(_count(u, "prompt_tokens") - cached, 0),
        "output_tokens": _count(u, "completion_tokens"),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
    }
    details = u.get("completion_tokens_details")
    if isinstance(details, dict) and (reasoning := _count(details, "reasoning_tokens")):
        result["output_tokens_details"] = {"thinking_tokens": reasoning}
    return result


def _cached_tokens(usage: dict[str, Any]) -> int:
    """Prompt tokens read from the provider's cache: OpenAI's `prompt_tokens_details.cached_tokens`,
    or DeepSeek's `prompt_cache_hit_tokens`."""
    details = usage.get("prompt_tokens_details")
    if isinstance(details, dict) and (cached := _count(details, "cached_tokens")):
        return cached
    return _count(usage, "prompt_cache_hit_tokens")


def chat_usage_to_responses(usage: Any) -> JSON:
    """OpenAI chat usage -> Responses usage, always whole: `input_tokens_details` (`cached_tokens`, and
    `cache_write_tokens`, which the SDK's type requires: chat usage never says it, so 0) and
    `output_tokens_details.reasoning_tokens` are there, 0 when unknown; the total is the sum."""
    u = usage if isinstance(usage, dict) else {}
    prompt = _count(u, "prompt_tokens")
    completion = _count(u, "completion_tokens")
    details = u.get("completion_tokens_details")
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": _cached_tokens(u), "cache_write_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {
            "reasoning_tokens": _count(details, "reasoning_tokens") if isinstance(details, dict) else 0
        },
        "total_tokens": prompt + completion,
    }


def responses_usage_to_chat(usage: Any) -> JSON:
    """Responses usage -> OpenAI chat usage (cached input and reasoning tokens in their details)."""
    u = usage if isinstance(usage, dict) else {}
    prompt = _count(u, "input_tokens")
    completion = _count(u, "output_tokens")
    inputs = u.get("input_tokens_details")
    outputs = u.get("output_tokens_details")
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": _count(inputs, "cached_tokens") if isinstance(inputs, dict) else 0},
        "completion_tokens_details": {
            "reasoning_tokens": _count(outputs, "reasoning_tokens") if isinstance(outputs, dict) else 0
        },
    }


# Per API: the keys whose counts add up to the tokens in, and the key of the tokens out. Anthropic's
# input_tokens leaves out the cached input, which is still input the model read (and is billed).
_COUNTED: dict[API, tuple[tuple[str, ...], str]] = {
    CHAT: (("prompt_tokens",), "completion_tokens"),
    MESSAGES: (("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"), "output_tokens"),
    RESPONSES: (("input_tokens",), "output_tokens"),  # input_tokens counts the cached input already
}


def token_counts(api: API, usage: Any) -> tuple[int, int]:
    """(tokens in, tokens out) of an `api` usage object, for logs and metrics; (0, 0) for no usage."""
    if not isinstance(usage, dict):
        return 0, 0
    inputs, output = _COUNTED[api]
    return sum(_count(usage, key) for key in inputs), _count(usage, output)


def usage_as_chat(api: API, usage: Any) -> JSON | None:
    """An `api` usage object as OpenAI chat usage (what the price table prices); None for no usage."""
    if not isinstance(usage, dict):
        return None
    if api == MESSAGES:
        return messages_usage_to_chat(usage)
    if api == RESPONSES:
        return responses_usage_to_chat(usage)
    return usage
