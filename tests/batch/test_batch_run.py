"""`protoshift batch run` end to end: the real CLI against a fake Anthropic on 127.0.0.1."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.batch.conftest import PROTOSHIFT, batch_line, read_jsonl, user_text, write_jsonl
from tests.fakes import FakeServer, Received, Reply, anthropic_error_reply, anthropic_message_reply
from tests.oracles import assert_valid_anthropic_body, assert_valid_completion


def _env(server: FakeServer) -> dict[str, str]:
    return {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-ant-test-key"}


def _number(received: Received) -> int:
    return int(user_text(received.json).split()[-1])


def _ok(number: int, delay: float) -> Reply:
    reply = anthropic_message_reply(f"answer {number}", usage={"input_tokens": 3, "output_tokens": 2})
    reply.delay = delay
    return reply


def _assert_each_once(lines: list[dict[str, Any]], expected: set[str]) -> None:
    counts = collections.Counter(line["custom_id"] for line in lines)
    duplicates = {cid: n for cid, n in counts.items() if n > 1}
    assert not duplicates, f"custom_ids written more than once: {sorted(duplicates)[:10]}"
    assert set(counts) == expected, f"missing: {sorted(expected - set(counts))[:10]}"


def test_thousand_lines_with_429s_and_400s(run_cli: Any, tmp_path: Path) -> None:
    attempts: collections.Counter[int] = collections.Counter()
    lock = threading.Lock()

    def respond(received: Received) -> Reply:
        number = _number(received)
        if number % 50 == 7:
            return anthropic_error_reply(400, "invalid_request_error", f"request {number} is not acceptable")
        if number % 20 == 3:
            with lock:
                attempts[number] += 1
                first = attempts[number] == 1
            if first:
                return anthropic_error_reply(429, "rate_limit_error", "slow down", {"retry-after-ms": "20"})
        return _ok(number, 0.003)

    ids = [f"req-{n:04d}" for n in range(1000)]
    source = write_jsonl(tmp_path / "in.jsonl", [batch_line(cid, f"question {n}") for n, cid in enumerate(ids)])
    out = tmp_path / "out.jsonl"
    with FakeServer(respond) as server:
        done = run_cli("batch", "run", str(source), "-o", str(out), "--concurrency", "32", env=_env(server))
    assert done.returncode == 3, done.stderr.decode()
    lines = read_jsonl(out)
    assert len(lines) == 1000
    _assert_each_once(lines, set(ids))
    failed = {n for n in range(1000) if n % 50 == 7}
    for line in lines:
        number = int(line["custom_id"].split("-")[1])
        assert line["id"].startswith("batch_req_")
        if number in failed:
            assert line["response"] is None
            assert line["error"]["code"] == "invalid_request_error"
            assert f"request {number} is not acceptable" in line["error"]["message"]
        else:
            assert line["error"] is None
            assert line["response"]["status_code"] == 200
            assert line["response"]["request_id"] == "req_fake01"
            completion = assert_valid_completion(line["response"]["body"])
            assert completion.choices[0].message.content == f"answer {number}"
    # every 429 was retried once and then answered; nothing else was sent twice
    retried = {n for n in range(1000) if n % 20 == 3 and n not in failed}
    assert {n for n, count in attempts.items() if count == 2} == retried
    assert len(server.requests) == 1000 + len(retried)
    for received in server.requests:
        assert received.path == "/v1/messages"
        assert received.headers["x-api-key"] == "sk-ant-test-key"
        assert_valid_anthropic_body(received.json)
    stderr = done.stderr.decode()
    assert f"{1000 - len(failed)} succeeded, {len(failed)} failed" in stderr
    assert "sk-ant-test-key" not in stderr


@pytest.mark.process  # kill -9 of a real process
def test_kill_9_then_resume_loses_nothing_and_repeats_nothing(cli_env: dict[str, str], tmp_path: Path) -> None:
    ids = [f"item {n}" for n in range(400)]  # spaces: custom_ids are any string in batch run
    source = write_jsonl(tmp_path / "in.jsonl", [batch_line(cid, f"q {n}") for n, cid in enumerate(ids)])
    out = tmp_path / "out.jsonl"
    held = threading.Event()  # items from 100 on wait for the kill: the first run cannot finish before it

    def respond(received: Received) -> Reply:
        reply = _ok(_number(received), 0.005)
        if _number(received) >= 100:
            reply.hold = held
        return reply

    with FakeServer(respond) as server:
        env = {**cli_env, **_env(server)}
        args = [PROTOSHIFT, "batch", "run", str(source), "-o", str(out), "-j", "8"]
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30  # a bound on waiting, not on the program's speed
            while time.monotonic() < deadline:
                if out.exists() and out.read_bytes().count(b"\n") >= 60:
                    break
                time.sleep(0.005)
            os.kill(proc.pid, signal.SIGKILL)  # most likely while answers are still being written
            proc.wait(timeout=10)
        finally:
            proc.kill()
            held.set()
        assert proc.returncode == -signal.SIGKILL
        written = out.read_bytes()
        complete = written[: written.rfind(b"\n") + 1]
        before = {json.loads(line)["custom_id"] for line in complete.splitlines()}
        assert 60 <= len(before) <= 100, len(before)
        # as if the kill had landed in the middle of a write: a torn last line
        with out.open("ab") as fh:
            fh.write(b'{"id":"batch_req_torn","custom_id":"item 399","response":{"status_co')
        server.wait_connections_closed()  # what the killed run had sent is all counted now
        sent_before = len(server.requests)

        resumed = subprocess.run([*args, "--resume"], env=env, capture_output=True, timeout=60)
        assert resumed.returncode == 0, resumed.stderr.decode()
        assert b"cut short" in resumed.stderr

    lines = read_jsonl(out)  # every line parses: the torn one was cut off
    _assert_each_once(lines, set(ids))
    assert all(line["error"] is None for line in lines)
    for line in lines:
        assert_valid_completion(line["response"]["body"])
    # the resumed run sent exactly what was not in OUTPUT yet
    assert len(server.requests) - sent_before == 400 - len(before)


def test_invalid_input_is_reported_by_line_and_nothing_is_sent(run_cli: Any, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        "\n".join(
            [
                json.dumps(batch_line("a", "fine")),
                '{"custom_id": "b", "body": ',  # 2: not JSON
                json.dumps(batch_line("c", "three choices", n=3)),  # 3: cannot be translated
                "",  # blank lines are skipped, and still counted
                json.dumps(batch_line("a", "again")),  # 5: duplicate custom_id
                json.dumps({**batch_line("e", "x"), "url": "/v1/embeddings"}),  # 6: not a chat request
                json.dumps(batch_line("f", "fine too")),
            ]
        )
        + "\n"
    )
    out = tmp_path / "out.jsonl"
    with FakeServer(lambda received: _ok(0, 0)) as server:
        done = run_cli("batch", "run", str(source), "-o", str(out), env=_env(server))
        assert server.requests == []
    assert done.returncode == 2
    stderr = done.stderr.decode()
    assert f"{source}:2: invalid JSON" in stderr
    assert f"{source}:3: body.n:" in stderr
    assert f"{source}:5: custom_id 'a' is already used on line 1" in stderr
    assert f"{source}:6: url:" in stderr
    assert "4 invalid lines; nothing was sent" in stderr
    assert "Traceback" not in stderr
    assert not out.exists()


def test_validate_only_sends_nothing(run_cli: Any, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [batch_line(f"r{n}", "hi") for n in range(5)])
    with FakeServer(lambda received: _ok(0, 0)) as server:
        done = run_cli("batch", "run", str(source), "--validate-only", env=_env(server))
        assert server.requests == []
    assert done.returncode == 0, done.stderr.decode()
    assert b"5 requests, all valid" in done.stderr


def test_bare_chat_requests_are_named_by_line_number(run_cli: Any, tmp_path: Path) -> None:
    requests = [{"messages": [{"role": "user", "content": f"bare {n}"}]} for n in range(3)]
    source = tmp_path / "in.jsonl"
    source.write_text(
        json.dumps(requests[0]) + "\n\n" + json.dumps(requests[1]) + "\n" + json.dumps(requests[2]) + "\n"
    )
    out = tmp_path / "out.jsonl"
    done = run_cli("batch", "run", str(source), "-o", str(out), "--backend", "mock", "-q")
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr == b""
    lines = read_jsonl(out)
    assert sorted(line["custom_id"] for line in lines) == ["1", "3", "4"]
    for line in lines:
        body = assert_valid_completion(line["response"]["body"])
        assert body.choices[0].message.content is not None
        assert body.choices[0].message.content.startswith("You said: bare")


def test_existing_output_needs_resume(run_cli: Any, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [batch_line("zzz", "hello"), batch_line("a", "hi")])
    out = tmp_path / "out.jsonl"
    out.write_text('{"id":"x","custom_id":"zzz","response":null,"error":{"code":"c","message":"m"}}\n')
    done = run_cli("batch", "run", str(source), "-o", str(out), "--backend", "mock")
    assert done.returncode == 2
    assert b"--resume" in done.stderr
    # resuming keeps earlier failures in the verdict: exit 3
    resumed = run_cli("batch", "run", str(source), "-o", str(out), "--backend", "mock", "--resume")
    assert resumed.returncode == 3, resumed.stderr.decode()
    assert [line["custom_id"] for line in read_jsonl(out)] == ["zzz", "a"]


def test_a_refused_key_stops_the_run_and_resume_sends_the_rest(run_cli: Any, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [batch_line(f"r{n}", f"q {n}") for n in range(50)])
    out = tmp_path / "out.jsonl"
    with FakeServer(lambda received: anthropic_error_reply(401, "authentication_error", "invalid x-api-key")) as server:
        done = run_cli("batch", "run", str(source), "-o", str(out), "-j", "4", env=_env(server))
        sent = len(server.requests)
    assert done.returncode == 1
    stderr = done.stderr.decode()
    assert "not sent" in stderr and "--resume" in stderr
    assert sent <= 8  # the workers stop at the first refusal instead of trying all 50
    # still one output line per input line: each says the run stopped before it was done
    stopped = read_jsonl(out)
    assert sorted(line["custom_id"] for line in stopped) == sorted(f"r{n}" for n in range(50))
    assert {line["error"]["code"] for line in stopped} == {"stopped"}
    assert all("--resume" in line["error"]["message"] for line in stopped)

    with FakeServer(lambda received: anthropic_message_reply("fine")) as server:
        resumed = run_cli("batch", "run", str(source), "-o", str(out), "-j", "4", "--resume", env=_env(server))
        assert len(server.requests) == 50
    assert resumed.returncode == 0, resumed.stderr.decode()
    lines = read_jsonl(out)
    assert sorted(line["custom_id"] for line in lines) == sorted(f"r{n}" for n in range(50))  # no duplicate
    assert all(line["error"] is None for line in lines)


def test_validate_only_lists_every_problem_of_every_line(run_cli: Any, tmp_path: Path) -> None:
    """Issue 10: not the first problem of the first 20 lines, all of them, each with line and path."""
    bad = {"n": 3, "logprobs": True, "modalities": ["text", "audio"]}
    lines = [batch_line(f"r{k}", "hi", **bad) for k in range(25)]
    lines.insert(3, batch_line("fine", "hi"))
    source = write_jsonl(tmp_path / "in.jsonl", lines)
    with FakeServer(lambda received: _ok(0, 0)) as server:
        done = run_cli("batch", "run", str(source), "--validate-only", env=_env(server))
        assert server.requests == []
    assert done.returncode == 2
    errors = [line for line in done.stderr.decode().splitlines() if line.startswith("protoshift: error: ")]
    assert len(errors) == 25 * 3 + 1  # three problems on each of 25 lines, and the summary
    assert errors[:3] == [
        f"protoshift: error: {source}:1: body.n: Anthropic returns one choice per request; send n separate requests",
        f"protoshift: error: {source}:1: body.logprobs: Anthropic does not return log probabilities",
        f"protoshift: error: {source}:1: body.modalities[1]: Anthropic produces text only",
    ]
    assert f"{source}:26: body.modalities[1]" in errors[-2]
    assert errors[-1].endswith("25 invalid lines; nothing was sent")
