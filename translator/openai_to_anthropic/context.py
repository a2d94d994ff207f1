"""The state one request translation carries from field to field: notes, problems, betas, model facts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from protoshift.translator.checks import want_str
from protoshift.translator.errors import Problem, TranslationError
from protoshift.translator.models import ModelFacts, ModelTable
from protoshift.translator.report import LOSSY_ACTIONS, Action, Note

UNKNOWN_KEY = "unknown field, not sent"


def child(path: str, key: str) -> str:
    """The JSON path of `key` inside the object at `path`. The request's own fields (`path` is `$`)
    are named as they are, as everywhere in the report; a nested key that is not an identifier is
    quoted (`messages[0]["x y"]`)."""
    if path == "$":
        return key
    if key.isidentifier():
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


class Context:
    """Collects what translation finds instead of stopping at the first problem: each unit of work
    (a field, a message, a content part, a tool) that raises a TranslationError adds its problems
    here and translation goes on, so one run reports them all."""

    __slots__ = (
        "betas", "breakpoints", "default_max_tokens", "facts", "include_usage", "max_tokens_defaulted", "model",
        "notes", "problems", "tool_use_seen",
    )  # fmt: skip

    def __init__(self, model: str, facts: ModelFacts | None) -> None:
        self.model = model
        self.facts = facts
        self.notes: list[Note] = []
        self.problems: list[Problem] = []
        self.betas: list[str] = []
        # Every cache_control sent: (the dict that holds it, the request path it came from).
        self.breakpoints: list[tuple[dict[str, Any], str]] = []
        self.default_max_tokens = 0  # max_tokens when the caller sets none
        self.max_tokens_defaulted = False  # the caller set no limit (a thinking budget may add to it)
        self.include_usage = False  # stream_options.include_usage
        self.tool_use_seen = False  # the history has tool calls (their tools must be declared)

    @classmethod
    def of_request(cls, model: Any, table: ModelTable) -> Context:
        """The context of a request naming `model`: what `table` knows of it; a model that is
        missing or not a non-empty string is the first problem (translation goes on to find the rest)."""
        if type(model) is str and model:
            return cls(model, table.lookup(model))
        ctx = cls("", None)
        try:
            if model is None:
                raise TranslationError("model", "is required")
            want_str(model, "model", nonempty=True)
        except TranslationError as exc:
            ctx.failed(exc)
        return ctx

    def note(self, path: str, action: Action, reason: str) -> None:
        self.notes.append(Note(path, action, reason))

    def finish(self, request: Mapping[str, Any], *, strict: bool) -> None:
        """The end of a translation: under `strict`, what would be lost is refused too; any problem
        raises one TranslationError with all of them, in the order of the request's fields."""
        if strict:
            for note in self.notes:
                if note.action in LOSSY_ACTIONS:
                    self.refuse(note.path, f"would be {note.action} ({note.reason}); refused in strict mode")
        if self.problems:
            order = {key: k for k, key in enumerate(request)}
            problems = sorted(
                self.problems, key=lambda p: order.get(p.path.split(".", 1)[0].split("[", 1)[0], len(order))
            )
            raise TranslationError.of(problems, self.notes)

    def renote(self, path: str, action: Action, reason: str) -> None:
        """What was "kept" at `path` is now `action` after all: the note says so, in its place."""
        for k, note in enumerate(self.notes):
            if note.path == path and note.action == "kept":
                self.notes[k] = Note(path, action, reason)
                return
        self.notes.append(Note(path, action, reason))

    def refuse(self, path: str, reason: str) -> None:
        self.problems.append(Problem(path, reason))

    def failed(self, error: TranslationError) -> None:
        self.problems.extend(error.problems)

    def beta(self, value: str) -> None:
        if value not in self.betas:
            self.betas.append(value)

    def unknown_keys(self, obj: Mapping[str, Any], known: frozenset[str], path: str) -> None:
        """A "dropped" note for each key of `obj` its translation does not read (null counts as absent)."""
        for key, value in obj.items():
            if key not in known and value is not None:
                self.notes.append(Note(child(path, str(key)), "dropped", UNKNOWN_KEY))
