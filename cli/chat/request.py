"""The OpenAI request `protoshift chat` sends: loaded from INPUT or stdin, or built from -p/--system,
then the flags applied. Shared by one-shot chat and the interactive session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protoshift.cli.exits import InputError
from protoshift.cli.io.console import stdin_is_terminal
from protoshift.cli.io.inputs import Source, parse_json
from protoshift.cli.settings import Settings

FORMATS: tuple[str, ...] = ("auto", "text", "json", "sse", "jsonl")


@dataclass
class ChatOptions:
    input: str | None = None
    prompt: str | None = None
    system: str | None = None
    stream: bool = False
    format: str = "auto"
    dry_run: bool = False
    interactive: bool = False


def build_request(options: ChatOptions, settings: Settings, *, empty_ok: bool = False) -> dict[str, Any]:
    """The OpenAI request: loaded from INPUT/stdin, or built from -p/--system, then the flags applied.

    With -p, piped stdin is either a request (JSON: the prompt is appended to it) or text the prompt
    is about (`cat notes.md | protoshift chat -p "Summarize"`: one user message, prompt first).
    `empty_ok`: no INPUT and no -p gives a request with no messages (an interactive session's start)."""
    request, piped_text = _load(options)
    if request is None:
        if options.prompt is None and not empty_ok:
            where = "<stdin> is empty: " if not stdin_is_terminal() else ""
            raise InputError(f"{where}nothing to send: give a request file, pipe JSON into stdin, or use -p PROMPT")
        request = {"messages": []}
    messages: list[Any] = request["messages"]
    if options.system is not None:
        messages.insert(_after_system_messages(messages), {"role": "system", "content": options.system})
    if options.prompt is not None:
        text = options.prompt if piped_text is None else f"{options.prompt}\n\n{piped_text}"
        messages.append({"role": "user", "content": text})
    if settings.model or "model" not in request:
        request["model"] = settings.default_model(settings.backend)
    if settings.max_tokens is not None:
        request.pop("max_tokens", None)
        request["max_completion_tokens"] = settings.max_tokens
    if options.stream:
        request["stream"] = True
    return request


def _load(options: ChatOptions) -> tuple[dict[str, Any] | None, str | None]:
    """(the request INPUT or stdin holds, or None; the text piped in for -p to be about, or None)."""
    if options.input is not None and options.input != "-":
        return _parse_request(Source(options.input, _path(options.input)).read_bytes(), options.input), None
    if options.input != "-" and stdin_is_terminal():
        return None, None
    data = Source("<stdin>").read_bytes()
    if not data.strip():  # an empty pipe (`< /dev/null`, a script's closed stdin): nothing loaded
        return None, None
    if options.prompt is None or data.lstrip()[:1] == b"{":
        return _parse_request(data, "<stdin>"), None
    return None, data.decode("utf-8", errors="replace")


def _after_system_messages(messages: list[Any]) -> int:
    """Where the leading system/developer messages end."""
    at = 0
    while at < len(messages) and isinstance(messages[at], dict) and messages[at].get("role") in ("system", "developer"):
        at += 1
    return at


def _parse_request(data: bytes, name: str) -> dict[str, Any]:
    loaded = parse_json(data, name)
    if not isinstance(loaded, dict):
        raise InputError(f"{name}: a chat request must be a JSON object")
    if not isinstance(loaded.get("messages", []), list):
        raise InputError(f"{name}: messages: expected an array")
    loaded.setdefault("messages", [])
    return loaded


def _path(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise InputError(f"{text}: no such file")
    return path
