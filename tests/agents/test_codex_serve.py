"""Codex CLI itself (`codex exec`, npm @openai/codex, pinned in codex.py) against `protoshift serve` in front
of a fake upstream of each backend protocol (upstreams.py): a fake Claude (Anthropic Messages) and a fake
OpenAI-compatible chat server, scripted turn by turn in their own wire format, refusing what the real
providers refuse (a test fails on any refusal).

    Codex --(Responses)--> Tap --> protoshift serve (in a thread) --(Messages | Chat Completions)--> fake

The Tap (tap.py) records what Codex sent and what the gateway answered it, byte for byte: every stream
the gateway sends is checked against the openai SDK's types and the API's event order
(tests/responses_oracles.py), and the tests read there what Codex got (the raw patch of a
`custom_tool_call`, a reasoning item's `encrypted_content`, a `response.failed`).

Codex is run with the model name it knows (`gpt-5.5`, an alias of the upstream's model in the gateway's
config): only then does it send its real tool set, the freeform `apply_patch` tool included.

Marked `agents` (not in the default run): `uv run pytest -m agents`. Every Codex run is bounded
(CodexRunner.run's timeout) and killed at its end; the gateway and the fakes live on 127.0.0.1 and stop
with the test.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.agents.codex import MODEL, CodexResult
from tests.agents.conftest import Serve, Served
from tests.agents.tap import Exchange
from tests.agents.upstreams import (
    BACKENDS,
    Call,
    call_id,
    calls,
    cut,
    rate_limited,
    text,
    too_long,
    tool_calls,
    tool_declared,
    tool_results,
)

pytestmark = [pytest.mark.agents, pytest.mark.timeout(300)]  # a first test may install Codex (npm)


def succeeded(result: CodexResult, served: Served) -> list[Exchange]:
    exchanges = served.checked()
    assert result.returncode == 0, result.explain()
    return exchanges


def items_done(exchange: Exchange) -> list[dict[str, Any]]:
    return [e["item"] for e in exchange.events() if e["type"] == "response.output_item.done"]


# ---- (a) a command that writes a file -------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_exec_command_writes_a_file(backend: str, through_serve: Serve) -> None:
    write = Call(call_id(backend, "write"), "exec_command", {"cmd": "printf 'written by codex\\n' > hello.txt"})
    served = through_serve(backend, [calls(write), text("Wrote hello.txt.")])
    result = served.run("Write hello.txt.")
    exchanges = succeeded(result, served)
    assert (result.workdir / "hello.txt").read_text() == "written by codex\n"
    [command] = result.items("command_execution")
    assert command["exit_code"] == 0 and "hello.txt" in command["command"]
    assert result.last_message == "Wrote hello.txt."
    # Codex got the call as a function_call, and ran it
    [item] = items_done(exchanges[0])
    assert (item["type"], item["name"], item["call_id"]) == ("function_call", "exec_command", write.call_id)
    assert json.loads(item["arguments"]) == write.arguments
    # the next upstream request carries the call and the command's output, under the upstream's id
    first, second = served.bodies
    assert "exec_command" in [t.get("name") or t.get("function", {}).get("name") for t in first["tools"]]
    assert tool_calls(second) == [[(write.call_id, "exec_command", write.arguments)]]
    assert "Process exited with code 0" in tool_results(second)[write.call_id]


# ---- (b) apply_patch, the freeform tool -------------------------------------------------------------


# Bytes a JSON round trip or a "cleanup" would change: quotes, a backslash, a tab, non-ASCII, a trailing space.
PATCHED_LINE = 'new "quoted" line with a \\ backslash,\ta tab, ünïcödé → and a trailing space '
PATCH = f"*** Begin Patch\n*** Update File: notes.txt\n@@\n first\n-old line\n+{PATCHED_LINE}\n*** End Patch\n"


@pytest.mark.parametrize("backend", BACKENDS)
def test_apply_patch_edits_a_file(backend: str, through_serve: Serve) -> None:
    patch = Call(call_id(backend, "patch"), "apply_patch", {"input": PATCH}, pieces=7)
    served = through_serve(backend, [calls(patch), text("Patched.")])
    result = served.run("Fix notes.txt.", files={"notes.txt": "first\nold line\nlast\n"})
    exchanges = succeeded(result, served)
    assert (result.workdir / "notes.txt").read_text() == f"first\n{PATCHED_LINE}\nlast\n"
    [change] = result.items("file_change")
    assert change["status"] == "completed"
    # Codex sent its freeform tool; the upstream got a function of one string argument
    [freeform] = [t for t in exchanges[0].request["tools"] if t.get("name") == "apply_patch"]
    assert freeform["type"] == "custom" and freeform["format"]["type"] == "grammar"
    first, second = served.bodies
    schema = tool_declared(first, "apply_patch")
    assert schema["required"] == ["input"] and schema["properties"]["input"]["type"] == "string"
    # Codex got a custom_tool_call whose raw input is the patch, byte for byte (deltas and the done item)
    events = exchanges[0].events()
    [item] = items_done(exchanges[0])
    assert (item["type"], item["name"], item["call_id"]) == ("custom_tool_call", "apply_patch", patch.call_id)
    assert item["input"] == PATCH
    assert "".join(e["delta"] for e in events if e["type"] == "response.custom_tool_call_input.delta") == PATCH
    [done] = [e for e in events if e["type"] == "response.custom_tool_call_input.done"]
    assert done["input"] == PATCH
    # ...and sent it back as one; upstream it is the function call it was, the patch unchanged
    [back] = [i for i in exchanges[1].request["input"] if i.get("type") == "custom_tool_call"]
    assert back["input"] == PATCH
    assert tool_calls(second) == [[(patch.call_id, "apply_patch", {"input": PATCH})]]
    assert "Success" in tool_results(second)[patch.call_id]


# ---- (c) parallel calls -------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_parallel_calls(backend: str, through_serve: Serve) -> None:
    one = Call(call_id(backend, "one"), "exec_command", {"cmd": "echo one > one.txt"})
    two = Call(call_id(backend, "two"), "exec_command", {"cmd": "echo two > two.txt"})
    served = through_serve(backend, [calls(one, two), text("Both written.")])
    result = served.run("Write one.txt and two.txt.")
    exchanges = succeeded(result, served)
    assert (result.workdir / "one.txt").read_text() == "one\n"
    assert (result.workdir / "two.txt").read_text() == "two\n"
    assert len(result.items("command_execution")) == 2
    assert exchanges[0].request["parallel_tool_calls"] is True
    assert [i["call_id"] for i in items_done(exchanges[0])] == [one.call_id, two.call_id]
    first, second = served.bodies
    if backend == "openai":
        assert first.get("parallel_tool_calls") is not False
    else:
        assert not (first.get("tool_choice") or {}).get("disable_parallel_tool_use")
    # one assistant turn with both calls, then both outputs
    assert tool_calls(second) == [
        [(one.call_id, "exec_command", one.arguments), (two.call_id, "exec_command", two.arguments)]
    ]
    outputs = tool_results(second)
    assert set(outputs) == {one.call_id, two.call_id}
    assert all("Process exited with code 0" in output for output in outputs.values())


# ---- (d) an upstream 429 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("backend", "retry_after"), [("anthropic", "1"), ("openai", "1"), ("openai", "0.5"), ("openai", None)]
)
def test_an_upstream_429_is_retried_by_codex(backend: str, retry_after: str | None, through_serve: Serve) -> None:
    """The upstream answers 429 and the gateway does not retry it itself (max_retries 0): it answers 429.
    Codex 0.171 retries a 429 (as a stream error, within stream_max_retries, after the wait) only when a
    `retry-after` it can read says when: whole seconds or an HTTP date; with none, or "0.5", the turn
    fails at once (test_codex_fake.py pins both). So the gateway's 429 must carry whole seconds: the
    upstream's own rounded up, or the wait its message names ("Please try again in 1s")."""
    served = through_serve(backend, [rate_limited(retry_after), text("After the wait.")])
    result = served.run("Say something.")
    exchanges = succeeded(result, served)
    assert result.last_message == "After the wait."
    assert len(served.bodies) == 2 and len(exchanges) == 2
    assert exchanges[0].status == 429 and exchanges[0].headers["retry-after"] == "1", exchanges[0]
    assert json.loads(exchanges[0].body)["error"]["type"] == "rate_limit_error"
    assert any("429" in said for said in result.errors())  # Codex: "Reconnecting... 1/1 (... 429 ...)"


