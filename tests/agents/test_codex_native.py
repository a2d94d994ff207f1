"""Codex CLI itself (`codex exec`) through `protoshift serve` in front of a backend that speaks OpenAI
Responses itself (`-b openai-responses`), the fake Responses API (fake_responses.py) standing in for
OpenAI:

    Codex --(Responses)--> Tap --> protoshift serve --(Responses, untranslated)--> FakeResponses

Nothing is translated: Codex's requests reach the fake as sent (its `store: false`, its reasoning items'
`encrypted_content`, its freeform `apply_patch` tool) and the fake's streams reach Codex as sent; the
gateway adds its retries and, when a stream breaks midway, a proper `response.failed`.

Marked `agents` (not in the default run): `uv run pytest -m agents`. Every Codex run is bounded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from tests.agents.codex import MODEL, CodexResult, CodexRunner
from tests.agents.fake_responses import FakeResponses, calls, custom_call, cut, function_call, rate_limited, text
from tests.agents.tap import Exchange, Tap
from tests.responses_oracles import assert_response_stream
from tests.serve.conftest import GatewayFactory

pytestmark = [pytest.mark.agents, pytest.mark.timeout(300)]  # a first test may install Codex (npm)

Start = Callable[..., FakeResponses]


class Through:
    """Codex -> tap -> serve (-b openai-responses) -> the fake."""

    def __init__(self, codex: CodexRunner, api: FakeResponses, tap: Tap) -> None:
        self.codex, self.api, self.tap = codex, api, tap

    def run(self, prompt: str, **options: Any) -> CodexResult:
        return self.codex.run(prompt, base_url=self.tap.base_url, api_key="sk-codex-to-serve", **options)

    def succeeded(self, result: CodexResult) -> list[Exchange]:
        assert not self.api.refusals, [r.error for r in self.api.refusals]
        assert result.returncode == 0, result.explain()
        assert not self.tap.errors, self.tap.errors
        for exchange in self.tap.exchanges:
            assert (exchange.method, exchange.path) == ("POST", "/v1/responses")
            assert_response_stream(exchange.events())
            assert "x-protoshift-dropped" not in exchange.headers
        return self.tap.exchanges

    def outputs(self, turn: int, kind: str) -> dict[str, str]:
        return {i["call_id"]: i["output"] for i in self.api.turns[turn].json["input"] if i["type"] == kind}


@pytest.fixture
def through(codex: CodexRunner, gateway: GatewayFactory, responses_api: Start) -> Iterator[Callable[..., Through]]:
    with ExitStack() as stack:

        def start(script: list[Any], **flags: Any) -> Through:
            api = responses_api(script)
            gateway.monkeypatch.setenv("OPENAI_BASE_URL", api.base_url)
            gateway.monkeypatch.setenv("OPENAI_API_KEY", api.key)
            running = gateway.start(flags={"backend": "openai-responses", **flags})
            return Through(codex, api, stack.enter_context(Tap(running.url)))

        yield start


def test_exec_command_writes_a_file(through: Callable[..., Through]) -> None:
    write = function_call("exec_command", {"cmd": "printf 'native\\n' > hello.txt"}, call_id="call_write")
    path = through([calls(write, reasoning="Write it."), text("Wrote hello.txt.")])
    result = path.run("Write hello.txt.")
    path.succeeded(result)
    assert (result.workdir / "hello.txt").read_text() == "native\n"
    assert result.last_message == "Wrote hello.txt."
    first, second = path.api.turns
    assert first.json["model"] == MODEL and first.json["store"] is False  # as Codex sent it
    assert "exited with code 0" in path.outputs(1, "function_call_output")["call_write"]
    # the reasoning item went back with the encrypted_content the fake issued (it refuses any other)
    [reasoning] = [item for item in second.json["input"] if item["type"] == "reasoning"]
    assert reasoning["encrypted_content"].startswith("gAAAAAB")


def test_apply_patch_edits_a_file(through: Callable[..., Through]) -> None:
    patch = "*** Begin Patch\n*** Update File: notes.txt\n@@\n first\n-old line\n+new line\n*** End Patch\n"
    path = through([calls(custom_call("apply_patch", patch, call_id="call_patch")), text("Patched.")])
    result = path.run("Fix notes.txt.", files={"notes.txt": "first\nold line\nlast\n"})
    path.succeeded(result)
    assert (result.workdir / "notes.txt").read_text() == "first\nnew line\nlast\n"
    [tool] = [t for t in path.api.turns[0].json["tools"] if t.get("name") == "apply_patch"]
    assert tool["type"] == "custom"  # the freeform tool went to the backend as it is
    assert "Success" in path.outputs(1, "custom_tool_call_output")["call_patch"]


def test_parallel_calls(through: Callable[..., Through]) -> None:
    one = function_call("exec_command", {"cmd": "echo one > one.txt"}, call_id="call_one")
    two = function_call("exec_command", {"cmd": "echo two > two.txt"}, call_id="call_two")
    path = through([calls(one, two), text("Both written.")])
    result = path.run("Write one.txt and two.txt.")
    path.succeeded(result)
    assert (result.workdir / "one.txt").read_text() == "one\n" and (result.workdir / "two.txt").read_text() == "two\n"
    assert set(path.outputs(1, "function_call_output")) == {"call_one", "call_two"}


def test_an_upstream_429_is_retried_by_the_gateway(through: Callable[..., Through]) -> None:
    path = through([rate_limited(0.2), text("After the wait.")], max_retries=2)
    result = path.run("Say something.")
    path.succeeded(result)
    assert result.last_message == "After the wait." and len(path.api.turns) == 2
    assert len(path.tap.exchanges) == 1, "Codex asked once: the gateway retried"


def test_an_upstream_that_dies_mid_stream(through: Callable[..., Through]) -> None:
    """The cut stream ends in the gateway's `response.failed` (not a bare close): Codex retries the turn."""
    path = through([cut(text("never finished", chunks=6), after=5), text("Second try.")])
    result = path.run("Say something.", stream_max_retries=1)
    exchanges = path.succeeded(result)
    assert result.last_message == "Second try."
    assert exchanges[0].events()[-1]["type"] == "response.failed"
