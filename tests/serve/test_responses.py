"""`/v1/responses` with the official `openai` SDK as the client (issue 20): stored responses and
`previous_response_id`, Codex's freeform tools byte for byte, what cannot be carried named, a stream that
fails midway, Claude's signed thinking handed back, a web search on Claude — in front of fake upstreams on 127.0.0.1 that check
every request as the real ones would."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from tests import claude_search
from tests.fakes import (
    FakeServer,
    Received,
    Reply,
    anthropic_message_reply,
    anthropic_stream_events,
    openai_chunk,
    openai_completion,
    openai_stream_reply,
    openai_text_chunks,
    openai_tool_call_chunks,
    sequence,
)
from tests.oracles import assert_anthropic_body, assert_openai_body
from tests.responses_oracles import SEARCH_STEPS, assert_response_stream, validate_response, validate_response_event

from .conftest import GatewayFactory, Running

PATCH = '*** Begin Patch\n*** Update File: a.py\n@@\n-print("hi")\n+print("héllo \\"world\\"")\n*** End Patch\n'
APPLY_PATCH = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Edit files.",
    "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/s"},
}


def start_openai(gateway: GatewayFactory, server: FakeServer, **options: Any) -> Running:
    gateway.monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    return gateway.start(server, flags={"backend": "openai"}, **options)


def sdk(running: Running) -> openai.OpenAI:
    return openai.OpenAI(base_url=running.base_url, api_key="unused", max_retries=0)


def chat_bodies(server: FakeServer) -> list[dict[str, Any]]:
    bodies = [r.json for r in server.requests if r.method == "POST"]
    for body in bodies:
        assert_openai_body(body)
    return bodies


def _text(content: Any) -> str:
    return content if isinstance(content, str) else "".join(part["text"] for part in content)


def text_reply(text: str) -> Reply:
    return Reply(body=json.dumps(openai_completion(text)).encode())


# -- stored responses ------------------------------------------------------------------------------


def test_every_stored_response_is_there_the_moment_its_client_has_it(
    gateway: GatewayFactory, upstream: Any, tmp_path: Any
) -> None:
    """Stored (in the SQLite file `serve` uses) before the answer goes out: a put made after it was cut
    when the client, having its answer, left (benchmarks/serve.py found 50-75% of them lost)."""

    def answer(received: Received) -> Reply:
        if received.json.get("stream"):
            return openai_stream_reply(
                openai_text_chunks(["Do", "ne."], usage={"prompt_tokens": 3, "completion_tokens": 2})
            )
        return text_reply("Done.")

    running = start_openai(gateway, upstream(answer), store_dir=tmp_path)
    ids = []
    for n in range(24):
        with httpx.Client(base_url=running.base_url) as client:  # a client that leaves once it has its answer
            body = {"model": "gpt-4.1", "input": f"turn {n}", "stream": n % 3 == 0}
            answer_ = client.post("/responses", json=body)
            assert answer_.status_code == 200
            if body["stream"]:
                last = [line for line in answer_.text.splitlines() if line.startswith("data: ")][-1]
                got = json.loads(last[len("data: ") :])["response"]
            else:
                got = answer_.json()
            ids.append(got["id"])
            with httpx.Client(base_url=running.base_url) as reader:  # kept as its client got it
                assert reader.get(f"/responses/{got['id']}").json() == got
    client_ = sdk(running)
    assert [client_.responses.retrieve(response_id).id for response_id in ids] == ids


def test_a_stored_response_is_continued_retrieved_listed_and_deleted(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(sequence(text_reply("Paris."), text_reply("About 2.1 million.")))
    client = sdk(start_openai(gateway, server))
    first = client.responses.create(model="m", input="Capital of France?", instructions="Be brief.")
    validate_response(first.model_dump(exclude_unset=True))
    second = client.responses.create(model="m", input="Its population?", previous_response_id=first.id)
    assert second.output_text == "About 2.1 million."
    sent = chat_bodies(server)[1]["messages"]
    # the stored conversation first; the first request's instructions are its own (the API does not
    # carry them over with previous_response_id)
    assert [(m["role"], _text(m["content"])) for m in sent] == [
        ("user", "Capital of France?"),
        ("assistant", "Paris."),
        ("user", "Its population?"),
    ]
    assert client.responses.retrieve(first.id).model_dump() == first.model_dump()
    items = client.responses.input_items.list(second.id, order="asc")
    texts = [part.text for item in items.data for part in item.content]  # type: ignore[union-attr]
    assert texts == ["Capital of France?", "Paris.", "Its population?"]
    deleted = httpx.delete(f"{client.base_url}responses/{first.id}")
    assert deleted.status_code == 200 and deleted.json() == {"id": first.id, "object": "response", "deleted": True}
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(first.id)


def test_store_false_keeps_nothing_and_an_unknown_previous_id_is_a_404(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(lambda r: text_reply("ok"))
    client = sdk(start_openai(gateway, server))
    kept_nothing = client.responses.create(model="m", input="hi", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(kept_nothing.id)
    with pytest.raises(openai.NotFoundError) as info:
        client.responses.create(model="m", input="again", previous_response_id=kept_nothing.id)
    assert info.value.body["message"] == f"Previous response with id '{kept_nothing.id}' not found."  # type: ignore[index]
    assert info.value.body["param"] == "previous_response_id"  # type: ignore[index]
    assert len(server.requests) == 1, "the conversation would be lost: nothing is sent"


# -- Codex's freeform tool, byte for byte -----------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_custom_tools_patch_reaches_the_client_byte_for_byte(
    gateway: GatewayFactory, upstream: Any, stream: bool
) -> None:
    arguments = json.dumps({"input": PATCH})

    def reply(received: Received) -> Reply:
        tool = received.json["tools"][0]["function"]
        assert tool["name"] == "apply_patch" and tool["parameters"]["required"] == ["input"]
        if received.json.get("stream"):
            pieces = [arguments[i : i + 7] for i in range(0, len(arguments), 7)]
            chunks = [
                openai_chunk({"role": "assistant"}),
                *openai_tool_call_chunks([("call_p", "apply_patch", pieces)]),
            ]
            return openai_stream_reply([*chunks, openai_chunk({}, "tool_calls")])
        completion = openai_completion("", finish_reason="tool_calls")
        call = {"id": "call_p", "type": "function", "function": {"name": "apply_patch", "arguments": arguments}}
        completion["choices"][0]["message"] = {"role": "assistant", "content": None, "tool_calls": [call]}
        return Reply(body=json.dumps(completion).encode())

    client = sdk(start_openai(gateway, upstream(reply)))
    if stream:
        events = [e.model_dump(exclude_unset=True) for e in client.responses.create(
            model="m", input="fix a.py", tools=[APPLY_PATCH], stream=True  # type: ignore[list-item]
        )]  # fmt: skip
        for event in events:
            validate_response_event(event)
        final = assert_response_stream(events)
        deltas = "".join(e["delta"] for e in events if e["type"] == "response.custom_tool_call_input.delta")
        assert deltas == PATCH, "the deltas carry the patch's raw text, not its JSON"
        [item] = [e["item"] for e in events if e["type"] == "response.output_item.done"]
        assert final["output"] == [item]
    else:
        response = client.responses.create(model="m", input="fix a.py", tools=[APPLY_PATCH])  # type: ignore[list-item]
        validate_response(response.model_dump(exclude_unset=True))
        item = response.output[0].model_dump()
    assert item["type"] == "custom_tool_call" and item["name"] == "apply_patch" and item["call_id"] == "call_p"
    assert item["input"] == PATCH


# -- nothing dropped without a word --------------------------------------------------------------------


def test_what_cannot_be_carried_is_named_in_a_header_and_the_log(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(lambda r: text_reply("ok"))
    running = start_openai(gateway, server)
    request = {
        "model": "m",
        "input": "hi",
        "tools": [{"type": "web_search"}, {"type": "function", "name": "f", "parameters": {"type": "object"}}],
        "truncation": "auto",
    }
    answer = httpx.post(running.base_url + "/responses", json=request, timeout=20)
    assert answer.status_code == 200
    assert answer.headers["x-protoshift-dropped"] == "tools[0], truncation"
    [entry] = running.wait_logged(1)
    assert any(note.startswith("tools[0]: dropped") for note in entry["notes"]), entry
    [body] = chat_bodies(server)
    assert [tool["function"]["name"] for tool in body["tools"]] == ["f"]


# -- a stream that fails midway ---------------------------------------------------------------------------


def test_a_stream_cut_midway_ends_with_response_failed(gateway: GatewayFactory, upstream: Any) -> None:
    chunks = openai_text_chunks(["Once ", "upon ", "a ", "time"])
    server = upstream(lambda r: openai_stream_reply(chunks, done=False, cut_after=3))
    running = start_openai(gateway, server)
    events = []
    with httpx.stream(
        "POST", running.base_url + "/responses", json={"model": "m", "input": "a story", "stream": True}
    ) as s:
        assert s.status_code == 200
        for line in s.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    for event in events:
        validate_response_event(event)
    assert [e["sequence_number"] for e in events] == list(range(len(events))), "numbered to the end"
    last = events[-1]
    assert last["type"] == "response.failed"
    assert last["response"]["status"] == "failed" and last["response"]["error"]["code"] == "server_error"
    assert sum(e["type"] in ("response.completed", "response.failed", "response.incomplete") for e in events) == 1


# -- Claude's signed thinking, handed back ------------------------------------------------------------


def test_claudes_signed_thinking_goes_back_to_claude_with_its_signature(gateway: GatewayFactory, upstream: Any) -> None:
    first = anthropic_stream_events(
        texts=[], thinking=["I should read ", "the file."], signature="sig-EuYBCkQYAiJA",
        tool_calls=[("toolu_1", "read_file", ['{"path": ', '"a.py"}'])],
    )  # fmt: skip

    def claude(received: Received) -> Reply:
        body = received.json
        assert_anthropic_body(body)
        if len(body["messages"]) == 1:
            return Reply(events=first)
        assistant = body["messages"][1]["content"]
        if assistant[0] != {"type": "thinking", "thinking": "I should read the file.", "signature": "sig-EuYBCkQYAiJA"}:
            refusal = {"type": "error", "error": {"type": "invalid_request_error", "message": "thinking: signature"}}
            return Reply(status=400, body=json.dumps(refusal).encode())
        return anthropic_message_reply("Done.")

    server = upstream(claude)
    running = gateway.start(server, flags={"backend": "anthropic"})
    client = sdk(running)
    tools: Any = [{"type": "function", "name": "read_file", "parameters": {"type": "object"}, "strict": False}]
    request: dict[str, Any] = {"model": "claude-x", "tools": tools, "include": ["reasoning.encrypted_content"]}
    turn = [
        e.model_dump(exclude_unset=True)
        for e in client.responses.create(input="read a.py", stream=True, store=False, **request)
    ]
    output = assert_response_stream(turn)["output"]
    assert [item["type"] for item in output] == ["reasoning", "function_call"]
    history = [*output, {"type": "function_call_output", "call_id": output[1]["call_id"], "output": "print(1)"}]
    again = client.responses.create(input=[{"role": "user", "content": "read a.py"}, *history], store=False, **request)
    assert again.output_text == "Done."
    assert len(server.requests) == 2, "Claude took the second turn: the signature came back"


# -- OpenRouter's reasoning_details, handed back ---------------------------------------------------------

DETAIL_PIECES = [
    {"type": "reasoning.text", "text": "Weather: ", "format": "anthropic-claude-v1", "index": 0},
    {"type": "reasoning.text", "text": "call the tool.", "format": "anthropic-claude-v1", "index": 0},
    {"type": "reasoning.text", "signature": "EqQBCkgIBxAB-sig", "format": "anthropic-claude-v1", "index": 0},
    {"type": "reasoning.encrypted", "data": "gAAAAABo-enc", "format": "openai-responses-v1", "index": 1},
]
DETAILS_JOINED = [
    {"type": "reasoning.text", "text": "Weather: call the tool.", "signature": "EqQBCkgIBxAB-sig",
     "format": "anthropic-claude-v1", "index": 0},
    DETAIL_PIECES[3],
]  # fmt: skip
WEATHER: Any = [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}, "strict": False}]


def openrouter(received: Received) -> Reply:
    """An OpenRouter that reasons (streamed `reasoning_details`, Claude's signed text and an OpenAI model's
    encrypted entry) and calls a tool; and, on the turn with the tool's output, refuses unless the list comes
    back unchanged on the assistant message (Claude behind it refuses a tool loop without its signature)."""
    body = received.json
    assert_openai_body(body)
    if len(body["messages"]) == 1:
        chunks = [
            openai_chunk({"role": "assistant", "content": ""}),
            *[openai_chunk({"reasoning": p.get("text"), "reasoning_details": [p]}) for p in DETAIL_PIECES],
            *openai_tool_call_chunks([("call_a", "get_weather", ['{"city": "Paris"}'])]),
            openai_chunk({}, "tool_calls"),
            openai_chunk(None, usage={"prompt_tokens": 20, "completion_tokens": 9}),
        ]
        first = openai_stream_reply(chunks)
        if body.get("stream"):
            return first
        message = {"role": "assistant", "content": None, "reasoning": "Weather: call the tool.",
                   "reasoning_details": DETAILS_JOINED,
                   "tool_calls": [{"id": "call_a", "type": "function",
                                   "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}  # fmt: skip
        completion = {
            **openai_completion(),
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
        }
        return Reply(body=json.dumps(completion).encode())
    if body["messages"][1].get("reasoning_details") != DETAILS_JOINED:
        refusal = {"error": {"message": "reasoning_details: a signed block is missing", "code": 400}}
        return Reply(status=400, body=json.dumps(refusal).encode())
    return text_reply("Sunny in Paris.")


def test_openrouter_reasoning_details_go_back_verbatim_from_the_reasoning_item(
    gateway: GatewayFactory, upstream: Any
) -> None:
    """A Responses client (Codex's way: streamed, store false, `include` encrypted content) gets a reasoning
    item whose `encrypted_content` carries OpenRouter's list, hands it back with the call's output, and the
    list reaches the upstream unchanged as the assistant message's `reasoning_details`."""
    server = upstream(openrouter)
    client = sdk(start_openai(gateway, server))
    request: dict[str, Any] = {"model": "m", "tools": WEATHER, "include": ["reasoning.encrypted_content"]}
    events = [e.model_dump(exclude_unset=True) for e in client.responses.create(input="Weather?", stream=True,
                                                                                store=False, **request)]  # fmt: skip
    output = assert_response_stream(events)["output"]  # every event validated as the SDK's type
    assert [item["type"] for item in output] == ["reasoning", "function_call"]
    assert output[0]["summary"][0]["text"] == "Weather: call the tool."
    history = [*output, {"type": "function_call_output", "call_id": "call_a", "output": "sunny"}]
    again = client.responses.create(input=[{"role": "user", "content": "Weather?"}, *history], store=False, **request)
    assert again.output_text == "Sunny in Paris."
    given_back = chat_bodies(server)[1]["messages"][1]
    assert given_back["reasoning_details"] == DETAILS_JOINED and "reasoning_content" not in given_back
    assert given_back["tool_calls"][0]["id"] == "call_a"


@pytest.mark.parametrize("include", [True, False], ids=["included", "not-included"])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_openrouter_reasoning_details_go_back_from_the_stored_response(
    gateway: GatewayFactory, upstream: Any, stream: bool, include: bool
) -> None:
    """`store` and `previous_response_id`: the stored reasoning item carries the list the same way, also
    when the client did not ask to see it (the API keeps a stored response's reasoning whole)."""
    server = upstream(openrouter)
    client = sdk(start_openai(gateway, server))
    request: dict[str, Any] = {"model": "m", "tools": WEATHER}
    if include:
        request["include"] = ["reasoning.encrypted_content"]
    if stream:
        events = [e.model_dump(exclude_unset=True) for e in client.responses.create(input="Weather?", stream=True,
                                                                                    **request)]  # fmt: skip
        first = assert_response_stream(events)
    else:
        first = client.responses.create(input="Weather?", **request).model_dump(exclude_unset=True)
    assert [item["type"] for item in first["output"]] == ["reasoning", "function_call"]
    assert ("encrypted_content" in first["output"][0]) is include  # shown only when asked for
    retrieved = client.responses.retrieve(first["id"]).model_dump(exclude_unset=True)
    assert ("encrypted_content" in retrieved["output"][0]) is include  # the response as its client got it
    again = client.responses.create(
        input=[{"type": "function_call_output", "call_id": "call_a", "output": "sunny"}],
        previous_response_id=first["id"],
        **request,
    )
    assert again.output_text == "Sunny in Paris."
    given_back = chat_bodies(server)[1]["messages"][1]
    assert given_back["reasoning_details"] == DETAILS_JOINED and "reasoning_content" not in given_back


# -- web search on Claude (issue 20) ----------------------------------------------------------------------


def start_claude_searching(gateway: GatewayFactory, upstream: Any, *, cut_after: int | None = None) -> Running:
    """A gateway in front of a Claude that searches when it is given its web search tool, and only then."""

    def claude(received: Received) -> Reply:
        body = received.json
        assert_anthropic_body(body)
        if {"type": "web_search_20250305", "name": "web_search"} not in body.get("tools", []):
            refusal = {"type": "error", "error": {"type": "invalid_request_error", "message": "no web search tool"}}
            return Reply(status=400, body=json.dumps(refusal).encode())
        if body.get("stream"):
            return Reply(events=claude_search.sse_events(*claude_search.SEARCHED), cut_after=cut_after)
        return Reply(body=json.dumps(claude_search.message(*claude_search.SEARCHED)).encode())

    return gateway.start(upstream(claude), flags={"backend": "anthropic"})


WEB_SEARCH: dict[str, Any] = {
    "model": claude_search.CLAUDE,
    "input": "When was Claude Shannon born?",
    "tools": [{"type": "web_search"}],
    "include": ["web_search_call.action.sources"],
}


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_web_search_on_claude_comes_back_as_a_web_search_call_with_its_citations(
    gateway: GatewayFactory, upstream: Any, stream: bool
) -> None:
    client = sdk(start_claude_searching(gateway, upstream))
    if stream:
        events = [e.model_dump(exclude_unset=True) for e in client.responses.create(stream=True, **WEB_SEARCH)]
        output = assert_response_stream(events)["output"]
        steps = [e["type"] for e in events if e["type"].startswith("response.web_search_call.")]
        assert steps == [f"response.web_search_call.{step}" for step in SEARCH_STEPS]
    else:
        raw = client.responses.with_raw_response.create(**WEB_SEARCH)
        assert "x-protoshift-dropped" not in raw.headers, raw.headers["x-protoshift-dropped"]
        response = raw.parse().model_dump(exclude_unset=True)
        validate_response(response)
        output = response["output"]
    [search] = [item for item in output if item["type"] == "web_search_call"]
    sources = [{"type": "url", "url": page["url"]} for page in claude_search.PAGES]
    assert search["status"] == "completed"
    assert search["action"] == {"type": "search", "query": claude_search.QUERY, "sources": sources}
    [cited] = [part for item in output if item["type"] == "message" for part in item["content"] if part["annotations"]]
    [annotation] = cited["annotations"]
    assert (annotation["type"], annotation["url"]) == ("url_citation", claude_search.URL)
    assert cited["text"][annotation["start_index"] : annotation["end_index"]] == claude_search.CITED


def test_a_stream_cut_while_claude_searches_fails_with_the_search_failed(
    gateway: GatewayFactory, upstream: Any
) -> None:
    searching = next(
        k
        for k, e in enumerate(claude_search.events(*claude_search.SEARCHED))
        if e.get("content_block") == claude_search.RESULT
    )
    running = start_claude_searching(gateway, upstream, cut_after=searching)
    events = [e.model_dump(exclude_unset=True) for e in sdk(running).responses.create(stream=True, **WEB_SEARCH)]
    failed = assert_response_stream(events)
    assert events[-1]["type"] == "response.failed"
    assert [(item["type"], item["status"]) for item in failed["output"]] == [
        ("message", "completed"),
        ("web_search_call", "failed"),
    ]


def test_a_terminal_events_frame_is_the_events_own_encoding() -> None:
    """The frames encode a stream's final response once, for its event and for the store: the event's
    bytes are `encode_event`'s to the byte, whatever the response holds."""
    from protoshift.gateway.surfaces.responses import ResponsesSurface
    from protoshift.translator.chat_to_responses import encode_event

    response = {"id": "resp_1", "output": [{"type": "message", "content": [{"text": 'naïve \u2028 "q" 🚀'}]}], "n": 1.5}
    for kind in ("response.completed", "response.incomplete", "response.failed"):
        for number in (0, 7, 12345):
            event = {"type": kind, "sequence_number": number, "response": response}
            frames = ResponsesSurface().stream_frames({})
            assert frames.frame(event) == encode_event(event)
            assert frames.answer() == response and json.loads(frames.answer_bytes() or b"") == response
    odd = {"type": "response.completed", "response": response, "sequence_number": 3}  # another key order
    assert ResponsesSurface().stream_frames({}).frame(odd) == encode_event(odd)
