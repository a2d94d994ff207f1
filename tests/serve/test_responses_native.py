"""`POST /v1/responses` to a backend that speaks OpenAI Responses itself (`-b openai-responses`), with the
official `openai` SDK as the client of serve in front of tests/agents/fake_responses.py (a strict fake of
the API whose every event and object the SDK's types validate):

    openai SDK --(Responses)--> protoshift serve --(Responses, untranslated)--> FakeResponses

Nothing is translated: the request reaches the fake as sent (`store`, `previous_response_id` included),
the stream comes back byte for byte, no notes, no `x-protoshift-dropped`. Retries, the breaker, fallback
and the request log work as for the other backends; a stream that breaks midway ends in
`response.failed`. The Chat Completions and Messages surfaces, and `protoshift chat`, refuse in one
clear line: that backend speaks Responses only."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import anthropic
import httpx
import openai
import pytest

from protoshift.cloud import client_for, create_backend
from protoshift.cloud.bridged import Bridged
from protoshift.cloud.errors import APIMismatchError
from protoshift.cloud.events import CloudEvent
from tests.agents.fake_responses import (
    API_KEY,
    FakeResponses,
    Refused,
    TurnContext,
    _Stream,
    calls,
    check_event,
    custom_call,
    cut,
    failed,
    function_call,
    rate_limited,
    server_error,
    stall,
    text,
)
from tests.fakes import Received, Reply, anthropic_message, sse
from tests.responses_oracles import assert_response_stream, validate_response, validate_response_event

from .conftest import GatewayFactory, Running, ServeProcess, serve_env

MODEL = "gpt-5.5"
PATCH = '*** Begin Patch\n*** Update File: a.txt\n@@\n-old\n+new "quoted" \\ tab\there ünï\n*** End Patch\n'
TOOLS: Any = [
    {"type": "function", "name": "exec_command", "parameters": {"type": "object"}, "strict": False},
    {"type": "custom", "name": "apply_patch", "description": "Edit files."},
    {"type": "web_search", "external_web_access": True},  # hosted: OpenAI runs it (no policy applies here)
    {"type": "namespace", "name": "multi_agent_v1", "description": "Agents.", "tools": [
        {"type": "function", "name": "spawn_agent", "parameters": {"type": "object"}, "strict": False},
    ]},
]  # fmt: skip


class ResponsesAPI(FakeResponses):
    """The fake Responses API, with `GET /v1/models` (the API has it; the model list reads it), and every
    reply it sent kept (`sent`), to compare with what the client got."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.sent: list[Reply] = []

    def _answer(self, received: Received) -> Reply:
        if received.path.split("?", 1)[0] == "/v1/models":
            if received.method != "GET":
                raise Refused(404, f"Invalid URL ({received.method} {received.path})")
            self._check_key(received.headers)
            models = [{"id": name, "object": "model", "created": 1, "owned_by": "openai"} for name in ("gpt-5.5", "o3")]
            return Reply(body=json.dumps({"object": "list", "data": models}).encode())
        reply = super()._answer(received)
        self.sent.append(reply)
        return reply


@pytest.fixture
def responses_api() -> Iterator[Callable[..., ResponsesAPI]]:
    started: list[ResponsesAPI] = []
    with ExitStack() as stack:

        def start(script: list[Any], **options: Any) -> ResponsesAPI:
            api = stack.enter_context(ResponsesAPI(script, **options))
            started.append(api)
            return api

        yield start
    for api in started:
        assert not api.broken, f"a turn of the fake failed the SDK's checks:\n{api.broken[0]}"


def serve(gateway: GatewayFactory, api: FakeResponses, **flags: Any) -> Running:
    gateway.monkeypatch.setenv("OPENAI_BASE_URL", api.base_url)
    gateway.monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    return gateway.start(flags={"backend": "openai-responses", **flags})


