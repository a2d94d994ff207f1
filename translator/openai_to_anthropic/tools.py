"""`tools`, `functions`, `web_search_options`, `tool_choice`, `function_call`, `parallel_tool_calls`
-> Anthropic `tools` and `tool_choice`.

- function tools become custom tools; `strict` ones get their schema adapted for structured outputs
  (openai_to_anthropic/schema.py), or lose `strict` with a note on a model known to lack them;
- Anthropic's own tool fields (`defer_loading`, `eager_input_streaming`, `input_examples`,
  `allowed_callers`) and `cache_control`, on the tool or inside `function`, are checked and forwarded;
- Anthropic server tools and Anthropic-defined client tools (`web_search_*`, `code_execution_*`,
  `computer_*`, `bash_*`, `text_editor_*`, ...) are checked against their fields and forwarded, with
  the anthropic-beta header the older versions need;
- `web_search_options` becomes the web search server tool;
- a forced tool choice is refused for a model known not to take one.
"""

from __future__ import annotations

import re
from typing import Any

from protoshift.translator.checks import want_bool, want_list, want_object, want_str
from protoshift.translator.errors import TranslationError
from protoshift.translator.openai_to_anthropic.caching import cache_control
from protoshift.translator.openai_to_anthropic.context import Context, child
from protoshift.translator.openai_to_anthropic.schema import adapt_schema
from protoshift.translator.tables import (
    ALLOWED_CALLERS,
    APPROXIMATE_LOCATION_KEYS,
    FUNCTION_KEYS,
    FUNCTION_TOOL_KEYS,
    LEGACY_FUNCTION_KEYS,
    NAMED_TOOL_CHOICE_FUNCTION_KEYS,
    NAMED_TOOL_CHOICE_KEYS,
    SEARCH_CONTEXT_MAX_USES,
    SERVER_TOOLS,
    TOOL_EXTRAS,
    USER_LOCATION_KEYS,
    WEB_SEARCH_OPTIONS_KEYS,
    WEB_SEARCH_TOOL,
)

_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_SERVER_TOOL_TYPE = re.compile(r"^[a-z_]+_\d{8}$")  # an Anthropic tool version, e.g. web_search_20250305
_PLAIN_FUNCTION_KEYS = frozenset({"name", "description", "parameters", "strict"})
_TWICE = "set both on the tool and inside function; the one inside function is sent"


def translate_tools(req: dict[str, Any], body: dict[str, Any], ctx: Context) -> None:
    tools: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool name -> path of the tool that defined it
    if (raw := req.get("tools")) is not None:
        for j, tool in enumerate(want_list(raw, "tools")):
            path = f"tools[{j}]"
            try:
                _add(_tool(tool if type(tool) is dict else want_object(tool, path), path, ctx), path, tools, names, ctx)
            except TranslationError as exc:
                ctx.failed(exc)
    if (legacy := req.get("functions")) is not None:
        _add_functions(legacy, tools, names, ctx)
    if (search := req.get("web_search_options")) is not None:
        _add_web_search(search, tools, names, ctx)
    if tools:
        body["tools"] = tools
    _tool_choice(req, body, ctx, set(names))


def _add_functions(legacy: Any, tools: list[dict[str, Any]], names: dict[str, str], ctx: Context) -> None:
    for j, fn in enumerate(want_list(legacy, "functions")):
        path = f"functions[{j}]"
        try:
            _add(_function(want_object(fn, path), path, ctx, LEGACY_FUNCTION_KEYS), path, tools, names, ctx)
        except TranslationError as exc:
            ctx.failed(exc)


def _add_web_search(search: Any, tools: list[dict[str, Any]], names: dict[str, str], ctx: Context) -> None:
    try:
        web_search = _web_search(search, ctx)
    except TranslationError as exc:
        ctx.failed(exc)
        return
    if "web_search" in names:
        ctx.note("web_search_options", "dropped", f"{names['web_search']} already gives Claude a web_search tool")
    else:
        _add(web_search, "web_search_options", tools, names, ctx)


def _add(
    converted: dict[str, Any], path: str, tools: list[dict[str, Any]], names: dict[str, str], ctx: Context
) -> None:
    """One more tool for the body, unless its name is taken: Anthropic needs unique names."""
    name = converted.get("name")
    if isinstance(name, str):
        if name in names:
            ctx.refuse(
                path, f"a tool named {name!r} is already defined at {names[name]} (Anthropic needs unique names)"
            )
            return
        names[name] = path
    tools.append(converted)


