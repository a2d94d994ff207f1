"""JSON in that is not plain JSON: exit 2, one line naming the place (`file:line:col` or the JSON path),
nothing on stdout, nothing sent, never a traceback. JSON out is always JSON. (Issue 9, items 4 and 5.)"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.batch.conftest import batch_line
from tests.cli.conftest import RunCLI
from tests.fakes import FakeServer, anthropic_message_reply

REQUEST = '{"model": "claude-test", "messages": [{"role": "user", "content": %s}], "max_tokens": %s}'
MESSAGE = '{"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": [{"type": "text", "text": %s}], "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": %s}}'

HOSTILE = [  # (the JSON text of a string value, of a number value, what the error line says)
    ('"hi"', "NaN", "max_tokens: NaN is not a JSON number"),
    ('"hi"', "-Infinity", "max_tokens: -Infinity is not a JSON number"),
    ('"hi"', "1e400", "max_tokens: Infinity is not a JSON number"),
    ('"hi"', "1" + "0" * 5000, "max_tokens: is an integer of more than 100 digits"),
    ('"a\\ud800b"', "10", "content: contains a lone surrogate (\\ud800)"),
    ('"\\udfff"', "10", "content: contains a lone surrogate (\\udfff)"),
    ("[" * 250 + "]" * 250, "10", "nested deeper than 200 levels"),
    ("[" * 50_000 + "]" * 50_000, "10", ":1:"),  # deeper than Python's parser goes: the place by line and column
]


def _checked(done: subprocess.CompletedProcess[bytes], said: str) -> None:
    assert done.returncode == 2, done.stderr.decode()
    stderr = done.stderr.decode()
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("protoshift: error: "), lines
    assert said in lines[0], lines[0]
    assert done.stdout == b""


@pytest.mark.parametrize(("text", "number", "said"), HOSTILE)
def test_translate_request_refuses_it_with_the_place(run_cli: RunCLI, text: str, number: str, said: str) -> None:
    _checked(run_cli("translate", "request", input=REQUEST % (text, number)), said)


@pytest.mark.parametrize(("text", "number", "said"), HOSTILE)
def test_translate_response_refuses_it_with_the_place(run_cli: RunCLI, text: str, number: str, said: str) -> None:
    said = said.replace("max_tokens", "output_tokens").replace("content:", "text:")
    _checked(run_cli("translate", "response", input=MESSAGE % (text, number)), said)


def test_chat_refuses_it_and_sends_nothing(run_cli: RunCLI) -> None:
    with FakeServer(lambda received: anthropic_message_reply("never")) as server:
        env = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-ant-test"}
        for text, number, said in HOSTILE[:5]:
            _checked(run_cli("chat", "-f", "json", input=REQUEST % (text, number), env=env), said)
            _checked(
                run_cli("chat", "-f", "json", "--backend", "openai", input=REQUEST % (text, number), env=env), said
            )
        assert server.requests == []


def test_a_jsonl_line_is_named_by_its_line_number(run_cli: RunCLI) -> None:
    lines = "\n".join([REQUEST % ('"fine"', "10"), REQUEST % ('"x\\udc00"', "10"), REQUEST % ('"ok"', "NaN")])
    done = run_cli("translate", "request", "--jsonl", input=lines)
    assert done.returncode == 2 and b"Traceback" not in done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert "error" not in out[0]
    assert out[1]["error"]["line"] == 2 and "lone surrogate" in out[1]["error"]["message"]
    assert out[2]["error"]["line"] == 3 and "NaN" in out[2]["error"]["message"]


def test_batch_validate_only_names_the_line_a_surrogate_is_on(run_cli: RunCLI, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    good = json.dumps(batch_line("a", "fine"))
    source.write_text(good + "\n" + good.replace('"a"', '"b"').replace("fine", "bad \\ud800") + "\n")
    done = run_cli("batch", "run", str(source), "--validate-only", "--backend", "mock")
    assert done.returncode == 2, done.stderr.decode()
    assert f"{source}:2: body.messages[0].content: contains a lone surrogate" in done.stderr.decode()


def test_text_from_the_command_line_that_is_not_utf8_is_refused_or_shown_escaped(
    run_cli: RunCLI, tmp_path: Path
) -> None:
    """Arguments and file names that are not valid UTF-8 reach Python with lone surrogates in them."""
    odd = os.fsdecode(b"hi \xff")
    done = run_cli("chat", "--backend", "mock", "-p", odd, "-f", "json")
    _checked(done, "messages[0].content: contains a lone surrogate (\\udcff)")

    source = tmp_path / os.fsdecode(b"f\xff.jsonl")
    source.write_text(REQUEST % ('"fine"', "10") + "\n{broken\n")
    done = run_cli("translate", "request", "--jsonl", str(source))
    assert done.returncode == 2 and b"Traceback" not in done.stderr, done.stderr.decode()
    error = json.loads(done.stdout.splitlines()[1])["error"]
    assert error["line"] == 2 and error["message"].startswith(f"{tmp_path}/f\\udcff.jsonl:2:2: invalid JSON")


def test_an_input_that_never_ends_is_read_only_so_far(monkeypatch: pytest.MonkeyPatch) -> None:
    from protoshift.cli.exits import InputError
    from protoshift.cli.io import inputs

    monkeypatch.setattr(inputs, "MAX_INPUT_BYTES", 1 << 20)  # `translate request /dev/zero` read 1 GiB, then said so
    with pytest.raises(InputError, match="/dev/zero: more than"):
        inputs.Source("/dev/zero", Path("/dev/zero")).read_bytes()
