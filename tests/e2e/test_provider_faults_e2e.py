"""`protoshift chat` when a provider misbehaves: what it sent that was wrong is named in one line ("the provider
sent ..."), exit 1, what was printed before is kept, never a traceback (issue 9, item 6); and one model's
overload does not stop the others (issue 9, item 3)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fakes import (
    Received,
    Reply,
    anthropic_error_reply,
    anthropic_message,
    anthropic_message_reply,
    openai_stream_events,
)

from .conftest import Chat, Serve
from .helpers import one_error, sse_chunks, stderr_lines, text_of


def _chunk(**fields: Any) -> bytes:
    body = {"id": "chatcmpl-x", "object": "chat.completion.chunk", "created": 1, "model": "gpt-test",
            "choices": [{"index": 0, "delta": {"content": "more"}, "finish_reason": None}], **fields}  # fmt: skip
    return f"data: {json.dumps(body)}\n\n".encode()


@pytest.mark.parametrize(
    ("bad", "said"),
    [
        (_chunk(choices=[None]), "the provider sent an invalid chunk: choices[0]: expected an object, got null"),
        (_chunk(choices=5), "the provider sent an invalid chunk: choices: expected an array, got a number"),
        (
            _chunk(choices=[{"index": 0, "delta": {"content": 5}}]),
            "the provider sent an invalid chunk: choices[0].delta.content: expected a string, got a number",
        ),
    ],
)
def test_a_malformed_openai_chunk_mid_stream_is_one_line_and_the_text_before_stays(
    chat: Chat, serve: Serve, bad: bytes, said: str
) -> None:
    events = openai_stream_events(["Hel", "lo"])
    server = serve(lambda received: Reply(events=[*events[:3], bad, *events[3:]]))
    for fmt in ("sse", "text"):
        done = chat("-b", "openai", "-p", "hi", "--stream", "-f", fmt, openai=server)
        line = one_error(done, 1)
        assert said in line, line
        if fmt == "sse":
            assert text_of(sse_chunks(done.stdout, done=False)) == "Hello"
        else:
            assert done.stdout == b"Hello\n"


def test_an_anthropic_reply_with_a_lone_surrogate_is_one_line(chat: Chat, serve: Serve) -> None:
    body = json.dumps(anthropic_message("fine")).replace('"fine"', '"bad \\ud800 text"').encode()
    server = serve(lambda received: Reply(body=body))
    done = chat("-p", "hi", "-f", "json", "--max-retries", "0", server=server)
    line = one_error(done, 1)
    assert "the provider sent a 200 answer that is not JSON" in line and "lone surrogate" in line, line
    assert done.stdout == b""


def test_an_anthropic_event_index_of_the_wrong_type_is_one_line(chat: Chat, serve: Serve) -> None:
    def event(obj: dict[str, Any]) -> bytes:
        return f"event: {obj['type']}\ndata: {json.dumps(obj)}\n\n".encode()

    start = event({"type": "message_start", "message": {**anthropic_message([]), "stop_reason": None}})
    block = event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
    good = event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}})
    bad = event({"type": "content_block_delta", "index": [0], "delta": {"type": "text_delta", "text": "!"}})
    server = serve(lambda received: Reply(events=[start, block, good, bad]))
    done = chat("-p", "hi", "--stream", "-f", "sse", server=server)
    line = one_error(done, 1)
    assert "the provider sent an invalid content_block_delta event: index: expected an integer, got an array" in line
    assert text_of(sse_chunks(done.stdout, done=False)) == "Hi"


def test_one_models_overload_does_not_stop_the_others(chat: Chat, serve: Serve) -> None:
    def respond(received: Received) -> Reply:
        if received.json["model"] == "busy-model":
            return anthropic_error_reply(529, "overloaded_error", "Overloaded", {"retry-after-ms": "10"})
        return anthropic_message_reply("calm answer")

    server = serve(respond)
    for _ in range(2):  # 3 attempts each: 6 overloads in a row open busy-model's circuit
        assert chat("-p", "hi", "-m", "busy-model", server=server).returncode == 1
    sent = len(server.requests)
    refused = chat("-p", "hi", "-m", "busy-model", server=server)
    line = one_error(refused, 1)
    assert "circuit open for anthropic model busy-model, retry in " in line, line
    assert "--no-breaker" in stderr_lines(refused)[-1] and "--fallback" in stderr_lines(refused)[-1]
    assert len(server.requests) == sent  # refused without sending
    other = chat("-p", "hi", "-m", "calm-model", "-f", "json", server=server)
    assert other.returncode == 0, other.stderr
    assert json.loads(other.stdout)["choices"][0]["message"]["content"] == "calm answer"
    bypass = chat("-p", "hi", "-m", "busy-model", "--no-breaker", "--max-retries", "0", server=server)
    assert "529" in one_error(bypass, 1)  # --no-breaker sends it anyway
