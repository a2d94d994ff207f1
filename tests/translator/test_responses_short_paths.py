"""The Responses translation's short paths (the common case: a string input, no tools, an answer of text
alone) give what the general code gives, byte for byte: the same chat and Claude bodies, notes and problems
for any request of the short fields (hostile values among them), the same `response` object (its keys in
the same order) for any text answer to any request. The general code is the oracle: each case runs again
with the short path switched off."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protoshift.translator import TranslationError, chat_to_responses, responses_to_chat
from protoshift.translator.bridges import Shaping, bridge
from protoshift.translator.chat_to_responses import answer, common
from protoshift.translator.responses_to_chat import body
from protoshift.translator.responses_to_chat.toolmap import ToolMap
from protoshift.translator.stamps import Stamps
from protoshift.translator.wire import CHAT, MESSAGES, RESPONSES
from tests.claude_search import CLAUDE

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TEXT = st.one_of(st.text(max_size=30), st.sampled_from(["", "Say hello.", "bad \ud800 surrogate", "h\u00e9llo"]))
HOSTILE = st.one_of(st.none(), st.integers(-2, 3), st.booleans(), st.lists(st.integers(), max_size=1), TEXT)


@contextmanager
def general_paths() -> Iterator[None]:
    """The short paths off: every request and answer goes through the general code."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(body, "_SHORT_KEYS", frozenset())
        patch.setattr(answer, "_text_only", lambda message: False)
        patch.setattr(common, "_SHAPED", frozenset({"model", "input"}))  # in every request: never disjoint
        yield


def outcome(run: Callable[[], Any]) -> str:
    """What a translation gives, as bytes to compare (key order counts), or the error it raises."""
    try:
        return json.dumps(run(), default=repr)
    except TranslationError as exc:
        return f"TranslationError {exc.problems!r} {exc}"


def both(run: Callable[[], Any]) -> tuple[str, str]:
    short = outcome(run)
    with general_paths():
        return short, outcome(run)


@st.composite
def short_requests(draw: st.DrawFn) -> dict[str, Any]:
    request: dict[str, Any] = {"model": draw(st.sampled_from([CLAUDE, "gpt-4o", "o3", "bench", "", 7]))}
    request["input"] = draw(st.one_of(TEXT, TEXT, HOSTILE, st.just([{"role": "user", "content": "hi"}])))
    for key, values in (
        ("instructions", st.one_of(TEXT, HOSTILE)),
        ("max_output_tokens", st.one_of(st.integers(1, 200_000), HOSTILE)),
        ("stream", st.one_of(st.booleans(), HOSTILE)),
        ("store", st.one_of(st.booleans(), HOSTILE)),
    ):
        if draw(st.booleans()):
            request[key] = draw(values)
    return request


@SETTINGS
@given(short_requests(), st.booleans())
def test_a_short_request_translates_as_the_general_code_translates_it(request: dict[str, Any], strict: bool) -> None:
    def to_chat() -> Any:
        translation = responses_to_chat.request(request, strict=strict, stamps=Stamps.fixed())
        return translation.body, translation.notes, translation.response_id, repr(translation.tools.state())

    short, general = both(to_chat)
    assert short == general


@SETTINGS
@given(short_requests(), st.booleans(), st.sampled_from([None, "claude-haiku-4-5"]))
def test_a_short_request_reaches_claude_as_through_the_general_code(
    request: dict[str, Any], stream: bool, model: str | None
) -> None:
    def to_claude() -> Any:
        outbound = bridge(RESPONSES, MESSAGES).request(request, stream=stream, shaping=Shaping(model=model))
        return outbound.body, [str(note) for note in outbound.notes], outbound.betas, outbound.model

    short, general = both(to_claude)
    assert short == general


