"""Issue 23, 2: protoshift inside a shell loop that reads a file. The loop's stdin is that file: without
--no-stdin the first run takes the rest of it (and says so on stderr); with it, each run gets only its
own -p or FILE, as `ssh -n` gives."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from .conftest import PROTOSHIFT, RunCLI


def shell(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["bash", "-c", script], cwd=cwd, env={**env, "PS": PROTOSHIFT}, capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.mark.process
def test_a_loop_over_questions_asks_each_one_with_no_stdin(tmp_path: Path, cli_env: dict[str, str]) -> None:
    (tmp_path / "questions.txt").write_text("Name a river\nName a mountain\nName a lake\n")
    loop = 'while read -r q; do "$PS" chat --backend mock -f text {flag} -p "$q"; done < questions.txt'
    safe = shell(loop.format(flag="--no-stdin"), tmp_path, cli_env)
    assert safe.returncode == 0, safe.stderr
    assert safe.stdout.splitlines() == [
        "You said: Name a river",
        "You said: Name a mountain",
        "You said: Name a lake",
    ]
    assert safe.stderr == ""
    # without it the first run takes the rest of the file, and says so in one line
    unsafe = shell(loop.format(flag=""), tmp_path, cli_env)
    assert unsafe.stdout.count("You said:") == 1
    assert unsafe.stderr.splitlines() == [
        "protoshift: note: the text piped in (2 lines, 28 bytes) was added to -p's message;"
        " --no-stdin leaves stdin alone"
    ]


@pytest.mark.process
def test_a_loop_over_request_files_sends_each_with_no_stdin(tmp_path: Path, cli_env: dict[str, str]) -> None:
    for n in range(3):
        body = {"model": "claude-mock-1", "messages": [{"role": "user", "content": f"file {n}"}]}
        (tmp_path / f"r{n}.json").write_text(json.dumps(body))
    (tmp_path / "list.txt").write_text("r0.json\nr1.json\nr2.json\n")
    loop = 'while read -r f; do "$PS" chat --backend mock {flag} "$f" | grep -o "You said: file [0-9]"; done < list.txt'
    safe = shell(loop.format(flag="--no-stdin"), tmp_path, cli_env)
    assert safe.stdout.splitlines() == ["You said: file 0", "You said: file 1", "You said: file 2"], safe.stderr
    unsafe = shell(loop.format(flag=""), tmp_path, cli_env)
    said = unsafe.stderr.splitlines()
    assert said[0] == "protoshift: error: r0.json and piped stdin: two inputs, and one would be ignored"
    assert "--no-stdin" in said[1]


def test_no_stdin_in_every_command_that_reads_stdin(run_cli: RunCLI, tmp_path: Path) -> None:
    request = tmp_path / "hello.json"
    request.write_text(json.dumps({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "Hi"}]}))
    piped = '{"model": "m", "messages": []}'
    for command in (["translate", "request"], ["chat", "--backend", "mock", "--dry-run"]):
        done = run_cli(*command, "--no-stdin", str(request), input=piped)
        assert done.returncode == 0, done.stderr
    done = run_cli("translate", "request", "--no-stdin", input=piped)  # nothing else to read: stdin is empty
    assert done.returncode == 2
    assert b"<stdin>" in done.stderr
    done = run_cli("chat", "--backend", "mock", "--dry-run", "-q", "-p", "Summarize:", input="notes\n")
    assert done.returncode == 0
    assert done.stderr == b""  # -q: the note is not an error
