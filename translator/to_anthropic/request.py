"""OpenAI Chat Completions request -> Anthropic Messages request body.

One pass over plain dicts: validating and translating together keeps a translation in the
microseconds (a pydantic model of the whole OpenAI request would cost more than the work).
Every field the caller sent ends up mapped, kept, dropped with a note, or refused with a
TranslationError naming its JSON path.
"""

from __future__ import annotations

import re
from typing import Any

from protoshift.translator.checks import (
    check_json,
    want_bool,
    want_int,
    want_list,
    want_number,
    want_object,
    want_str,
)
from protoshift.translator.errors import TranslationError
from protoshift.translator.report import LOSSY_ACTIONS, Note, RequestTranslation
from protoshift.translator.tables import (
    ANTHROPIC_EXTRAS,
    DEFAULT_MAX_TOKENS,
    DROPPED_FIELDS,
    JSON_OBJECT_INSTRUCTION,
    MAPPED_FIELDS,
    MIN_THINKING_BUDGET,
    REJECTED_FIELDS,
    THINKING_BUDGETS,
    THINKING_FIELDS,
)
from protoshift.translator.to_anthropic.messages import MessageConverter, cache_control

_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_SERVER_TOOL_TYPE = re.compile(r"^[a-z_]+_\d{8}$")  # Anthropic server tools, e.g. web_search_20250305


def translate_request(
    request: Any, *, default_max_tokens: int = DEFAULT_MAX_TOKENS, strict: bool = False
) -> RequestTranslation:
    """Translate an OpenAI Chat Completions request into an Anthropic Messages request.

    Raises TranslationError (with the JSON path and a one-line reason) for input that is invalid
    or whose loss would change what the caller gets. With `strict=True`, anything that would be
    dropped or approximated is refused too.
    """
    req = want_object(request, "$")
    check_json(req)  # lone surrogates, NaN, huge integers, deep nesting: refused with their path
    notes: list[Note] = []
    model = want_str(req.get("model"), "model", nonempty=True) if "model" in req else None
    if model is None:
        raise TranslationError("model", "is required")
    if req.get("messages") is None:
        raise TranslationError("messages", "is required")
    messages = want_list(req["messages"], "messages")
    if not messages:
        raise TranslationError("messages", "must contain at least one message")
    system, turns = MessageConverter(notes).convert(messages)

    body: dict[str, Any] = {"model": model, "max_tokens": 0}
    if system:
        body["system"] = system
    body["messages"] = turns
    result = RequestTranslation(body, notes)

    _max_tokens(req, body, notes, default_max_tokens)
    _rejected_fields(req)
    _sampling(req, body, notes)
    _stop(req, body, notes)
    _user(req, body, notes)
    _stream(req, body, result)
    if _response_format(req, body, notes):
        system.append({"type": "text", "text": JSON_OBJECT_INSTRUCTION})
    _tools(req, body, notes)
    _thinking(req, body, notes)
    _other_fields(req, body, notes)
    if system and "system" not in body:
        body["system"] = system
    if strict:
        _refuse_lossy(notes)
    return result


def _max_tokens(req: dict[str, Any], body: dict[str, Any], notes: list[Note], default: int) -> None:
    completion = req.get("max_completion_tokens")
    legacy = req.get("max_tokens")
    if completion is not None:
        body["max_tokens"] = want_int(completion, "max_completion_tokens", minimum=1)
        if legacy is not None and want_int(legacy, "max_tokens", minimum=1) != body["max_tokens"]:
            notes.append(Note("max_tokens", "dropped", "max_completion_tokens takes precedence"))
    elif legacy is not None:
        body["max_tokens"] = want_int(legacy, "max_tokens", minimum=1)
    else:
        body["max_tokens"] = default
        notes.append(Note("max_tokens", "defaulted", f"Anthropic requires a limit; used {default}"))


