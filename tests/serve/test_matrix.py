"""Every (surface, backend API) pair the gateway serves, under one contract, with the official SDK of
the surface as the client: an answer whole, a stream, a tool call (whole and streamed), an upstream
error the client's SDK can act on, and a client that leaves mid-stream. Each pair is the same test
body; what differs (the fake upstream's wire format, the SDK) is in the `Pair` objects.

Surfaces: OpenAI Chat Completions (the `openai` SDK), Anthropic Messages (the `anthropic` SDK), OpenAI
Responses (the `openai` SDK). Backend APIs: Anthropic Messages (a fake Claude), OpenAI Chat Completions (a
fake compatible server), OpenAI Responses (tests/agents/fake_responses.py's answers). A pair no bridge
joins (Chat Completions or Messages to a backend that speaks Responses only) is refused:
tests/serve/test_responses_native.py.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx
import openai
import pytest

from protoshift.translator.bridges import BRIDGES
from tests.agents import fake_responses
from tests.fakes import (
    FakeServer,
    Received,
    Reply,
    anthropic_error_reply,
    anthropic_message,
    anthropic_stream_events,
    openai_chunk,
    openai_completion,
    openai_error_reply,
    openai_stream_reply,
    openai_text_chunks,
    openai_tool_call_chunks,
)
from tests.oracles import (
    accumulate_anthropic_events,
    assert_anthropic_body,
    assert_anthropic_event_sequence,
    assert_openai_body,
    validate_anthropic_event,
    validate_anthropic_message_closed,
    validate_chunk,
    validate_completion,
)
from tests.responses_oracles import (
    assert_response_stream,
    validate_response,
    validate_response_event,
    validate_responses_request,
)

from .conftest import GatewayFactory, Running

WEATHER_ARGS = {"city": "Paris"}
TRICKLE = [f"w{i} " for i in range(400)]


# -- the backends' side: a fake upstream per API --------------------------------------------------------


class Upstream:
    """What a fake provider of one API answers: text, a tool call, an error; whole or streamed as asked."""

    api: str
    backend: str  # protoshift's backend for it

    def text(self, text: str) -> Callable[[Received], Reply]:
        raise NotImplementedError

    def tool(self, name: str, args: dict[str, Any]) -> Callable[[Received], Reply]:
        raise NotImplementedError

    def rate_limited(self) -> Reply:
        raise NotImplementedError

    def trickle(self) -> Reply:
        """A long stream sent slowly (400 deltas, 20 ms apart): the fake notices at its next write when
        the gateway has closed the connection."""
        raise NotImplementedError

    def check_body(self, body: dict[str, Any]) -> None:
        raise NotImplementedError


class AnthropicUpstream(Upstream):
    api = "messages"
    backend = "anthropic"

    def text(self, text: str) -> Callable[[Received], Reply]:
        def reply(received: Received) -> Reply:
            if received.json.get("stream"):
                return Reply(events=anthropic_stream_events(texts=[text[:3], text[3:]]))
            return Reply(body=json.dumps(anthropic_message(text)).encode(), headers={"request-id": "req_up"})

        return reply

    def tool(self, name: str, args: dict[str, Any]) -> Callable[[Received], Reply]:
        raw = json.dumps(args)

        def reply(received: Received) -> Reply:
            if received.json.get("stream"):
                return Reply(
                    events=anthropic_stream_events(texts=[], tool_calls=[("toolu_01", name, [raw[:5], raw[5:]])])
                )
            block = {"type": "tool_use", "id": "toolu_01", "name": name, "input": args}
            return Reply(body=json.dumps(anthropic_message([block], stop_reason="tool_use")).encode())

        return reply

    def rate_limited(self) -> Reply:
        return anthropic_error_reply(429, "rate_limit_error", "slow down", {"retry-after": "7"})

    def trickle(self) -> Reply:
        return Reply(events=anthropic_stream_events(texts=TRICKLE), event_delay=0.02)

    def check_body(self, body: dict[str, Any]) -> None:
        assert_anthropic_body(body)


class OpenAIUpstream(Upstream):
    api = "chat"
    backend = "openai"

    def text(self, text: str) -> Callable[[Received], Reply]:
        def reply(received: Received) -> Reply:
            if received.json.get("stream"):
                usage = {"prompt_tokens": 9, "completion_tokens": 3}
                return openai_stream_reply(openai_text_chunks([text[:3], text[3:]], usage=usage))
            return Reply(body=json.dumps(openai_completion(text)).encode(), headers={"x-request-id": "req_up"})

        return reply

    def tool(self, name: str, args: dict[str, Any]) -> Callable[[Received], Reply]:
        raw = json.dumps(args)

        def reply(received: Received) -> Reply:
            if received.json.get("stream"):
                chunks = [
                    openai_chunk({"role": "assistant", "content": None}),
                    *openai_tool_call_chunks([("call_01", name, [raw[:5], raw[5:]])]),
                    openai_chunk({}, "tool_calls"),
                ]
                return openai_stream_reply(chunks)
            completion = openai_completion("", finish_reason="tool_calls")
            call = {"id": "call_01", "type": "function", "function": {"name": name, "arguments": raw}}
            completion["choices"][0]["message"] = {"role": "assistant", "content": None, "tool_calls": [call]}
            return Reply(body=json.dumps(completion).encode())

        return reply

    def rate_limited(self) -> Reply:
        reply = openai_error_reply(429, "slow down", "rate_limit_exceeded")
        reply.headers["retry-after"] = "7"
        return reply

    def trickle(self) -> Reply:
        return openai_stream_reply(openai_text_chunks(TRICKLE), event_delay=0.02)

    def check_body(self, body: dict[str, Any]) -> None:
        assert_openai_body(body)


class ResponsesUpstream(Upstream):
    """OpenAI's Responses API, its answers made by tests/agents/fake_responses.py (each event and object
    validated by the SDK's types as it is made)."""

    api = "responses"
    backend = "openai-responses"

    @staticmethod
    def _context(received: Received) -> fake_responses.TurnContext:
        return fake_responses.TurnContext(
            received, "resp_0001matrix0000000000000000", 1_767_225_600, itertools.count(1),
            lambda item_id: "gAAAAAB" + item_id, threading.Event(),
        )  # fmt: skip

    def text(self, text: str) -> Callable[[Received], Reply]:
        return lambda received: fake_responses.text(text, chunks=2)(self._context(received))

    def tool(self, name: str, args: dict[str, Any]) -> Callable[[Received], Reply]:
        turn = fake_responses.calls(fake_responses.function_call(name, args, call_id="call_01"), chunks=2)
        return lambda received: turn(self._context(received))

    def rate_limited(self) -> Reply:
        reply = openai_error_reply(429, "slow down", "rate_limit_exceeded")
        reply.headers["retry-after"] = "7"
        return reply

    def trickle(self) -> Reply:
        request = Received("POST", "/v1/responses", {}, {"model": "m", "input": "hi", "stream": True})
        reply = fake_responses.text("".join(TRICKLE), chunks=len(TRICKLE))(self._context(request))
        reply.event_delay = 0.02
        return reply

    def check_body(self, body: dict[str, Any]) -> None:
        validate_responses_request(body)


