"""Anthropic Messages in, OpenAI Chat Completions out: Claude's answer and stream for an OpenAI
client, and (for an Anthropic client in front of an OpenAI-compatible model) the request to send.

- `request(anthropic_request, *, strict=False, models=None, default_max_tokens=None) -> OpenAIRequestTranslation`
- `response(message, *, stamps=DEFAULT_STAMPS) -> chat.completion`
- `Stream(include_usage=False, stamps=DEFAULT_STAMPS)`: `.feed(event) -> [chunk]`, `.close() -> [chunk]`
  (`translator.sse.encode_chunk` frames each as OpenAI does)

The modules behind them: `body` (the request), `answer` (the response), `stream`.
"""

from __future__ import annotations

from protoshift.translator.anthropic_to_openai.answer import response
from protoshift.translator.anthropic_to_openai.body import request
from protoshift.translator.anthropic_to_openai.stream import Stream

__all__ = ["Stream", "request", "response"]