def sdk(running: Running) -> openai.OpenAI:
    return openai.OpenAI(base_url=running.base_url, api_key="unused", max_retries=0)


def raw_stream(running: Running, request: dict[str, Any]) -> tuple[httpx.Headers, bytes]:
    with httpx.stream("POST", running.base_url + "/responses", json={**request, "stream": True}, timeout=30) as answer:
        assert answer.status_code == 200, answer.read()
        return answer.headers, answer.read()


def events_of(data: bytes) -> list[dict[str, Any]]:
    """The events of an SSE body, each `event:` checked against its data's `type`."""
    events = []
    for block in data.decode().split("\n\n"):
        if not block.strip():
            continue
        name, payload = block.split("\n", 1)
        event = json.loads(payload.removeprefix("data: "))
        assert name == f"event: {event['type']}", block
        events.append(event)
    return events


# ---- answers, whole and streamed ------------------------------------------------------------------------


def test_an_answer_whole_is_the_backends_response(gateway: GatewayFactory, responses_api: Any) -> None:
    api = responses_api([text("Hello from OpenAI.", reasoning="Thinking it over.")])
    running = serve(gateway, api)
    raw = sdk(running).responses.with_raw_response.create(
        model=MODEL, input="hi", instructions="Be brief.", reasoning={"effort": "low", "summary": "auto"}
    )
    response = raw.parse()
    validate_response(response.model_dump(exclude_unset=True))
    assert response.output_text == "Hello from OpenAI."
    assert [item.type for item in response.output] == ["reasoning", "message"]
    assert response.model == MODEL + "-2026-01-01"  # the backend's answer, not one made here
    assert "x-protoshift-dropped" not in raw.headers  # nothing translated, nothing dropped
    [turn] = api.turns
    assert turn.json == {
        "model": MODEL,
        "input": "hi",
        "instructions": "Be brief.",
        "reasoning": {"effort": "low", "summary": "auto"},
    }, "the request reaches the backend as it was sent"
    assert turn.path == "/v1/responses" and turn.headers["authorization"] == f"Bearer {API_KEY}"
    [entry] = running.wait_logged(1)
    assert (entry["route"], entry["status"], entry["stream"]) == ("/v1/responses", 200, False)
    assert entry["prompt_tokens"] > 0 and entry["completion_tokens"] > 0
    assert "notes" not in entry


def test_a_stream_is_passed_through_byte_for_byte(gateway: GatewayFactory, responses_api: Any) -> None:
    api = responses_api([text("Bonjour, ça va? «quotes» and \\ slashes", chunks=5, reasoning="Hmm.")])
    running = serve(gateway, api)
    headers, data = raw_stream(running, {"model": MODEL, "input": "hi", "store": False})
    [reply] = api.sent
    assert reply.events is not None
    assert data == b"".join(reply.events), "every event as the backend sent it, byte for byte"
    assert "x-protoshift-dropped" not in headers
    assert headers["content-type"].startswith("text/event-stream")
    events = events_of(data)
    for event in events:
        validate_response_event(event)
    assert events[-1]["type"] == "response.completed"
    assert api.turns[0].json == {"model": MODEL, "input": "hi", "store": False, "stream": True}
    [entry] = running.wait_logged(1)
    assert (entry["status"], entry["stream"]) == (200, True) and entry["completion_tokens"] > 0


