"""translator.sse: the incremental decoder and the encoder (issue 2, section 4)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protoshift.translator.sse import (
    DEFAULT_MAX_EVENT_SIZE,
    DONE,
    EventTooLargeError,
    JSONEventDecoder,
    ServerSentEvent,
    SSEDataError,
    SSEDecoder,
    encode_chunk,
    encode_done,
    encode_event,
)


def decode(*feeds: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for feed in feeds:
        events.extend(decoder.feed(feed))
    events.extend(decoder.close())
    return events


def bytewise(data: bytes) -> list[ServerSentEvent]:
    return decode(*(data[i : i + 1] for i in range(len(data))))


STREAM = 'event: message_start\ndata: {"a": 1}\n\nevent: ping\ndata: {}\n\n'


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_line_ends_lf_crlf_cr(eol: str) -> None:
    data = STREAM.replace("\n", eol).encode()
    expected = [ServerSentEvent('{"a": 1}', "message_start"), ServerSentEvent("{}", "ping")]
    assert decode(data) == expected
    assert bytewise(data) == expected


def test_cr_at_the_end_of_one_read_and_lf_at_the_start_of_the_next_is_one_line_end() -> None:
    # If the LF were taken as a second (blank) line, "a" would be dispatched alone, before "b".
    assert decode(b"data: a\r", b"\ndata: b\r\n\r\n") == [ServerSentEvent("a\nb")]
    assert decode(b"data: a\r", b"\n", b"\r", b"\n") == [ServerSentEvent("a")]


def test_cr_then_something_else_is_still_a_line_end() -> None:
    assert decode(b"data: a\r", b"data: b\r\r") == [ServerSentEvent("a\nb")]


def test_multibyte_utf8_split_across_reads() -> None:
    data = "data: héllo 🎉 日本\n\n".encode()
    for cut in range(1, len(data)):
        assert decode(data[:cut], data[cut:]) == [ServerSentEvent("héllo 🎉 日本")], cut
    assert bytewise(data) == [ServerSentEvent("héllo 🎉 日本")]


def test_comment_lines_are_skipped() -> None:
    assert decode(b": keep-alive\n\n:another\ndata: x\n: mid\n\n") == [ServerSentEvent("x")]


def test_multi_line_data_joins_with_newline() -> None:
    assert decode(b"data: one\ndata:two\ndata:  three\ndata\n\n") == [ServerSentEvent("one\ntwo\n three\n")]


def test_leading_bom_is_ignored_even_split() -> None:
    data = b"\xef\xbb\xbfdata: x\n\n"
    assert decode(data) == [ServerSentEvent("x")]
    assert bytewise(data) == [ServerSentEvent("x")]


def test_only_a_leading_bom_is_special() -> None:
    assert decode("data: x\n\n\ufeffdata: y\n\n".encode()) == [ServerSentEvent("x")]  # field "\ufeffdata" is unknown


def test_event_id_and_retry_fields() -> None:
    (event,) = decode(b"id: 7\nretry: 1500\nevent: update\ndata: x\n\n")
    assert event == ServerSentEvent("x", "update", "7", 1500)


def test_event_type_resets_after_each_event() -> None:
    assert [e.event for e in decode(b"event: a\ndata: 1\n\ndata: 2\n\n")] == ["a", "message"]


def test_blank_lines_without_data_dispatch_nothing() -> None:
    assert decode(b"\n\n\nevent: lonely\n\n") == []


def test_close_flushes_a_last_event_without_a_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: first\n\ndata: last\n") == [ServerSentEvent("first")]
    assert decoder.close() == [ServerSentEvent("last")]
    assert decode(b"data: no newline at all") == [ServerSentEvent("no newline at all")]


def test_json_decoder_takes_the_event_type_from_the_json() -> None:
    decoder = JSONEventDecoder()
    objs = decoder.feed(
        b'event: ping\ndata: {"type": "message_stop"}\n\nevent: content_block_stop\ndata: {"index": 0}\n\n'
    )
    assert objs == [{"type": "message_stop"}, {"type": "content_block_stop", "index": 0}]


def test_json_decoder_done_marker_and_bad_data() -> None:
    decoder = JSONEventDecoder()
    (done,) = decoder.feed(b"data: [DONE]\n\n")
    assert done is DONE
    with pytest.raises(SSEDataError):
        decoder.feed(b"data: {not json\n\n")
    with pytest.raises(SSEDataError):
        JSONEventDecoder().feed(b"data: [1, 2]\n\n")


def test_json_decoder_close_flushes_the_last_event() -> None:
    decoder = JSONEventDecoder()
    assert decoder.feed(b'data: {"type": "message_stop"}') == []
    assert decoder.close() == [{"type": "message_stop"}]


@pytest.mark.parametrize("data", ["plain", "two\nlines", "cr\rand\r\ncrlf", "", "ünïcode 🎉", ": colon first"])
def test_encode_event_round_trips(data: str) -> None:
    encoded = encode_event(data, "message_delta")
    normalised = data.replace("\r\n", "\n").replace("\r", "\n")
    if data == "":
        assert decode(encoded) == [ServerSentEvent("", "message_delta")]
    else:
        assert decode(encoded) == [ServerSentEvent(normalised, "message_delta")]


def test_encode_chunk_is_what_openai_sends() -> None:
    chunk = {"id": "chatcmpl-1", "choices": [{"delta": {"content": "é\n"}}]}
    encoded = encode_chunk(chunk)
    assert encoded.startswith(b"data: {") and encoded.endswith(b"}\n\n")
    assert encoded.count(b"\n") == 2  # compact JSON: the newline in the content is escaped
    assert "é".encode() in encoded  # UTF-8, not \\u escapes
    decoder = JSONEventDecoder()
    assert decoder.feed(encoded + encode_done()) == [chunk, DONE]
    assert json.loads(encoded[6:]) == chunk


# ---- hostile streams (issue 9, item 7) -----------------------------------------------------------


def test_an_event_larger_than_the_limit_is_refused_however_it_comes() -> None:
    limit = 1000
    line_without_end = SSEDecoder(max_event_size=limit)
    line_without_end.feed(b"data: ")
    with pytest.raises(EventTooLargeError) as info:
        for _ in range(100):
            line_without_end.feed(b"x" * 100)  # one line that never ends, read by read
    assert "larger than 1000 bytes" in str(info.value)
    many_lines = SSEDecoder(max_event_size=limit)
    with pytest.raises(EventTooLargeError):
        many_lines.feed(b"data: " + b"y" * 400 + b"\n" + b"data: " + b"y" * 400 + b"\ndata:" + b"y" * 400 + b"\n")
    assert isinstance(info.value, SSEDataError)  # callers that handle bad data handle this too


def test_events_up_to_the_limit_pass_and_the_count_starts_again_with_each_event() -> None:
    decoder = SSEDecoder(max_event_size=1000)
    events = []
    for _ in range(20):  # 20 events of 900: far more than the limit in all, each under it
        events += decoder.feed(b"data: " + b"z" * 900 + b"\n\n")
    assert len(events) == 20 and all(len(e.data) == 900 for e in events)
    assert str(EventTooLargeError(DEFAULT_MAX_EVENT_SIZE)).startswith("an event larger than 16 MiB")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"a": NaN}', "expected value"),
        (b'{"a": [Infinity]}', "expected value"),
        (b'{"a": "\\ud800"}', "a lone surrogate"),
        (b'{"a": "x\\udc00y"}', "surrogate"),
        (b"[" * 300 + b"]" * 300, "recursion limit"),
        (b'{"n": 1' + b"0" * 5000 + b"}", "number out of range"),
    ],
)
def test_json_events_that_are_not_plain_json_are_bad_data(data: bytes, reason: str) -> None:
    with pytest.raises(SSEDataError) as info:
        JSONEventDecoder().feed(b"data: " + data + b"\n\n")
    assert reason in str(info.value)


def test_encode_chunk_never_writes_nan() -> None:
    assert encode_chunk({"id": "x", "usage": {"n": float("nan"), "m": float("-inf")}}) == (
        b'data: {"id":"x","usage":{"n":null,"m":null}}\n\n'
    )
    assert encode_chunk({"id": "NaN Infinity", "choices": []}) == b'data: {"id":"NaN Infinity","choices":[]}\n\n'


# ---- a read that is one whole event (JSONEventDecoder parses its bytes: SSEDecoder.one_event) --------------


class _LineByLine(JSONEventDecoder):
    """The JSON decoder without its one-event reads: every read through the SSE decoder's lines."""

    __slots__ = ()

    def _one(self, chunk: bytes) -> dict[str, Any] | None:
        return None


