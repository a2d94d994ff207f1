"""The harness around Claude Code, without Claude Code: fast, in the default run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.agents import claude_code
from tests.agents.claude_code import ClaudeCodeResult


def test_the_environment_is_built_from_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-of-the-machine")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    env = claude_code._base_env(tmp_path / "home", tmp_path / "tmp")
    assert "ANTHROPIC_API_KEY" not in env and "HTTPS_PROXY" not in env
    assert env["HOME"] == str(tmp_path / "home") and env["TMPDIR"] == str(tmp_path / "tmp")
    for off in ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "DISABLE_TELEMETRY", "DISABLE_AUTOUPDATER", "IS_SANDBOX"):
        assert env[off] == "1"


def test_stream_json_is_read_into_results_tool_uses_and_retries(tmp_path: Path) -> None:
    lines = [
        {"type": "system", "subtype": "init", "model": "m"},
        {"type": "system", "subtype": "api_retry", "attempt": 1, "error_status": 429, "retry_delay_ms": 1100},
        {"type": "assistant", "message": {"content": [{"type": "tool_use", "id": "toolu_1", "name": "Write",
                                                       "input": {"file_path": "a", "content": "b"}}]}},
        {"type": "user", "message": {"content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}]}},
        {"type": "result", "subtype": "success", "is_error": False, "result": "Done.", "num_turns": 2},
    ]  # fmt: skip
    stdout = "\n".join(json.dumps(line) for line in lines) + "\nnot json\n"
    events = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    result = ClaudeCodeResult(0, stdout, "", tmp_path, tmp_path, 0.5, False, events)
    assert result.ok and result.final_text == "Done." and not result.errors()
    assert [u["name"] for u in result.tool_uses()] == ["Write"]
    assert result.tool_results()["toolu_1"]["content"] == "ok"
    assert [r["error_status"] for r in result.retries()] == [429]
    failed = ClaudeCodeResult(1, "", "", tmp_path, tmp_path, 0.5, False,
                              [{"type": "result", "is_error": True, "result": "API Error: 400 nope"}])  # fmt: skip
    assert not failed.ok and failed.errors() == ["API Error: 400 nope"]
