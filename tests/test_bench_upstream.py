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


def _figures(litellm_cpu: list[float], errors: int = 0) -> serve.Figures:
    """Figures as responses_e2e.run leaves them: protoshift at 1,000 µs a request in every round."""
    figures = serve.Figures(rounds=len(litellm_cpu), clients=responses_e2e.CLIENTS)
    for upstream in responses_e2e.UPSTREAMS:
        for label, _, body in responses_e2e.kinds(upstream):
            for name, cpu in ((responses_e2e.protoshift_name(upstream), [1000.0] * len(litellm_cpu)),
                              (responses_e2e.LITELLM, litellm_cpu)):  # fmt: skip
                figures.sustained[f"{name} {label}"] = {
                    "rps": 1.0, "errors": errors if name == responses_e2e.LITELLM else 0,
                    "cpu_us": sorted(cpu)[len(cpu) // 2], "rounds_cpu_us": cpu,
                }  # fmt: skip
                if body.get("stream"):
                    figures.stream_events[f"{name} {label}"] = 28 if name == responses_e2e.LITELLM else 14
    return figures


def test_verdict_reads_the_worst_round_ratio_per_upstream_and_kind() -> None:
    lines = responses_e2e.text(_figures([12_000.0, 30_000.0, 30_000.0]))
    verdicts = [line for line in lines if "target (issue 20)" in line]
    assert len(verdicts) == 6  # 2 upstreams x (json, stream, stream event)
    assert all("-> MET" in line for line in verdicts if "per request" in line)
    # LiteLLM sends twice the events: per event its CPU is 15x protoshift's, still >= 10x
    assert all("worst 15.0x" in line and "-> MET" in line for line in verdicts if "stream event" in line)
    assert lines[-1].endswith("MET (worst 15.0x, anthropic hello stream)")


def test_verdict_misses_below_10x_and_with_failed_requests() -> None:
    below = responses_e2e.text(_figures([9_000.0, 9_500.0, 40_000.0]))
    assert "issue 20, end to end through each gateway's /v1/responses: MISSED (worst" in below[-1]
    failed = responses_e2e.text(_figures([50_000.0] * 3, errors=3))
    assert any("3 errors" in line for line in failed)
    assert "MISSED" in failed[-1]
