"""Stamps: the ids and the clock a translation takes from outside its input, injectable so that the
same input gives the same bytes (issue 18)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from protoshift.translator import DEFAULT_STAMPS, Stamps, anthropic_to_openai, openai_to_anthropic
from protoshift.translator.sse import DONE, encode_chunk

from .anthropic_fixtures import message, message_delta, message_start, message_stop, text_block
from .anthropic_fixtures import text_events as anthropic_text_events

# Inputs that name no ids, so the translation has to make them up: a message without an id, a
# completion without an id whose tool call has none either, streams of the same.
ANONYMOUS_MESSAGE = {**message([text_block("Hi")]), "id": None}
ANONYMOUS_COMPLETION: dict[str, Any] = {
    "object": "chat.completion",
    "model": "gpt-4o",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Checking.",
                "tool_calls": [{"type": "function", "function": {"name": "lookup", "arguments": '{"q": 1}'}}],
            },
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
}
ANTHROPIC_EVENTS = [  # no message_start: the stream's id is made up at its first chunk
    *anthropic_text_events(0, "Hel", "lo"),
    message_delta("end_turn", output_tokens=3),
    message_stop(),
]
OPENAI_CHUNKS: list[dict[str, Any]] = [
    {"object": "chat.completion.chunk", "model": "gpt-4o", "choices": [{"index": 0, "delta": {"content": "On it."}}]},
    {
        "object": "chat.completion.chunk",
        "model": "gpt-4o",
        "choices": [
            {"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": "{}"}}]}}
        ],
    },
    {
        "object": "chat.completion.chunk",
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}],
    },
    DONE,
]


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def _chat_response(stamps: Stamps) -> bytes:
    return _json(anthropic_to_openai.response(ANONYMOUS_MESSAGE, stamps=stamps))


def _messages_response(stamps: Stamps) -> bytes:
    return _json(openai_to_anthropic.response(ANONYMOUS_COMPLETION, stamps=stamps))


def _chat_stream(stamps: Stamps) -> bytes:
    stream = anthropic_to_openai.Stream(include_usage=True, stamps=stamps)
    chunks = [chunk for event in ANTHROPIC_EVENTS for chunk in stream.feed(event)] + stream.close()
    return b"".join(encode_chunk(chunk) for chunk in chunks)


def _messages_stream(stamps: Stamps) -> bytes:
    stream = openai_to_anthropic.Stream(stamps=stamps)
    events = [event for chunk in OPENAI_CHUNKS for event in stream.feed(chunk)] + stream.close()
    return b"".join(openai_to_anthropic.encode_event(event) for event in events)


TRANSLATIONS: dict[str, Callable[[Stamps], bytes]] = {
    "anthropic_to_openai.response": _chat_response,
    "anthropic_to_openai.Stream": _chat_stream,
    "openai_to_anthropic.response": _messages_response,
    "openai_to_anthropic.Stream": _messages_stream,
}


@pytest.mark.parametrize("translate", TRANSLATIONS.values(), ids=TRANSLATIONS)
def test_fixed_stamps_give_the_same_bytes_every_run(translate: Callable[[Stamps], bytes]) -> None:
    first = translate(Stamps.fixed(now=1_700_000_000))
    assert first == translate(Stamps.fixed(now=1_700_000_000))
    # ... and the inputs do make the translation mint something: random stamps differ run to run
    assert translate(DEFAULT_STAMPS) != translate(DEFAULT_STAMPS)


def test_the_minted_ids_and_the_time_come_from_the_stamps() -> None:
    completion = json.loads(_chat_response(Stamps.fixed(now=1_700_000_000)))
    assert completion["id"] == "chatcmpl-" + "0" * 31 + "1"
    assert completion["created"] == 1_700_000_000
    message = json.loads(_messages_response(Stamps.fixed(first=0x10)))
    assert message["content"][1]["id"] == "toolu_" + "0" * 22 + "10"  # the call the provider gave no id
    assert message["id"] == "msg_" + "0" * 30 + "11"


def test_default_ids_have_the_formats_of_uuid4_hex() -> None:
    completion = anthropic_to_openai.response(ANONYMOUS_MESSAGE)
    message = openai_to_anthropic.response(ANONYMOUS_COMPLETION)
    assert re.fullmatch(r"chatcmpl-[0-9a-f]{32}", completion["id"])
    assert re.fullmatch(r"msg_[0-9a-f]{32}", message["id"])
    assert re.fullmatch(r"toolu_[0-9a-f]{24}", message["content"][1]["id"])
    assert len({DEFAULT_STAMPS.id("msg_") for _ in range(1000)}) == 1000


def test_ids_the_input_gives_are_kept_and_no_stamp_is_drawn() -> None:
    stamps = Stamps.fixed()
    completion = anthropic_to_openai.response(message([text_block("Hi")]), stamps=stamps)
    assert completion["id"] == "chatcmpl-01XFDUDYJgAACzvnptvVoYEL"
    assert stamps.id("x_", 2) == "x_01"  # the count was not touched


def test_a_stream_reads_the_clock_once() -> None:
    ticks = iter(range(1_700_000_000, 1_700_000_100))
    stream = anthropic_to_openai.Stream(stamps=Stamps(clock=lambda: next(ticks)))
    events = [message_start(), *anthropic_text_events(0, "a", "b", "c"), message_delta("end_turn"), message_stop()]
    chunks = [chunk for event in events for chunk in stream.feed(event)]
    assert {chunk["created"] for chunk in chunks} == {1_700_000_000}


def test_time_ids_sort_by_when_they_were_made_and_stay_unguessable() -> None:
    """`resp_` ids begin with the time (as OpenAI's do), so a store's index takes each new one at its end;
    the rest is random, so that an id is no easier to guess than a random one of its length."""
    clock = iter([1_700_000_000.001, 1_700_000_000.002, 1_700_000_001.0])
    stamps = Stamps(clock=lambda: next(clock))
    made = [stamps.time_id("resp_") for _ in range(3)]
    assert made == sorted(made) and len(set(made)) == 3
    assert all(re.fullmatch(r"resp_[0-9a-f]{48}", made_id) for made_id in made)
    assert made[0][5:17] == f"{1_700_000_000_001:012x}"
    assert len({DEFAULT_STAMPS.time_id("resp_")[17:] for _ in range(1000)}) == 1000  # 36 random digits each
