"""Codex CLI itself (`codex exec`, npm @openai/codex, pinned in codex.py) against the fake Responses
server: tools that act on disk, parallel calls, the upstream failures Codex meets, and what it sends.

These are the harness for issue 20's "Codex against serve with a fake upstream of each protocol": the
same runs with `protoshift serve` between Codex and the fake. Marked `agents` (not in the default run):
`uv run pytest -m agents`. Every run is bounded (CodexRunner.run's timeout) and killed at its end.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.agents.capture import FIXTURE, SESSION_PROMPT, SESSION_SCRIPT, UNKNOWN_MODEL, Redactor
from tests.agents.codex import CODEX_VERSION, CodexResult, CodexRunner
from tests.agents.fake_responses import (
    FakeResponses,
    Usage,
    calls,
    custom_call,
    cut,
    failed,
    function_call,
    rate_limited,
    server_error,
    stall,
    text,
)

pytestmark = [pytest.mark.agents, pytest.mark.timeout(900)]  # the first test may install Codex (npm)

Start = Callable[..., FakeResponses]


def outputs(api: FakeResponses, turn: int, kind: str) -> dict[str, str]:
    """call_id -> output of the `kind` items Codex sent back in request number `turn`."""
    return {item["call_id"]: item["output"] for item in api.turns[turn].json["input"] if item["type"] == kind}


def succeeded(result: CodexResult, api: FakeResponses) -> None:
    assert not api.refusals, [r.error for r in api.refusals]
    assert result.returncode == 0, result.explain()


def test_text_answer_and_usage(codex: CodexRunner, responses_api: Start) -> None:
    api = responses_api(
        [text("Hello from the fake.", usage=Usage(input_tokens=1200, output_tokens=9, cached_tokens=1024))]
    )
    result = codex.run("Say hello.", base_url=api.base_url, api_key=api.key)
    succeeded(result, api)
    assert result.last_message == "Hello from the fake."
    [done] = [e for e in result.events if e["type"] == "turn.completed"]
    assert done["usage"]["input_tokens"] == 1200
    assert done["usage"]["cached_input_tokens"] == 1024  # input_tokens_details.cached_tokens, read
    assert done["usage"]["output_tokens"] == 9
    [request] = api.turns
    assert request.headers["authorization"] == f"Bearer {api.key}"
    assert request.headers["accept"] == "text/event-stream"
    assert request.json["stream"] is True and request.json["store"] is False


def test_exec_command_writes_a_file(codex: CodexRunner, responses_api: Start) -> None:
    write = function_call("exec_command", {"cmd": "printf 'written by codex\\n' > hello.txt"}, call_id="call_write")
    api = responses_api([calls(write), text("Wrote hello.txt.")])
    result = codex.run("Write hello.txt.", base_url=api.base_url, api_key=api.key)
    succeeded(result, api)
    assert (result.workdir / "hello.txt").read_text() == "written by codex\n"
    [command] = result.items("command_execution")
    assert command["exit_code"] == 0 and "hello.txt" in command["command"]
    assert "exec_command" in [tool.get("name") for tool in api.turns[0].json["tools"]]
    assert "exited with code 0" in outputs(api, 1, "function_call_output")["call_write"]
    assert result.last_message == "Wrote hello.txt."


def test_apply_patch_edits_a_file(codex: CodexRunner, responses_api: Start) -> None:
    patch = "*** Begin Patch\n*** Update File: notes.txt\n@@\n first\n-old line\n+new line\n*** End Patch\n"
    api = responses_api([calls(custom_call("apply_patch", patch, call_id="call_patch")), text("Patched.")])
    result = codex.run(
        "Fix notes.txt.", base_url=api.base_url, api_key=api.key, files={"notes.txt": "first\nold line\nlast\n"}
    )
    succeeded(result, api)
    assert (result.workdir / "notes.txt").read_text() == "first\nnew line\nlast\n"
    [change] = result.items("file_change")
    assert change["status"] == "completed"
    [tool] = [t for t in api.turns[0].json["tools"] if t.get("name") == "apply_patch"]
    assert tool["type"] == "custom" and tool["format"]["type"] == "grammar"  # freeform: the raw patch, no JSON
    assert "Success" in outputs(api, 1, "custom_tool_call_output")["call_patch"]


def test_parallel_calls(codex: CodexRunner, responses_api: Start) -> None:
    first = function_call("exec_command", {"cmd": "echo one > one.txt"}, call_id="call_one")
    second = function_call("exec_command", {"cmd": "echo two > two.txt"}, call_id="call_two")
    api = responses_api([calls(first, second, reasoning="Both files at once."), text("Both written.")])
    result = codex.run("Write one.txt and two.txt.", base_url=api.base_url, api_key=api.key)
    succeeded(result, api)
    assert (result.workdir / "one.txt").read_text() == "one\n"
    assert (result.workdir / "two.txt").read_text() == "two\n"
    assert api.turns[0].json["parallel_tool_calls"] is True
    assert set(outputs(api, 1, "function_call_output")) == {"call_one", "call_two"}
    # The reasoning item came back with its encrypted_content as issued (the fake refuses it otherwise).
    [reasoning] = [item for item in api.turns[1].json["input"] if item["type"] == "reasoning"]
    assert reasoning["encrypted_content"].startswith("gAAAAAB")


def test_rate_limit_in_the_stream_is_retried(codex: CodexRunner, responses_api: Start) -> None:
    """`response.failed` with rate_limit_exceeded ("try again in 0.3s"): Codex waits and asks again."""
    api = responses_api(
        [
            failed("rate_limit_exceeded", "Rate limit reached for requests. Please try again in 0.3s."),
            text("After the wait."),
        ]
    )
    result = codex.run("Say something.", base_url=api.base_url, api_key=api.key)
    succeeded(result, api)
    assert result.last_message == "After the wait."
    assert len(api.turns) == 2
    assert any("rate limit" in said.lower() for said in result.errors())


def test_http_429_without_a_retry_after_in_whole_seconds_fails_the_turn(
    codex: CodexRunner, responses_api: Start
) -> None:
    """Codex 0.171 retries an HTTP 429 only when its `retry-after` says when in a form it reads: whole
    seconds or an HTTP date. With "0.5" (or "1.0", or none at all) the turn fails at once, saying 429,
    without a retry. A gateway in front of a rate-limited upstream must give whole seconds (serve rounds the
    upstream's up, and reads "try again in Ns" from its message), or retry itself."""
    api = responses_api([rate_limited(0.5), text("never asked for")])
    result = codex.run("Say something.", base_url=api.base_url, api_key=api.key)
    assert not result.timed_out and result.returncode not in (0, None), result.explain()
    assert len(api.requests) == 1
    assert any("429" in said for said in result.errors())


def test_http_429_with_a_retry_after_in_whole_seconds_is_retried(codex: CodexRunner, responses_api: Start) -> None:
    """...and with `retry-after: 1` it waits, then asks again (a stream error, within stream_max_retries:
    "Reconnecting... 1/1 (exceeded retry limit, last status: 429 Too Many Requests)")."""
    api = responses_api([rate_limited(1), text("After the wait.")])
    result = codex.run("Say something.", base_url=api.base_url, api_key=api.key, stream_max_retries=1)
    succeeded(result, api)
    assert result.last_message == "After the wait." and len(api.requests) == 2
    assert any("Reconnecting" in said and "429" in said for said in result.errors())


def test_server_error_is_retried(codex: CodexRunner, responses_api: Start) -> None:
    api = responses_api([server_error(500), text("After the 500.")])
    result = codex.run("Say something.", base_url=api.base_url, api_key=api.key)
    succeeded(result, api)
    assert result.last_message == "After the 500." and len(api.turns) == 2


def test_stream_that_dies_fails_the_run(codex: CodexRunner, responses_api: Start) -> None:
    """Every attempt is cut after a few events (no response.completed): Codex retries the stream
    (stream_max_retries = 1), then reports the error and exits non-zero, without hanging."""
    api = responses_api([cut(text("never finished"), after=4)] * 2)
    result = codex.run("Say something.", base_url=api.base_url, api_key=api.key, stream_max_retries=1)
    assert not result.timed_out and result.returncode not in (0, None), result.explain()
    assert len(api.turns) == 2
    assert any("response.completed" in said for said in result.errors())
    assert not result.items("agent_message")


def test_stream_that_dies_once_is_retried(codex: CodexRunner, responses_api: Start) -> None:
    api = responses_api([cut(text("never finished"), after=4), text("Second try.")])
    result = codex.run("Say something.", base_url=api.base_url, api_key=api.key, stream_max_retries=1)
    succeeded(result, api)
    assert result.last_message == "Second try."


def test_stream_that_goes_silent_times_out(codex: CodexRunner, responses_api: Start) -> None:
    api = responses_api([stall(text("stalls"), after=3)])
    result = codex.run(
        "Say something.", base_url=api.base_url, api_key=api.key, stream_max_retries=0, stream_idle_timeout_ms=1500
    )
    assert not result.timed_out and result.returncode not in (0, None), result.explain()
    assert any("idle timeout" in said for said in result.errors())


def test_a_refusal_reaches_the_user(codex: CodexRunner, responses_api: Start) -> None:
    """A wrong key: the fake answers 401 in OpenAI's words, and Codex shows them."""
    api = responses_api([text("never")], key="sk-another-key-entirely")
    result = codex.run("Say something.", base_url=api.base_url, api_key="sk-wrong-key-0000")
    assert result.returncode not in (0, None), result.explain()
    assert any("Incorrect API key provided" in said for said in result.errors())
    assert not api.turns


def _shape(request: dict[str, Any]) -> dict[str, Any]:
    body = request["body"]
    return {
        "method": request["method"],
        "path": request["path"],
        "headers": sorted(request["headers"]),
        "fields": sorted(body),
        "settings": {
            k: v for k, v in body.items() if k not in ("input", "tools", "client_metadata", "prompt_cache_key")
        },
        "tools": [
            (t["type"], t.get("name"), sorted(t), sorted((t.get("parameters") or {}).get("properties", {})))
            for t in body["tools"]
        ],
        "items": [(item["type"], item.get("role")) for item in body["input"]],
    }


def test_codex_still_sends_what_the_fixture_says(codex: CodexRunner, responses_api: Start) -> None:
    """fixtures/codex_request.json is what the Responses surface is tested against: if the pinned Codex
    sends something else (after a version bump), regenerate it (`uv run python -m tests.agents.capture`)."""
    saved = json.loads(FIXTURE.read_text())
    assert CODEX_VERSION in saved["captured_with"]
    api = responses_api([make() for make in SESSION_SCRIPT])
    result = codex.run(SESSION_PROMPT, base_url=api.base_url, api_key=api.key)
    succeeded(result, api)
    unknown = responses_api([text("Hello.")])
    result = codex.run("Say hello.", base_url=unknown.base_url, api_key=unknown.key, model=UNKNOWN_MODEL)
    succeeded(result, unknown)
    now = [Redactor(codex.root, api.key).request(r, "") for r in [*api.turns, *unknown.turns]]
    assert [_shape(r) for r in now] == [_shape(r) for r in saved["requests"]]
