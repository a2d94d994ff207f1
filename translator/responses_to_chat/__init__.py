"""OpenAI Responses in, OpenAI Chat Completions out: a Responses request (Codex, the Agents SDK,
`client.responses.create`) to send to any chat-completions model, and what its answer's mapping back
needs (`chat_to_responses`).

- `request(responses_request, *, strict=False, models=None, history=None, web_search="drop",
  hosted_tools="refuse", stamps=DEFAULT_STAMPS) -> ResponsesTranslation` (the chat body, notes,
  `tools`: the ToolMap, `response_id`, `explain()`)
- `ToolMap`, `ToolRef`: chat function names <-> the Responses tools they stand for
- `SearchPolicy`: what becomes of a web search tool ("drop", "refuse", "carry": as `web_search_options`)

The modules behind them: `body` (the request's fields), `items` (input items -> messages), `tools`
(tools and tool_choice), `web_search` (a web search tool as chat's `web_search_options`), `toolmap`
(the names), `carry` (reasoning carried to the next turn).
"""

from __future__ import annotations

from protoshift.translator.responses_to_chat.body import ResponsesTranslation, request
from protoshift.translator.responses_to_chat.toolmap import ToolMap, ToolRef
from protoshift.translator.responses_to_chat.tools import SearchPolicy

__all__ = ["ResponsesTranslation", "SearchPolicy", "ToolMap", "ToolRef", "request"]
