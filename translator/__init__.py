"""Pure protocol translation between OpenAI Chat Completions and Anthropic Messages.

Data in, data out: no I/O, no HTTP, no terminal. The public API:

- `translate_request(openai_request, *, default_max_tokens=8192, strict=False, models=None) -> RequestTranslation`;
  `TranslationError.problems` lists every problem of a refused request
- `ModelTable` / `DEFAULT_TABLE`: what each Claude model accepts (translator/models.py), extendable
- `translate_response(anthropic_message, *, created=None) -> chat.completion dict`
- `StreamTranslator(include_usage=False, created=None)`: `.feed(event) -> [chunk]`, `.close() -> [chunk]`
- `translator.sse`: the incremental SSE decoder and the encoder

The other direction (Anthropic Messages in, an OpenAI-compatible model out):

- `translate_anthropic_request(anthropic_request, *, strict=False, models=None) -> OpenAIRequestTranslation`
  (the OpenAI body, the same notes, `explain()` and `TranslationError.problems`)
- `translate_openai_response(chat_completion, *, model=None) -> Anthropic message dict`
- `OpenAIStreamTranslator(model=None)`: `.feed(chunk) -> [event]`, `.close() -> [event]`;
  `encode_anthropic_event(event) -> bytes` (Anthropic's SSE framing)
"""

from __future__ import annotations

from protoshift.translator.errors import (
    IncompleteStreamError,
    Problem,
    StreamError,
    TranslationError,
    UpstreamStreamError,
)
from protoshift.translator.models import DEFAULT_TABLE, ModelFacts, ModelTable
from protoshift.translator.report import Note, RequestTranslation
from protoshift.translator.tables import DEFAULT_MAX_TOKENS
from protoshift.translator.to_anthropic.request import translate_request
from protoshift.translator.to_anthropic.response import translate_openai_response
from protoshift.translator.to_anthropic.stream import OpenAIStreamTranslator, encode_anthropic_event
from protoshift.translator.to_openai.request import OpenAIRequestTranslation, translate_anthropic_request
from protoshift.translator.to_openai.response import translate_response
from protoshift.translator.to_openai.stream import StreamTranslator

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_TABLE",
    "IncompleteStreamError",
    "ModelFacts",
    "ModelTable",
    "Note",
    "OpenAIRequestTranslation",
    "OpenAIStreamTranslator",
    "Problem",
    "RequestTranslation",
    "StreamError",
    "StreamTranslator",
    "TranslationError",
    "UpstreamStreamError",
    "encode_anthropic_event",
    "translate_anthropic_request",
    "translate_openai_response",
    "translate_request",
    "translate_response",
]
