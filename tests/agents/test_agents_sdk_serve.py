"""The OpenAI Agents SDK (`openai-agents`) running an agent with a function tool through `protoshift serve`,
in front of a fake upstream of each backend protocol (upstreams.py: a fake Claude, a fake OpenAI-compatible
chat server, both refusing what the real ones refuse): with its `OpenAIResponsesModel` (serve's
`/v1/responses`), answered whole and streamed, and once with its `OpenAIChatCompletionsModel` (serve's
`/v1/chat/completions`); and through serve to a backend that speaks Responses itself (`-b openai-responses`,
the fake Responses API standing in for OpenAI), passed through.

No tracing export (`tracing_disabled`), no client of the SDK's own (the model gets ours, on 127.0.0.1):
nothing leaves the machine. Marked `agents` (`import agents` alone takes ~2.5 s): `uv run pytest -m agents`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from openai import AsyncOpenAI

from tests.agents.codex import MODEL
from tests.agents.conftest import StartProvider, serve
from tests.agents.upstreams import (
    BACKENDS,
    Call,
    Upstream,
    call_id,
    calls,
    text,
    tool_calls,
    tool_declared,
    tool_results,
)
from tests.serve.conftest import GatewayFactory, Running

if TYPE_CHECKING:
    from agents import Agent

pytestmark = pytest.mark.agents

INSTRUCTIONS = "Use the tool, then answer."


@dataclass
class WeatherAgent:
    """An agent with one function tool, its model served by the gateway; the cities its tool was asked about."""

    agent: Agent[None]
    looked_up: list[str]
    upstream: Upstream
    running: Running

    def run_sync(self, prompt: str) -> Any:
        from agents import RunConfig, Runner

        return Runner.run_sync(self.agent, prompt, run_config=RunConfig(tracing_disabled=True))

    def run_streamed(self, prompt: str) -> tuple[Any, list[str]]:
        """The final output and the text deltas the SDK streamed."""
        from agents import RunConfig, Runner

        async def run() -> tuple[Any, list[str]]:
            streamed = Runner.run_streamed(self.agent, prompt, run_config=RunConfig(tracing_disabled=True))
            deltas = [
                event.data.delta
                async for event in streamed.stream_events()
                if event.type == "raw_response_event" and event.data.type == "response.output_text.delta"
            ]
            return streamed.final_output, deltas

        return asyncio.run(asyncio.wait_for(run(), timeout=60))


Make = Callable[..., WeatherAgent]


@pytest.fixture
def weather_through_serve(monkeypatch: pytest.MonkeyPatch, gateway: GatewayFactory, provider: StartProvider) -> Make:
    # `agents` is imported here, not at collection, where the default run (which deselects these) would pay for it.
    from agents import Agent, OpenAIChatCompletionsModel, OpenAIResponsesModel, function_tool

    # Nothing may fall back to the SDK's own client (api.openai.com): no key for it to find, and a closed port.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")

    def make(backend: str, city: str, answer: str, *, chat: bool = False) -> WeatherAgent:
        upstream = provider(
            backend, [calls(Call(call_id(backend, "weather"), "get_weather", {"city": city})), text(answer)]
        )
        running = serve(gateway, upstream)  # sets OPENAI_BASE_URL for an openai backend: the gateway reads it now
        looked_up: list[str] = []

        @function_tool
        def get_weather(city: str) -> str:
            """The weather in a city."""
            looked_up.append(city)
            return f"Sunny in {city}, 21 C"

        client = AsyncOpenAI(base_url=running.base_url, api_key="sk-agents-to-serve", max_retries=0, timeout=30)
        model = (
            OpenAIChatCompletionsModel(model=MODEL, openai_client=client)
            if chat
            else OpenAIResponsesModel(model=MODEL, openai_client=client)
        )
        agent = Agent(name="Weather", instructions=INSTRUCTIONS, tools=[get_weather], model=model)
        return WeatherAgent(agent, looked_up, upstream, running)

    return make


def assert_tool_loop(run: WeatherAgent, city: str, route: str = "/v1/responses") -> None:
    """The two model calls went through the gateway's `route`; the upstream was sent the tool (the SDK's
    strict schema), the instructions, then the call and its output under the upstream's own id."""
    assert [entry["route"] for entry in run.running.wait_logged(2)] == [route, route]
    run.upstream.assert_clean()
    first, second = run.upstream.bodies
    schema = tool_declared(first, "get_weather")
    assert schema["properties"]["city"]["type"] == "string" and schema["required"] == ["city"]
    assert INSTRUCTIONS in str(first.get("system")) + str(first["messages"][0])
    call = call_id(run.upstream.backend, "weather")
    assert tool_calls(second) == [[(call, "get_weather", {"city": city})]]
    assert tool_results(second) == {call: f"Sunny in {city}, 21 C"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_agent_runs_its_function_tool(backend: str, weather_through_serve: Make) -> None:
    run = weather_through_serve(backend, "Lisbon", "It is sunny in Lisbon.")
    result = run.run_sync("What is the weather in Lisbon?")
    assert result.final_output == "It is sunny in Lisbon."
    assert run.looked_up == ["Lisbon"]
    assert_tool_loop(run, "Lisbon")
    assert [body.get("stream") for body in run.upstream.bodies] == [None, None]  # answered whole, asked whole


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_streamed_agent_run(backend: str, weather_through_serve: Make) -> None:
    run = weather_through_serve(backend, "Oslo", "Rain, then sun, in Oslo.")
    final, deltas = run.run_streamed("Weather in Oslo?")
    assert final == "Rain, then sun, in Oslo." == "".join(deltas)
    assert run.looked_up == ["Oslo"]
    assert_tool_loop(run, "Oslo")
    assert [body.get("stream") for body in run.upstream.bodies] == [True, True]


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_agent_on_the_chat_completions_surface(backend: str, weather_through_serve: Make) -> None:
    run = weather_through_serve(backend, "Porto", "Clouds over Porto.", chat=True)
    result = run.run_sync("Weather in Porto?")
    assert result.final_output == "Clouds over Porto."
    assert run.looked_up == ["Porto"]
    assert_tool_loop(run, "Porto", "/v1/chat/completions")


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_an_agent_through_serve_to_a_backend_that_speaks_responses(
    monkeypatch: pytest.MonkeyPatch, gateway: GatewayFactory, responses_api: Any, stream: bool
) -> None:
    """`-b openai-responses`: the SDK's requests reach the fake Responses API (fake_responses.py, standing
    in for OpenAI) as it sent them, its answers come back untranslated, and the tool loop runs."""
    from agents import Agent, OpenAIResponsesModel, RunConfig, Runner, function_tool

    from tests.agents.fake_responses import calls as responses_calls
    from tests.agents.fake_responses import function_call
    from tests.agents.fake_responses import text as responses_text

    api = responses_api(
        [
            responses_calls(function_call("get_weather", {"city": "Bergen"}, call_id="call_weather")),
            responses_text("Wet in Bergen.", chunks=3),
        ]
    )
    monkeypatch.setenv("OPENAI_BASE_URL", api.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", api.key)
    running = gateway.start(flags={"backend": "openai-responses"})
    looked_up: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        looked_up.append(city)
        return f"Rain in {city}, 9 C"

    client = AsyncOpenAI(base_url=running.base_url, api_key="sk-agents-to-serve", max_retries=0, timeout=30)
    model = OpenAIResponsesModel(model=MODEL, openai_client=client)
    agent = Agent(name="Weather", instructions=INSTRUCTIONS, tools=[get_weather], model=model)
    config = RunConfig(tracing_disabled=True)
    if stream:

        async def run() -> Any:
            streamed = Runner.run_streamed(agent, "Weather in Bergen?", run_config=config)
            async for _ in streamed.stream_events():
                pass
            return streamed.final_output

        final = asyncio.run(asyncio.wait_for(run(), timeout=60))
    else:
        final = Runner.run_sync(agent, "Weather in Bergen?", run_config=config).final_output
    assert final == "Wet in Bergen." and looked_up == ["Bergen"]
    assert not api.refusals, [r.error for r in api.refusals]
    first, second = (turn.json for turn in api.turns)
    assert first["instructions"] == INSTRUCTIONS and first["tools"][0]["name"] == "get_weather"
    assert [body.get("stream", False) for body in (first, second)] == [stream, stream]
    [output] = [item for item in second["input"] if item.get("type") == "function_call_output"]
    assert (output["call_id"], output["output"]) == ("call_weather", "Rain in Bergen, 9 C")
    assert [entry["route"] for entry in running.wait_logged(2)] == ["/v1/responses"] * 2
