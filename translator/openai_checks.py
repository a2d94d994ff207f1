"""OpenAI chat.completion and chat.completion.chunk objects as an OpenAI-compatible server sends them,
and OpenAI Responses objects and stream events as a Responses backend sends them, checked before they
are passed on: the fields protoshift and its callers read must have the types the
protocol gives them, and everything must be plain JSON (`check_json`). Anything else is a
TranslationError naming the field (`choices[0].delta.content: expected a string, got a number`).

Fields nobody reads are passed on as they are (servers add their own: `system_fingerprint`,
`service_tier`, vLLM's `prompt_logprobs` ...), as long as they are plain JSON.
"""

from __future__ import annotations

from typing import Any

from protoshift.translator.checks import check_json, want_int, want_list, want_object, want_str
from protoshift.translator.errors import TranslationError

__all__ = [
    "RESPONSE_TERMINAL",
    "check_chunk",
    "check_completion",
    "check_response",
    "check_response_event",
    "first_choice",
    "message_text",
]

# Text fields of a delta or a message: a string or null. (`reasoning_content`: DeepSeek, vLLM, and ours.)
_TEXT_FIELDS = ("role", "content", "reasoning_content", "refusal")
_USAGE_COUNTS = ("prompt_tokens", "completion_tokens", "total_tokens")


def check_chunk(chunk: Any) -> dict[str, Any]:
    """A chat.completion.chunk, checked (see the module's doc); returned as is."""
    obj = want_object(chunk, "$")
    check_json(obj)
    _top_level(obj)
    for k, choice in enumerate(_choices(obj)):
        path = f"choices[{k}]"
        _choice(choice, path)
        delta = choice.get("delta")
        if delta is not None:
            _message(want_object(delta, f"{path}.delta"), f"{path}.delta", streamed=True)
    return obj


def check_completion(completion: Any) -> dict[str, Any]:
    """A chat.completion, checked (see the module's doc); returned as is."""
    obj = want_object(completion, "$")
    check_json(obj)
    _top_level(obj)
    if "choices" not in obj:
        raise TranslationError("choices", "is required")
    for k, choice in enumerate(_choices(obj)):
        path = f"choices[{k}]"
        _choice(choice, path)
        _message(want_object(choice.get("message"), f"{path}.message"), f"{path}.message", streamed=False)
    return obj


# The events that end a Responses stream (exactly one does), and those that carry the response so far.
RESPONSE_TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
_RESPONSE_SNAPSHOTS = frozenset({"response.created", "response.in_progress", "response.queued", *RESPONSE_TERMINAL})
_ITEM_EVENTS = frozenset({"response.output_item.added", "response.output_item.done"})


def first_choice(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A chat.completion's first choice and its message, what an answer's translation reads (the others are
    not); an error object in the completion's place, or no choice, is a TranslationError saying so."""
    if data.get("error") is not None and data.get("choices") is None:
        error = data["error"]
        message = error.get("message") if isinstance(error, dict) else error
        raise TranslationError("error", f"this is an error, not a completion: {message}")
    choices = want_list(data.get("choices"), "choices")
    if not choices:
        raise TranslationError("choices", "is empty: the completion has no answer")
    choice = want_object(choices[0], "choices[0]")
    return choice, want_object(choice.get("message"), "choices[0].message")


def message_text(value: Any, path: str) -> str:
    """A message's `content` as a string, or the text of its parts (some servers answer with a list)."""
    if value is None or isinstance(value, str):
        return value or ""
    texts = []
    for k, item in enumerate(want_list(value, path)):
        part = want_object(item, f"{path}[{k}]")
        if isinstance(part.get("text"), str):
            texts.append(part["text"])
    return "".join(texts)


def check_response(response: Any, path: str = "$") -> dict[str, Any]:
    """A Responses `response` object, checked on what is read of it (its id, status, output items and
    usage); returned as is. Plain JSON already: it comes from pydantic-core's parser."""
    obj = want_object(response, path)
    prefix = "" if path == "$" else f"{path}."
    want_str(obj.get("id"), f"{prefix}id", nonempty=True)
    want_str(obj.get("status"), f"{prefix}status")
    for k, item in enumerate(want_list(obj.get("output"), f"{prefix}output")):
        want_object(item, f"{prefix}output[{k}]")
    if obj.get("usage") is not None:
        want_object(obj["usage"], f"{prefix}usage")
    return obj


def check_response_event(event: dict[str, Any]) -> dict[str, Any]:
    """One Responses stream event, checked on what is read of it: its `type`, its `sequence_number`, the
    response a lifecycle event carries, the item an output_item event carries; returned as is."""
    kind = want_str(event.get("type"), "type", nonempty=True)
    number = event.get("sequence_number")
    if number is not None and (type(number) is not int or number < 0):
        want_int(number, "sequence_number", minimum=0)
    if kind in _RESPONSE_SNAPSHOTS:
        check_response(event.get("response"), "response")
    elif kind in _ITEM_EVENTS:
        want_object(event.get("item"), "item")
    return event


def _top_level(obj: dict[str, Any]) -> None:
    for key in ("id", "model", "object"):
        _optional_str(obj, key, key)
    if obj.get("created") is not None:
        want_int(obj["created"], "created")
    usage = obj.get("usage")
    if usage is not None:
        usage = want_object(usage, "usage")
        for key in _USAGE_COUNTS:
            if usage.get(key) is not None:
                want_int(usage[key], f"usage.{key}", minimum=0)


def _choices(obj: dict[str, Any]) -> list[dict[str, Any]]:
    choices = obj.get("choices")
    if choices is None:
        return []
    return [want_object(choice, f"choices[{k}]") for k, choice in enumerate(want_list(choices, "choices"))]


def _choice(choice: dict[str, Any], path: str) -> None:
    if choice.get("index") is not None:
        want_int(choice["index"], f"{path}.index", minimum=0)
    _optional_str(choice, "finish_reason", f"{path}.finish_reason")


def _message(message: dict[str, Any], path: str, *, streamed: bool) -> None:
    for key in _TEXT_FIELDS:
        _optional_str(message, key, f"{path}.{key}")
    calls = message.get("tool_calls")
    if calls is not None:
        for j, call in enumerate(want_list(calls, f"{path}.tool_calls")):
            _tool_call(want_object(call, f"{path}.tool_calls[{j}]"), f"{path}.tool_calls[{j}]", streamed=streamed)
    blocks = message.get("thinking_blocks")
    if blocks is not None:
        for j, block in enumerate(want_list(blocks, f"{path}.thinking_blocks")):
            want_object(block, f"{path}.thinking_blocks[{j}]")


def _tool_call(call: dict[str, Any], path: str, *, streamed: bool) -> None:
    if streamed:  # the index says which call a fragment belongs to
        want_int(call.get("index"), f"{path}.index", minimum=0)
    for key in ("id", "type"):
        _optional_str(call, key, f"{path}.{key}")
    function = call.get("function")
    if function is None:
        if not streamed:
            raise TranslationError(f"{path}.function", "is required")
        return
    function = want_object(function, f"{path}.function")
    for key in ("name", "arguments"):
        _optional_str(function, key, f"{path}.function.{key}")


def _optional_str(obj: dict[str, Any], key: str, path: str) -> None:
    """A string or null (or absent)."""
    value = obj.get(key)
    if value is not None and type(value) is not str:
        want_str(value, path)