def test_the_sdks_stream_validates_every_event(gateway: GatewayFactory, responses_api: Any) -> None:
    api = responses_api([text("Streamed.", chunks=4)])
    running = serve(gateway, api)
    events = [
        e.model_dump(exclude_unset=True) for e in sdk(running).responses.create(model=MODEL, input="hi", stream=True)
    ]
    for event in events:
        validate_response_event(event)
        check_event(event)  # and no field the SDK does not know
    final = assert_response_stream(events)
    assert final["status"] == "completed"
    assert "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == "Streamed."


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_function_and_custom_tool_calls(gateway: GatewayFactory, responses_api: Any, stream: bool) -> None:
    turn = calls(
        function_call("exec_command", {"cmd": "ls -la"}, call_id="call_fn"),
        custom_call("apply_patch", PATCH, call_id="call_patch"),
        chunks=4,
    )
    api = responses_api([turn])
    running = serve(gateway, api)
    client = sdk(running)
    if stream:
        events = [
            e.model_dump(exclude_unset=True)
            for e in client.responses.create(model=MODEL, input="go", tools=TOOLS, stream=True)
        ]
        output = assert_response_stream(events)["output"]
        deltas = "".join(e["delta"] for e in events if e["type"] == "response.custom_tool_call_input.delta")
        assert deltas == PATCH
    else:
        response = client.responses.create(model=MODEL, input="go", tools=TOOLS)
        validate_response(response.model_dump(exclude_unset=True))
        output = [item.model_dump(exclude_unset=True) for item in response.output]
    fn, patch = output
    assert (fn["type"], fn["name"], fn["call_id"], json.loads(fn["arguments"])) == (
        "function_call",
        "exec_command",
        "call_fn",
        {"cmd": "ls -la"},
    )
    assert (patch["type"], patch["name"], patch["call_id"], patch["input"]) == (
        "custom_tool_call",
        "apply_patch",
        "call_patch",
        PATCH,
    )
    assert api.turns[0].json["tools"] == TOOLS  # the custom tool goes as it is: no function stands in for it


# ---- conversations: OpenAI keeps them ---------------------------------------------------------------------


def test_previous_response_id_and_the_stored_responses_are_the_backends(
    gateway: GatewayFactory, responses_api: Any
) -> None:
    api = responses_api([text("First."), text("Second.")])
    running = serve(gateway, api)
    client = sdk(running)
    first = client.responses.create(model=MODEL, input="one")
    second = client.responses.create(model=MODEL, input="two", previous_response_id=first.id)
    assert second.output_text == "Second."
    assert api.turns[1].json["previous_response_id"] == first.id  # passed on: the backend has the conversation
    assert "previous_response_not_found" not in str(api.refusals)
    # GET: the backend's own (the gateway kept nothing); DELETE likewise
    kept = client.responses.retrieve(first.id)
    assert (kept.id, kept.output_text) == (first.id, "First.")
    assert [r.path for r in api.requests if r.method == "GET"] == [f"/v1/responses/{first.id}"]
    client.responses.delete(first.id)
    with pytest.raises(openai.NotFoundError) as info:  # the backend's 404, as it said it
        client.responses.retrieve(first.id)
    assert "No response found" in str(info.value)


def test_an_unknown_previous_response_id_is_the_backends_to_refuse(gateway: GatewayFactory, responses_api: Any) -> None:
    api = responses_api([text("never")])
    running = serve(gateway, api)
    with pytest.raises(openai.BadRequestError) as info:
        sdk(running).responses.create(model=MODEL, input="hi", previous_response_id="resp_unknown")
    assert info.value.code == "previous_response_not_found"
    assert [r.error["code"] for r in api.refusals] == ["previous_response_not_found"]


# ---- failures ----------------------------------------------------------------------------------------------


def test_an_upstream_429_keeps_its_retry_after(gateway: GatewayFactory, responses_api: Any) -> None:
    api = responses_api([rate_limited(7), rate_limited(7)])
    running = serve(gateway, api)
    for stream in (False, True):
        with pytest.raises(openai.RateLimitError) as info:
            sdk(running).responses.create(model=MODEL, input="hi", stream=stream)
        assert info.value.response.headers["retry-after"] == "7"
        assert info.value.code == "rate_limit_exceeded"
    assert len(api.turns) == 2, "retries are the client's when it asks for none here (max_retries 0)"
    assert [e["status"] for e in running.wait_logged(2)] == [429, 429]


