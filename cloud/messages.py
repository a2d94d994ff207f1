"""Anthropic Messages on the wire, as the Anthropic backend (and the mock) speak it: the fields
`/v1/messages/count_tokens` takes, the `anthropic-beta` header, and the stream handler that passes
Anthropic's events through as they come."""

from __future__ import annotations

import re
from collections.abc import Iterable

from protoshift.cloud.backend import JSON
from protoshift.translator.errors import IncompleteStreamError, UpstreamStreamError

__all__ = ["COUNT_TOKENS_FIELDS", "AnthropicEventStream", "beta_header"]

# The fields /v1/messages/count_tokens takes (anthropic.types.MessageCountTokensParams, anthropic 2.12);
# a Messages request's others (max_tokens, stream, sampling, metadata...) are left out of the count request.
COUNT_TOKENS_FIELDS: frozenset[str] = frozenset(
    {
        "model", "messages", "system", "tools", "tool_choice", "thinking", "output_config", "cache_control",
        "speed", "user_profile_id", "workspace_id", "context_management", "mcp_servers",
    }
)  # fmt: skip
_BETA = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def beta_header(betas: Iterable[str]) -> str | None:
    """The `anthropic-beta` value for a caller's betas (each a name like `interleaved-thinking-2025-05-14`;
    anything else is left out: it could not be a beta and must not reach a header), or None."""
    kept = list(dict.fromkeys(beta.strip() for beta in betas if _BETA.match(beta.strip())))
    return ",".join(kept) or None


class AnthropicEventStream:
    """Anthropic SSE events passed through as they are (a `StreamHandler` for `HTTPClient._send_stream`):
    `message_stop` ends the stream, an `error` event is an `UpstreamStreamError` (retried like its status
    before any output, a `StreamInterruptedError` after), a stream that ends before `message_stop` is cut."""

    __slots__ = ("finished",)

    def __init__(self) -> None:
        self.finished = False

    def feed(self, event: JSON) -> list[JSON]:
        kind = event.get("type")
        if kind == "error":
            error = event.get("error")
            error = error if isinstance(error, dict) else {}
            raise UpstreamStreamError(str(error.get("type") or "api_error"), str(error.get("message") or ""))
        if kind == "message_stop":
            self.finished = True
        return [event]

    def close(self) -> list[JSON]:
        if not self.finished:
            raise IncompleteStreamError()
        return []
