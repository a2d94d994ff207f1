"""Claude's stream to a Responses client (translator/bridges.py): text, thinking and tool input deltas go
from the first leg (Anthropic -> chat) to the second (chat -> Responses) as their text, without the chat
chunk between them, whenever the second is in the middle of that kind of item. The events are the ones
the two legs give chunk by chunk, for any stream: the same events, the same errors, in every state."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protoshift.translator import anthropic_to_openai, chat_to_responses
from protoshift.translator.bridges import Shaping, _ClaudeToResponses, _Composed, bridge
from protoshift.translator.stamps import Stamps
from protoshift.translator.wire import MESSAGES, RESPONSES
from tests.claude_search import CLAUDE
from tests.responses_oracles import assert_response_stream

TO_CLAUDE = bridge(RESPONSES, MESSAGES)
REQUEST: dict[str, Any] = {
    "model": CLAUDE,
    "input": "Fix it.",
    "stream": True,
    "tools": [
        {"type": "function", "name": "exec_command", "parameters": {"type": "object"}},
        {"type": "custom", "name": "apply_patch", "description": "Edit files."},
    ],
}
PATCH = '*** Begin Patch\n*** Update File: a.py\n-print("hello")\n+print("h\u00e9llo \U0001f389")\n*** End Patch\n'


def _pair(mapper: type[_Composed]) -> _Composed:
    outbound = TO_CLAUDE.request(REQUEST, stream=True, shaping=Shaping())
    assert outbound.responses is not None
    return mapper(
        anthropic_to_openai.Stream(include_usage=True, stamps=Stamps.fixed()),
        chat_to_responses.Stream(
            request=REQUEST, tools=outbound.responses.tools, stamps=Stamps.fixed(), response_id="resp_1"
        ),
    )


def _run(mapper: _Composed, events: list[Any]) -> list[Any]:
    """What each event gives (its events, or the error it raises: the stream ends there), then the close."""
    out: list[Any] = []
    for event in events:
        try:
            out.append(mapper.feed(event))
        except Exception as exc:  # compared, not swallowed
            return [*out, (type(exc).__name__, str(exc))]
    try:
        out.append(mapper.close())
    except Exception as exc:
        out.append((type(exc).__name__, str(exc)))
    return out


def _same_as_chunk_by_chunk(events: list[Any]) -> list[Any]:
    fast = _run(_pair(_ClaudeToResponses), events)
    assert fast == _run(_pair(_Composed), events)
    return fast


def _start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def _delta(index: Any, delta: Any) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def _stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


MESSAGE_START = {
    "type": "message_start",
    "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": CLAUDE, "content": [],
                "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 1}},
}  # fmt: skip
END = [
    {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None}, "usage": {"output_tokens": 9}},
    {"type": "message_stop"},
]  # fmt: skip


def _claude_turn() -> list[dict[str, Any]]:
    """Thinking, text, a call and an apply_patch whose input JSON (ASCII: é and a surrogate pair escaped)
    comes in 7-character fragments."""
    arguments = json.dumps({"input": PATCH})
    return [
        MESSAGE_START,
        _start(0, {"type": "thinking", "thinking": "", "signature": ""}),
        *(_delta(0, {"type": "thinking_delta", "thinking": f"step {k} "}) for k in range(5)),
        _delta(0, {"type": "signature_delta", "signature": "c2ln"}),
        _stop(0),
        _start(1, {"type": "text", "text": ""}),
        *(_delta(1, {"type": "text_delta", "text": f"word{k} "}) for k in range(5)),
        _stop(1),
        _start(2, {"type": "tool_use", "id": "toolu_1", "name": "exec_command", "input": {}}),
        _delta(2, {"type": "input_json_delta", "partial_json": '{"cmd": '}),
        _delta(2, {"type": "input_json_delta", "partial_json": '"ls"}'}),
        _stop(2),
        _start(3, {"type": "tool_use", "id": "toolu_2", "name": "apply_patch", "input": {}}),
        *(_delta(3, {"type": "input_json_delta", "partial_json": arguments[k : k + 7]}) for k in range(0, len(arguments), 7)),
        _stop(3),
        *END,
    ]  # fmt: skip


def test_a_claude_turn_gives_the_events_the_two_legs_give(monkeypatch: pytest.MonkeyPatch) -> None:
    events = _claude_turn()
    out = _same_as_chunk_by_chunk(events)
    final = assert_response_stream([e for step in out for e in step])
    patch = next(item for item in final["output"] if item["type"] == "custom_tool_call")
    assert patch["input"] == PATCH  # the escapes undone, the surrogate pair joined
    # and every delta went the short way, no chat chunk made: the first delta of the thinking and of the text
    # too (each opens its item there), and a call's (its item opens with its block, before its input comes)
    chunks = 0
    made = anthropic_to_openai.Stream.delta_chunk

    def counted(self: anthropic_to_openai.Stream, *parts: Any) -> Any:
        nonlocal chunks
        chunks += 1
        return made(self, *parts)

    monkeypatch.setattr(anthropic_to_openai.Stream, "delta_chunk", counted)
    _run(_pair(_ClaudeToResponses), events)
    deltas = sum(1 for e in events if e["type"] == "content_block_delta" and e["delta"]["type"] != "signature_delta")
    assert chunks == 0 < deltas


def test_deltas_out_of_place_give_what_the_two_legs_give() -> None:
    text, thinking = {"type": "text_delta", "text": "x"}, {"type": "thinking_delta", "thinking": "y"}
    cases = [
        [_delta(0, text)],  # before message_start
        [MESSAGE_START, _delta(0, text), *END],  # no block started
        [MESSAGE_START, _start(0, {"type": "text", "text": ""}), _delta(0, thinking), _delta(0, text), _stop(0), *END],
        [MESSAGE_START, _start(0, {"type": "text", "text": ""}), _delta(0, {"type": "text_delta", "text": ""}), *END],
        [MESSAGE_START, _start(0, {"type": "text", "text": ""}), _delta("0", text)],  # an index that is text
        [MESSAGE_START, _start(0, {"type": "text", "text": ""}), _delta(0, {"type": "text_delta", "text": 5})],
        [MESSAGE_START, _start(0, {"type": "text", "text": ""}), _delta(0, "text")],
        [MESSAGE_START, _start(0, {"type": "text", "text": ""}), _delta(0, {"type": "text_delta", "text": "\udc00"})],
        [MESSAGE_START, _start(0, {"type": "tool_use", "id": "t", "name": "exec_command", "input": {}}),
         _delta(0, {"type": "input_json_delta", "partial_json": "{}"}), _delta(0, text),
         _delta(0, {"type": "input_json_delta", "partial_json": "{}"}), _stop(0), *END],
        [MESSAGE_START, _start(0, {"type": "tool_use", "id": "t", "name": "exec_command", "input": {}}),
         _delta(0, {"type": "input_json_delta", "partial_json": '{"cmd": '}), _start(1, {"type": "text", "text": ""}),
         _delta(1, text), _delta(0, {"type": "input_json_delta", "partial_json": '"ls"}'}), _delta(1, text),
         _stop(0), _stop(1), *END],  # text held while the call's input is incomplete, then given out
        [MESSAGE_START, _start(0, {"type": "server_tool_use", "id": "s", "name": "web_search", "input": {}}),
         _delta(0, {"type": "input_json_delta", "partial_json": '{"query": "x"}'}), _stop(0), *END],
        [MESSAGE_START, _start(0, {"type": "text", "text": ""}), _delta(0, text), *END, _delta(0, text)],  # after the end
    ]  # fmt: skip
    for events in cases:
        _same_as_chunk_by_chunk(events)


BLOCKS = st.sampled_from(
    [
        {"type": "text", "text": ""},
        {"type": "thinking", "thinking": "", "signature": ""},
        {"type": "tool_use", "id": "toolu_a", "name": "exec_command", "input": {}},
        {"type": "tool_use", "id": "toolu_b", "name": "apply_patch", "input": {}},
        {"type": "tool_use", "id": "toolu_c", "name": "unknown", "input": {}},
        {"type": "server_tool_use", "id": "srvtoolu_a", "name": "web_search", "input": {}},
    ]
)
PIECE = st.sampled_from(["", "a", '{"input": "', '{"cmd": "ls"}', "\\", "\\u00e9", "\\ud83c", '"}', "é", "\n"])
DELTAS = st.one_of(
    st.builds(lambda t: {"type": "text_delta", "text": t}, PIECE),
    st.builds(lambda t: {"type": "thinking_delta", "thinking": t}, PIECE),
    st.builds(lambda t: {"type": "input_json_delta", "partial_json": t}, PIECE),
    st.just({"type": "signature_delta", "signature": "c2ln"}),
)
INDEX = st.integers(min_value=0, max_value=3)
EVENT = st.one_of(
    st.builds(_start, INDEX, BLOCKS),
    st.builds(_delta, INDEX, DELTAS),
    st.builds(_delta, INDEX, DELTAS),
    st.builds(_delta, INDEX, DELTAS),
    st.builds(_stop, INDEX),
    st.just({"type": "ping"}),
    st.sampled_from(END),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(EVENT, max_size=30), st.booleans())
def test_any_claude_stream_gives_what_the_two_legs_give(events: list[dict[str, Any]], started: bool) -> None:
    _same_as_chunk_by_chunk([MESSAGE_START, *events] if started else events)