@pytest.mark.parametrize("backend", BACKENDS)
def test_upstream_rate_limit_waited_out_by_the_gateway(backend: str, through_serve: Serve) -> None:
    """With retries on (the default), the gateway waits the upstream's retry-after itself: Codex never
    sees the 429."""
    served = through_serve(backend, [rate_limited("1"), text("After the wait.")], flags={"max_retries": 1})
    result = served.run("Say something.")
    exchanges = succeeded(result, served)
    assert result.last_message == "After the wait."
    assert len(served.bodies) == 2 and len(exchanges) == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_context_window_overflow_is_said_as_codex_knows_it(backend: str, through_serve: Serve) -> None:
    """The upstream's 400 for a conversation over the model's window (Claude: "prompt is too long", no
    code; chat: `context_length_exceeded`) reaches Codex with the code it acts on: it stops, in its own
    words, without retrying (with another code it shows the raw error JSON)."""
    served = through_serve(backend, [too_long()])
    result = served.run("Say hello.")
    exchanges = served.checked()
    assert not result.timed_out and result.returncode not in (0, None), result.explain()
    assert exchanges[0].status == 400 and json.loads(exchanges[0].body)["error"]["code"] == "context_length_exceeded"
    assert any("ran out of room in the model's context window" in said for said in result.errors()), result.explain()
    assert len(served.bodies) == 1