def test_retries_and_the_log_work_as_for_any_backend(gateway: GatewayFactory, responses_api: Any) -> None:
    api = responses_api([rate_limited(0.01), server_error(503), text("At last.")])
    running = serve(gateway, api, max_retries=2)
    # a plain client (the SDKs say they retry themselves: the gateway then leaves retries to them)
    answer = httpx.post(running.base_url + "/responses", json={"model": MODEL, "input": "hi"}, timeout=30)
    assert answer.status_code == 200 and answer.json()["output"][0]["content"][0]["text"] == "At last."
    assert len(api.turns) == 3
    retries = [e for e in running.log() if e.get("event") == "retry"]
    assert len(retries) == 2 and all(e["backend"] == "openai-responses" for e in retries)


def test_a_5xx_reaches_the_client_as_one(gateway: GatewayFactory, responses_api: Any) -> None:
    api = responses_api([server_error(500)])
    running = serve(gateway, api)
    with pytest.raises(openai.InternalServerError) as info:
        sdk(running).responses.create(model=MODEL, input="hi")
    assert info.value.status_code == 500 and "server had an error" in str(info.value)


def test_a_5xx_falls_back_to_another_backend(gateway: GatewayFactory, responses_api: Any, upstream: Any) -> None:
    api = responses_api([server_error(500)])
    claude = upstream(lambda received: Reply(body=json.dumps(anthropic_message("From Claude.")).encode()))
    gateway.monkeypatch.setenv("ANTHROPIC_BASE_URL", claude.url)
    running = serve(gateway, api, fallbacks=("anthropic:claude-haiku-4-5",))
    response = sdk(running).responses.create(model=MODEL, input="hi")
    assert response.output_text == "From Claude."  # translated there: Responses -> Messages
    assert [r.path for r in claude.requests] == ["/v1/messages"]
    [fallback] = [e for e in running.log() if e.get("event") == "fallback"]
    assert "openai-responses failed" in fallback["message"]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_conversation_openai_keeps_is_not_handed_to_a_fallback_that_would_lose_it(
    gateway: GatewayFactory, responses_api: Any, upstream: Any, stream: bool
) -> None:
    """`previous_response_id` names a conversation only OpenAI has: when OpenAI fails, Claude (the
    fallback) cannot continue it, and the client gets OpenAI's failure, not a 400 for a good request."""
    api = responses_api([text("First."), server_error(500)])
    claude = upstream(lambda received: Reply(body=json.dumps(anthropic_message("From Claude.")).encode()))
    gateway.monkeypatch.setenv("ANTHROPIC_BASE_URL", claude.url)
    running = serve(gateway, api, fallbacks=("anthropic:claude-haiku-4-5",))
    client = sdk(running)
    first = client.responses.create(model=MODEL, input="one")
    with pytest.raises(openai.InternalServerError) as info:
        client.responses.create(model=MODEL, input="two", previous_response_id=first.id, stream=stream)
    assert "server had an error" in str(info.value)
    assert claude.requests == []
    said = [e["message"] for e in running.log() if e.get("event") == "fallback"]
    assert any("anthropic:claude-haiku-4-5 cannot take this request (previous_response_id" in m for m in said), said


def _error_midway(ctx: TurnContext) -> Reply:
    stream = _Stream(ctx)
    stream.start()
    stream.message("half an answer", 2)
    sent = stream.events[:-3]  # up to the text's deltas: no text.done, part.done nor item.done
    error = {"type": "error", "code": "server_error", "message": "The model broke.", "param": None}
    return Reply(events=[*map(sse, sent), sse(check_event({**error, "sequence_number": len(sent)}))])


