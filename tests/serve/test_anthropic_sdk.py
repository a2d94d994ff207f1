"""`protoshift serve` with the official `anthropic` SDK as its client (issue 14): Anthropic's Messages API in
front of fake OpenAI-compatible servers on 127.0.0.1 that stream real bytes, quirks included (role-only
first chunks, chunks with no choices, usage-only chunks, no [DONE], late function names, interleaved
parallel calls, ids repeated on every chunk) — and in front of a fake Anthropic, as a pass-through.

Every OpenAI body the gateway sends validates as `openai.types.chat.CompletionCreateParams`; every
message and event it gives validates as the `anthropic` types."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import anthropic
import httpx
import pytest

from tests.fakes import (
    FakeServer,
    Received,
    Reply,
    anthropic_error_reply,
    anthropic_message_reply,
    anthropic_stream_reply,
    openai_chunk,
    openai_completion,
    openai_error_reply,
    openai_stream_reply,
    openai_text_chunks,
    openai_tool_call_chunks,
    sequence,
)
from tests.oracles import (
    accumulate_anthropic_events,
    assert_anthropic_body,
    assert_anthropic_event_sequence,
    assert_openai_body,
    validate_anthropic_message_closed,
)

from .conftest import PROVIDER_KEY, SERVER_KEY, GatewayFactory, Running

USAGE = {"prompt_tokens": 21, "completion_tokens": 5}
WEATHER = {
    "name": "get_weather",
    "description": "Weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def client(running: Running, **kwargs: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=running.url, api_key=kwargs.pop("api_key", "unused"), max_retries=0, **kwargs)


def start_openai(
    gateway: GatewayFactory,
    server: FakeServer,
    *,
    config: str = "",
    flags: dict[str, Any] | None = None,
    **options: Any,
) -> Running:
    """A gateway whose backend is the OpenAI-compatible fake (a loopback URL: no key needed)."""
    gateway.monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    return gateway.start(config=config, flags={"backend": "openai", **(flags or {})}, **options)


def openai_bodies(server: FakeServer) -> list[dict[str, Any]]:
    out = []
    for received in server.requests:
        assert (received.method, received.path) == ("POST", "/v1/chat/completions")
        assert_openai_body(received.json)
        out.append(received.json)
    return out


def logged(running: Running, count: int = 1) -> list[dict[str, Any]]:
    """The request log's lines: the gateway writes one once the answer is out, so it may lag the client a little."""
    deadline = time.monotonic() + 10
    while len(entries := running.requests_logged()) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return entries


def sse_events(raw: bytes) -> list[dict[str, Any]]:
    """Anthropic SSE bytes -> events, checking the framing: `event: NAME`, `data: JSON` of that type, a blank line."""
    events = []
    assert raw.endswith(b"\n\n")
    for frame in raw.decode().split("\n\n")[:-1]:
        name, data = frame.split("\n")
        assert name.startswith("event: ") and data.startswith("data: "), frame
        event = json.loads(data[len("data: ") :])
        assert event["type"] == name[len("event: ") :]
        events.append(event)
    return events


# ---- messages.create ----------------------------------------------------------------------------------


def test_create_returns_an_anthropic_message_from_an_openai_model(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(lambda r: Reply(body=json.dumps(openai_completion("Paris.", model="llama3.2")).encode()))
    running = start_openai(gateway, server)
    message = client(running).messages.create(
        model="llama3.2",
        max_tokens=100,
        system="Be brief.",
        messages=[{"role": "user", "content": "Capital of France?"}],
    )
    validate_anthropic_message_closed(message.model_dump(exclude_unset=True))
    assert message.content[0].type == "text" and message.content[0].text == "Paris."
    assert message.stop_reason == "end_turn" and message.id.startswith("msg_")
    assert (message.usage.input_tokens, message.usage.output_tokens) == (9, 3)
    [body] = openai_bodies(server)
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Capital of France?"},
    ]
    assert body["model"] == "llama3.2" and body["max_tokens"] == 100
    [entry] = logged(running)
    assert entry["route"] == "/v1/messages" and entry["status"] == 200
    assert (entry["prompt_tokens"], entry["completion_tokens"]) == (9, 3)


