"""`batch run`'s spool of checked requests (cli/batch/spool.py) is only a saving: when the temporary
folder cannot hold it (full, a file size limit, gone), the run goes on without it, says so in one
line, and every line is answered once (issue 19, item 8)."""

from __future__ import annotations

import json
import resource
import subprocess
from pathlib import Path

import pytest

from tests.batch.conftest import PROTOSHIFT, batch_line, read_jsonl, user_text, write_jsonl
from tests.fakes import FakeServer, Received, Reply, anthropic_message_reply

LINES = 10
PADDING = "x" * 3000  # each translated body is ~3 KB: the spool outgrows a limit the output lines fit in
FILE_SIZE_LIMIT = 16_000


def _answer(received: Received) -> Reply:
    return anthropic_message_reply(f"answer {user_text(received.json).split()[-1]}")


def _input(tmp_path: Path) -> Path:
    lines = []
    for n in range(LINES):
        line = batch_line(f"r{n}", f"q {n}")
        line["body"]["messages"].insert(0, {"role": "system", "content": PADDING})
        lines.append(line)
    return write_jsonl(tmp_path / "in.jsonl", lines)


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))


@pytest.mark.process
def test_a_spool_that_cannot_be_written_is_not_needed(cli_env: dict[str, str], tmp_path: Path) -> None:
    source, out = _input(tmp_path), tmp_path / "out.jsonl"
    with FakeServer(_answer) as server:
        env = {**cli_env, "ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-ant-test-key"}
        done = subprocess.run(
            [PROTOSHIFT, "batch", "run", str(source), "-o", str(out), "-j", "2"],
            env=env, capture_output=True, timeout=60, preexec_fn=_limit_file_size,
        )  # fmt: skip
    stderr = done.stderr.decode()
    assert done.returncode == 0, stderr
    assert "Traceback" not in stderr
    [said] = [line for line in stderr.splitlines() if "cannot keep the checked requests" in line]
    assert "File too large" in said and "each is translated again as it is sent" in said
    lines = read_jsonl(out)
    assert sorted(line["custom_id"] for line in lines) == sorted(f"r{n}" for n in range(LINES))
    assert all(line["error"] is None for line in lines)
    assert len(server.requests) == LINES
    assert all(json.dumps(r.json).count(PADDING) == 1 for r in server.requests), "each sent as it was checked"
