"""Anthropic `tools` and `tool_choice` -> OpenAI `tools`, `tool_choice` and `parallel_tool_calls`.

- custom tools become function tools (`input_schema` -> `parameters`, `strict` kept); Anthropic's
  own tool fields with no OpenAI equivalent (`cache_control`, `input_examples`, `defer_loading`,
  `allowed_callers`) are dropped with a note (`eager_input_streaming` needs nothing: arguments
  are always streamed as they arrive);
- Anthropic's own tools (web search and fetch, bash, the text editor, memory, code execution...):
  offered as functions where they can be, else dropped with a note, never refused
  (`builtin_tools.py` says how);
- `tool_choice` auto/any/tool/none -> "auto"/"required"/a named function/"none";
  `disable_parallel_tool_use` -> `parallel_tool_calls: false`.
"""

from __future__ import annotations

from typing import Any

from protoshift.translator.anthropic_to_openai.builtin_tools import as_function
from protoshift.translator.checks import want_bool, want_list, want_object, want_str
from protoshift.translator.errors import TranslationError
from protoshift.translator.openai_to_anthropic.context import Context
from protoshift.translator.tables import ANTHROPIC_TOOL_CHOICE_KEYS, ANTHROPIC_TOOL_KEYS, SERVER_TOOLS

_DROPPED_TOOL_FIELDS: dict[str, str] = {
    "cache_control": "OpenAI-compatible servers cache prompt prefixes on their own, without breakpoints",
    "input_examples": "OpenAI function tools take no input examples",
    "defer_loading": "OpenAI has no deferred tool loading: the tool is offered at once",
    "allowed_callers": "OpenAI has no programmatic tool calling",
}
_PLAIN_TOOL_KEYS = frozenset({"name", "description", "input_schema"})


def _anthropic_tool(tool: dict[str, Any], kind: str, path: str, ctx: Context) -> dict[str, Any] | None:
    function, reason = as_function(tool, kind)
    ctx.note(path, "dropped" if function is None else "approximated", reason)
    return function


def translate_tools(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    names: set[str] = set()
    raw = req.get("tools")
    if raw is not None:
        tools: list[dict[str, Any]] = []
        for j, tool in enumerate(want_list(raw, "tools")):
            path = f"tools[{j}]"
            try:
                converted = _tool(tool if type(tool) is dict else want_object(tool, path), path, ctx)
            except TranslationError as exc:
                ctx.failed(exc)
                continue
            if converted is None:
                continue
            names.add(converted["function"]["name"])
            tools.append(converted)
        if tools:
            body["tools"] = tools
    choice = req.get("tool_choice")
    if choice is not None:
        _tool_choice(want_object(choice, "tool_choice"), body, ctx, names, raw is not None)


def _tool(tool: dict[str, Any], path: str, ctx: Context) -> dict[str, Any] | None:
    kind = tool.get("type")
    if kind not in (None, "custom"):
        if isinstance(kind, str) and kind in SERVER_TOOLS:
            return _anthropic_tool(tool, kind, path, ctx)
        raise TranslationError(f"{path}.type", f'expected "custom" (or no type) for a tool, got {kind!r}')
    plain = _PLAIN_TOOL_KEYS.issuperset(tool)
    if not plain and not ANTHROPIC_TOOL_KEYS.issuperset(tool):
        ctx.unknown_keys(tool, ANTHROPIC_TOOL_KEYS, path)
    name = want_str(tool.get("name"), f"{path}.name", nonempty=True)
    function: dict[str, Any] = {"name": name}
    description = tool.get("description")
    if description is not None and want_str(description, f"{path}.description"):
        function["description"] = description
    function["parameters"] = want_object(tool.get("input_schema"), f"{path}.input_schema")
    if not plain:
        strict = tool.get("strict")
        if strict is not None and want_bool(strict, f"{path}.strict"):
            function["strict"] = True
        if tool.get("eager_input_streaming") is not None:
            want_bool(tool["eager_input_streaming"], f"{path}.eager_input_streaming")
        for key, why in _DROPPED_TOOL_FIELDS.items():
            value = tool.get(key)
            if value is not None and value is not False:
                ctx.note(f"{path}.{key}", "dropped", why)
    return {"type": "function", "function": function}


def _tool_choice(choice: dict[str, Any], body: dict[str, Any], ctx: Context, names: set[str], offered: bool) -> None:
    kind = choice.get("type")
    known = ANTHROPIC_TOOL_CHOICE_KEYS.get(kind) if isinstance(kind, str) else None
    if known is None or not isinstance(kind, str):
        raise TranslationError("tool_choice.type", f'expected "auto", "any", "tool" or "none", got {kind!r}')
    if not known.issuperset(choice):
        ctx.unknown_keys(choice, known, "tool_choice")
    if kind in ("any", "tool"):
        _check_forced(body, ctx)
    if "tools" not in body:
        # tools offered but none translated (their problems say why), or auto: nothing to say
        if not offered and kind != "auto":
            ctx.note("tool_choice", "dropped", "the request has no tools to choose from")
        return
    body["tool_choice"] = _openai_choice(kind, choice, names)
    parallel = choice.get("disable_parallel_tool_use")
    if parallel is not None and want_bool(parallel, "tool_choice.disable_parallel_tool_use") and kind != "none":
        body["parallel_tool_calls"] = False


def _check_forced(body: dict[str, Any], ctx: Context) -> None:
    if "tools" not in body:
        raise TranslationError("tool_choice", "asks for a tool call but the request has no tools")
    facts = ctx.facts
    if facts is not None and facts.forced_tool_choice is False:
        raise TranslationError(
            "tool_choice", f"{ctx.model} does not take a forced tool choice; use auto and ask in the prompt"
        )


def _openai_choice(kind: str, choice: dict[str, Any], names: set[str]) -> Any:
    if kind == "tool":
        name = want_str(choice.get("name"), "tool_choice.name", nonempty=True)
        if name not in names:
            raise TranslationError("tool_choice.name", f"no tool named {name!r} in tools")
        return {"type": "function", "function": {"name": name}}
    return {"auto": "auto", "any": "required", "none": "none"}[kind]
