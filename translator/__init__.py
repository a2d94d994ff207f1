"""Pure protocol translation between OpenAI Chat Completions, Anthropic Messages and OpenAI Responses.

Data in, data out: no I/O, no HTTP, no terminal. One module per direction, each with the same verbs:

- `openai_to_anthropic.request(openai_request, *, default_max_tokens=8192, strict=False, models=None)
  -> RequestTranslation` (the Anthropic body, notes, betas, `explain()`)
- `openai_to_anthropic.response(chat_completion, *, model=None, stamps=...) -> Anthropic message`
- `openai_to_anthropic.Stream(model=None, stamps=...)`: `.feed(chunk) -> [event]`, `.close() -> [event]`;
  `openai_to_anthropic.encode_event(event) -> bytes` (Anthropic's SSE framing)
- `anthropic_to_openai.request(anthropic_request, *, strict=False, models=None, default_max_tokens=None)
  -> OpenAIRequestTranslation` (the OpenAI body, the same notes and `explain()`)
- `anthropic_to_openai.response(message, *, stamps=...) -> chat.completion`
- `anthropic_to_openai.Stream(include_usage=False, stamps=...)`: `.feed(event) -> [chunk]`, `.close() -> [chunk]`
- `responses_to_chat.request(responses_request, *, strict=False, models=None, history=None,
  web_search="drop", hosted_tools="refuse", stamps=...) -> ResponsesTranslation` (the chat body, notes,
  the `ToolMap` the answer needs, the `response_id`, `explain()`)
- `chat_to_responses.response(chat_completion, *, request, tools, stamps=..., response_id=None) -> response`
- `chat_to_responses.Stream(request=..., tools=..., stamps=..., response_id=None)`: `.feed(chunk) -> [event]`,
  `.close() -> [event]`, `.fail(message, ...) -> [event]`; `chat_to_responses.encode_event(event) -> bytes`

A refused request raises TranslationError; its `problems` lists every problem, each with its JSON path.
`ModelTable` / `DEFAULT_TABLE`: what each model accepts (translator/models.py), extendable. `Stamps`:
where the ids and the clock of an answer come from (`Stamps.fixed()` for reproducible output).
Beside them: `translator.sse` (the incremental SSE decoder and the encoders), `translator.usage`
(usage objects both ways, and the token counts of either), `translator.model_objects` (model list
entries both ways), `translator.wire` (the names of the wire shapes and of the APIs).
"""

from __future__ import annotations

from protoshift.translator import anthropic_to_openai, chat_to_responses, openai_to_anthropic, responses_to_chat
from protoshift.translator.anthropic_to_openai.body import OpenAIRequestTranslation
from protoshift.translator.errors import (
    IncompleteStreamError,
    Problem,
    StreamError,
    TranslationError,
    UpstreamStreamError,
)
from protoshift.translator.models import DEFAULT_TABLE, ModelFacts, ModelTable
from protoshift.translator.report import Note, RequestTranslation
from protoshift.translator.responses_to_chat import ResponsesTranslation, ToolMap, ToolRef
from protoshift.translator.stamps import DEFAULT_STAMPS, Stamps
from protoshift.translator.tables import DEFAULT_MAX_TOKENS

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_STAMPS",
    "DEFAULT_TABLE",
    "IncompleteStreamError",
    "ModelFacts",
    "ModelTable",
    "Note",
    "OpenAIRequestTranslation",
    "Problem",
    "RequestTranslation",
    "ResponsesTranslation",
    "Stamps",
    "StreamError",
    "ToolMap",
    "ToolRef",
    "TranslationError",
    "UpstreamStreamError",
    "anthropic_to_openai",
    "chat_to_responses",
    "openai_to_anthropic",
    "responses_to_chat",
]
