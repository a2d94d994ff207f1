"""`protoshift --help` and the offline commands stay fast: the server stack, the HTTP client and rich
are imported only by the commands that use them (figures in benchmarks/startup.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("httpx", "uvicorn", "uvloop", "httptools", "rich", "pydantic", "sqlite3")


@pytest.mark.process  # a fresh interpreter: this one has imported everything already
def test_the_command_line_imports_nothing_heavy_to_start() -> None:
    code = f"import sys; from protoshift.cli.main import app; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "", f"imported at start-up: {done.stdout.strip()}"
