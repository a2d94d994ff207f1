"""Where protoshift keeps state on this machine: `$XDG_STATE_HOME/protoshift` (XDG_STATE_HOME must be
an absolute path, as the XDG spec says), else `~/.local/state/protoshift`. The one place that says
so: the breaker keeps its files under `breaker/`, the CLI its line history and batch manifests."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["state_dir"]


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".local" / "state"
    return root / "protoshift"