def _rejected_fields(req: dict[str, Any]) -> None:
    """Fields whose loss would change what the caller gets back."""
    if (n := req.get("n")) is not None and want_int(n, "n", minimum=1) > 1:
        raise TranslationError("n", REJECTED_FIELDS["n"])
    if (logprobs := req.get("logprobs")) is not None and want_bool(logprobs, "logprobs"):
        raise TranslationError("logprobs", REJECTED_FIELDS["logprobs"])
    if (top := req.get("top_logprobs")) is not None and want_int(top, "top_logprobs", minimum=0) > 0:
        raise TranslationError("top_logprobs", REJECTED_FIELDS["top_logprobs"])
    if req.get("audio") is not None:
        raise TranslationError("audio", REJECTED_FIELDS["audio"])
    if (modalities := req.get("modalities")) is not None:
        for k, modality in enumerate(want_list(modalities, "modalities")):
            if modality != "text":
                raise TranslationError(f"modalities[{k}]", REJECTED_FIELDS["modalities"])
    if req.get("web_search_options") is not None:
        raise TranslationError("web_search_options", REJECTED_FIELDS["web_search_options"])


def _sampling(req: dict[str, Any], body: dict[str, Any], notes: list[Note]) -> None:
    if (temperature := req.get("temperature")) is not None:
        value = want_number(temperature, "temperature", 0, 2)
        if value > 1:
            notes.append(Note("temperature", "approximated", f"Anthropic's range is 0-1; {value} clamped to 1"))
            value = 1
        body["temperature"] = value
    if (top_p := req.get("top_p")) is not None:
        value = want_number(top_p, "top_p", 0, 1)
        if value < 1:  # 1 is the default: sending it only risks "temperature and top_p" conflicts
            body["top_p"] = value


def _stop(req: dict[str, Any], body: dict[str, Any], notes: list[Note]) -> None:
    stop = req.get("stop")
    if stop is None:
        return
    entries = [stop] if isinstance(stop, str) else want_list(stop, "stop")
    sequences: list[str] = []
    for k, entry in enumerate(entries):
        path = "stop" if isinstance(stop, str) else f"stop[{k}]"
        text = want_str(entry, path)
        if not text.strip():
            notes.append(Note(path, "dropped", "Anthropic rejects empty or whitespace-only stop sequences"))
        else:
            sequences.append(text)
    if sequences:
        body["stop_sequences"] = sequences


def _user(req: dict[str, Any], body: dict[str, Any], notes: list[Note]) -> None:
    user = req.get("user")
    safety = req.get("safety_identifier")
    if safety is not None:
        user_id = want_str(safety, "safety_identifier")
        if user is not None:
            notes.append(Note("user", "dropped", "safety_identifier takes precedence as metadata.user_id"))
    elif user is not None:
        user_id = want_str(user, "user")
    else:
        return
    if user_id:
        body["metadata"] = {"user_id": user_id}


def _stream(req: dict[str, Any], body: dict[str, Any], result: RequestTranslation) -> None:
    stream = req.get("stream")
    if stream is None or not want_bool(stream, "stream"):
        return
    body["stream"] = True
    options = req.get("stream_options")
    if options is not None:
        include = want_object(options, "stream_options").get("include_usage")
        result.include_usage = include is not None and want_bool(include, "stream_options.include_usage")


