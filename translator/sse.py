"""Server-sent events: an incremental decoder that follows the WHATWG spec, and the encoder.

The decoder takes bytes exactly as they come off the socket, split anywhere: a CR at the end of
one read and its LF at the start of the next, a multi-byte UTF-8 character cut in two, a BOM in
front of the first line. Lines end with LF, CRLF or CR. Comment lines (`:`) are skipped and
several `data:` lines join with `\\n`.

`JSONEventDecoder` sits on top and gives parsed JSON objects, the event type taken from the
object's own `type` (Anthropic repeats it in `event:`; the JSON is the authority). `RawJSONEventDecoder`
gives each as a `RawEvent`: the object, with the `event:` name and the `data:` text it came as, for a
pass-through that checks the name and sends the same bytes on (the OpenAI Responses backend). What is not
plain JSON is refused there: NaN and Infinity, lone surrogates, nesting past 200 levels, numbers
past 4,300 digits (pydantic-core's parser refuses them all; `from_json(allow_inf_nan=False)`).

A read that is one whole event of one `data:` line (what a server writing an event at a time sends,
most reads) is parsed by `JSONEventDecoder` from its bytes, without the line machinery (`one_event`):
the same objects and errors, which tests/translator/test_sse.py checks against the lines' way.

Time and memory stay linear in the size of the stream: a line cut across reads is kept as a list
of parts until its end comes, and one event may hold at most `max_event_size` characters of text
(16 Mi by default): past that, `EventTooLargeError`, whatever the server keeps sending.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

# pydantic-core's JSON (Rust) parses an event in a fifth of json.loads's time and encodes a chunk in
# a quarter of json.dumps's, to the same compact UTF-8 bytes: it is the cost of every streamed event.
from pydantic_core import from_json, to_json

__all__ = [
    "DEFAULT_MAX_EVENT_SIZE",
    "DONE",
    "EventTooLargeError",
    "JSONEventDecoder",
    "RawEvent",
    "RawJSONEventDecoder",
    "SSEDataError",
    "SSEDecoder",
    "ServerSentEvent",
    "encode_chunk",
    "encode_done",
    "encode_event",
    "json_error_reason",
]


class ServerSentEvent(NamedTuple):  # a tuple: made once per event, cheaper than a dataclass
    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


# A read of more lines than this is turned into events lazily, this many lines at a time.
_LAZY_LINES = 96

# The most text one event may hold (its data lines, and a line not yet ended): far more than any
# real event (a whole tool input, a long thinking block) and little enough to keep in memory.
DEFAULT_MAX_EVENT_SIZE = 16 * 1024 * 1024


class SSEDecoder:
    """Feed bytes, get complete events. `close()` at end of stream gives a last unterminated event.
    An event holding more than `max_event_size` characters raises `EventTooLargeError`."""

    __slots__ = (
        "_data", "_event", "_id", "_max", "_pending_bytes", "_pending_cr", "_retry", "_size", "_started",
        "_tail", "_tail_size",
    )  # fmt: skip

    def __init__(self, *, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> None:
        self._max = max_event_size
        self._pending_bytes = b""  # the start of a UTF-8 character cut at the end of the last read
        self._tail: list[str] = []  # text after the last line end, read by read (joined once it ends)
        self._tail_size = 0
        self._pending_cr = False  # the last read ended with CR: an LF opening the next one is the same line end
        self._started = False
        self._data: list[str] = []
        self._size = 0  # characters in the data lines of the event being read
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

    def one_event(self, chunk: bytes) -> tuple[str, bytes] | None:
        """A read that is exactly one event of one `data:` line (an `event:` line before it or not), read
        when nothing of an earlier read waits: its type and its data, as bytes, taken as `feed` takes them
        (the state as it leaves it); None for any other read (`feed` it). What a server that writes an event
        at a time sends, most reads: the JSON decoder parses the bytes without making text of them."""
        if self._pending_bytes or self._tail or self._data or self._pending_cr or self._event:
            return None
        if len(chunk) > self._max or chunk[-2:] != b"\n\n" or b"\r" in chunk:
            return None
        event = "message"
        data = chunk
        if data[:7] == b"event: ":
            end = data.find(b"\n")
            name = data[7:end]
            if not name.isascii():
                return None
            event = name.decode() or "message"
            data = data[end + 1 :]
        if data[:6] != b"data: ":
            return None
        data = data[6:-2]
        if b"\n" in data:
            return None
        self._started = True  # as _text sets it (a read that starts with a field has no BOM)
        return event, data

    def _events_lazily(self, lines: list[str]) -> Iterator[ServerSentEvent]:
        for start in range(0, len(lines), _LAZY_LINES):
            yield from self._events(lines[start : start + _LAZY_LINES])

    def _split(self, chunk: bytes) -> list[str]:
        """Bytes -> the complete lines they end; the rest waits for the next read."""
        text = self._text(chunk)
        if "\n" not in text:
            if text:
                self._keep(text)
            return []
        lines = text.split("\n")
        if self._tail:
            self._tail.append(lines[0])
            lines[0] = "".join(self._tail)
        tail = lines.pop()
        self._tail = [tail] if tail else []
        self._tail_size = len(tail)
        return lines

    def _text(self, chunk: bytes) -> str:
        """The text of a read, line ends made LF: a character or a CRLF cut at its end waits."""
        if self._pending_bytes:
            chunk = self._pending_bytes + chunk
        text, used = codecs.utf_8_decode(chunk, "replace", False)
        self._pending_bytes = chunk[used:]
        if not text:
            return text
        if not self._started:
            self._started = True
            if text[0] == "\ufeff":
                text = text[1:]
        if self._pending_cr:
            self._pending_cr = False
            if text[:1] == "\n":
                text = text[1:]
        if "\r" in text:
            self._pending_cr = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        return text

    def _keep(self, text: str) -> None:
        """A piece of a line that has not ended yet: kept as a part, not added to a growing string."""
        self._tail.append(text)
        self._tail_size += len(text)
        if self._tail_size + self._size > self._max:
            self._too_large()

    def _too_large(self) -> None:
        self._tail, self._data, self._size, self._tail_size = [], [], 0, 0  # nothing more is kept
        raise EventTooLargeError(self._max)

    def _events(self, lines: list[str]) -> list[ServerSentEvent]:
        # The hot loop of every stream: blank, `data:` and `event:` lines inline, with the event
        # type and the event's size in locals; the rarer fields go through _field.
        events: list[ServerSentEvent] = []
        data = self._data
        event = self._event
        size, limit = self._size, self._max
        for line in lines:
            if not line:  # blank line: dispatch
                if data:
                    payload = data[0] if len(data) == 1 else "\n".join(data)
                    events.append(ServerSentEvent(payload, event or "message", self._id, self._retry))
                    data = self._data = []
                    size = 0
                event = ""
            elif line[:5] == "data:":
                data.append(line[6:] if line[5:6] == " " else line[5:])
                size += len(line)
                if size > limit:
                    self._too_large()
            elif line[:6] == "event:":
                event = line[7:] if line[6:7] == " " else line[6:]
            else:
                self._event, self._size = event, size
                self._field(line)
                event, size = self._event, self._size
        self._size = size
        self._event = event
        return events

    def close(self) -> list[ServerSentEvent]:
        """End of stream. The spec drops an event with no closing blank line; recorded streams and
        some servers omit it, so a complete last event is given out rather than lost."""
        text = codecs.utf_8_decode(self._pending_bytes, "replace", True)[0]
        self._pending_bytes = b""
        tail = "".join(self._tail) + text
        self._tail, self._tail_size = [], 0
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
            self._size += len(value)
            if self._size > self._max:
                self._too_large()
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

    def __init__(self, *, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> None:
        self._sse = SSEDecoder(max_event_size=max_event_size)

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        one = self._one(chunk)
        if one is not None:
            return [one]
        return [self._parse(e) for e in self._sse.iter_feed(chunk)]

    def iter_feed(self, chunk: bytes) -> Iterator[dict[str, Any]]:
        """`feed` as an iterator: each event is parsed only when asked for. Consume it whole."""
        one = self._one(chunk)
        if one is not None:
            return iter((one,))
        return map(self._parse, self._sse.iter_feed(chunk))

    def _one(self, chunk: bytes) -> dict[str, Any] | None:
        """The object of a read that is one whole event (SSEDecoder.one_event), parsed from its bytes; None:
        any other read, or one `_parse` refuses (the general way then says why, in its words)."""
        one = self._sse.one_event(chunk)
        if one is None:
            return None
        event, data = one
        if data == b"[DONE]":
            return DONE
        try:
            obj = from_json(data, allow_inf_nan=False)  # bytes that are not UTF-8: refused, as are their words
        except ValueError:
            return None
        if type(obj) is not dict:
            return None
        if "type" not in obj and event != "message":
            obj["type"] = event
        return obj

    def close(self) -> list[dict[str, Any]]:
        return [self._parse(e) for e in self._sse.close()]

    @staticmethod
    def _parse(event: ServerSentEvent) -> dict[str, Any]:
        if event.data == "[DONE]":
            return DONE
        try:  # `_json_object` inline: every stream's hot path, one call less per event
            obj = from_json(event.data, allow_inf_nan=False)
        except ValueError as exc:
            raise SSEDataError(f"an event that is not JSON ({json_error_reason(exc)}): {event.data[:80]!r}") from exc
        if not isinstance(obj, dict):
            raise SSEDataError(f"an event that is not a JSON object: {event.data[:80]!r}")
        if "type" not in obj and event.event != "message":
            obj["type"] = event.event
        return obj


def _json_object(data: str) -> dict[str, Any]:
    try:
        obj = from_json(data, allow_inf_nan=False)
    except ValueError as exc:
        raise SSEDataError(f"an event that is not JSON ({json_error_reason(exc)}): {data[:80]!r}") from exc
    if not isinstance(obj, dict):
        raise SSEDataError(f"an event that is not a JSON object: {data[:80]!r}")
    return obj


class RawEvent(dict[str, Any]):
    """A JSON event as it came: the parsed object, and its SSE `event:` name (`message` when it had
    none) and `data:` text. `data` is None when the object took its `type` from the name (its text
    then lacks it): it is no longer the event as sent."""

    __slots__ = ("data", "name")

    data: str | None
    name: str


class RawJSONEventDecoder(JSONEventDecoder):
    """`JSONEventDecoder` whose objects are `RawEvent`s (`[DONE]` is still `DONE`), a read of one whole
    event included (`_one`, the fast path)."""

    __slots__ = ()

    def _one(self, chunk: bytes) -> dict[str, Any] | None:
        one = self._sse.one_event(chunk)
        if one is None:
            return None
        event, data = one
        if data == b"[DONE]":
            return DONE
        try:
            obj = from_json(data, allow_inf_nan=False)  # refuses bytes that are not UTF-8: decoded below
        except ValueError:
            return None
        if type(obj) is not dict:
            return None
        return _raw(obj, event, data.decode())

    @staticmethod
    def _parse(event: ServerSentEvent) -> dict[str, Any]:
        if event.data == "[DONE]":
            return DONE
        return _raw(_json_object(event.data), event.event, event.data)


def _raw(obj: dict[str, Any], name: str, data: str) -> RawEvent:
    raw = RawEvent(obj)
    raw.name = name
    if "type" in raw:
        raw.data = data
    else:
        raw.data = None
        if name != "message":
            raw["type"] = name
    return raw


def json_error_reason(error: ValueError) -> str:
    """pydantic-core's parse error in words a user can act on (it says "hex escape" for a lone surrogate)."""
    text = str(error)
    if "surrogate" in text or "hex escape" in text:
        where = text[text.find(" at line ") :] if " at line " in text else ""
        return f"a lone surrogate (a \\ud800-\\udfff escape without its pair){where}"
    return text


class SSEDataError(ValueError):
    """An event's data is not the JSON object the protocol promises. The message names what came
    (`an event that is not JSON (...)`), to follow "the provider sent" or a file's name."""


class EventTooLargeError(SSEDataError):
    """One event holds more text than the decoder's `max_event_size`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"an event larger than {size_text(limit)} (the most one event may hold)")


def size_text(size: int) -> str:
    """`16 MiB`, `512 KiB`, `100 bytes`: a size for people."""
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:g} {unit}"
    return f"{size} bytes"


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
    """A chat.completion.chunk exactly as OpenAI sends it: compact JSON, UTF-8, `data: ...\\n\\n`.
    Always JSON: the chunks protoshift gives out hold no NaN (`anthropic_to_openai.Stream`'s are made
    of checked events, an OpenAI-compatible server's are refused by `check_chunk`); should one come
    anyway, it is written as null (pydantic-core's `inf_nan_mode`), never as NaN."""
    return b"data: " + to_json(chunk, inf_nan_mode="null") + b"\n\n"


def encode_done() -> bytes:
    return b"data: [DONE]\n\n"
