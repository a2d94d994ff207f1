"""What an Anthropic message and its stream share when they are made from OpenAI's: the message id,
the stop reason, tool-call ids (usage: translator/usage.py)."""

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


def server_tool_use_id(stamps: Stamps) -> str:
    """An id for a server tool's use (`srvtoolu_`, as Claude's)."""
    return stamps.id("srvtoolu_", 24)


def stop_reason(finish_reason: Any, *, tool_calls: bool = False) -> str:
    """OpenAI's finish_reason as Anthropic's stop_reason. A reply that calls tools stops for tool use
    whatever the provider said (some say "stop"): Anthropic clients run the tools on `tool_use`; one
    that calls none (its calls were server tools', answered already) ends its turn."""
    reason = STOP_REASONS.get(finish_reason, DEFAULT_STOP_REASON) if isinstance(finish_reason, str) else None
    if tool_calls and reason in (None, "end_turn"):
        return "tool_use"
    if not tool_calls and reason == "tool_use":
        return "end_turn"
    return reason or DEFAULT_STOP_REASON


def unavailable_result(family: str, tool_use_id: str) -> dict[str, Any]:
    """The result block of a server tool (web_search, web_fetch) that could not run: the upstream is a
    model with no such tool (anthropic_to_openai/builtin_tools.py offered it a stand-in function)."""
    return {
        "type": f"{family}_tool_result",
        "tool_use_id": tool_use_id,
        "content": {"type": f"{family}_tool_result_error", "error_code": "unavailable"},
    }
