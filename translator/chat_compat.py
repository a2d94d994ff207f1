"""What to change in a Chat Completions body for an OpenAI-compatible model that refuses part of it.

The upstreams behind the Chat Completions API (Ollama, vLLM, llama.cpp, LM Studio, OpenRouter,
OpenAI) differ in what they take, and most of their models are in no table. A body translated from
Anthropic Messages or OpenAI Responses is therefore fitted in two ways, both here:

- `fit_to_model`: what the model table says (built in, config, or learned by this process): fields it
  `refuses` left out (`max_tokens` <-> `max_completion_tokens` renamed instead), the system prompt
  moved into the first user turn for a model whose template has no system role (`system = "none"`).
- `adapt_to_chat_refusal`: for a model the table does not know, the upstream's 400 is read, the body
  fixed and sent once more, and the fact learned (`Adaptation.facts`, cells of the table, kept for
  (backend, model) for the life of the process; the note says the config line that makes it
  right the first time). What is read: reasoning the model does not do (Ollama: `"<model>" does not
  support thinking`), a field the upstream does not take or finds too long (`user`, `stream_options`,
  `parallel_tool_calls`...), a system message not at the start (Qwen, Llama chat templates: `System
  message must be at the beginning`) or at all (Gemma: `System role not supported`), tools' `strict`,
  function descriptions too long, prompt + max_tokens over the model's context (vLLM).

Pure: bodies, the refusal's message and notes in and out. The Anthropic direction's counterpart is
`openai_to_anthropic/compat.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from protoshift.translator.models import ModelFacts
from protoshift.translator.openai_to_anthropic.compat import Adaptation
from protoshift.translator.report import Action, Note

__all__ = ["CHAT_ADAPTATIONS", "adapt_to_chat_refusal", "fit_to_model", "origins_for"]

Noter = Callable[[str, Action, str], None]

# Optional fields of a chat body that some upstream refuses: what is dropped when one is named.
_DROPPABLE = (
    "user", "stream_options", "parallel_tool_calls", "reasoning_effort", "metadata", "store", "service_tier",
    "prompt_cache_key", "safety_identifier", "seed", "stop", "logprobs", "top_logprobs", "verbosity",
    "web_search_options", "response_format", "temperature", "top_p", "presence_penalty", "frequency_penalty",
)  # fmt: skip
_RENAMED = {"max_tokens": "max_completion_tokens", "max_completion_tokens": "max_tokens"}
_TOOL_STRICT = "tools.strict"
_REASONING = ("reasoning_effort", "reasoning")
_SYSTEM_ROLES = ("system", "developer")

# The most resends one call makes: one per kind of refusal an upstream answers one at a time.
CHAT_ADAPTATIONS = 6

# Where each chat field came from in the client's request, per client API: the path a note names.
_ORIGINS: Mapping[str, Mapping[str, str]] = {
    "messages": {
        "user": "metadata.user_id", "parallel_tool_calls": "tool_choice.disable_parallel_tool_use",
        "reasoning_effort": "thinking", "stream_options": "stream", "max_completion_tokens": "max_tokens",
        "response_format": "output_config.format", "stop": "stop_sequences", _TOOL_STRICT: "tools",
        "messages": "system",
    },
    "responses": {
        "user": "safety_identifier", "reasoning_effort": "reasoning.effort", "stream_options": "stream",
        "max_tokens": "max_output_tokens", "max_completion_tokens": "max_output_tokens",
        "response_format": "text.format", _TOOL_STRICT: "tools", "messages": "instructions",
    },
}  # fmt: skip


def origins_for(api: str) -> Mapping[str, str]:
    """Chat field -> the client's field it was translated from (`messages`, `responses`)."""
    return _ORIGINS.get(api, {})


def _hint(model: Any, line: str) -> str:
    return f' (learned for this run; add [models."{model}"] {line} to the config file to send it right the first time)'


# ---- what the table says ------------------------------------------------------------------------


def fit_to_model(body: dict[str, Any], facts: ModelFacts | None, note: Noter, origins: Mapping[str, str]) -> None:
    """`body` fitted to what the table knows of its model (in place); each change noted."""
    if facts is None:
        return
    model = body.get("model")
    for name in facts.refuses or ():
        if name == _TOOL_STRICT:
            if _drop_tool_strict(body):
                note(origins.get(name, "tools"), "dropped", f"{model} takes no strict tools (model table)")
        elif name in _RENAMED and name in body:
            body[_RENAMED[name]] = body.pop(name)
        elif name in body:
            del body[name]
            note(origins.get(name, name), "dropped", f"{model} does not take {name} (model table)")
    if facts.system == "none" and _fold_system(body["messages"]):
        note(origins.get("messages", "messages"), "approximated", _NO_SYSTEM_ROLE.format(model=model))
    if facts.tool_description_max is not None and (cut := _cut_descriptions(body, facts.tool_description_max)):
        note(origins.get(_TOOL_STRICT, "tools"), "approximated", cut)