# -- the clients' side: one official SDK per surface ----------------------------------------------------


class Surface:
    """A client of one surface, through its official SDK; the answers it returns are checked against
    the SDK's own types (tests/oracles.py) before the test reads them."""

    name: str
    route: str

    def __init__(self, running: Running) -> None:
        self.running = running

    def ask(self, text: str) -> str:
        raise NotImplementedError

    def stream(self, text: str) -> str:
        raise NotImplementedError

    def tool_call(self, *, stream: bool) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def rate_limit_error(self) -> type[Exception]:
        raise NotImplementedError

    def call_for_error(self) -> None:
        raise NotImplementedError

    def raw_stream_request(self) -> tuple[str, dict[str, Any], dict[str, str]]:
        raise NotImplementedError


TOOL_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


class ChatSurface(Surface):
    name = "chat"
    route = "/v1/chat/completions"

    @property
    def sdk(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.running.base_url, api_key="unused", max_retries=0)

    def ask(self, text: str) -> str:
        completion = self.sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": text}])
        validate_completion(completion.model_dump(exclude_unset=True))
        return completion.choices[0].message.content or ""

    def stream(self, text: str) -> str:
        out = []
        for chunk in self.sdk.chat.completions.create(
            model="m", messages=[{"role": "user", "content": text}], stream=True
        ):
            validate_chunk(chunk.model_dump(exclude_unset=True))
            out += [choice.delta.content or "" for choice in chunk.choices]
        return "".join(out)

    def tool_call(self, *, stream: bool) -> tuple[str, dict[str, Any]]:
        tools: Any = [{"type": "function", "function": {"name": "get_weather", "parameters": TOOL_SCHEMA}}]
        messages: Any = [{"role": "user", "content": "weather?"}]
        if not stream:
            completion = self.sdk.chat.completions.create(model="m", messages=messages, tools=tools)
            validate_completion(completion.model_dump(exclude_unset=True))
            [call] = completion.choices[0].message.tool_calls or []
            assert completion.choices[0].finish_reason == "tool_calls"
            return call.function.name, json.loads(call.function.arguments)  # type: ignore[union-attr]
        name, arguments, finish = "", "", None
        for chunk in self.sdk.chat.completions.create(model="m", messages=messages, tools=tools, stream=True):
            validate_chunk(chunk.model_dump(exclude_unset=True))
            for choice in chunk.choices:
                finish = choice.finish_reason or finish
                for delta in choice.delta.tool_calls or []:
                    name += (delta.function and delta.function.name) or ""
                    arguments += (delta.function and delta.function.arguments) or ""
        assert finish == "tool_calls"
        return name, json.loads(arguments)

    def rate_limit_error(self) -> type[Exception]:
        return openai.RateLimitError

    def call_for_error(self) -> None:
        self.sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])

    def raw_stream_request(self) -> tuple[str, dict[str, Any], dict[str, str]]:
        body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        return self.running.base_url + "/chat/completions", body, {}


