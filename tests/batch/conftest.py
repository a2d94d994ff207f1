"""Batch end-to-end tests drive the real `protoshift` script, as tests/cli does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cli.conftest import PROTOSHIFT, cli_env, run_cli  # noqa: F401  (fixtures re-used here)


def batch_line(custom_id: str, text: str, **body: Any) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "claude-test", "messages": [{"role": "user", "content": text}], **body},
    }


def write_jsonl(path: Path, items: list[Any]) -> Path:
    path.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def user_text(body: dict[str, Any]) -> str:
    """The last user message's text of an Anthropic body the fake server received."""
    content = body["messages"][-1]["content"]
    return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)
