"""`openai_to_anthropic.request` on hostile input: a TranslationError naming the JSON path, never a crash.

(Issue 9, item 4: lone surrogates, deep nesting, `thinking.type` as a list or an object, integers of
thousands of digits gave TypeError, UnicodeEncodeError, RecursionError and ValueError.)"""

from __future__ import annotations

from typing import Any

import pytest

from protoshift.translator import TranslationError, openai_to_anthropic
from protoshift.translator.checks import MAX_DEPTH, json_problem


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
        openai_to_anthropic.request(body)
    assert info.value.path.startswith(path), info.value
    assert reason in info.value.reason


def test_a_request_that_is_plain_json_still_translates() -> None:
    body = openai_to_anthropic.request(
        request(messages=[{"role": "user", "content": "😀 \U0010ffff"}], max_tokens=10**20)
    ).body
    assert body["messages"][0]["content"][0]["text"] == "😀 \U0010ffff"


# The messages are checked one by one as they are converted (the rest of the request first, whole):
# whichever path a message takes (the short one for `{"role", "content": "text"}` and for a tool
# result, or the full rules), a value that is not plain JSON is refused with the path and reason
# `json_problem` gives for the whole request, and the depth limit counts from the request's root.
BAD_VALUES = [
    pytest.param("a\ud800b", id="surrogate"),
    pytest.param(float("nan"), id="nan"),
    pytest.param(float("-inf"), id="infinity"),
    pytest.param(10**200, id="huge-int"),
    pytest.param(nested(MAX_DEPTH), id="too-deep"),
]


def _tool_turns(result: Any, call_id: Any = "call_1") -> list[Any]:
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    return [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call_id, "content": result},
    ]


MESSAGE_SHAPES = {
    "user text (short path)": lambda bad: [{"role": "user", "content": bad}],
    "assistant text (short path)": lambda bad: [
        {"role": "user", "content": "x"},
        {"role": "assistant", "content": bad},
    ],
    "tool result (short path)": _tool_turns,
    "tool call id (short path)": lambda bad: _tool_turns("ok", call_id=bad),
    "user parts": lambda bad: [{"role": "user", "content": [{"type": "text", "text": bad}]}],
    "extra key": lambda bad: [{"role": "user", "content": "x", "name": bad}],
    "not an object": lambda bad: [bad],
}


@pytest.mark.parametrize("shape", MESSAGE_SHAPES)
@pytest.mark.parametrize("bad", BAD_VALUES)
def test_messages_are_checked_as_the_whole_request_would_be(shape: str, bad: Any) -> None:
    body = request(messages=MESSAGE_SHAPES[shape](bad))
    expected = json_problem(body)
    assert expected is not None
    with pytest.raises(TranslationError) as info:
        openai_to_anthropic.request(body)
    assert (expected[0], expected[1]) in [(p.path, p.reason) for p in info.value.problems], info.value


def test_the_depth_limit_counts_from_the_request_not_the_message() -> None:
    # request -> messages -> message -> "name" -> MAX_DEPTH - 3 levels: MAX_DEPTH containers in all
    deepest = request(messages=[{"role": "user", "content": "x", "name": nested(MAX_DEPTH - 4)}])
    assert json_problem(deepest) is None
    assert any(note.path == "messages[0].name" for note in openai_to_anthropic.request(deepest).notes)
    one_more = request(messages=[{"role": "user", "content": "x", "name": nested(MAX_DEPTH - 3)}])
    expected = json_problem(one_more)
    assert expected is not None and "nested deeper" in expected[1]
    with pytest.raises(TranslationError) as info:
        openai_to_anthropic.request(one_more)
    assert [(p.path, p.reason) for p in info.value.problems] == [expected]


def test_every_bad_message_is_reported_at_once() -> None:
    body = request(messages=[{"role": "user", "content": "a\ud800"}, {"role": "user", "content": float("nan")}])
    with pytest.raises(TranslationError) as info:
        openai_to_anthropic.request(body)
    assert [p.path for p in info.value.problems][:2] == ["messages[0].content", "messages[1].content"]
