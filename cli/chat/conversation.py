"""The interactive chat's model: the conversation (an OpenAI request), usage, and how typed lines
become messages and commands. No terminal I/O here: `chat.session` drives it.
"""

from __future__ import annotations

import copy
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from protoshift.cli.exits import InputError
from protoshift.cli.io.inputs import parse_json

SYSTEM_ROLES = ("system", "developer")
REPLY_ROLES = ("assistant",)
NOT_RUN = "(not run: the user went on without a result)"
# Keys that belong to one run of the session, not to the conversation saved with /save.
SESSION_KEYS = ("stream", "stream_options")


def history_path() -> Path:
    """The interactive session's line history, in protoshift's state directory."""
    from protoshift.cloud.state import state_dir

    return state_dir() / "history"


def load_request(data: bytes, name: str) -> dict[str, Any]:
    """A saved conversation (an OpenAI chat request) -> a request dict with a `messages` list."""
    loaded = parse_json(data, name)
    if not isinstance(loaded, dict):
        raise InputError(f"{name}: a chat request must be a JSON object")
    request: dict[str, Any] = copy.deepcopy(loaded)
    messages = request.setdefault("messages", [])
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise InputError(f"{name}: messages: expected an array of objects")
    return request


@dataclass
class Usage:
    turns: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0

    def add(self, usage: dict[str, Any] | None) -> None:
        self.turns += 1
        if not usage:
            return
        self.prompt_tokens += int(usage.get("prompt_tokens") or 0)
        self.completion_tokens += int(usage.get("completion_tokens") or 0)
        details = usage.get("prompt_tokens_details") or {}
        self.cached_tokens += int(details.get("cached_tokens") or 0)


