"""`translate_request` on hostile input: a TranslationError naming the JSON path, never a crash.

(Issue 9, item 4: lone surrogates, deep nesting, `thinking.type` as a list or an object, integers of
thousands of digits gave TypeError, UnicodeEncodeError, RecursionError and ValueError.)"""

from __future__ import annotations

from typing import Any

import pytest

from protoshift.translator import TranslationError, translate_request


def request(**fields: Any) -> dict[str, Any]:
    return {"model": "claude-test", "messages": [{"role": "user", "content": "hi"}], **fields}


def nested(levels: int) -> Any:
    value: Any = {}
    for _ in range(levels):
        value = {"x": value}
    return value


CALL = {"id": "call\ud800", "type": "function", "function": {"name": "f", "arguments": "{}"}}


@pytest.mark.parametrize(
    ("body", "path", "reason"),
    [
        (request(messages=[{"role": "user", "content": "a\ud800b"}]), "messages[0].content", "lone surrogate"),
        (
            request(messages=[{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [CALL]}]),
            "messages[1].tool_calls[0].id",
            "lone surrogate",
        ),
        (request(thinking={"type": ["enabled"]}), "thinking.type", "expected"),
        (request(thinking={"type": {"enabled": True}}), "thinking.type", "expected"),
        (request(max_tokens=10**5000), "max_tokens", "more than 100 digits"),
        (request(max_tokens=-(10**5000)), "max_tokens", "more than 100 digits"),
        (request(temperature=float("nan")), "temperature", "NaN"),
        (request(metadata={"a": float("inf")}), "metadata.a", "Infinity"),
        (
            request(tools=[{"type": "function", "function": {"name": "f", "parameters": nested(100_000)}}]),
            "tools[0].function.parameters.x",
            "nested deeper than 200 levels",
        ),
    ],
)
def test_hostile_values_are_a_translation_error_with_their_path(body: dict[str, Any], path: str, reason: str) -> None:
    with pytest.raises(TranslationError) as info:
        translate_request(body)
    assert info.value.path.startswith(path), info.value
    assert reason in info.value.reason


def test_a_request_that_is_plain_json_still_translates() -> None:
    body = translate_request(request(messages=[{"role": "user", "content": "😀 \U0010ffff"}], max_tokens=10**20)).body
    assert body["messages"][0]["content"][0]["text"] == "😀 \U0010ffff"
