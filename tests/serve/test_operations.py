"""`protoshift serve` as an operator runs it: keys, limits, the breaker, metrics, clients that leave,
SIGTERM, several workers, and refusing to open itself to the network without a key."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from typing import Any

import httpx
import openai
import pytest

from tests.fakes import Reply, anthropic_error_reply, anthropic_message_reply, anthropic_stream_reply
from tests.oracles import assert_valid_chunk

from .conftest import PROVIDER_KEY, SERVER_KEY, GatewayFactory, ServeProcess, serve_env

ASK: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
JSON_TYPE = {"content-type": "application/json"}


def sdk(base_url: str, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key=key, max_retries=0)


def wait_for(condition: Any, what: str, seconds: float = 20) -> None:
    """A bound on a wait, not on how fast things are: generous, and the failure says what was awaited."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_server_keys_are_required_and_compared(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(lambda r: anthropic_message_reply("ok"))
    running = gateway.start(server, keys=[SERVER_KEY, "second-key"])
    with pytest.raises(openai.AuthenticationError):
        sdk(running.base_url).chat.completions.create(**ASK)
    with pytest.raises(openai.AuthenticationError):
        sdk(running.base_url, SERVER_KEY + "x").chat.completions.create(**ASK)
    assert sdk(running.base_url, SERVER_KEY).chat.completions.create(**ASK).choices[0].message.content == "ok"
    assert sdk(running.base_url, "second-key").models.list().data
    anthropic_style = httpx.post(running.base_url + "/chat/completions", json=ASK, headers={"x-api-key": SERVER_KEY})
    assert anthropic_style.status_code == 200
    assert httpx.get(running.url + "/healthz").status_code == 200  # no key needed to ask if it is up
    assert httpx.get(running.url + "/metrics").status_code == 401
    posts = [r for r in server.requests if r.method == "POST"]
    assert len(posts) == 2, "refused requests never reach the provider"
    assert SERVER_KEY not in running.log_path.read_text() and PROVIDER_KEY not in running.log_path.read_text()


def test_body_limit_is_a_413_even_when_the_client_lies_about_the_length(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(lambda r: anthropic_message_reply("ok"))
    running = gateway.start(server, max_body_mb=0.01)  # ~10 KB
    big = {**ASK, "messages": [{"role": "user", "content": "x" * 20_000}]}
    with pytest.raises(openai.APIStatusError) as info:
        sdk(running.base_url).chat.completions.create(**big)
    assert info.value.status_code == 413
    # chunked, no content-length: refused once the bytes read pass the limit
    chunks = (b"x" * 4096 for _ in range(10))
    answer = httpx.post(running.base_url + "/chat/completions", content=chunks, headers=JSON_TYPE)
    assert answer.status_code == 413 and answer.json()["error"]["type"] == "invalid_request_error"
    assert server.requests == []


def test_message_and_header_limits(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(lambda r: anthropic_message_reply("ok"))
    running = gateway.start(server, max_messages=3, max_header_bytes=2048)
    many = {**ASK, "messages": [{"role": "user", "content": str(i)} for i in range(4)]}
    with pytest.raises(openai.BadRequestError) as info:
        sdk(running.base_url).chat.completions.create(**many)
    assert info.value.param == "messages"  # type: ignore[attr-defined]
    tall = httpx.post(running.base_url + "/chat/completions", json=ASK, headers={"x-junk": "y" * 4000})
    assert tall.status_code == 431
    assert server.requests == []


def test_a_slow_client_cannot_hold_a_worker(gateway: GatewayFactory, upstream: Any) -> None:
    running = gateway.start(upstream(lambda r: anthropic_message_reply("ok")), body_timeout=0.3)
    port = int(running.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        answer = sock.recv(4096)  # the body never comes: the gateway answers rather than wait
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]


def test_requests_past_the_in_flight_cap_get_a_429(gateway: GatewayFactory, upstream: Any) -> None:
    release = threading.Event()

    def slow(received: Any) -> Reply:
        release.wait(20)
        return anthropic_message_reply("done")

    server = upstream(slow)
    running = gateway.start(server, max_in_flight=1)
    first: list[Any] = []
    worker = threading.Thread(target=lambda: first.append(sdk(running.base_url).chat.completions.create(**ASK)))
    worker.start()
    try:
        wait_for(lambda: len(server.requests) == 1, "the first request to reach the provider")
        with pytest.raises(openai.RateLimitError) as info:
            sdk(running.base_url).chat.completions.create(**ASK)
        assert info.value.response.headers["retry-after"] == "1"
    finally:
        release.set()
        worker.join(20)
    assert first and first[0].choices[0].message.content == "done"


def test_an_open_circuit_is_a_503_with_retry_after(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(lambda r: anthropic_error_reply(500, "api_error", "boom"))
    running = gateway.start(server, flags={"no_breaker": False})
    client = sdk(running.base_url)
    for _ in range(5):  # the breaker opens after 5 failed attempts in a row
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(**ASK)
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(**ASK)
    assert info.value.status_code == 503
    assert 1 <= int(info.value.response.headers["retry-after"]) <= 30
    assert isinstance(info.value.body, dict) and info.value.body["code"] == "circuit_open"
    assert len(server.requests) == 5, "an open circuit sends nothing"
    metrics = httpx.get(running.url + "/metrics").text
    assert 'protoshift_breaker_state{backend="anthropic"} 2' in metrics
    assert 'protoshift_errors_total{kind="circuit_open"} 1' in metrics


def test_metrics_count_what_happened(gateway: GatewayFactory, upstream: Any) -> None:
    usage = {"input_tokens": 11, "output_tokens": 4}
    server = upstream(
        lambda r: (
            anthropic_message_reply("ok", usage=usage)
            if "please" in json.dumps(r.json)
            else anthropic_error_reply(400, "invalid_request_error", "no")
        )
    )
    running = gateway.start(server)
    client = sdk(running.base_url)
    for _ in range(3):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "please"}])
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(**ASK)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(**ASK, n=2)
    last = 'protoshift_requests_total{route="/v1/chat/completions",status="400"} 2'
    # a request is counted once its answer is sent: the client can have the last answer first
    wait_for(lambda: last in httpx.get(running.url + "/metrics").text.splitlines(), "the last request counted")
    lines = set(httpx.get(running.url + "/metrics").text.splitlines())
    assert 'protoshift_requests_total{route="/v1/chat/completions",status="200"} 3' in lines
    assert last in lines
    assert 'protoshift_errors_total{kind="upstream_status"} 1' in lines
    assert 'protoshift_errors_total{kind="translation"} 1' in lines
    assert 'protoshift_tokens_total{direction="in"} 33' in lines
    assert 'protoshift_tokens_total{direction="out"} 12' in lines
    assert "protoshift_upstream_seconds_count 4" in lines  # every answer from upstream, errors included
    assert 'protoshift_upstream_seconds_bucket{le="+Inf"} 4' in lines


