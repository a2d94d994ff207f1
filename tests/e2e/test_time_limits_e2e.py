"""`--timeout` bounds an attempt from start to end; `--idle-timeout` bounds a stream's silences, pings not counted;
neither cuts a long generation that keeps producing. (Issue 9, item 13: with --timeout 3 a stream of pings or
text ran past 30 s, a one-byte-a-second server held a call for 50 s, a 200 MB line with no end ran past 120 s.)

Assertions are about behaviour (the call was cut, with which error, what was printed before), never speed: the
`chat` fixture's own timeout only catches a run that hangs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.batch.conftest import batch_line, read_jsonl, write_jsonl
from tests.cli.conftest import RunCLI
from tests.fakes import anthropic_message
from tests.fault_servers import (
    MESSAGE_START,
    PING,
    STREAM_END,
    TEXT_START,
    FaultServer,
    endless,
    garbage,
    huge_event,
    stream,
    text_delta,
    trickle,
)

from .conftest import Chat
from .helpers import one_error, sse_chunks, stderr_lines, text_of

ANSWER = json.dumps(anthropic_message("slow but sure")).encode()


def test_a_server_trickling_its_answer_is_cut_by_the_timeout(chat: Chat) -> None:
    with FaultServer(trickle(ANSWER, every=0.2)) as server:  # ~40 s for the whole answer
        done = chat("-p", "hi", "-f", "json", "--timeout", "1", "--max-retries", "0", server=server.url)
    line = one_error(done, 1)
    assert "no complete answer within 1s" in line, line
    assert "raise --timeout" in stderr_lines(done)[-1]
    assert done.stdout == b""


def test_a_stream_of_pings_is_cut_by_the_idle_limit(chat: Chat) -> None:
    with FaultServer(endless(PING, every=0.05)) as server:
        done = chat("-p", "hi", "--stream", "--idle-timeout", "1", "--max-retries", "0", server=server.url)
    line = one_error(done, 1)
    assert "the stream sent no content for 1s" in line, line
    chunks = sse_chunks(done.stdout, done=False)  # the role chunk of message_start was given out
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"


def test_an_endless_stream_of_text_is_cut_by_the_timeout_and_what_came_is_kept(chat: Chat) -> None:
    with FaultServer(endless(text_delta("tick "), every=0.05)) as server:
        done = chat("-p", "hi", "--stream", "--timeout", "1", "--idle-timeout", "60", server=server.url)
    line = one_error(done, 1)
    assert "stream interrupted" in line and "no complete answer within 1s" in line, line
    assert text_of(sse_chunks(done.stdout, done=False)).startswith("tick tick ")


def test_a_generation_that_keeps_producing_outlasts_its_idle_limit(chat: Chat) -> None:
    parts = [MESSAGE_START + TEXT_START, *(text_delta(f"{n} ") for n in range(16)), STREAM_END]
    with FaultServer(stream(parts, every=0.1)) as server:  # ~1.6 s in all, never more than 0.1 s apart
        done = chat("-p", "hi", "--stream", "--idle-timeout", "1", server=server.url)
    assert done.returncode == 0, done.stderr
    assert text_of(sse_chunks(done.stdout)) == "".join(f"{n} " for n in range(16))


def test_pings_between_texts_do_not_keep_a_stalled_stream_alive(chat: Chat) -> None:
    parts = [MESSAGE_START + TEXT_START, text_delta("started "), *([PING] * 200)]
    with FaultServer(stream(parts, every=0.05)) as server:
        done = chat("-p", "hi", "--stream", "--idle-timeout", "1", server=server.url)
    assert "the stream sent no content for 1s" in one_error(done, 1)
    assert text_of(sse_chunks(done.stdout, done=False)) == "started "


def test_an_event_larger_than_the_limit_is_refused(chat: Chat) -> None:
    with FaultServer(huge_event(8 << 20)) as server:
        done = chat("-p", "hi", "--stream", server=server.url, env={"PROTOSHIFT_MAX_EVENT_SIZE": "1MiB"})
    line = one_error(done, 1)
    assert "the provider sent an event larger than 1 MiB" in line, line


def test_a_server_that_speaks_no_http_is_a_connection_error(chat: Chat) -> None:
    with FaultServer(garbage(b"\x00\xff\x16\x03 this is not HTTP\r\n\r\n")) as server:
        done = chat("-p", "hi", "--max-retries", "0", server=server.url)
    assert "connection error" in one_error(done, 1)


def test_each_batch_request_is_held_to_the_timeout(run_cli: RunCLI, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [batch_line(f"r{n}", f"q {n}") for n in range(3)])
    out = tmp_path / "out.jsonl"
    with FaultServer(trickle(ANSWER, every=0.2)) as server:
        env = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-ant-test"}
        done = run_cli(
            "batch", "run", str(source), "-o", str(out), "--timeout", "1", "--max-retries", "0", "--no-breaker", env=env
        )
    assert done.returncode == 3, done.stderr.decode()
    lines = read_jsonl(out)
    assert sorted(line["custom_id"] for line in lines) == ["r0", "r1", "r2"]
    for line in lines:
        assert line["error"]["code"] == "timeout"
        assert "no complete answer within 1s" in line["error"]["message"]