class MessagesSurface(Surface):
    name = "messages"
    route = "/v1/messages"

    @property
    def sdk(self) -> anthropic.Anthropic:
        return anthropic.Anthropic(base_url=self.running.url, api_key="unused", max_retries=0)

    def ask(self, text: str) -> str:
        message = self.sdk.messages.create(model="m", max_tokens=50, messages=[{"role": "user", "content": text}])
        validate_anthropic_message_closed(message.model_dump(exclude_unset=True))
        return "".join(block.text for block in message.content if block.type == "text")

    def stream(self, text: str) -> str:
        events = [
            event.model_dump(exclude_unset=True)  # the raw events, as on the wire
            for event in self.sdk.messages.create(
                model="m", max_tokens=50, messages=[{"role": "user", "content": text}], stream=True
            )
        ]
        for event in events:
            validate_anthropic_event(event)
        assert_anthropic_event_sequence(events)
        message = accumulate_anthropic_events(events)
        return "".join(block.text for block in message.content if block.type == "text")

    def tool_call(self, *, stream: bool) -> tuple[str, dict[str, Any]]:
        tools: Any = [{"name": "get_weather", "input_schema": TOOL_SCHEMA}]
        messages: Any = [{"role": "user", "content": "weather?"}]
        if not stream:
            message = self.sdk.messages.create(model="m", max_tokens=50, messages=messages, tools=tools)
            validate_anthropic_message_closed(message.model_dump(exclude_unset=True))
            [block] = [b for b in message.content if b.type == "tool_use"]
            assert message.stop_reason == "tool_use"
            return block.name, dict(block.input)  # type: ignore[arg-type]
        with self.sdk.messages.stream(model="m", max_tokens=50, messages=messages, tools=tools) as s:
            final = s.get_final_message()
        validate_anthropic_message_closed(final.model_dump(exclude_unset=True))
        [block] = [b for b in final.content if b.type == "tool_use"]
        assert final.stop_reason == "tool_use"
        return block.name, dict(block.input)  # type: ignore[arg-type]

    def rate_limit_error(self) -> type[Exception]:
        return anthropic.RateLimitError

    def call_for_error(self) -> None:
        self.sdk.messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}])

    def raw_stream_request(self) -> tuple[str, dict[str, Any], dict[str, str]]:
        body = {"model": "m", "max_tokens": 50, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        return self.running.url + "/v1/messages", body, {"anthropic-version": "2023-06-01"}


class ResponsesSurface(Surface):
    name = "responses"
    route = "/v1/responses"

    @property
    def sdk(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.running.base_url, api_key="unused", max_retries=0)

    def ask(self, text: str) -> str:
        response = self.sdk.responses.create(model="m", input=text)
        validate_response(response.model_dump(exclude_unset=True))
        assert response.status == "completed"
        return response.output_text

    def _events(self, **request: Any) -> list[dict[str, Any]]:
        events = [event.model_dump(exclude_unset=True) for event in self.sdk.responses.create(stream=True, **request)]
        for event in events:
            validate_response_event(event)
        assert_response_stream(events)  # the full order, one terminal event, every item it streamed
        return events

    def stream(self, text: str) -> str:
        events = self._events(model="m", input=text)
        return "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")

    def tool_call(self, *, stream: bool) -> tuple[str, dict[str, Any]]:
        tools: Any = [{"type": "function", "name": "get_weather", "parameters": TOOL_SCHEMA, "strict": False}]
        if not stream:
            response = self.sdk.responses.create(model="m", input="weather?", tools=tools)
            validate_response(response.model_dump(exclude_unset=True))
            [call] = [item for item in response.output if item.type == "function_call"]
            return call.name, json.loads(call.arguments)  # type: ignore[union-attr]
        events = self._events(model="m", input="weather?", tools=tools)
        [done] = [
            e["item"]
            for e in events
            if e["type"] == "response.output_item.done" and e["item"]["type"] == "function_call"
        ]
        return done["name"], json.loads(done["arguments"])

    def rate_limit_error(self) -> type[Exception]:
        return openai.RateLimitError

    def call_for_error(self) -> None:
        self.sdk.responses.create(model="m", input="hi")

    def raw_stream_request(self) -> tuple[str, dict[str, Any], dict[str, str]]:
        return self.running.base_url + "/responses", {"model": "m", "input": "hi", "stream": True}, {}


