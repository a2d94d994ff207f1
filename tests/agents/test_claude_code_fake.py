"""Claude Code itself (`claude -p`, npm @anthropic-ai/claude-code, pinned in claude_code.py) against the fake
Anthropic Messages API: a tool round that writes a file, parallel tools, a 429, a cut stream, a long
silence with and without pings, `/context`, the gateway model list, and what it sends.

These prove the harness for issue 21's "Claude Code against serve in front of each kind of upstream":
the same runs with `protoshift serve` between Claude Code and the chat fakes (fake_chat.py). Marked
`agents` (not in the default run): `uv run pytest -m agents`. Every run is bounded (ClaudeCodeRunner.run's
timeout) and everything it started is killed at its end.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.agents import fake_anthropic as fa
from tests.agents.capture_claude_code import FIXTURES, SESSION_PROMPT, Redactor, expand, session_script
from tests.agents.claude_code import (
    CLAUDE_CODE_VERSION,
    GATEWAY_MODEL,
    MARK_ENV,
    ClaudeCodeResult,
    ClaudeCodeRunner,
)
from tests.fakes import Reply

pytestmark = [pytest.mark.agents, pytest.mark.timeout(900)]  # the first test may install Claude Code (npm)

Start = Callable[..., fa.FakeAnthropic]
# The byte watchdog's floor (a smaller value is raised to it): with it, a stall is seen after 10 s, where
# the default for a base URL that is not Anthropic's is 300 s (measured once: README.md here).
QUICK_WATCHDOG = {"CLAUDE_BYTE_STREAM_IDLE_TIMEOUT_MS": "10000"}


def succeeded(result: ClaudeCodeResult, api: fa.FakeAnthropic) -> None:
    assert not api.refusals, [r.error for r in api.refusals]
    assert result.ok, result.explain()


def last_user_blocks(request: Any) -> list[dict[str, Any]]:
    user = [m for m in request.json["messages"] if m["role"] == "user"][-1]
    return user["content"] if isinstance(user["content"], list) else [{"type": "text", "text": user["content"]}]


def test_text_answer_what_it_sends_and_the_usage_it_reads(claude_code: ClaudeCodeRunner, anthropic_api: Start) -> None:
    usage = fa.Usage(input_tokens=1200, output_tokens=9, cache_read_input_tokens=1024)
    api = anthropic_api([fa.text("Hello from the fake.", usage=usage)])
    result = claude_code.run("Say hello.", base_url=api.url, api_key=api.key, model=GATEWAY_MODEL)
    succeeded(result, api)
    assert result.final_text == "Hello from the fake."
    assert result.result is not None
    assert result.result["usage"]["input_tokens"] == 1200 and result.result["usage"]["cache_read_input_tokens"] == 1024
    [request] = api.turns
    headers, body = request.headers, request.json
    assert request.path == "/v1/messages?beta=true"
    assert headers["x-api-key"] == api.key and "authorization" not in headers
    assert headers["anthropic-version"] == "2023-06-01" and headers["x-app"] == "cli"
    assert headers["user-agent"].startswith(f"claude-cli/{CLAUDE_CODE_VERSION} ")
    assert "claude-code-20250219" in headers["anthropic-beta"].split(",")
    assert body["model"] == GATEWAY_MODEL and body["stream"] is True
    assert body["system"][0]["text"].startswith(f"x-anthropic-billing-header: cc_version={CLAUDE_CODE_VERSION}.")
    assert set(json.loads(body["metadata"]["user_id"])) == {"device_id", "account_uuid", "session_id"}
    # for a model name it does not know: adaptive thinking, an effort, and a system-role message after the prompt
    assert body["thinking"]["type"] == "adaptive" and "effort" in body["output_config"]
    assert [m["role"] for m in body["messages"]] == ["user", "system"]


def test_a_tool_round_writes_a_file(claude_code: ClaudeCodeRunner, anthropic_api: Start, tmp_path: Path) -> None:
    target = tmp_path / "work1" / "hello.txt"  # the run's working directory (the runner's first)
    write = fa.tool_use("Write", {"file_path": str(target), "content": "written by claude code\n"}, id="toolu_w")
    api = anthropic_api([fa.tool_uses(write, thinking="Write the file first."), fa.text("Wrote hello.txt.")])
    result = claude_code.run("Write hello.txt.", base_url=api.url, api_key=api.key, model=GATEWAY_MODEL)
    succeeded(result, api)
    assert target.read_text() == "written by claude code\n"
    assert result.final_text == "Wrote hello.txt."
    assert "File created successfully" in str(result.tool_results()["toolu_w"]["content"])
    second = api.turns[1].json["messages"]
    [assistant] = [m for m in second if m["role"] == "assistant"]
    # the signed thinking came back as it was given (the fake refuses a changed signature)
    assert [b["type"] for b in assistant["content"]] == ["thinking", "tool_use"]
    assert assistant["content"][0]["signature"] == api.sign("Write the file first.")
    [answer] = last_user_blocks(api.turns[1])
    assert answer["type"] == "tool_result" and answer["tool_use_id"] == "toolu_w"


def test_parallel_tools_run_and_come_back_together(
    claude_code: ClaudeCodeRunner, anthropic_api: Start, tmp_path: Path
) -> None:
    work = tmp_path / "work1"
    uses = (fa.tool_use("Write", {"file_path": str(work / "a.txt"), "content": "a\n"}, id="toolu_a"),
            fa.tool_use("Bash", {"command": "echo b > b.txt", "description": "Write b.txt"}, id="toolu_b"))  # fmt: skip
    api = anthropic_api([fa.tool_uses(*uses), fa.text("Both written.")])
    result = claude_code.run("Write a.txt and b.txt.", base_url=api.url, api_key=api.key, model=GATEWAY_MODEL)
    succeeded(result, api)
    assert (work / "a.txt").read_text() == "a\n" and (work / "b.txt").read_text() == "b\n"
    assert [b["tool_use_id"] for b in last_user_blocks(api.turns[1])] == ["toolu_a", "toolu_b"]  # one message
    assert result.tool_results()["toolu_b"]["is_error"] is False


def test_a_429_is_retried_after_retry_after(claude_code: ClaudeCodeRunner, anthropic_api: Start) -> None:
    api = anthropic_api([fa.rate_limited(1), fa.text("After the wait.")])
    result = claude_code.run("Say something.", base_url=api.url, api_key=api.key, model=GATEWAY_MODEL)
    succeeded(result, api)
    assert result.final_text == "After the wait." and len(api.turns) == 2
    [retry] = result.retries()
    assert retry["error_status"] == 429 and retry["retry_delay_ms"] >= 1000  # retry-after: 1, honored
    assert retry["max_retries"] == 10  # its default


def test_429_until_the_retries_run_out(claude_code: ClaudeCodeRunner, anthropic_api: Start) -> None:
    api = anthropic_api([fa.rate_limited(0)] * 3)
    result = claude_code.run("Say something.", base_url=api.url, api_key=api.key, model=GATEWAY_MODEL,
                             env={"CLAUDE_CODE_MAX_RETRIES": "1"})  # fmt: skip
    assert result.returncode == 1 and not result.timed_out, result.explain()
    assert len(api.turns) == 2  # the first try and one retry
    assert result.result is not None and result.result["api_error_status"] == 429
    assert "Request rejected (429)" in (result.final_text or "")


def test_a_cut_stream_is_retried(claude_code: ClaudeCodeRunner, anthropic_api: Start) -> None:
    api = anthropic_api([fa.cut(fa.text("A first answer that never ends.", chunks=6), after=5), fa.text("Second try.")])
    result = claude_code.run("Say something.", base_url=api.url, api_key=api.key, model=GATEWAY_MODEL)
    succeeded(result, api)
    assert result.final_text == "Second try."  # what the cut stream had given is dropped
    [retry] = result.retries()
    assert retry["error_status"] is None  # a connection error: no HTTP status
    assert [t.json["stream"] for t in api.turns] == [True, True]


def test_a_stream_that_keeps_dying_ends_in_one_request_without_streaming(
    claude_code: ClaudeCodeRunner, anthropic_api: Start
) -> None:
    dying = fa.cut(fa.text("Never finished.", chunks=6), after=5)  # not streamed: the body never comes
    api = anthropic_api([dying] * 3)
    result = claude_code.run("Say something.", base_url=api.url, api_key=api.key, model=GATEWAY_MODEL,
                             env={"CLAUDE_CODE_MAX_RETRIES": "1"})  # fmt: skip
    assert result.returncode == 1 and not result.timed_out, result.explain()
    assert [t.json["stream"] for t in api.turns] == [True, True, False]
    assert result.result is not None and result.result["is_error"]


def test_an_error_event_falls_back_to_a_request_without_streaming(
    claude_code: ClaudeCodeRunner, anthropic_api: Start
) -> None:
    api = anthropic_api([fa.stream_error(fa.text("Overloaded midway.", chunks=6), after=5), fa.text("Not streamed.")])
    result = claude_code.run("Say something.", base_url=api.url, api_key=api.key, model=GATEWAY_MODEL)
    succeeded(result, api)
    assert result.final_text == "Not streamed."
    assert [t.json["stream"] for t in api.turns] == [True, False]
    assert api.turns[1].headers["x-stainless-timeout"] == "300"


def test_a_long_silence_with_pings_is_waited_through(claude_code: ClaudeCodeRunner, anthropic_api: Start) -> None:
    """14 s without a content event, a ping every second: longer than the 10 s watchdog, and survived."""
    api = anthropic_api([fa.stall(fa.text("Worth the wait."), after=3, seconds=14, ping_every=1.0)])
    result = claude_code.run("Think hard.", base_url=api.url, api_key=api.key, model=GATEWAY_MODEL, env=QUICK_WATCHDOG)
    succeeded(result, api)
    assert result.final_text == "Worth the wait." and len(api.turns) == 1


def test_a_long_silence_without_pings_is_given_up(claude_code: ClaudeCodeRunner, anthropic_api: Start) -> None:
    """The stream goes silent (until the fake closes): after the watchdog's 10 s Claude Code drops it and
    asks again without streaming."""
    api = anthropic_api([fa.stall(fa.text("Never comes."), after=3), fa.text("Not streamed.")])
    result = claude_code.run("Think hard.", base_url=api.url, api_key=api.key, model=GATEWAY_MODEL, env=QUICK_WATCHDOG)
    succeeded(result, api)
    assert result.final_text == "Not streamed."
    assert [t.json["stream"] for t in api.turns] == [True, False]


def test_context_counts_tokens(claude_code: ClaudeCodeRunner, anthropic_api: Start) -> None:
    api = anthropic_api([])
    result = claude_code.run("/context", base_url=api.url, api_key=api.key, model=GATEWAY_MODEL)
    succeeded(result, api)
    assert "Context Usage" in (result.final_text or "") and GATEWAY_MODEL in (result.final_text or "")
    assert not api.turns and len(api.counted) >= 20  # 24 here: one per section, per tool group, per deferred tool
    assert {r.path for r in api.counted} == {"/v1/messages/count_tokens?beta=true"}
    assert all("token-counting-2024-11-01" in r.headers["anthropic-beta"] for r in api.counted)
    assert max(len(r.json.get("tools", [])) for r in api.counted) >= 10  # the tools, counted together once
    assert all(r.json["model"] == GATEWAY_MODEL and len(r.json["messages"]) == 1 for r in api.counted)


def test_gateway_model_discovery_reads_v1_models(claude_code: ClaudeCodeRunner, anthropic_api: Start) -> None:
    models = (("claude-gateway-sonnet", "Gateway Sonnet", "sonnet", 200_000, 64_000),
              ("qwen3-coder:30b", "Qwen3 Coder", None, 262_144, 32_000))  # fmt: skip
    api = anthropic_api([fa.text("Hi.")], models=models)
    result = claude_code.run("Say hi.", base_url=api.url, api_key=api.key, model=GATEWAY_MODEL,
                             env={"CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY": "1"})  # fmt: skip
    succeeded(result, api)
    listing = [r for r in api.requests if r.method == "GET"]
    assert [r.path for r in listing] == ["/v1/models?limit=1000"] and listing[0].headers["x-api-key"] == api.key
    cached = json.loads((result.home / ".claude" / "cache" / "gateway-models.json").read_text())
    assert cached["baseUrl"] == api.url
    assert cached["models"] == [{"id": "claude-gateway-sonnet", "display_name": "Gateway Sonnet"}]  # claude* only


def test_the_key_as_a_bearer_token(claude_code: ClaudeCodeRunner, anthropic_api: Start) -> None:
    api = anthropic_api([fa.text("Hi.")])
    result = claude_code.run("Say hi.", base_url=api.url, api_key=api.key, model=GATEWAY_MODEL, bearer=True)
    succeeded(result, api)
    [request] = api.turns
    assert request.headers["authorization"] == f"Bearer {api.key}" and "x-api-key" not in request.headers


def test_a_401_is_retried_like_a_429_unless_told_not_to(claude_code: ClaudeCodeRunner, anthropic_api: Start) -> None:
    """A wrong key: Claude Code retries the 401 as it retries a 429 (10 times by default, the delay doubling
    from 0.5 s); `x-should-retry: false` on the answer stops that at once."""
    api = anthropic_api([fa.text("never")], key="sk-ant-another-key")
    result = claude_code.run("Say hi.", base_url=api.url, api_key="sk-ant-wrong", model=GATEWAY_MODEL,
                             env={"CLAUDE_CODE_MAX_RETRIES": "1"})  # fmt: skip
    assert result.returncode == 1 and not api.turns, result.explain()
    assert len(api.requests) == 2 and [r["error_status"] for r in result.retries()] == [401]
    assert result.result is not None and result.result["api_error_status"] == 401
    assert "Invalid API key" in (result.final_text or "")  # its reading of "invalid x-api-key"
    final = anthropic_api([_refuse(401, "authentication_error", "invalid x-api-key", should_retry="false")])
    result = claude_code.run("Say hi.", base_url=final.url, api_key=final.key, model=GATEWAY_MODEL)
    assert result.returncode == 1 and len(final.requests) == 1 and not result.retries(), result.explain()


def test_a_400_it_cannot_read_is_retried_with_fewer_betas(claude_code: ClaudeCodeRunner, anthropic_api: Start) -> None:
    """An unexplained 400 is not an answer for Claude Code: it asks again up to 5 more times, each time
    without a beta it had sent (thinking-token-count, thinking-display-updates, advanced-tool-use: its
    deferred tools then sent whole), then shows the error. A gateway that refuses a field it does not
    know costs six requests."""
    api = anthropic_api([_refuse(400, "invalid_request_error", "nope")] * 6)
    result = claude_code.run("Say hi.", base_url=api.url, api_key=api.key, model=GATEWAY_MODEL)
    assert result.returncode == 1 and not result.retries(), result.explain()
    assert "API Error: 400 nope" in (result.final_text or "")
    betas = [set(t.headers["anthropic-beta"].split(",")) for t in api.turns]
    assert len(betas) == 6 and betas[-1] < betas[0]
    assert "advanced-tool-use-2025-11-20" in betas[0] and not all("advanced-tool-use-2025-11-20" in b for b in betas)


def _refuse(status: int, error_type: str, message: str, should_retry: str | None = None) -> fa.Turn:
    """A scripted error answer (the fake's own refusals carry no x-should-retry)."""

    def turn(ctx: fa.TurnContext) -> Reply:
        headers = {"request-id": "req_scripted"} | ({"x-should-retry": should_retry} if should_retry else {})
        return Reply(status=status, body=fa.error_body(error_type, message, "req_scripted"), headers=headers)

    return turn


def test_a_run_past_its_time_limit_is_killed(claude_code: ClaudeCodeRunner, anthropic_api: Start) -> None:
    api = anthropic_api([fa.stall(fa.text("Never comes."), after=3)])
    result = claude_code.run("Wait.", base_url=api.url, api_key=api.key, model=GATEWAY_MODEL, timeout=3)
    assert result.timed_out and result.returncode is None
    assert not _left_running(claude_code.root)


def _left_running(root: Path) -> list[int]:
    """Processes of a run still alive: they carry MARK_ENV and run in one of the runner's folders."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                marked = f"{MARK_ENV}=".encode() in (entry / "environ").read_bytes()
                cwd = os.readlink(entry / "cwd")
            except OSError:
                continue
            if marked and cwd.startswith(str(root)):
                found.append(int(entry.name))
    return found


def _shape(request: dict[str, Any]) -> dict[str, Any]:
    body = request["body"] if isinstance(request["body"], dict) else {}
    messages = body.get("messages") or []
    return {
        "method": request["method"],
        "path": request["path"],
        "headers": sorted(request["headers"]),
        "betas": request["headers"].get("anthropic-beta"),
        "fields": sorted(body),
        "settings": {k: v for k, v in body.items() if k not in ("messages", "system", "tools", "metadata")},
        "system": [sorted(block) for block in body.get("system") or []],
        "tools": [(t.get("name"), sorted(t)) for t in body.get("tools") or []],
        "messages": [
            (m["role"], sorted(m), [b["type"] for b in m["content"]] if isinstance(m["content"], list) else "text")
            for m in messages
        ],
    }


def test_claude_code_still_sends_what_the_fixture_says(claude_code: ClaudeCodeRunner, anthropic_api: Start) -> None:
    """fixtures/claude_code_session.json is what the gateway's Anthropic surface is tested against: if the
    pinned Claude Code sends something else (after a version bump), regenerate the fixtures
    (`uv run python -m tests.agents.capture_claude_code`)."""
    saved = json.loads((FIXTURES / "claude_code_session.json").read_text())
    assert CLAUDE_CODE_VERSION in saved["captured_with"]
    api = anthropic_api(session_script(claude_code.root / "work1"))
    result = claude_code.run(SESSION_PROMPT, base_url=api.url, api_key=api.key, model=GATEWAY_MODEL,
                             env={"CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY": "1"})  # fmt: skip
    succeeded(result, api)
    redactor = Redactor(claude_code.root, api.key)
    now = [redactor.request(r, "", n) for n, r in enumerate(api.requests)]
    assert [_shape(r) for r in expand(now)] == [_shape(r) for r in expand(saved["requests"])]
