"""`protoshift chat` end to end, the answers: text, tool calls, thinking, stop reasons; building the
request from flags, files and stdin; dry runs; what a pipeline sees (SSE framing, `| head`, bad JSON)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from protoshift.translator.sse import encode_chunk
from tests.fakes import anthropic_message_reply, anthropic_stream_reply

from .conftest import ANTHROPIC_KEY, PROTOSHIFT_CMD, Chat, Serve
from .helpers import (
    PROG,
    anthropic_bodies,
    completion,
    finish_reason,
    one_error,
    only_body,
    sse_chunks,
    stderr_lines,
    text_of,
)

TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                      "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                     "required": ["city"]}}},
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}},
]  # fmt: skip


def _request(**extra: Any) -> str:
    return json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "What is up?"}], **extra})


def _verbose_trace_only(done: subprocess.CompletedProcess[bytes]) -> None:
    """With -v and a clean run, stderr is the request/response trace, key shown as ***."""
    lines = stderr_lines(done)
    assert lines, "no -v trace"
    assert any("x-api-key: ***" in line for line in lines), lines
    assert all(line.startswith(PROG + "anthropic: ") for line in lines), lines


# -- text ------------------------------------------------------------------------------------------


def test_text_json(chat: Chat, serve: Serve) -> None:
    server = serve(lambda r: anthropic_message_reply("Hello, world."))
    done = chat("-p", "Say hello", "-v", server=server)
    assert done.returncode == 0, done.stderr
    answer = completion(done.stdout)
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": "Hello, world.", "refusal": None}
    assert answer["choices"][0]["finish_reason"] == "stop"
    assert answer["usage"]["prompt_tokens"] == 10 and answer["usage"]["completion_tokens"] == 5
    body = only_body(server)
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Say hello"}]}]
    assert "stream" not in body
    assert server.requests[0].headers["x-api-key"] == ANTHROPIC_KEY  # sent to the server, printed nowhere
    assert server.requests[0].headers["accept"] == "application/json"
    _verbose_trace_only(done)


def test_text_stream_sse_byte_exact(chat: Chat, serve: Serve) -> None:
    server = serve(lambda r: anthropic_stream_reply(texts=["Hel", "lo", ", wor", "ld ✓"]))
    done = chat("-p", "Say hello", "--stream", "-v", server=server)
    assert done.returncode == 0, done.stderr
    chunks = sse_chunks(done.stdout)
    # exactly what OpenAI's API sends: compact JSON frames and the [DONE] frame, nothing else
    assert done.stdout == b"".join(encode_chunk(c) for c in chunks) + b"data: [DONE]\n\n"
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert text_of(chunks) == "Hello, world ✓"
    assert finish_reason(chunks) == "stop"
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "claude-test" for c in chunks)
    body = only_body(server)
    assert body["stream"] is True
    assert server.requests[0].headers["accept"] == "text/event-stream"
    _verbose_trace_only(done)


def test_stream_format_jsonl_and_text(chat: Chat, serve: Serve) -> None:
    server = serve(lambda r: anthropic_stream_reply(texts=["one ", "two"]))
    jsonl = chat("-p", "count", "--stream", "--format", "jsonl", server=server)
    assert jsonl.returncode == 0, jsonl.stderr
    chunks = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert text_of(chunks) == "one two"
    text = chat("-p", "count", "--stream", "--format", "text", server=server)
    assert (text.returncode, text.stdout, text.stderr) == (0, b"one two\n", b"")


def test_json_format_adds_up_a_stream(chat: Chat, serve: Serve) -> None:
    server = serve(lambda r: anthropic_stream_reply(texts=["a", "b", "c"]))
    done = chat("-p", "abc", "--stream", "--format", "json", server=server)
    assert done.returncode == 0, done.stderr
    assert completion(done.stdout)["choices"][0]["message"]["content"] == "abc"
    assert only_body(server)["stream"] is True


# -- tool calls ------------------------------------------------------------------------------------


def test_tool_calls_json(chat: Chat, serve: Serve) -> None:
    blocks = [
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "toolu_02", "name": "get_time", "input": {}},
    ]
    server = serve(lambda r: anthropic_message_reply(blocks, stop_reason="tool_use"))
    done = chat(input=_request(tools=TOOLS, tool_choice="auto"), server=server)
    assert done.returncode == 0, done.stderr
    choice = completion(done.stdout)["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "Let me check."
    calls = choice["message"]["tool_calls"]
    assert [(c["id"], c["type"], c["function"]["name"]) for c in calls] == [
        ("toolu_01", "function", "get_weather"),
        ("toolu_02", "function", "get_time"),
    ]
    assert [json.loads(c["function"]["arguments"]) for c in calls] == [{"city": "Paris"}, {}]
    body = only_body(server)
    assert [t["name"] for t in body["tools"]] == ["get_weather", "get_time"]
    assert body["tools"][0]["input_schema"]["required"] == ["city"]
    assert body["tool_choice"] == {"type": "auto"}


def test_tool_calls_stream(chat: Chat, serve: Serve) -> None:
    calls = [("toolu_01", "get_weather", ['{"ci', 'ty": "Pa', 'ris"}']), ("toolu_02", "get_time", ["{}"])]
    server = serve(lambda r: anthropic_stream_reply(texts=["Checking."], tool_calls=calls))
    done = chat("--stream", input=_request(tools=TOOLS), server=server)
    assert done.returncode == 0, done.stderr
    chunks = sse_chunks(done.stdout)
    assert finish_reason(chunks) == "tool_calls"
    assert text_of(chunks) == "Checking."
    deltas = [tc for c in chunks if c["choices"] for tc in c["choices"][0]["delta"].get("tool_calls") or ()]
    by_index: dict[int, dict[str, Any]] = {}
    for delta in deltas:
        call = by_index.setdefault(delta["index"], {"id": None, "name": None, "arguments": ""})
        if "id" in delta:
            assert call["id"] is None, "the id comes once, in the first delta of a call"
            call["id"], call["name"] = delta["id"], delta["function"]["name"]
            assert delta["type"] == "function"
        call["arguments"] += delta["function"].get("arguments") or ""
    assert sorted(by_index) == [0, 1]  # tool call indexes count tool calls only, from 0
    assert by_index[0] == {"id": "toolu_01", "name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert (by_index[1]["id"], by_index[1]["name"], json.loads(by_index[1]["arguments"])) == (
        "toolu_02",
        "get_time",
        {},
    )
    assert only_body(server)["stream"] is True


# -- thinking --------------------------------------------------------------------------------------


def test_thinking_json(chat: Chat, serve: Serve) -> None:
    blocks = [
        {"type": "thinking", "thinking": "Two plus two is four.", "signature": "sig_abc123"},
        {"type": "text", "text": "4"},
    ]
    server = serve(lambda r: anthropic_message_reply(blocks))
    done = chat(input=_request(reasoning_effort="low", max_tokens=4000), server=server)
    assert done.returncode == 0, done.stderr
    message = completion(done.stdout)["choices"][0]["message"]
    assert message["content"] == "4"
    assert message["reasoning_content"] == "Two plus two is four."
    assert message["thinking_blocks"] == [
        {"type": "thinking", "thinking": "Two plus two is four.", "signature": "sig_abc123"}
    ]
    assert only_body(server)["thinking"]["type"] in ("enabled", "adaptive")


def test_thinking_stream(chat: Chat, serve: Serve) -> None:
    server = serve(lambda r: anthropic_stream_reply(thinking=["Two plus ", "two is four."], signature="sig_xyz",
                                                    texts=["4"]))  # fmt: skip
    done = chat("--stream", input=_request(reasoning_effort="low", max_tokens=4000), server=server)
    assert done.returncode == 0, done.stderr
    chunks = sse_chunks(done.stdout)
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert "".join(d.get("reasoning_content") or "" for d in deltas) == "Two plus two is four."
    blocks = [b for d in deltas for b in d.get("thinking_blocks") or ()]
    assert blocks == [{"type": "thinking", "thinking": "Two plus two is four.", "signature": "sig_xyz"}]
    assert text_of(chunks) == "4"
    assert finish_reason(chunks) == "stop"


# -- stop reasons ----------------------------------------------------------------------------------


def test_stop_sequence_is_finish_reason_stop(chat: Chat, serve: Serve) -> None:
    server = serve(lambda r: anthropic_message_reply("one, two, ", stop_reason="stop_sequence"))
    done = chat(input=_request(stop=["three"]), server=server)
    assert done.returncode == 0, done.stderr
    assert completion(done.stdout)["choices"][0]["finish_reason"] == "stop"
    assert only_body(server)["stop_sequences"] == ["three"]


def test_stop_sequence_stream(chat: Chat, serve: Serve) -> None:
    server = serve(lambda r: anthropic_stream_reply(texts=["one, ", "two, "], stop_reason="stop_sequence"))
    done = chat("--stream", input=_request(stop="three"), server=server)
    assert done.returncode == 0, done.stderr
    assert finish_reason(sse_chunks(done.stdout)) == "stop"
    assert only_body(server)["stop_sequences"] == ["three"]


def test_max_tokens_is_finish_reason_length(chat: Chat, serve: Serve) -> None:
    server = serve(lambda r: anthropic_message_reply("A long sto", stop_reason="max_tokens"))
    done = chat("-p", "Tell a story", "--max-tokens", "3", server=server)
    assert done.returncode == 0, done.stderr
    assert completion(done.stdout)["choices"][0]["finish_reason"] == "length"
    assert only_body(server)["max_tokens"] == 3


def test_max_tokens_stream(chat: Chat, serve: Serve) -> None:
    server = serve(lambda r: anthropic_stream_reply(texts=["A long"], stop_reason="max_tokens"))
    done = chat("-p", "Tell a story", "--max-tokens", "2", "--stream", server=server)
    assert done.returncode == 0, done.stderr
    assert finish_reason(sse_chunks(done.stdout)) == "length"
    assert only_body(server)["max_tokens"] == 2


# -- building the request --------------------------------------------------------------------------


def test_flags_build_the_request(chat: Chat, serve: Serve) -> None:
    server = serve(lambda r: anthropic_message_reply("ok"))
    done = chat("-p", "Hi there", "--system", "Be brief.", "-m", "claude-opus-x", "--max-tokens", "77", server=server)
    assert done.returncode == 0, done.stderr
    body = only_body(server)
    assert body["model"] == "claude-opus-x"
    assert body["max_tokens"] == 77
    assert body["system"] in ("Be brief.", [{"type": "text", "text": "Be brief."}])
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hi there"}]}]


def test_default_model_without_request_or_flag(chat: Chat, serve: Serve) -> None:
    server = serve(lambda r: anthropic_message_reply("ok"))
    assert chat("-p", "hi", server=server).returncode == 0
    body = only_body(server)
    assert body["model"].startswith("claude-")
    assert body["max_tokens"] > 0


def test_flags_override_and_append_to_a_file(chat: Chat, serve: Serve, tmp_path: Path) -> None:
    request = {
        "model": "claude-from-file",
        "max_tokens": 500,
        "messages": [
            {"role": "system", "content": "File system prompt."},
            {"role": "user", "content": "First question"},
            {"role": "assistant", "content": "First answer"},
        ],
    }
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    server = serve(lambda r: anthropic_message_reply("ok"))
    done = chat(str(path), "-p", "Second question", "--system", "Flag system prompt.", "-m", "claude-flag",
                "--max-tokens", "64", server=server)  # fmt: skip
    assert done.returncode == 0, done.stderr
    body = only_body(server)
    assert body["model"] == "claude-flag"
    assert body["max_tokens"] == 64
    system = body["system"] if isinstance(body["system"], str) else "\n".join(b["text"] for b in body["system"])
    assert "File system prompt." in system and "Flag system prompt." in system
    assert system.index("File system prompt.") < system.index("Flag system prompt.")
    assert [(m["role"], m["content"][0]["text"]) for m in body["messages"]] == [
        ("user", "First question"),
        ("assistant", "First answer"),
        ("user", "Second question"),
    ]
    # the file is read, never changed
    assert json.loads(path.read_text()) == request


def test_file_keeps_its_own_model_and_max_tokens(chat: Chat, serve: Serve, tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(_request(model="claude-in-file", max_tokens=123))
    server = serve(lambda r: anthropic_message_reply("ok"))
    assert chat(str(path), server=server).returncode == 0
    body = only_body(server)
    assert (body["model"], body["max_tokens"]) == ("claude-in-file", 123)


def test_request_from_stdin(chat: Chat, serve: Serve) -> None:
    server = serve(lambda r: anthropic_message_reply("from stdin"))
    for args in ((), ("-",)):
        done = chat(*args, input=_request(), server=server)
        assert done.returncode == 0, done.stderr
        assert completion(done.stdout)["choices"][0]["message"]["content"] == "from stdin"
    bodies = anthropic_bodies(server)
    assert len(bodies) == 2
    assert all(b["messages"][0]["content"][0]["text"] == "What is up?" for b in bodies)


def test_request_stream_flag_in_file_streams(chat: Chat, serve: Serve) -> None:
    server = serve(lambda r: anthropic_stream_reply(texts=["x"]))
    done = chat(input=_request(stream=True), server=server)
    assert done.returncode == 0, done.stderr
    assert text_of(sse_chunks(done.stdout)) == "x"


# -- dry run ---------------------------------------------------------------------------------------


def test_dry_run_prints_the_body_and_sends_nothing(chat: Chat, serve: Serve) -> None:
    server = serve(lambda r: anthropic_message_reply("never"))
    done = chat("-p", "hello", "--system", "sys", "-m", "claude-dry", server=server)
    assert done.returncode == 0
    sent = only_body(server)
    server.requests.clear()
    dry = chat("-p", "hello", "--system", "sys", "-m", "claude-dry", "--dry-run", server=server)
    assert (dry.returncode, dry.stderr) == (0, b"")
    assert server.requests == []
    assert json.loads(dry.stdout) == sent  # exactly the body a real run sends


def test_dry_run_verbose_shows_headers_with_the_key_hidden(chat: Chat, serve: Serve) -> None:
    server = serve(lambda r: anthropic_message_reply("never"))
    dry = chat("-p", "hello", "--stream", "--dry-run", "-v", server=server)
    assert dry.returncode == 0, dry.stderr
    assert server.requests == []
    body = json.loads(dry.stdout)
    assert body["stream"] is True
    lines = stderr_lines(dry)
    assert f"{PROG}POST {server.url}/v1/messages" in lines
    assert f"{PROG}  x-api-key: ***" in lines
    assert f"{PROG}  anthropic-version: 2023-06-01" in lines
    assert f"{PROG}  accept: text/event-stream" in lines


# -- pipelines -------------------------------------------------------------------------------------


@pytest.mark.process  # a pipe whose reader goes away
def test_head_closing_a_long_stream_is_quiet(serve: Serve, cli_env: dict[str, str]) -> None:
    server = serve(lambda r: anthropic_stream_reply(texts=[f"word{i} " for i in range(3000)]))
    env = {**cli_env, "ANTHROPIC_API_KEY": ANTHROPIC_KEY, "ANTHROPIC_BASE_URL": server.url}
    done = subprocess.run(
        f"{PROTOSHIFT_CMD} chat -p long --stream | head -c 100; echo \"exit=${{PIPESTATUS[0]}}\" >&2",
        shell=True, executable="/bin/bash", capture_output=True, env=env, timeout=30,
    )  # fmt: skip
    assert len(done.stdout) == 100
    assert done.stdout.startswith(b"data: {")
    stderr = done.stderr.decode()
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr and "Exception ignored" not in stderr, stderr
    assert stderr.strip().splitlines() == ["exit=0"], stderr


def test_bad_json_names_file_line_and_column(chat: Chat, tmp_path: Path, serve: Serve) -> None:
    server = serve(lambda r: anthropic_message_reply("never"))
    path = tmp_path / "broken.json"
    path.write_text('{\n  "messages": [\n    {"role": "user", "content": "hi",}\n  ]\n}\n')
    done = chat(str(path), server=server)
    line = one_error(done, 2)
    assert f"{path}:3:37: invalid JSON: trailing comma" in line, line  # the comma, not the } after it
    assert done.stdout == b""
    stdin = chat(input=b"{not json", server=server)
    assert "<stdin>:1:2" in one_error(stdin, 2)
    assert server.requests == []


def test_untranslatable_request_exits_2(chat: Chat, serve: Serve) -> None:
    server = serve(lambda r: anthropic_message_reply("never"))
    done = chat(input=_request(n=3), server=server)
    line = one_error(done, 2)
    assert "n" in line
    assert server.requests == []


def test_missing_key_exits_2_and_names_the_variable(chat: Chat, serve: Serve) -> None:
    server = serve(lambda r: anthropic_message_reply("never"))
    done = chat("-p", "hi", server=server, env={"ANTHROPIC_API_KEY": ""})
    assert "ANTHROPIC_API_KEY" in one_error(done, 2)
    assert server.requests == []


def test_empty_stdin_is_bad_input(chat: Chat) -> None:
    done = chat(input=b"")
    assert "<stdin>" in one_error(done, 2)
    assert done.stdout == b""


def test_prompt_appends_to_a_piped_request(chat: Chat, serve: Serve) -> None:
    """-p appends to the request piped on stdin (as with `-`); with nothing piped it stands alone."""
    server = serve(lambda r: anthropic_message_reply("ok"))
    assert chat("-p", "only this", input=b"", server=server).returncode == 0
    assert chat("-p", "and this", input=_request(), server=server).returncode == 0
    fresh, appended = anthropic_bodies(server)
    assert [m["content"][0]["text"] for m in fresh["messages"]] == ["only this"]
    # two user turns in a row become one Anthropic user turn with two text blocks
    assert appended["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "What is up?"}, {"type": "text", "text": "and this"}]}
    ]
