"""`protoshift keys add|list|remove|usage` through the real command line: a key is printed once, by `add`,
alone on stdout; nothing else ever shows it (nor its digest); this machine's keys by default, the shared
Redis with --state (or [state] url in the config)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from protoshift.gateway.clients.records import NANO, Usage, digest, periods
from protoshift.gateway.clients.sqlite import FILENAME, SQLiteKeys
from tests.redis_server import RedisServer

from .conftest import RunCLI

SECRET = re.compile(r"ps-[A-Za-z0-9_-]{43}")


def add(run_cli: RunCLI, *args: str) -> str:
    done = run_cli("keys", "add", *args)
    assert done.returncode == 0, done.stderr
    secret = done.stdout.decode().strip()
    assert SECRET.fullmatch(secret), done.stdout  # the key alone: `KEY=$(protoshift keys add NAME)` takes it
    assert secret not in done.stderr.decode()
    return secret


def test_add_prints_the_key_once_and_list_never_shows_it(run_cli: RunCLI, cli_env: dict[str, str]) -> None:
    alice = add(run_cli, "alice", "--rpm", "60", "--tpm", "10000", "--budget", "5", "--period", "day",
                "--models", "gpt-4.1*,claude-*", "--models", "o3")  # fmt: skip
    bob = add(run_cli, "bob")
    assert alice != bob
    listed = run_cli("keys", "list")
    text = listed.stdout.decode()
    assert "alice  rpm 60, tpm 10000, $5/day, models gpt-4.1* claude-* o3" in text and "bob  no limits" in text
    rows = [json.loads(line) for line in run_cli("keys", "list", "--json").stdout.splitlines()]
    assert [row["name"] for row in rows] == ["alice", "bob"] and rows[0]["models"] == ["gpt-4.1*", "claude-*", "o3"]
    everything = text + listed.stderr.decode() + json.dumps(rows)
    assert alice not in everything and bob not in everything and digest(alice) not in everything
    stored = (Path(cli_env["XDG_DATA_HOME"]) / "protoshift" / FILENAME).read_bytes()
    assert alice.encode() not in stored and digest(alice).encode() in stored  # its SHA-256 only


def test_remove_and_usage(run_cli: RunCLI, cli_env: dict[str, str]) -> None:
    add(run_cli, "alice", "--budget", "2")
    path = Path(cli_env["XDG_DATA_HOME"]) / "protoshift" / FILENAME
    current = periods()

    async def used() -> None:  # what a serve worker adds
        store = SQLiteKeys(path)
        await store.add_usage({("alice", current.day, current.month): Usage(3, 120, 45, 15 * NANO // 10_000)})
        await store.aclose()

    asyncio.run(used())
    text = run_cli("keys", "usage").stdout.decode()
    assert text.startswith("alice  today: 3 requests, 120 tokens in, 45 out, $0.0015;")
    assert "this month: 3 requests, 120 tokens in, 45 out, $0.0015 of $2" in text  # --budget alone: per month
    rows = [json.loads(line) for line in run_cli("keys", "usage", "alice", "--json").stdout.splitlines()]
    assert rows[0] == {"name": "alice", "period": current.day, "requests": 3, "tokens_in": 120, "tokens_out": 45,
                       "spend": 0.0015}  # fmt: skip
    done = run_cli("keys", "remove", "alice")
    assert done.returncode == 0 and "removed" in done.stderr.decode()
    again = run_cli("keys", "remove", "alice")
    assert again.returncode == 2 and "no key named 'alice'" in again.stderr.decode()
    assert run_cli("keys", "usage", "alice").returncode == 2


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["a b"], "a key's name is 1 to 64 letters"),
        (["alice", "--period", "day"], "give --budget too"),
        (["alice", "--rpm", "0"], "--rpm"),
        (["alice", "--state", "http://127.0.0.1:6379"], "--state: expected a redis://"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(run_cli: RunCLI, args: list[str], said: str) -> None:
    done = run_cli("keys", "add", *args)
    assert done.returncode == 2 and said in done.stderr.decode() and done.stdout == b""


def test_a_name_is_taken_once(run_cli: RunCLI) -> None:
    add(run_cli, "alice")
    done = run_cli("keys", "add", "alice")
    assert done.returncode == 2 and "a key named 'alice' exists" in done.stderr.decode() and done.stdout == b""


def test_with_state_the_keys_live_in_redis(run_cli: RunCLI, cli_env: dict[str, str], redis_server: RedisServer) -> None:
    secret = add(run_cli, "alice", "--rpm", "5", "--state", redis_server.url)
    assert run_cli("keys", "list").stdout == b""  # this machine's keys: none
    config = Path(cli_env["XDG_CONFIG_HOME"]) / "protoshift" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'[state]\nurl = "{redis_server.url}"\n')
    config.chmod(0o600)
    listed = run_cli("keys", "list").stdout.decode()  # [state] url, as serve reads it
    assert listed.startswith("alice  rpm 5") and secret not in listed
    assert run_cli("keys", "remove", "alice").returncode == 0
    redis_server.stop()
    down = run_cli("keys", "list")
    assert down.returncode == 1 and "the keys' store did not answer" in down.stderr.decode()
