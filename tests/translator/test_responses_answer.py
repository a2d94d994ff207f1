"""chat_to_responses.response: a chat.completion -> the `response` object of the Responses request it
answers, checked against the openai SDK's `Response` strictly; and the usage both ways."""

from __future__ import annotations

import json
from typing import Any

import pytest

from protoshift.translator import TranslationError, chat_to_responses, responses_to_chat
from protoshift.translator.chat_to_responses import FAILURE_CODES, failure, failure_code
from protoshift.translator.responses_to_chat.carry import decode_reasoning
from protoshift.translator.stamps import Stamps
from protoshift.translator.usage import chat_usage_to_responses, responses_usage_to_chat, token_counts
from protoshift.translator.wire import CHAT, RESPONSES
from tests.responses_oracles import validate_response
from tests.translator.codex_fixtures import HOSTILE_PATCH, MODEL, codex_request


def completion(message: dict[str, Any], finish: str = "stop", **top: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-9",
        "object": "chat.completion",
        "created": 1,
        "model": MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60},
        **top,
    }


def answer(chat: dict[str, Any], request: dict[str, Any] | None = None) -> dict[str, Any]:
    request = request or {"model": MODEL, "input": "hi"}
    translation = responses_to_chat.request(request)
    result = chat_to_responses.response(
        chat, request=request, tools=translation.tools, stamps=Stamps.fixed(), response_id=translation.response_id
    )
    validate_response(result)
    assert result["id"] == translation.response_id
    return result


def test_text() -> None:
    result = answer(completion({"content": "Hello!"}))
    assert result["status"] == "completed" and result["completed_at"] == 1_700_000_000
    assert result["output"] == [
        {
            "id": "msg_00000000000000000000000000000001",
            "type": "message",
            "status": "completed",
            "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": "Hello!"}],
            "role": "assistant",
        }
    ]
    assert result["usage"] == {
        "input_tokens": 50,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": 10,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 60,
    }
    assert result["model"] == MODEL and result["tool_choice"] == "auto" and result["tools"] == []
    assert result["text"] == {"format": {"type": "text"}} and result["parallel_tool_calls"] is True


def test_a_codex_turn_reasoning_text_and_every_kind_of_call() -> None:
    request = codex_request()
    chat = completion(
        {
            "reasoning_content": "Think first.",
            "content": "Running it.",
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "exec_command", "arguments": '{"cmd":"ls"}'}},
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "apply_patch", "arguments": json.dumps({"input": HOSTILE_PATCH})},
                },
                {"id": "call_3", "type": "function", "function": {"name": "multi_agent_v1__wait", "arguments": ""}},
            ],
        },
        finish="tool_calls",
        usage={
            "prompt_tokens": 900,
            "completion_tokens": 80,
            "prompt_tokens_details": {"cached_tokens": 800},
            "completion_tokens_details": {"reasoning_tokens": 30},
        },
    )
    result = answer(chat, request)
    reasoning, message, call, patch, wait = result["output"]
    assert reasoning["summary"] == [{"type": "summary_text", "text": "Think first."}]
    assert decode_reasoning(reasoning["encrypted_content"]) == ("Think first.", None, None)  # include asked for it
    assert message["content"][0]["text"] == "Running it."
    assert call == {"id": call["id"], "type": "function_call", "status": "completed", "arguments": '{"cmd":"ls"}',
                    "call_id": "call_1", "name": "exec_command"}  # fmt: skip
    assert patch == {
        "id": patch["id"],
        "type": "custom_tool_call",
        "call_id": "call_2",
        "input": HOSTILE_PATCH,
        "name": "apply_patch",
    }
    assert patch["id"].startswith("ctc_")
    assert wait["name"] == "wait" and wait["namespace"] == "multi_agent_v1" and wait["arguments"] == "{}"
    assert result["usage"]["input_tokens_details"]["cached_tokens"] == 800
    assert result["usage"]["output_tokens_details"]["reasoning_tokens"] == 30
    # the request's fields, repeated
    assert result["tools"] == request["tools"] and result["reasoning"] == {"effort": "medium", "summary": "auto"}
    assert result["prompt_cache_key"] == "019a-session-thread"


def test_no_encrypted_content_unless_asked() -> None:
    result = answer(completion({"reasoning": "hmm", "content": "x"}))
    assert "encrypted_content" not in result["output"][0]


@pytest.mark.parametrize(("finish", "reason"), [("length", "max_output_tokens"), ("content_filter", "content_filter")])
def test_incomplete(finish: str, reason: str) -> None:
    result = answer(completion({"content": "cut"}, finish=finish))
    assert result["status"] == "incomplete" and result["incomplete_details"] == {"reason": reason}
    assert result["output"][0]["status"] == "incomplete" and "completed_at" not in result


def test_refusal_and_annotations() -> None:
    result = answer(
        completion(
            {
                "content": "See the docs.",
                "annotations": [
                    {
                        "type": "url_citation",
                        "url_citation": {"start_index": 4, "end_index": 12, "title": "Docs", "url": "https://d"},
                    },
                    {"type": "file", "nope": 1},
                ],
                "refusal": "I can't do the rest.",
            }
        )
    )
    text, refusal = result["output"][0]["content"]
    assert text["annotations"] == [
        {"type": "url_citation", "start_index": 4, "end_index": 12, "title": "Docs", "url": "https://d"}
    ]
    assert refusal == {"type": "refusal", "refusal": "I can't do the rest."}


