"""Anthropic's own tools, offered to an OpenAI-compatible model (which knows none of them by type).

A 400 of ours would fail every turn of a client that always sends them (Claude Code's web search and
fetch), so none is refused:
- the client-run ones (bash, the text editor, memory) become function tools of the same name with the
  input schema Anthropic documents for them: the model calls them, the client runs them as before;
- web search and web fetch run on Anthropic's servers. They are offered as functions too, and a call
  to one is answered here, in the answer, as Claude's would be when the search failed: a
  `server_tool_use` block and its `*_tool_result` with `error_code: "unavailable"` — a tool error the
  client (Claude Code's WebSearch) reports, never an empty success;
- the rest (code execution, tool search, computer use, the toolsets) need Anthropic's side or a model
  trained for them: dropped, with a note.

The answer's side is `openai_to_anthropic/message.py`'s `unavailable_result`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from protoshift.translator.tables import SERVER_TOOLS

__all__ = ["ANSWERED_HERE", "answered_here", "as_function"]

_STRING = {"type": "string"}
_INT = {"type": "integer"}
_LINES = {"type": "array", "items": _INT, "minItems": 2, "maxItems": 2}


def _schema(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


_EDITOR = _schema(
    ["command", "path"],
    command={"type": "string", "enum": ["view", "create", "str_replace", "insert", "undo_edit"]},
    path=_STRING, file_text=_STRING, old_str=_STRING, new_str=_STRING, insert_line=_INT, view_range=_LINES,
)  # fmt: skip

# family -> (description, input schema), as the tools' pages describe them.
_FUNCTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "bash": ("Run a command in a persistent bash shell.", _schema(["command"], command=_STRING, restart={"type": "boolean"})),
    "str_replace_editor": ("View, create and edit text files.", _EDITOR),
    "str_replace_based_edit_tool": ("View, create and edit text files.", _EDITOR),
    "memory": (
        "View, create, edit, rename and delete files in the /memories directory.",
        _schema(
            ["command"],
            command={"type": "string", "enum": ["view", "create", "str_replace", "insert", "delete", "rename"]},
            path=_STRING, file_text=_STRING, old_str=_STRING, new_str=_STRING, insert_line=_INT,
            insert_text=_STRING, old_path=_STRING, new_path=_STRING, view_range=_LINES,
        ),
    ),
    "web_search": ("Search the web.", _schema(["query"], query=_STRING)),
    "web_fetch": ("Fetch a web page or PDF by its URL.", _schema(["url"], url=_STRING)),
}  # fmt: skip

# The families whose calls this side answers (they run on Anthropic's servers).
ANSWERED_HERE = frozenset({"web_search", "web_fetch"})


def as_function(tool: Mapping[str, Any], kind: str) -> tuple[dict[str, Any] | None, str]:
    """The function tool offered for Anthropic's tool `kind` (None: it cannot be), and what the note says."""
    family = SERVER_TOOLS[kind][0]
    offered = _FUNCTIONS.get(family or "")
    if offered is None:
        return None, f"Anthropic's {kind} tool needs Anthropic's side (or a model trained for it): this model has none"
    name = tool.get("name")
    name = name if isinstance(name, str) and name else family
    function = {"type": "function", "function": {"name": name, "description": offered[0], "parameters": offered[1]}}
    if family in ANSWERED_HERE:
        reason = (
            f"Anthropic's {kind} runs on Anthropic's servers: offered to this model as a function, a call to it"
            " answered as unavailable (a tool error the client reports)"
        )
    else:
        reason = f"Anthropic's {kind} offered to this model as a function of its documented input schema"
    return function, reason


def answered_here(request: Mapping[str, Any]) -> dict[str, str]:
    """Function name -> family, for the web search and fetch tools of an Anthropic request: the calls
    the answer turns into a server tool's failed use."""
    found: dict[str, str] = {}
    tools = request.get("tools")
    for tool in tools if isinstance(tools, list) else ():
        kind = tool.get("type") if isinstance(tool, dict) else None
        if isinstance(kind, str) and kind in SERVER_TOOLS:
            family = SERVER_TOOLS[kind][0]
            if family in ANSWERED_HERE:
                name = tool.get("name")
                found[name if isinstance(name, str) and name else family] = family
    return found
