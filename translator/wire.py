"""Names for the wire shapes that cross a module boundary (translator, cloud, gateway).

Each is parsed JSON, a `dict[str, Any]`: the translator checks every field it reads where it reads it
(translator/checks.py), so a TypedDict would promise what an unchecked caller's dict may not hold, and
would cost the hot paths nothing but the reader a lie. The names say which protocol and which shape a
value is, so a signature reads `request(ChatRequest) -> RequestTranslation`, not `dict -> dict`.
"""

from __future__ import annotations

from typing import Any, Final, Literal, TypeAlias

JSON: TypeAlias = dict[str, Any]
"""A JSON object, parsed."""

# ---- OpenAI Chat Completions ---------------------------------------------------------------------

ChatRequest: TypeAlias = dict[str, Any]
"""An OpenAI Chat Completions request body (`POST /v1/chat/completions`)."""

ChatCompletion: TypeAlias = dict[str, Any]
"""An OpenAI `chat.completion` object: the answer to a request without `stream`."""

ChatChunk: TypeAlias = dict[str, Any]
"""One `chat.completion.chunk` of a stream (or `translator.sse.DONE`, the `[DONE]` line)."""

# ---- Anthropic Messages --------------------------------------------------------------------------

MessagesRequest: TypeAlias = dict[str, Any]
"""An Anthropic Messages request body (`POST /v1/messages`, `MessageCreateParams`)."""

Message: TypeAlias = dict[str, Any]
"""An Anthropic `message` object: the answer to a request without `stream`."""

MessageEvent: TypeAlias = dict[str, Any]
"""One event of an Anthropic stream (`message_start`, `content_block_delta`, ..., `error`)."""

# ---- OpenAI Responses ----------------------------------------------------------------------------

ResponsesRequest: TypeAlias = dict[str, Any]
"""An OpenAI Responses request body (`POST /v1/responses`, `ResponseCreateParams`)."""

Response: TypeAlias = dict[str, Any]
"""An OpenAI `response` object: the answer to a request without `stream`, and the object the
lifecycle events of a stream carry (`response.created`, `response.completed`, ...)."""

ResponseEvent: TypeAlias = dict[str, Any]
"""One event of a Responses stream (`response.created`, `response.output_text.delta`, ...,
`response.completed`), with its `type` and `sequence_number`."""

# ---- the APIs ------------------------------------------------------------------------------------

# An API surface or backend protocol, by name: the key of every per-API table (translator/usage.py).
# A new API is one more name here, one constant below, one row in each table.
API: TypeAlias = Literal["chat", "messages", "responses"]
CHAT: Final = "chat"  # OpenAI Chat Completions
MESSAGES: Final = "messages"  # Anthropic Messages
RESPONSES: Final = "responses"  # OpenAI Responses
API_NAMES: Final = {CHAT: "OpenAI Chat Completions", MESSAGES: "Anthropic Messages", RESPONSES: "OpenAI Responses"}
"""Each API's name, for messages (`backend 'x' speaks OpenAI Responses only`)."""