@pytest.mark.parametrize(
    "turn",
    [
        cut(text("Cut short, this answer.", chunks=6), after=5),
        _error_midway,
        stall(text("Silent now.", chunks=6), after=5),
    ],
    ids=["cut", "error-event", "stalled"],
)
def test_a_stream_that_breaks_midway_ends_in_response_failed(
    gateway: GatewayFactory, responses_api: Any, turn: Any
) -> None:
    api = responses_api([turn])
    # the stall is cut by the idle limit; the events before it must each come within it on a busy machine
    running = serve(gateway, api, idle_timeout=3.0)
    _, data = raw_stream(running, {"model": MODEL, "input": "hi"})
    events = events_of(data)
    failed = assert_response_stream(events)  # the API's order, one terminal event, every item that streamed
    assert events[-1]["type"] == "response.failed" and failed["status"] == "failed"
    assert failed["error"]["code"] == "server_error"
    [item] = failed["output"]
    assert item["type"] == "message" and item["status"] == "incomplete"
    [reply] = api.sent
    assert reply.events is not None
    assert data.startswith(b"".join(reply.events[:4])), "what came before the break, byte for byte"
    [entry] = running.wait_logged(1)
    assert entry["status"] == 200 and entry["error"]


def test_a_stream_whose_event_names_lie_is_refused(gateway: GatewayFactory, responses_api: Any) -> None:
    def lying(ctx: TurnContext) -> Reply:
        reply = text("x")(ctx)
        assert reply.events is not None
        first = reply.events[0].replace(b"event: response.created", b"event: response.completed", 1)
        return Reply(events=[first, *reply.events[1:]])

    api = responses_api([lying])
    running = serve(gateway, api)
    with pytest.raises(openai.APIStatusError) as info:
        sdk(running).responses.create(model=MODEL, input="hi", stream=True)
    assert info.value.status_code == 502 and "response.created" in str(info.value)


# ---- the other surfaces, and the CLI ---------------------------------------------------------------------


