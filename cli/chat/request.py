"""The OpenAI request `protoshift chat` sends: loaded from INPUT or stdin, or built from -p/--system,
then the flags applied. Shared by one-shot chat and the interactive session.

Piped stdin is read the Unix way: text that starts with `{` (after whitespace) is a request (and
invalid JSON there is an error); anything else is the user's message (`echo hi | protoshift chat`).
With -p the prompt comes first and the piped text after it (`cat notes.md | protoshift chat -p
"Summarize:"`). A request FILE and piped stdin at once is refused: one of them would be ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from protoshift.cli.exits import InputError
from protoshift.cli.io.console import Diagnostics, stdin_is_terminal
from protoshift.cli.io.inputs import JSONInputError, Source, load_json, parse_json, stdin_has_data
from protoshift.cli.settings import Settings

FORMATS: tuple[str, ...] = ("auto", "text", "json", "sse", "jsonl")
SYSTEM_ROLES = ("system", "developer")


@dataclass
class ChatOptions:
    input: str | None = None
    prompt: str | None = None
    system: str | None = None
    stream: bool = False
    format: str = "auto"
    dry_run: bool = False
    interactive: bool = False
    model: str | None = None  # -m as given: a continued conversation keeps its own model without it
    options: list[tuple[str, str]] = field(default_factory=list)  # -O KEY VALUE
    attachments: list[str] = field(default_factory=list)  # -a FILE|URL
    continue_latest: bool = False  # -c
    cid: str | None = None  # --cid
    log: bool = True  # False: --no-log
    raw: bool = False  # --raw: no markdown

    @property
    def continues(self) -> bool:
        return self.continue_latest or self.cid is not None


def build_request(
    options: ChatOptions, settings: Settings, *, empty_ok: bool = False, diag: Diagnostics | None = None
) -> dict[str, Any]:
    """The OpenAI request: loaded from INPUT/stdin, or built from -p/--system/-a, then the flags applied.
    `empty_ok`: nothing to send gives a request with no messages (an interactive session's start).
    `diag` hears when piped text joined -p's message: in a shell loop that is the loop's own input."""
    request, piped_text = _load(options)
    if piped_text is not None and options.prompt is not None and diag is not None:
        diag.warn(
            f"note: the text piped in ({_amount(piped_text)}) was added to -p's message; --no-stdin leaves stdin alone"
        )
    message = _user_message(options, piped_text)
    if request is None:
        if message is None and not empty_ok:
            where = "<stdin> is empty: " if not stdin_is_terminal() else ""
            raise InputError(f"{where}nothing to send: give a request file, pipe text or JSON in, or use -p PROMPT")
        request = {"messages": []}
    messages: list[Any] = request["messages"]
    if options.system is not None:
        messages.insert(_after_system_messages(messages), {"role": "system", "content": options.system})
    if message is not None:
        messages.append(message)
    apply_options(request, options.options)
    if settings.model or "model" not in request:
        request["model"] = settings.default_model(settings.backend)
    if settings.max_tokens is not None:
        request.pop("max_tokens", None)
        request["max_completion_tokens"] = settings.max_tokens
    if options.stream:
        request["stream"] = True
    return request


def _amount(text: str) -> str:
    lines = text.count("\n") + (not text.endswith("\n"))
    return f"{lines} line{'s' * (lines != 1)}, {len(text.encode())} bytes"


def _user_message(options: ChatOptions, piped_text: str | None) -> dict[str, Any] | None:
    """The message this run adds: -p, then the piped text, then the attachments."""
    texts = [text for text in (options.prompt, piped_text) if text is not None]
    text = "\n\n".join(texts) if texts else None
    if not options.attachments:
        return None if text is None else {"role": "user", "content": text}
    from protoshift.cli.chat.attachments import attachment_parts

    parts = attachment_parts(options.attachments)
    return {"role": "user", "content": [*([{"type": "text", "text": text}] if text else []), *parts]}


def apply_options(request: dict[str, Any], options: list[tuple[str, str]]) -> None:
    """-O KEY VALUE: the value as JSON when it parses as JSON (`0.2`, `true`, `{"type": ...}`), else as
    the string it is. The translator checks the field like any other: a typo is a note (an error with
    --strict), never silence."""
    for key, text in options:
        if not key or key == "messages":
            raise InputError(f"-O {key!r}: not a field -O can set", hint="messages come from INPUT, stdin or -p")
        try:
            value = load_json(text)
        except JSONInputError:
            value = text
        request[key] = value


def _load(options: ChatOptions) -> tuple[dict[str, Any] | None, str | None]:
    """(the request INPUT or stdin holds, or None; the text piped in as the message, or None)."""
    if options.input is not None and options.input != "-":
        path = _path(options.input)
        if stdin_has_data():
            raise InputError(
                f"{options.input} and piped stdin: two inputs, and one would be ignored",
                hint="pass - to read the request from stdin, or --no-stdin to leave stdin alone (in a shell loop)",
            )
        return _parse_request(Source(options.input, path).read_bytes(), options.input), None
    if options.input != "-" and stdin_is_terminal():
        return None, None
    data = Source("<stdin>").read_bytes()
    if not data.strip():  # an empty pipe (`< /dev/null`, a script's closed stdin): nothing loaded
        return None, None
    if data.lstrip()[:1] == b"{":
        return _parse_request(data, "<stdin>"), None
    return None, data.decode("utf-8", errors="replace")


def _after_system_messages(messages: list[Any]) -> int:
    """Where the leading system/developer messages end."""
    at = 0
    while at < len(messages) and isinstance(messages[at], dict) and messages[at].get("role") in SYSTEM_ROLES:
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
    if path.is_dir():
        raise InputError(f"{text}: is a folder, not a request file", hint="batch run and translate take many requests")
    if not path.is_file():
        raise InputError(f"{text}: no such file")
    return path


def resolve_alias(request: dict[str, Any], settings: Settings) -> None:
    """A model named by an alias of the config file's [aliases] (`protoshift aliases set`): the model it
    stands for, on its backend when it names one."""
    model = request.get("model")
    if not isinstance(model, str):
        return
    target = settings.aliases().resolve(model)
    if target is None:
        return
    request["model"] = target.model
    if target.backend is not None:
        settings.backend = target.backend
