"""`protoshift serve --state redis://...`: replicas sharing one real redis-server. A conversation stored
through one continues through another; with Redis gone every request is still answered (its own state),
the log and the metrics say so, and once Redis is back it is shared again."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.fakes import FakeServer, Received, Reply, openai_completion
from tests.redis_server import RedisServer

from .conftest import GatewayFactory, Running, ServeProcess, serve_env

pytestmark = pytest.mark.process  # real serve processes (and a redis-server): the second step


def answering(received: Received) -> Reply:
    turns = sum(message["role"] == "user" for message in received.json["messages"])
    return Reply(body=json.dumps(openai_completion(f"heard {turns} turns")).encode())


def replica(gateway: GatewayFactory, server: FakeServer, redis: RedisServer, store: Path) -> Running:
    gateway.monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    # every call waits for Redis as long as it must: on a loaded machine one past the default 250 ms would
    # send the replica to its own store for a second (fail open, as it should), and the other would not find it
    return gateway.start(server, flags={"backend": "openai"}, state=redis.url, store_dir=store, state_timeout_ms=20_000)


def sdk(running: Running) -> openai.OpenAI:
    return openai.OpenAI(base_url=running.base_url, api_key="unused", max_retries=0)


def test_a_conversation_goes_on_through_another_replica(
    gateway: GatewayFactory, upstream: Any, redis_server: RedisServer, tmp_path: Path
) -> None:
    server = upstream(answering)
    one = replica(gateway, server, redis_server, tmp_path / "one")  # each its own local store, as on two machines
    two = replica(gateway, server, redis_server, tmp_path / "two")
    first = sdk(one).responses.create(model="gpt-4.1", input="turn one")
    second = sdk(two).responses.create(model="gpt-4.1", input="turn two", previous_response_id=first.id)
    assert second.output_text == "heard 2 turns"  # replica two read replica one's conversation from Redis
    assert sdk(one).responses.retrieve(second.id).id == second.id


def test_with_redis_gone_every_request_is_answered_and_it_is_shared_again_when_back(
    gateway: GatewayFactory, upstream: Any, redis_server: RedisServer, tmp_path: Path
) -> None:
    server = upstream(answering)
    one = replica(gateway, server, redis_server, tmp_path / "one")
    redis_server.stop()
    during = [sdk(one).responses.create(model="gpt-4.1", input=f"turn {n}") for n in range(5)]
    # stored on this replica meanwhile: its conversation goes on here
    follow = sdk(one).responses.create(model="gpt-4.1", input="turn again", previous_response_id=during[-1].id)
    assert follow.output_text == "heard 2 turns"
    metrics = httpx.get(one.url + "/metrics").text
    assert "protoshift_state_failures_total " in metrics and "protoshift_state_failures_total 0" not in metrics
    events = [entry for entry in one.log() if entry.get("event") == "state_down"]
    assert len(events) == 1 and redis_server.url.split("//")[1].split("/")[0] in events[0]["message"]

    redis_server.start()
    two = replica(gateway, server, redis_server, tmp_path / "two")
    for _ in range(100):  # past the backoff (1 s), one of these reaches Redis again
        back = sdk(one).responses.create(model="gpt-4.1", input="turn back")
        if any(entry.get("event") == "state_up" for entry in one.log()):
            break
        time.sleep(0.1)
    assert sdk(two).responses.retrieve(back.id).id == back.id  # shared again


def test_a_bad_state_url_is_one_line_and_exit_2(cli_env: dict[str, str]) -> None:
    import subprocess

    from tests.cli.conftest import PROTOSHIFT

    done = subprocess.run(
        [PROTOSHIFT, "serve", "--port", "0", "--state", "http://127.0.0.1:6379"],
        env=serve_env(cli_env),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.decode().splitlines()[0].startswith("protoshift: error: --state: expected a redis://")


def test_the_start_line_names_the_shared_state_without_its_password(
    cli_env: dict[str, str], upstream: Any, redis_server: RedisServer
) -> None:
    url = redis_server.url.replace("redis://", "redis://:hunter2-secret@")
    process = ServeProcess(["--state", url], serve_env(cli_env, upstream(answering)))
    _, err = process.stop()
    said = process.start_line + err
    assert "shared state: redis://:***@127.0.0.1" in process.start_line and "hunter2" not in said
