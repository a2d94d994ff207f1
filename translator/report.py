"""The report of what translation did to each field the caller handed in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from protoshift.translator.tables import MAPPED_FIELDS

Action = Literal["mapped", "dropped", "approximated", "kept", "defaulted", "refused"]

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
    """What `openai_to_anthropic.request` returns.

    - `body`: the Anthropic Messages request body, ready to POST to /v1/messages.
    - `notes`: every field that was dropped, approximated, kept as an Anthropic extra or defaulted,
      every unknown key (at any depth) and every change made for the target model.
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
        return explain_rows(request, self.notes)


def explain_rows(
    request: dict[str, Any], notes: Iterable[Note], mapped: Mapping[str, str] = MAPPED_FIELDS
) -> list[Note]:
    """Every top-level field of `request` gets a row (mapped unless a note says otherwise), each
    followed by the notes about the fields inside it; notes about fields the caller did not send
    (defaults) come last. `mapped`: where each field goes (the table of the translation's direction)."""
    by_field: dict[str, list[Note]] = {}
    for note in notes:
        top = note.path.split(".", 1)[0].split("[", 1)[0]
        by_field.setdefault(top, []).append(note)
    rows: list[Note] = []
    for key, value in request.items():
        found = by_field.pop(key, None)
        if value is None and found is None:
            rows.append(Note(key, "mapped", "null: the same as leaving it out"))
        elif found is None or all(n.path != key for n in found):
            rows.append(Note(key, "mapped", "-> " + mapped.get(key, key)))
        if found is not None:
            rows.extend(found)
    for rest in by_field.values():
        rows.extend(rest)
    return rows
