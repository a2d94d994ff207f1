"""Errors the translator raises. Each carries what a user needs to fix or report the problem."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from protoshift.translator.report import Note, explain_rows


@dataclass(slots=True, frozen=True)
class Problem:
    """One reason a request cannot be translated: the JSON path of the field and a one-line reason."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class TranslationError(ValueError):
    """Input that cannot be translated: names the JSON path of the field and the reason in one line.

    `problems` lists every problem found in the input, in request order; the first is the one
    `path` and `reason` show. `notes` are what translation had noted before it gave up (so an
    `--explain` table can still show the fields that were fine).
    """

    def __init__(
        self, path: str, reason: str, *, problems: Sequence[Problem] | None = None, notes: Sequence[Note] = ()
    ) -> None:
        self.path = path or "$"
        self.reason = reason
        self.problems: list[Problem] = list(problems) if problems else [Problem(self.path, reason)]
        self.notes: list[Note] = list(notes)
        more = len(self.problems) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        super().__init__(f"{self.path}: {reason}{suffix}")

    @classmethod
    def of(cls, problems: Sequence[Problem], notes: Sequence[Note] = ()) -> TranslationError:
        """The error for a non-empty list of problems (the first one leads)."""
        return cls(problems[0].path, problems[0].reason, problems=problems, notes=notes)

    def prefixed(self, prefix: str) -> TranslationError:
        """The same problems with every path under `prefix` (a batch line's `body`, say)."""

        def under(path: str) -> str:
            return prefix if path == "$" else f"{prefix}{'' if path.startswith('[') else '.'}{path}"

        return TranslationError.of(
            [Problem(under(p.path), p.reason) for p in self.problems],
            [Note(under(n.path), n.action, n.reason) for n in self.notes],
        )

    def explain(self, request: Any, mapped: Mapping[str, str] | None = None) -> list[Note]:
        """The `--explain` table of the request that failed: its fields, the notes, and a refused row per problem.
        `mapped`: where each field goes, for a request of the other direction (an Anthropic request)."""
        refused = [Note(p.path, "refused", p.reason) for p in self.problems]
        if not isinstance(request, dict):
            return refused
        if mapped is None:
            return explain_rows(request, [*self.notes, *refused])
        return explain_rows(request, [*self.notes, *refused], mapped)


class StreamError(Exception):
    """Base of the errors a stream can end with after some chunks were given out."""


class UpstreamStreamError(StreamError):
    """The provider sent an `error` event mid-stream (e.g. `overloaded_error`)."""

    def __init__(self, error_type: str, message: str) -> None:
        self.error_type = error_type
        self.message = message
        super().__init__(f"{error_type}: {message}")


class IncompleteStreamError(StreamError):
    """The stream ended before its closing event: the answer is cut."""

    def __init__(self, reason: str = "stream ended before message_stop") -> None:
        self.reason = reason
        super().__init__(reason)