def test_a_client_leaving_mid_stream_cancels_the_upstream_request(gateway: GatewayFactory, upstream: Any) -> None:
    texts = [f"w{i} " for i in range(400)]
    server = upstream(lambda r: anthropic_stream_reply(texts=texts, event_delay=0.02))
    running = gateway.start(server)
    with httpx.stream(
        "POST", running.base_url + "/chat/completions", json={**ASK, "stream": True}, timeout=20
    ) as response:
        lines = response.iter_lines()
        received = [line for _, line in zip(range(6), lines, strict=False) if line.startswith("data: ")]
    assert received and all(assert_valid_chunk(json.loads(line[6:])) for line in received)
    # the gateway closed its upstream connection: the fake provider saw its writes fail
    assert server.client_cut.wait(20), "the upstream request was not cancelled"
    wait_for(lambda: any(e.get("status") == 499 for e in running.requests_logged()), "the request's log line")


# -- real processes -----------------------------------------------------------------------------


@pytest.mark.process
def test_sigterm_lets_streams_in_flight_finish(cli_env: dict[str, str], upstream: Any) -> None:
    server = upstream(lambda r: anthropic_stream_reply(texts=[f"t{i}" for i in range(12)], event_delay=0.1))
    serve = ServeProcess(["--max-retries", "0", "--grace", "20"], serve_env(cli_env, server))
    try:
        with httpx.stream(
            "POST", serve.base_url + "/chat/completions", json={**ASK, "stream": True}, timeout=30
        ) as response:
            lines = response.iter_lines()
            first = next(line for line in lines if line.startswith("data: "))
            serve.process.send_signal(signal.SIGTERM)
            rest = [line for line in lines if line.startswith("data: ")]
        assert first and rest[-1] == "data: [DONE]", rest[-3:]
        text = "".join(json.loads(line[6:])["choices"][0]["delta"].get("content") or "" for line in [first, *rest[:-1]])
        assert text == "".join(f"t{i}" for i in range(12))
        code, err = serve.wait(30)
        assert code == 0, err
        assert "Traceback" not in err
        with pytest.raises(httpx.ConnectError):
            httpx.get(serve.url + "/healthz", timeout=5)
    finally:
        if serve.process.poll() is None:
            serve.process.kill()


