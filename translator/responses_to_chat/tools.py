"""Responses `tools`, `tool_choice` and `parallel_tool_calls` -> chat's.

- `function` -> a chat function (name, description, parameters, strict);
- `custom` (freeform: Codex's `apply_patch`) -> a chat function of one string argument, `input`, whose
  description says it takes raw text (with the grammar, cut at MAX_GRAMMAR_CHARS, when the tool has
  one: a chat upstream cannot hold the model to it, so a note says so); its calls come back as
  `custom_tool_call` items with the raw string (chat_to_responses, through the ToolMap);
- `namespace` -> its functions and custom tools, flattened (toolmap.py: names that map back exactly);
- `web_search` (and `web_search_preview`) -> OpenAI runs it, a chat upstream has none: dropped with a
  note or refused, as the caller's `web_search` policy says ("drop" by default: a coding agent works
  without it); "carry" makes it `web_search_options` (web_search.py), for a chat leg that searches
  (the way to Claude, whose web search tool they become); `tool_search` (Codex's, client-executed: it
  finds deferred MCP tools) likewise under `tool_search` ("drop" by default: the tools sent up front
  stay); every other tool OpenAI runs (file search, code interpreter, computer use, image generation,
  MCP, shells, apply_patch) -> refused, or dropped under `hosted_tools="drop"`;
- `tool_choice` never names a tool that is not sent: `required` with no tool sent and a named tool
  that is not sent are refused; `allowed_tools` sends only the allowed tools (an allowed tool that is
  not sent is left out with a note), with its mode as the choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic_core import from_json, to_json

from protoshift.translator.checks import want_bool, want_list, want_object, want_str
from protoshift.translator.errors import TranslationError
from protoshift.translator.openai_to_anthropic.context import Context
from protoshift.translator.report import Note
from protoshift.translator.responses_to_chat.toolmap import ToolKind, ToolMap, ToolRef
from protoshift.translator.responses_to_chat.web_search import web_search_options
from protoshift.translator.tables import (
    CUSTOM_FORMAT_KEYS,
    CUSTOM_TOOL_ARGUMENT,
    HOSTED_TOOLS,
    MAX_GRAMMAR_CHARS,
    RESPONSES_TOOL_CHOICE_KEYS,
    RESPONSES_TOOL_KEYS,
    TOOL_SEARCH_TOOLS,
    WEB_SEARCH_TOOLS,
)

__all__ = ["Policies", "Policy", "SearchPolicy", "custom_parameters", "translate_tools"]

Policy = Literal["drop", "refuse"]
SearchPolicy = Literal["drop", "refuse", "carry"]  # carry: as web_search_options (the chat leg searches)
_DECLARED: dict[Any, ToolKind] = {"function": "function", "custom": "custom"}  # the tools a chat function stands for

RAW_TEXT = (
    f"This tool takes raw text, not JSON: put the whole text in the `{CUSTOM_TOOL_ARGUMENT}` argument,"
    " exactly as the tool is to receive it."
)


def custom_parameters() -> dict[str, Any]:
    """The chat parameters of a custom tool: one string (a new dict each time: bodies are the caller's)."""
    return {
        "type": "object",
        "properties": {CUSTOM_TOOL_ARGUMENT: {"type": "string", "description": "The raw text input of the tool."}},
        "required": [CUSTOM_TOOL_ARGUMENT],
        "additionalProperties": False,
    }


@dataclass(frozen=True, slots=True)
class Policies:
    """What becomes of the tools a chat upstream does not run: web search, tool search, the rest of
    OpenAI's hosted tools ("drop": a note; "refuse": a problem; web search may be "carry"-ed)."""

    web_search: SearchPolicy = "drop"
    tool_search: Policy = "drop"
    hosted: Policy = "refuse"


def translate_tools(
    req: dict[str, Any],
    body: dict[str, Any],
    ctx: Context,
    tools: ToolMap,
    policies: Policies,
    *,
    plain: bool = False,
) -> None:
    """`plain`: the request passed check_json's fast check (JSON's own types only: as parsed from JSON),
    so that its tools' JSON text stands for them exactly and their translation may be kept and reused."""
    value = req.get("tools")
    sent: list[dict[str, Any]] = []
    if value is not None:
        key = _cache_key(value, policies) if plain else None
        kept = _CACHE.get(key) if key is not None else None
        if kept is not None:
            sent = kept.apply(value, body, ctx, tools)
        else:
            before = len(ctx.problems), len(ctx.notes)
            sent = _translate_list(value, body, ctx, tools, policies)
            if key is not None and len(ctx.problems) == before[0]:
                kept = _Kept.of(value, sent, body, ctx.notes[before[1] :], tools)
                if kept is not None:
                    _keep(key, kept)
    if sent:
        body["tools"] = sent
    try:
        _tool_choice(req.get("tool_choice"), body, ctx, tools)
    except TranslationError as exc:
        ctx.failed(exc)
    parallel = req.get("parallel_tool_calls")
    if parallel is not None and want_bool(parallel, "parallel_tool_calls") is not None and "tools" in body:
        body["parallel_tool_calls"] = parallel  # chat takes it only with tools


def _translate_list(
    value: Any, body: dict[str, Any], ctx: Context, tools: ToolMap, policies: Policies
) -> list[dict[str, Any]]:
    entries = want_list(value, "tools")
    tools.reserve(
        [
            t["name"]
            for t in entries
            if isinstance(t, dict) and t.get("type") != "namespace" and type(t.get("name")) is str
        ]
    )
    sent: list[dict[str, Any]] = []
    for k, entry in enumerate(entries):
        try:
            sent.extend(_tool(entry, f"tools[{k}]", body, ctx, tools, policies))
        except TranslationError as exc:
            ctx.failed(exc)
    return sent


# ---- the translation of a tool list, kept ---------------------------------------------------------
#
# A coding agent sends the same tools on every turn (Codex: a dozen functions, a namespace, apply_patch
# with its grammar): their translation is kept, keyed by their JSON text and the policies, and the next
# request that sends the same text gets it again — the same chat tools (each function dict new, its
# `parameters` the request's own object, as a translation gives them), ToolMap and notes. Only for a
# request check_json found made of JSON's own types (a tuple, a set or a subclass could share its JSON
# text with another value), and only a translation with no problem.

_CACHE_ENTRIES = 32
_CACHE_MAX_KEY = 256 * 1024  # a tool list whose JSON is longer is translated every time
_CACHE: dict[tuple[bytes, Policies], _Kept] = {}


def _cache_key(value: Any, policies: Policies) -> tuple[bytes, Policies] | None:
    try:
        text = to_json(value, inf_nan_mode="constants")
    except Exception:  # what cannot be written is translated anew, and refused there
        return None
    return (text, policies) if len(text) <= _CACHE_MAX_KEY else None


def _keep(key: tuple[bytes, Policies], kept: _Kept) -> None:
    try:  # FIFO: an agent's list is sent again within moments; threads may race here, harmlessly
        while len(_CACHE) >= _CACHE_ENTRIES:
            del _CACHE[next(iter(_CACHE))]
    except (KeyError, RuntimeError, StopIteration):
        pass
    _CACHE[key] = kept


_GIVEN, _EMPTY, _CUSTOM = 0, 1, 2  # where a kept function's parameters come from


@dataclass(frozen=True, slots=True)
class _Kept:
    functions: tuple[tuple[dict[str, Any], int], ...]  # each chat function (parameters None), their source
    notes: tuple[Note, ...]
    search: bytes | None  # the web_search_options the tools made (JSON), if any
    by_chat: dict[str, ToolRef]
    by_ref: dict[tuple[str | None, str], str]
    top: frozenset[str]

    @classmethod
    def of(
        cls, value: list[Any], sent: list[dict[str, Any]], body: dict[str, Any], notes: list[Note], tools: ToolMap
    ) -> _Kept | None:
        given = _given_parameters(value)
        if len(given) != len(sent):
            return None
        functions = []
        for tool, parameters in zip(sent, given, strict=True):
            function = dict(tool["function"])
            if function["name"] in tools.custom:
                source = _CUSTOM
            elif parameters is None:
                source = _EMPTY
            elif function["parameters"] is parameters:
                source = _GIVEN
            else:
                return None
            function["parameters"] = None  # in its place: the keys keep their order
            functions.append((function, source))
        search = to_json(body["web_search_options"]) if "web_search_options" in body else None
        by_chat, by_ref, top = tools.state()
        return cls(tuple(functions), tuple(notes), search, by_chat, by_ref, top)

    def apply(self, value: list[Any], body: dict[str, Any], ctx: Context, tools: ToolMap) -> list[dict[str, Any]]:
        """The kept translation, for `value` (a list of the same JSON text): new dicts, its own parameters."""
        sent = []
        for (template, source), parameters in zip(self.functions, _given_parameters(value), strict=True):
            function = dict(template)
            if source == _GIVEN:
                function["parameters"] = parameters
            elif source == _EMPTY:
                function["parameters"] = {"type": "object", "properties": {}}
            else:
                function["parameters"] = custom_parameters()
            sent.append({"type": "function", "function": function})
        ctx.notes.extend(self.notes)
        if self.search is not None:
            body["web_search_options"] = from_json(self.search)
        tools.restore(self.by_chat, self.by_ref, self.top)
        return sent


def _given_parameters(value: list[Any]) -> list[Any]:
    """The `parameters` of each function and custom tool, in the order they are sent (None: none given)."""
    found: list[Any] = []
    for tool in value:
        kind = tool.get("type")
        if kind == "namespace":
            found.extend(inner.get("parameters") for inner in tool["tools"])
        elif kind in _DECLARED:
            found.append(tool.get("parameters"))
    return found


def _tool(
    value: Any, path: str, body: dict[str, Any], ctx: Context, tools: ToolMap, policies: Policies
) -> list[dict[str, Any]]:
    tool = want_object(value, path)
    kind = tool.get("type")
    declared = _DECLARED.get(kind) if isinstance(kind, str) else None
    if declared is not None:
        return [_declared(tool, declared, path, ctx, tools, None, "")]
    if kind == "namespace":
        return _namespace(tool, path, ctx, tools)
    kind = want_str(kind, f"{path}.type")
    if kind in WEB_SEARCH_TOOLS:
        if policies.web_search == "carry":
            if "web_search_options" in body:
                ctx.note(path, "dropped", "the request has a web search tool already")
            else:
                body["web_search_options"] = web_search_options(tool, path, ctx)
            return []
        _by_policy(path, "OpenAI's hosted web search: a chat upstream has none", "web_search", policies.web_search, ctx)
        return []
    if kind in TOOL_SEARCH_TOOLS:
        reason = "tool search finds deferred tools, and a chat upstream has none: the tools sent up front stay"
        _by_policy(path, reason, "tool_search", policies.tool_search, ctx)
        return []
    if kind in HOSTED_TOOLS:
        reason = f"the {kind} tool runs at OpenAI (or has calls of its own shape): a chat upstream has none"
        _by_policy(path, reason, "hosted_tools", policies.hosted, ctx)
        return []
    raise TranslationError(f"{path}.type", f"unknown tool type {kind!r}")


def _by_policy(path: str, reason: str, name: str, policy: Policy, ctx: Context) -> None:
    if policy == "refuse":
        raise TranslationError(path, f"{reason} ({name} policy: refuse)")
    ctx.note(path, "dropped", f"{reason} ({name} policy: drop)")


def _namespace(tool: dict[str, Any], path: str, ctx: Context, tools: ToolMap) -> list[dict[str, Any]]:
    known = RESPONSES_TOOL_KEYS["namespace"]
    if not known.issuperset(tool):
        ctx.unknown_keys(tool, known, path)
    namespace = want_str(tool.get("name"), f"{path}.name", nonempty=True)
    about = tool.get("description")
    about = want_str(about, f"{path}.description") if about is not None else ""
    out: list[dict[str, Any]] = []
    for j, value in enumerate(want_list(tool.get("tools"), f"{path}.tools")):
        inner_path = f"{path}.tools[{j}]"
        try:
            inner = want_object(value, inner_path)
            kind = inner.get("type")
            declared = _DECLARED.get(kind) if isinstance(kind, str) else None
            if declared is None:
                raise TranslationError(f"{inner_path}.type", "a namespace holds function and custom tools only")
            out.append(_declared(inner, declared, inner_path, ctx, tools, namespace, about))
        except TranslationError as exc:
            ctx.failed(exc)
    return out


def _declared(
    tool: dict[str, Any], kind: ToolKind, path: str, ctx: Context, tools: ToolMap, namespace: str | None, about: str
) -> dict[str, Any]:
    """A function or custom tool (at the top level, or in `namespace`, described by `about`)."""
    known = RESPONSES_TOOL_KEYS[kind]
    if not known.issuperset(tool):
        ctx.unknown_keys(tool, known, path)
    name = want_str(tool.get("name"), f"{path}.name", nonempty=True)
    if tools.get(tools.chat_name(name, namespace)) is not None:
        raise TranslationError(f"{path}.name", f"a second tool named {name!r}")
    description = tool.get("description")
    description = want_str(description, f"{path}.description") if description is not None else ""
    _extras(tool, path, ctx)
    function: dict[str, Any] = {"name": tools.add(ToolRef(name, kind, namespace))}
    if kind == "function":
        if description:
            function["description"] = description
        parameters = tool.get("parameters")
        function["parameters"] = (
            {"type": "object", "properties": {}}
            if parameters is None
            else want_object(parameters, f"{path}.parameters")
        )
        strict = tool.get("strict")
        if strict is not None:
            function["strict"] = want_bool(strict, f"{path}.strict")
        if tool.get("output_schema") is not None:
            want_object(tool["output_schema"], f"{path}.output_schema")
            ctx.note(f"{path}.output_schema", "dropped", "a chat function declares no output schema")
    else:
        description = _custom_description(description, tool.get("format"), path, ctx)
        function["description"] = description
        function["parameters"] = custom_parameters()
    if about and namespace is not None:
        lead = function.get("description", "")
        function["description"] = (
            f"{lead}\n\n(One of the {namespace} tools: {about})" if lead else f"(One of the {namespace} tools: {about})"
        )
    return {"type": "function", "function": function}


def _extras(tool: dict[str, Any], path: str, ctx: Context) -> None:
    loading = tool.get("defer_loading")
    if loading is not None and want_bool(loading, f"{path}.defer_loading"):
        ctx.note(f"{path}.defer_loading", "dropped", "tool search is OpenAI's: the tool is sent with the others")
    callers = tool.get("allowed_callers")
    if callers is not None and set(want_list(callers, f"{path}.allowed_callers")) - {"direct"}:
        ctx.note(f"{path}.allowed_callers", "dropped", "programmatic tool calling has no chat equivalent")


def _custom_description(description: str, fmt: Any, path: str, ctx: Context) -> str:
    text = f"{description}\n\n{RAW_TEXT}" if description else RAW_TEXT
    if fmt is None:
        return text
    spec = want_object(fmt, f"{path}.format")
    kind = spec.get("type")
    known = CUSTOM_FORMAT_KEYS.get(kind) if isinstance(kind, str) else None
    if known is None:
        raise TranslationError(f"{path}.format.type", f'expected "text" or "grammar", got {kind!r}')
    if not known.issuperset(spec):
        ctx.unknown_keys(spec, known, f"{path}.format")
    if kind == "text":
        return text
    syntax = want_str(spec.get("syntax"), f"{path}.format.syntax")
    if syntax not in ("lark", "regex"):
        raise TranslationError(f"{path}.format.syntax", f'expected "lark" or "regex", got {syntax!r}')
    definition = want_str(spec.get("definition"), f"{path}.format.definition")
    reason = "a chat upstream cannot hold the model to a grammar: the grammar is given in the description"
    if len(definition) > MAX_GRAMMAR_CHARS:
        cut = definition.rfind("\n", 0, MAX_GRAMMAR_CHARS)
        definition = definition[: cut if cut > MAX_GRAMMAR_CHARS // 2 else MAX_GRAMMAR_CHARS] + "\n... (cut short)"
        reason += f", cut at {MAX_GRAMMAR_CHARS} characters"
    ctx.note(f"{path}.format", "approximated", reason)
    return f"{text}\n\nThe text must follow this {syntax} grammar:\n{definition}"


# ---- tool_choice ---------------------------------------------------------------------------------


def _tool_choice(value: Any, body: dict[str, Any], ctx: Context, tools: ToolMap) -> None:
    if value is None:
        return
    sent = {tool["function"]["name"] for tool in body.get("tools", ())}
    if isinstance(value, str):
        _choice_option(value, body, sent)
        return
    choice = want_object(value, "tool_choice")
    kind = choice.get("type")
    known = RESPONSES_TOOL_CHOICE_KEYS.get(kind) if isinstance(kind, str) else None
    if known is None:
        if isinstance(kind, str):
            raise TranslationError("tool_choice.type", f"forces the {kind} tool, which a chat upstream does not run")
        raise TranslationError("tool_choice.type", "expected the type of a tool choice")
    if not known.issuperset(choice):
        ctx.unknown_keys(choice, known, "tool_choice")
    declared = _DECLARED.get(kind)
    if declared is None:  # allowed_tools
        _allowed_tools(choice, body, ctx, tools, sent)
        return
    name = want_str(choice.get("name"), "tool_choice.name", nonempty=True)
    chat = _named(name, declared, tools, sent)
    if chat is None:
        raise TranslationError("tool_choice.name", f"names no {kind} tool that is sent: {name!r}")
    body["tool_choice"] = {"type": "function", "function": {"name": chat}}


def _choice_option(value: str, body: dict[str, Any], sent: set[str]) -> None:
    if value not in ("auto", "none", "required"):
        raise TranslationError("tool_choice", f'expected "auto", "none", "required" or an object, got {value!r}')
    if sent:
        body["tool_choice"] = value
    elif value == "required":
        raise TranslationError("tool_choice", "is required, but no tool is sent to the chat upstream")
    # auto or none with no tool sent: chat takes no tool_choice without tools, and none means the same


def _allowed_tools(choice: dict[str, Any], body: dict[str, Any], ctx: Context, tools: ToolMap, sent: set[str]) -> None:
    mode = choice.get("mode")
    if mode not in ("auto", "required"):
        raise TranslationError("tool_choice.mode", f'expected "auto" or "required", got {mode!r}')
    allowed: set[str] = set()
    for j, value in enumerate(want_list(choice.get("tools"), "tool_choice.tools")):
        path = f"tool_choice.tools[{j}]"
        entry = want_object(value, path)
        kind = entry.get("type")
        name = entry.get("name")
        declared = _DECLARED.get(kind) if isinstance(kind, str) else None
        if kind == "namespace":
            namespace = want_str(name, f"{path}.name", nonempty=True)
            found = {chat for chat, ref in tools if ref.namespace == namespace and chat in sent}
        elif declared is not None:
            chat = _named(want_str(name, f"{path}.name", nonempty=True), declared, tools, sent)
            found = {chat} if chat is not None else set()
        else:
            found = set()
        if not found:
            ctx.note(path, "dropped", "allows a tool that is not sent to the chat upstream")
        allowed |= found
    if not allowed:
        if mode == "required":
            raise TranslationError("tool_choice", "requires one of the allowed tools, and none of them is sent")
        body.pop("tools", None)  # the model may call none of the tools: none is sent
        return
    body["tools"] = [tool for tool in body["tools"] if tool["function"]["name"] in allowed]
    body["tool_choice"] = mode


def _named(name: str, kind: ToolKind, tools: ToolMap, sent: set[str]) -> str | None:
    """The chat name of the sent tool of `kind` called `name`: the top-level one, else the only namespaced one."""
    found = [chat for chat in tools.find(name, kind) if chat in sent]
    top = [chat for chat in found if tools.resolve(chat).namespace is None]
    pick = top or found
    return pick[0] if len(pick) == 1 else None
