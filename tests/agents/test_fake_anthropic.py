"""The fake Anthropic Messages API itself (fake_anthropic.py), with the anthropic SDK as the client: real
streams, signed thinking checked on the way back, tool pairing, count_tokens, the models list, failures.
Fast: in the default run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest

from tests.agents import fake_anthropic as fa
from tests.agents.capture_claude_code import FIXTURES, expand

HELLO = [{"role": "user", "content": "Say hello."}]


@pytest.fixture
def api() -> Iterator[Any]:
    started: list[fa.FakeAnthropic] = []

    def start(script: list[fa.Turn], **options: Any) -> fa.FakeAnthropic:
        fake = fa.FakeAnthropic(script, **options).__enter__()
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.__exit__(None, None, None)
        assert not fake.broken, fake.broken[0]


def client(fake: fa.FakeAnthropic) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=fake.url, api_key=fake.key, max_retries=0, timeout=10)


def test_a_stream_with_thinking_and_parallel_tools(api: Any) -> None:
    write = fa.tool_use("Write", {"file_path": "/tmp/a.txt", "content": "a\n"}, id="toolu_a")
    bash = fa.tool_use("Bash", {"command": "echo b > b.txt"}, id="toolu_b")
    fake = api([fa.tool_uses(write, bash, thinking="Two at once."), fa.text("Both done.")])
    with client(fake).messages.stream(model="m", max_tokens=100, messages=HELLO) as stream:
        message = stream.get_final_message()
    assert [b.type for b in message.content] == ["thinking", "tool_use", "tool_use"]
    assert message.stop_reason == "tool_use" and message.usage.input_tokens > 0
    thinking, *uses = message.content
    assert thinking.type == "thinking" and thinking.signature == fake.sign("Two at once.")
    assistant = {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in message.content]}
    results = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": u.id, "content": "ok"} for u in uses]}
    answer = client(fake).messages.create(model="m", max_tokens=100,
                                          messages=[*HELLO, assistant, results])  # fmt: skip
    assert answer.content[0].type == "text" and answer.content[0].text == "Both done."
    assert len(fake.turns) == 2 and not fake.refusals


def test_thinking_must_come_back_signed_as_issued(api: Any) -> None:
    fake = api([fa.text("never")])
    forged = {"role": "assistant", "content": [{"type": "thinking", "thinking": "Hmm.", "signature": "Eqforged"},
                                               {"type": "text", "text": "Hi."}]}  # fmt: skip
    with pytest.raises(anthropic.BadRequestError, match="Invalid `signature` in `thinking` block"):
        client(fake).messages.create(model="m", max_tokens=10, messages=[*HELLO, forged, *HELLO])


def test_tool_results_must_answer_the_message_before(api: Any) -> None:
    fake = api([fa.text("never")])
    call = {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {}}]}
    with pytest.raises(anthropic.BadRequestError, match="without `tool_result` blocks immediately after: toolu_1"):
        client(fake).messages.create(model="m", max_tokens=10, messages=[*HELLO, call, *HELLO])
    stray = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_9", "content": "x"}]}
    with pytest.raises(anthropic.BadRequestError, match="unexpected `tool_use_id`"):
        client(fake).messages.create(model="m", max_tokens=10, messages=[*HELLO, call, stray])


def test_unknown_fields_betas_and_keys_are_refused(api: Any) -> None:
    fake = api([fa.text("never")])
    with pytest.raises(anthropic.BadRequestError, match=r"messages\.0\.content\.0\.bogus: Extra inputs"):
        client(fake).messages.create(model="m", max_tokens=10,
                                     messages=[{"role": "user", "content": [{"type": "text", "text": "x", "bogus": 1}]}])  # fmt: skip
    with pytest.raises(anthropic.BadRequestError, match="Unexpected value"):
        client(fake).beta.messages.create(model="m", max_tokens=10, messages=HELLO, betas=["made-up-2099-01-01"])
    with pytest.raises(anthropic.AuthenticationError, match="invalid x-api-key"):
        anthropic.Anthropic(base_url=fake.url, api_key="sk-other", max_retries=0).messages.create(
            model="m", max_tokens=10, messages=HELLO
        )
    assert not fake.turns and len(fake.refusals) == 3


def captured_requests() -> list[dict[str, Any]]:
    return [
        r
        for path in sorted(FIXTURES.glob("claude_code_*.json"))
        for r in expand(json.loads(path.read_text())["requests"])
    ]


def test_what_claude_code_sent_is_taken(api: Any) -> None:
    """Every captured request passes the fake's checks: the betas, fields and blocks Claude Code sends
    are ones the API takes (and a turn it answered is answered again the same way)."""
    captured = captured_requests()
    assert captured, "no fixtures: uv run python -m tests.agents.capture_claude_code"
    fake = api([fa.text("Again.")] * len(captured))
    for request in captured:
        headers = {k: v for k, v in request["headers"].items() if k not in ("x-api-key", "authorization")}
        headers["x-api-key"] = fake.key
        method = request["method"]
        answer = httpx.request(method, fake.url + request["path"], headers=headers,
                               json=request["body"] if method == "POST" else None, timeout=10)  # fmt: skip
        assert answer.status_code == 200, (request["scenario"], answer.text[:500])
    assert not fake.refusals


def test_count_tokens_models_and_the_front(api: Any) -> None:
    fake = api([])
    count = client(fake).messages.count_tokens(model="m", messages=HELLO)
    assert count.input_tokens == fa.estimate_tokens({"messages": HELLO})
    page = client(fake).models.list(limit=2)
    assert [m.id for m in page.data] == [m[0] for m in fa.MODELS[:2]] and page.has_more
    assert [m.id for m in client(fake).models.list(limit=1000).data] == [m[0] for m in fa.MODELS]
    assert client(fake).models.retrieve("claude-haiku-4-5-20251001").max_input_tokens == 200_000
    assert httpx.head(fake.url + "/").status_code == 200
    assert httpx.head(fake.url + "/api/hello").status_code == 200
    assert httpx.get(fake.url + "/v1/nothing").status_code == 404
    assert len(fake.counted) == 1


def test_failures(api: Any) -> None:
    fake = api([fa.rate_limited(3), fa.overloaded(), fa.cut(fa.text("cut short", chunks=4), after=4),
                fa.stream_error(fa.text("fails midway", chunks=4), after=4)])  # fmt: skip
    with pytest.raises(anthropic.RateLimitError) as caught:
        client(fake).messages.create(model="m", max_tokens=10, messages=HELLO)
    assert caught.value.response.headers["retry-after"] == "3"
    assert caught.value.response.headers["request-id"].startswith("req_")
    with pytest.raises(anthropic.APIStatusError) as overloaded:
        client(fake).messages.create(model="m", max_tokens=10, messages=HELLO)
    assert overloaded.value.status_code == 529
    with client(fake).messages.stream(model="m", max_tokens=10, messages=HELLO) as stream:
        partial = stream.get_final_message()  # the SDK reads the early close as the end
    assert partial.stop_reason is None and partial.content[0].type == "text" and partial.content[0].text == "cut"
    with (
        pytest.raises(anthropic.APIStatusError, match="Overloaded"),
        client(fake).messages.stream(model="m", max_tokens=10, messages=HELLO) as stream,
    ):
        stream.get_final_message()


def test_a_stall_with_pings_sends_them_while_silent(api: Any) -> None:
    fake = api([fa.stall(fa.text("late"), after=2, seconds=0.3, ping_every=0.1)])
    with httpx.stream("POST", fake.url + "/v1/messages", headers={"x-api-key": fake.key, "anthropic-version": "2023-06-01"},
                      json={"model": "m", "max_tokens": 10, "messages": HELLO, "stream": True}) as response:  # fmt: skip
        kinds = [line.split(": ", 1)[1] for line in response.iter_lines() if line.startswith("event: ")]
    assert kinds[:5] == ["message_start", "ping", "ping", "ping", "ping"]
    assert kinds[-1] == "message_stop"
