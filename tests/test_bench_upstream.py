"""benchmarks/serve.py's fake upstream, read by the official SDKs: the benchmark's figures for a chat-model
upstream (benchmarks/responses_e2e.py) are only worth something if what the gateways get from it is a real
Chat Completions answer and stream, and if its request log says which path each gateway called."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import openai
import pytest

from benchmarks import responses_e2e, serve

TEXT = serve.MESSAGE_OBJECT["content"][0]["text"]  # type: ignore[index]
DELTAS = "".join(f"w{i} " for i in range(serve.DELTAS))


@pytest.fixture(scope="module")
def fake() -> Iterator[str]:
    with serve.upstream() as url:
        yield url


@pytest.fixture
def chat(fake: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake + "/v1", api_key="k", max_retries=0, timeout=10)


def test_chat_answer_and_stream_are_what_the_openai_sdk_reads(chat: openai.OpenAI) -> None:
    answer = chat.chat.completions.create(model="bench-chat", messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == TEXT
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None and answer.usage.total_tokens == 19

    chunks = list(
        chat.chat.completions.create(model="bench-chat", messages=[{"role": "user", "content": "hi"}], stream=True)
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == DELTAS
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == serve.DELTAS


def test_anthropic_answer_and_stream_are_unchanged(fake: str) -> None:
    claude = anthropic.Anthropic(base_url=fake, api_key="k", max_retries=0, timeout=10)
    question: list[anthropic.types.MessageParam] = [{"role": "user", "content": "hi"}]
    message = claude.messages.create(model="claude-bench", max_tokens=64, messages=question)
    assert [block.type for block in message.content] == ["text"]
    with claude.messages.stream(model="claude-bench", max_tokens=64, messages=question) as stream:
        assert "".join(stream.text_stream) == DELTAS


def test_request_log_counts_each_path_and_responses_is_refused(fake: str, chat: openai.OpenAI) -> None:
    before = serve.upstream_paths(fake)
    with pytest.raises(openai.NotFoundError):
        chat.responses.create(model="bench-chat", input="hi")
    chat.chat.completions.create(model="bench-chat", messages=[{"role": "user", "content": "hi"}])
    after = serve.upstream_paths(fake)
    sent = {path: n - before.get(path, 0) for path, n in after.items() if n != before.get(path, 0)}
    assert sent == {"POST /v1/responses": 1, "POST /v1/chat/completions": 1, "GET /__paths": 1}


def test_count_events_counts_data_lines_not_done() -> None:
    sse = b'event: response.created\ndata: {"a": 1}\n\ndata: {"b": 2}\r\n\r\ndata: [DONE]\n\n'
    assert responses_e2e.count_events(sse) == 2
