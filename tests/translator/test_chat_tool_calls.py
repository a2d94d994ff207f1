"""chat_tool_calls: the chat tool-call reassembly both chat streams share gives each the same calls.

However a server interleaves, names late or numbers its calls, the Anthropic stream's tool_use blocks and
the Responses stream's function_call items are the same calls (order, id, name, arguments), and each call's
arguments are whole JSON; the shared rules (a bool index is no index) hold in both.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from protoshift.translator import chat_to_responses, openai_to_anthropic, responses_to_chat
from protoshift.translator.stamps import Stamps
from tests.responses_oracles import assert_response_stream

_REQUEST: dict[str, Any] = {
    "model": "gpt-test",
    "input": "x",
    "stream": True,
    "tools": [
        {"type": "function", "name": name, "parameters": {"type": "object", "properties": {}}}
        for name in ("alpha", "beta", "gamma")
    ],
}


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": "c", "model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _entry(index: Any, **fields: Any) -> dict[str, Any]:
    return _chunk({"tool_calls": [{"index": index, **fields}]})


def anthropic_calls(chunks: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(id, name, arguments) of each tool_use block the Anthropic stream gave, in order."""
    stream = openai_to_anthropic.Stream(model="m", stamps=Stamps.fixed())
    events = [event for chunk in chunks for event in stream.feed(chunk)] + stream.close()
    blocks: dict[int, list[str]] = {}
    for event in events:
        if event["type"] == "content_block_start" and event["content_block"]["type"] == "tool_use":
            block = event["content_block"]
            blocks[event["index"]] = [block["id"], block["name"], ""]
        elif event["type"] == "content_block_delta" and event["delta"]["type"] == "input_json_delta":
            blocks[event["index"]][2] += event["delta"]["partial_json"]
    return [(i, n, a) for i, n, a in blocks.values()]


def responses_calls(chunks: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(call_id, name, arguments) of each function_call item in the Responses stream's final output."""
    translation = responses_to_chat.request(_REQUEST)
    stream = chat_to_responses.Stream(request=_REQUEST, tools=translation.tools, stamps=Stamps.fixed())
    events = [event for chunk in chunks for event in stream.feed(chunk)] + stream.close()
    response = assert_response_stream(events)
    return [(i["call_id"], i["name"], i["arguments"]) for i in response["output"] if i["type"] == "function_call"]


_VALUES = st.dictionaries(
    st.sampled_from(["cmd", "path", "n"]), st.one_of(st.text(max_size=12), st.integers(), st.booleans()), max_size=3
)


@st.composite
def interleaved(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[tuple[str, str, str]]]:
    """Chunks of up to three calls whose argument fragments come in any interleaving, each named in its first
    entry; and the calls expected (id, name, arguments), in the order they began."""
    names = draw(st.lists(st.sampled_from(["alpha", "beta", "gamma"]), min_size=1, max_size=3))
    calls = []
    for k, name in enumerate(names):
        text = json.dumps(draw(_VALUES))
        cuts = sorted(draw(st.sets(st.integers(1, max(1, len(text) - 1)), max_size=4)))
        fragments = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True) if text[a:b]]
        calls.append((k, name, fragments))
    queues = [list(fragments) for _, _, fragments in calls]
    chunks = [
        _entry(k, id=f"call_{k}", type="function", function={"name": name, "arguments": ""}) for k, name, _ in calls
    ]
    while any(queues):
        k = draw(st.sampled_from([k for k, queue in enumerate(queues) if queue]))
        chunks.append(_entry(k, function={"arguments": queues[k].pop(0)}))
    chunks.append(_chunk({}, "tool_calls"))
    return chunks, [(f"call_{k}", name, "".join(fragments)) for k, name, fragments in calls]


@settings(max_examples=60, deadline=None)
@given(interleaved())
def test_both_streams_give_the_same_whole_calls_however_they_interleave(
    case: tuple[list[dict[str, Any]], list[tuple[str, str, str]]],
) -> None:
    chunks, expected = case
    anthropic = anthropic_calls(chunks)
    responses = responses_calls(chunks)
    assert sorted(anthropic) == sorted(responses) == sorted(expected)
    assert anthropic == responses  # the same order: the open call first, then the held ones
    for _, _, arguments in anthropic:
        json.loads(arguments)


def test_a_name_after_the_first_fragment_and_an_object_for_arguments() -> None:
    chunks = [
        _entry(0, id="call_a", function={"arguments": '{"cmd": '}),
        _entry(0, function={"name": "alpha", "arguments": '"ls"}'}),
        _entry(1, id="call_b", function={"name": "beta", "arguments": {"path": "/tmp"}}),
        _chunk({}, "tool_calls"),
    ]
    expected = [("call_a", "alpha", '{"cmd": "ls"}'), ("call_b", "beta", '{"path":"/tmp"}')]
    assert anthropic_calls(chunks) == responses_calls(chunks) == expected


def test_every_call_numbered_0_and_a_bool_index_are_told_apart_by_their_ids() -> None:
    chunks = [
        _entry(0, id="call_a", function={"name": "alpha", "arguments": "{}"}),
        _entry(0, id="call_b", function={"name": "beta", "arguments": '{"n": 1}'}),
        _entry(True, id="call_c", function={"name": "gamma", "arguments": ""}),  # a bool is no index: a new id
        _entry(True, function={"arguments": "{}"}),  # no index, no id: the last call
        _chunk({}, "tool_calls"),
    ]
    expected = [("call_a", "alpha", "{}"), ("call_b", "beta", '{"n": 1}'), ("call_c", "gamma", "{}")]
    assert anthropic_calls(chunks) == responses_calls(chunks) == expected


def test_arguments_repeated_whole_are_given_once() -> None:
    chunks = [
        _entry(0, id="call_a", function={"name": "alpha", "arguments": '{"cmd": "ls"}'}),
        _entry(0, function={"arguments": '{"cmd": "ls"}'}),
        _chunk({}, "tool_calls"),
    ]
    assert anthropic_calls(chunks) == responses_calls(chunks) == [("call_a", "alpha", '{"cmd": "ls"}')]
