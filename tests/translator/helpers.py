"""Small builders for OpenAI requests and a `translate` that checks every body against the SDK oracle."""

from __future__ import annotations

from typing import Any

import pytest

from protoshift.translator import Note, RequestTranslation, TranslationError, openai_to_anthropic
from tests.oracles import assert_anthropic_body

MODEL = "claude-sonnet-4-5"


def req(*messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": list(messages), **fields}


def system(content: Any) -> dict[str, Any]:
    return {"role": "system", "content": content}


def developer(content: Any) -> dict[str, Any]:
    return {"role": "developer", "content": content}


def user(content: Any, **extra: Any) -> dict[str, Any]:
    return {"role": "user", "content": content, **extra}


def assistant(content: Any = None, **extra: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content, **extra}


def call(call_id: str, name: str = "get_weather", arguments: str = '{"city": "Paris"}') -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def tool(call_id: str, content: Any = "sunny") -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def text(value: str, **extra: Any) -> dict[str, Any]:
    return {"type": "text", "text": value, **extra}


def image(url: str, **extra: Any) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url, **extra}}


def fn_tool(name: str = "get_weather", **function: Any) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, **function}}


def translate(request: Any, **kwargs: Any) -> RequestTranslation:
    """openai_to_anthropic.request, and the body it gives must be one the Anthropic API takes."""
    result = openai_to_anthropic.request(request, **kwargs)
    assert_anthropic_body(result.body, result.betas)
    return result


def refused(request: Any, path: str, *reason_parts: str, **kwargs: Any) -> TranslationError:
    """openai_to_anthropic.request must refuse `request`, naming `path` (in .path and first in the message)."""
    with pytest.raises(TranslationError) as info:
        openai_to_anthropic.request(request, **kwargs)
    err = info.value
    assert err.path == path, f"expected path {path!r}, got {err.path!r} ({err})"
    assert str(err).startswith(f"{path}: "), str(err)
    assert err.reason and "\n" not in str(err), "reason must be one line"
    for part in reason_parts:
        assert part.lower() in err.reason.lower(), f"{part!r} not in reason {err.reason!r}"
    return err


def notes_at(result: RequestTranslation, path: str) -> list[Note]:
    return [n for n in result.notes if n.path == path]


def one_note(result: RequestTranslation, path: str, action: str) -> Note:
    found = notes_at(result, path)
    assert [n.action for n in found] == [action], f"notes at {path}: {found} (all: {result.notes})"
    return found[0]