_NO_SYSTEM_ROLE = "{model}'s chat template has no system role: the system prompt went first in the first user turn"


def _cut_descriptions(body: dict[str, Any], limit: int) -> str:
    """Function descriptions longer than `limit` cut to it (in place); what was cut, in words, or ""."""
    cut = []
    for k, tool in enumerate(body.get("tools") or ()):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict):
            continue
        description = function.get("description")
        if isinstance(description, str) and len(description) > limit:
            function["description"] = description[:limit]
            cut.append(str(k))
    if not cut:
        return ""
    return f"{body.get('model')} takes function descriptions of at most {limit} characters: tools {', '.join(cut)} cut to it"


def _drop_tool_strict(body: dict[str, Any]) -> bool:
    dropped = False
    for tool in body.get("tools") or ():
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and "strict" in function:
            del function["strict"]
            dropped = True
    return dropped


def _fold_system(messages: list[dict[str, Any]]) -> bool:
    """The system messages' text put first in the first user message (after them, or a new one)."""
    texts = [_text_of(m.get("content")) for m in messages if m.get("role") in _SYSTEM_ROLES]
    if not texts:
        return False
    messages[:] = [m for m in messages if m.get("role") not in _SYSTEM_ROLES]
    prompt = "\n\n".join(text for text in texts if text)
    first = next((m for m in messages if m.get("role") == "user"), None)
    if first is None:
        messages.insert(0, {"role": "user", "content": prompt})
    elif isinstance(first.get("content"), str):
        first["content"] = f"{prompt}\n\n{first['content']}"
    else:
        first["content"] = [{"type": "text", "text": prompt}, *(first.get("content") or ())]
    return True


def _remind_later_system(messages: list[dict[str, Any]]) -> bool:
    """Every system message after the first non-system one becomes a `<system-reminder>`: at the end of
    the user turn it follows, or first in the user turn after the assistant's (past the tool results
    answering its calls): turns keep alternating, as the strict templates ask."""
    start = next((k for k, m in enumerate(messages) if m.get("role") not in _SYSTEM_ROLES), len(messages))
    if not any(m.get("role") in _SYSTEM_ROLES for m in messages[start:]):
        return False
    out = messages[:start]
    pending: list[dict[str, Any]] = []
    for message in messages[start:]:
        role = message.get("role")
        if role in _SYSTEM_ROLES:
            reminder = {
                "type": "text",
                "text": f"<system-reminder>\n{_text_of(message.get('content'))}\n</system-reminder>",
            }
            if out and out[-1].get("role") == "user":
                out[-1] = {**out[-1], "content": [*_parts(out[-1].get("content")), reminder]}
            else:
                pending.append(reminder)
            continue
        if pending and role == "user":
            out.append({**message, "content": [*pending, *_parts(message.get("content"))]})
            pending = []
            continue
        if pending and role != "tool":
            out.append({"role": "user", "content": pending})
            pending = []
        out.append(message)
    if pending:
        out.append({"role": "user", "content": pending})
    messages[:] = out
    return True


def _parts(content: Any) -> list[Any]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content or ())


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else ()
    return "\n\n".join(p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str))


# ---- what a refusal says --------------------------------------------------------------------------


def adapt_to_chat_refusal(body: dict[str, Any], message: str, origins: Mapping[str, str]) -> Adaptation | None:
    """The body to send instead of `body`, which an OpenAI-compatible model refused with `message`;
    None when the refusal names nothing this can leave out or reshape."""
    text = message.lower()
    model = body.get("model")
    steps = (
        _system_refused,
        _reasoning_refused,
        _context_too_small,
        _descriptions_too_long,
        _tool_strict_refused,
        _field_refused,
    )
    for step in steps:
        adapted = step(body, text, model, origins)
        if adapted is not None:
            return adapted
    return None


_SYSTEM_AT_START = re.compile(
    r"system (message|prompt|role)s? (must|should|can only|is only allowed).*(begin|first|start)"
)
_NO_SYSTEM = re.compile(r"system (role|message)s? (is |are )?(not supported|not allowed|unsupported)")


def _system_refused(body: dict[str, Any], text: str, model: Any, origins: Mapping[str, str]) -> Adaptation | None:
    if "system" not in text:
        return None
    messages = [dict(m) for m in body.get("messages") or ()]
    path = origins.get("messages", "messages")
    if _NO_SYSTEM.search(text) and _fold_system(messages):
        note = Note(path, "approximated", _NO_SYSTEM_ROLE.format(model=model) + _hint(model, 'system = "none"'))
        return Adaptation({**body, "messages": messages}, [note], {"system": "none"})
    if _SYSTEM_AT_START.search(text) and _remind_later_system(messages):
        reason = "a system message after the start went as a <system-reminder> in the user's turn"
        note = Note(path, "approximated", f"{model} takes a system message only first: {reason}")
        return Adaptation({**body, "messages": messages}, [note], {"system": "first"})
    return None


