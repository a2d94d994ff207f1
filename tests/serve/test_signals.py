"""`serve` as a real process under signals (issue 19, items 6 and 7): SIGTERM past `--grace` cuts
what still runs the way each API says so, and SIGHUP reloads the config file without dropping a
request. Every wait is bounded; nothing here measures speed."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes import Reply, anthropic_message_reply, anthropic_stream_reply

from .conftest import ServeProcess, serve_env

pytestmark = pytest.mark.process

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
SLOW = [f"w{i} " for i in range(600)]  # 30 s of stream at 50 ms an event: longer than any grace here


def logged(path: Path) -> list[dict[str, Any]]:
    text = path.read_text() if path.exists() else ""
    return [json.loads(line) for line in text.split("\n")[:-1] if line.strip()]


def wait_for(condition: Any, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_sigterm_past_the_grace_period_ends_each_stream_the_way_its_api_says(
    cli_env: dict[str, str], upstream: Any, tmp_path: Path
) -> None:
    held = threading.Event()

    def respond(received: Any) -> Reply:
        if received.json.get("stream"):
            return anthropic_stream_reply(texts=SLOW, event_delay=0.05)
        return Reply(body=anthropic_message_reply("late").body, hold=held)  # a whole answer that never comes in time

    server = upstream(respond)
    log = tmp_path / "serve.log"
    serve = ServeProcess(["--max-retries", "0", "--grace", "1", "--request-log", str(log)], serve_env(cli_env, server))
    outcome: dict[str, Any] = {}

    def whole_answer() -> None:
        outcome["json"] = httpx.post(serve.base_url + "/chat/completions", json=CHAT, timeout=30)

    try:
        with (
            httpx.stream(
                "POST", serve.base_url + "/chat/completions", json={**CHAT, "stream": True}, timeout=30
            ) as chat,
            httpx.stream(
                "POST",
                serve.url + "/v1/messages",
                json={**CHAT, "max_tokens": 5, "stream": True},
                headers={"anthropic-version": "2023-06-01"},
                timeout=30,
            ) as messages,
        ):
            chat_lines, messages_lines = chat.iter_lines(), messages.iter_lines()
            assert next(line for line in chat_lines if line.startswith("data: "))
            assert next(line for line in messages_lines if line.startswith("event: "))
            waiting = threading.Thread(target=whole_answer)
            waiting.start()
            wait_for(lambda: sum(r.method == "POST" for r in server.requests) == 3, "the whole answer to be asked")
            serve.process.send_signal(signal.SIGTERM)
            chat_rest = list(chat_lines)  # to the end of the body: an unterminated one raises here
            messages_rest = list(messages_lines)
            waiting.join(30)
        code, err = serve.wait(30)
    finally:
        held.set()
        if serve.process.poll() is None:
            serve.process.kill()
    data = [line for line in chat_rest if line.startswith("data: ")]
    assert "data: [DONE]" not in data
    error = json.loads(data[-1][6:])["error"]
    assert error["code"] == "server_shutting_down" and "shutting down" in error["message"]
    events = [line for line in messages_rest if line.startswith("event: ")]
    assert events[-1] == "event: error"
    last = json.loads([line for line in messages_rest if line.startswith("data: ")][-1][6:])
    assert last == {"type": "error", "error": {"type": "overloaded_error", "message": error["message"]}}
    answer = outcome["json"]
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "server_shutting_down"
    assert answer.headers["retry-after"] == "1"
    assert code == 0, err
    assert "Traceback" not in err and "Exception" not in err, err
    cut = [e for e in logged(log) if e.get("cut") == "shutdown"]
    assert len(cut) == 3, logged(log)
    assert all("cut by shutdown" in e["error"] for e in cut)


def test_sighup_reloads_the_config_without_dropping_a_request(
    cli_env: dict[str, str], upstream: Any, tmp_path: Path
) -> None:
    server = upstream(
        lambda r: (
            anthropic_stream_reply(texts=["a", "b", "c"], event_delay=0.3)
            if r.json.get("stream")
            else anthropic_message_reply("ok")
        )
    )
    config = tmp_path / "config.toml"
    config.write_text('[aliases]\nfast = "claude-one"\n')
    log = tmp_path / "serve.log"
    env = serve_env(cli_env, server, PROTOSHIFT_CONFIG=str(config))
    serve = ServeProcess(["--max-retries", "0", "--request-log", str(log)], env)
    ask = {**CHAT, "model": "fast"}
    try:
        assert httpx.post(serve.base_url + "/chat/completions", json=ask, timeout=30).status_code == 200
        with httpx.stream("POST", serve.base_url + "/chat/completions", json={**ask, "stream": True}, timeout=30) as s:
            lines = s.iter_lines()
            assert next(line for line in lines if line.startswith("data: "))
            config.write_text('[aliases]\nfast = "claude-two"\nnew = "claude-three"\n')
            serve.process.send_signal(signal.SIGHUP)
            wait_for(lambda: any(e.get("event") == "reload" for e in logged(log)), "the reload's log line")
            rest = [line for line in lines if line.startswith("data: ")]
        assert rest[-1] == "data: [DONE]", "the stream in flight finished as it began"
        [reload] = [e for e in logged(log) if e.get("event") == "reload"]
        assert reload["changed"] == ["[aliases] +new, ~fast"]
        assert httpx.post(serve.base_url + "/chat/completions", json=ask, timeout=30).status_code == 200
        models = [r.json["model"] for r in server.requests if r.method == "POST"]
        assert models == ["claude-one", "claude-one", "claude-two"]

        config.write_text("[aliases\nbroken")
        serve.process.send_signal(signal.SIGHUP)
        wait_for(lambda: len([e for e in logged(log) if e.get("event") == "reload"]) == 2, "the failed reload's line")
        failed = [e for e in logged(log) if e.get("event") == "reload"][-1]
        assert "invalid TOML" in failed["error"] and "the previous configuration stays" in failed["error"]
        assert httpx.post(serve.base_url + "/chat/completions", json=ask, timeout=30).status_code == 200
        assert server.requests[-1].json["model"] == "claude-two"
    finally:
        code, err = serve.stop()
    assert code == 0 and "Traceback" not in err, err


def test_sighup_reaches_every_worker(cli_env: dict[str, str], upstream: Any, tmp_path: Path) -> None:
    server = upstream(lambda r: anthropic_message_reply("ok"))
    config = tmp_path / "config.toml"
    config.write_text('[aliases]\nfast = "claude-one"\n')
    log = tmp_path / "serve.log"
    env = serve_env(cli_env, server, PROTOSHIFT_CONFIG=str(config))
    serve = ServeProcess(["--workers", "2", "--max-retries", "0", "--request-log", str(log)], env)
    try:
        wait_for(lambda: len([e for e in logged(log) if e.get("event") == "started"]) == 2, "both workers")
        config.write_text('[aliases]\nfast = "claude-two"\n')
        serve.process.send_signal(signal.SIGHUP)
        wait_for(lambda: len([e for e in logged(log) if e.get("event") == "reload"]) == 2, "each worker's reload")
        for _ in range(6):
            assert (
                httpx.post(serve.base_url + "/chat/completions", json={**CHAT, "model": "fast"}, timeout=30).status_code
                == 200
            )
        assert {r.json["model"] for r in server.requests if r.method == "POST"} == {"claude-two"}
    finally:
        code, err = serve.stop()
    assert code == 0 and "Traceback" not in err, err


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_while_the_server_is_still_starting_stops_it(
    cli_env: dict[str, str], upstream: Any, workers: str
) -> None:
    """A supervisor that stops a server at once (a deploy rolled back, a test) must not leave it running:
    SIGTERM before uvicorn took the signal over was swallowed, and no later SIGTERM stopped the server."""
    process = ServeProcess(
        ["--workers", workers], serve_env(cli_env, upstream(lambda r: anthropic_message_reply("hi")))
    )
    code, err = process.stop(timeout=30)  # sent right after the start line, before the server is ready
    assert code == 0, err
