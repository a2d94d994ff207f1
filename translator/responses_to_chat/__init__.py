"""OpenAI Responses in, OpenAI Chat Completions out: a Responses request (Codex, the Agents SDK,
`client.responses.create`) to send to any chat-completions model, and what its answer's mapping back
needs (`chat_to_responses`).

- `request(responses_request, *, strict=False, models=None, history=None, web_search="drop",
  hosted_tools="refuse", stamps=DEFAULT_STAMPS) -> ResponsesTranslation` (the chat body, notes,
  `tools`: the ToolMap, `response_id`, `explain()`)
- `ToolMap`, `ToolRef`: chat function names <-> the Responses tools they stand for

The modules behind them: `body` (the request's fields), `items` (input items -> messages), `tools`
(tools and tool_choice), `toolmap` (the names), `carry` (reasoning carried to the next turn).
"""

from __future__ import annotations

from protoshift.translator.responses_to_chat.body import ResponsesTranslation, request
from protoshift.translator.responses_to_chat.toolmap import ToolMap, ToolRef

__all__ = ["ResponsesTranslation", "ToolMap", "ToolRef", "request"]
