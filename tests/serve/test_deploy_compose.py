"""docs/deploy: the compose file's `protoshift serve` runs as written — its flags exist and go together, it
shares its state through Redis, `/healthz` answers the load balancer without a key, the provider is reached
with a server key, and SIGTERM ends it with exit 0 — and the Caddyfile sends to every replica the compose
file runs. Only the listening address, the port and the Redis URL are the test's (127.0.0.1, a free port,
a real redis-server on loopback)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.fakes import anthropic_message_reply
from tests.redis_server import RedisServer

from .conftest import ServeProcess, serve_env

pytestmark = pytest.mark.process  # real serve processes (and a redis-server): the second step

DEPLOY = Path(__file__).resolve().parents[2] / "docs" / "deploy"
COMPOSE = (DEPLOY / "compose.yaml").read_text()
CADDYFILE = (DEPLOY / "Caddyfile").read_text()
SERVER_KEY = "deploy-test-server-key"


def serve_args() -> list[str]:
    """The replicas' `command:` list (after ENTRYPOINT ["protoshift", "serve"])."""
    block = re.search(r"\n  command:\n((?:    - .*\n)+)", COMPOSE)
    assert block, "no command list in the x-protoshift block"
    return [item.strip().strip('"') for item in re.findall(r"    - (.*)\n", block.group(1))]


def replaced(args: list[str], **values: str) -> list[str]:
    """`args` with the value after each `--flag` named in `values` (host="...") replaced."""
    out = list(args)
    for flag, value in values.items():
        at = out.index("--" + flag.replace("_", "-"))
        out[at + 1] = value
    return out


def test_the_caddyfile_sends_to_every_replica_the_compose_file_runs() -> None:
    replicas = sorted(set(re.findall(r"^  (protoshift-\d+): \*protoshift$", COMPOSE, flags=re.M)))
    assert len(replicas) >= 2
    port = replaced(serve_args(), port="?").index("?")
    upstreams = re.search(r"reverse_proxy ([^{]+)\{", CADDYFILE)
    assert upstreams
    assert sorted(upstreams.group(1).split()) == [f"{name}:{serve_args()[port]}" for name in replicas]
    assert "health_uri /healthz" in CADDYFILE
    grace = float(serve_args()[serve_args().index("--grace") + 1])
    stop = re.search(r"stop_grace_period: (\d+)s", COMPOSE)
    assert stop and int(stop.group(1)) > grace + 5  # serve's last answers go out before the kill


@pytest.mark.process
def test_the_compose_files_serve_command_runs_as_written(
    cli_env: dict[str, str], upstream: object, redis_server: RedisServer, tmp_path: Path
) -> None:
    args = serve_args()
    assert args[args.index("--host") + 1] == "0.0.0.0"  # which protoshift refuses without keys: they are given
    server = upstream(lambda received: anthropic_message_reply("through the replica"))  # type: ignore[operator]
    env = serve_env(cli_env, server, PROTOSHIFT_SERVER_KEYS=SERVER_KEY, XDG_DATA_HOME=str(tmp_path / "data"))
    replica = ServeProcess(replaced(args, host="127.0.0.1", port="0", state=redis_server.url), env)
    try:
        assert f"shared state: {redis_server.url}" in replica.start_line
        health = httpx.get(replica.url + "/healthz", timeout=30)  # the load balancer's check: no key
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        ask = {"model": "claude-test", "messages": [{"role": "user", "content": "hi"}]}
        refused = httpx.post(replica.base_url + "/chat/completions", json=ask, timeout=30)
        assert refused.status_code == 401
        answer = httpx.post(
            replica.base_url + "/chat/completions",
            json=ask,
            headers={"authorization": f"Bearer {SERVER_KEY}"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["choices"][0]["message"]["content"] == "through the replica"
    finally:
        code, err = replica.stop(timeout=60)
    assert code == 0, err
    assert SERVER_KEY not in err
