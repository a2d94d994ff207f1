"""OpenRouter's `reasoning_details` through a Responses client on a chat upstream: the reasoning item's
`encrypted_content` carries them (reasoning_details.py's encoding, no state), and a reasoning item given
back turns into `reasoning_details` on the assistant message of the next turn, verbatim."""

from __future__ import annotations

from typing import Any

import pytest

from protoshift.translator import TranslationError, chat_to_responses, reasoning_details, responses_to_chat
from protoshift.translator.chat_to_responses import Stream
from protoshift.translator.sse import DONE
from protoshift.translator.stamps import Stamps
from tests.responses_oracles import accumulate_response_events, assert_response_stream, validate_response
from tests.translator.codex_fixtures import MODEL, call_chunk, chunk, usage_chunk

SIGNED = {"type": "reasoning.text", "text": "The user wants the weather. ", "signature": "EqQBCkgIBxAB...",
          "format": "anthropic-claude-v1", "index": 0, "id": None}  # fmt: skip
ENCRYPTED = {"type": "reasoning.encrypted", "data": "gAAAAABo0mT4...", "format": "openai-responses-v1", "index": 1,
             "id": "rs_0a1b"}  # fmt: skip
TOOL = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}
CALL = {"id": "call_w", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
INCLUDE = ["reasoning.encrypted_content"]


def request(**over: Any) -> dict[str, Any]:
    return {"model": MODEL, "input": "Weather in Paris?", "tools": [TOOL], "include": INCLUDE, **over}


def completion(message: dict[str, Any], finish: str = "tool_calls") -> dict[str, Any]:
    return {
        "id": "gen-1", "object": "chat.completion", "created": 1, "model": MODEL,
        "choices": [{"index": 0, "finish_reason": finish, "message": {"role": "assistant", **message}}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25},
    }  # fmt: skip


def answer(chat: dict[str, Any], req: dict[str, Any]) -> dict[str, Any]:
    translation = responses_to_chat.request(req)
    result = chat_to_responses.response(
        chat, request=req, tools=translation.tools, stamps=Stamps.fixed(), response_id=translation.response_id
    )
    validate_response(result)
    return result


def next_turn(output: list[dict[str, Any]], **options: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """What a Responses client sends next (the output as it came, then the call's result; or another
    question), as chat: the assistant message, and the translation's notes."""
    called = any(item["type"] == "function_call" for item in output)
    after = [{"type": "function_call_output", "call_id": "call_w", "output": "Sunny"}] if called else []
    if not called:
        after = [{"role": "user", "content": "And Rome?"}]
    given = [{"role": "user", "content": "Weather in Paris?"}, *output, *after]
    translation = responses_to_chat.request(request(input=given), **options)
    [assistant] = [m for m in translation.body["messages"] if m["role"] == "assistant"]
    return assistant, {note.path: note.action for note in translation.notes}


def test_a_whole_answer_carries_them_and_the_next_turn_gives_them_back_verbatim() -> None:
    chat = completion({"content": None, "reasoning": SIGNED["text"], "reasoning_details": [SIGNED, ENCRYPTED],
                       "tool_calls": [CALL]})  # fmt: skip
    reasoning, call = answer(chat, request())["output"]
    assert reasoning["summary"] == [{"type": "summary_text", "text": SIGNED["text"]}]
    assert reasoning["encrypted_content"].startswith(reasoning_details.PREFIX)
    assert call["call_id"] == "call_w"
    back, _ = next_turn([reasoning, call])
    assert back["reasoning_details"] == [SIGNED, ENCRYPTED]
    assert "reasoning_content" not in back  # the details hold the text: not sent twice
    assert back["tool_calls"][0]["id"] == "call_w"
    # without `include`, nothing is carried: the summary goes back as reasoning_content, as before
    plain = answer(chat, request(include=[]))["output"][0]
    assert "encrypted_content" not in plain
    back, _ = next_turn([plain, call])
    assert back["reasoning_content"] == SIGNED["text"] and "reasoning_details" not in back


def test_only_encrypted_reasoning_still_gets_an_item_to_carry_it() -> None:
    reasoning, message = answer(completion({"content": "Hi.", "reasoning_details": [ENCRYPTED]}, "stop"), request())[
        "output"
    ]
    assert reasoning["type"] == "reasoning" and reasoning["summary"][0]["text"] == ""
    assert message["content"][0]["text"] == "Hi."
    back, _ = next_turn([reasoning, message])
    assert back == {"role": "assistant", "content": "Hi.", "reasoning_details": [ENCRYPTED]}


def test_streamed_pieces_are_joined_by_index_into_the_items_encrypted_content() -> None:
    pieces = [
        {"type": "reasoning.text", "text": "The user wants ", "format": "anthropic-claude-v1", "index": 0},
        {"type": "reasoning.text", "text": "the weather. ", "format": "anthropic-claude-v1", "index": 0},
        {"type": "reasoning.text", "signature": SIGNED["signature"], "format": "anthropic-claude-v1", "index": 0},
    ]
    chunks = [
        chunk({"role": "assistant", "content": ""}),
        *[chunk({"reasoning": p.get("text"), "reasoning_details": [p]}) for p in pieces],
        chunk({"reasoning_details": [ENCRYPTED]}),  # an encrypted entry: no text, same item
        call_chunk(0, call_id="call_w", name="get_weather", arguments='{"city": "Paris"}'),
        chunk(finish="tool_calls"),
        usage_chunk(20, 9),
        DONE,
    ]
    req = request(stream=True)
    translation = responses_to_chat.request(req)
    stream = Stream(request=req, tools=translation.tools, stamps=Stamps.fixed(), response_id=translation.response_id)
    events = [event for item in chunks for event in stream.feed(item)] + stream.close()
    response = assert_response_stream(events)  # every event as the SDK's type, in the API's order
    deltas = [e["delta"] for e in events if e["type"] == "response.reasoning_summary_text.delta"]
    assert deltas == ["The user wants ", "the weather. "]
    final = accumulate_response_events(events)
    reasoning, call = (item.model_dump(exclude_none=True) for item in final.output)
    assert reasoning == response["output"][0]
    assert reasoning["summary"][0]["text"] == "The user wants the weather. "
    joined = {"type": "reasoning.text", "text": "The user wants the weather. ", "signature": SIGNED["signature"],
              "format": "anthropic-claude-v1", "index": 0}  # fmt: skip
    back, _ = next_turn([reasoning, call])
    assert back["reasoning_details"] == [joined, ENCRYPTED] and "reasoning_content" not in back


def test_a_damaged_carrier_falls_back_to_the_summary_and_says_so() -> None:
    item = {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Readable."}],
            "encrypted_content": reasoning_details.PREFIX + "!!not base64"}  # fmt: skip
    call = {"type": "function_call", "call_id": "call_w", "name": "get_weather", "arguments": "{}"}
    back, notes = next_turn([item, call])
    assert back["reasoning_content"] == "Readable." and "reasoning_details" not in back
    assert notes["input[1].encrypted_content"] == "dropped"
    # valid base64 of something that is no list of entries is damaged too
    item["encrypted_content"] = reasoning_details.PREFIX + "e30"  # {}
    back, _ = next_turn([item, call])
    assert back["reasoning_content"] == "Readable."


def test_they_go_to_no_claude_and_are_dropped_with_a_note_when_no_turn_follows() -> None:
    item = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": reasoning_details.encode([SIGNED])}
    call = {"type": "function_call", "call_id": "call_w", "name": "get_weather", "arguments": "{}"}
    # through the chat bridge to Claude: its own thinking_blocks go there; OpenRouter's list is text to it
    to_claude, _ = next_turn([item, call], signed_thinking=True)
    assert to_claude["reasoning_content"] == SIGNED["text"] and "reasoning_details" not in to_claude
    translation = responses_to_chat.request(request(input=[{"role": "user", "content": "Hi"}, item]))
    assert [m["role"] for m in translation.body["messages"]] == ["user"]
    assert {n.path for n in translation.notes} == {"input[1]"}


def test_a_stored_answer_keeps_the_carrier_its_client_did_not_ask_to_see() -> None:
    """Without `include`, the item shows no encrypted_content; `carried` (the stored copy's) gets it."""
    req = request(include=[])
    translation = responses_to_chat.request(req)
    carried: dict[str, str] = {}
    chat = completion({"content": None, "reasoning_details": [SIGNED, ENCRYPTED], "tool_calls": [CALL]})
    item = chat_to_responses.response(chat, request=req, tools=translation.tools, carried=carried)["output"][0]
    assert "encrypted_content" not in item
    assert reasoning_details.decode(carried[item["id"]]) == [SIGNED, ENCRYPTED]
    stream = Stream(request=req, tools=translation.tools, carried=(streamed := {}))
    events = [
        e for c in [chunk({"reasoning_details": [ENCRYPTED]}), chunk(finish="stop"), DONE] for e in stream.feed(c)
    ]
    item = assert_response_stream(events)["output"][0]
    assert "encrypted_content" not in item and reasoning_details.decode(streamed[item["id"]]) == [ENCRYPTED]


def test_a_carrier_holding_what_is_not_plain_json_is_refused_with_its_path() -> None:
    """What a client hands back is checked like the rest of its request: a carrier whose list nests past
    the limit (or holds a lone surrogate) is a problem naming the item's encrypted_content."""
    deep: Any = "x"
    for _ in range(196):  # readable JSON still (the parser's limit), too deep in a chat body
        deep = [deep]
    hostile = reasoning_details.encode([{"type": "reasoning.text", "text": "t", "extra": deep}])
    item = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": hostile}
    call = {"type": "function_call", "call_id": "call_w", "name": "get_weather", "arguments": "{}"}
    with pytest.raises(TranslationError) as info:
        next_turn([item, call])
    assert info.value.path.startswith("input[1].encrypted_content")