@dataclass
class Conversation:
    """An OpenAI chat request being built turn by turn. Everything but `stream` is kept as loaded
    (tools, temperature, ...), so `/save` writes a request that `protoshift chat FILE` resumes."""

    request: dict[str, Any]
    default_model: str
    model_override: str | None = None
    cut: set[int] = field(default_factory=set)  # indices of assistant turns cut short (Ctrl-C, stream error)
    reply_from: int | None = None  # where the last reply started: /retry drops from here

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.request["messages"]
        return messages

    @property
    def model(self) -> str:
        return self.model_override or str(self.request.get("model") or self.default_model)

    def set_model(self, name: str) -> None:
        self.model_override = name
        self.request["model"] = name

    # -- system prompt ---------------------------------------------------------------------------

    def _system_end(self) -> int:
        at = 0
        while at < len(self.messages) and self.messages[at].get("role") in SYSTEM_ROLES:
            at += 1
        return at

    @property
    def system(self) -> str | None:
        texts = [content_text(m.get("content")) for m in self.messages[: self._system_end()]]
        return "\n\n".join(texts) if texts else None

    def set_system(self, text: str | None) -> None:
        """Replace the leading system messages (None: remove them)."""
        end = self._system_end()
        del self.messages[:end]
        self.reply_from = None if self.reply_from is None else max(0, self.reply_from - end)
        self.cut = {i - end for i in self.cut if i >= end}
        if text:
            self.messages.insert(0, {"role": "system", "content": text})
            self.reply_from = None if self.reply_from is None else self.reply_from + 1
            self.cut = {i + 1 for i in self.cut}

    # -- turns -----------------------------------------------------------------------------------

    def clear(self) -> None:
        """Forget the conversation; keep the system prompt, the model and the request's settings."""
        del self.messages[self._system_end() :]
        self.cut.clear()
        self.reply_from = None

    def pending_tool_calls(self) -> list[dict[str, Any]]:
        """Tool calls of the last assistant turn that no tool message answers yet."""
        for at in range(len(self.messages) - 1, -1, -1):
            message = self.messages[at]
            if message.get("role") == "assistant":
                answered = {m.get("tool_call_id") for m in self.messages[at + 1 :] if m.get("role") == "tool"}
                return [c for c in message.get("tool_calls") or () if c.get("id") not in answered]
            if message.get("role") not in ("tool",):
                return []
        return []

    def answer_tool(self, text: str) -> dict[str, Any] | None:
        """The next pending tool call gets `text` as its result; returns that call."""
        pending = self.pending_tool_calls()
        if not pending:
            return None
        call = pending[0]
        self.messages.append({"role": "tool", "tool_call_id": call.get("id"), "content": text})
        return call

    def add_user(self, text: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Append a user message. Tool calls left unanswered are answered `(not run ...)` first
        (the API refuses a conversation that skips them); returns those calls."""
        skipped = self.pending_tool_calls()
        for call in skipped:
            self.messages.append({"role": "tool", "tool_call_id": call.get("id"), "content": NOT_RUN})
        self.messages.append({"role": "user", "content": text})
        return skipped

    def needs_reply(self) -> bool:
        """The conversation ends with something the model should answer (and no open tool call)."""
        if not self.messages or self.pending_tool_calls():
            return False
        return self.messages[-1].get("role") in ("user", "tool", "function")

    def begin_reply(self) -> None:
        self.reply_from = len(self.messages)

    def add_reply(self, message: dict[str, Any], *, cut: bool = False) -> dict[str, Any] | None:
        """The assistant's answer, as kept (and sent back); None when nothing was kept. A cut one keeps
        only its text: half a tool call or a thinking block without its signature cannot be sent back."""
        if cut:
            text = message.get("content") or ""
            if not text.strip():
                return None
            message = {"role": "assistant", "content": text}
            self.cut.add(len(self.messages))
        kept = {k: v for k, v in message.items() if not (k == "refusal" and v is None)}
        self.messages.append(kept)
        return kept

    def rewind_for_retry(self) -> bool:
        """Drop the last reply (or the trailing assistant turns of a loaded conversation) so the
        request that produced it can be sent again. False when there is nothing to resend."""
        start = self.reply_from
        if start is None or start > len(self.messages):
            start = len(self.messages)
            while start > 0 and self.messages[start - 1].get("role") in REPLY_ROLES:
                start -= 1
        del self.messages[start:]
        self.cut = {i for i in self.cut if i < start}
        self.reply_from = None
        return self.needs_reply()

    def is_cut(self, index: int) -> bool:
        return index in self.cut

    # -- files -----------------------------------------------------------------------------------

    def to_request(self) -> dict[str, Any]:
        """The conversation as an OpenAI chat request (what /save writes)."""
        request: dict[str, Any] = {"model": self.model}
        request.update((k, copy.deepcopy(v)) for k, v in self.request.items() if k not in (*SESSION_KEYS, "model"))
        return request

    def request_to_send(self) -> dict[str, Any]:
        request = self.to_request()
        request["stream"] = True
        request["stream_options"] = {"include_usage": True}
        return request

    def replace(self, request: dict[str, Any]) -> None:
        """/load: the file's conversation and settings; a model chosen with -m or /model stays."""
        self.request = request
        if self.model_override:
            self.request["model"] = self.model_override
        self.cut = set()
        self.reply_from = None


# -- typing messages ------------------------------------------------------------------------------

BLOCK = '"""'


@dataclass
class Composer:
    """Typed lines -> one message. A line ending in `\\` goes on on the next line; `\"\"\"` opens
    a block that runs to a line ending in `\"\"\"`. `feed` returns the message when it is complete.

    A line holding line breaks came from a paste (bracketed paste puts the whole paste in one line):
    it is text as it is, never the start of a block or a continuation, so pasted code that ends in
    `\\` or starts with `\"\"\"` is sent as pasted. `pasted` says whether the message just returned
    began with a paste (the session then takes `/path/...` for text, not for a mistyped command)."""

    lines: list[str] = field(default_factory=list)
    in_block: bool = False
    pasted: bool = False

    @property
    def continuing(self) -> bool:
        return bool(self.lines) or self.in_block

    def reset(self) -> None:
        self.lines.clear()
        self.in_block = False

    def feed(self, line: str) -> str | None:
        if not self.continuing:
            self.pasted = "\n" in line
        if self.in_block:
            if line.rstrip().endswith(BLOCK):
                self.lines.append(line.rstrip()[: -len(BLOCK)])
                return self._done()
            self.lines.append(line)
            return None
        if "\n" in line:  # a paste ends a `\\` continuation, or is the whole message
            self.lines.append(line)
            return self._done()
        if not self.lines and line.lstrip().startswith(BLOCK):
            rest = line.lstrip()[len(BLOCK) :]
            if rest.rstrip().endswith(BLOCK):  # """one line"""
                self.lines.append(rest.rstrip()[: -len(BLOCK)])
                return self._done()
            self.in_block = True
            if rest.strip():
                self.lines.append(rest)
            return None
        if line.endswith("\\"):
            self.lines.append(line[:-1])
            return None
        self.lines.append(line)
        return self._done()

    def end(self) -> str | None:
        """Ctrl-D in the middle of a message: what was typed so far is the message."""
        return self._done() if self.continuing else None

    def _done(self) -> str:
        text = "\n".join(self.lines)
        self.reset()
        return text.strip("\n")


@dataclass(frozen=True)
class Command:
    name: str
    argument: str

    def path(self) -> Path:
        """The argument as a file name (quotes allowed, `~` expanded)."""
        try:
            words = shlex.split(self.argument)
        except ValueError:
            words = [self.argument]
        if len(words) != 1:
            raise InputError(f"/{self.name} takes one file name")
        return Path(words[0]).expanduser()


# /effort's words, the one list (its help, its error, the README's line): reasoning_effort values
EFFORTS = ("minimal", "low", "medium", "high", "xhigh")
EFFORT_CHOICES = "|".join((*EFFORTS, "off"))

COMMANDS: dict[str, str] = {
    "help": "this help",
    "model": "NAME — ask another model from now on (no NAME: show the current one)",
    "system": "TEXT — set the system prompt (no TEXT: show it; `/system -`: remove it)",
    "think": "on|off — show or hide the model's reasoning",
    "markdown": "on|off — render replies as markdown, or print them exactly as they come",
    "effort": f"{EFFORT_CHOICES} — reasoning_effort for the next requests",
    "retry": "send the last message again and replace the reply",
    "tool": "TEXT — answer the model's next pending tool call with TEXT",
    "clear": "forget the conversation (the system prompt stays)",
    "save": "FILE — write the conversation as an OpenAI request (resume: protoshift chat FILE -i)",
    "load": "FILE — replace the conversation with the one in FILE",
    "usage": "tokens used so far in this session",
    "exit": "leave (also Ctrl-D)",
}
ALIASES = {"quit": "exit", "q": "exit", "h": "help", "?": "help", "reset": "clear"}


def parse_command(text: str) -> Command | None:
    """`/name argument` -> Command; anything else (including `//text`) is a message."""
    if not text.startswith("/") or text.startswith("//"):
        return None
    name, _, argument = text[1:].partition(" ")
    name = name.strip().lower()
    return Command(ALIASES.get(name, name), argument.strip())


def message_text(text: str) -> str:
    """`//text` sends `/text`."""
    return text[1:] if text.startswith("//") else text


def content_text(content: Any) -> str:
    """The text of a message's content, a string or text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""
