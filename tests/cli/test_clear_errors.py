"""Issue 23, 9: the errors a new user met that were not one clear line. Each is driven through the
real command line: one `error:` line that says what and where, a hint that names the way out, exit 2
for bad input (1 for a provider that cannot be reached), and no library internals."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from tests.fakes import FakeServer

from .conftest import RunCLI

PROG = "protoshift: "


def lines(stderr: bytes) -> list[str]:
    return stderr.decode().splitlines()


def test_an_unreachable_port_is_where_and_why_in_words(run_cli: RunCLI) -> None:
    with socket.socket() as unused:  # bound, never listening: the connection is refused
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
        for backend, env in (("anthropic", "ANTHROPIC_API_KEY"), ("openai", "OPENAI_API_KEY")):
            url = f"http://127.0.0.1:{port}" + ("/v1" if backend == "openai" else "")
            args = ("chat", "-b", backend, "--base-url", url, "--max-retries", "0", "--no-breaker", "-p", "hi")
            done = run_cli(*args, env={env: "sk-test"})
            assert done.returncode == 1 and done.stdout == b""
            assert lines(done.stderr) == [
                f"{PROG}error: {backend}: cannot connect to 127.0.0.1:{port} (connection refused)",
                f"{PROG}hint: check the network and the base URL",
            ]
        # retries say the same, in the same words (no aiohttp internals, no `ssl:default` for http://)
        done = run_cli("chat", "--base-url", f"http://127.0.0.1:{port}", "--max-retries", "1", "--no-breaker",
                       "-p", "hi", env={"ANTHROPIC_API_KEY": "sk-test"})  # fmt: skip
        text = done.stderr.decode()
        assert "retrying in" in text and "after 2 attempts" in text
        for internal in ("ssl:default", "Connect call failed", "ConnectError", "Cannot connect to host"):
            assert internal not in text, text


def test_a_key_command_that_is_not_installed_says_so(run_cli: RunCLI, tmp_path: Path) -> None:
    config = tmp_path / "protoshift.toml"
    config.write_text('[anthropic]\napi_key_cmd = "protoshift-no-such-pass show anthropic"\n')
    done = run_cli("chat", "-p", "hi", env={"PROTOSHIFT_CONFIG": str(config)})
    assert done.returncode == 2
    assert lines(done.stderr) == [
        f"{PROG}error: api_key_cmd for anthropic: command not found: protoshift-no-such-pass",
        f"{PROG}hint: check [anthropic] in {config}",
    ]


def test_a_trailing_comma_is_reported_where_it_is(run_cli: RunCLI, tmp_path: Path) -> None:
    request = tmp_path / "req.json"
    request.write_text('{\n  "model": "gpt-4o",\n  "messages": [\n    {"role": "user", "content": "hi"},\n  ]\n}\n')
    done = run_cli("translate", "request", str(request))
    assert done.returncode == 2
    column = len('    {"role": "user", "content": "hi"},')
    assert lines(done.stderr) == [
        f"{PROG}error: {request}:4:{column}: invalid JSON: trailing comma (JSON allows none before ] or }})"
    ]
    done = run_cli("chat", "-b", "mock", input='{"model": "m",\n "messages": []  ,\n}')
    assert done.returncode == 2
    assert "<stdin>:2:18: invalid JSON: trailing comma" in done.stderr.decode()
    # a missing value is still that, where it is
    done = run_cli("translate", "request", input='{"model": ,}')
    assert "<stdin>:1:11: invalid JSON: Expecting value" in done.stderr.decode()


def test_a_request_given_to_translate_response_is_named_a_request(run_cli: RunCLI, tmp_path: Path) -> None:
    request = tmp_path / "hello.json"
    request.write_text(json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}))
    for side in ("openai", "anthropic", "responses"):
        done = run_cli("translate", "response", "--from", side, str(request))
        assert done.returncode == 2 and done.stdout == b""
        *errors, hint = lines(done.stderr)
        assert len(errors) == 1 and errors[0].startswith(f"{PROG}error: {request}: ")
        assert hint == f"{PROG}hint: {request} is a request, not a response: protoshift translate request takes it"


def test_a_port_in_use_hints_port(run_cli: RunCLI) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli("serve", "-b", "mock", "--port", str(port))
    assert done.returncode == 2
    assert lines(done.stderr) == [
        f"{PROG}error: cannot listen on 127.0.0.1:{port}: Address already in use",
        f"{PROG}hint: another program has that port: --port N picks another (--port 0: any free one)",
    ]


def test_an_option_without_its_value_points_at_the_commands_help(run_cli: RunCLI) -> None:
    for args, command in ((["chat", "-p"], "protoshift chat"), (["batch", "list", "-n"], "protoshift batch list")):
        done = run_cli(*args)
        assert done.returncode == 2
        assert lines(done.stderr) == [
            f"{PROG}error: option '{args[-1]}' requires an argument",
            f"{PROG}hint: {command} --help lists what it takes",
        ]


def test_a_dry_run_to_a_remote_http_url_is_not_refused(run_cli: RunCLI) -> None:
    with FakeServer(lambda received: None) as never:  # nothing may reach any server
        args = ("chat", "-b", "openai", "--base-url", "http://models.example.com/v1", "--dry-run", "-p", "hi")
        done = run_cli(*args, env={"OPENAI_API_KEY": "sk-test-dry-Hq8", "OPENAI_BASE_URL": never.url})
        assert never.requests == []
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["messages"] == [{"role": "user", "content": "hi"}]
    (note,) = lines(done.stderr)
    assert note.startswith(f"{PROG}note: openai: refusing to send the API key in clear text to models.example.com")
    assert "the real run would be refused" in note and "sk-test-dry-Hq8" not in done.stdout.decode() + note
    # the real run is refused, as before
    done = run_cli(*args[:-3], "-p", "hi", env={"OPENAI_API_KEY": "sk-test-dry-Hq8"})
    assert done.returncode == 2 and "refusing to send the API key in clear text" in done.stderr.decode()