# ---- (e) an upstream that dies mid-stream -------------------------------------------------------------

# Events of the upstream's stream before it is cut: past the first (the gateway has answered 200 and
# is streaming), inside the text.
CUT_TEXT = {"anthropic": 4, "openai": 2}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_stream_cut_once_is_retried(backend: str, through_serve: Serve) -> None:
    served = through_serve(
        backend, [cut(text("never finished, this one"), after=CUT_TEXT[backend]), text("Second try.")]
    )
    result = served.run("Say something.", stream_max_retries=1)
    exchanges = succeeded(result, served)
    assert result.last_message == "Second try."
    assert len(served.bodies) == 2
    assert exchanges[0].events()[-1]["type"] == "response.failed"  # the cut said so: no partial answer taken


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_stream_that_always_dies_fails_the_run(backend: str, through_serve: Serve) -> None:
    served = through_serve(backend, [cut(text("never finished, any of them"), after=CUT_TEXT[backend])])
    result = served.run("Say something.", stream_max_retries=1)
    exchanges = served.checked()
    assert not result.timed_out and result.returncode not in (0, None), result.explain()
    assert result.errors(), result.explain()
    assert not result.items("agent_message")
    assert len(served.bodies) == 2 == len(exchanges)  # the try and its one retry
    assert all(exchange.events()[-1]["type"] == "response.failed" for exchange in exchanges)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_call_cut_short_is_not_run(backend: str, through_serve: Serve) -> None:
    """Cut inside a tool call's arguments: Codex must not get the half call as done (it would run it);
    the retry's call runs once."""
    append = Call(call_id(backend, "log"), "exec_command", {"cmd": "echo ran >> log.txt"}, pieces=4)
    # upstream events before the cut: Claude's message_start, ping, block start, 2 fragments; chat's first chunk, 2 fragments
    served = through_serve(
        backend, [cut(calls(append), after=5 if backend == "anthropic" else 3), calls(append), text("Logged.")]
    )
    result = served.run("Log a line.", stream_max_retries=1)
    exchanges = succeeded(result, served)
    assert (result.workdir / "log.txt").read_text() == "ran\n"
    assert [e["type"] for e in exchanges[0].events()].count("response.output_item.done") == 0
    assert result.last_message == "Logged."


# ---- (f) Claude's signed thinking, there and back -------------------------------------------------------


