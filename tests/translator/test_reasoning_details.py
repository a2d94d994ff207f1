"""OpenRouter's `reasoning_details` through an Anthropic client: a thinking block whose signature carries
them, given back verbatim on the assistant message of the next turn (translator/reasoning_details.py)."""

from __future__ import annotations

from typing import Any

from protoshift.translator import anthropic_to_openai, openai_to_anthropic, reasoning_details
from protoshift.translator.sse import DONE
from tests.fakes import openai_chunk
from tests.oracles import (
    accumulate_anthropic_events,
    assert_anthropic_event_sequence,
    assert_openai_body,
    validate_anthropic_message_closed,
)

# What OpenRouter answers for Claude behind it (signed text) and for an OpenAI model (encrypted)
SIGNED = {"type": "reasoning.text", "text": "The user wants the weather. ", "signature": "EqQBCkgIBxAB...",
          "format": "anthropic-claude-v1", "index": 0, "id": None}  # fmt: skip
ENCRYPTED = {"type": "reasoning.encrypted", "data": "gAAAAABo0mT4...", "format": "openai-responses-v1", "index": 1,
             "id": "rs_0a1b"}  # fmt: skip
CALL = {"id": "call_w", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}


def next_turn(content: list[dict[str, Any]]) -> dict[str, Any]:
    """The request an Anthropic client sends next: the answer as it came, then the call's result (or more)."""
    called = any(block["type"] == "tool_use" for block in content)
    after = [{"type": "tool_result", "tool_use_id": "call_w", "content": "Sunny"}] if called else "And Rome?"
    request = {
        "model": "anthropic/claude-sonnet-4.5",
        "max_tokens": 512,
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": content},
            {"role": "user", "content": after},
        ],
    }
    body = anthropic_to_openai.request(request).body
    assert_openai_body(body)
    return body["messages"][1]  # type: ignore[no-any-return]


def test_an_answer_with_reasoning_details_gives_them_back_verbatim_after_the_tool_call() -> None:
    completion = {
        "id": "gen-1", "object": "chat.completion", "created": 1, "model": "anthropic/claude-sonnet-4.5",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": None, "reasoning": SIGNED["text"], "reasoning_details": [SIGNED, ENCRYPTED],
            "tool_calls": [CALL]}}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25},
    }  # fmt: skip
    message = openai_to_anthropic.response(completion)
    validate_anthropic_message_closed(message)
    thinking, use = message["content"]
    assert thinking["type"] == "thinking" and thinking["thinking"] == SIGNED["text"]
    assert thinking["signature"].startswith(reasoning_details.PREFIX)
    assert use["type"] == "tool_use" and use["id"] == "call_w"
    back = next_turn(message["content"])
    assert back["reasoning_details"] == [SIGNED, ENCRYPTED]
    assert "reasoning_content" not in back  # the details hold it: not sent twice
    assert back["tool_calls"][0]["id"] == "call_w"


def test_only_encrypted_reasoning_still_gets_a_thinking_block_to_carry_it() -> None:
    completion = {
        "id": "gen-2", "object": "chat.completion", "created": 1, "model": "openai/gpt-5",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "Hi.", "reasoning_details": [ENCRYPTED]}}],
    }  # fmt: skip
    message = openai_to_anthropic.response(completion)
    assert [(b["type"], b.get("thinking")) for b in message["content"]] == [("thinking", ""), ("text", None)]
    assert next_turn(message["content"])["reasoning_details"] == [ENCRYPTED]


def test_streamed_pieces_are_joined_by_index_and_carried_in_a_signature_delta() -> None:
    pieces = [
        {"type": "reasoning.text", "text": "The user wants ", "format": "anthropic-claude-v1", "index": 0},
        {"type": "reasoning.text", "text": "the weather. ", "format": "anthropic-claude-v1", "index": 0},
        {"type": "reasoning.text", "signature": SIGNED["signature"], "format": "anthropic-claude-v1", "index": 0},
    ]
    chunks = [
        openai_chunk({"role": "assistant", "content": ""}),
        *[openai_chunk({"reasoning": p.get("text"), "reasoning_details": [p]}) for p in pieces],
        openai_chunk({"content": "Checking."}),
        openai_chunk({"reasoning_details": [ENCRYPTED]}),  # an OpenAI model's, after the text
        openai_chunk({"tool_calls": [{"index": 0, **CALL}]}),
        openai_chunk({}, "tool_calls"),
        openai_chunk(None, usage={"prompt_tokens": 20, "completion_tokens": 9}),
        DONE,
    ]
    stream = openai_to_anthropic.Stream(model="anthropic/claude-sonnet-4.5")
    events = [event for chunk in chunks for event in stream.feed(chunk)] + stream.close()
    assert_anthropic_event_sequence(events)
    signatures = [e["delta"]["signature"] for e in events if e["type"] == "content_block_delta"
                  and e["delta"]["type"] == "signature_delta"]  # fmt: skip
    assert len(signatures) == 2  # the first thinking block's, then the one the late encrypted piece opened
    message = accumulate_anthropic_events(events).model_dump(exclude_none=True)
    content = message["content"]
    assert [b["type"] for b in content] == ["thinking", "text", "thinking", "tool_use"]
    assert content[0]["thinking"] == "The user wants the weather. " and content[2]["thinking"] == ""
    joined = {"type": "reasoning.text", "text": "The user wants the weather. ", "signature": SIGNED["signature"],
              "format": "anthropic-claude-v1", "index": 0}  # fmt: skip
    assert next_turn(content)["reasoning_details"] == [joined, ENCRYPTED]


def test_thinking_without_carried_details_still_goes_back_as_reasoning_content() -> None:
    back = next_turn([
        {"type": "thinking", "thinking": "Plain.", "signature": ""},
        {"type": "tool_use", "id": "call_w", "name": "get_weather", "input": {"city": "Paris"}},
    ])  # fmt: skip
    assert back["reasoning_content"] == "Plain." and "reasoning_details" not in back
    # a damaged carrier is not one: the text goes back the old way
    broken = [{"type": "thinking", "thinking": "T", "signature": reasoning_details.PREFIX + "!!"},
              {"type": "tool_use", "id": "call_w", "name": "get_weather", "input": {}}]  # fmt: skip
    assert next_turn(broken)["reasoning_content"] == "T"


def test_merge_joins_pieces_of_one_entry_and_keeps_others_apart() -> None:
    into: list[dict[str, Any]] = []
    assert reasoning_details.merge(into, [{"type": "reasoning.summary", "summary": "a", "index": 0}]) == "a"
    assert reasoning_details.merge(into, [{"type": "reasoning.summary", "summary": "b", "index": 0}]) == "b"
    reasoning_details.merge(into, [{"type": "reasoning.encrypted", "data": "x", "index": 0}])  # another type
    reasoning_details.merge(into, [{"type": "reasoning.text", "text": "t"}])  # no index: an entry of its own
    assert into == [
        {"type": "reasoning.summary", "summary": "ab", "index": 0},
        {"type": "reasoning.encrypted", "data": "x", "index": 0},
        {"type": "reasoning.text", "text": "t"},
    ]
    assert reasoning_details.decode(reasoning_details.encode(into)) == into
    assert reasoning_details.decode("EqQBCkgIBxAB") is None and reasoning_details.decode(None) is None
