"""openai_to_anthropic.Stream over a corpus of OpenAI-compatible streams written from public sources
(tests/translator/openai_streams/*.sse, the source of each in its leading `:` comment lines).

Each stream is decoded as protoshift decodes it (translator.sse), translated chunk by chunk, and then:
- the events are the sequence the API sends, each a valid `anthropic` stream event (tests.oracles);
- the anthropic SDK's own accumulator makes of them the message that an independent accumulation of the
  OpenAI chunks (written here, from the OpenAI streaming format alone) says the stream carried: the
  reasoning, the text, each tool call with its arguments, the stop reason and the token counts;
- every argument fragment goes out in the same `feed` call that brought it, unless another call is open
  with arguments that are not yet a whole JSON value (blocks cannot interleave).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from protoshift.translator import openai_to_anthropic
from protoshift.translator.sse import DONE, JSONEventDecoder
from tests.oracles import accumulate_anthropic_events, assert_anthropic_event_sequence, validate_anthropic_event

CORPUS = Path(__file__).parent / "openai_streams"
STREAMS = sorted(CORPUS.glob("*.sse"))

# What each finish_reason means, from OpenAI's documentation of the field (independent of translator/tables.py).
EXPECTED_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}


@dataclass
class Call:
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass
class Accumulated:
    """What the chunks add up to, by OpenAI's rules: deltas keyed by choice and tool-call index."""

    reasoning: str = ""
    text: str = ""
    refusal: str = ""
    calls: dict[int, Call] = field(default_factory=dict)
    finish: str | None = None
    usage: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    done: bool = False


def accumulate(chunks: list[dict[str, Any]]) -> Accumulated:
    acc = Accumulated()
    for chunk in chunks:
        if chunk is DONE:
            acc.done = True
            continue
        if chunk.get("error"):
            acc.error = chunk["error"]
            continue
        if chunk.get("usage"):
            acc.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            acc.reasoning += delta.get("reasoning_content") or delta.get("reasoning") or ""
            acc.text += delta.get("content") or ""
            acc.refusal += delta.get("refusal") or ""
            for entry in delta.get("tool_calls") or []:
                call = acc.calls.setdefault(entry["index"], Call())
                call.id = call.id or entry.get("id") or ""
                function = entry.get("function") or {}
                call.name = call.name or function.get("name") or ""
                call.arguments += function.get("arguments") or ""
            acc.finish = choice.get("finish_reason") or acc.finish
    return acc


def read_chunks(path: Path) -> list[dict[str, Any]]:
    decoder = JSONEventDecoder()
    return [*decoder.feed(path.read_bytes()), *decoder.close()]


def translate(chunks: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """All the events, and the events each feed gave (the last entry: close)."""
    translator = openai_to_anthropic.Stream()
    per_feed = [translator.feed(chunk) for chunk in chunks]
    per_feed.append(translator.close())
    return [event for events in per_feed for event in events], per_feed


def test_the_corpus_has_every_source_named() -> None:
    assert len(STREAMS) >= 10
    for path in STREAMS:
        head = path.read_text().split("\n\ndata:", 1)[0]
        assert head.startswith(": "), f"{path.name}: no source comment"
        assert any(word in head for word in ("source:", "written")), f"{path.name}: the comment names no source"


@pytest.mark.parametrize("path", STREAMS, ids=[p.stem for p in STREAMS])
def test_stream_becomes_the_message_the_chunks_carry(path: Path) -> None:
    chunks = read_chunks(path)
    expected = accumulate(chunks)
    events, _ = translate(chunks)
    assert_anthropic_event_sequence(events)
    if expected.error is not None:
        assert events[-1]["type"] == "error"
        assert events[-1]["error"]["message"] == expected.error["message"]
        return
    message = accumulate_anthropic_events(events)
    blocks = [block.model_dump(exclude_none=True) for block in message.content]
    thinking = [b for b in blocks if b["type"] == "thinking"]
    texts = [b for b in blocks if b["type"] == "text"]
    tools = [b for b in blocks if b["type"] == "tool_use"]
    assert "".join(b["thinking"] for b in thinking) == expected.reasoning
    assert "".join(b["text"] for b in texts) == expected.text + expected.refusal
    assert [(t["id"], t["name"], t["input"]) for t in tools] == [
        (call.id, call.name, json.loads(call.arguments)) for _, call in sorted(expected.calls.items())
    ]
    stop = "refusal" if expected.refusal else EXPECTED_STOP[expected.finish or "stop"]
    if expected.calls and stop == "end_turn":
        stop = "tool_use"  # a provider that says "stop" after a call: the client must still run it
    assert message.stop_reason == stop
    usage = expected.usage or {}
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
    assert message.usage.output_tokens == usage.get("completion_tokens", 0)
    assert message.usage.input_tokens == usage.get("prompt_tokens", 0) - cached
    assert (message.usage.cache_read_input_tokens or 0) == cached


@pytest.mark.parametrize("path", STREAMS, ids=[p.stem for p in STREAMS])
def test_arguments_go_out_as_they_arrive(path: Path) -> None:
    chunks = read_chunks(path)
    _, per_feed = translate(chunks)
    interleaved = path.stem.startswith("interleaved")
    late_name = path.stem.startswith("late")
    for chunk, events in zip(chunks, per_feed, strict=False):
        if chunk is DONE:
            continue
        for choice in chunk.get("choices") or []:
            for entry in (choice.get("delta") or {}).get("tool_calls") or []:
                fragment = (entry.get("function") or {}).get("arguments")
                if not fragment or interleaved or late_name:
                    continue
                sent = [e["delta"]["partial_json"] for e in events if e["type"] == "content_block_delta"
                        and e["delta"]["type"] == "input_json_delta"]  # fmt: skip
                assert fragment in sent, f"{path.name}: {fragment!r} was held back"


def test_interleaved_calls_stream_the_open_one_live_and_the_other_after_it() -> None:
    chunks = read_chunks(CORPUS / "interleaved_parallel_calls.sse")
    _, per_feed = translate(chunks)
    fragments = [
        [e["delta"]["partial_json"] for e in events if e.get("delta", {}).get("type") == "input_json_delta"]
        for events in per_feed
    ]
    assert fragments[2] == ['{"city": ']  # call 0 is open: live
    assert fragments[3] == []  # call 1's first fragment: held, call 0's arguments are not whole yet
    assert fragments[4] == ['"Paris"}', '{"zone": ']  # call 0 complete: closed, call 1 starts with what was held
    assert fragments[5] == ['"CET"}']  # and then goes live


def test_a_late_name_holds_the_call_until_it_is_known() -> None:
    chunks = read_chunks(CORPUS / "late_function_name.sse")
    _, per_feed = translate(chunks)
    assert not [e for e in per_feed[1] if e["type"].startswith("content_block")]
    starts = [e for e in per_feed[2] if e["type"] == "content_block_start"]
    assert [s["content_block"]["name"] for s in starts] == ["bash"]
    assert [e["delta"]["partial_json"] for e in per_feed[2] if e["type"] == "content_block_delta"] == [
        '{"command": "ls -la"}'
    ]


def test_every_event_validates_on_its_own() -> None:
    for path in STREAMS:
        events, _ = translate(read_chunks(path))
        for event in events:
            if event["type"] not in ("ping", "error"):
                validate_anthropic_event(event)
