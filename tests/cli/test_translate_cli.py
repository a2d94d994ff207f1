"""`protoshift translate ...` driven as a shell would: stdout data only, stderr lines, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.oracles import assert_valid_anthropic_body, assert_valid_chunk, assert_valid_completion

from .conftest import PROTOSHIFT, RunCLI

EXAMPLES = Path(__file__).parents[2] / "examples"

HELLO = {"model": "claude-x", "messages": [{"role": "user", "content": "hi"}]}


def sse_event(obj: dict[str, object]) -> str:
    return f"event: {obj['type']}\ndata: {json.dumps(obj)}\n\n"


def anthropic_stream(*texts: str, stop: bool = True, error: dict[str, str] | None = None) -> str:
    events: list[dict[str, object]] = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_cli",
                "type": "message",
                "role": "assistant",
                "model": "claude-x",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 3, "output_tokens": 1},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    events += [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}} for t in texts]
    if error:
        events.append({"type": "error", "error": error})
    elif stop:
        events += [
            {"type": "content_block_stop", "index": 0},
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 4}},
            {"type": "message_stop"},
        ]
    return "".join(sse_event(e) for e in events)


def openai_chunks(stdout: bytes) -> tuple[list[dict[str, object]], bool]:
    chunks, done = [], False
    for block in stdout.decode().split("\n\n"):
        if not block:
            continue
        assert block.startswith("data: "), block
        payload = block[len("data: ") :]
        if payload == "[DONE]":
            done = True
        else:
            chunks.append(json.loads(payload))
    return chunks, done


# ---- translate request ----------------------------------------------------------------------


def test_request_from_file_prints_a_valid_anthropic_body_and_notes_on_stderr(run_cli: RunCLI, tmp_path: Path) -> None:
    source = tmp_path / "hello.json"
    source.write_text(json.dumps({**json.loads((EXAMPLES / "hello.json").read_text()), "seed": 42}))
    result = run_cli("translate", "request", str(source))
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert_valid_anthropic_body(body)
    assert body["system"] == [{"type": "text", "text": "You are a concise assistant."}]
    assert body["max_tokens"] == 256
    assert b"seed: dropped" in result.stderr  # what was lost is said, on stderr only


def test_request_from_stdin(run_cli: RunCLI) -> None:
    result = run_cli("translate", "request", input=json.dumps(HELLO))
    assert result.returncode == 0
    assert json.loads(result.stdout)["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    assert result.stderr == b""


def test_quiet_silences_notes(run_cli: RunCLI) -> None:
    result = run_cli("translate", "request", "-q", str(EXAMPLES / "hello.json"))
    assert result.returncode == 0
    assert result.stderr == b""


def test_invalid_json_is_one_line_naming_file_line_and_column(run_cli: RunCLI, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "model": "x",\n  "messages": [,]\n}\n')
    result = run_cli("translate", "request", str(bad))
    assert result.returncode == 2
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1
    assert f"{bad}:3:16: invalid JSON" in lines[0]
    assert result.stdout == b""


def test_untranslatable_field_names_the_json_path(run_cli: RunCLI) -> None:
    request = {**HELLO, "messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]}
    result = run_cli("translate", "request", input=json.dumps(request))
    assert result.returncode == 2
    line = result.stderr.decode().strip()
    assert "\n" not in line
    assert "messages[0].content[0].type" in line
    assert "audio" in line
    assert "Traceback" not in line


def test_strict_refuses_what_would_be_dropped(run_cli: RunCLI) -> None:
    result = run_cli("translate", "request", "--strict", input=json.dumps({**HELLO, "seed": 7, "max_tokens": 10}))
    assert result.returncode == 2
    assert b"seed" in result.stderr and b"strict" in result.stderr


def test_explain_prints_a_table_of_every_field_on_stderr(run_cli: RunCLI) -> None:
    result = run_cli("translate", "request", "--explain", str(EXAMPLES / "tools.json"))
    assert result.returncode == 0
    assert_valid_anthropic_body(json.loads(result.stdout))
    table = result.stderr.decode()
    for field in ("model", "messages", "tools", "tool_choice", "parallel_tool_calls", "max_tokens"):
        assert field in table
    assert "mapped" in table and "defaulted" in table


def test_several_files_need_an_out_dir(run_cli: RunCLI) -> None:
    result = run_cli("translate", "request", str(EXAMPLES / "hello.json"), str(EXAMPLES / "tools.json"))
    assert result.returncode == 2
    assert b"--out-dir" in result.stderr


def test_several_files_and_folders_go_to_out_dir_with_the_same_names(run_cli: RunCLI, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(HELLO))
    (folder / "b.json").write_text(json.dumps({**HELLO, "model": "claude-b"}))
    (folder / "ignored.txt").write_text("not a request")
    out = tmp_path / "out"
    result = run_cli("translate", "request", str(folder), str(EXAMPLES / "tools.json"), "--out-dir", str(out))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a.json", "b.json", "tools.json"]
    assert json.loads((out / "b.json").read_text())["model"] == "claude-b"
    for path in out.iterdir():
        assert_valid_anthropic_body(json.loads(path.read_text()))


def test_a_bad_file_among_several_is_reported_and_the_rest_are_written(run_cli: RunCLI, tmp_path: Path) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(HELLO))
    bad.write_text(json.dumps({"model": "x"}))
    out = tmp_path / "out"
    result = run_cli("translate", "request", str(bad), str(good), "-d", str(out))
    assert result.returncode == 2
    assert [p.name for p in out.iterdir()] == ["good.json"]
    assert f"{bad}: messages: is required" in result.stderr.decode()


def test_jsonl_gives_one_line_per_input_line_and_goes_on_after_a_failure(run_cli: RunCLI) -> None:
    source = (EXAMPLES / "requests-bad.jsonl").read_bytes()
    result = run_cli("translate", "request", "--jsonl", input=source)
    assert result.returncode == 2
    lines = result.stdout.decode().splitlines()
    assert len(lines) == len(source.decode().splitlines()) == 4
    outputs = [json.loads(line) for line in lines]
    assert outputs[2]["error"]["line"] == 3
    assert outputs[2]["error"]["path"] == "messages[0].role"
    for i in (0, 1, 3):
        assert_valid_anthropic_body(outputs[i])
    assert "<stdin>:3: messages[0].role" in result.stderr.decode()


def test_jsonl_invalid_json_line_reports_its_line_number(run_cli: RunCLI) -> None:
    result = run_cli("translate", "request", "--jsonl", input=json.dumps(HELLO) + "\n{oops\n")
    assert result.returncode == 2
    out = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert "error" not in out[0]
    assert out[1]["error"]["line"] == 2
    assert "<stdin>:2:2: invalid JSON" in result.stderr.decode()


# ---- translate response ---------------------------------------------------------------------


def test_response_gives_a_valid_chat_completion(run_cli: RunCLI) -> None:
    result = run_cli("translate", "response", str(EXAMPLES / "anthropic-message.json"))
    assert result.returncode == 0, result.stderr
    completion = assert_valid_completion(json.loads(result.stdout))
    assert completion.id == "chatcmpl-01ExampleMessage"
    assert completion.choices[0].finish_reason == "tool_calls"
    call = completion.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert json.loads(call.function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]
    assert completion.usage is not None and completion.usage.prompt_tokens == 220


# ---- translate stream -----------------------------------------------------------------------


def test_stream_writes_what_openai_would_send(run_cli: RunCLI) -> None:
    result = run_cli("translate", "stream", "--include-usage", str(EXAMPLES / "anthropic-stream.sse"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith(b"data: [DONE]\n\n")
    chunks, done = openai_chunks(result.stdout)
    assert done
    for chunk in chunks:
        assert_valid_chunk(chunk)
    assert {c["id"] for c in chunks} == {"chatcmpl-01ExampleStream"}
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])  # type: ignore[index,union-attr]
    assert text == "Hello, world!"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 17  # type: ignore[index]


def test_stream_error_event_keeps_earlier_output_and_exits_1(run_cli: RunCLI) -> None:
    stream = anthropic_stream("Hel", "lo", error={"type": "overloaded_error", "message": "Overloaded"})
    result = run_cli("translate", "stream", input=stream)
    assert result.returncode == 1
    chunks, done = openai_chunks(result.stdout)
    assert not done
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "Hello"  # type: ignore[index,union-attr]
    err = result.stderr.decode().strip()
    assert "\n" not in err and "overloaded_error" in err and "Overloaded" in err


def test_stream_cut_before_message_stop_exits_1(run_cli: RunCLI) -> None:
    result = run_cli("translate", "stream", input=anthropic_stream("partial", stop=False))
    assert result.returncode == 1
    assert b"partial" in result.stdout
    assert b"cut" in result.stderr


@pytest.mark.process  # a pipe still open while output must already come out
def test_stream_is_translated_live_not_after_the_input_ends(cli_env: dict[str, str]) -> None:
    """A chunk comes out while the input is still open, as with `curl ... | protoshift translate stream`."""
    proc = subprocess.Popen(
        [PROTOSHIFT, "translate", "stream"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=cli_env
    )
    assert proc.stdin and proc.stdout
    try:
        full = anthropic_stream("first")
        head = full[: full.index("event: content_block_stop")]
        proc.stdin.write(head.encode())
        proc.stdin.flush()
        os.set_blocking(proc.stdout.fileno(), False)
        seen = b""
        deadline = time.monotonic() + 20
        while b'"first"' not in seen and time.monotonic() < deadline:
            seen += proc.stdout.read() or b""
            time.sleep(0.02)
        assert b'"content":"first"' in seen
        proc.stdin.write(full[len(head) :].encode())
        proc.stdin.close()
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()


def test_bad_sse_data_is_bad_input(run_cli: RunCLI) -> None:
    result = run_cli("translate", "stream", input="data: {not json\n\n")
    assert result.returncode == 2
    assert b"not JSON" in result.stderr


def test_no_input_on_a_terminal_is_a_usage_error_not_a_hang(run_cli: RunCLI, tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    result = run_cli("translate", "request", str(missing))
    assert result.returncode == 2
    assert result.stderr.decode().strip() == f"protoshift: error: {missing}: no such file"


@pytest.mark.process  # a pipe whose reader goes away
def test_reader_going_away_is_a_quiet_exit(cli_env: dict[str, str], tmp_path: Path) -> None:
    many = tmp_path / "many.jsonl"
    many.write_text((json.dumps(HELLO) + "\n") * 20000)
    result = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {PROTOSHIFT} translate request --jsonl {many} | head -n 1"],
        capture_output=True,
        env=cli_env,
        timeout=60,
    )
    assert result.returncode == 0  # not 1: the reader leaving is not a provider failure
    assert len(result.stdout.splitlines()) == 1
    assert b"Traceback" not in result.stderr
    assert b"Broken pipe" not in result.stderr


# ---- every problem at once, bodies right for the model (issue 10) -----------------------------

FIVE_PROBLEMS = {
    "model": "claude-sonnet-4-5",
    "messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}]}],
    "temperature": 7,
    "n": 3,
    "logprobs": True,
    "tools": [{"type": "function", "function": {"name": "bad name!"}}],
}
FIVE_PATHS = ["messages[0].content[0].type", "temperature", "n", "logprobs", "tools[0].function.name"]


def error_lines(stderr: bytes) -> list[str]:
    return [line for line in stderr.decode().splitlines() if line.startswith("protoshift: error: ")]


def test_a_request_with_five_problems_prints_five_error_lines_and_writes_nothing(
    run_cli: RunCLI, tmp_path: Path
) -> None:
    source = tmp_path / "five.json"
    source.write_text(json.dumps(FIVE_PROBLEMS))
    result = run_cli("translate", "request", str(source))
    assert result.returncode == 2
    assert result.stdout == b""
    lines = error_lines(result.stderr)
    assert [line.removeprefix(f"protoshift: error: {source}: ").split(":")[0] for line in lines] == FIVE_PATHS
    assert "Traceback" not in result.stderr.decode()


def test_jsonl_error_lines_name_the_line_and_carry_every_problem(run_cli: RunCLI) -> None:
    result = run_cli(
        "translate", "request", "--jsonl", input=json.dumps(HELLO) + "\n" + json.dumps(FIVE_PROBLEMS) + "\n"
    )
    assert result.returncode == 2
    out = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [p["path"] for p in out[1]["error"]["problems"]] == FIVE_PATHS
    assert [line.split(": ")[2] for line in error_lines(result.stderr)] == ["<stdin>:2"] * 5


def test_explain_shows_the_whole_table_of_a_refused_request(run_cli: RunCLI) -> None:
    request = {**FIVE_PROBLEMS, "seed": 3, "mystery": 1}
    result = run_cli("translate", "request", "--explain", input=json.dumps(request))
    assert result.returncode == 2
    rows = {
        line.split()[0]: line.split()[1]
        for line in result.stderr.decode().splitlines()
        if line[:1].strip() and not line.startswith("protoshift")  # not a wrapped continuation
    }
    assert rows["n"] == "refused" and rows["tools[0].function.name"] == "refused"
    assert rows["seed"] == "dropped" and rows["mystery"] == "dropped" and rows["model"] == "mapped"


def test_dash_m_replaces_the_model_and_shapes_the_body_for_it(run_cli: RunCLI) -> None:
    request = {**HELLO, "temperature": 0.3, "reasoning_effort": "low"}
    result = run_cli("translate", "request", "-m", "claude-opus-4-7", input=json.dumps(request))
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["model"] == "claude-opus-4-7"
    assert "temperature" not in body and body["thinking"] == {"type": "adaptive"}
    assert b"temperature: dropped: claude-opus-4-7 takes no sampling parameters" in result.stderr


def test_config_file_rows_extend_the_model_table(run_cli: RunCLI, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[models."claude-x*"]\nmax_output = 1024\nsampling = "none"\n')
    result = run_cli(
        "translate", "request", input=json.dumps({**HELLO, "temperature": 0.5}), env={"PROTOSHIFT_CONFIG": str(config)}
    )
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["max_tokens"] == 1024 and "temperature" not in body


def test_a_malformed_model_row_in_the_config_is_one_error_line(run_cli: RunCLI, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[models."claude-x*"]\nsampling = "sometimes"\n')
    result = run_cli("translate", "request", input=json.dumps(HELLO), env={"PROTOSHIFT_CONFIG": str(config)})
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        f'protoshift: error: {config}: models."claude-x*".sampling: expected one of all, one, none'
    ]
