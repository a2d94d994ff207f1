"""One exchange pipeline for every surface: what the two copies of it used to do differently now
happens the same way on both, each a test (issue 18's drifts); and the router's answers (405 with
`Allow`, `HEAD`, `GET /`)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.fakes import FakeServer, Reply, anthropic_message_reply, openai_completion, sequence

from .conftest import GatewayFactory, Running

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
MESSAGES = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01"}


def start(
    gateway: GatewayFactory, server: FakeServer, backend: str, flags: dict[str, Any] | None = None, **options: Any
) -> Running:
    if backend == "openai":
        gateway.monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    return gateway.start(server, flags={"backend": backend, **(flags or {})}, **options)


def post(running: Running, surface: str, body: Any, **kwargs: Any) -> httpx.Response:
    if surface == "chat":
        return httpx.post(running.base_url + "/chat/completions", json=body, timeout=20, **kwargs)
    return httpx.post(running.url + "/v1/messages", json=body, headers=ANTHROPIC_HEADERS, timeout=20, **kwargs)


def error_message(surface: str, answer: httpx.Response) -> str:
    """The error's message, read as each API's clients read it (and the shape checked)."""
    body = answer.json()
    if surface == "chat":
        assert set(body["error"]) == {"message", "type", "param", "code"}
        return str(body["error"]["message"])
    assert body["type"] == "error" and set(body["error"]) == {"type", "message"}
    return str(body["error"]["message"])


BACKEND_FOR = {"chat": "anthropic", "messages": "openai"}  # the pairs that translate


@pytest.mark.parametrize("surface", ["chat", "messages"])
def test_a_refused_request_lists_every_problem(gateway: GatewayFactory, upstream: Any, surface: str) -> None:
    server = upstream(lambda r: Reply(status=500))
    running = start(gateway, server, BACKEND_FOR[surface])
    base = CHAT if surface == "chat" else MESSAGES
    # two problems the translator finds, in two messages
    bad = {**base, "messages": [{"role": "wizard", "content": "a"}, {"role": "user", "content": 42}]}
    answer = post(running, surface, bad)
    assert answer.status_code == 400
    message = error_message(surface, answer)
    assert "messages[0].role" in message and "messages[1].content" in message, message
    # and two the pipeline finds before any translation
    answer = post(running, surface, {**base, "stream": "no", "model": {"name": "x"}})
    assert answer.status_code == 400
    message = error_message(surface, answer)
    assert "stream: expected a boolean, got a string" in message and "model: expected a model name" in message
    assert server.requests == [], "nothing refused reaches the provider"


@pytest.mark.parametrize("surface", ["chat", "messages"])
@pytest.mark.parametrize("backend", ["anthropic", "openai"])
def test_stream_must_be_a_boolean_and_model_a_name(
    gateway: GatewayFactory, upstream: Any, surface: str, backend: str
) -> None:
    """`"stream": "no"` once streamed on one surface; `"model": {...}` was swapped for the default model
    (and billed). Both are the client's mistake, said as such, on every pair, pass-through included."""
    server = upstream(lambda r: Reply(status=500))
    running = start(gateway, server, backend)
    base = CHAT if surface == "chat" else MESSAGES
    for field, value in [("stream", "no"), ("stream", 1), ("model", {"id": "x"}), ("model", ""), ("model", 7)]:
        answer = post(running, surface, {**base, field: value})
        assert answer.status_code == 400, (field, value, answer.text)
        assert error_message(surface, answer).startswith(f"{field}: "), answer.text
        if surface == "chat":
            assert answer.json()["error"]["param"] == field
    assert server.requests == []


@pytest.mark.parametrize("surface", ["chat", "messages"])
def test_an_empty_upstream_stream_is_a_502_on_every_surface(
    gateway: GatewayFactory, upstream: Any, surface: str
) -> None:
    """A stream that ends with nothing in it (no chunk, no error) is the provider failing to answer:
    one policy for both surfaces (it was 200 + [DONE] on one and 502 on the other)."""
    server = upstream(lambda r: Reply(events=[b"data: [DONE]\n\n"]))
    running = start(gateway, server, "openai")
    base = CHAT if surface == "chat" else MESSAGES
    answer = post(running, surface, {**base, "stream": True})
    assert answer.status_code == 502
    assert "stream was empty" in error_message(surface, answer)
    [entry] = running.wait_logged(1)
    assert entry["status"] == 502


def test_count_tokens_takes_a_slot_like_any_request(gateway: GatewayFactory, upstream: Any) -> None:
    held = threading.Event()
    server = upstream(lambda r: Reply(body=b'{"input_tokens": 3}', hold=held))
    running = start(gateway, server, "anthropic", max_in_flight=1)
    count = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    url = running.url + "/v1/messages/count_tokens"
    first: list[httpx.Response] = []
    thread = threading.Thread(
        target=lambda: first.append(httpx.post(url, json=count, headers=ANTHROPIC_HEADERS, timeout=30))
    )
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.requests:  # the first count is in flight, held by the provider
            assert time.monotonic() < deadline
            time.sleep(0.01)
        second = httpx.post(url, json=count, headers=ANTHROPIC_HEADERS, timeout=20)
        assert second.status_code == 429 and second.headers["retry-after"] == "1"
        assert second.json()["error"]["type"] == "rate_limit_error"
    finally:
        held.set()
        thread.join(30)
    assert first[0].status_code == 200 and first[0].json() == {"input_tokens": 3}


