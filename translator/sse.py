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
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DONE",
    "JSONEventDecoder",
    "SSEDecoder",
    "ServerSentEvent",
    "encode_chunk",
    "encode_done",
    "encode_event",
]


@dataclass(slots=True, frozen=True)
class ServerSentEvent:
    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Feed bytes, get complete events. `close()` at end of stream gives a last unterminated event."""

    __slots__ = ("_data", "_event", "_id", "_pending_cr", "_retry", "_started", "_tail", "_utf8")

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._tail = ""  # text after the last line end
        self._pending_cr = False  # the last read ended with CR: an LF opening the next one is the same line end
        self._started = False
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        text = self._utf8.decode(chunk)
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
        lines = (self._tail + text).split("\n")
        self._tail = lines.pop()
        events: list[ServerSentEvent] = []
        for line in lines:
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[ServerSentEvent]:
        """End of stream. The spec drops an event with no closing blank line; recorded streams and
        some servers omit it, so a complete last event is given out rather than lost."""
        text = self._utf8.decode(b"", final=True)
        tail, self._tail = self._tail + text, ""
        events: list[ServerSentEvent] = []
        for line in (tail, ""):
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line[0] == ":":
            return None
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
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._data:
            self._event = ""
            return None
        event = ServerSentEvent("\n".join(self._data), self._event or "message", self._id, self._retry)
        self._data = []
        self._event = ""
        return event


class JSONEventDecoder:
    """SSE bytes in, JSON objects out. `[DONE]` (OpenAI's end marker) is returned as `DONE`."""

    __slots__ = ("_sse",)

    def __init__(self) -> None:
        self._sse = SSEDecoder()

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        return [self._parse(e) for e in self._sse.feed(chunk)]

    def close(self) -> list[dict[str, Any]]:
        return [self._parse(e) for e in self._sse.close()]

    @staticmethod
    def _parse(event: ServerSentEvent) -> dict[str, Any]:
        if event.data == "[DONE]":
            return DONE
        try:
            obj = json.loads(event.data)
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

_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


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
    return b"data: " + _compact(chunk).encode() + b"\n\n"


def encode_done() -> bytes:
    return b"data: [DONE]\n\n"
