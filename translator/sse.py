"""Server-sent events: an incremental decoder that follows the WHATWG spec, and the encoder.

The decoder takes bytes exactly as they come off the socket, split anywhere: a CR at the end of
one read and its LF at the start of the next, a multi-byte UTF-8 character cut in two, a BOM in
front of the first line. Lines end with LF, CRLF or CR. Comment lines (`:`) are skipped and
several `data:` lines join with `\\n`.

`JSONEventDecoder` sits on top and gives parsed JSON objects, the event type taken from the
object's own `type` (Anthropic repeats it in `event:`; the JSON is the authority).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

# pydantic-core's JSON (Rust) parses an event in a fifth of json.loads's time and encodes a chunk in
# a quarter of json.dumps's, to the same compact UTF-8 bytes: it is the cost of every streamed event.
from pydantic_core import from_json, to_json

__all__ = [
    "DONE",
    "JSONEventDecoder",
    "SSEDecoder",
    "ServerSentEvent",
    "encode_chunk",
    "encode_done",
    "encode_event",
]


class ServerSentEvent(NamedTuple):  # a tuple: made once per event, cheaper than a dataclass
    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


# A read of more lines than this is turned into events lazily, this many lines at a time.
_LAZY_LINES = 96


class SSEDecoder:
    """Feed bytes, get complete events. `close()` at end of stream gives a last unterminated event."""

    __slots__ = ("_data", "_event", "_id", "_pending_bytes", "_pending_cr", "_retry", "_started", "_tail")

    def __init__(self) -> None:
        self._pending_bytes = b""  # the start of a UTF-8 character cut at the end of the last read
        self._tail = ""  # text after the last line end
        self._pending_cr = False  # the last read ended with CR: an LF opening the next one is the same line end
        self._started = False
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        return self._events(self._split(chunk))

    def iter_feed(self, chunk: bytes) -> Iterator[ServerSentEvent]:
        """`feed` as an iterator: a large read (a burst of many events) is turned into events a
        slice of lines at a time, so the first one comes out before the rest is worked through
        (time to first chunk). Consume it whole before the next call."""
        lines = self._split(chunk)
        if len(lines) <= _LAZY_LINES:
            return iter(self._events(lines))
        return self._events_lazily(lines)

    def _events_lazily(self, lines: list[str]) -> Iterator[ServerSentEvent]:
        for start in range(0, len(lines), _LAZY_LINES):
            yield from self._events(lines[start : start + _LAZY_LINES])

    def _split(self, chunk: bytes) -> list[str]:
        """Bytes -> the complete lines they end; the rest waits for the next read."""
        if self._pending_bytes:
            chunk = self._pending_bytes + chunk
        text, used = codecs.utf_8_decode(chunk, "replace", False)
        self._pending_bytes = chunk[used:]
        if not text:
            return []
        if not self._started:
            self._started = True
            if text[0] == "\ufeff":
                text = text[1:]
        if self._pending_cr:
            self._pending_cr = False
            if text[0] == "\n":
                text = text[1:]
        if "\r" in text:
            self._pending_cr = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if "\n" not in text:
            self._tail += text
            return []
        lines = (self._tail + text).split("\n") if self._tail else text.split("\n")
        self._tail = lines.pop()
        return lines

    def _events(self, lines: list[str]) -> list[ServerSentEvent]:
        # The hot loop of every stream: blank, `data:` and `event:` lines inline, with the event
        # type in a local; the rarer fields go through _field.
        events: list[ServerSentEvent] = []
        data = self._data
        event = self._event
        for line in lines:
            if not line:  # blank line: dispatch
                if data:
                    payload = data[0] if len(data) == 1 else "\n".join(data)
                    events.append(ServerSentEvent(payload, event or "message", self._id, self._retry))
                    data = self._data = []
                event = ""
            elif line[:5] == "data:":
                data.append(line[6:] if line[5:6] == " " else line[5:])
            elif line[:6] == "event:":
                event = line[7:] if line[6:7] == " " else line[6:]
            else:
                self._event = event
                self._field(line)
                event = self._event
        self._event = event
        return events

    def close(self) -> list[ServerSentEvent]:
        """End of stream. The spec drops an event with no closing blank line; recorded streams and
        some servers omit it, so a complete last event is given out rather than lost."""
        text = codecs.utf_8_decode(self._pending_bytes, "replace", True)[0]
        self._pending_bytes = b""
        tail, self._tail = self._tail + text, ""
        return self._events([tail, ""] if tail else [""])

    def _field(self, line: str) -> None:
        """A line that is neither `data:` nor blank: a comment, `event`, `id` or `retry`."""
        if line[0] == ":":
            return
        field, sep, value = line.partition(":")
        if sep and value[:1] == " ":
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id":
            if "\0" not in value:
                self._id = value
        elif field == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)


class JSONEventDecoder:
    """SSE bytes in, JSON objects out. `[DONE]` (OpenAI's end marker) is returned as `DONE`."""

    __slots__ = ("_sse",)

    def __init__(self) -> None:
        self._sse = SSEDecoder()

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        return [self._parse(e) for e in self._sse.iter_feed(chunk)]

    def iter_feed(self, chunk: bytes) -> Iterator[dict[str, Any]]:
        """`feed` as an iterator: each event is parsed only when asked for. Consume it whole."""
        return map(self._parse, self._sse.iter_feed(chunk))

    def close(self) -> list[dict[str, Any]]:
        return [self._parse(e) for e in self._sse.close()]

    @staticmethod
    def _parse(event: ServerSentEvent) -> dict[str, Any]:
        if event.data == "[DONE]":
            return DONE
        try:
            obj = from_json(event.data)
        except ValueError as exc:
            raise SSEDataError(f"event data is not JSON: {event.data[:80]!r}") from exc
        if not isinstance(obj, dict):
            raise SSEDataError(f"event data is not a JSON object: {event.data[:80]!r}")
        if "type" not in obj and event.event != "message":
            obj["type"] = event.event
        return obj


class SSEDataError(ValueError):
    """An event's data is not the JSON object the protocol promises."""


# The end-of-stream marker OpenAI sends as `data: [DONE]`; compared by identity.
DONE: dict[str, Any] = {"type": "[DONE]"}


def encode_event(data: str, event: str | None = None) -> bytes:
    """One SSE event; data with line breaks becomes several `data:` lines."""
    head = f"event: {event}\n" if event else ""
    if "\n" in data or "\r" in data:
        body = "".join(f"data: {line}\n" for line in data.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    else:
        body = f"data: {data}\n"
    return (head + body + "\n").encode()


def encode_chunk(chunk: Mapping[str, Any]) -> bytes:
    """A chat.completion.chunk exactly as OpenAI sends it: compact JSON, UTF-8, `data: ...\\n\\n`."""
    return b"data: " + to_json(chunk) + b"\n\n"


def encode_done() -> bytes:
    return b"data: [DONE]\n\n"