def test_chat_and_messages_are_refused_in_their_own_shape(gateway: GatewayFactory, responses_api: Any) -> None:
    api = responses_api([])
    running = serve(gateway, api)  # the gateway starts: its check uses the surface the backend serves
    with pytest.raises(openai.BadRequestError) as info:
        sdk(running).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert info.value.code == "backend_api_mismatch"
    said = info.value.body["message"]  # type: ignore[index]
    assert "'openai-responses'" in said and "OpenAI Responses only" in said and "Chat Completions" in said
    claude = anthropic.Anthropic(base_url=running.url, api_key="unused", max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as refused:
        claude.messages.create(model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    assert refused.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert "'openai-responses'" in str(refused.value) and "Anthropic Messages request" in str(refused.value)
    assert api.requests == [], "nothing was sent"
    assert [e["status"] for e in running.wait_logged(2)] == [400, 400]


def test_the_model_list_is_the_backends(gateway: GatewayFactory, responses_api: Any) -> None:
    api = responses_api([])
    running = serve(gateway, api)
    assert [model.id for model in sdk(running).models.list()] == ["gpt-5.5", "o3"]
    assert [r.path for r in api.requests] == ["/v1/models"]


def test_protoshift_chat_says_in_one_line_what_the_backend_speaks(run_cli: Any) -> None:
    done = run_cli("chat", "-b", "openai-responses", "-p", "hi", env={"OPENAI_API_KEY": "sk-unused-here"})
    assert done.returncode == 2
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert "'openai-responses' speaks OpenAI Responses only" in lines[0] and "Chat Completions" in lines[0]


def test_a_fallback_that_speaks_responses_only_is_left_out_of_other_apis_chains() -> None:
    events: list[CloudEvent] = []
    claude = create_backend("anthropic", api_key="sk-ant-unused", breaker=False)
    native = create_backend("openai-responses", api_key="sk-unused", breaker=False)
    chat = client_for("chat", [(claude, None), (native, "gpt-5.5")], on_event=events.append)
    assert isinstance(chat, Bridged) and chat.backend is claude
    [event] = events
    assert event.kind == "fallback" and "openai-responses speaks OpenAI Responses only" in event.message
    with pytest.raises(APIMismatchError, match="'openai-responses' speaks OpenAI Responses only"):
        client_for("messages", [(native, None), (claude, None)])
    both = client_for("responses", [(native, None), (claude, None)])
    assert [backend.name for backend in both.backends()] == ["openai-responses", "anthropic"]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_an_upstream_refusal_keeps_its_message_param_and_code(
    gateway: GatewayFactory, responses_api: Any, stream: bool
) -> None:
    api = responses_api([text("never")])
    running = serve(gateway, api)
    bad_input: Any = [{"type": "message", "role": "user", "content": "hi", "colour": "blue"}]
    with pytest.raises(openai.BadRequestError) as info:
        sdk(running).responses.create(model=MODEL, input=bad_input, stream=stream)
    [refusal] = api.refusals
    said = refusal.error
    assert (
        (info.value.code, info.value.param) == (said["code"], said["param"]) == ("unknown_parameter", "input[0].colour")
    )
    assert said["message"] in str(info.value)
    assert api.turns == [], "refused before any turn: nothing retried"


def test_a_response_failed_from_the_backend_is_passed_on(gateway: GatewayFactory, responses_api: Any) -> None:
    """The backend's own `response.failed` (Codex reads its code and its "try again in Ns") reaches the
    client as sent: it is an answer, not a failure of the gateway's."""
    api = responses_api([failed("rate_limit_exceeded", "Rate limit reached. Please try again in 0.3s.")])
    running = serve(gateway, api, max_retries=2)
    _, data = raw_stream(running, {"model": MODEL, "input": "hi"})
    [reply] = api.sent
    assert reply.events is not None and data == b"".join(reply.events)
    final = events_of(data)[-1]
    assert final["type"] == "response.failed" and final["response"]["error"]["code"] == "rate_limit_exceeded"
    assert len(api.turns) == 1, "not retried: the stream had begun"


def test_an_open_circuit_is_a_503_and_sends_nothing(gateway: GatewayFactory, responses_api: Any) -> None:
    api = responses_api([server_error(500)] * 5)
    running = serve(gateway, api, no_breaker=False)
    client = sdk(running)
    for _ in range(5):  # the breaker opens after 5 failed attempts in a row, as for every backend
        with pytest.raises(openai.InternalServerError):
            client.responses.create(model=MODEL, input="hi")
    with pytest.raises(openai.APIStatusError) as info:
        client.responses.create(model=MODEL, input="hi")
    assert info.value.status_code == 503 and info.value.code == "circuit_open"
    assert 1 <= int(info.value.response.headers["retry-after"]) <= 30
    assert len(api.turns) == 5, "an open circuit sends nothing"
    assert 'protoshift_breaker_state{backend="openai-responses"} 2' in httpx.get(running.url + "/metrics").text


def test_a_429_before_the_stream_is_retried_by_the_gateway(gateway: GatewayFactory, responses_api: Any) -> None:
    """A client that does not retry itself (no x-stainless-retry-count: Codex) gets the answer after the
    gateway's own retry, the stream then passed on byte for byte."""
    api = responses_api([rate_limited(0.01), text("Streamed after the wait.", chunks=3)])
    running = serve(gateway, api, max_retries=2)
    _, data = raw_stream(running, {"model": MODEL, "input": "hi", "store": False})
    assert data == b"".join(api.sent[1].events or [])
    assert len(api.turns) == 2
    [retry] = [e for e in running.log() if e.get("event") == "retry"]
    assert retry["backend"] == "openai-responses"


@pytest.mark.process
def test_the_real_serve_chosen_in_the_config_file(cli_env: dict[str, str], responses_api: Any, tmp_path: Any) -> None:
    """`backend = "openai-responses"` with its `[openai-responses]` table, as the README shows it: the real
    process says which clients it serves, answers the SDK whole and streamed, and stops on SIGTERM."""
    api = responses_api([text("From the config."), text("Streamed too.", chunks=3)])
    config = tmp_path / "protoshift.toml"
    config.write_text(f'backend = "openai-responses"\n\n[openai-responses]\nbase_url = "{api.base_url}"\n')
    config.chmod(0o600)
    env = serve_env(cli_env, PROTOSHIFT_CONFIG=str(config), OPENAI_API_KEY=API_KEY)
    process = ServeProcess(["--max-retries", "0"], env)
    try:
        assert "serving openai-responses" in process.start_line
        assert "client.responses" in process.start_line and "ANTHROPIC_BASE_URL" not in process.start_line
        client = openai.OpenAI(base_url=process.base_url, api_key="unused", max_retries=0)
        assert client.responses.create(model=MODEL, input="hi").output_text == "From the config."
        events = [
            e.model_dump(exclude_unset=True) for e in client.responses.create(model=MODEL, input="hi", stream=True)
        ]
        assert assert_response_stream(events)["status"] == "completed"
        assert [turn.path for turn in api.turns] == ["/v1/responses"] * 2
        code, err = process.stop()
        assert code == 0 and "Traceback" not in err and API_KEY not in err
    finally:
        if process.process.poll() is None:
            process.process.kill()


def test_batch_run_says_in_one_line_what_the_backend_speaks(run_cli: Any, tmp_path: Any) -> None:
    lines = tmp_path / "in.jsonl"
    lines.write_text(
        json.dumps({"custom_id": "a", "body": {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}}) + "\n"
    )
    done = run_cli(
        "batch",
        "run",
        str(lines),
        "-o",
        str(tmp_path / "out.jsonl"),
        "-b",
        "openai-responses",
        env={"OPENAI_API_KEY": "sk-unused-here"},
    )
    assert done.returncode == 2
    [line] = done.stderr.decode().strip().splitlines()
    assert "'openai-responses' speaks OpenAI Responses only" in line


def test_an_alias_sends_one_model_natively_beside_a_translated_backend(
    gateway: GatewayFactory, responses_api: Any, upstream: Any
) -> None:
    """The default backend Claude (every surface), and `gpt-5.5` an alias of `openai-responses:gpt-5.5`:
    Responses requests for it go to OpenAI untranslated, the stored ones are OpenAI's to give back, and a
    Chat Completions request for it is refused in one line (that backend speaks Responses only)."""
    api = responses_api([text("Native."), text("Native again.")])
    claude = upstream(lambda received: Reply(body=json.dumps(anthropic_message("From Claude.")).encode()))
    gateway.monkeypatch.setenv("OPENAI_BASE_URL", api.base_url)
    gateway.monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    running = gateway.start(claude, config=f'[aliases]\n"{MODEL}" = "openai-responses:{MODEL}"\n')
    client = sdk(running)
    first = client.responses.create(model=MODEL, input="hi")
    second = client.responses.create(model=MODEL, input="again", previous_response_id=first.id)
    assert (first.output_text, second.output_text) == ("Native.", "Native again.")
    assert api.turns[1].json["previous_response_id"] == first.id
    assert client.responses.retrieve(first.id).output_text == "Native."  # OpenAI's, asked of it
    # the other models, on every surface: Claude, translated
    assert client.responses.create(model="claude-haiku-4-5", input="hi").output_text == "From Claude."
    chat = client.chat.completions.create(model="claude-haiku-4-5", messages=[{"role": "user", "content": "hi"}])
    assert chat.choices[0].message.content == "From Claude."
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert info.value.code == "backend_api_mismatch" and "'openai-responses'" in str(info.value)
    assert len(api.turns) == 2 and [r.path for r in claude.requests] == ["/v1/messages"] * 2


def test_protoshift_models_lists_the_backends(run_cli: Any, responses_api: Any) -> None:
    api = responses_api([])
    done = run_cli(
        "models", "-b", "openai-responses", "--json", env={"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": api.base_url}
    )
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["id"] for line in done.stdout.decode().splitlines()] == ["gpt-5.5", "o3"]