SURFACES: dict[str, type[Surface]] = {"chat": ChatSurface, "messages": MessagesSurface, "responses": ResponsesSurface}
UPSTREAMS: dict[str, Upstream] = {
    "messages": AnthropicUpstream(),
    "chat": OpenAIUpstream(),
    "responses": ResponsesUpstream(),
}


@dataclass
class Pair:
    surface_name: str
    upstream: Upstream
    gateway: GatewayFactory
    make_server: Callable[[Any], FakeServer]

    def start(self, responder: Any) -> tuple[Surface, FakeServer, Running]:
        server = self.make_server(responder)
        if self.upstream.backend.startswith("openai"):
            self.gateway.monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
        running = self.gateway.start(server, flags={"backend": self.upstream.backend})
        return SURFACES[self.surface_name](running), server, running

    def sent(self, server: FakeServer) -> list[dict[str, Any]]:
        """The bodies the upstream received, each valid for its API."""
        path = {"messages": "/v1/messages", "chat": "/v1/chat/completions", "responses": "/v1/responses"}[
            self.upstream.api
        ]
        bodies = [r.json for r in server.requests if r.method == "POST"]
        assert all(r.path == path for r in server.requests if r.method == "POST")
        for body in bodies:
            self.upstream.check_body(body)
        return bodies