# ---- one tool ------------------------------------------------------------------------------------


def _tool(tool: dict[str, Any], path: str, ctx: Context) -> dict[str, Any]:
    kind = tool.get("type", "function")
    if kind == "function":
        if len(tool) != 2 and not FUNCTION_TOOL_KEYS.issuperset(tool):  # two keys: type and function
            ctx.unknown_keys(tool, FUNCTION_TOOL_KEYS, path)
        converted = _function(
            want_object(tool.get("function"), f"{path}.function"), f"{path}.function", ctx, FUNCTION_KEYS
        )
        if len(tool) > 2:
            _anthropic_fields(tool, path, converted, ctx)
        return converted
    if isinstance(kind, str) and kind in SERVER_TOOLS:
        return _server_tool(tool, kind, path, ctx)
    if isinstance(kind, str) and _SERVER_TOOL_TYPE.match(kind) and isinstance(tool.get("name"), str):
        ctx.note(path, "kept", f"Anthropic tool {kind}: not in protoshift's table of tool versions, sent unchecked")
        return dict(tool)
    raise TranslationError(
        f"{path}.type", f"only function tools and Anthropic tools can be sent to Anthropic, got {kind!r}"
    )


def _function(fn: dict[str, Any], path: str, ctx: Context, known: frozenset[str]) -> dict[str, Any]:
    plain = _PLAIN_FUNCTION_KEYS.issuperset(fn)  # the usual case: nothing else to look at
    if not plain and not known.issuperset(fn):
        ctx.unknown_keys(fn, known, path)
    name = want_str(fn.get("name"), f"{path}.name", nonempty=True)
    if not _TOOL_NAME.match(name):
        raise TranslationError(f"{path}.name", "must be 1-128 letters, digits, underscores or dashes")
    tool: dict[str, Any] = {"name": name}
    description = fn.get("description")
    if description is not None and want_str(description, f"{path}.description"):
        tool["description"] = description
    params = fn.get("parameters")
    if params is None:
        schema: dict[str, Any] = {"type": "object", "properties": {}}
    else:
        schema = want_object(params, f"{path}.parameters")
        if "type" not in schema:
            schema = {"type": "object", **schema}
        elif schema["type"] != "object":
            raise TranslationError(f"{path}.parameters.type", 'Anthropic tool input must be "object"')
    if (strict := fn.get("strict")) is not None and want_bool(strict, f"{path}.strict"):
        schema = _strict(schema, tool, path, ctx)
    tool["input_schema"] = schema
    if not plain and known is FUNCTION_KEYS:
        _anthropic_fields(fn, path, tool, ctx)
    return tool


def _strict(schema: dict[str, Any], tool: dict[str, Any], path: str, ctx: Context) -> dict[str, Any]:
    """A strict function: its schema adapted for structured outputs, or `strict` dropped on a model
    known to lack them."""
    facts = ctx.facts
    if facts is not None and facts.structured_outputs is False:
        ctx.note(f"{path}.strict", "dropped", f"{ctx.model} has no structured outputs: the input is not enforced")
        return schema
    adapted = adapt_schema(schema, f"{path}.parameters", ctx)
    tool["strict"] = True
    return adapted


def _anthropic_fields(source: dict[str, Any], path: str, tool: dict[str, Any], ctx: Context) -> None:
    """Anthropic's own custom-tool fields and `cache_control`, on the OpenAI tool or inside its `function`."""
    _extras(source, path, tool, ctx)
    if source.get("cache_control") is not None:
        _tool_cache_control(tool, source["cache_control"], f"{path}.cache_control", ctx)


def _extras(source: dict[str, Any], path: str, tool: dict[str, Any], ctx: Context) -> None:
    """Anthropic's own custom-tool fields, on the OpenAI tool or inside its `function`."""
    for key in TOOL_EXTRAS:
        value = source.get(key)
        if value is None:
            continue
        field_path = f"{path}.{key}"
        if key in ("defer_loading", "eager_input_streaming"):
            want_bool(value, field_path)
        elif key == "input_examples":
            for k, example in enumerate(want_list(value, field_path)):
                want_object(example, f"{field_path}[{k}]")
        else:  # allowed_callers
            for k, caller in enumerate(want_list(value, field_path)):
                if not isinstance(caller, str) or caller not in ALLOWED_CALLERS:
                    raise TranslationError(
                        f"{field_path}[{k}]", f"expected one of {', '.join(sorted(ALLOWED_CALLERS))}, got {caller!r}"
                    )
        if key in tool:
            ctx.note(field_path, "dropped", _TWICE)
            continue
        tool[key] = value
        ctx.note(field_path, "kept", "Anthropic tool field")


