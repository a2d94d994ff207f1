"""What e2e tests check on a run's output and on what the fake server received."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.fakes import FakeServer
from tests.oracles import assert_valid_anthropic_body, assert_valid_chunk, assert_valid_completion

PROG = "protoshift: "


def sse_chunks(stdout: bytes, *, done: bool = True) -> list[dict[str, Any]]:
    """stdout as OpenAI's SSE, byte for byte: `data: {chunk}\\n\\n` frames, then `data: [DONE]\\n\\n`
    (or no [DONE] when the stream did not end). Every chunk validates as a ChatCompletionChunk."""
    assert stdout.endswith(b"\n\n"), stdout[-200:]
    frames = stdout[:-2].split(b"\n\n")
    if done:
        assert frames[-1] == b"data: [DONE]", frames[-1]
        frames = frames[:-1]
    else:
        assert b"[DONE]" not in stdout
    chunks = []
    for frame in frames:
        assert frame.startswith(b"data: {") and b"\n" not in frame, frame
        chunk = json.loads(frame[len(b"data: ") :])
        assert_valid_chunk(chunk)
        chunks.append(chunk)
    assert chunks, "no chunks"
    assert len({c["id"] for c in chunks}) == 1, "one id per stream"
    return chunks


def completion(stdout: bytes) -> dict[str, Any]:
    value = json.loads(stdout)
    assert_valid_completion(value)
    return value


def text_of(chunks: list[dict[str, Any]]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def finish_reason(chunks: list[dict[str, Any]]) -> str | None:
    reasons = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert len(reasons) == 1, reasons
    return reasons[0]


def anthropic_bodies(server: FakeServer) -> list[dict[str, Any]]:
    """What reached the fake Anthropic server: each a POST /v1/messages with a valid body."""
    bodies = []
    for received in server.requests:
        assert (received.method, received.path) == ("POST", "/v1/messages"), received
        assert received.headers["anthropic-version"] == "2023-06-01"
        assert_valid_anthropic_body(received.json)
        bodies.append(received.json)
    return bodies


def only_body(server: FakeServer) -> dict[str, Any]:
    bodies = anthropic_bodies(server)
    assert len(bodies) == 1, f"{len(bodies)} requests"
    return bodies[0]


def stderr_lines(done: subprocess.CompletedProcess[bytes]) -> list[str]:
    return done.stderr.decode().splitlines()


def error_lines(done: subprocess.CompletedProcess[bytes]) -> list[str]:
    return [line for line in stderr_lines(done) if line.startswith(PROG + "error:")]


def one_error(done: subprocess.CompletedProcess[bytes], code: int) -> str:
    """The run failed with `code` and said why in exactly one error line (a hint line may follow)."""
    assert done.returncode == code, (done.returncode, done.stderr.decode())
    errors = error_lines(done)
    assert len(errors) == 1, stderr_lines(done)
    return errors[0]


def write_config(cli_env: dict[str, str], text: str) -> Path:
    """The user's config file (0600, as protoshift wants it) in the test's own config home."""
    path = Path(cli_env["XDG_CONFIG_HOME"]) / "protoshift" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)
    return path


def logs(run_cli: Any, *args: str) -> list[dict[str, Any]]:
    """`protoshift logs --json ARGS`, one record per line."""
    done = run_cli("logs", "--json", *args)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]
