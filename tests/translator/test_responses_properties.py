"""Properties (hypothesis) of the Responses <-> chat translation:

- a Responses request's tools, whatever their names and namespaces, get chat names that are valid,
  distinct, and map back exactly: through the ToolMap, and through an answer that calls each of them;
- a custom tool's input makes the trip byte for byte: into a chat history (JSON arguments) and back out
  of a chat answer, whole or streamed in any split, in ASCII-escaped JSON or not;
- any stream of chat chunks, cut anywhere, gives events in the API's full order with one terminal event;
- any request built from the parts Responses clients send translates to a valid chat body or refuses
  with problems, never a traceback.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protoshift.translator import TranslationError, chat_to_responses, responses_to_chat
from protoshift.translator.responses_to_chat.toolmap import CHAT_NAME
from protoshift.translator.sse import DONE
from protoshift.translator.stamps import Stamps
from tests.oracles import assert_openai_body
from tests.responses_oracles import assert_response_stream, validate_response
from tests.translator.codex_fixtures import MODEL, call_chunk, chunk, usage_chunk

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
NAME = st.one_of(
    st.from_regex(r"[a-zA-Z][a-zA-Z0-9_-]{0,20}", fullmatch=True),
    st.from_regex(r"[a-z_]{1,6}(__[a-z]{1,4})?_?", fullmatch=True),  # separators and trailing underscores
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=80),
)


@st.composite
def tool_sets(draw: st.DrawFn) -> list[dict[str, Any]]:
    tools: list[dict[str, Any]] = []
    seen: set[tuple[str | None, str]] = set()

    def declared(namespace: str | None) -> dict[str, Any] | None:
        name = draw(NAME)
        if (namespace, name) in seen:
            return None
        seen.add((namespace, name))
        if draw(st.booleans()):
            return {"type": "custom", "name": name}
        return {"type": "function", "name": name, "parameters": {"type": "object"}, "strict": False}

    for _ in range(draw(st.integers(0, 5))):
        if draw(st.integers(0, 2)) == 0:
            namespace = draw(NAME)
            inner = [t for t in (declared(namespace) for _ in range(draw(st.integers(1, 4)))) if t is not None]
            if inner and not any(t.get("type") == "namespace" and t["name"] == namespace for t in tools):
                tools.append({"type": "namespace", "name": namespace, "description": "", "tools": inner})
        elif (tool := declared(None)) is not None:
            tools.append(tool)
    return tools


def _refs(tools: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    out = []
    for tool in tools:
        if tool["type"] == "namespace":
            out += [(inner["name"], inner["type"], tool["name"]) for inner in tool["tools"]]
        else:
            out.append((tool["name"], tool["type"], None))
    return out


@SETTINGS
@given(tool_sets())
def test_tool_names_map_back_exactly(tools: list[dict[str, Any]]) -> None:
    request = {"model": MODEL, "input": "x", "tools": tools}
    translation = responses_to_chat.request(request)
    assert_openai_body(translation.body)
    chat_names = [t["function"]["name"] for t in translation.body.get("tools", [])]
    refs = _refs(tools)
    assert len(chat_names) == len(refs) == len(set(chat_names))
    assert all(CHAT_NAME.fullmatch(name) for name in chat_names)
    for chat, (name, kind, namespace) in zip(chat_names, refs, strict=True):
        ref = translation.tools.resolve(chat)
        assert (ref.name, ref.kind, ref.namespace) == (name, kind, namespace)
        assert translation.tools.chat_name(name, namespace) == chat
    if not refs:
        return
    # an answer that calls every tool gives each call back as the item its tool is
    calls = [{"id": f"call_{k}", "type": "function", "function": {"name": chat, "arguments": '{"input": "x"}'}}
             for k, chat in enumerate(chat_names)]  # fmt: skip
    completion = {"choices": [{"index": 0, "message": {"role": "assistant", "content": None, "tool_calls": calls}}]}
    response = chat_to_responses.response(completion, request=request, tools=translation.tools, stamps=Stamps.fixed())
    validate_response(response)
    for item, (name, kind, namespace) in zip(response["output"], refs, strict=True):
        assert item["type"] == ("custom_tool_call" if kind == "custom" else "function_call")
        assert item["name"] == name and item.get("namespace") == namespace


@st.composite
def splits(draw: st.DrawFn, text: str) -> list[str]:
    cuts = sorted(draw(st.sets(st.integers(1, max(len(text) - 1, 1)), max_size=12)))
    cuts = [c for c in cuts if c < len(text)]
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


@SETTINGS
@given(st.data(), TEXT, st.booleans())
def test_custom_inputs_round_trip_byte_exact(data: st.DataObject, text: str, ascii_only: bool) -> None:
    tools = [{"type": "custom", "name": "apply_patch"}]
    history = {"type": "custom_tool_call", "call_id": "c0", "name": "apply_patch", "input": text}
    request = {
        "model": MODEL,
        "input": [history, {"type": "custom_tool_call_output", "call_id": "c0", "output": "ok"}],
        "tools": tools,
    }
    translation = responses_to_chat.request(request)
    arguments = translation.body["messages"][0]["tool_calls"][0]["function"]["arguments"]
    assert json.loads(arguments) == {"input": text}
    # a model answering with the same call, its arguments escaped either way
    arguments = json.dumps({"input": text}, ensure_ascii=ascii_only)
    call = {"id": "c1", "type": "function", "function": {"name": "apply_patch", "arguments": arguments}}
    completion = {
        "choices": [{"index": 0, "message": {"role": "assistant", "tool_calls": [call]}, "finish_reason": "tool_calls"}]
    }
    whole = chat_to_responses.response(completion, request=request, tools=translation.tools)
    assert whole["output"][0]["input"] == text
    stream = chat_to_responses.Stream(request=request, tools=translation.tools, stamps=Stamps.fixed())
    events = stream.feed(call_chunk(0, call_id="c1", name="apply_patch"))
    for piece in data.draw(splits(arguments)):
        events += stream.feed(call_chunk(0, arguments=piece))
    events += stream.feed(chunk(finish="tool_calls")) + stream.close()
    response = assert_response_stream(events)
    assert response["output"][0]["input"] == text
    deltas = [e["delta"] for e in events if e["type"] == "response.custom_tool_call_input.delta"]
    assert "".join(deltas) == text


_PIECES = st.one_of(
    st.builds(lambda t: chunk({"content": t}), TEXT),
    st.builds(lambda t: chunk({"reasoning_content": t}), TEXT),
    st.builds(lambda t: chunk({"refusal": t}), TEXT),
    st.builds(
        lambda i, n, a: call_chunk(i, call_id=f"call_{i}" if n else None, name=n, arguments=a),
        st.integers(0, 3),
        st.sampled_from([None, "exec_command", "apply_patch", "multi_agent_v1__wait", "nobody"]),
        st.one_of(st.none(), st.sampled_from(['{"cmd": "ls"}', '{"input": "a\\"b', '"}', "{", "}", '{"x":1}'])),
    ),
)
_ENDS = st.sampled_from(
    [
        [chunk(finish="stop"), usage_chunk()],
        [chunk(finish="tool_calls")],
        [chunk(finish="length"), DONE],
        [chunk(finish="content_filter")],
        [DONE],
        [{"error": {"message": "boom", "type": "server_error"}}],
        [],  # cut
    ]
)


@SETTINGS
@given(st.lists(_PIECES, max_size=12), _ENDS)
def test_any_stream_gives_the_full_order_and_one_terminal_event(pieces: list[dict[str, Any]], end: list[Any]) -> None:
    request = {
        "model": MODEL,
        "input": "x",
        "include": ["reasoning.encrypted_content"],
        "tools": [
            {"type": "function", "name": "exec_command", "parameters": {"type": "object"}, "strict": False},
            {"type": "custom", "name": "apply_patch"},
            {
                "type": "namespace",
                "name": "multi_agent_v1",
                "description": "",
                "tools": [{"type": "function", "name": "wait"}],
            },
        ],
    }
    translation = responses_to_chat.request(request)
    stream = chat_to_responses.Stream(request=request, tools=translation.tools, stamps=Stamps.fixed())
    events = []
    for item in [*pieces, *end]:
        events += stream.feed(item)
    events += stream.close()
    assert_response_stream(events)


_PART = st.one_of(
    st.builds(lambda t: {"type": "input_text", "text": t}, TEXT),
    st.just({"type": "input_image", "image_url": "https://x/y.png", "detail": "low"}),
    st.just({"type": "input_image", "file_id": "file-1", "detail": "auto"}),
    st.just({"type": "input_file", "file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"}),
)
_ITEM = st.one_of(
    st.builds(
        lambda r, c: {"role": r, "content": c}, st.sampled_from(["user", "system", "developer", "assistant"]), TEXT
    ),
    st.builds(lambda p: {"type": "message", "role": "user", "content": p}, st.lists(_PART, min_size=1, max_size=3)),
    st.builds(
        lambda k, a: {"type": "function_call", "call_id": f"c{k}", "name": "exec_command", "arguments": a},
        st.integers(0, 3),
        st.sampled_from(["{}", '{"cmd": "ls"}']),
    ),
    st.builds(
        lambda k, t: {"type": "custom_tool_call", "call_id": f"c{k}", "name": "apply_patch", "input": t},
        st.integers(0, 3),
        TEXT,
    ),
    st.builds(lambda k, t: {"type": "function_call_output", "call_id": f"c{k}", "output": t}, st.integers(0, 3), TEXT),
    st.builds(
        lambda k, p: {"type": "custom_tool_call_output", "call_id": f"c{k}", "output": p},
        st.integers(0, 3),
        st.lists(_PART, min_size=1, max_size=2),
    ),
    st.builds(lambda t: {"type": "reasoning", "id": "rs", "summary": [{"type": "summary_text", "text": t}]}, TEXT),
    st.just({"type": "item_reference", "id": "msg_0"}),
    st.just({"type": "web_search_call", "id": "ws", "status": "completed"}),
)
_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "instructions": TEXT,
        "temperature": st.floats(0, 2),
        "max_output_tokens": st.integers(1, 10**6),
        "tool_choice": st.sampled_from(["auto", "none", "required", {"type": "custom", "name": "apply_patch"}]),
        "reasoning": st.sampled_from([{"effort": "low"}, {"effort": "max", "summary": "auto"}]),
        "text": st.sampled_from([{"format": {"type": "json_object"}}, {"verbosity": "low"}]),
        "truncation": st.sampled_from(["auto", "disabled"]),
        "stream": st.booleans(),
        "previous_response_id": st.just("resp_0"),
    },
)


@SETTINGS
@given(st.lists(_ITEM, max_size=8), _FIELDS, st.booleans(), st.booleans())
def test_any_request_translates_or_refuses(
    items: list[Any], fields: dict[str, Any], tools: bool, with_history: bool
) -> None:
    request: dict[str, Any] = {"model": MODEL, "input": items, **fields}
    if tools:
        request["tools"] = [
            {"type": "function", "name": "exec_command", "parameters": {"type": "object"}, "strict": False},
            {"type": "custom", "name": "apply_patch"},
            {"type": "web_search"},
        ]
    history = [
        {
            "type": "message",
            "id": "msg_0",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "before", "annotations": []}],
        }
    ]
    try:
        translation = responses_to_chat.request(request, history=history if with_history else None)
    except TranslationError as exc:
        assert exc.problems and all(p.path and p.reason for p in exc.problems)
        return
    body = translation.body
    assert_openai_body(body)
    roles = [m["role"] for m in body["messages"]]
    assert "system" not in roles[1:]  # one system message, first
    waiting: set[str] = set()
    for message in body["messages"]:  # every call answered right after its turn
        if message["role"] == "tool":
            waiting.remove(message["tool_call_id"])
        else:
            assert not waiting, body["messages"]
            waiting = {call["id"] for call in message.get("tool_calls", [])}
    assert not waiting
