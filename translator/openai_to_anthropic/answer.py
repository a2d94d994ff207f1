"""OpenAI chat.completion -> Anthropic Message."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from protoshift.translator import reasoning_details
from protoshift.translator.checks import type_name, want_list, want_object
from protoshift.translator.errors import TranslationError
from protoshift.translator.openai_checks import first_choice, message_text
from protoshift.translator.openai_to_anthropic.message import (
    message_id,
    server_tool_use_id,
    stop_reason,
    tool_use_id,
    unavailable_result,
)
from protoshift.translator.stamps import DEFAULT_STAMPS, Stamps
from protoshift.translator.usage import chat_usage_to_messages
from protoshift.translator.wire import ChatCompletion, Message

_NONE: Mapping[str, str] = {}


def response(
    chat_completion: ChatCompletion,
    *,
    model: str | None = None,
    stamps: Stamps = DEFAULT_STAMPS,
    answered_here: Mapping[str, str] = _NONE,
) -> Message:
    """Translate an OpenAI chat.completion into an Anthropic `Message`.

    Blocks in the order a Claude answer has them: thinking (`reasoning_content`, or `reasoning` as
    vLLM, Ollama and OpenRouter name it; no signature, but for OpenRouter's `reasoning_details`, which
    travel in it: reasoning_details.py), text (a refusal is text too, with stop_reason
    `refusal`), then one `tool_use` block per tool call with its arguments parsed. Arguments that
    are not a JSON object are a TranslationError naming the call. `model`: the model to name when
    the completion names none. Only the first choice is read. `stamps`: the ids the completion
    does not give (the message's, a tool call's). `answered_here`: the functions that stand in for
    Anthropic's server tools (name -> family, `anthropic_to_openai/builtin_tools.py`): a call to one is
    a `server_tool_use` block and its result, an `unavailable` error.
    """
    data = want_object(chat_completion, "$")
    choice, answer = first_choice(data)
    path = "choices[0].message"
    content: list[dict[str, Any]] = []
    if thinking := _thinking(answer):
        content.append(thinking)
    text = message_text(answer.get("content"), f"{path}.content")
    if text:
        content.append({"type": "text", "text": text})
    refusal = answer.get("refusal")
    if isinstance(refusal, str) and refusal:
        content.append({"type": "text", "text": refusal})
    calls = answer.get("tool_calls")
    if calls:
        for k, call in enumerate(want_list(calls, f"{path}.tool_calls")):
            call_path = f"{path}.tool_calls[{k}]"
            block = _tool_use(want_object(call, call_path), call_path, stamps)
            family = answered_here.get(block["name"]) if answered_here else None
            if family is None:
                content.append(block)
            else:
                server_id = server_tool_use_id(stamps)
                content.append({"type": "server_tool_use", "id": server_id, "name": family, "input": block["input"]})
                content.append(unavailable_result(family, server_id))
    elif isinstance(legacy := answer.get("function_call"), dict):
        content.append(_tool_use({"function": legacy}, f"{path}.function_call", stamps, function_path=""))
    finish = choice.get("finish_reason")
    reason = "refusal" if refusal else stop_reason(finish, tool_calls=any(b["type"] == "tool_use" for b in content))
    upstream_model = data.get("model")
    return {
        "id": message_id(data.get("id"), stamps),
        "type": "message",
        "role": "assistant",
        "model": upstream_model if isinstance(upstream_model, str) and upstream_model else (model or ""),
        "content": content,
        "stop_reason": reason,
        "stop_sequence": None,
        "usage": chat_usage_to_messages(data.get("usage")),
    }


def _thinking(answer: dict[str, Any]) -> dict[str, Any] | None:
    reasoning = answer.get("reasoning_content") or answer.get("reasoning")
    reasoning = reasoning if isinstance(reasoning, str) else ""
    if carried := reasoning_details.details(answer.get("reasoning_details")):
        # OpenRouter's: carried in the signature, to be given back verbatim next turn
        text = reasoning or reasoning_details.readable(carried)
        return {"type": "thinking", "thinking": text, "signature": reasoning_details.encode(carried)}
    return {"type": "thinking", "thinking": reasoning, "signature": ""} if reasoning else None


def _tool_use(call: dict[str, Any], path: str, stamps: Stamps, function_path: str = ".function") -> dict[str, Any]:
    function = want_object(call.get("function"), f"{path}{function_path}")
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise TranslationError(f"{path}{function_path}.name", "a tool call needs the name of its function")
    call_id = call.get("id")
    return {
        "type": "tool_use",
        "id": call_id if isinstance(call_id, str) and call_id else tool_use_id(stamps),
        "name": name,
        "input": parse_arguments(function.get("arguments"), f"{path}{function_path}.arguments"),
    }


def parse_arguments(raw: Any, path: str) -> dict[str, Any]:
    """Tool-call arguments (JSON text; some servers send the object itself) -> the tool_use input."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str):
        raise TranslationError(path, f"expected JSON text, got {type_name(raw)}")
    from pydantic_core import from_json  # imported on first use: start-up time

    try:
        value = from_json(raw)
    except ValueError as exc:
        raise TranslationError(path, f"the model's tool arguments are not valid JSON ({exc}): {raw[:80]!r}") from None
    if not isinstance(value, dict):
        raise TranslationError(path, f"the model's tool arguments must be a JSON object, got {type_name(value)}")
    return value