def _reasoning_refused(body: dict[str, Any], text: str, model: Any, origins: Mapping[str, str]) -> Adaptation | None:
    sent = [key for key in _REASONING if key in body]
    if not sent or not ("thinking" in text or "reasoning" in text):
        return None
    reason = f"{model} does not reason: sent again without it" + _hint(model, 'thinking = "none"')
    notes = [Note(origins.get(key, key), "dropped", reason) for key in sent]
    return Adaptation({k: v for k, v in body.items() if k not in sent}, notes, {"thinking": "none"})


# vLLM's: "This model's maximum context length is 32768 tokens. However, you requested 40960 tokens (8960 in
# the messages, 32000 in the completion)."
_CONTEXT = re.compile(r"maximum context length is (\d+) tokens.*?\((\d+) in the messages, (\d+) in the completion")


def _context_too_small(body: dict[str, Any], text: str, model: Any, origins: Mapping[str, str]) -> Adaptation | None:
    """The prompt fits but prompt + max_tokens does not: the answer's room lowered to what is left."""
    found = _CONTEXT.search(text)
    field = next((key for key in _RENAMED if key in body), None)
    if found is None or field is None:
        return None
    window, prompt = int(found.group(1)), int(found.group(2))
    room = window - prompt
    if room <= 0 or room >= body[field]:
        return None
    reason = f"lowered from {body[field]} to {room}: {model} reads at most {window} tokens, and the prompt is {prompt}"
    note = Note(origins.get(field, field), "approximated", reason)
    return Adaptation({**body, field: room}, [note], {"context_window": window})


# "Invalid 'tools[3].function.description': string too long. Expected a string with maximum length 1024"
_DESCRIPTION = re.compile(r"tools\[\d+\]\.function\.description.*?maximum length (\d+)")


def _descriptions_too_long(
    body: dict[str, Any], text: str, model: Any, origins: Mapping[str, str]
) -> Adaptation | None:
    found = _DESCRIPTION.search(text)
    if found is None:
        return None
    limit = int(found.group(1))
    fitted = {**body, "tools": [_deep_copy_tool(tool) for tool in body.get("tools") or ()]}
    cut = _cut_descriptions(fitted, limit)
    if not cut:
        return None
    reason = cut + _hint(model, f"tool_description_max = {limit}")
    return Adaptation(
        fitted, [Note(origins.get(_TOOL_STRICT, "tools"), "approximated", reason)], {"tool_description_max": limit}
    )


def _tool_strict_refused(body: dict[str, Any], text: str, model: Any, origins: Mapping[str, str]) -> Adaptation | None:
    if "strict" not in text:
        return None
    tools = [_deep_copy_tool(tool) for tool in body.get("tools") or ()]
    fitted = {**body, "tools": tools}
    if not _drop_tool_strict(fitted):
        return None
    reason = f"{model} takes no strict tools: sent again without strict" + _hint(model, f'refuses = ["{_TOOL_STRICT}"]')
    return Adaptation(
        fitted, [Note(origins.get(_TOOL_STRICT, "tools"), "dropped", reason)], {"refuses": (_TOOL_STRICT,)}
    )


def _deep_copy_tool(tool: Any) -> Any:
    if isinstance(tool, dict) and isinstance(tool.get("function"), dict):
        return {**tool, "function": dict(tool["function"])}
    return tool


def _named(key: str, text: str) -> bool:
    """Whether the refusal names the field `key`: quoted, or after the words an API names one with."""
    quoted = rf"['\"`]{re.escape(key)}['\"`]"
    said = rf"(argument|parameter|field|property|key)s?( supplied)?:?\s+{re.escape(key)}\b"
    return re.search(f"{quoted}|{said}", text) is not None


def _field_refused(body: dict[str, Any], text: str, model: Any, origins: Mapping[str, str]) -> Adaptation | None:
    for key, other in _RENAMED.items():
        if key in body and _named(key, text):
            fitted = {k: v for k, v in body.items() if k != key}
            fitted[other] = body[key]
            reason = f"{model} takes {other}, not {key}: sent again so" + _hint(model, f'refuses = ["{key}"]')
            return Adaptation(fitted, [Note(origins.get(key, key), "approximated", reason)], {"refuses": (key,)})
    for key in _DROPPABLE:
        if key in body and _named(key, text):
            fitted = {k: v for k, v in body.items() if k != key}
            reason = f"{model} refuses it: sent again without it" + _hint(model, f'refuses = ["{key}"]')
            return Adaptation(fitted, [Note(origins.get(key, key), "dropped", reason)], {"refuses": (key,)})
    return None
