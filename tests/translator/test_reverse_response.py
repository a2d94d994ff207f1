"""openai_to_anthropic.response: chat.completion -> Anthropic Message (issue 14). Every message is checked
against `anthropic.types.Message` with no key the type lacks."""

from __future__ import annotations

from typing import Any

import pytest

from protoshift.translator import TranslationError, openai_to_anthropic
from tests.oracles import validate_anthropic_message_closed, validate_completion


def completion(message: dict[str, Any], finish: str | None = "stop", **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-abc123",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-4.1",
        "choices": [
            {"index": 0, "message": {"role": "assistant", **message}, "logprobs": None, "finish_reason": finish}
        ],
        "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25},
        **extra,
    }


def translate(body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    if body.get("choices") and body["choices"][0]["finish_reason"] is not None:
        validate_completion(body)  # the inputs are real completions (the lenient ones aside)
    message = openai_to_anthropic.response(body, **kwargs)
    validate_anthropic_message_closed(message)
    return message


def test_text_answer() -> None:
    message = translate(completion({"content": "Paris.", "refusal": None}))
    assert message == {
        "id": "msg_abc123",
        "type": "message",
        "role": "assistant",
        "model": "gpt-4.1",
        "content": [{"type": "text", "text": "Paris."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 20,
            "output_tokens": 5,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def test_tool_calls_become_tool_use_blocks_with_parsed_input_after_the_text() -> None:
    message = translate(
        completion(
            {
                "content": "Let me check.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    },
                    {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": ""}},
                ],
            },
            "tool_calls",
        )
    )
    assert message["content"] == [
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "call_2", "name": "get_time", "input": {}},
    ]
    assert message["stop_reason"] == "tool_use"


def test_a_provider_that_says_stop_with_tool_calls_still_stops_for_tool_use() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    assert translate(completion({"content": None, "tool_calls": [call]}, "stop"))["stop_reason"] == "tool_use"


def test_arguments_that_are_not_a_json_object_are_an_error_naming_the_call() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": '{"a": '}}
    with pytest.raises(TranslationError) as info:
        openai_to_anthropic.response(completion({"content": None, "tool_calls": [call]}, "tool_calls"))
    assert info.value.path == "choices[0].message.tool_calls[0].function.arguments"
    assert "not valid JSON" in info.value.reason
    call["function"]["arguments"] = "[1, 2]"
    with pytest.raises(TranslationError, match="must be a JSON object, got an array"):
        openai_to_anthropic.response(completion({"content": None, "tool_calls": [call]}, "tool_calls"))


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_becomes_a_thinking_block_first(field: str) -> None:
    body = completion({"content": "4"})
    body["choices"][0]["message"][field] = "2+2 is 4."
    message = openai_to_anthropic.response(body)
    validate_anthropic_message_closed(message)
    assert message["content"] == [
        {"type": "thinking", "thinking": "2+2 is 4.", "signature": ""},
        {"type": "text", "text": "4"},
    ]


@pytest.mark.parametrize(
    ("finish", "stop"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "end_turn"),  # with no call in it: nothing for the client to run
        ("function_call", "end_turn"),
        ("content_filter", "refusal"),
        (None, "end_turn"),
        ("something_new", "end_turn"),
    ],
)
def test_every_finish_reason(finish: str | None, stop: str) -> None:
    body = completion({"content": "x"}, finish)
    message = openai_to_anthropic.response(body)
    validate_anthropic_message_closed(message)
    assert message["stop_reason"] == stop


def test_a_refusal_is_text_with_stop_reason_refusal() -> None:
    message = translate(completion({"content": None, "refusal": "I can't help with that."}))
    assert message["content"] == [{"type": "text", "text": "I can't help with that."}]
    assert message["stop_reason"] == "refusal"


def test_cached_prompt_tokens_are_cache_reads_not_input_and_reasoning_tokens_are_thinking() -> None:
    body = completion({"content": "x"})
    body["usage"] = {
        "prompt_tokens": 1200,
        "completion_tokens": 300,
        "total_tokens": 1500,
        "prompt_tokens_details": {"cached_tokens": 1024},
        "completion_tokens_details": {"reasoning_tokens": 256},
    }
    usage = translate(body)["usage"]
    assert usage == {
        "input_tokens": 176,
        "output_tokens": 300,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 1024,
        "output_tokens_details": {"thinking_tokens": 256},
    }


def test_deepseeks_cache_hit_tokens_count_as_cache_reads() -> None:
    body = completion({"content": "x"})
    body["usage"] = {"prompt_tokens": 100, "completion_tokens": 1, "total_tokens": 101, "prompt_cache_hit_tokens": 64,
                     "prompt_cache_miss_tokens": 36}  # fmt: skip
    usage = openai_to_anthropic.response(body)["usage"]
    assert (usage["input_tokens"], usage["cache_read_input_tokens"]) == (36, 64)


def test_an_error_body_or_no_choice_is_a_clear_error() -> None:
    with pytest.raises(TranslationError, match="error, not a completion: model not found"):
        openai_to_anthropic.response({"error": {"message": "model not found", "type": "invalid_request_error"}})
    with pytest.raises(TranslationError, match="choices: is empty"):
        openai_to_anthropic.response({**completion({"content": "x"}), "choices": []})


def test_the_request_model_stands_in_when_the_completion_names_none() -> None:
    body = completion({"content": "x"})
    body["model"] = ""
    assert openai_to_anthropic.response(body, model="llama3.2")["model"] == "llama3.2"


def test_a_call_of_a_server_tools_stand_in_is_its_failure_as_claude_says_it() -> None:
    """web_search offered to a chat model as a function: its call cannot run anywhere, so the answer is
    Claude's own for a search that failed — the client (Claude Code's WebSearch) reports the error."""
    call = {"id": "call_1", "type": "function", "function": {"name": "web_search", "arguments": '{"query": "tides"}'}}
    message = translate(
        completion({"content": None, "tool_calls": [call]}, "tool_calls"), answered_here={"web_search": "web_search"}
    )
    use, result = message["content"]
    assert use["type"] == "server_tool_use" and use["id"].startswith("srvtoolu_") and use["name"] == "web_search"
    assert use["input"] == {"query": "tides"}
    assert result == {
        "type": "web_search_tool_result",
        "tool_use_id": use["id"],
        "content": {"type": "web_search_tool_result_error", "error_code": "unavailable"},
    }
    assert message["stop_reason"] == "end_turn"  # nothing for the client to run


def test_a_client_tool_beside_a_stand_in_still_stops_for_tool_use() -> None:
    calls = [
        {"id": "call_1", "type": "function", "function": {"name": "web_fetch", "arguments": '{"url": "https://a.example"}'}},
        {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}},
    ]  # fmt: skip
    message = translate(
        completion({"content": None, "tool_calls": calls}, "tool_calls"), answered_here={"web_fetch": "web_fetch"}
    )
    assert [b["type"] for b in message["content"]] == ["server_tool_use", "web_fetch_tool_result", "tool_use"]
    assert message["content"][1]["content"]["type"] == "web_fetch_tool_result_error"
    assert message["stop_reason"] == "tool_use"
