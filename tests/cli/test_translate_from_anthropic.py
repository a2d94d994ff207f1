"""`protoshift translate request|response|stream --from anthropic` as a subprocess (issue 14): Anthropic
requests to OpenAI bodies, OpenAI completions to Anthropic messages, OpenAI SSE to Anthropic SSE; the same
notes, --explain, --strict, --jsonl and error lines with JSON paths as the default direction."""

from __future__ import annotations

import json
from pathlib import Path

from tests.oracles import (
    accumulate_anthropic_events,
    assert_anthropic_event_sequence,
    assert_openai_body,
    validate_anthropic_message_closed,
)

from .conftest import RunCLI

CORPUS = Path(__file__).parents[1] / "translator" / "openai_streams"
REQUEST = {
    "model": "llama3.2",
    "max_tokens": 256,
    "system": "Be brief.",
    "messages": [{"role": "user", "content": "Hi"}],
}


def anthropic_events(stdout: bytes) -> list[dict[str, object]]:
    events = []
    for frame in stdout.decode().split("\n\n")[:-1]:
        name, data = frame.split("\n")
        event = json.loads(data.removeprefix("data: "))
        assert name == f"event: {event['type']}"
        events.append(event)
    return events


def test_request_gives_the_openai_body(run_cli: RunCLI) -> None:
    done = run_cli("translate", "request", "--from", "anthropic", input=json.dumps(REQUEST))
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert_openai_body(body)
    assert body == {
        "model": "llama3.2",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "max_tokens": 256,
    }
    assert done.stderr == b""


def test_request_notes_explain_and_strict(run_cli: RunCLI) -> None:
    request = {**REQUEST, "top_k": 5, "model": "gpt-4.1", "max_tokens": 50000}
    done = run_cli("translate", "request", "--from", "anthropic", input=json.dumps(request))
    assert done.returncode == 0
    assert json.loads(done.stdout)["max_tokens"] == 32768
    lines = done.stderr.decode().splitlines()
    assert lines == [
        "protoshift: note: max_tokens: approximated: lowered from 50000 to 32768: gpt-4.1 writes at most 32768 tokens",
        "protoshift: note: top_k: dropped: OpenAI has no top_k",
    ]

    explained = run_cli("translate", "request", "--from", "anthropic", "--explain", input=json.dumps(request))
    table = explained.stderr.decode()
    assert "stop_sequences" not in table and "-> a system message first" in table and "top_k" in table

    strict = run_cli("translate", "request", "--from", "anthropic", "--strict", input=json.dumps(request))
    assert strict.returncode == 2 and strict.stdout == b""
    assert "top_k: would be dropped" in strict.stderr.decode()


def test_request_errors_name_every_field_and_exit_2(run_cli: RunCLI) -> None:
    bad = {"model": "m", "max_tokens": 5, "messages": [{"role": "robot", "content": "x"}],
           "tools": [{"type": "magic_wand", "name": "wand"}]}  # fmt: skip
    done = run_cli("translate", "request", "--from", "anthropic", input=json.dumps(bad))
    assert done.returncode == 2 and done.stdout == b""
    lines = done.stderr.decode().splitlines()
    assert any("<stdin>: messages[0].role: unknown role 'robot'" in line for line in lines)
    assert any(
        "<stdin>: tools[0].type: expected \"custom\" (or no type) for a tool, got 'magic_wand'" in line
        for line in lines
    )
    assert "Traceback" not in done.stderr.decode()


def test_request_jsonl_gives_a_line_per_line(run_cli: RunCLI, tmp_path: Path) -> None:
    lines = [json.dumps(REQUEST), json.dumps({**REQUEST, "max_tokens": "many"}), json.dumps({**REQUEST, "top_k": 1})]
    source = tmp_path / "requests.jsonl"
    source.write_text("\n".join(lines) + "\n")
    done = run_cli("translate", "request", "--from", "anthropic", "--jsonl", str(source))
    assert done.returncode == 2
    first, second, third = (json.loads(line) for line in done.stdout.decode().splitlines())
    assert_openai_body(first)
    assert second["error"]["path"] == "max_tokens"
    assert_openai_body(third)
    assert "top_k: dropped on 1 line" in done.stderr.decode()


def test_response_gives_an_anthropic_message(run_cli: RunCLI) -> None:
    completion = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "llama3.2",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 4, "completion_tokens": 1, "total_tokens": 5},
    }
    done = run_cli("translate", "response", "--from", "anthropic", input=json.dumps(completion))
    assert done.returncode == 0, done.stderr
    message = json.loads(done.stdout)
    validate_anthropic_message_closed(message)
    assert message["stop_reason"] == "max_tokens" and message["id"] == "msg_1"


def test_stream_gives_anthropic_sse(run_cli: RunCLI) -> None:
    source = CORPUS / "openai_python_parallel_tools.sse"
    done = run_cli("translate", "stream", "--from", "anthropic", str(source))
    assert done.returncode == 0, done.stderr
    events = anthropic_events(done.stdout)
    assert_anthropic_event_sequence(events)
    message = accumulate_anthropic_events(events)
    assert [b.name for b in message.content] == ["GetWeatherArgs", "get_stock_price"]  # type: ignore[union-attr]


def test_a_stream_with_an_error_gives_the_error_event_and_exits_1(run_cli: RunCLI) -> None:
    done = run_cli("translate", "stream", "--from", "anthropic", str(CORPUS / "midstream_error_object.sse"))
    assert done.returncode == 1
    events = anthropic_events(done.stdout)
    assert events[-1] == {"type": "error", "error": {"type": "api_error", "message": "Provider returned error"}}
    assert "the stream ended with an error: api_error: Provider returned error" in done.stderr.decode()


def test_a_cut_stream_exits_1_after_what_it_translated(run_cli: RunCLI) -> None:
    cut = 'data: {"id":"c","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}\n\n'
    done = run_cli("translate", "stream", "--from", "anthropic", input=cut)
    assert done.returncode == 1
    assert [e["type"] for e in anthropic_events(done.stdout)][-1] == "content_block_delta"
    assert "the answer is cut" in done.stderr.decode()


def test_an_unknown_side_is_bad_usage(run_cli: RunCLI) -> None:
    done = run_cli("translate", "request", "--from", "gemini", input=json.dumps(REQUEST))
    assert done.returncode == 2 and b"--from 'gemini'" in done.stderr
