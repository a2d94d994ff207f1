"""An SSE input read as its bytes arrive (a pipe from curl is translated live), for both directions of
`translate stream`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from protoshift.cli.exits import InputError
from protoshift.cli.io.inputs import Source


def decoded_events(decoder: Any, source: Source, out: IO[bytes]) -> Iterator[Any]:
    """The input's events as each read arrives (`out` flushed once a read's events are written); an
    input with no event at all is refused as not SSE."""
    seen = False
    for data in source.iter_bytes():
        for event in decoder.iter_feed(data):
            seen = True
            yield event
        out.flush()
    for event in decoder.close():
        seen = True
        yield event
    if not seen:
        raise not_sse(source)


def not_sse(source: Source) -> InputError:
    """An input with no SSE event in it at all is the wrong kind of file, not a stream that was cut."""
    return InputError(
        f"{source.name}: not an SSE stream (no event: or data: lines)",
        hint="translate response takes a whole JSON message; translate stream takes the text/event-stream body",
    )
