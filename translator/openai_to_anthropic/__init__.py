"""OpenAI Chat Completions in, Anthropic Messages out: a request to send to Claude, and (for an
OpenAI-compatible model behind an Anthropic client) its answer and its stream.

- `request(openai_request, *, default_max_tokens=8192, strict=False, models=None) -> RequestTranslation`
- `response(chat_completion, *, model=None, stamps=DEFAULT_STAMPS) -> Anthropic message`
- `Stream(model=None, stamps=DEFAULT_STAMPS)`: `.feed(chunk) -> [event]`, `.close() -> [event]`
- `encode_event(event) -> bytes`: one event in Anthropic's SSE framing

The modules behind them: `body` (the request), `answer` (the response), `stream`.
"""

from __future__ import annotations

from protoshift.translator.openai_to_anthropic.answer import response
from protoshift.translator.openai_to_anthropic.body import request
from protoshift.translator.openai_to_anthropic.stream import Stream, encode_event

__all__ = ["Stream", "encode_event", "request", "response"]