def test_the_short_request_is_the_one_user_message_after_the_instructions() -> None:
    request = {"model": "bench", "input": "Say hello.", "instructions": "Be brief.", "max_output_tokens": 64}
    outbound = bridge(RESPONSES, CHAT).request({**request, "stream": True}, stream=True, shaping=Shaping())
    assert outbound.body == {
        "model": "bench",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello."}],
        "max_tokens": 64,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    claude = bridge(RESPONSES, MESSAGES).request(request, stream=False, shaping=Shaping(model=CLAUDE))
    assert claude.body["system"] == [{"type": "text", "text": "Be brief."}]
    assert claude.body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Say hello."}]}]


CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
CITE = {"type": "url_citation", "url_citation": {"start_index": 0, "end_index": 1, "url": "https://x.test/"}}
# What a chat message may say besides its content (the keys `_output` reads, and one it does not).
SAID: dict[str, st.SearchStrategy[Any]] = {
    "refusal": TEXT,
    "annotations": st.sampled_from([[], [CITE], {}]),
    "tool_calls": st.sampled_from([[], [CALL]]),
    "function_call": st.just({"name": "f", "arguments": "{}"}),
    "reasoning_content": TEXT,
    "reasoning": TEXT,
    "reasoning_details": st.sampled_from([[], [{"type": "reasoning.text", "text": "r"}]]),
    "provider_specific_fields": st.sampled_from([{}, {"x": 1}]),
    "audio": st.just({"id": "a"}),
}


@st.composite
def messages_answered(draw: st.DrawFn) -> dict[str, Any]:
    """A message as Claude's answer made chat has it, or as OpenAI-compatible servers send it: some keys
    null, at most one of them saying something (else the general code takes it anyway)."""
    if draw(st.integers(0, 9)) == 0:
        return {"role": "assistant", "content": [{"type": "text", "text": "parts"}]}
    message: dict[str, Any] = {"role": "assistant", "content": draw(st.one_of(TEXT, TEXT, st.none()))}
    for key in draw(st.lists(st.sampled_from(sorted(SAID)), unique=True, max_size=4)):
        message[key] = None
    for key in draw(st.lists(st.sampled_from(sorted(SAID)), unique=True, max_size=1)):
        message[key] = draw(SAID[key])
    return message


ECHOED = st.fixed_dictionaries(
    {"model": st.just("gpt-4o"), "input": st.just("hi")},
    optional={
        "instructions": HOSTILE,
        "max_output_tokens": HOSTILE,
        "temperature": st.one_of(st.floats(0, 2), HOSTILE),
        "tool_choice": st.sampled_from(["auto", "none", {"type": "function", "name": "f"}]),
        "metadata": st.one_of(st.just({"k": "v"}), HOSTILE),
        "reasoning": st.one_of(st.just({"effort": "low", "x": 1}), HOSTILE),
        "text": st.one_of(st.just({"format": None, "verbosity": "low"}), HOSTILE),
        "service_tier": st.sampled_from(["auto", "flex", "nope", None]),
        "tools": st.one_of(st.just([{"type": "function", "name": "f"}]), HOSTILE),
        "prompt_cache_retention": st.one_of(st.just("24h"), HOSTILE),
        "truncation": st.sampled_from(["auto", "disabled", None]),
    },
)


@settings(SETTINGS, max_examples=300)
@given(messages_answered(), ECHOED, st.sampled_from(["stop", "length", "content_filter", None]))
def test_a_text_answer_is_the_response_the_general_code_makes(
    message: dict[str, Any], request: dict[str, Any], finish: str | None
) -> None:
    completion = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }

    def to_response() -> Any:
        return chat_to_responses.response(completion, request=request, tools=ToolMap(), stamps=Stamps.fixed())

    short, general = both(to_response)
    assert short == general


def test_completed_at_comes_before_the_cache_retention_the_request_gave() -> None:
    completion = {"choices": [{"message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]}
    request = {"model": "gpt-4o", "input": "hi", "prompt_cache_retention": "24h"}
    done = chat_to_responses.response(completion, request=request, tools=ToolMap(), stamps=Stamps.fixed())
    assert list(done)[-3:] == ["metadata", "completed_at", "prompt_cache_retention"]
    cut = {"choices": [{"message": {"role": "assistant", "content": "h"}, "finish_reason": "length"}]}
    incomplete = chat_to_responses.response(cut, request=request, tools=ToolMap(), stamps=Stamps.fixed())
    assert list(incomplete)[-2:] == ["metadata", "prompt_cache_retention"]
    assert incomplete["incomplete_details"] == {"reason": "max_output_tokens"}
