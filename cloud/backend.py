"""What every backend offers, and what is shared by all of them whatever they speak over HTTP."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["DEFAULT_IDLE_TIMEOUT", "DEFAULT_TIMEOUT", "JSON", "Backend", "PreparedRequest", "shape_request"]

JSON = dict[str, Any]

# The time limits of one attempt (cloud.deadline). `timeout`: the most an attempt may take, start to
# end; by default 600 s for an answer (as the official SDKs), and none for a stream, so a long
# generation is never cut for its length; a timeout the caller sets holds for both. A stream is
# bounded instead by its idle limit: the longest it may go without a content event (pings do not
# count), 600 s by default, the patience the SDKs have with a silent server.
DEFAULT_TIMEOUT = 600.0
DEFAULT_IDLE_TIMEOUT = 600.0


class Backend(Protocol):
    """What every backend offers. All take and give OpenAI Chat Completions format."""

    @property
    def name(self) -> str: ...

    async def complete(self, request: Mapping[str, Any]) -> JSON: ...

    def stream(self, request: Mapping[str, Any]) -> AsyncGenerator[JSON, None]: ...

    def prepare(self, request: Mapping[str, Any]) -> PreparedRequest: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """The upstream request a call would send (`--dry-run`): headers with keys as `***`."""

    method: str
    url: str
    headers_redacted: dict[str, str]
    body: JSON


def shape_request(request: Mapping[str, Any], *, model: str | None, stream: bool) -> JSON:
    """The caller's OpenAI request as a backend sends it: its `model` override applied, and `stream`
    (with `stream_options`) set or removed to match the call."""
    shaped = dict(request)
    if model:
        shaped["model"] = model
    if stream:
        shaped["stream"] = True
    else:
        shaped.pop("stream", None)
        shaped.pop("stream_options", None)
    return shaped