def _tool_cache_control(tool: dict[str, Any], value: Any, path: str, ctx: Context) -> None:
    cc = cache_control(value, path)
    if "cache_control" in tool:
        ctx.note(path, "dropped", _TWICE)
        return
    tool["cache_control"] = cc
    ctx.breakpoints.append((tool, path))
    ctx.note(path, "kept", "Anthropic prompt-caching breakpoint")


def _server_tool(tool: dict[str, Any], kind: str, path: str, ctx: Context) -> dict[str, Any]:
    """An Anthropic tool passed as it is: every field checked against the tool's own, then forwarded."""
    name, keys, beta = SERVER_TOOLS[kind]
    for key in tool:
        if key not in keys:
            raise TranslationError(child(path, str(key)), f"not a field of Anthropic's {kind} tool")
    if name is not None and tool.get("name") != name:
        raise TranslationError(f"{path}.name", f'must be "{name}" for {kind}')
    converted = dict(tool)
    if tool.get("cache_control") is not None:
        converted["cache_control"] = cache_control(tool["cache_control"], f"{path}.cache_control")
        ctx.breakpoints.append((converted, f"{path}.cache_control"))
    if beta is not None:
        ctx.beta(beta)
        ctx.note(path, "kept", f"Anthropic tool {kind}, sent with anthropic-beta: {beta}")
    else:
        ctx.note(path, "kept", f"Anthropic tool {kind}")
    return converted


def _web_search(value: Any, ctx: Context) -> dict[str, Any]:
    """OpenAI's web_search_options -> Anthropic's web search server tool."""
    options = want_object(value, "web_search_options")
    if not WEB_SEARCH_OPTIONS_KEYS.issuperset(options):
        ctx.unknown_keys(options, WEB_SEARCH_OPTIONS_KEYS, "web_search_options")
    tool: dict[str, Any] = {"type": WEB_SEARCH_TOOL, "name": "web_search"}
    size = options.get("search_context_size")
    if size is not None:
        tool["max_uses"] = _max_uses(size, ctx)
    location = options.get("user_location")
    if location is not None:
        tool["user_location"] = _user_location(location, "web_search_options.user_location", ctx)
    return tool


def _max_uses(size: Any, ctx: Context) -> int:
    """search_context_size -> the most searches Claude may run (Anthropic's web search has no context size)."""
    if not isinstance(size, str) or size not in SEARCH_CONTEXT_MAX_USES:
        raise TranslationError("web_search_options.search_context_size", 'expected "low", "medium" or "high"')
    max_uses = SEARCH_CONTEXT_MAX_USES[size]
    ctx.note(
        "web_search_options.search_context_size",
        "approximated",
        f"Anthropic's web search has no context size; {size} sent as at most {max_uses} searches",
    )
    return max_uses


def _user_location(value: Any, path: str, ctx: Context) -> dict[str, Any]:
    location = want_object(value, path)
    if not USER_LOCATION_KEYS.issuperset(location):
        ctx.unknown_keys(location, USER_LOCATION_KEYS, path)
    if location.get("type", "approximate") != "approximate":
        raise TranslationError(f"{path}.type", 'expected "approximate"')
    where: dict[str, Any] = {"type": "approximate"}
    approximate = location.get("approximate")
    if approximate is not None:
        approximate = want_object(approximate, f"{path}.approximate")
        if not APPROXIMATE_LOCATION_KEYS.issuperset(approximate):
            ctx.unknown_keys(approximate, APPROXIMATE_LOCATION_KEYS, f"{path}.approximate")
        for key in ("city", "region", "country", "timezone"):
            if (part := approximate.get(key)) is not None:
                where[key] = want_str(part, f"{path}.approximate.{key}")
    return where


# ---- tool_choice ---------------------------------------------------------------------------------