def _outcome(decoder: JSONEventDecoder, reads: list[bytes]) -> list[Any]:
    out: list[Any] = []
    try:
        for data in reads:
            out.append(decoder.feed(data) if len(out) % 2 else list(decoder.iter_feed(data)))
        out.append(decoder.close())
    except SSEDataError as exc:
        out.append((type(exc).__name__, str(exc)))
    return out


FIELD = st.sampled_from(["", "event: content_block_delta\n", "event: \n", "event: ping\n", "event:x\n", "event: é\n",
                         ": comment\n", "id: 7\n", "data: {\"a\": 1}\n", "retry: 10\n"])  # fmt: skip
DATA = st.sampled_from(['{"type": "t", "n": 1}', '{"n": 1.5}', "[DONE]", "[1]", "", "{not json", '{"a": NaN}',
                        '{"s": "\\ud800"}', '"text"', '{"e": "é"}', "{}", '{"n": 1e999}', '{"type": 5}'])  # fmt: skip
EOL = st.sampled_from(["\n", "\n", "\n", "\r\n", "\r"])


@st.composite
def sse_reads(draw: st.DrawFn) -> list[bytes]:
    """Events (fields, a data line, a blank line; line ends of every kind), read whole or cut anywhere."""
    events = []
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        eol = draw(EOL)
        text = draw(FIELD) + "data: " + draw(DATA) + "\n\n"
        raw = text.replace("\n", eol).encode()
        if draw(st.booleans()) and b'"\xc3\xa9"' in raw:  # a byte that is not UTF-8 (replaced, not refused)
            raw = raw.replace(b"\xc3\xa9", b"\xff")
        events.append(raw)
    reads: list[bytes] = []
    for raw in events:
        if draw(st.booleans()):
            reads.append(raw)  # a read that is one event: the short way, when nothing waits from before
        else:
            cut = draw(st.integers(min_value=0, max_value=len(raw)))
            reads += [raw[:cut], raw[cut:]]
    return reads