def test_count_tokens_is_cancelled_when_its_client_leaves(gateway: GatewayFactory, upstream: Any) -> None:
    held = threading.Event()
    server = upstream(lambda r: Reply(body=b'{"input_tokens": 3}', hold=held))
    running = start(gateway, server, "anthropic")
    count = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    try:
        with pytest.raises(httpx.ReadTimeout):  # the client gives up while the provider holds the count
            httpx.post(running.url + "/v1/messages/count_tokens", json=count, headers=ANTHROPIC_HEADERS, timeout=0.5)
        [entry] = running.wait_logged(1)
        assert entry["status"] == 499 and entry["route"] == "/v1/messages/count_tokens"
    finally:
        held.set()
    assert server.client_cut.wait(20), "the upstream count was not cancelled"


# -- the router ------------------------------------------------------------------------------------


def test_a_known_path_with_another_method_is_a_405_with_allow(gateway: GatewayFactory, upstream: Any) -> None:
    running = start(gateway, upstream(lambda r: anthropic_message_reply("ok")), "anthropic")
    answer = httpx.get(running.base_url + "/chat/completions")
    assert answer.status_code == 405 and answer.headers["allow"] == "POST"
    assert answer.json()["error"]["type"] == "invalid_request_error"
    answer = httpx.delete(running.url + "/v1/messages", headers=ANTHROPIC_HEADERS)
    assert answer.status_code == 405 and answer.headers["allow"] == "POST"
    assert answer.json()["type"] == "error", "in the shape of the API the path belongs to"
    answer = httpx.post(running.base_url + "/models", json={})
    assert answer.status_code == 405 and answer.headers["allow"] == "GET, HEAD"
    answer = httpx.put(running.base_url + "/models/some-model")
    assert answer.status_code == 405 and answer.headers["allow"] == "GET, HEAD"
    assert httpx.get(running.url + "/nowhere").status_code == 404


def test_head_and_get_of_the_root_are_200_and_no_error(gateway: GatewayFactory, upstream: Any) -> None:
    running = start(gateway, upstream(lambda r: anthropic_message_reply("ok")), "anthropic", keys=["k-1"])
    head = httpx.head(running.url + "/")  # Claude Code sends one at every start, before its key
    assert head.status_code == 200 and head.content == b""
    get = httpx.get(running.url + "/")
    assert get.status_code == 200 and b"protoshift" in get.content
    assert int(head.headers["content-length"]) == len(get.content)
    assert httpx.head(running.url + "/healthz").status_code == 200
    assert httpx.head(running.url + "/api/hello").status_code == 200  # Claude Code's preconnect
    metrics = httpx.get(running.url + "/metrics", headers={"authorization": "Bearer k-1"}).text
    assert 'protoshift_requests_total{route="/",status="200"} 2' in metrics
    assert "protoshift_errors_total{" not in metrics, metrics


def test_a_model_id_with_a_slash_is_found(gateway: GatewayFactory, upstream: Any) -> None:
    listed = {
        "object": "list",
        "data": [{"id": "meta-llama/Llama-3.3-70B", "object": "model", "created": 1, "owned_by": "x"}],
    }

    def reply(received: Any) -> Reply:
        if received.path.endswith("/models"):
            return Reply(body=json.dumps(listed).encode())
        return Reply(body=json.dumps(openai_completion("ok")).encode())

    running = start(gateway, upstream(reply), "openai")
    sdk = openai.OpenAI(base_url=running.base_url, api_key="unused", max_retries=0)
    assert sdk.models.retrieve("meta-llama/Llama-3.3-70B").id == "meta-llama/Llama-3.3-70B"
    with pytest.raises(openai.NotFoundError):
        sdk.models.retrieve("meta-llama/none")
    found = anthropic.Anthropic(base_url=running.url, api_key="unused", max_retries=0).models.retrieve(
        "meta-llama/Llama-3.3-70B"
    )
    assert found.type == "model" and found.id == "meta-llama/Llama-3.3-70B"


def test_a_client_that_retries_itself_gets_the_providers_status_at_once(gateway: GatewayFactory, upstream: Any) -> None:
    """One rule for retries (cloud/attempts.py): the SDKs (and Claude Code, on the anthropic SDK) say they
    retry (`x-stainless-retry-count`), so the provider's 429 goes straight back to them with its
    retry-after — not 3 attempts here times theirs; a client that does not say so (Codex) is retried for."""
    refusal = {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}
    limited = Reply(status=429, body=json.dumps(refusal).encode(), headers={"retry-after": "0"})
    server = upstream(sequence(limited, limited, anthropic_message_reply("ok")))
    running = start(gateway, server, "anthropic", flags={"max_retries": 2})
    sdk = openai.OpenAI(base_url=running.base_url, api_key="unused", max_retries=0)
    with pytest.raises(openai.RateLimitError) as info:
        sdk.chat.completions.create(**CHAT)
    assert info.value.response.headers["retry-after"] == "0"
    assert len(server.requests) == 1, "no attempt of ours on top of the client's own"
    answer = post(running, "chat", CHAT)  # httpx alone: no retries of its own
    assert answer.status_code == 200
    assert len(server.requests) == 3, "the 429 retried here, then the answer"
