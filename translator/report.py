"""The report of what translation did to each field the caller handed in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from protoshift.translator.tables import MAPPED_FIELDS

Action = Literal["mapped", "dropped", "approximated", "kept", "defaulted"]

# Actions that change or lose something the caller asked for; `strict=True` refuses them.
LOSSY_ACTIONS: frozenset[str] = frozenset({"dropped", "approximated"})


@dataclass(slots=True, frozen=True)
class Note:
    """One thing translation did that the caller may want to know about.

    `path` is a JSON path into the OpenAI request (`messages[2].content[0].detail`).
    """

    path: str
    action: Action
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.action}: {self.reason}"


@dataclass(slots=True)
class RequestTranslation:
    """What `translate_request` returns.

    - `body`: the Anthropic Messages request body, ready to POST to /v1/messages.
    - `notes`: every field that was dropped, approximated, kept as an Anthropic extra or defaulted.
      Fields that map one to one have no note (`explain()` lists them as mapped).
    - `betas`: values for the `anthropic-beta` header a translated feature needs (often empty).
    - `include_usage`: the caller asked for `stream_options.include_usage` (a final usage chunk).
    """

    body: dict[str, Any]
    notes: list[Note] = field(default_factory=list)
    betas: list[str] = field(default_factory=list)
    include_usage: bool = False

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    def explain(self, request: dict[str, Any]) -> list[Note]:
        """One row per top-level field of `request` plus every nested note, in request order."""
        by_field: dict[str, list[Note]] = {}
        for note in self.notes:
            top = note.path.split(".", 1)[0].split("[", 1)[0]
            by_field.setdefault(top, []).append(note)
        rows: list[Note] = []
        for key, value in request.items():
            notes = by_field.pop(key, None)
            if value is None and notes is None:
                rows.append(Note(key, "mapped", "null: the same as leaving it out"))
            elif notes is None or all(n.path != key for n in notes):
                rows.append(Note(key, "mapped", "-> " + MAPPED_FIELDS.get(key, key)))
            if notes is not None:
                rows.extend(notes)
        for notes in by_field.values():  # notes about fields the caller did not send (defaults)
            rows.extend(notes)
        return rows
