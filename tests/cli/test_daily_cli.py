"""Issue 12, part 1, offline: what a new user tripped on, through the real command line (mock backend and
--dry-run; no network). Piped text, flags that mean one thing everywhere, errors of one line, files
with the umask's mode, and the README's examples."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import protoshift
from tests.oracles import assert_valid_anthropic_body

from .conftest import RunCLI

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HELLO = {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "Hi"}]}


def dry_body(run_cli: RunCLI, *args: str, stdin: str = "") -> dict[str, object]:
    done = run_cli("chat", "--backend", "mock", "--dry-run", *args, input=stdin)
    assert done.returncode == 0, done.stderr
    body: dict[str, object] = json.loads(done.stdout)
    assert_valid_anthropic_body(body)
    return body


def lines(done: subprocess.CompletedProcess[bytes]) -> list[str]:
    return done.stderr.decode().splitlines()


def one_line_usage_error(done: subprocess.CompletedProcess[bytes]) -> list[str]:
    """Exit 2 with protoshift's one error line and at most one hint: not click's usage block."""
    assert done.returncode == 2, done.stderr
    said = lines(done)
    assert said[0].startswith("protoshift: error: "), said
    assert len(said) <= 2 and all(line.startswith("protoshift: hint: ") for line in said[1:]), said
    assert "Usage:" not in done.stderr.decode() and "Traceback" not in done.stderr.decode()
    return said


@pytest.fixture
def umask_022() -> Iterator[None]:
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- 3. piped text is the message ------------------------------------------------------------------


def test_piped_plain_text_is_the_users_message(run_cli: RunCLI) -> None:
    body = dry_body(run_cli, stdin="hello there\n")
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hello there\n"}]}]


def test_piped_text_that_starts_with_a_brace_is_a_request_and_broken_json_stays_an_error(run_cli: RunCLI) -> None:
    assert dry_body(run_cli, stdin="  \n" + json.dumps(HELLO))["model"] == "claude-sonnet-4-5"
    done = run_cli("chat", "--backend", "mock", input='{"model": "m", "messages": [')
    assert done.returncode == 2
    assert "<stdin>:1:" in done.stderr.decode() and "invalid JSON" in done.stderr.decode()


def test_piped_text_is_answered_end_to_end(run_cli: RunCLI) -> None:
    done = run_cli("chat", "--backend", "mock", "-f", "text", input="hello there")
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"You said: hello there\n"


# -- 4. flags that mean one thing in every command -------------------------------------------------


def test_translate_takes_d_for_a_folder_and_o_for_a_file(run_cli: RunCLI, tmp_path: Path, umask_022: None) -> None:
    out = tmp_path / "out"
    done = run_cli("translate", "request", str(EXAMPLES / "hello.json"), str(EXAMPLES / "tools.json"), "-d", str(out))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["hello.json", "tools.json"]
    target = tmp_path / "body.json"
    done = run_cli("translate", "request", str(EXAMPLES / "hello.json"), "-o", str(target))
    assert done.returncode == 0, done.stderr
    assert done.stdout == b""
    assert_valid_anthropic_body(json.loads(target.read_text()))
    done = run_cli("translate", "request", str(EXAMPLES / "hello.json"), "-o", "-")
    assert_valid_anthropic_body(json.loads(done.stdout))
    two = run_cli("translate", "request", str(EXAMPLES / "hello.json"), str(EXAMPLES / "tools.json"), "-o", str(target))
    assert two.returncode == 2 and "--out-dir DIR (-d" in two.stderr.decode()


def test_batch_run_says_o_is_required_and_takes_dash_for_stdout(run_cli: RunCLI, tmp_path: Path) -> None:
    help_text = run_cli("batch", "run", "--help").stdout.decode()
    assert "Required, except with --validate-only" in " ".join(help_text.split()).replace(
        "validate- only", "validate-only"
    )
    assert "-j, --concurrency" in help_text
    done = run_cli("batch", "run", str(EXAMPLES / "requests.jsonl"), "-o", "-", "-j", "2", "--backend", "mock")
    assert done.returncode == 0, done.stderr
    answered = [json.loads(line) for line in done.stdout.splitlines()]
    assert sorted(line["custom_id"] for line in answered) == ["cat-fr", "haiku", "happy", "json-ok"]
    assert all(line["error"] is None for line in answered)
    resumed = run_cli("batch", "run", str(EXAMPLES / "requests.jsonl"), "-o", "-", "--resume", "--backend", "mock")
    assert resumed.returncode == 2 and "--resume" in resumed.stderr.decode()
    missing = run_cli("batch", "run", str(EXAMPLES / "requests.jsonl"), "--backend", "mock")
    assert missing.returncode == 2 and "-o -" in missing.stderr.decode()


def test_batch_run_c_was_renamed_and_the_hint_says_so(run_cli: RunCLI) -> None:
    said = one_line_usage_error(run_cli("batch", "run", str(EXAMPLES / "requests.jsonl"), "-c", "4", "-o", "-"))
    assert said[1] == "protoshift: hint: -j N (--concurrency N) sets how many requests are in flight"


def test_version(run_cli: RunCLI) -> None:
    done = run_cli("--version")
    assert done.returncode == 0
    assert done.stdout.decode() == f"protoshift {protoshift.__version__}\n"


def test_option_sets_request_fields_as_json_or_text(run_cli: RunCLI) -> None:
    body = dry_body(run_cli, "-p", "hi", "-O", "temperature", "0.2", "-O", "stop", '["END"]', "-O", "top_k", "5")
    assert body["temperature"] == 0.2 and body["stop_sequences"] == ["END"] and body["top_k"] == 5
    done = run_cli("chat", "--backend", "mock", "--dry-run", "-p", "hi", "-O", "user", "alice")
    assert json.loads(done.stdout)["metadata"] == {"user_id": "alice"}


def test_a_mistyped_option_key_is_a_note_not_silence(run_cli: RunCLI) -> None:
    done = run_cli("chat", "--backend", "mock", "--dry-run", "-p", "hi", "-O", "temprature", "0.5")
    assert done.returncode == 0
    assert "protoshift: note: temprature: dropped: unknown field, not sent" in lines(done)
    assert "temprature" not in json.loads(done.stdout)


def test_temperature_as_a_flag_points_at_option(run_cli: RunCLI) -> None:
    said = one_line_usage_error(run_cli("chat", "--backend", "mock", "-p", "hi", "--temperature", "0.2"))
    assert said == [
        "protoshift: error: no such option: --temperature",
        "protoshift: hint: request fields are set with -O KEY VALUE: -O temperature VALUE",
    ]


# -- 5. errors of one line ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["chat", "--frobnicate"], "no such option: --frobnicate"),
        (["chat", "-p", "hi", "--timeout", "abc"], "invalid value for '--timeout': 'abc' is not a valid float"),
        (["chat", "a.json", "b.json"], "got unexpected extra argument(s) (b.json)"),
        (["translate", "request", "--nope"], "no such option: --nope"),
    ],
)
def test_clicks_usage_errors_are_one_line(run_cli: RunCLI, args: list[str], said: str) -> None:
    assert one_line_usage_error(run_cli(*args))[0] == f"protoshift: error: {said}"


def test_chat_on_a_folder_says_it_is_a_folder(run_cli: RunCLI, tmp_path: Path) -> None:
    said = one_line_usage_error(run_cli("chat", "--backend", "mock", str(tmp_path)))
    assert said[0] == f"protoshift: error: {tmp_path}: is a folder, not a request file"


def test_translate_stream_of_a_json_file_is_not_an_sse_stream(run_cli: RunCLI) -> None:
    for side in ("openai", "anthropic"):
        done = run_cli("translate", "stream", "--from", side, str(EXAMPLES / "hello.json"))
        said = one_line_usage_error(done)
        assert said[0] == f"protoshift: error: {EXAMPLES / 'hello.json'}: not an SSE stream (no event: or data: lines)"
        assert done.stdout == b""


def test_quiet_and_verbose_together_are_bad_usage(run_cli: RunCLI) -> None:
    said = one_line_usage_error(run_cli("chat", "--backend", "mock", "-p", "hi", "-q", "-v"))
    assert "-q" in said[0] and "-v" in said[0]
    assert one_line_usage_error(run_cli("translate", "request", "-q", "-v", str(EXAMPLES / "hello.json")))


def test_a_request_file_and_piped_stdin_are_refused(run_cli: RunCLI) -> None:
    done = run_cli("chat", "--backend", "mock", str(EXAMPLES / "hello.json"), input="also this")
    said = one_line_usage_error(done)
    assert "piped stdin" in said[0]
    assert said[1].startswith("protoshift: hint: pass - to read the request from stdin, or --no-stdin")
    quiet = run_cli("chat", "--backend", "mock", "-f", "json", str(EXAMPLES / "hello.json"), input="")
    assert quiet.returncode == 0, quiet.stderr  # an empty or closed stdin is no second input


# -- 7. files the user asked for have the umask's mode ----------------------------------------------------


def test_outputs_get_the_umasks_mode(run_cli: RunCLI, tmp_path: Path, umask_022: None) -> None:
    out = tmp_path / "out"
    assert run_cli("translate", "request", str(EXAMPLES / "hello.json"), "-d", str(out)).returncode == 0
    assert mode(out / "hello.json") == 0o644
    single = tmp_path / "single.json"
    assert run_cli("translate", "response", str(EXAMPLES / "anthropic-message.json"), "-o", str(single)).returncode == 0
    assert mode(single) == 0o644
    results = tmp_path / "results.jsonl"
    assert run_cli("batch", "run", str(EXAMPLES / "requests.jsonl"), "-o", str(results), "-b", "mock").returncode == 0
    assert mode(results) == 0o644
    os.umask(0o077)
    private = tmp_path / "private.json"
    assert run_cli("translate", "request", str(EXAMPLES / "hello.json"), "-o", str(private)).returncode == 0
    assert mode(private) == 0o600


def test_the_log_is_private(run_cli: RunCLI, cli_env: dict[str, str], umask_022: None) -> None:
    assert run_cli("chat", "--backend", "mock", "-p", "hi", "-f", "json").returncode == 0
    log = Path(cli_env["XDG_DATA_HOME"]) / "protoshift" / "logs.db"
    assert mode(log) == 0o600 and mode(log.parent) == 0o700


# -- 8. the README ------------------------------------------------------------------------------------


def test_the_sample_jsonl_files_one_good_one_bad(run_cli: RunCLI) -> None:
    good = run_cli("batch", "run", str(EXAMPLES / "requests.jsonl"), "--validate-only")
    assert good.returncode == 0, good.stderr
    bad = run_cli("batch", "run", str(EXAMPLES / "requests-bad.jsonl"), "--validate-only")
    assert bad.returncode == 2 and "nothing was sent" in bad.stderr.decode()


def test_the_main_example_prints_no_note(run_cli: RunCLI) -> None:
    done = run_cli("chat", "--backend", "mock", "--stream", str(EXAMPLES / "hello.json"))
    assert done.returncode == 0
    assert done.stderr == b"", done.stderr


def test_the_readme_jq_example_changes_the_users_message(run_cli: RunCLI, cli_env: dict[str, str]) -> None:
    readme = (EXAMPLES.parent / "README.md").read_text()
    line = next(line for line in readme.splitlines() if line.startswith("jq ") and "| protoshift chat -p" in line)
    filter_ = line.split("'")[1]
    jq = subprocess.run(["jq", filter_, str(EXAMPLES / "hello.json")], capture_output=True, check=True)
    request = json.loads(jq.stdout)
    assert (
        request["messages"][0] == json.loads((EXAMPLES / "hello.json").read_text())["messages"][0]
    )  # the system prompt
    body = dry_body(run_cli, "-p", "And again?", stdin=jq.stdout.decode())
    assert body["system"] == [{"type": "text", "text": "You are a concise assistant."}]


def test_the_readme_documents_what_verbose_shows(run_cli: RunCLI) -> None:
    readme = (EXAMPLES.parent / "README.md").read_text()
    assert "-v` (requests and responses" not in readme
    assert "api_key" in readme.split("## Interactive chat")[0]
