"""The names of a Responses request's tools on a chat upstream, and back: what the answer's mapping
needs to give each chat tool call back as the item the client declared.

A chat function name matches `^[a-zA-Z0-9_-]{1,64}$`. A Responses tool is named by its name and, for
the functions of a `namespace` tool, its namespace; it is a `function` (JSON arguments) or a `custom`
tool (freeform: one raw string). Each gets one chat name:

- a top-level tool keeps its own name when it is a valid chat name;
- a namespaced one is `NAMESPACE__NAME` (the separator Codex itself shows its models), when that is a
  valid chat name, taken by no top-level tool, and reads back unambiguously: the namespace holds no
  `__` and does not end with `_`, so the first `__` of the chat name is the separator;
- anything else (too long, other characters, a clash) is its readable form cut short and a stable
  hash of the whole name: `STEM_` + 12 hex digits of blake2s(namespace NUL name), at most 64 characters.

The map is the authority both ways (`chat_name`, `resolve`), so a name maps back exactly whatever its
form; the rule is a function of the name and of the request's top-level tool names, so a history item
naming a tool this request no longer declares gets the name it had.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

__all__ = ["CHAT_NAME", "SEPARATOR", "ToolMap", "ToolRef"]

ToolKind = Literal["function", "custom"]

CHAT_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
SEPARATOR = "__"
_MAX = 64
_DIGITS = 12  # 48 bits of blake2s: no clash among the tools of one request
_NOT_NAME = re.compile(r"[^a-zA-Z0-9_-]+")


@dataclass(frozen=True, slots=True)
class ToolRef:
    """A tool as the Responses client declared it: its name, its namespace (None at the top level),
    and its kind (`function`: JSON arguments; `custom`: one raw string input)."""

    name: str
    kind: ToolKind = "function"
    namespace: str | None = None


class ToolMap:
    """Chat function names <-> the Responses tools they stand for. Built by `responses_to_chat.request`;
    read by `chat_to_responses` to give each call back as a `function_call` (with its `namespace`) or a
    `custom_tool_call` (with its raw `input`)."""

    __slots__ = ("_by_chat", "_by_ref", "_top")

    def __init__(self) -> None:
        self._by_chat: dict[str, ToolRef] = {}
        self._by_ref: dict[tuple[str | None, str], str] = {}
        self._top: set[str] = set()  # the top-level names, which win their own name

    def reserve(self, names: list[str]) -> None:
        """The request's top-level tool names, before any tool is added (they keep their own names)."""
        self._top.update(name for name in names if CHAT_NAME.fullmatch(name))

    def add(self, ref: ToolRef) -> str:
        """Declare `ref`; its chat name (the one it already has when declared twice)."""
        key = (ref.namespace, ref.name)
        known = self._by_ref.get(key)
        if known is not None:
            return known
        chat = self._name_for(ref.name, ref.namespace)
        self._by_chat[chat] = ref
        self._by_ref[key] = chat
        return chat

    def state(self) -> tuple[dict[str, ToolRef], dict[tuple[str | None, str], str], frozenset[str]]:
        """What the map holds, copied (a kept tool list's translation: responses_to_chat/tools.py)."""
        return dict(self._by_chat), dict(self._by_ref), frozenset(self._top)

    def restore(
        self, by_chat: dict[str, ToolRef], by_ref: dict[tuple[str | None, str], str], top: frozenset[str]
    ) -> None:
        """The map as `state()` gave it (an empty map: a request's, before its tools)."""
        self._by_chat.update(by_chat)
        self._by_ref.update(by_ref)
        self._top.update(top)

    def chat_name(self, name: str, namespace: str | None = None) -> str:
        """The chat name of a tool, declared or not (a history item may name a tool no longer sent)."""
        return self._by_ref.get((namespace, name)) or self._name_for(name, namespace)

    def resolve(self, chat_name: str) -> ToolRef:
        """The tool a chat call names; a name nobody declared is a function of that name."""
        ref = self._by_chat.get(chat_name)
        return ref if ref is not None else ToolRef(chat_name)

    def get(self, chat_name: str) -> ToolRef | None:
        return self._by_chat.get(chat_name)

    def find(self, name: str, kind: ToolKind | None = None) -> list[str]:
        """The chat names of the declared tools called `name` (any namespace), of `kind` if given."""
        return [
            chat
            for (_, tool), chat in self._by_ref.items()
            if tool == name and (kind is None or self._by_chat[chat].kind == kind)
        ]

    @property
    def custom(self) -> frozenset[str]:
        """The chat names of custom (freeform) tools."""
        return frozenset(chat for chat, ref in self._by_chat.items() if ref.kind == "custom")

    def __contains__(self, chat_name: object) -> bool:
        return chat_name in self._by_chat

    def __iter__(self) -> Iterator[tuple[str, ToolRef]]:
        return iter(self._by_chat.items())

    def __len__(self) -> int:
        return len(self._by_chat)

    def __repr__(self) -> str:
        return f"ToolMap({self._by_chat!r})"

    def _name_for(self, name: str, namespace: str | None) -> str:
        if namespace is None:
            if CHAT_NAME.fullmatch(name):
                return name
            return _hashed(name, namespace)
        readable = f"{namespace}{SEPARATOR}{name}"
        if (
            CHAT_NAME.fullmatch(readable)
            and SEPARATOR not in namespace
            and not namespace.endswith("_")
            and readable not in self._top
        ):
            return readable
        return _hashed(name, namespace)


def _hashed(name: str, namespace: str | None) -> str:
    """The readable form, cut short, and a stable hash of the whole name: unique, valid, at most 64."""
    whole = name if namespace is None else f"{namespace}{SEPARATOR}{name}"
    digest = hashlib.blake2s(f"{namespace or ''}\0{name}".encode("utf-8", "surrogatepass")).hexdigest()[:_DIGITS]
    stem = _NOT_NAME.sub("_", whole)[: _MAX - _DIGITS - 1]
    return f"{stem}_{digest}"
