"""The strict OpenAI-compatible fakes themselves (fake_chat.py), with the openai SDK as the client: each
kind answers what it should and refuses what its real counterpart refuses. Fast: in the default run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.agents.fake_chat import FakeChat, call, count_tokens, cut, rate_limited, text, tool_calls

USER = "u"
HELLO = [{"role": "user", "content": "Say hello."}]


@pytest.fixture
def upstream() -> Iterator[Any]:
    started: list[FakeChat] = []

    def start(kind: str, script: list[Any] | None = None, **changes: Any) -> FakeChat:
        fake = FakeChat(kind, script if script is not None else [text("Hello.")], **changes)
        started.append(fake.__enter__())
        return fake

    yield start
    for fake in started:
        fake.__exit__(None, None, None)
        assert not fake.broken, fake.broken[0]


def client(fake: FakeChat) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.base_url, api_key=fake.key or "unused", max_retries=0, timeout=10)


def refused(fake: FakeChat, status: int = 400, **request: Any) -> str:
    with pytest.raises(openai.APIStatusError) as caught:
        client(fake).chat.completions.create(**{"model": fake.model, "messages": HELLO, **request})
    assert caught.value.status_code == status, caught.value
    assert not fake.turns
    return str(caught.value.body["message"] if isinstance(caught.value.body, dict) else caught.value.body)


@pytest.mark.parametrize("kind", ["ollama", "openai", "vllm", "llamacpp", "reasoning"])
def test_each_kind_answers_a_plain_request_streamed_and_not(upstream: Any, kind: str) -> None:
    fake = upstream(kind, [text("Hello there."), text("Again.")])
    answer = client(fake).chat.completions.create(model=fake.model, messages=HELLO)
    assert answer.choices[0].message.content == "Hello there."
    stream = client(fake).chat.completions.create(
        model=fake.model, messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Again."
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == count_tokens(HELLO)
    assert not fake.refusals


def test_ollama_refuses_thinking_for_a_model_that_does_not_reason(upstream: Any) -> None:
    fake = upstream("ollama")
    said = refused(fake, reasoning_effort="high")
    assert said == '"qwen3-coder:30b" does not support thinking'
    said = refused(fake, extra_body={"think": True})
    assert said == '"qwen3-coder:30b" does not support thinking'
    client(fake).chat.completions.create(model=fake.model, messages=HELLO, reasoning_effort="none")  # off: taken


def test_ollama_takes_thinking_for_a_model_that_reasons(upstream: Any) -> None:
    fake = upstream("ollama", thinks=True)
    client(fake).chat.completions.create(model=fake.model, messages=HELLO, extra_body={"think": True})
    assert not fake.refusals


@pytest.mark.parametrize("kind", ["ollama", "vllm", "llamacpp"])
def test_the_chat_template_wants_the_system_message_first(upstream: Any, kind: str) -> None:
    fake = upstream(kind)
    late = [*HELLO, {"role": "system", "content": "Available agent types: ..."}]
    assert refused(fake, messages=late).endswith("System message must be at the beginning.")
    fine = [{"role": "system", "content": "Be brief."}, *HELLO]
    client(fake).chat.completions.create(model=fake.model, messages=fine)  # first: taken


def test_openai_refuses_a_long_user_unknown_fields_and_missing_keys(upstream: Any) -> None:
    fake = upstream("openai")
    said = refused(fake, user="x" * 150)
    assert said == (
        "Invalid 'user': string too long. Expected a string with maximum length 64, but got a string with "
        "length 150 instead."
    )
    assert refused(fake, extra_body={"context_management": {}}) == (
        "Unrecognized request argument supplied: context_management"
    )
    assert "not supported with this model" in refused(fake, reasoning_effort="high")
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=fake.base_url, api_key="sk-wrong", max_retries=0).chat.completions.create(
            model=fake.model, messages=HELLO
        )
    client(fake).chat.completions.create(model=fake.model, messages=HELLO, user="x" * 64)


def test_openai_reasoning_models_refuse_max_tokens_and_temperature(upstream: Any) -> None:
    fake = upstream("openai", model="gpt-5.5", thinks=True)
    assert "Use 'max_completion_tokens' instead" in refused(fake, max_tokens=100)
    assert "Only the default (1) value is supported" in refused(fake, temperature=0.2)
    client(fake).chat.completions.create(
        model=fake.model, messages=HELLO, max_completion_tokens=100, reasoning_effort="high"
    )


def test_openai_checks_tool_names_strict_schemas_and_pairing(upstream: Any) -> None:
    fake = upstream("openai")
    loose = {"type": "object", "properties": {"file_path": {"type": "string"}, "content": {"type": "string"}}}
    tool = {"type": "function", "function": {"name": "Write", "parameters": loose, "strict": True}}
    said = refused(fake, tools=[tool])
    assert "'additionalProperties' is required to be supplied and to be false" in said
    tool["function"]["parameters"] = {**loose, "additionalProperties": False, "required": ["file_path"]}
    assert "Missing 'content'" in refused(fake, tools=[tool])
    bad_name = {"type": "function", "function": {"name": "mcp.server/tool", "parameters": loose}}
    assert "does not match pattern" in refused(fake, tools=[bad_name])
    orphan = [*HELLO, {"role": "tool", "tool_call_id": "call_1", "content": "done"}]
    assert "must be a response to a preceeding message with 'tool_calls'" in refused(fake, messages=orphan)
    unanswered = [*HELLO, {"role": "assistant", "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "Write", "arguments": "{}"}}]}]  # fmt: skip
    assert "did not have response messages: call_1" in refused(fake, messages=unanswered)


def test_openai_may_limit_descriptions(upstream: Any) -> None:
    fake = upstream("openai", description_max=1024)
    long = {"type": "function", "function": {"name": "Agent", "description": "x" * 3310, "parameters": {}}}
    assert "maximum length 1024, but got a string with length 3310" in refused(fake, tools=[long])


def test_the_reasoning_upstream_wants_its_reasoning_back_after_tool_calls(upstream: Any) -> None:
    fake = upstream("reasoning", [tool_calls(call("Bash", {"command": "ls"}), reasoning="List first."),
                                  text("Done."), text("Done again.")])  # fmt: skip
    first = client(fake).chat.completions.create(model=fake.model, messages=HELLO)
    message = first.choices[0].message
    assert message.model_extra and message.model_extra["reasoning_content"] == "List first."
    [tool_call] = message.tool_calls or []
    assistant: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [tool_call.model_dump()]}
    result = {"role": "tool", "tool_call_id": tool_call.id, "content": "a.txt"}
    with pytest.raises(openai.BadRequestError, match="must be passed back to the API"):
        client(fake).chat.completions.create(model=fake.model, messages=[*HELLO, assistant, result])
    assistant["reasoning_content"] = "List first."
    answer = client(fake).chat.completions.create(model=fake.model, messages=[*HELLO, assistant, result])
    assert answer.choices[0].message.content == "Done."
    # every answer reasons, streamed too
    stream = list(client(fake).chat.completions.create(model=fake.model, messages=HELLO, stream=True))
    assert "".join((c.choices[0].delta.model_extra or {}).get("reasoning_content", "") for c in stream if c.choices)


def test_tokenize_in_vllm_and_llamacpp_formats(upstream: Any) -> None:
    vllm = upstream("vllm")
    tools = [{"type": "function", "function": {"name": "Write", "parameters": {"type": "object"}}}]
    answer = httpx.post(f"{vllm.url}/tokenize", json={"model": vllm.model, "messages": HELLO, "tools": tools}).json()
    assert set(answer) == {"count", "max_model_len", "tokens", "token_strs"}
    assert answer["count"] == len(answer["tokens"]) == count_tokens(HELLO, tools)
    assert httpx.post(f"{vllm.url}/tokenize", json={"prompt": "Hello world"}).json()["count"] == 3
    llamacpp = upstream("llamacpp")
    assert httpx.post(f"{llamacpp.url}/tokenize", json={"content": "Hello world"}).json() == {
        "tokens": httpx.post(f"{vllm.url}/tokenize", json={"prompt": "Hello world"}).json()["tokens"]
    }
    pieces = httpx.post(f"{llamacpp.url}/tokenize", json={"content": "Hi!", "with_pieces": True}).json()["tokens"]
    assert [p["piece"] for p in pieces] == ["Hi", "!"]
    assert httpx.post(f"{upstream('ollama').url}/tokenize", json={"content": "x"}).status_code == 404


def test_models_and_failures(upstream: Any) -> None:
    fake = upstream("vllm", [rate_limited(2), cut(text("A longer answer, cut.", chunks=5), after=3)])
    [model] = client(fake).models.list().data
    assert model.id == fake.model and model.model_extra == {"max_model_len": 32768}
    with pytest.raises(openai.RateLimitError) as caught:
        client(fake).chat.completions.create(model=fake.model, messages=HELLO)
    assert caught.value.response.headers["retry-after"] == "2"
    # the SDK reads a stream closed early as its end: what it got has no finish_reason
    chunks = list(client(fake).chat.completions.create(model=fake.model, messages=HELLO, stream=True))
    assert len(chunks) == 3 and not any(c.choices[0].finish_reason for c in chunks)


def test_a_body_the_sdk_types_refuse_is_refused_and_flagged(upstream: Any) -> None:
    fake = upstream("vllm")
    bad = [{"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]}]
    refused(fake, messages=bad)
    assert fake.refusals[0].oracle
