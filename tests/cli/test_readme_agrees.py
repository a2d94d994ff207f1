"""Issue 23, 8: the README and the product agree. The README's commands are run as written (with
the mock backend where one would ask a model), the files it names ship, its development commands
work from a clone, and `--explain` says what is sent."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from protoshift.cli.chat.conversation import COMMANDS, EFFORT_CHOICES

from .conftest import RunCLI

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def readme_line(start: str) -> list[str]:
    """The README's command line that starts with `start`, as the shell splits it (comment cut)."""
    (line,) = [line for line in README.splitlines() if line.startswith(start)]
    return shlex.split(line.partition("  #")[0])


def test_effort_is_written_one_way() -> None:
    assert f"`/effort {EFFORT_CHOICES}`" in README
    assert COMMANDS["effort"].startswith(f"{EFFORT_CHOICES} —")
    assert len(set(re.findall(r"/effort ([a-z|]+)", README))) == 1


def test_the_files_the_readme_names_ship() -> None:
    named = set(re.findall(r"\bexamples/[\w.-]+", README))
    assert "examples/anthropic-batch-results.jsonl" in named
    assert sorted(name for name in named if not (ROOT / name).is_file()) == []


def test_the_development_commands_stay_inside_the_clone() -> None:
    development = README.split("## Development", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    assert "../" not in development  # a clone has nothing beside it


def test_the_option_example_does_not_defeat_itself(run_cli: RunCLI) -> None:
    args = readme_line('protoshift chat -p "Be creative" -O')
    done = run_cli(*args[1:], "-b", "mock", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""  # no field dropped
    body = json.loads(done.stdout)
    given = dict(zip(args[args.index("-O") + 1 :: 3], args[args.index("-O") + 2 :: 3], strict=True))
    assert body["temperature"] == float(given["temperature"])


def test_the_batch_results_example_runs(run_cli: RunCLI) -> None:
    args = readme_line("protoshift translate batch-results")
    done = run_cli(*args[1:3], str(ROOT / args[3]))  # the path from the clone
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["custom_id"] for line in lines] == ["happy", "cat-fr", "haiku", "late"]
    assert lines[0]["response"]["body"]["choices"][0]["message"]["content"] == "Joyful."
    assert lines[2]["error"]["code"] == "invalid_request_error" and lines[3]["error"]["code"] == "expired"


TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]


@pytest.mark.parametrize(
    ("extra", "sent", "row"),
    [
        ({"parallel_tool_calls": True, "tools": TOOLS}, False, "defaulted  nothing sent: parallel calls are"),
        ({"parallel_tool_calls": False}, False, "defaulted  nothing sent: the request offers no tools"),
        ({"parallel_tool_calls": False, "tools": TOOLS}, True, "mapped     -> tool_choice.disable_parallel_tool_use"),
    ],
)
def test_explain_says_parallel_tool_calls_sends_nothing_when_it_does_not(
    run_cli: RunCLI, extra: dict[str, object], sent: bool, row: str
) -> None:
    request = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], **extra}
    done = run_cli("translate", "request", "--explain", "--strict", input=json.dumps(request))
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert ("disable_parallel_tool_use" in json.dumps(body)) is sent
    (line,) = [line for line in done.stderr.decode().splitlines() if line.startswith("parallel_tool_calls")]
    assert " ".join(line.split()[1:]).startswith(" ".join(row.split()))
