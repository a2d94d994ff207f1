"""Client keys through `protoshift serve` (one gateway, this machine's keys: the SQLite file), with the
official SDKs as clients: a request over a limit is the SDK's RateLimitError with the headers its users
read, every answer to a limited key carries them, a model the key may not use is a 403, a budget is a soft
cap at its figure, a token limit holds within one request's tokens, and every answer says the time
protoshift itself took (`x-protoshift-overhead-ms`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from protoshift.gateway.clients.records import ClientKey, digest, new_secret
from protoshift.gateway.clients.sqlite import FILENAME, SQLiteKeys
from tests.fakes import Received, Reply, anthropic_message_reply, anthropic_stream_reply

from .conftest import SERVER_KEY, GatewayFactory, Running

CHAT = {"model": "claude-sonnet-5-5", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 20}


def add_key(store_dir: Path, name: str, **limits: Any) -> str:
    """A key in the store `serve` reads (as `protoshift keys add` puts it); its secret."""
    secret = new_secret()

    async def add() -> None:
        store = SQLiteKeys(store_dir / FILENAME)
        assert await store.add(ClientKey(name, digest(secret), **limits))
        await store.aclose()

    asyncio.run(add())
    return secret


def remove_key(store_dir: Path, name: str) -> None:
    async def remove() -> None:
        store = SQLiteKeys(store_dir / FILENAME)
        assert await store.remove(name)
        await store.aclose()

    asyncio.run(remove())


def start(gateway: GatewayFactory, server: Any, tmp_path: Path, **options: Any) -> Running:
    return gateway.start(server, store_dir=tmp_path / "data", **options)


def oai(running: Running, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=running.base_url, api_key=key, max_retries=0)


def claude(running: Running, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=running.url, api_key=key, max_retries=0)


def answering(usage: dict[str, int] | None = None) -> Any:
    usage = usage or {"input_tokens": 12, "output_tokens": 3}

    def respond(received: Received) -> Reply:
        if received.path.endswith("/count_tokens"):
            return Reply(body=b'{"input_tokens": 7}')
        if received.json.get("stream"):
            return anthropic_stream_reply()
        return anthropic_message_reply("ok", usage=usage)

    return respond


def test_the_openai_sdk_sees_a_limit_as_rate_limit_error_with_the_headers(
    gateway: GatewayFactory, upstream: Any, tmp_path: Path
) -> None:
    running = start(gateway, upstream(answering()), tmp_path)
    key = add_key(tmp_path / "data", "alice", rpm=2, tpm=100_000)
    sdk = oai(running, key)
    for left in (1, 0):
        raw = sdk.chat.completions.with_raw_response.create(**CHAT)
        assert raw.parse().choices[0].message.content == "ok"
        assert raw.headers["x-ratelimit-limit-requests"] == "2" and raw.headers[
            "x-ratelimit-remaining-requests"
        ] == str(left)
        assert (
            raw.headers["x-ratelimit-reset-requests"].endswith("s")
            and raw.headers["x-ratelimit-limit-tokens"] == "100000"
        )
        assert int(raw.headers["x-ratelimit-remaining-tokens"]) < 100_000
    for call in (
        lambda: sdk.chat.completions.create(**CHAT),
        lambda: sdk.responses.create(model="claude-sonnet-5-5", input="hi"),
    ):
        with pytest.raises(openai.RateLimitError) as caught:
            call()
        headers = caught.value.response.headers
        assert headers["x-ratelimit-remaining-requests"] == "0" and 1 <= int(headers["retry-after"]) <= 30
        assert 0 < int(headers["retry-after-ms"]) <= 30_000 and float(headers["x-protoshift-overhead-ms"]) >= 0
        assert caught.value.code == "rate_limit_exceeded" and "Please try again in" in caught.value.message
        assert "requests per min (RPM): Limit 2" in caught.value.message
    entries = running.wait_logged(4)
    assert sorted(entry["status"] for entry in entries) == [200, 200, 429, 429]  # each written once answered
    assert all(entry["key"] == "alice" for entry in entries) and key not in running.log_path.read_text()


def test_the_anthropic_sdk_sees_a_limit_as_rate_limit_error_with_the_headers(
    gateway: GatewayFactory, upstream: Any, tmp_path: Path
) -> None:
    running = start(gateway, upstream(answering()), tmp_path)
    key = add_key(tmp_path / "data", "bob", rpm=1, tpm=5000)
    sdk = claude(running, key)
    raw = sdk.messages.with_raw_response.create(**CHAT)  # type: ignore[arg-type]
    assert raw.parse().content[0].text == "ok"  # type: ignore[union-attr]
    assert raw.headers["anthropic-ratelimit-requests-limit"] == "1"
    assert raw.headers["anthropic-ratelimit-requests-remaining"] == "0"
    reset = dt.datetime.fromisoformat(raw.headers["anthropic-ratelimit-requests-reset"])  # RFC 3339
    assert 0 < (reset - dt.datetime.now(dt.UTC)).total_seconds() <= 61
    assert raw.headers["anthropic-ratelimit-tokens-limit"] == "5000" and "x-ratelimit-limit-requests" not in raw.headers
    with pytest.raises(anthropic.RateLimitError) as caught:
        sdk.messages.create(**CHAT)  # type: ignore[arg-type]
    headers = caught.value.response.headers
    assert headers["anthropic-ratelimit-requests-remaining"] == "0" and int(headers["retry-after"]) >= 1
    assert caught.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    # count_tokens spends nothing: a key at its limit may still count
    assert sdk.messages.count_tokens(model="claude-sonnet-5-5", messages=CHAT["messages"]).input_tokens > 0  # type: ignore[arg-type]


def test_a_model_is_checked_after_the_aliases(gateway: GatewayFactory, upstream: Any, tmp_path: Path) -> None:
    running = start(gateway, upstream(answering()), tmp_path, config='[aliases]\nfast = "claude-haiku-4-5"\n')
    key = add_key(tmp_path / "data", "haiku-only", models=("claude-haiku-*",))
    assert oai(running, key).chat.completions.create(**{**CHAT, "model": "fast"}).choices[0].message.content == "ok"
    with pytest.raises(openai.PermissionDeniedError) as caught:
        oai(running, key).chat.completions.create(**CHAT)
    assert caught.value.code == "model_not_allowed" and "claude-sonnet-5-5" in caught.value.message
    with pytest.raises(anthropic.PermissionDeniedError):
        claude(running, key).messages.create(**CHAT)  # type: ignore[arg-type]


def test_client_keys_beside_server_keys(gateway: GatewayFactory, upstream: Any, tmp_path: Path) -> None:
    running = gateway.start(upstream(answering()), store_dir=tmp_path / "data", keys=[SERVER_KEY])
    key = add_key(tmp_path / "data", "alice", rpm=1)
    assert oai(running, key).chat.completions.create(**CHAT)
    for _ in range(3):  # a server key has no limits
        assert oai(running, SERVER_KEY).chat.completions.create(**CHAT)
    with pytest.raises(openai.AuthenticationError):
        oai(running, "ps-" + "x" * 43).chat.completions.create(**CHAT)
    with pytest.raises(openai.RateLimitError):
        oai(running, key).chat.completions.create(**CHAT)
    assert httpx.get(running.url + "/metrics", headers={"authorization": f"Bearer {key}"}).status_code == 401
    metrics = httpx.get(running.url + "/metrics", headers={"authorization": f"Bearer {SERVER_KEY}"}).text
    assert 'protoshift_client_requests_total{key="alice",model="claude-sonnet-5-5"} 1' in metrics
    assert 'protoshift_client_tokens_total{key="alice",model="claude-sonnet-5-5",direction="in"} 12' in metrics
    assert 'protoshift_client_limited_total{key="alice",model="claude-sonnet-5-5",reason="rpm"} 1' in metrics
    remove_key(tmp_path / "data", "alice")
    deadline = time.monotonic() + 10
    while httpx.get(running.base_url + "/models", headers={"authorization": f"Bearer {key}"}).status_code != 401:
        assert time.monotonic() < deadline, "a removed key still works"
        time.sleep(0.1)


def test_once_a_key_exists_every_request_needs_one(gateway: GatewayFactory, upstream: Any, tmp_path: Path) -> None:
    running = start(gateway, upstream(answering()), tmp_path)
    assert httpx.post(running.base_url + "/chat/completions", json=CHAT).status_code == 200  # no keys: open
    key = add_key(tmp_path / "data", "alice")
    assert oai(running, key).chat.completions.create(**CHAT)  # found at once, and from then on...
    assert httpx.post(running.base_url + "/chat/completions", json=CHAT).status_code == 401


def test_a_budget_is_a_soft_cap_at_its_figure(gateway: GatewayFactory, upstream: Any, tmp_path: Path) -> None:
    # 100 input tokens at $4 a million: $0.0004 a request; a budget of $0.001 a day
    config = '[prices."claude-budget-*"]\ninput = 4.0\noutput = 0.0\n'
    running = start(gateway, upstream(answering({"input_tokens": 100, "output_tokens": 0})), tmp_path, config=config)
    key = add_key(tmp_path / "data", "carol", budget=0.001, period="day")
    sdk = oai(running, key)
    for _ in range(3):  # 0.0004, 0.0008, then 0.0012: the request that crosses it completes
        assert sdk.chat.completions.create(**{**CHAT, "model": "claude-budget-1"}).choices[0].message.content == "ok"
    with pytest.raises(openai.RateLimitError) as caught:  # the next does not
        sdk.chat.completions.create(**{**CHAT, "model": "claude-budget-1"})
    assert caught.value.code == "insufficient_quota" and "$0.0012" in caught.value.message
    assert caught.value.response.headers["x-should-retry"] == "false"
    with pytest.raises(anthropic.RateLimitError):
        claude(running, key).messages.create(**{**CHAT, "model": "claude-budget-1"})  # type: ignore[arg-type]
    metrics = httpx.get(running.url + "/metrics").status_code
    assert metrics == 401  # client keys in use: the metrics want a server key


def test_a_token_limit_holds_within_one_requests_tokens(gateway: GatewayFactory, upstream: Any, tmp_path: Path) -> None:
    used = {"input_tokens": 250, "output_tokens": 50}  # 300 a request, far above what it is estimated at
    running = start(gateway, upstream(answering(used)), tmp_path)
    key = add_key(tmp_path / "data", "dave", tpm=1000)
    sdk = oai(running, key)
    began = time.monotonic()
    answered = 0
    for _ in range(10):
        try:
            sdk.chat.completions.create(**CHAT)
        except openai.RateLimitError as exc:
            assert "tokens per min (TPM): Limit 1000" in exc.message
            break
        answered += 1
    refill = (time.monotonic() - began) * 1000 / 60
    assert 1000 - 300 <= answered * 300 <= 1000 + 300 + refill  # 4 requests: 1200 tokens, one request over


def test_every_answer_says_the_time_protoshift_took(gateway: GatewayFactory, upstream: Any, tmp_path: Path) -> None:
    def slow(received: Received) -> Reply:
        reply = answering()(received)
        reply.delay = 0.3
        return reply

    running = start(gateway, upstream(slow), tmp_path)
    timed = []
    for call in (
        lambda: httpx.post(running.base_url + "/chat/completions", json=CHAT, timeout=30),
        lambda: httpx.post(running.base_url + "/chat/completions", json={**CHAT, "stream": True}, timeout=30),
    ):
        began = time.perf_counter()
        answer = call()
        timed.append((answer, (time.perf_counter() - began) * 1000))
    for answer, took_ms in timed:  # the upstream's 300 ms (at least) are not in it
        assert answer.status_code == 200
        assert 0 <= float(answer.headers["x-protoshift-overhead-ms"]) <= took_ms - 300
    answers = [
        httpx.get(running.url + "/nowhere"),
        httpx.get(running.url + "/healthz"),
        httpx.post(running.base_url + "/chat/completions", content=b"{", headers={"content-type": "application/json"}),
    ]
    assert [answer.status_code for answer in answers] == [404, 200, 400]
    assert all(float(answer.headers["x-protoshift-overhead-ms"]) >= 0 for answer in answers)
