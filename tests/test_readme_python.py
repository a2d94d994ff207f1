"""The README's Python examples run as written (the offline ones: the mock backend, a gateway built)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def _block(holding: str) -> str:
    [block] = [block for block in BLOCKS if holding in block]
    return block


@pytest.mark.process
def test_the_client_example_runs_offline_on_the_mock() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _block('create_client("mock"')], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "You said: Hi" in done.stdout


@pytest.mark.process
def test_the_gateway_example_builds_an_asgi_app() -> None:
    code = _block("app = build_app(") + "\nassert callable(app)\nprint(type(app).__name__)\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Gateway"
