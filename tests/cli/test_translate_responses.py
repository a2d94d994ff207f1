"""`protoshift translate ... --from responses` through the real CLI (issue 20): Responses requests to
Chat Completions bodies, completions to responses, chat SSE to Responses SSE, offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.oracles import assert_openai_body
from tests.responses_oracles import assert_response_stream, validate_response


def test_a_responses_request_becomes_a_chat_body_and_says_what_it_dropped(run_cli: Any, tmp_path: Path) -> None:
    request = {
        "model": "qwen3-coder",
        "instructions": "Be brief.",
        "input": [{"role": "developer", "content": "Use tools."}, {"role": "user", "content": "hi"}],
        "tools": [{"type": "web_search"}, {"type": "function", "name": "ls", "parameters": {"type": "object"}}],
    }
    source = tmp_path / "request.json"
    source.write_text(json.dumps(request))
    done = run_cli("translate", "request", "--from", "responses", str(source))
    assert done.returncode == 0, done.stderr.decode()
    body = json.loads(done.stdout)
    assert_openai_body(body)
    assert body["messages"] == [
        {"role": "system", "content": "Be brief.\n\nUse tools."},
        {"role": "user", "content": "hi"},
    ]
    assert "note: tools[0]: dropped" in done.stderr.decode()
    strict = run_cli("translate", "request", "--from", "responses", "--strict", str(source))
    assert strict.returncode == 2 and b"tools[0]" in strict.stderr


def test_a_request_that_continues_a_stored_one_is_refused_offline(run_cli: Any, tmp_path: Path) -> None:
    source = tmp_path / "request.json"
    source.write_text(json.dumps({"model": "m", "input": "and?", "previous_response_id": "resp_1"}))
    done = run_cli("translate", "request", "--from", "responses", str(source))
    assert done.returncode == 2
    assert "previous_response_id" in done.stderr.decode() and done.stdout == b""


def test_a_completion_and_a_stream_become_responses(run_cli: Any, tmp_path: Path) -> None:
    completion = {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello."}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }  # fmt: skip
    answer = tmp_path / "completion.json"
    answer.write_text(json.dumps(completion))
    done = run_cli("translate", "response", "--from", "responses", str(answer))
    assert done.returncode == 0, done.stderr.decode()
    response = json.loads(done.stdout)
    validate_response(response)
    assert response["output"][0]["content"][0]["text"] == "Hello."
    assert (
        response["usage"]["input_tokens"] == 3 and response["usage"]["output_tokens_details"]["reasoning_tokens"] == 0
    )

    chunks = [
        {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
         "choices": [{"index": 0, "delta": {"role": "assistant", "content": piece}, "finish_reason": None}]}
        for piece in ("Hel", "lo")
    ]  # fmt: skip
    chunks.append({**chunks[0], "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    sse = tmp_path / "stream.sse"
    sse.write_text("".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n")
    streamed = run_cli("translate", "stream", "--from", "responses", str(sse))
    assert streamed.returncode == 0, streamed.stderr.decode()
    events = [json.loads(line[6:]) for line in streamed.stdout.decode().splitlines() if line.startswith("data: ")]
    final = assert_response_stream(events)
    assert final["status"] == "completed"
    assert "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == "Hello"

    cut = tmp_path / "cut.sse"
    cut.write_text("".join(f"data: {json.dumps(c)}\n\n" for c in chunks[:1]))
    failed = run_cli("translate", "stream", "--from", "responses", str(cut))
    assert failed.returncode == 1
    assert b"response.failed" in failed.stdout and b"the stream failed" in failed.stderr
