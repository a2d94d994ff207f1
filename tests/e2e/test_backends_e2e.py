"""`--backend openai` against a fake OpenAI-compatible server, and `--backend mock` offline."""

from __future__ import annotations

import json

import pytest

from tests.fakes import (
    Reply,
    openai_completion,
    openai_completion_reply,
    openai_error_reply,
    openai_stream_events,
)

from .conftest import OPENAI_KEY, Chat, Serve
from .helpers import completion, finish_reason, one_error, sse_chunks, stderr_lines, text_of

REQUEST = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello there"}], "temperature": 0.5}
TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {
    "type": "object", "properties": {"q": {"type": "string"}, "n": {"type": "integer"}}, "required": ["q", "n"]}}}  # fmt: skip

# -- OpenAI-compatible passthrough -----------------------------------------------------------------


def test_openai_passthrough_json(chat: Chat, serve: Serve) -> None:
    server = serve(lambda r: openai_completion_reply("Hi from gpt", model="gpt-4o"))
    done = chat("--backend", "openai", "-v", input=json.dumps(REQUEST), openai=server)
    assert done.returncode == 0, done.stderr
    assert completion(done.stdout) == openai_completion("Hi from gpt", model="gpt-4o")  # passed through as is
    [received] = server.requests
    assert (received.method, received.path) == ("POST", "/v1/chat/completions")
    assert received.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert received.json == REQUEST  # same protocol: the request is not translated
    assert any("authorization: Bearer ***" in line for line in stderr_lines(done))


def test_openai_flags_apply(chat: Chat, serve: Serve) -> None:
    server = serve(lambda r: openai_completion_reply("ok"))
    done = chat("-", "--backend", "openai", "-m", "gpt-y", "-p", "more", "--system", "sys", "--max-tokens", "9",
                input=json.dumps(REQUEST), openai=server)  # fmt: skip
    assert done.returncode == 0, done.stderr
    body = server.requests[0].json
    assert body["model"] == "gpt-y"
    assert body["max_completion_tokens"] == 9
    assert [m["role"] for m in body["messages"]] == ["system", "user", "user"]
    assert body["messages"][-1] == {"role": "user", "content": "more"}


def test_openai_passthrough_stream(chat: Chat, serve: Serve) -> None:
    events = openai_stream_events(["Hel", "lo", " ✓"], model="gpt-4o")
    server = serve(lambda r: Reply(events=events))
    done = chat("--backend", "openai", "--stream", input=json.dumps(REQUEST), openai=server)
    assert done.returncode == 0, done.stderr
    chunks = sse_chunks(done.stdout)
    sent = [json.loads(e[len(b"data: ") :]) for e in events[:-1]]
    assert chunks == sent  # every chunk passed through unchanged, re-framed exactly as OpenAI frames them
    assert text_of(chunks) == "Hello ✓"
    assert finish_reason(chunks) == "stop"
    assert server.requests[0].json["stream"] is True
    assert server.requests[0].headers["accept"] == "text/event-stream"


def test_openai_stream_cut_before_done(chat: Chat, serve: Serve) -> None:
    events = openai_stream_events(["a", "b"])
    server = serve(lambda r: Reply(events=events, cut_after=2))
    done = chat("--backend", "openai", "--stream", input=json.dumps(REQUEST), openai=server)
    assert "stream interrupted" in one_error(done, 1)
    assert text_of(sse_chunks(done.stdout, done=False)) == "a"


def test_openai_server_error_retried_then_fails(chat: Chat, serve: Serve) -> None:
    error = openai_error_reply(502, "bad gateway")
    error.headers["retry-after-ms"] = "10"
    server = serve(lambda r: error)
    done = chat("--backend", "openai", "--max-retries", "1", input=json.dumps(REQUEST), openai=server)
    line = one_error(done, 1)
    assert line.startswith("protoshift: error: openai: 502") and "bad gateway" in line, line
    assert len(server.requests) == 2


def test_openai_loopback_needs_no_key(chat: Chat, serve: Serve) -> None:
    server = serve(lambda r: openai_completion_reply("local"))
    done = chat("--backend", "openai", "-p", "hi", openai=server, env={"OPENAI_API_KEY": ""})
    assert done.returncode == 0, done.stderr
    assert "authorization" not in server.requests[0].headers


