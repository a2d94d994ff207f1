"""Issue 23, 7: serve speaks the vocabulary of the other commands: `-v` (each upstream request and
response, keys hidden, in its request log), `--idle-timeout` (a stream gone quiet is cut), and its
request log is `--request-log` (`--log` still works for scripts that use it)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes import Received, Reply, anthropic_message_reply, anthropic_stream_events

from .conftest import PROVIDER_KEY, ServeProcess, serve_env

ASK: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def log_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.process
@pytest.mark.parametrize("log_flag", ["--request-log", "--log"])
def test_serve_v_logs_upstream_traffic_and_idle_timeout_cuts_a_quiet_stream(
    cli_env: dict[str, str], upstream: Any, tmp_path: Path, log_flag: str
) -> None:
    release = threading.Event()  # a stream goes quiet after its first words until the test ends

    def answer(received: Received) -> Reply:
        if not received.json.get("stream"):
            return anthropic_message_reply("ok")
        return Reply(events=anthropic_stream_events(texts=["first", "never"]), hold=release, hold_at=3)

    server = upstream(answer)
    log = tmp_path / "requests.jsonl"
    args = ["-v", log_flag, str(log), "--idle-timeout", "0.5", "--max-retries", "0"]
    serve = ServeProcess(args, serve_env(cli_env, server))
    try:
        first = httpx.post(serve.base_url + "/chat/completions", json=ASK, timeout=30)
        assert first.status_code == 200, first.text
        streamed = {**ASK, "stream": True}
        with httpx.stream("POST", serve.base_url + "/chat/completions", json=streamed, timeout=30) as response:
            body = "".join(response.iter_lines())
        assert "never" not in body
        # an error event in the stream, or the answer's error if its status was not sent yet
        assert "timed out: the stream sent no content for 0.5s" in body
    finally:
        release.set()
        code, err = serve.stop()
    assert code == 0 and "Traceback" not in err, err
    entries = log_lines(log)
    traced = [e for e in entries if e.get("event") in ("request", "response")]
    assert [e["event"] for e in traced][:3] == ["request", "response", "request"], entries
    assert traced[0]["message"].startswith("anthropic: POST http://127.0.0.1:"), traced
    assert "/v1/messages" in traced[0]["message"] and "x-api-key: ***" in traced[0]["message"]
    assert traced[1]["message"].startswith("anthropic: 200")
    assert PROVIDER_KEY not in log.read_text() and PROVIDER_KEY not in err
