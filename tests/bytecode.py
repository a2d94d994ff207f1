"""A venv that `uv sync` made without `--compile-bytecode` (.ci/run passes it, a plain `uv sync` does not) has no
.pyc files, nor has a fresh clone for protoshift's own modules: pytest-xdist's workers, all starting at once,
would each compile the same modules as they import them, the 4,200 of the two SDKs first of all. The controller
compiles those once, on every core, before the workers start; a run that finds them compiled checks three files.

(`compile-bytecode = true` under [tool.uv] would compile the whole venv at install, but then every `uv run`
checks its 7,000 files again: ~1 s each time.)
"""

from __future__ import annotations

import compileall
import importlib.util
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROOMS = ("protoshift", "cli", "cloud", "gateway", "translator")  # protoshift/ links to the others
PACKAGES = ("anthropic", "openai", "protoshift")  # what every worker imports, by far the most of it


def compile_once() -> None:
    specs = [spec for spec in map(importlib.util.find_spec, PACKAGES) if spec is not None]
    if all(spec.cached is None or os.path.exists(spec.cached) for spec in specs):
        return
    folders = [folder for spec in specs for folder in spec.submodule_search_locations or ()]
    for folder in dict.fromkeys([*folders, *(str(ROOT / room) for room in ROOMS)]):
        compileall.compile_dir(folder, quiet=2, workers=0)  # workers=0: one process per core
