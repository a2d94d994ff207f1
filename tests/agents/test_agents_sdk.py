"""The OpenAI Agents SDK (`openai-agents`) running an agent with a function tool against the fake
Responses server: the harness for issue 20's "an agent with a function tool through serve" (the same
runs with `protoshift serve` in between). No tracing export: each run says `tracing_disabled`, and no
client of the SDK's own is made (the model gets ours), so nothing leaves 127.0.0.1.

Marked `agents` (`import agents` alone takes ~2.5 s): `uv run pytest -m agents`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from openai import AsyncOpenAI

from tests.agents.fake_responses import FakeResponses, calls, function_call, text

if TYPE_CHECKING:
    from agents import Agent, RunResult, RunResultStreaming

pytestmark = pytest.mark.agents

Start = Callable[..., FakeResponses]


@dataclass
class WeatherAgent:
    """An agent with one function tool whose model is the fake's, and the cities its tool was asked about."""

    agent: Agent[None]
    looked_up: list[str]

    def run_sync(self, prompt: str) -> RunResult:
        from agents import RunConfig, Runner

        return Runner.run_sync(self.agent, prompt, run_config=RunConfig(tracing_disabled=True))

    def run_streamed(self, prompt: str) -> RunResultStreaming:
        from agents import RunConfig, Runner

        return Runner.run_streamed(self.agent, prompt, run_config=RunConfig(tracing_disabled=True))


@pytest.fixture
def weather(monkeypatch: pytest.MonkeyPatch) -> Callable[[FakeResponses], WeatherAgent]:
    # `agents` is imported here, not at collection, where the default run (which deselects these) would pay for it.
    from agents import Agent, OpenAIResponsesModel, function_tool

    # Nothing may fall back to the SDK's own client (api.openai.com): no key for it to find, and a closed port.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")

    def make(api: FakeResponses) -> WeatherAgent:
        looked_up: list[str] = []

        @function_tool
        def get_weather(city: str) -> str:
            """The weather in a city."""
            looked_up.append(city)
            return f"Sunny in {city}, 21 C"

        client = AsyncOpenAI(base_url=api.base_url, api_key=api.key, max_retries=0, timeout=30)
        model = OpenAIResponsesModel(model="gpt-5.5", openai_client=client)
        agent = Agent(name="Weather", instructions="Use the tool, then answer.", tools=[get_weather], model=model)
        return WeatherAgent(agent, looked_up)

    return make


def test_an_agent_runs_its_function_tool(
    responses_api: Start, weather: Callable[[FakeResponses], WeatherAgent]
) -> None:
    api = responses_api(
        [calls(function_call("get_weather", {"city": "Lisbon"}, call_id="call_w")), text("It is sunny in Lisbon.")]
    )
    run = weather(api)
    result = run.run_sync("What is the weather in Lisbon?")
    assert result.final_output == "It is sunny in Lisbon."
    assert run.looked_up == ["Lisbon"]
    assert not api.refusals, [r.error for r in api.refusals]
    first, second = (turn.json for turn in api.turns)
    [tool] = first["tools"]
    assert (tool["type"], tool["name"], tool["strict"]) == ("function", "get_weather", True)
    assert first["instructions"] == "Use the tool, then answer."
    outputs = [item for item in second["input"] if item.get("type") == "function_call_output"]
    assert outputs == [{"type": "function_call_output", "call_id": "call_w", "output": "Sunny in Lisbon, 21 C"}]
    assert api.turns[0].headers["user-agent"].startswith("Agents/Python")


def test_a_streamed_agent_run(responses_api: Start, weather: Callable[[FakeResponses], WeatherAgent]) -> None:
    api = responses_api([calls(function_call("get_weather", {"city": "Oslo"})), text("Rain, then sun, in Oslo.")])
    agent = weather(api)

    async def run() -> tuple[object, list[str]]:
        streamed = agent.run_streamed("Weather in Oslo?")
        deltas = [
            event.data.delta
            async for event in streamed.stream_events()
            if event.type == "raw_response_event" and event.data.type == "response.output_text.delta"
        ]
        return streamed.final_output, deltas

    final, deltas = asyncio.run(asyncio.wait_for(run(), timeout=60))
    assert final == "Rain, then sun, in Oslo." == "".join(deltas)
    assert agent.looked_up == ["Oslo"]
    assert [turn.json.get("stream") for turn in api.turns] == [True, True]
    assert not api.refusals, [json.dumps(r.error) for r in api.refusals]
