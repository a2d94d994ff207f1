"""How `chat` builds its request: INPUT, piped stdin, -p, --system, -m, --max-tokens (no network: --dry-run)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.oracles import assert_valid_anthropic_body

from .conftest import RunCLI


def dry_run(run_cli: RunCLI, *args: str, stdin: str = "") -> dict[str, object]:
    done = run_cli("chat", "--backend", "mock", "--dry-run", *args, input=stdin)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert_valid_anthropic_body(body)
    return body


def test_prompt_alone_builds_a_request(run_cli: RunCLI) -> None:
    body = dry_run(run_cli, "-p", "Hello", "--system", "Be brief.", "-m", "claude-x", "--max-tokens", "99")
    assert body["model"] == "claude-x" and body["max_tokens"] == 99
    assert body["system"] == [{"type": "text", "text": "Be brief."}]
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}]


def test_piped_text_with_a_prompt_is_what_the_prompt_is_about(run_cli: RunCLI) -> None:
    body = dry_run(run_cli, "-p", "Summarize:", stdin="Line one.\nLine two.\n")
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Summarize:\n\nLine one.\nLine two.\n"}]}
    ]


def test_piped_request_with_a_prompt_gets_the_prompt_appended(run_cli: RunCLI) -> None:
    request = {
        "model": "claude-y",
        "messages": [{"role": "user", "content": "first"}, {"role": "assistant", "content": "ok"}],
    }
    body = dry_run(run_cli, "-p", "second", "--system", "Sys", stdin=json.dumps(request))
    assert body["model"] == "claude-y"
    assert body["system"] == [{"type": "text", "text": "Sys"}]
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][-1]["content"] == [{"type": "text", "text": "second"}]


def test_a_broken_piped_request_is_an_error_not_text(run_cli: RunCLI) -> None:
    done = run_cli("chat", "--backend", "mock", "-p", "x", input='{"model": ')
    assert done.returncode == 2
    assert b"<stdin>:1:" in done.stderr and b"invalid JSON" in done.stderr


def test_input_file_and_dash(run_cli: RunCLI, tmp_path: Path) -> None:
    path = tmp_path / "req.json"
    path.write_text(json.dumps({"model": "m", "messages": [{"role": "user", "content": "from file"}]}))
    assert dry_run(run_cli, str(path))["messages"][0]["content"][0]["text"] == "from file"
    piped = json.dumps({"model": "m", "messages": [{"role": "user", "content": "from dash"}]})
    assert dry_run(run_cli, "-", stdin=piped)["messages"][0]["content"][0]["text"] == "from dash"


def test_nothing_to_send_is_a_usage_error(run_cli: RunCLI) -> None:
    done = run_cli("chat", "--backend", "mock", input="")
    assert done.returncode == 2
    assert b"nothing to send" in done.stderr