def _response_format(req: dict[str, Any], body: dict[str, Any], notes: list[Note]) -> bool:
    """json_schema -> structured outputs (`output_config.format`); json_object -> an instruction.

    Returns True when the JSON-object instruction must be added to the system prompt.
    """
    value = req.get("response_format")
    if value is None:
        return False
    fmt = want_object(value, "response_format")
    kind = fmt.get("type")
    if kind == "text":
        return False
    if kind == "json_object":
        notes.append(
            Note(
                "response_format",
                "approximated",
                "Anthropic has no schema-less JSON mode; asked for JSON in the system prompt",
            )
        )
        return True
    if kind == "json_schema":
        spec = want_object(fmt.get("json_schema"), "response_format.json_schema")
        schema = want_object(spec.get("schema"), "response_format.json_schema.schema")
        body["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
        if spec.get("description"):
            notes.append(
                Note(
                    "response_format.json_schema.description",
                    "dropped",
                    "Anthropic structured outputs take the schema only",
                )
            )
        return False
    raise TranslationError("response_format.type", f'expected "text", "json_object" or "json_schema", got {kind!r}')


def _tools(req: dict[str, Any], body: dict[str, Any], notes: list[Note]) -> None:
    tools: list[dict[str, Any]] = []
    names: set[str] = set()
    if (raw := req.get("tools")) is not None:
        for j, tool in enumerate(want_list(raw, "tools")):
            converted = _tool(want_object(tool, f"tools[{j}]"), f"tools[{j}]", notes)
            names.add(converted["name"])
            tools.append(converted)
    if (legacy := req.get("functions")) is not None:
        for j, fn in enumerate(want_list(legacy, "functions")):
            converted = _function(want_object(fn, f"functions[{j}]"), f"functions[{j}]")
            names.add(converted["name"])
            tools.append(converted)
    if tools:
        body["tools"] = tools

    choice_path = "tool_choice"
    choice = req.get("tool_choice")
    if choice is None and req.get("function_call") is not None:
        choice_path, choice = "function_call", _legacy_choice(req["function_call"])
    elif choice is not None and req.get("function_call") is not None:
        notes.append(Note("function_call", "dropped", "tool_choice takes precedence"))
    parallel = req.get("parallel_tool_calls")
    if parallel is not None:
        want_bool(parallel, "parallel_tool_calls")

    if not tools:
        if choice not in (None, "none", "auto"):
            raise TranslationError(choice_path, "names a tool choice but the request has no tools")
        _declare_tools_of_history(body, notes)
        return
    anthropic_choice = _tool_choice(choice, choice_path, names) if choice is not None else None
    if parallel is False:
        if anthropic_choice is None:
            anthropic_choice = {"type": "auto"}
        if anthropic_choice["type"] != "none":
            anthropic_choice["disable_parallel_tool_use"] = True
    if anthropic_choice is not None:
        body["tool_choice"] = anthropic_choice


def _declare_tools_of_history(body: dict[str, Any], notes: list[Note]) -> None:
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
    notes.append(
        Note(
            "tools",
            "defaulted",
            f"declared {', '.join(used)} (used earlier) with tool_choice none: Anthropic needs tools for tool blocks",
        )
    )


def _tool(tool: dict[str, Any], path: str, notes: list[Note]) -> dict[str, Any]:
    kind = tool.get("type", "function")
    if kind != "function":
        if isinstance(kind, str) and _SERVER_TOOL_TYPE.match(kind) and isinstance(tool.get("name"), str):
            notes.append(Note(path, "kept", f"Anthropic server tool {kind}"))
            return tool
        raise TranslationError(f"{path}.type", f"only function tools can be sent to Anthropic, got {kind!r}")
    converted = _function(want_object(tool.get("function"), f"{path}.function"), f"{path}.function")
    if tool.get("cache_control") is not None:
        converted["cache_control"] = cache_control(tool["cache_control"], f"{path}.cache_control")
        notes.append(Note(f"{path}.cache_control", "kept", "Anthropic prompt-caching breakpoint"))
    return converted


def _function(fn: dict[str, Any], path: str) -> dict[str, Any]:
    name = want_str(fn.get("name"), f"{path}.name", nonempty=True)
    if not _TOOL_NAME.match(name):
        raise TranslationError(f"{path}.name", "must be 1-128 letters, digits, underscores or dashes")
    tool: dict[str, Any] = {"name": name}
    description = fn.get("description")
    if description is not None and want_str(description, f"{path}.description"):
        tool["description"] = description
    params = fn.get("parameters")
    if params is None:
        tool["input_schema"] = {"type": "object", "properties": {}}
    else:
        schema = want_object(params, f"{path}.parameters")
        if "type" not in schema:
            schema = {"type": "object", **schema}
        elif schema["type"] != "object":
            raise TranslationError(f"{path}.parameters.type", 'Anthropic tool input must be "object"')
        tool["input_schema"] = schema
    if (strict := fn.get("strict")) is not None and want_bool(strict, f"{path}.strict"):
        tool["strict"] = True
    return tool


def _tool_choice(choice: Any, path: str, names: set[str]) -> dict[str, Any]:
    match choice:
        case "auto":
            return {"type": "auto"}
        case "none":
            return {"type": "none"}
        case "required":
            return {"type": "any"}
        case {"type": "function", "function": {"name": str(name)}}:
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


def _thinking(req: dict[str, Any], body: dict[str, Any], notes: list[Note]) -> None:
    thinking = req.get("thinking")
    effort = req.get("reasoning_effort")
    if thinking is not None:
        config = want_object(thinking, "thinking")
        if not isinstance(config.get("type"), str) or config["type"] not in THINKING_FIELDS:
            raise TranslationError("thinking.type", 'expected "enabled", "disabled" or "adaptive"')
        for key in config:
            if key not in THINKING_FIELDS[config["type"]]:
                raise TranslationError(f"thinking.{key}", f"not a field of {config['type']} thinking")
        if config.get("display") not in (None, "summarized", "omitted"):
            raise TranslationError("thinking.display", 'expected "summarized" or "omitted"')
        notes.append(Note("thinking", "kept", "Anthropic extended-thinking setting"))
        if effort is not None:
            notes.append(Note("reasoning_effort", "dropped", "thinking takes precedence"))
        body["thinking"] = config
        if config["type"] == "enabled":
            budget = want_int(config.get("budget_tokens"), "thinking.budget_tokens", minimum=MIN_THINKING_BUDGET)
            _fit_budget(body, budget, notes)
            _drop_for_thinking(body, notes)
        elif config["type"] == "adaptive":
            _drop_for_thinking(body, notes)
        return
    if effort is None:
        return
    level = want_str(effort, "reasoning_effort")
    if level == "none":
        return
    budget_for = THINKING_BUDGETS.get(level)
    if budget_for is None:
        raise TranslationError(
            "reasoning_effort", f"expected one of none, {', '.join(THINKING_BUDGETS)}; got {level!r}"
        )
    body["thinking"] = {"type": "enabled", "budget_tokens": budget_for}
    _fit_budget(body, budget_for, notes)
    _drop_for_thinking(body, notes)


def _fit_budget(body: dict[str, Any], budget: int, notes: list[Note]) -> None:
    """Anthropic needs budget_tokens < max_tokens; keep the caller's answer room on top of the budget."""
    for k, note in enumerate(notes):
        if note.path == "max_tokens" and note.action == "defaulted":  # the caller set no limit
            body["max_tokens"] += budget
            notes[k] = Note(
                "max_tokens",
                "defaulted",
                f"Anthropic requires a limit; used {body['max_tokens']} (thinking budget included)",
            )
            return
    if body["max_tokens"] <= budget:
        raised = budget + body["max_tokens"]
        notes.append(
            Note(
                "max_tokens",
                "approximated",
                f"raised from {body['max_tokens']} to {raised} to fit a thinking budget of {budget}",
            )
        )
        body["max_tokens"] = raised


def _drop_for_thinking(body: dict[str, Any], notes: list[Note]) -> None:
    """Extended thinking refuses sampling changes and forced tool use."""
    if "temperature" in body and body["temperature"] != 1:
        notes.append(Note("temperature", "dropped", "Anthropic extended thinking runs at temperature 1"))
        del body["temperature"]
    if "top_p" in body and body["top_p"] < 0.95:
        notes.append(Note("top_p", "dropped", "Anthropic extended thinking needs top_p of at least 0.95"))
        del body["top_p"]
    choice = body.get("tool_choice")
    if choice is not None and choice["type"] in ("any", "tool"):
        raise TranslationError(
            "tool_choice", "a forced tool call cannot be combined with reasoning (extended thinking)"
        )


def _other_fields(req: dict[str, Any], body: dict[str, Any], notes: list[Note]) -> None:
    for key, value in req.items():
        if key in MAPPED_FIELDS or key in REJECTED_FIELDS or value is None:
            continue
        if key in ANTHROPIC_EXTRAS:
            if key == "top_k":
                top_k = want_int(value, "top_k", minimum=0)
                if body.get("thinking", {}).get("type", "disabled") != "disabled":
                    notes.append(Note("top_k", "dropped", "Anthropic extended thinking does not take top_k"))
                else:
                    body["top_k"] = top_k
                    notes.append(Note("top_k", "kept", "Anthropic sampling parameter"))
            elif key == "cache_control":
                body["cache_control"] = cache_control(value, "cache_control")
                notes.append(Note("cache_control", "kept", "Anthropic automatic prompt caching"))
            # thinking is handled with reasoning_effort
        elif key in DROPPED_FIELDS:
            notes.append(Note(key, "dropped", DROPPED_FIELDS[key]))
        else:
            notes.append(Note(key, "dropped", "unknown field, not sent"))


def _refuse_lossy(notes: list[Note]) -> None:
    for note in notes:
        if note.action in LOSSY_ACTIONS:
            raise TranslationError(note.path, f"would be {note.action} ({note.reason}); refused in strict mode")