def test_signed_thinking_goes_back_to_claude(through_serve: Serve) -> None:
    """Claude thinks (a signed thinking block), then calls a tool. Codex gets a reasoning item whose
    encrypted_content carries the thinking (its request's `include` asks for it) and sends it back on the
    next turn; the next request to Claude must have the thinking block, signature and all, before the
    tool_use: the fake refuses it otherwise, as the API does."""
    signature = "EqQBCkgIAhABGAIiQHhZ0RjmYzYxOTA3LTk2ZGMtNGQ3Ny1iNmVmLTFjZDk0ZmVlMmFjMRIMsig"
    write = Call(call_id("anthropic", "think"), "exec_command", {"cmd": "echo thought > t.txt"})
    thought = "The user wants a file. I will write it with one command."
    served = through_serve("anthropic", [calls(write, thinking=thought, signature=signature), text("Done.")])
    result = served.run("Write t.txt.")
    exchanges = succeeded(result, served)
    assert (result.workdir / "t.txt").read_text() == "thought\n"
    first, second = served.bodies
    assert first["thinking"]["type"] in ("adaptive", "enabled")  # Codex's reasoning effort, on Claude
    # what Codex got, and sent back
    assert exchanges[0].request["include"] == ["reasoning.encrypted_content"]
    reasoning, call = items_done(exchanges[0])
    assert reasoning["type"] == "reasoning" and call["type"] == "function_call"
    assert reasoning["encrypted_content"] and "".join(s["text"] for s in reasoning["summary"]) == thought
    [back] = [i for i in exchanges[1].request["input"] if i.get("type") == "reasoning"]
    assert back["encrypted_content"] == reasoning["encrypted_content"]
    # Claude gets its thinking back, signed, first in the assistant turn
    [assistant] = [m for m in second["messages"] if m["role"] == "assistant"]
    assert assistant["content"][0] == {"type": "thinking", "thinking": thought, "signature": signature}
    assert [b["type"] for b in assistant["content"][1:]] == ["tool_use"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_text_answer_and_its_usage(backend: str, through_serve: Serve) -> None:
    """Codex asks for the model it knows, the upstream is asked for the alias's (the fake refuses any other);
    the answer's usage, cached input included, reaches Codex's `turn.completed`."""
    served = through_serve(
        backend, [text("Hello from upstream.", input_tokens=5000, cached_tokens=4096, output_tokens=12)]
    )
    result = served.run("Say hello.")
    exchanges = succeeded(result, served)
    assert result.last_message == "Hello from upstream."
    assert exchanges[0].request["model"] == MODEL
    assert [body["model"] for body in served.bodies] == [served.upstream.model]
    [done] = [e for e in result.events if e["type"] == "turn.completed"]
    assert (done["usage"]["input_tokens"], done["usage"]["cached_input_tokens"]) == (5000, 4096)
    assert done["usage"]["output_tokens"] == 12


def test_reasoning_content_goes_back_to_the_chat_upstream(through_serve: Serve) -> None:
    """A chat upstream that thinks aloud (`reasoning_content`, as DeepSeek's and vLLM's reasoning parsers
    stream it) before a tool call: Codex gets a reasoning item with the text as its summary and carries it
    in `encrypted_content`; the next chat request has the thinking back on the assistant turn of the call
    (DeepSeek asks for it within a tool loop)."""
    thought = "The file must hold one line: write it with echo."
    write = Call(call_id("openai", "think"), "exec_command", {"cmd": "echo thought > t.txt"})
    served = through_serve("openai", [calls(write, thinking=thought), text("Done.")])
    result = served.run("Write t.txt.")
    exchanges = succeeded(result, served)
    assert (result.workdir / "t.txt").read_text() == "thought\n"
    reasoning, _ = items_done(exchanges[0])
    assert reasoning["type"] == "reasoning" and reasoning["encrypted_content"]
    assert [s["text"] for s in reasoning["summary"]] == [thought]
    [back] = [i for i in exchanges[1].request["input"] if i.get("type") == "reasoning"]
    assert back["encrypted_content"] == reasoning["encrypted_content"]
    [assistant] = [m for m in served.bodies[1]["messages"] if m["role"] == "assistant"]
    assert assistant["reasoning_content"] == thought and assistant["tool_calls"][0]["id"] == write.call_id


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_namespaced_tool_maps_back(backend: str, through_serve: Serve) -> None:
    """With a model name Codex has no metadata for (the upstream's own), it sends a `namespace` tool
    (multi_agent_v1) instead of apply_patch. Upstream its functions are flat (`multi_agent_v1__wait_agent`);
    a call to one comes back to Codex as the namespaced function it declared, and Codex runs it (its own
    handler answers; a name it did not know would get "unsupported call")."""
    wait = Call(call_id(backend, "wait"), "multi_agent_v1__wait_agent", {"targets": ["nobody"], "timeout_ms": 10})
    served = through_serve(backend, [calls(wait), text("Done.")])
    result = served.run("Wait for the agents.", model=served.upstream.model)
    exchanges = succeeded(result, served)
    [namespace] = [t for t in exchanges[0].request["tools"] if t["type"] == "namespace"]
    assert namespace["name"] == "multi_agent_v1"
    schema = tool_declared(served.bodies[0], "multi_agent_v1__wait_agent")
    assert schema == next(t["parameters"] for t in namespace["tools"] if t["name"] == "wait_agent")
    [item] = items_done(exchanges[0])
    assert (item["type"], item["namespace"], item["name"]) == ("function_call", "multi_agent_v1", "wait_agent")
    [output] = [i for i in exchanges[1].request["input"] if i.get("type") == "function_call_output"]
    assert output["call_id"] == wait.call_id and "unsupported call" not in output["output"]
    assert tool_calls(served.bodies[1]) == [[(wait.call_id, "multi_agent_v1__wait_agent", wait.arguments)]]
    assert tool_results(served.bodies[1])[wait.call_id] == output["output"]


def test_web_search_reaches_claude_as_its_server_tool(through_serve: Serve) -> None:
    """Codex sends its `web_search` tool on every request (issue 20): on a Claude backend it becomes
    Anthropic's web search server tool, nothing of it dropped."""
    served = through_serve("anthropic", [text("Hello.")])
    result = served.run("Say hello.")
    exchanges = succeeded(result, served)
    assert any(t["type"] == "web_search" for t in exchanges[0].request["tools"])  # Codex sends it by default
    assert "web_search" not in exchanges[0].headers.get("x-protoshift-dropped", "")
    assert any(str(t.get("type", "")).startswith("web_search_") for t in served.bodies[0]["tools"])
