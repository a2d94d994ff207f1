"""What every backend offers, and what is shared by all of them whatever they speak over HTTP."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "JSON",
    "Backend",
    "PreparedRequest",
    "shape_request",
]

JSON = dict[str, Any]

# The time limits of one attempt (cloud.deadline). `timeout`: the most an attempt may take, start to
# end; by default 600 s for an answer (as the official SDKs), and none for a stream, so a long
# generation is never cut for its length; a timeout the caller sets holds for both. A stream is
# bounded instead by its idle limit: the longest it may go without a content event (pings do not
# count), 600 s by default, the patience the SDKs have with a silent server.
DEFAULT_TIMEOUT = 600.0
DEFAULT_IDLE_TIMEOUT = 600.0


class Backend(Protocol):
    """What every backend offers: the OpenAI surface (`complete`, `stream`, `prepare`: OpenAI Chat
    Completions in and out) and, beside it, the Anthropic one (`create_message`, `stream_message`,
    `count_tokens`: Anthropic Messages in and out; `betas` are the caller's `anthropic-beta` values)."""

    @property
    def name(self) -> str: ...

    async def complete(self, request: Mapping[str, Any]) -> JSON: ...

    def stream(self, request: Mapping[str, Any]) -> AsyncGenerator[JSON, None]: ...

    def prepare(self, request: Mapping[str, Any]) -> PreparedRequest: ...

    async def create_message(self, body: Mapping[str, Any], *, betas: Sequence[str] = ()) -> JSON:
        """An Anthropic `MessageCreateParams` -> the Anthropic `Message`."""
        ...

    def stream_message(self, body: Mapping[str, Any], *, betas: Sequence[str] = ()) -> AsyncGenerator[JSON, None]:
        """An Anthropic request -> Anthropic stream events (message_start ... message_stop), as they come."""
        ...

    async def count_tokens(self, body: Mapping[str, Any], *, betas: Sequence[str] = ()) -> JSON:
        """`{"input_tokens": n, "exact": bool}`: exact when the provider counted, else an estimate."""
        ...

    async def list_models(self) -> list[JSON]:
        """The models the provider offers, as OpenAI model objects (`{"id", "object": "model",
        "created", "owned_by"}`)."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """The upstream request a call would send (`--dry-run`): headers with keys as `***`."""

    method: str
    url: str
    headers_redacted: dict[str, str]
    body: JSON


def shape_request(
    request: Mapping[str, Any], *, model: str | None, stream: bool, stream_only: tuple[str, ...] = ("stream_options",)
) -> JSON:
    """The caller's request as a backend sends it: its `model` override applied, and `stream` set or
    removed to match the call, with the fields that only go with a stream (`stream_only`: OpenAI's
    `stream_options`; none for Anthropic's)."""
    shaped = dict(request)
    if model:
        shaped["model"] = model
    if stream:
        shaped["stream"] = True
    else:
        shaped.pop("stream", None)
        for key in stream_only:
            shaped.pop(key, None)
    return shaped
