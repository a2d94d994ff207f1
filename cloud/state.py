"""Where protoshift keeps things on this machine, the one place that says so (XDG base directories;
a relative XDG_* value is ignored, as the spec says):

- state: `$XDG_STATE_HOME/protoshift`, else `~/.local/state/protoshift` — the breaker's files under
  `breaker/`, the CLI's line history and batch manifests;
- data: `$XDG_DATA_HOME/protoshift`, else `~/.local/share/protoshift` — the CLI's log of exchanges.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_dir", "state_dir"]


def state_dir() -> Path:
    return _xdg("XDG_STATE_HOME", ".local/state") / "protoshift"


def data_dir() -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share") / "protoshift"


def _xdg(variable: str, default: str) -> Path:
    base = os.environ.get(variable, "")
    return Path(base) if base and os.path.isabs(base) else Path.home() / default
