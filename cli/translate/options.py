"""What one `protoshift translate` invocation is asked (`TranslateOptions`) and sees along the way
(`TranslateRun`, reported once at the end); shared by both directions (run.py, from_anthropic.py)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from protoshift.cli.io.console import Diagnostics
from protoshift.translator import Note


@dataclass
class TranslateOptions:
    out_dir: Path | None = None
    jsonl: bool = False
    explain: bool = False
    strict: bool = False
    include_usage: bool = False
    default_max_tokens: int | None = None
    model: str | None = None  # -m: replaces each request's model
    side: str = "openai"  # --from: the client's side; "anthropic" is the other direction (from_anthropic.py)
    output: str | None = None  # -o FILE: the one input's output (- for stdout)


@dataclass
class TranslateRun:
    """What one `translate` invocation saw, reported once at the end."""

    options: TranslateOptions
    diag: Diagnostics
    failed: int = 0
    explained: list[tuple[str, Note]] = field(default_factory=list)
    note_counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)