def test_claude_codes_model_names_land_on_a_model_that_exists(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(lambda r: Reply(body=json.dumps(openai_completion("ok")).encode()))
    config = '[aliases]\n"claude-sonnet-4-6" = "qwen3:8b"\n"claude-*haiku*" = "openai:llama3.2:1b"\n'
    running = start_openai(gateway, server, config=config)
    sdk = client(running)
    sdk.messages.create(model="claude-sonnet-4-6", max_tokens=10, messages=[{"role": "user", "content": "a"}])
    sdk.messages.create(model="claude-haiku-4-5-20251001", max_tokens=10, messages=[{"role": "user", "content": "b"}])
    sdk.messages.create(model="claude-opus-4-1", max_tokens=10, messages=[{"role": "user", "content": "c"}])
    assert [b["model"] for b in openai_bodies(server)] == ["qwen3:8b", "llama3.2:1b", "claude-opus-4-1"]


def test_an_alias_to_the_other_backend_from_an_anthropic_gateway(gateway: GatewayFactory, upstream: Any) -> None:
    claude = upstream(lambda r: anthropic_message_reply("from claude"))
    local = upstream(lambda r: Reply(body=json.dumps(openai_completion("from local")).encode()))
    gateway.monkeypatch.setenv("OPENAI_BASE_URL", local.url + "/v1")
    running = gateway.start(claude, config='[aliases]\n"claude-*haiku*" = "openai:qwen3:8b"\n')
    sdk = client(running)
    one = sdk.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    two = sdk.messages.create(model="claude-sonnet-4-6", max_tokens=10, messages=[{"role": "user", "content": "y"}])
    assert (one.content[0].text, two.content[0].text) == ("from local", "from claude")  # type: ignore[union-attr]
    assert openai_bodies(local)[0]["model"] == "qwen3:8b"


# ---- messages.stream -------------------------------------------------------------------------------------


def test_stream_text_stream_and_final_message(gateway: GatewayFactory, upstream: Any) -> None:
    chunks = [
        openai_chunk(None, prompt_filter_results=[]),  # Azure's first chunk: no choices
        *openai_text_chunks(["Hel", "lo", " world"], usage=USAGE),
    ]
    server = upstream(lambda r: openai_stream_reply(chunks, done=False))  # no [DONE]: the finish reason ends it
    running = start_openai(gateway, server)
    with client(running).messages.stream(
        model="llama3.2", max_tokens=50, messages=[{"role": "user", "content": "Hi"}]
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert pieces == ["Hel", "lo", " world"]
    validate_anthropic_message_closed(final.model_dump(exclude_unset=True))
    assert final.content[0].text == "Hello world"  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (21, 5)
    [body] = openai_bodies(server)
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    [entry] = logged(running)
    assert entry["stream"] is True and (entry["prompt_tokens"], entry["completion_tokens"]) == (21, 5)


def test_the_stream_bytes_are_anthropics_framing_and_sequence(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(lambda r: openai_stream_reply(openai_text_chunks(["a", "b"], usage=USAGE)))
    running = start_openai(gateway, server)
    response = httpx.post(
        running.url + "/v1/messages?beta=true",  # as Claude Code calls it
        json={"model": "m", "max_tokens": 5, "stream": True, "messages": [{"role": "user", "content": "x"}]},
        headers={"anthropic-version": "2023-06-01", "x-api-key": "unused"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["request-id"].startswith("req_")
    events = sse_events(response.content)
    assert_anthropic_event_sequence(events)
    assert [e["type"] for e in events][:2] == ["message_start", "ping"]


def test_thinking_streams_as_a_thinking_block_and_goes_back_as_reasoning_content(
    gateway: GatewayFactory, upstream: Any
) -> None:
    server = upstream(
        sequence(
            openai_stream_reply(openai_text_chunks(["4"], reasoning=["2+2", " is 4."], usage=USAGE)),
            lambda r: Reply(body=json.dumps(openai_completion("6")).encode()),
        )
    )
    running = start_openai(gateway, server)
    sdk = client(running)
    ask = [{"role": "user", "content": "2+2?"}]
    with sdk.messages.stream(
        model="qwen3:8b", max_tokens=2000, messages=ask, thinking={"type": "enabled", "budget_tokens": 1024}
    ) as stream:
        first = stream.get_final_message()
    assert [b.type for b in first.content] == ["thinking", "text"]
    assert first.content[0].thinking == "2+2 is 4."  # type: ignore[union-attr]
    sdk.messages.create(
        model="qwen3:8b",
        max_tokens=2000,
        messages=[*ask, {"role": "assistant", "content": first.content}, {"role": "user", "content": "3+3?"}],
    )
    bodies = openai_bodies(server)
    assert bodies[0]["reasoning_effort"] == "low"
    assert bodies[1]["messages"][1] == {"role": "assistant", "content": "4", "reasoning_content": "2+2 is 4."}


def test_openrouter_reasoning_details_come_back_verbatim_after_a_tool_call(
    gateway: GatewayFactory, upstream: Any
) -> None:
    """OpenRouter streams `delta.reasoning_details` (Claude's signed text behind it, in pieces; an OpenAI
    model's encrypted reasoning) and wants the list back unchanged with the assistant turn: the SDK gets
    thinking blocks and hands them back, serve turns them into that list again."""
    pieces = [
        {"type": "reasoning.text", "text": "Weather: ", "format": "anthropic-claude-v1", "index": 0},
        {"type": "reasoning.text", "text": "call the tool.", "format": "anthropic-claude-v1", "index": 0},
        {"type": "reasoning.text", "signature": "EqQBCkgIBxAB-sig", "format": "anthropic-claude-v1", "index": 0},
        {"type": "reasoning.encrypted", "data": "gAAAAABo-enc", "format": "openai-responses-v1", "index": 1},
    ]
    first_turn = [
        openai_chunk({"role": "assistant", "content": ""}),
        *[openai_chunk({"reasoning": p.get("text"), "reasoning_details": [p]}) for p in pieces],
        *openai_tool_call_chunks([("call_a", "get_weather", ['{"city": "Paris"}'])]),
        openai_chunk({}, "tool_calls"),
        openai_chunk(None, usage=USAGE),
    ]
    server = upstream(
        sequence(
            openai_stream_reply(first_turn),
            lambda r: Reply(body=json.dumps(openai_completion("Sunny in Paris.")).encode()),
        )
    )
    running = start_openai(gateway, server)
    sdk = client(running)
    ask = [{"role": "user", "content": "Weather in Paris?"}]
    with sdk.messages.stream(model="anthropic/claude-sonnet-4.5", max_tokens=500, tools=[WEATHER], messages=ask) as s:
        turn = s.get_final_message()
    assert [b.type for b in turn.content] == ["thinking", "tool_use"]
    assert turn.content[0].thinking == "Weather: call the tool."  # type: ignore[union-attr]
    answer = sdk.messages.create(
        model="anthropic/claude-sonnet-4.5",
        max_tokens=500,
        tools=[WEATHER],
        messages=[
            *ask,
            {"role": "assistant", "content": turn.content},  # as the SDK gave it, signature included
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_a", "content": "sunny"}]},
        ],
    )
    assert answer.content[0].text == "Sunny in Paris."  # type: ignore[union-attr]
    given_back = openai_bodies(server)[1]["messages"][1]
    assert given_back["reasoning_details"] == [
        {"type": "reasoning.text", "text": "Weather: call the tool.", "signature": "EqQBCkgIBxAB-sig",
         "format": "anthropic-claude-v1", "index": 0},
        pieces[3],
    ]  # fmt: skip
    assert given_back["tool_calls"][0]["id"] == "call_a" and "reasoning_content" not in given_back


# ---- tools, over two turns, with parallel calls ------------------------------------------------------------


@pytest.mark.parametrize(
    "quirks",
    [{}, {"interleave": True}, {"name_late": True, "repeat_id": True}],
    ids=["in-order", "interleaved", "late-name-repeated-id"],
)
def test_tool_use_over_two_turns_with_parallel_calls(
    gateway: GatewayFactory, upstream: Any, quirks: dict[str, bool]
) -> None:
    calls = [("call_a", "get_weather", ['{"city"', ': "Paris"}']), ("call_b", "get_weather", ['{"ci', 'ty": "Rome"}'])]
    first_turn = [
        openai_chunk({"role": "assistant", "content": "Checking."}),
        *openai_tool_call_chunks(calls, **quirks),
        openai_chunk({}, "tool_calls"),
        openai_chunk(None, usage=USAGE),
    ]
    server = upstream(
        sequence(
            openai_stream_reply(first_turn),
            lambda r: Reply(body=json.dumps(openai_completion("Sunny in Paris, rain in Rome.")).encode()),
        )
    )
    running = start_openai(gateway, server)
    sdk = client(running)
    ask = [{"role": "user", "content": "Weather in Paris and Rome?"}]
    with sdk.messages.stream(model="qwen3:8b", max_tokens=500, tools=[WEATHER], messages=ask) as stream:
        turn = stream.get_final_message()
    assert turn.stop_reason == "tool_use"
    tools = [b for b in turn.content if b.type == "tool_use"]
    assert [(t.id, t.name, t.input) for t in tools] == [
        ("call_a", "get_weather", {"city": "Paris"}),
        ("call_b", "get_weather", {"city": "Rome"}),
    ]
    results = [{"type": "tool_result", "tool_use_id": t.id, "content": "sunny" if t.id == "call_a" else "rain"}
               for t in tools]  # fmt: skip
    answer = sdk.messages.create(
        model="qwen3:8b",
        max_tokens=500,
        tools=[WEATHER],
        messages=[*ask, {"role": "assistant", "content": turn.content}, {"role": "user", "content": results}],
    )
    assert answer.content[0].text == "Sunny in Paris, rain in Rome."  # type: ignore[union-attr]
    second = openai_bodies(server)[1]["messages"]
    assert second[1]["tool_calls"] == [
        {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
        {"id": "call_b", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}},
    ]
    assert second[2:] == [
        {"role": "tool", "tool_call_id": "call_a", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_b", "content": "rain"},
    ]


def test_parallel_calls_stream_argument_fragments_as_they_arrive(gateway: GatewayFactory, upstream: Any) -> None:
    calls = [("call_a", "f", ['{"x"', ": 1}"]), ("call_b", "g", ['{"y"', ": 2}"])]
    chunks = [openai_chunk({"role": "assistant"}), *openai_tool_call_chunks(calls), openai_chunk({}, "tool_calls")]
    server = upstream(lambda r: openai_stream_reply(chunks))
    running = start_openai(gateway, server)
    response = httpx.post(
        running.url + "/v1/messages",
        json={"model": "m", "max_tokens": 5, "stream": True, "messages": [{"role": "user", "content": "x"}]},
        headers={"anthropic-version": "2023-06-01"},
    )
    events = sse_events(response.content)
    assert_anthropic_event_sequence(events)
    deltas = [(e["index"], e["delta"]["partial_json"]) for e in events if e["type"] == "content_block_delta"]
    assert deltas == [(0, '{"x"'), (0, ": 1}"), (1, '{"y"'), (1, ": 2}")]
    message = accumulate_anthropic_events(events)
    assert [b.input for b in message.content] == [{"x": 1}, {"y": 2}]  # type: ignore[union-attr]


# ---- count_tokens --------------------------------------------------------------------------------------


def test_count_tokens_estimates_for_an_openai_backend_and_says_so(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(lambda r: Reply(status=404, body=b'{"detail": "Not Found"}'))  # Ollama, LM Studio: no /tokenize
    running = start_openai(gateway, server)
    for _ in range(2):
        raw = client(running).messages.with_raw_response.count_tokens(
            model="llama3.2", messages=[{"role": "user", "content": "word " * 200}]
        )
        assert raw.headers["x-protoshift-token-count"] == "estimate"
        assert 200 < raw.parse().input_tokens < 300
    assert [r.path for r in server.requests] == ["/tokenize"]  # asked once: it has none


def test_a_burst_of_counts_asks_a_server_without_tokenize_once(gateway: GatewayFactory, upstream: Any) -> None:
    """Claude Code's /context sends 24 count_tokens at once: while the first finds out whether the server has
    /tokenize, the others wait for its answer instead of each asking (and each being refused) too."""
    server = upstream(lambda r: Reply(status=404, body=b'{"detail": "Not Found"}', delay=0.3))
    running = start_openai(gateway, server)
    body = {"model": "llama3.2", "messages": [{"role": "user", "content": "word " * 50}]}

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=running.url, trust_env=False) as http:
            return await asyncio.gather(*[
                http.post("/v1/messages/count_tokens", json=body, headers={"anthropic-version": "2023-06-01"})
                for _ in range(8)
            ])  # fmt: skip

    answers = asyncio.run(burst())
    assert [a.status_code for a in answers] == [200] * 8
    assert {a.headers["x-protoshift-token-count"] for a in answers} == {"estimate"}
    assert [r.path for r in server.requests] == ["/tokenize"]


def test_count_tokens_is_exact_where_the_server_tokenizes(gateway: GatewayFactory, upstream: Any) -> None:
    """vLLM's /tokenize renders messages and tools through the model's template: the system prompt and
    the tools count, as Claude Code's compaction needs them to."""
    server = upstream(lambda r: Reply(body=json.dumps({"count": 4321, "max_model_len": 32768, "tokens": []}).encode()))
    running = start_openai(gateway, server)
    raw = client(running).messages.with_raw_response.count_tokens(
        model="qwen3-coder", system="You are terse.", tools=[WEATHER], messages=[{"role": "user", "content": "Hi"}]
    )
    assert raw.headers["x-protoshift-token-count"] == "exact" and raw.parse().input_tokens == 4321
    [asked] = server.requests
    assert (asked.method, asked.path) == ("POST", "/tokenize")
    assert asked.json["model"] == "qwen3-coder" and asked.json["add_generation_prompt"] is True
    assert asked.json["messages"][0] == {"role": "system", "content": "You are terse."}
    assert asked.json["tools"][0]["function"]["name"] == "get_weather"


def test_count_tokens_is_exact_through_an_anthropic_backend(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(lambda r: Reply(body=b'{"input_tokens": 1234}'))
    running = gateway.start(server)
    raw = client(running).messages.with_raw_response.count_tokens(
        model="claude-sonnet-4-6", messages=[{"role": "user", "content": "Hi"}], system="Be brief."
    )
    assert raw.parse().input_tokens == 1234 and raw.headers["x-protoshift-token-count"] == "exact"
    [received] = server.requests
    assert received.path == "/v1/messages/count_tokens" and received.headers["x-api-key"] == PROVIDER_KEY
    assert received.json == {
        "model": "claude-sonnet-4-6",
        "messages": [{"role": "user", "content": "Hi"}],
        "system": "Be brief.",
    }


# ---- the pass-through ----------------------------------------------------------------------------------------


def test_an_anthropic_backend_passes_requests_and_events_through(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(sequence(anthropic_message_reply("Hi!"), anthropic_stream_reply(texts=["A", "B"])))
    running = gateway.start(server)
    sdk = client(running, default_headers={"anthropic-beta": "interleaved-thinking-2025-05-14"})
    body = {"model": "claude-sonnet-4-6", "max_tokens": 20, "messages": [{"role": "user", "content": "Hi"}],
            "metadata": {"user_id": "u-1"}}  # fmt: skip
    extra = {"top_k": 5}  # the SDK has no top_k any more; the API still takes it on these models
    assert sdk.messages.create(**body, extra_body=extra).content[0].text == "Hi!"  # type: ignore[union-attr]
    with sdk.messages.stream(**body, extra_body=extra) as stream:
        assert "".join(stream.text_stream) == "AB"
    first, second = server.requests
    assert first.json == {**body, **extra} and second.json == {**body, **extra, "stream": True}  # no translation
    assert_anthropic_body({k: v for k, v in first.json.items() if k != "top_k"})
    assert first.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert first.headers["x-api-key"] == PROVIDER_KEY


# ---- failures, read through the SDK's exception types ------------------------------------------------------


def test_an_upstream_429_is_a_rate_limit_error_with_its_retry_after(gateway: GatewayFactory, upstream: Any) -> None:
    reply = openai_error_reply(429, "slow down", "rate_limit_exceeded")
    reply.headers["retry-after"] = "7"
    server = upstream(lambda r: reply)
    running = start_openai(gateway, server)
    with pytest.raises(anthropic.RateLimitError) as info:
        client(running).messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert info.value.response.headers["retry-after"] == "7"
    body = info.value.body
    assert isinstance(body, dict) and body["type"] == "error" and body["error"]["type"] == "rate_limit_error"


def test_an_upstream_500_before_the_stream_is_an_internal_server_error(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(lambda r: openai_error_reply(500, "model crashed"))
    running = start_openai(gateway, server)
    with (
        pytest.raises(anthropic.InternalServerError, match="model crashed"),
        client(running).messages.stream(model="m", max_tokens=5, messages=[{"role": "user", "content": "x"}]) as stream,
    ):
        stream.get_final_message()


def test_a_failure_mid_stream_is_an_error_event_the_sdk_raises(gateway: GatewayFactory, upstream: Any) -> None:
    chunks = [
        openai_chunk({"role": "assistant", "content": "partial"}),
        {"error": {"message": "GPU fell over", "type": "server_error"}},
    ]
    server = upstream(lambda r: openai_stream_reply(chunks, done=False))
    running = start_openai(gateway, server)
    seen: list[str] = []
    with (
        pytest.raises(anthropic.APIStatusError, match="GPU fell over"),
        client(running).messages.stream(model="m", max_tokens=5, messages=[{"role": "user", "content": "x"}]) as stream,
    ):
        seen.extend(stream.text_stream)
    assert seen == ["partial"]


def test_a_request_that_cannot_be_translated_is_a_400_naming_every_field(
    gateway: GatewayFactory, upstream: Any
) -> None:
    server = upstream(lambda r: Reply(status=500))
    running = start_openai(gateway, server)
    with pytest.raises(anthropic.BadRequestError) as info:
        client(running).messages.create(
            model="m",
            max_tokens=5,
            messages=[{"role": "user", "content": [{"type": "image", "source": {"type": "file", "file_id": "f"}}]}],
            tools=[{"name": "t", "input_schema": "not a schema"}],  # type: ignore[typeddict-item]
        )
    body = info.value.body
    assert isinstance(body, dict) and body["error"]["type"] == "invalid_request_error"
    message = body["error"]["message"]
    assert "messages[0].content[0].source.type" in message and "tools[0].input_schema" in message
    assert server.requests == []


def test_an_open_circuit_is_a_529_overloaded_error_with_retry_after(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(lambda r: openai_error_reply(503, "down"))
    running = start_openai(gateway, server, flags={"no_breaker": False})
    sdk = client(running)
    errors = []
    for _ in range(6):
        try:
            sdk.messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "x"}])
        except anthropic.APIStatusError as exc:
            errors.append(exc)
    assert isinstance(errors[-1], anthropic.OverloadedError)
    assert errors[-1].status_code == 529 and int(errors[-1].response.headers["retry-after"]) > 0
    assert len(server.requests) == 5  # the breaker opened after 5 failures: the 6th was not sent


def test_keys_are_checked_as_for_the_openai_side(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(lambda r: Reply(body=json.dumps(openai_completion("ok")).encode()))
    gateway.monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    running = gateway.start(flags={"backend": "openai"}, keys=[SERVER_KEY])
    ask = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    assert client(running, api_key=SERVER_KEY).messages.create(**ask).content[0].text == "ok"  # type: ignore[union-attr]
    with pytest.raises(anthropic.AuthenticationError) as info:
        client(running, api_key="wrong").messages.create(**ask)
    assert info.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]


def test_upstream_auth_failure_is_no_fault_of_the_client(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(lambda r: anthropic_error_reply(401, "authentication_error", "invalid x-api-key"))
    running = gateway.start(server)
    with pytest.raises(anthropic.InternalServerError) as info:
        client(running).messages.create(model="claude-x", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 502 and info.value.response.headers["x-should-retry"] == "false"


# ---- models -------------------------------------------------------------------------------------------------


def test_models_in_anthropics_shape_when_asked_with_anthropic_version(gateway: GatewayFactory, upstream: Any) -> None:
    def answer(request: Received) -> Reply:
        data = [
            {"id": f"model-{k}", "object": "model", "created": 1_700_000_000 + k, "owned_by": "me"} for k in range(3)
        ]
        return Reply(body=json.dumps({"object": "list", "data": data}).encode())

    server = upstream(answer)
    running = start_openai(gateway, server, config='[aliases]\n"claude-sonnet-4-6" = "model-0"\n')
    listed = list(client(running).models.list(limit=2))
    assert [m.id for m in listed] == ["model-0", "model-1", "model-2", "claude-sonnet-4-6"]
    assert listed[0].type == "model" and listed[0].created_at.year == 2023
    assert client(running).models.retrieve("model-1").id == "model-1"
    with pytest.raises(anthropic.NotFoundError):
        client(running).models.retrieve("nope")
    openai_shape = httpx.get(running.url + "/v1/models").json()
    assert openai_shape["object"] == "list" and openai_shape["data"][0]["object"] == "model"


def test_the_model_list_claude_code_reads_has_the_aliases_and_their_limits(
    gateway: GatewayFactory, upstream: Any
) -> None:
    """Claude Code's `/model` picker asks `GET /v1/models?limit=1000` and keeps ids starting with claude;
    it sizes its context (and compacts) by the model's limits: the table's, or the config's."""
    data = [{"id": "qwen3-coder", "object": "model", "created": 1_700_000_000, "owned_by": "ollama"}]
    server = upstream(lambda r: Reply(body=json.dumps({"object": "list", "data": data}).encode()))
    config = (
        '[aliases]\n"claude-sonnet-4-6" = "qwen3-coder"\n"claude-haiku-4-5" = "gpt-4.1-mini"\n'
        '[models."qwen3-coder"]\ncontext_window = 262144\nmax_output = 65536\n'
    )
    running = start_openai(gateway, server, config=config)
    raw = httpx.get(
        running.url + "/v1/models", params={"limit": 1000}, headers={"anthropic-version": "2023-06-01"}
    ).json()
    for entry in raw["data"]:
        anthropic.types.ModelInfo.model_validate(entry)  # every field the SDK's type requires, lifecycle too
    by_id = {entry["id"]: entry for entry in raw["data"]}
    assert (by_id["claude-sonnet-4-6"]["max_input_tokens"], by_id["claude-sonnet-4-6"]["max_tokens"]) == (262144, 65536)
    assert (by_id["claude-haiku-4-5"]["max_input_tokens"], by_id["claude-haiku-4-5"]["max_tokens"]) == (
        1_047_576,
        32_768,
    )
    assert by_id["qwen3-coder"]["max_input_tokens"] == 262144


def test_a_silent_upstream_mid_stream_gets_pings(gateway: GatewayFactory, upstream: Any) -> None:
    """A chat upstream that goes quiet (a model thinking, reading a long prompt): the client still hears
    `event: ping` every ping_every seconds, as from Anthropic, so Claude Code's stall watchdog holds."""
    chunks = openai_text_chunks(["Hel", "lo"], usage=USAGE)
    server = upstream(lambda r: openai_stream_reply(chunks, event_delay=0.6))
    running = start_openai(gateway, server, ping_every=0.1)
    body = {"model": "m", "max_tokens": 10, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    answer = httpx.post(
        running.url + "/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"}, timeout=30
    )
    events = sse_events(answer.content)
    kinds = [e["type"] for e in events]
    assert "ping" in kinds[1:], kinds
    assert kinds[-1] == "message_stop"
    assert_anthropic_event_sequence([e for e in events if e["type"] != "ping"])


def test_web_search_on_a_chat_model_is_a_search_that_failed_never_an_empty_success(
    gateway: GatewayFactory, upstream: Any
) -> None:
    """Claude Code's WebSearch asks with only Anthropic's web search tool. A chat model has none: it is
    offered a function of that name, and its call comes back as Claude's answer to a search that could
    not run (server_tool_use, then web_search_tool_result with error_code unavailable): Claude Code
    reports the error to the model, instead of reading the model's guess as the search's results."""
    chunks = [
        openai_chunk({"role": "assistant", "content": ""}),
        *openai_tool_call_chunks([("call_1", "web_search", ['{"query": ', '"tide times"}'])]),
        openai_chunk({}, finish="tool_calls"),
    ]
    server = upstream(lambda r: openai_stream_reply(chunks))
    running = start_openai(gateway, server)
    with client(running).messages.stream(
        model="qwen3-coder",
        max_tokens=1000,
        messages=[{"role": "user", "content": "Perform a web search for the query: tide times"}],
        tools=[{"type": "web_search_20250305", "name": "web_search", "max_uses": 8}],
    ) as stream:
        message = stream.get_final_message()
    validate_anthropic_message_closed(message.model_dump(exclude_unset=True))
    use, result = message.content
    assert use.type == "server_tool_use" and use.input == {"query": "tide times"}
    assert result.type == "web_search_tool_result" and result.tool_use_id == use.id
    assert result.content.type == "web_search_tool_result_error" and result.content.error_code == "unavailable"
    assert message.stop_reason == "end_turn"
    [body] = openai_bodies(server)
    assert body["tools"][0]["function"]["name"] == "web_search"
