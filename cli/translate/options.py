"""What one `protoshift translate` invocation is asked (`TranslateOptions`) and sees along the way
(`TranslateRun`, reported once at the end); shared by both directions (run.py, from_anthropic.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from protoshift.cli.io.console import Diagnostics
from protoshift.translator import Note, RequestTranslation, TranslationError
from protoshift.translator.report import LOSSY_ACTIONS


@dataclass
class TranslateOptions:
    out_dir: Path | None = None
    jsonl: bool = False
    explain: bool = False
    strict: bool = False
    include_usage: bool = False
    default_max_tokens: int | None = None
    model: str | None = None  # -m: replaces each request's model
    side: str = "openai"  # --from: the client's side; anthropic, responses: the other sides (from_*.py)
    output: str | None = None  # -o FILE: the one input's output (- for stdout)


@dataclass
class TranslateRun:
    """What one `translate` invocation saw, reported once at the end."""

    options: TranslateOptions
    diag: Diagnostics
    failed: int = 0
    explained: list[tuple[str, Note]] = field(default_factory=list)
    note_counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    def request_converter(
        self, translate: Callable[[Any], RequestTranslation], mapped: Mapping[str, str] | None = None
    ) -> Callable[[Any, str], Any]:
        """One request input of any direction: `-m` put in, `translate`d, its notes reported; a refused one
        gives its --explain rows (`mapped`: where the fields of that direction's requests go)."""
        options = self.options

        def request(value: Any, where: str) -> Any:
            if options.model and isinstance(value, dict):
                value = {**value, "model": options.model}
            try:
                translation = translate(value)
            except TranslationError as exc:
                if options.explain:
                    self.explained.extend((where, row) for row in exc.explain(value, mapped))
                raise
            self.report(translation, value, where)
            return translation.body

        return request

    def report(self, translation: RequestTranslation, value: Any, where: str) -> None:
        """A translated request's notes: its --explain rows, or the lossy ones (counted per note with
        --jsonl, printed otherwise); and the anthropic-beta header it needs."""
        if self.options.explain:
            self.explained.extend((where, row) for row in translation.explain(value))
        elif self.options.jsonl:
            for note in translation.notes:
                if note.action in LOSSY_ACTIONS:
                    self.note_counts[(note.path, note.action, note.reason)] += 1
        else:
            for note in translation.notes:
                if note.action in LOSSY_ACTIONS:
                    self.diag.warn(f"note: {note}")
        if translation.betas:
            self.diag.warn(f"note: send with header anthropic-beta: {','.join(translation.betas)}")
