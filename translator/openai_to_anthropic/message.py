"""What an Anthropic message and its stream share when they are made from OpenAI's: the message id,
the stop reason, usage, tool-call ids."""

from __future__ import annotations

from typing import Any

from protoshift.translator.stamps import Stamps
from protoshift.translator.tables import DEFAULT_STOP_REASON, STOP_REASONS


def message_id(completion_id: Any, stamps: Stamps) -> str:
    """`chatcmpl-X` -> `msg_X` (the inverse of `completion_id`): one completion always gives the same id."""
    if isinstance(completion_id, str) and completion_id:
        return "msg_" + (completion_id[9:] if completion_id.startswith("chatcmpl-") else completion_id)
    return stamps.id("msg_")


def tool_use_id(stamps: Stamps) -> str:
    """An id for a tool call the provider gave none."""
    return stamps.id("toolu_", 24)


def stop_reason(finish_reason: Any, *, tool_calls: bool = False) -> str:
    """OpenAI's finish_reason as Anthropic's stop_reason. A reply that calls tools stops for tool use
    whatever the provider said (some say "stop"): Anthropic clients run the tools on `tool_use`."""
    reason = STOP_REASONS.get(finish_reason, DEFAULT_STOP_REASON) if isinstance(finish_reason, str) else None
    if tool_calls and reason in (None, "end_turn"):
        return "tool_use"
    return reason or DEFAULT_STOP_REASON


def _count(usage: dict[str, Any], key: str) -> int:
    value = usage.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def cached_tokens(usage: dict[str, Any]) -> int:
    """Prompt tokens read from the provider's cache: OpenAI's `prompt_tokens_details.cached_tokens`,
    or DeepSeek's `prompt_cache_hit_tokens`."""
    details = usage.get("prompt_tokens_details")
    if isinstance(details, dict) and (cached := _count(details, "cached_tokens")):
        return cached
    return _count(usage, "prompt_cache_hit_tokens")


def anthropic_usage(usage: Any) -> dict[str, Any]:
    """OpenAI usage -> Anthropic usage: prompt tokens minus the cached ones are `input_tokens`, the
    cached ones `cache_read_input_tokens`; reasoning tokens -> `output_tokens_details.thinking_tokens`."""
    u = usage if isinstance(usage, dict) else {}
    cached = cached_tokens(u)
    result: dict[str, Any] = {
        "input_tokens": max(_count(u, "prompt_tokens") - cached, 0),
        "output_tokens": _count(u, "completion_tokens"),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
    }
    details = u.get("completion_tokens_details")
    if isinstance(details, dict) and (reasoning := _count(details, "reasoning_tokens")):
        result["output_tokens_details"] = {"thinking_tokens": reasoning}
    return result