@settings(max_examples=400, deadline=None)
@given(sse_reads(), st.sampled_from([DEFAULT_MAX_EVENT_SIZE, 40]))
def test_a_read_that_is_one_event_gives_what_its_lines_give(reads: list[bytes], limit: int) -> None:
    fast = _outcome(JSONEventDecoder(max_event_size=limit), reads)
    assert fast == _outcome(_LineByLine(max_event_size=limit), reads)


def test_one_event_reads_take_the_short_way() -> None:
    decoder = SSEDecoder()
    assert decoder.one_event(b'event: content_block_delta\ndata: {"a": 1}\n\n') == ("content_block_delta", b'{"a": 1}')
    assert decoder.one_event(b'data: {"a": 1}\n\n') == ("message", b'{"a": 1}')
    for other in (b'data: {"a": 1}\r\n\r\n', b"data: 1\ndata: 2\n\n", b": hi\ndata: 1\n\n", b"data: 1\n"):
        assert decoder.one_event(other) is None
    for begun in (b"data: ", b'data: {"a": 1}\n', b"event: ping\n", b"data: 1\r"):  # an event begun: this read ends it
        decoder = SSEDecoder()
        decoder.feed(begun)
        assert decoder.one_event(b'data: {"a": 1}\n\n') is None
    json_decoder = JSONEventDecoder()
    assert json_decoder.feed(b"event: ping\n") == []
    assert json_decoder.feed(b"data: {}\n\n") == [{"type": "ping"}]
    assert json_decoder.feed(b'data: {"a": 1}\n') == []
    with pytest.raises(SSEDataError):  # two data lines: {"a": 1}\n{"b": 2}
        json_decoder.feed(b'data: {"b": 2}\n\n')