def test_odd_custom_arguments_give_the_raw_text() -> None:
    request = {"model": MODEL, "input": "x", "tools": [{"type": "custom", "name": "apply_patch"}]}
    for arguments, expected in [
        ("*** Begin Patch\nraw\n*** End Patch", "*** Begin Patch\nraw\n*** End Patch"),  # the model ignored the schema
        ('{"patch": "p"}', "p"),
        ('"just a string"', "just a string"),
        ({"input": "an object"}, "an object"),
        ('{"input": "\\ud800 lone"}', "\ufffd lone"),
    ]:
        chat = completion(
            {
                "tool_calls": [
                    {"id": "c", "type": "function", "function": {"name": "apply_patch", "arguments": arguments}}
                ]
            }
        )
        assert answer(chat, request)["output"][0]["input"] == expected


def test_the_service_tier_the_upstream_used() -> None:
    assert answer(completion({"content": "x"}, service_tier="flex"))["service_tier"] == "flex"
    assert answer(completion({"content": "x"}))["service_tier"] == "default"


@pytest.mark.parametrize(
    ("chat", "path"),
    [
        ({"error": {"message": "boom"}}, "error"),
        ({"choices": []}, "choices"),
        ({"choices": [{"message": None}]}, "choices[0].message"),
        (
            completion({"tool_calls": [{"function": {"arguments": "{}"}}]}),
            "choices[0].message.tool_calls[0].function.name",
        ),
        (
            completion({"tool_calls": [{"function": {"name": "f", "arguments": 3}}]}),
            "choices[0].message.tool_calls[0].function.arguments",
        ),
        ("nope", "$"),
    ],
)
def test_what_is_not_a_completion(chat: Any, path: str) -> None:
    with pytest.raises(TranslationError) as info:
        chat_to_responses.response(chat, request={"model": MODEL}, tools=responses_to_chat.ToolMap())
    assert info.value.path == path


# ---- usage ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("usage", [None, {}, "12", {"prompt_tokens": -1, "completion_tokens": "x"}])
def test_usage_is_always_whole(usage: Any) -> None:
    assert chat_usage_to_responses(usage) == {
        "input_tokens": 0,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": 0,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 0,
    }


def test_usage_both_ways_and_counts() -> None:
    chat = {"prompt_tokens": 100, "completion_tokens": 7, "total_tokens": 107, "prompt_cache_hit_tokens": 60}
    responses = chat_usage_to_responses(chat)
    assert responses["input_tokens_details"]["cached_tokens"] == 60  # DeepSeek's name for it
    back = responses_usage_to_chat(responses)
    assert back["prompt_tokens"] == 100 and back["prompt_tokens_details"] == {"cached_tokens": 60}
    assert token_counts(RESPONSES, responses) == token_counts(CHAT, chat) == (100, 7)


# ---- failures ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"status": 429}, "rate_limit_exceeded"),
        ({"kind": "insufficient_quota", "status": 429}, "insufficient_quota"),
        ({"status": 400, "message": "This model's maximum context length is 128000 tokens"}, "context_length_exceeded"),
        ({"kind": "invalid_request_error", "message": "bad"}, "invalid_prompt"),
        ({"status": 402}, "insufficient_quota"),
        ({"status": 529, "kind": "overloaded_error"}, "server_error"),
        ({"message": "connection reset"}, "server_error"),
        ({"kind": "context_length_exceeded"}, "context_length_exceeded"),
    ],
)
def test_failure_codes(kwargs: dict[str, Any], code: str) -> None:
    assert failure_code(**kwargs) == code
    assert code in FAILURE_CODES


def test_a_rate_limit_says_when_to_try_again() -> None:
    assert failure("Slow down.", status=429, retry_after=20) == {
        "code": "rate_limit_exceeded",
        "message": "Slow down. Please try again in 20s.",
    }
    assert failure("x", status=429, retry_after=1.5)["message"].endswith("try again in 1.5s.")
    assert failure("Please try again in 3s.", status=429, retry_after=20)["message"] == "Please try again in 3s."
    assert failure("boom", status=500, retry_after=20)["message"] == "boom"


def test_an_answer_goes_back_as_the_next_turn_s_history() -> None:
    """What the gateway stores for previous_response_id: the answer's items, sent back to the chat upstream
    as the turn they were (reasoning_content, the calls under their chat names, the patch as JSON)."""
    request = codex_request(input="Fix it.")
    translation = responses_to_chat.request(request)
    chat = completion(
        {
            "reasoning_content": "Patch, then wait.",
            "tool_calls": [
                {
                    "id": "call_p",
                    "type": "function",
                    "function": {"name": "apply_patch", "arguments": json.dumps({"input": HOSTILE_PATCH})},
                },
                {
                    "id": "call_w",
                    "type": "function",
                    "function": {"name": "multi_agent_v1__wait", "arguments": '{"id": "a"}'},
                },
            ],
        },
        finish="tool_calls",
    )
    answer_ = chat_to_responses.response(chat, request=request, tools=translation.tools)
    history = [{"role": "user", "content": "Fix it."}, *answer_["output"]]
    outputs = [
        {"type": "custom_tool_call_output", "call_id": "call_p", "output": "Success."},
        {"type": "function_call_output", "call_id": "call_w", "output": "done"},
    ]
    nxt = responses_to_chat.request(codex_request(input=outputs, previous_response_id=answer_["id"]), history=history)
    user, turn, patched, waited = nxt.body["messages"]
    assert user == {"role": "user", "content": "Fix it."}
    assert turn["reasoning_content"] == "Patch, then wait."
    patch_call, wait_call = turn["tool_calls"]
    assert patch_call["function"]["name"] == "apply_patch"
    assert json.loads(patch_call["function"]["arguments"]) == {"input": HOSTILE_PATCH}
    assert wait_call["function"] == {"name": "multi_agent_v1__wait", "arguments": '{"id": "a"}'}
    assert (patched["tool_call_id"], waited["tool_call_id"]) == ("call_p", "call_w")
    assert [n.path for n in nxt.notes if n.path.startswith("history")] == []
