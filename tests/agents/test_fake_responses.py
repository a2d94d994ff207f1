"""The fake Responses server itself, with the official `openai` SDK as its client: the event order and
objects it streams, what it refuses and in which words, the failures it scripts. Fast, in the default run:
the Codex and Agents SDK tests (marked `agents`) lean on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest

from tests.agents.fake_responses import (
    FakeResponses,
    Usage,
    calls,
    check_event,
    custom_call,
    cut,
    failed,
    function_call,
    rate_limited,
    text,
)

Start = Callable[..., FakeResponses]


def client(api: FakeResponses) -> openai.OpenAI:
    return openai.OpenAI(base_url=api.base_url, api_key=api.key, max_retries=0, timeout=30)


def test_a_text_turn_streams_in_the_api_order(responses_api: Start) -> None:
    api = responses_api([text("Hello there!", reasoning="Greet them.", usage=Usage(input_tokens=100, cached_tokens=3))])
    with client(api).responses.stream(model="gpt-5.5", input="hi") as stream:
        events = list(stream)
        final = stream.get_final_response()
    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        *["response.reasoning_summary_text.delta"] * 3,
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * 3,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert final.output_text == "Hello there!"
    assert [item.type for item in final.output] == ["reasoning", "message"]
    assert final.usage is not None
    assert final.usage.input_tokens_details.cached_tokens == 3
    assert final.usage.output_tokens_details.reasoning_tokens > 0
    assert final.usage.total_tokens == final.usage.input_tokens + final.usage.output_tokens
    assert final.model.startswith("gpt-5.5")


def test_tool_calls_stream_with_their_arguments_and_input(responses_api: Start) -> None:
    patch = "*** Begin Patch\n*** Add File: a.txt\n+a\n*** End Patch\n"
    script = [calls(function_call("exec_command", {"cmd": "ls"}, call_id="call_a"), custom_call("apply_patch", patch))]
    api = responses_api(script)
    with client(api).responses.stream(model="gpt-5.5", input="go") as stream:
        kinds = [e.type for e in stream]
        final = stream.get_final_response()
    assert kinds.count("response.function_call_arguments.delta") > 1
    assert "response.function_call_arguments.done" in kinds and "response.custom_tool_call_input.done" in kinds
    fn, custom = final.output
    assert fn.type == "function_call" and fn.call_id == "call_a" and fn.arguments == '{"cmd": "ls"}'
    assert custom.type == "custom_tool_call" and custom.input == patch and custom.call_id.startswith("call_")


def test_without_stream_the_response_object_comes_whole(responses_api: Start) -> None:
    api = responses_api([calls(function_call("lookup", {"q": "x"}))])
    tools: Any = [{"type": "function", "name": "lookup", "parameters": {"type": "object"}, "strict": False}]
    response = client(api).responses.create(model="gpt-5.5", input="go", tools=tools, tool_choice="required")
    assert response.status == "completed" and response.output[0].type == "function_call"
    assert response.tool_choice == "required" and response.tools[0].type == "function"


@pytest.mark.parametrize(
    ("body", "status", "param", "code"),
    [
        ({"model": "m", "input": "x", "temperatur": 1}, 400, "temperatur", "unknown_parameter"),
        ({"input": "x"}, 400, "model", "missing_required_parameter"),
        (
            {"model": "m", "input": [{"role": "user", "content": "x", "bogus": 1}]},
            400,
            "input[0].bogus",
            "unknown_parameter",
        ),
        (
            {"model": "m", "input": [{"role": "user", "content": [{"type": "input_txt", "text": "x"}]}]},
            400,
            "input[0].content[0].type",
            "invalid_value",
        ),
        (
            {"model": "m", "input": "x", "tools": [{"type": "function", "name": "two words"}]},
            400,
            "tools[0].name",
            "invalid_value",
        ),
        (
            {"model": "m", "input": "x", "tool_choice": {"type": "function", "name": "gone"}},
            400,
            "tool_choice",
            "invalid_value",
        ),
        (
            {"model": "m", "input": [{"type": "function_call_output", "call_id": "call_x", "output": "1"}]},
            400,
            "input",
            None,
        ),
        (
            {"model": "m", "input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}]},
            400,
            "input",
            None,
        ),
        (
            {
                "model": "m",
                "input": [{"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "forged"}],
            },
            400,
            "input[0].encrypted_content",
            "invalid_encrypted_content",
        ),
        (
            {"model": "m", "input": "x", "previous_response_id": "resp_unknown"},
            400,
            "previous_response_id",
            "previous_response_not_found",
        ),
    ],
)
def test_what_the_api_refuses_is_refused(
    responses_api: Start, body: dict[str, Any], status: int, param: str, code: str | None
) -> None:
    api = responses_api([text("never")])
    answer = httpx.post(f"{api.base_url}/responses", json=body, headers={"authorization": f"Bearer {api.key}"})
    assert answer.status_code == status
    error = answer.json()["error"]
    assert (error["param"], error["code"], error["type"]) == (param, code, "invalid_request_error"), error
    assert not api.turns and len(api.refusals) == 1


def test_key_and_path_are_checked(responses_api: Start) -> None:
    api = responses_api([text("never")])
    wrong = httpx.post(
        f"{api.base_url}/responses",
        json={"model": "m", "input": "x"},
        headers={"authorization": "Bearer sk-nope-123456"},
    )
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
    assert httpx.post(f"{api.base_url}/responses", json={"model": "m", "input": "x"}).status_code == 401
    lost = httpx.post(f"{api.base_url}/chat/completions", json={}, headers={"authorization": f"Bearer {api.key}"})
    assert lost.status_code == 404 and lost.json()["error"]["message"] == "Invalid URL (POST /v1/chat/completions)"


def test_codex_shaped_items_are_taken(responses_api: Start) -> None:
    """What Codex sends that the SDK's param types would not take: `null` for absent fields, web_search's
    `external_web_access`, `client_metadata` (fixtures/codex_request.json)."""
    api = responses_api([calls(function_call("f", {}), reasoning="r"), text("ok")])
    tools: Any = [{"type": "web_search", "external_web_access": True}]
    first = client(api).responses.create(model="m", input="x", extra_body={"client_metadata": {"a": "b"}}, tools=tools)
    reasoning, call = (item.model_dump(exclude_none=False) for item in first.output)
    history = [
        reasoning | {"content": None},
        call,
        {"type": "function_call_output", "call_id": call["call_id"], "output": "1"},
    ]
    second = client(api).responses.create(model="m", input=history)  # type: ignore[arg-type]
    assert second.output_text == "ok" and not api.refusals


def test_stored_responses_continue_and_can_be_read_and_deleted(responses_api: Start) -> None:
    api = responses_api([calls(function_call("f", {}, call_id="call_1")), text("done")])
    sdk = client(api)
    first = sdk.responses.create(model="m", input="x")  # store defaults to true, as in the API
    output: Any = [{"type": "function_call_output", "call_id": "call_1", "output": "42"}]
    second = sdk.responses.create(model="m", input=output, previous_response_id=first.id)
    assert second.output_text == "done" and second.previous_response_id == first.id
    assert sdk.responses.retrieve(first.id).id == first.id
    sdk.responses.delete(first.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(first.id)


def test_scripted_failures(responses_api: Start) -> None:
    api = responses_api([rate_limited(2), failed(), cut(text("cut short"), after=3)])
    sdk = client(api)
    with pytest.raises(openai.RateLimitError) as limited:
        sdk.responses.create(model="m", input="x")
    assert limited.value.response.headers["retry-after"] == "2"
    assert limited.value.code == "rate_limit_exceeded" and "try again in 2s" in limited.value.message
    kinds = [e.type for e in sdk.responses.create(model="m", input="x", stream=True)]
    assert kinds == ["response.created", "response.in_progress", "response.failed"]
    cut_short = [e.type for e in sdk.responses.create(model="m", input="x", stream=True)]
    assert cut_short == ["response.created", "response.in_progress", "response.output_item.added"]  # then EOF
    assert len(api.turns) == 3


def test_the_sdk_is_the_oracle() -> None:
    """An event the SDK would not take, or with a field it does not know, never leaves the fake."""
    good = {
        "type": "response.output_text.delta",
        "sequence_number": 0,
        "item_id": "m",
        "output_index": 0,
        "content_index": 0,
        "delta": "x",
        "logprobs": [],
    }
    assert check_event(good) == good
    with pytest.raises(AssertionError, match="does not know"):
        check_event({**good, "deltaa": "x"})
    with pytest.raises(AssertionError, match="refuses"):
        check_event({**good, "output_index": "zero"})
    with pytest.raises(AssertionError, match="event type"):
        check_event({**good, "type": "response.output_text.delta2"})
