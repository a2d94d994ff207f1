"""The one model-object mapping: an entry of `GET /v1/models` in either API, read into a `ModelInfo`
and written out in either.

- OpenAI Chat Completions: `{"id", "object": "model", "created": unix seconds, "owned_by"}`;
- Anthropic Messages: `{"type": "model", "id", "display_name", "created_at": RFC 3339, "lifecycle",
  "max_input_tokens", "max_tokens"}` (the limits when the model table knows them).

Read leniently (a list from any OpenAI-compatible server): an entry without a string id is no model
(None); a `created` that is no int, or a `created_at` that is no date, is 0 (the epoch).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from protoshift.translator.wire import JSON

__all__ = ["ModelInfo"]

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A model as a model list names it. `created`: Unix seconds; `owned_by`: OpenAI's owner field
    (Anthropic's objects have none); `display_name`: Anthropic's (None: the id stands in)."""

    id: str
    created: int = 0
    owned_by: str = ""
    display_name: str | None = None
    context_window: int | None = None  # input tokens (the model table's), when known
    max_output: int | None = None  # the most max_tokens it takes, when known

    @classmethod
    def from_chat(cls, obj: Any, *, owned_by: str = "") -> ModelInfo | None:
        """An OpenAI model object; `owned_by`: the owner when the object names none."""
        if not isinstance(obj, dict) or not isinstance(model_id := obj.get("id"), str):
            return None
        created = obj.get("created")
        owner = obj.get("owned_by")
        return cls(
            model_id,
            created=created if isinstance(created, int) and not isinstance(created, bool) else 0,
            owned_by=owner if isinstance(owner, str) else owned_by,
        )

    def to_chat(self) -> JSON:
        return {"id": self.id, "object": "model", "created": self.created, "owned_by": self.owned_by}

    @classmethod
    def from_messages(cls, obj: Any, *, owned_by: str = "") -> ModelInfo | None:
        """An Anthropic model object; `owned_by`: the owner to give it (the provider that listed it)."""
        if not isinstance(obj, dict) or not isinstance(model_id := obj.get("id"), str):
            return None
        display_name = obj.get("display_name")
        return cls(
            model_id,
            created=_seconds(obj.get("created_at")),
            owned_by=owned_by,
            display_name=display_name if isinstance(display_name, str) else None,
            context_window=_count(obj.get("max_input_tokens")),
            max_output=_count(obj.get("max_tokens")),
        )

    def to_messages(self) -> JSON:
        model: JSON = {
            "type": "model",
            "id": self.id,
            "display_name": self.display_name or self.id,
            "created_at": _rfc3339(self.created),
            "lifecycle": "active",  # a model a server lists is one it serves
        }
        if self.context_window is not None:
            model["max_input_tokens"] = self.context_window
        if self.max_output is not None:
            model["max_tokens"] = self.max_output
        return model


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _seconds(value: Any) -> int:
    """RFC 3339 (`2025-02-19T00:00:00Z`) -> Unix seconds; a time without a zone is UTC (read in the
    machine's zone it would depend on where the translator runs); no date -> 0."""
    if not isinstance(value, str):
        return 0
    try:
        when = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return 0
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return int(when.timestamp())


def _rfc3339(seconds: int) -> str:
    """Unix seconds -> `1970-01-01T00:00:00Z`; before 1970 or past year 9999 -> the epoch."""
    try:
        when = _EPOCH + datetime.timedelta(seconds=max(seconds, 0))
    except OverflowError:
        when = _EPOCH
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