PAIRS = [(surface, api) for surface in SURFACES for api in UPSTREAMS if (surface, api) in BRIDGES]


@pytest.fixture(params=PAIRS, ids=[f"{surface}-over-{api}" for surface, api in PAIRS])
def pair(request: pytest.FixtureRequest, gateway: GatewayFactory, upstream: Any) -> Iterator[Pair]:
    surface, api = request.param
    yield Pair(surface, UPSTREAMS[api], gateway, upstream)


def test_every_pair_is_enumerated() -> None:
    """Three surfaces, three backend APIs: the seven pairs a bridge joins, each under the contract below
    (a backend that speaks Responses serves Responses clients only)."""
    from protoshift.gateway.surfaces import SURFACES as GATEWAY_SURFACES

    assert {surface.api for surface in GATEWAY_SURFACES} == set(SURFACES)
    assert {api for _, api in BRIDGES} == set(UPSTREAMS)
    assert set(PAIRS) == set(BRIDGES) and len(PAIRS) == 7


def test_an_answer_whole(pair: Pair) -> None:
    surface, server, running = pair.start(pair.upstream.text("Bonjour!"))
    assert surface.ask("hi") == "Bonjour!"
    [body] = pair.sent(server)
    assert "stream" not in body
    [entry] = running.wait_logged(1)
    assert (entry["route"], entry["status"], entry["stream"]) == (surface.route, 200, False)
    assert entry["prompt_tokens"] > 0 and entry["completion_tokens"] > 0


def test_a_stream(pair: Pair) -> None:
    surface, server, running = pair.start(pair.upstream.text("Bonjour!"))
    assert surface.stream("hi") == "Bonjour!"
    [body] = pair.sent(server)
    assert body["stream"] is True
    [entry] = running.wait_logged(1)
    assert (entry["route"], entry["status"], entry["stream"]) == (surface.route, 200, True)
    assert entry["completion_tokens"] > 0, "a stream's usage is counted"


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_tool_call(pair: Pair, stream: bool) -> None:
    surface, server, _ = pair.start(pair.upstream.tool("get_weather", WEATHER_ARGS))
    assert surface.tool_call(stream=stream) == ("get_weather", WEATHER_ARGS)
    [body] = pair.sent(server)
    assert len(body["tools"]) == 1


def test_an_upstream_rate_limit_reaches_the_client_as_one(pair: Pair) -> None:
    surface, server, running = pair.start(lambda r: pair.upstream.rate_limited())
    with pytest.raises(surface.rate_limit_error()) as info:
        surface.call_for_error()
    response = info.value.response  # type: ignore[attr-defined]
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7", "the client's SDK waits as the provider asked"
    request_id = response.headers.get("x-request-id") or response.headers.get("request-id")
    assert request_id and request_id.startswith("req_"), "errors carry the request id too"
    [entry] = running.wait_logged(1)
    assert entry["status"] == 429 and entry["id"] == request_id
    assert len(server.requests) == 1, "the client's own SDK decides whether to try again"


def test_a_client_that_leaves_mid_stream_cancels_the_upstream_request(pair: Pair) -> None:
    surface, server, running = pair.start(lambda r: pair.upstream.trickle())
    url, body, headers = surface.raw_stream_request()
    with httpx.stream("POST", url, json=body, headers=headers, timeout=20) as response:
        assert response.status_code == 200
        next(response.iter_bytes())  # output began; then the client hangs up
    # the gateway closed its upstream connection: the fake provider saw its writes fail
    assert server.client_cut.wait(20), "the upstream request was not cancelled"
    [entry] = running.wait_logged(1)
    assert entry["status"] == 499
    assert pair.sent(server)[0]["stream"] is True