# -- mock: offline ---------------------------------------------------------------------------------

OFFLINE = {"ANTHROPIC_API_KEY": "", "OPENAI_API_KEY": "", "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}


def test_mock_json(chat: Chat) -> None:
    done = chat("--backend", "mock", "-p", "hello mock world", env=OFFLINE)
    assert (done.returncode, done.stderr) == (0, b"")
    answer = completion(done.stdout)
    assert answer["choices"][0]["message"]["content"] == "You said: hello mock world"
    assert answer["choices"][0]["finish_reason"] == "stop"
    again = chat("--backend", "mock", "-p", "hello mock world", env=OFFLINE)
    assert completion(again.stdout)["id"] == answer["id"]  # deterministic


def test_mock_sse(chat: Chat) -> None:
    done = chat("--backend", "mock", "-p", "one two three", "--stream", env=OFFLINE)
    assert (done.returncode, done.stderr) == (0, b"")
    chunks = sse_chunks(done.stdout)
    assert [c["choices"][0]["delta"].get("content") for c in chunks[1:-1]] == [
        "You",
        " said:",
        " one",
        " two",
        " three",
    ]
    assert finish_reason(chunks) == "stop"


def test_mock_text(chat: Chat) -> None:
    for args in ((), ("--stream",)):
        done = chat("--backend", "mock", "-p", "plain text", "--format", "text", *args, env=OFFLINE)
        assert (done.returncode, done.stdout, done.stderr) == (0, b"You said: plain text\n", b"")


@pytest.mark.parametrize("stream", [False, True])
def test_mock_forced_tool_call(chat: Chat, stream: bool) -> None:
    request = {"messages": [{"role": "user", "content": "look it up"}], "tools": [TOOL], "tool_choice": "required"}
    done = chat("--backend", "mock", *(["--stream"] if stream else []), input=json.dumps(request), env=OFFLINE)
    assert (done.returncode, done.stderr) == (0, b"")
    if stream:
        chunks = sse_chunks(done.stdout)
        assert finish_reason(chunks) == "tool_calls"
        deltas = [tc for c in chunks for tc in c["choices"][0]["delta"].get("tool_calls") or ()]
        assert deltas[0]["index"] == 0 and deltas[0]["id"] == "toolu_mock_01"
        assert deltas[0]["function"]["name"] == "lookup"
        arguments = "".join(d["function"].get("arguments") or "" for d in deltas)
    else:
        choice = completion(done.stdout)["choices"][0]
        assert choice["finish_reason"] == "tool_calls"
        [call] = choice["message"]["tool_calls"]
        assert (call["id"], call["function"]["name"]) == ("toolu_mock_01", "lookup")
        arguments = call["function"]["arguments"]
    assert json.loads(arguments) == {"q": "mock", "n": 0}


def test_mock_text_format_shows_the_tool_call(chat: Chat) -> None:
    request = {"messages": [{"role": "user", "content": "x"}], "tools": [TOOL], "tool_choice": "required"}
    done = chat("--backend", "mock", "--format", "text", input=json.dumps(request), env=OFFLINE)
    assert done.returncode == 0, done.stderr
    assert done.stdout == b'tool call toolu_mock_01: lookup({"q":"mock","n":0})\n'


def test_mock_stop_and_length(chat: Chat) -> None:
    stop = chat("--backend", "mock", input=json.dumps({"messages": [{"role": "user", "content": "a b c"}],
                                                      "stop": ["b"]}), env=OFFLINE)  # fmt: skip
    choice = completion(stop.stdout)["choices"][0]
    assert (choice["finish_reason"], choice["message"]["content"]) == ("stop", "You said: a")
    length = chat("--backend", "mock", "-p", "a b c d e", "--max-tokens", "3", env=OFFLINE)
    choice = completion(length.stdout)["choices"][0]
    assert (choice["finish_reason"], choice["message"]["content"]) == ("length", "You said: a")


def test_mock_dry_run(chat: Chat) -> None:
    done = chat("--backend", "mock", "-p", "hi", "--dry-run", "-v", env=OFFLINE)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    assert "x-api-key: ***" in done.stderr.decode()
