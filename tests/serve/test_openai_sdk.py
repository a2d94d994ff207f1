"""`protoshift serve` with the official OpenAI Python SDK as its client, in front of a fake Anthropic
on 127.0.0.1: what a program written against OpenAI gets, unchanged, with Claude behind it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import openai
import pytest

from tests.fakes import (
    Received,
    Reply,
    anthropic_error_reply,
    anthropic_message,
    anthropic_message_reply,
    anthropic_stream_reply,
    sequence,
)
from tests.oracles import assert_anthropic_body

from .conftest import PROVIDER_KEY, GatewayFactory

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def client(base_url: str, **kwargs: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key=kwargs.pop("api_key", "unused"), max_retries=0, **kwargs)


def bodies(server: Any) -> list[dict[str, Any]]:
    out = []
    for received in server.requests:
        assert (received.method, received.path) == ("POST", "/v1/messages")
        assert received.headers["x-api-key"] == PROVIDER_KEY
        assert_anthropic_body(received.json)
        out.append(received.json)
    return out


def test_create_returns_a_chat_completion(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(lambda r: anthropic_message_reply("Paris.", usage={"input_tokens": 12, "output_tokens": 3}))
    running = gateway.start(server)
    answer = client(running.base_url).chat.completions.create(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "Capital of France?"}], max_tokens=50
    )
    assert answer.choices[0].message.content == "Paris."
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None and (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (12, 3)
    body = bodies(server)[0]
    assert body["model"] == "claude-sonnet-4-5" and body["max_tokens"] == 50
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Capital of France?"}]}]
    [entry] = running.wait_logged(1)
    assert entry["status"] == 200 and entry["prompt_tokens"] == 12 and entry["completion_tokens"] == 3
    assert "Capital" not in json.dumps(entry), "no prompt in the log unless --log-bodies"


def test_stream_gives_chunks_and_usage_when_asked(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(lambda r: anthropic_stream_reply(texts=["Hel", "lo", "!"]))
    running = gateway.start(server)
    sdk = client(running.base_url)
    stream = sdk.chat.completions.create(
        model="claude-sonnet-4-5",
        messages=[{"role": "user", "content": "Hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello!"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 7
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    # without include_usage: no usage chunk and no usage keys, as OpenAI sends it; the log still counts tokens
    plain = list(sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hi"}], stream=True))
    assert all(c.choices for c in plain) and all(c.usage is None for c in plain)
    assert running.wait_logged(2)[-1]["completion_tokens"] == 7


def test_the_stream_bytes_are_openai_framing(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(lambda r: anthropic_stream_reply(texts=["a", "b"]))
    running = gateway.start(server)
    raw = client(running.base_url).chat.completions.with_raw_response.create(
        model="m", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert raw.headers["x-request-id"].startswith("req_")
    data = raw.http_response.read()
    frames = data.split(b"\n\n")
    assert frames[-2:] == [b"data: [DONE]", b""]
    for frame in frames[:-2]:
        assert frame.startswith(b"data: {") and b"\n" not in frame
        openai.types.chat.ChatCompletionChunk.model_validate_json(frame[len(b"data: ") :])


def test_tools_over_two_turns(gateway: GatewayFactory, upstream: Any) -> None:
    call = {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}
    server = upstream(
        sequence(
            anthropic_message_reply([call], stop_reason="tool_use"),
            anthropic_message_reply("It is sunny in Paris."),
        )
    )
    running = gateway.start(server)
    sdk = client(running.base_url)
    messages: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
    first = sdk.chat.completions.create(model="m", messages=messages, tools=[WEATHER_TOOL])
    assert first.choices[0].finish_reason == "tool_calls"
    tool_call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert tool_call.id == "toolu_01" and json.loads(tool_call.function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]
    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": "toolu_01", "content": "sunny"},
    ]
    second = sdk.chat.completions.create(model="m", messages=messages, tools=[WEATHER_TOOL])
    assert second.choices[0].message.content == "It is sunny in Paris."
    sent = bodies(server)[1]
    assert sent["messages"][1]["content"][0]["type"] == "tool_use"
    assert sent["messages"][2]["content"][0] == {"type": "tool_result", "tool_use_id": "toolu_01", "content": "sunny"}


def test_async_client_streams_and_completes(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(
        lambda r: anthropic_stream_reply(texts=["x", "y"]) if r.json.get("stream") else anthropic_message_reply("z")
    )
    running = gateway.start(server)

    async def main() -> tuple[str, str]:
        sdk = openai.AsyncOpenAI(base_url=running.base_url, api_key="unused", max_retries=0)
        done = await sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": "a"}])
        stream = await sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": "b"}], stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        await sdk.close()
        return done.choices[0].message.content or "", text

    assert asyncio.run(main()) == ("z", "xy")


def test_models_list_has_the_backends_models_and_the_aliases(gateway: GatewayFactory, upstream: Any) -> None:
    def respond(received: Received) -> Reply:
        assert (received.method, received.path) == ("GET", "/v1/models?limit=1000")
        models = [
            {"type": "model", "id": "claude-sonnet-4-5", "display_name": "S", "created_at": "2025-09-29T00:00:00Z"}
        ]
        return Reply(body=json.dumps({"data": models, "has_more": False, "first_id": "a", "last_id": "a"}).encode())

    running = gateway.start(
        upstream(respond), config='[aliases]\n"gpt-4o" = "claude-sonnet-4-5"\n"gpt-*" = "claude-haiku-4-5"\n'
    )
    sdk = client(running.base_url)
    listed = {m.id: m.owned_by for m in sdk.models.list()}
    assert listed == {"claude-sonnet-4-5": "anthropic", "gpt-4o": "protoshift-alias"}
    assert sdk.models.retrieve("gpt-4o").id == "gpt-4o"
    with pytest.raises(openai.NotFoundError):
        sdk.models.retrieve("nope")


def test_aliases_send_a_model_that_exists(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(lambda r: anthropic_message_reply("ok"))
    running = gateway.start(
        server, config='[aliases]\n"gpt-4o" = "claude-sonnet-4-5"\n"gpt-4o-*" = "claude-haiku-4-5"\n'
    )
    sdk = client(running.base_url)
    for asked in ("gpt-4o", "gpt-4o-mini", "claude-opus-4-1"):
        sdk.chat.completions.create(model=asked, messages=[{"role": "user", "content": "hi"}])
    assert [b["model"] for b in bodies(server)] == ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"]


def test_errors_come_back_as_the_sdks_exception_types(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(
        sequence(
            anthropic_error_reply(400, "invalid_request_error", "prompt is too long"),
            anthropic_error_reply(429, "rate_limit_error", "slow down", {"retry-after": "7"}),
            anthropic_error_reply(529, "overloaded_error", "Overloaded"),
            anthropic_error_reply(401, "authentication_error", "invalid x-api-key"),
        )
    )
    running = gateway.start(server)
    sdk = client(running.base_url)
    ask: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(openai.BadRequestError) as bad:
        sdk.chat.completions.create(**ask)
    assert "prompt is too long" in bad.value.message
    with pytest.raises(openai.RateLimitError) as limited:
        sdk.chat.completions.create(**ask)
    assert limited.value.response.headers["retry-after"] == "7"
    with pytest.raises(openai.InternalServerError) as overloaded:
        sdk.chat.completions.create(**ask)
    assert overloaded.value.status_code == 529
    with pytest.raises(openai.InternalServerError) as refused:
        sdk.chat.completions.create(**ask)
    assert refused.value.status_code == 502 and refused.value.response.headers["x-should-retry"] == "false"
    assert PROVIDER_KEY not in refused.value.response.text


def test_a_request_that_cannot_be_translated_is_a_400_naming_the_field(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(lambda r: anthropic_message_reply("never"))
    running = gateway.start(server)
    with pytest.raises(openai.BadRequestError) as info:
        client(running.base_url).chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], n=3)
    assert info.value.param == "n"  # type: ignore[attr-defined]
    assert isinstance(info.value.body, dict) and info.value.body["param"] == "n"
    assert server.requests == []


def test_a_stream_cut_midway_ends_with_an_error_event(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(
        lambda r: anthropic_stream_reply(
            texts=["a", "b", "c"], error={"type": "overloaded_error", "message": "Overloaded"}
        )
    )
    running = gateway.start(server)
    stream = client(running.base_url).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    received = []
    with pytest.raises(openai.APIError) as info:
        for chunk in stream:
            received.append(chunk)
    assert "".join(c.choices[0].delta.content or "" for c in received) == "abc"
    assert "overloaded" in str(info.value).lower()


def test_assistant_answers_validate_as_completions(gateway: GatewayFactory, upstream: Any) -> None:
    thinking = {"type": "thinking", "thinking": "hmm", "signature": "sig"}
    message = anthropic_message([thinking, {"type": "text", "text": "42"}])
    server = upstream(lambda r: Reply(body=json.dumps(message).encode()))
    running = gateway.start(server)
    raw = client(running.base_url).chat.completions.with_raw_response.create(
        model="m", messages=[{"role": "user", "content": "?"}], reasoning_effort="low"
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "42"
    assert json.loads(raw.http_response.text)["choices"][0]["message"]["reasoning_content"] == "hmm"
    assert bodies(server)[0]["thinking"]["type"] == "enabled"


def test_log_bodies_puts_prompts_and_answers_in_the_log(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(lambda r: anthropic_message_reply("the answer"))
    running = gateway.start(server, log_bodies=True)
    client(running.base_url).chat.completions.create(model="m", messages=[{"role": "user", "content": "the question"}])
    [entry] = running.wait_logged(1)
    assert entry["request"]["messages"][0]["content"] == "the question"
    assert entry["response"]["choices"][0]["message"]["content"] == "the answer"
    assert PROVIDER_KEY not in running.log_path.read_text()


def test_a_json_answer_says_its_length(gateway: GatewayFactory, upstream: Any) -> None:
    """A whole answer is sent with its content-length (no chunked framing), errors included."""
    running = gateway.start(upstream(lambda r: anthropic_message_reply("hi")))
    ok = httpx.post(
        running.base_url + "/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "Hi"}]}
    )
    bad = httpx.post(running.base_url + "/chat/completions", json={"model": "m", "messages": []})
    for answer in (ok, bad):
        assert answer.headers["content-length"] == str(len(answer.content))
        assert "transfer-encoding" not in answer.headers
    assert ok.status_code == 200 and bad.status_code == 400
