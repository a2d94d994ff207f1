"""OpenAI Chat Completions in, OpenAI Responses out: the answer of a chat-completions model to a
Responses client, whole or streamed (the request went through `responses_to_chat.request`).

- `response(chat_completion, *, request, tools, stamps=DEFAULT_STAMPS, response_id=None) -> response`
- `Stream(request=..., tools=..., stamps=DEFAULT_STAMPS, response_id=None)`: `.feed(chunk) -> [event]`,
  `.close() -> [event]`, `.fail(message, status=, kind=, retry_after=) -> [event]` (the upstream broke)
- `encode_event(event) -> bytes`: one event in OpenAI's SSE framing (`event: TYPE`, `data: JSON`);
  `encode_response_event(kind, sequence_number, response_json)`: the same bytes for an event of a whole
  response, its JSON given (encoded once, kept by a store too)
- `failure(message, status=, kind=, retry_after=) -> error`: the `error` of a failed response
- `cut_short(item) -> item`: an item a failing stream left open, with the status that says so

`request` is the Responses request (the answer repeats its fields), `tools` the translation's ToolMap
(custom and namespaced tools map back through it), `response_id` the translation's.
The modules behind them: `answer`, `stream`, `common` (the response object, failures),
`custom_input` (a custom tool's raw input out of its JSON arguments, as they stream), `web_search`
(the upstream's searches as `web_search_call` items).
"""

from __future__ import annotations

from protoshift.translator.chat_to_responses.answer import response
from protoshift.translator.chat_to_responses.common import FAILURE_CODES, cut_short, failure, failure_code
from protoshift.translator.chat_to_responses.stream import Stream, encode_event, encode_response_event

__all__ = [
    "FAILURE_CODES",
    "Stream",
    "cut_short",
    "encode_event",
    "encode_response_event",
    "failure",
    "failure_code",
    "response",
]