@pytest.mark.process
def test_two_workers_answer_and_share_their_metrics(cli_env: dict[str, str], upstream: Any) -> None:
    server = upstream(lambda r: anthropic_message_reply("ok", usage={"input_tokens": 1, "output_tokens": 1}))
    serve = ServeProcess(["--workers", "2", "--max-retries", "0"], serve_env(cli_env, server))
    try:
        client = sdk(serve.base_url)
        for _ in range(20):
            client.chat.completions.create(**ASK)
        wanted = 'protoshift_requests_total{route="/v1/chat/completions",status="200"} 20'
        wait_for(lambda: wanted in httpx.get(serve.url + "/metrics").text, "both workers' counts in one scrape")
    finally:
        code, err = serve.stop()
    assert code == 0 and "Traceback" not in err, err


@pytest.mark.process
def test_listening_beyond_loopback_needs_a_server_key(run_cli: Any) -> None:
    done = run_cli("serve", "--backend", "mock", "--host", "0.0.0.0", "--port", "0")
    assert done.returncode == 2
    assert "--api-key" in done.stderr.decode()
    assert done.stdout == b""


@pytest.mark.process
def test_a_log_in_a_missing_folder_is_one_line_and_exit_2(run_cli: Any, tmp_path: Any) -> None:
    done = run_cli("serve", "--backend", "mock", "--port", "0", "--log", str(tmp_path / "nowhere" / "serve.log"))
    assert done.returncode == 2 and done.stdout == b""
    assert (
        done.stderr.decode()
        .splitlines()[0]
        .endswith(f"--log {tmp_path}/nowhere/serve.log: no folder {tmp_path}/nowhere")
    )


def test_a_missing_provider_key_stops_serve_before_it_listens(run_cli: Any) -> None:
    done = run_cli("serve", "--port", "0")
    assert done.returncode == 2
    assert "ANTHROPIC_API_KEY" in done.stderr.decode()


@pytest.mark.process
def test_a_conversation_goes_on_through_either_worker_the_moment_each_answer_is_had(
    cli_env: dict[str, str], upstream: Any
) -> None:
    """Each turn on a new connection (either worker takes it), sent the moment the last answer came:
    the worker that did not answer it finds it all the same (the store writes behind: gateway/store.py)."""
    server = upstream(lambda r: anthropic_message_reply("ok", usage={"input_tokens": 1, "output_tokens": 1}))
    serve = ServeProcess(["--workers", "2", "--max-retries", "0"], serve_env(cli_env, server))
    try:
        previous: str | None = None
        for n in range(24):
            body = {"model": "m", "input": f"turn {n}", **({"previous_response_id": previous} if previous else {})}
            status, answer = _fresh_connection(serve.url, "POST", "/v1/responses", json.dumps(body))
            assert status == 200, answer
            previous = json.loads(answer)["id"]
            status, answer = _fresh_connection(serve.url, "GET", f"/v1/responses/{previous}")
            assert status == 200, answer
        sent = json.dumps(server.requests[-1].json["messages"])
        assert all(f"turn {n}" in sent for n in range(24)), sent
    finally:
        code, err = serve.stop()
    assert code == 0 and "Traceback" not in err, err


def _fresh_connection(url: str, method: str, path: str, body: str | None = None) -> tuple[int, str]:
    """One request on a connection of its own, made at once (http.client: no TLS context to build, as
    httpx.Client does, which would give the store its window's time)."""
    import http.client
    from urllib.parse import urlsplit

    connection = http.client.HTTPConnection(urlsplit(url).netloc, timeout=30)
    try:
        connection.request(method, path, body=body, headers={"content-type": "application/json"})
        answer = connection.getresponse()
        return answer.status, answer.read().decode()
    finally:
        connection.close()


@pytest.mark.process
def test_a_server_stopped_kept_every_response_it_answered(cli_env: dict[str, str], upstream: Any) -> None:
    """SIGTERM right after the last answer: what the store had still to write is written on the way out."""
    server = upstream(lambda r: anthropic_message_reply("ok", usage={"input_tokens": 1, "output_tokens": 1}))
    env = serve_env(cli_env, server)
    serve = ServeProcess(["--max-retries", "0"], env)
    try:
        ids = [sdk(serve.base_url).responses.create(model="m", input=f"turn {n}").id for n in range(10)]
    finally:
        code, err = serve.stop()
    assert code == 0 and "Traceback" not in err, err
    again = ServeProcess(["--max-retries", "0"], env)  # the same data folder
    try:
        assert [sdk(again.base_url).responses.retrieve(response_id).id for response_id in ids] == ids
    finally:
        again.stop()