def _tool_choice(req: dict[str, Any], body: dict[str, Any], ctx: Context, names: set[str]) -> None:
    choice_path = "tool_choice"
    choice = req.get("tool_choice")
    if choice is None and req.get("function_call") is not None:
        choice_path, choice = "function_call", _legacy_choice(req["function_call"])
    elif choice is not None and req.get("function_call") is not None:
        ctx.note("function_call", "dropped", "tool_choice takes precedence")
    parallel = req.get("parallel_tool_calls")
    if parallel is not None:
        want_bool(parallel, "parallel_tool_calls")
        unsent = _parallel_unsent(parallel, choice, has_tools="tools" in body)
        if unsent is not None:  # --explain says so, rather than "mapped"
            ctx.note("parallel_tool_calls", "defaulted", f"nothing sent: {unsent}")

    if "tools" not in body:
        if choice not in (None, "none", "auto"):
            raise TranslationError(choice_path, "names a tool choice but the request has no tools")
        _declare_tools_of_history(body, ctx)
        return
    anthropic_choice = _anthropic_choice(choice, choice_path, names, ctx) if choice is not None else None
    if parallel is False:
        anthropic_choice = _one_call_at_a_time(anthropic_choice)
    if anthropic_choice is not None:
        facts = ctx.facts
        if anthropic_choice["type"] in ("any", "tool") and facts is not None and facts.forced_tool_choice is False:
            raise TranslationError(
                choice_path,
                f"{ctx.model} does not take a forced tool choice; use auto and ask for the tool in the prompt",
            )
        body["tool_choice"] = anthropic_choice


def _parallel_unsent(parallel: bool, choice: Any, *, has_tools: bool) -> str | None:
    """Why parallel_tool_calls sends nothing (None: it becomes disable_parallel_tool_use)."""
    if parallel:
        return "parallel calls are Anthropic's default"
    if not has_tools:
        return "the request offers no tools"
    if choice == "none":
        return "tool_choice none calls no tool"
    return None


def _one_call_at_a_time(choice: dict[str, Any] | None) -> dict[str, Any]:
    """parallel_tool_calls false: Anthropic's disable_parallel_tool_use, on the choice (auto if none)."""
    if choice is None:
        choice = {"type": "auto"}
    if choice["type"] != "none":
        choice["disable_parallel_tool_use"] = True
    return choice


def _declare_tools_of_history(body: dict[str, Any], ctx: Context) -> None:
    """Anthropic refuses tool_use blocks in a request that defines no tools; OpenAI does not. The
    tools the history used are declared (any input) and forbidden, as the caller offered none."""
    used: dict[str, None] = {}
    for turn in body["messages"]:
        if turn["role"] == "assistant":
            for block in turn["content"]:
                if block["type"] == "tool_use":
                    used[block["name"]] = None
    if not used:
        return
    body["tools"] = [{"name": name, "input_schema": {"type": "object"}} for name in used]
    body["tool_choice"] = {"type": "none"}
    ctx.note(
        "tools",
        "defaulted",
        f"declared {', '.join(used)} (used earlier) with tool_choice none: Anthropic needs tools for tool blocks",
    )


def _anthropic_choice(choice: Any, path: str, names: set[str], ctx: Context) -> dict[str, Any]:
    match choice:
        case "auto":
            return {"type": "auto"}
        case "none":
            return {"type": "none"}
        case "required":
            return {"type": "any"}
        case {"type": "function", "function": {"name": str(name)}}:
            if not NAMED_TOOL_CHOICE_KEYS.issuperset(choice):
                ctx.unknown_keys(choice, NAMED_TOOL_CHOICE_KEYS, path)
            if not NAMED_TOOL_CHOICE_FUNCTION_KEYS.issuperset(choice["function"]):
                ctx.unknown_keys(choice["function"], NAMED_TOOL_CHOICE_FUNCTION_KEYS, f"{path}.function")
            if name not in names:
                raise TranslationError(f"{path}.function.name", f"no tool named {name!r} in tools")
            return {"type": "tool", "name": name}
        case {"type": "allowed_tools"}:
            raise TranslationError(f"{path}.type", "allowed_tools has no Anthropic equivalent; list only those tools")
        case _:
            raise TranslationError(
                path, 'expected "auto", "none", "required" or {"type": "function", "function": {"name": ...}}'
            )


def _legacy_choice(value: Any) -> Any:
    """functions-era function_call -> the tool_choice it stands for."""
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return {"type": "function", "function": {"name": value["name"]}}
    return value
