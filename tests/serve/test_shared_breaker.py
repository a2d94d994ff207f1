"""Three real `protoshift serve --state redis://...` processes in front of one failing upstream: the failures
one replica sees open the circuit on the other two (which send nothing), and while it is half-open one
probe at a time reaches the upstream, whichever replica the requests go to; its success closes it for all.

Each replica has its own state folder: the breaker's file (what a replica falls back on) is not shared,
only Redis is. Waits are bounded in count and time, never asserted as a speed."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes import Received, Reply, anthropic_error_reply, anthropic_message_reply
from tests.redis_server import RedisServer

from .conftest import ServeProcess, serve_env

pytestmark = pytest.mark.process  # real serve processes (and a redis-server): the second step

ASK: dict[str, Any] = {"model": "claude-test", "messages": [{"role": "user", "content": "hi"}]}
COOLDOWN = 1  # seconds (PROTOSHIFT_BREAKER_COOLDOWN): a replica that sees it late sees it half-open, still not closed
STATES = {"closed": 0, "half-open": 1, "open": 2}


class Upstream:
    """Fails every request (a 500: the host is down) until `probing()`; then holds each one until `recover()`,
    which answers it, and every one after, with a success."""

    def __init__(self) -> None:
        self.mode = "failing"
        self.release = threading.Event()

    def __call__(self, received: Received) -> Reply:
        if self.mode == "failing":
            return anthropic_error_reply(500, "api_error", "the upstream is down")
        reply = anthropic_message_reply("back")
        reply.hold = self.release
        return reply


def breaker_state(replica: ServeProcess) -> int | None:
    text = httpx.get(replica.url + "/metrics", timeout=10).text
    found = re.search(r'protoshift_breaker_state\{backend="anthropic"\} (\d)', text)
    return int(found.group(1)) if found else None


def until(condition: Callable[[], bool], what: str, tries: int = 300, pause: float = 0.05) -> None:
    """Polls `condition`: bounded in count and time (each try is a request), never a speed asserted."""
    deadline = time.monotonic() + 60
    for _ in range(tries):
        if condition():
            return
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(pause)
    pytest.fail(f"{what}: not after {tries} tries")


def ask(replica: ServeProcess) -> httpx.Response:
    return httpx.post(replica.base_url + "/chat/completions", json=ASK, timeout=30)


@pytest.mark.process
def test_one_replicas_failures_open_the_circuit_everywhere_and_one_probe_at_a_time_goes_out(
    cli_env: dict[str, str], upstream: Any, redis_server: RedisServer, tmp_path: Path
) -> None:
    responder = Upstream()
    server = upstream(responder)
    replicas: list[ServeProcess] = []
    logs = [tmp_path / f"replica-{n}.log" for n in range(3)]
    try:
        for n, log in enumerate(logs):
            env = serve_env(
                cli_env,
                server,
                XDG_STATE_HOME=str(tmp_path / f"state-{n}"),  # each its own breaker file: only Redis is shared
                PROTOSHIFT_BREAKER_COOLDOWN=str(COOLDOWN),
            )
            # --state-timeout: a busy machine can stall a call to Redis past serve's 250 ms, and a replica then
            # rightly decides alone (tests/gateway/test_shared_breaker.py has that case): not what is tested here
            args = ["--state", redis_server.url, "--state-timeout", "10000", "--max-retries", "0", "--log", str(log)]
            replicas.append(ServeProcess(args, env))
        one, two, three = replicas
        for replica in replicas:  # up, with a first look at the shared state
            until(lambda replica=replica: breaker_state(replica) == 0, "each replica to answer, circuit closed")

        for _ in range(5):  # the threshold: 5 failures in a row, all seen by replica one
            assert ask(one).status_code == 500
        assert len(server.requests) == 5
        responder.mode = "probing"  # from now on, whatever reaches the upstream is held until recover
        for replica in (two, three):
            until(lambda replica=replica: breaker_state(replica) in (1, 2), "the circuit open on the others")
        assert len(server.requests) == 5, "the others learned it from the shared state, not from the upstream"
        said = (logs[1].read_text() + logs[2].read_text()).count("circuit opened for anthropic by another replica")
        assert said == 2

        for replica in replicas:  # the cool-down ends: half-open everywhere
            until(lambda replica=replica: breaker_state(replica) == 1, "the circuit half-open")
        with ThreadPoolExecutor(max_workers=15) as pool:
            answers = [pool.submit(ask, replica) for replica in replicas for _ in range(5)]
            until(lambda: sum(answer.done() for answer in answers) == 14, "all but the probe answered")
            refused = [answer.result() for answer in answers if answer.done()]
            assert len(server.requests) == 6, "one probe across the three replicas"
            assert all(r.status_code == 503 and r.json()["error"]["code"] == "circuit_open" for r in refused)
            responder.release.set()  # the probe succeeds
            statuses = sorted(answer.result().status_code for answer in answers)
        assert statuses == [200] + [503] * 14

        for replica in replicas:  # closed everywhere, by the one probe
            until(lambda replica=replica: breaker_state(replica) == 0, "the circuit closed on every replica")
            assert ask(replica).status_code == 200
    finally:
        responder.release.set()
        errors = [replica.stop()[1] for replica in replicas]
    assert not any("Traceback" in err for err in errors), errors
