"""Issue 23, 7: one vocabulary across commands. Every command's --help ends with examples whose options
the command takes; help is as wide as the terminal; a short flag means one thing everywhere; JSON
output is --json; placeholders are capitals; a default is shown once; renamed spellings still work."""

from __future__ import annotations

import json
import re
import shlex
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command

from protoshift.cli.help import EXAMPLES
from protoshift.cli.main import app
from protoshift.cloud.kinds import BACKEND_NAMES
from tests.fakes import FakeServer, Received, Reply

from .conftest import RunCLI

ROOT = get_command(app)


def commands() -> list[tuple[str, Any]]:
    """(path, click command) for the root, every group and every command."""
    found = [("", ROOT)]

    def walk(command: Any, path: list[str]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            found.append((" ".join([*path, name]), sub))
            walk(sub, [*path, name])

    walk(ROOT, [])
    return found


def visible_options(command: Any) -> list[Any]:
    return [p for p in command.params if p.param_type_name == "option" and not p.hidden]


def help_text(run_cli: RunCLI, path: str, columns: int = 100) -> str:
    done = run_cli(*path.split(), "--help", env={"COLUMNS": str(columns)})
    assert done.returncode == 0, done.stderr
    return done.stdout.decode()


def test_every_command_has_examples_and_they_use_its_options() -> None:
    assert {path for path, _ in commands()} == set(EXAMPLES)
    for path, command in commands():
        short, examples = EXAMPLES[path]
        assert examples.strip(), path
        assert path == "" or short == command.get_short_help_str(), path
        if hasattr(command, "commands"):  # a group's examples are its commands'
            continue
        known = {name for param in command.params for name in (*param.opts, *param.secondary_opts)}
        for line in examples.strip().splitlines():
            words = shlex.split(line.partition("  #")[0], posix=True)
            start = next(
                i for i in range(len(words)) if words[i : i + 1 + len(path.split())] == ["protoshift", *path.split()]
            )
            for word in words[start:]:
                if word in ("|", ";", "<", ">") or word.endswith(";"):
                    break
                if word.startswith("-") and word != "-":
                    assert word in known, f"{path}: {line!r} uses {word}, which the command does not take"


@pytest.mark.parametrize("path", ["", "chat", "serve", "batch run"])
def test_help_shows_examples_as_written_and_uses_the_terminals_width(run_cli: RunCLI, path: str) -> None:
    wide = help_text(run_cli, path, columns=180)
    examples = wide.split("\nExamples:\n", 1)[1]
    for line in EXAMPLES[path][1].strip().splitlines():
        assert f"  {line}\n" in examples  # one a line, as written: not rewrapped
    described = [line for line in wide.split("Examples:")[0].splitlines() if not line.startswith("Usage:")]
    assert not any(line.rstrip().endswith("...") for line in described)  # nothing cut short (the root's commands)
    assert max(len(line) for line in wide.splitlines()) > 100  # wider than click's 80 columns
    narrow = help_text(run_cli, path, columns=80)
    assert max(len(line) for line in narrow.split("\nExamples:\n")[0].splitlines()) <= 80


def test_a_short_flag_means_one_thing_in_every_command() -> None:
    meanings: dict[str, set[str]] = defaultdict(set)
    for _, command in commands():
        for option in visible_options(command):
            long = next((o for o in option.opts if o.startswith("--")), None)
            for name in option.opts:
                if re.fullmatch(r"-[A-Za-z]", name):
                    meanings[name].add(str(long))
    clashes = {short: longs for short, longs in meanings.items() if len(longs) > 1}
    assert clashes == {}
    assert meanings["-n"] == {"--count"} and meanings["-s"] == {"--stream"} and meanings["-w"] == {"--workers"}


def test_one_placeholder_style_and_a_default_shown_once(run_cli: RunCLI) -> None:
    for path, command in commands():
        ctx = command.context_class(command, info_name=path or "protoshift")
        for param in command.params:
            record = param.get_help_record(ctx)
            if record is None or (param.param_type_name == "option" and param.is_flag):
                continue
            metavar = param.make_metavar(ctx)
            assert re.fullmatch(r"\[?[A-Z][A-Z_]*(\[:[A-Z]+\])?\]?(\.\.\.)?( [A-Z]+)*", metavar), (path, metavar)
        text = help_text(run_cli, path)
        assert "<" not in text.split("Examples:")[0].replace("<stdin>", ""), path  # no `<str>`, `<int range>`
        assert not re.search(r"x[<>]=", text), path  # no range notation
        assert not re.search(r"default: \(", text), path
        assert not re.search(r"\[default: \d+\.0\]", text), path
        for line in text.splitlines():
            assert line.count("[default:") <= 1, (path, line)


def test_backend_lists_its_choices(run_cli: RunCLI) -> None:
    text = " ".join(help_text(run_cli, "chat").split())
    assert f"{', '.join(BACKEND_NAMES[:-1])} or {BACKEND_NAMES[-1]}" in text
    done = run_cli("chat", "-b", "claude", "-p", "hi")
    assert done.returncode == 2
    assert all(name in done.stderr.decode() for name in BACKEND_NAMES)


def test_json_output_is_json_in_chat_too(run_cli: RunCLI) -> None:
    by_flag = run_cli("chat", "-b", "mock", "--json", "-p", "hi")
    by_format = run_cli("chat", "-b", "mock", "-f", "json", "-p", "hi")
    assert by_flag.returncode == by_format.returncode == 0, by_flag.stderr
    assert json.loads(by_flag.stdout)["choices"] == json.loads(by_format.stdout)["choices"]
    clash = run_cli("chat", "-b", "mock", "--json", "-f", "sse", "-p", "hi")
    assert clash.returncode == 2 and b"--json and --format sse" in clash.stderr


def test_the_old_spellings_still_work(run_cli: RunCLI, tmp_path: Path) -> None:
    assert run_cli("chat", "-b", "mock", "-p", "rivers of Spain").returncode == 0
    new = run_cli("logs", "--search", "rivers", "--json")
    old = run_cli("logs", "-s", "rivers", "--json")
    assert new.returncode == old.returncode == 0 and new.stdout == old.stdout and new.stdout

    def batches(received: Received) -> Reply:
        limit = received.path.partition("limit=")[2][:2]
        return Reply(body=json.dumps({"data": [], "has_more": False, "first_id": None, "last_id": limit}).encode())

    with FakeServer(batches) as server:
        env = {"ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": server.url}
        for args in (["-n", "7"], ["--limit", "7"]):
            done = run_cli("batch", "list", *args, "--timeout", "5", "--max-retries", "0", env=env)
            assert done.returncode == 0, done.stderr
        assert [r.path.partition("?")[2] for r in server.requests] == ["limit=7", "limit=7"]


@pytest.mark.parametrize("args", [["cancel", "msgbatch_01"], ["list"]])
def test_batch_cancel_and_list_take_timeout_and_max_retries(run_cli: RunCLI, args: list[str]) -> None:
    release = threading.Event()  # Anthropic says nothing until the test ends
    with FakeServer(lambda received: Reply(body=b"{}", hold=release)) as server:
        env = {"ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": server.url}
        try:
            done = run_cli("batch", *args, "--timeout", "0.3", "--max-retries", "0", env=env)
        finally:
            release.set()
        assert done.returncode == 1
        assert "timed out" in done.stderr.decode()
        # --max-retries 0: no second attempt (on a busy machine the first may time out before the
        # fake has read it)
        assert "retrying" not in done.stderr.decode() and len(server.requests) <= 1
