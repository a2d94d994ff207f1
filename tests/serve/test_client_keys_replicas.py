"""Client keys through real `protoshift serve` processes, the keys made by the real `protoshift keys add`:
three replicas on one real redis-server count a key's requests, tokens and spend once for all of them
(the official SDKs read the refusals), Redis taken away mid-load leaves no request unanswered (each
replica counts on its own meanwhile) and the limits are shared again once it is back, `--state-fail closed`
refuses instead (503), and without `--state` the same keys and limits hold in one process."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.cli.conftest import RunCLI
from tests.fakes import Received, Reply, anthropic_message_reply
from tests.redis_server import RedisServer

from .conftest import SERVER_KEY, ServeProcess, serve_env

pytestmark = pytest.mark.process  # real serve processes (and a redis-server): the second step

CHAT = {"model": "claude-sonnet-5-5", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 20}
WAIT = 30.0  # seconds any wait below may take on a busy machine before the test fails
_numbers = itertools.count()
PRICES = '[prices."claude-budget-*"]\ninput = 4.0\noutput = 0.0\n'  # $4 a million input tokens


@pytest.fixture
def processes() -> Iterator[list[ServeProcess]]:
    started: list[ServeProcess] = []
    with ExitStack() as stack:
        stack.callback(lambda: [process.stop() for process in started])
        yield started


def answering(usage: dict[str, int] | None = None) -> Callable[[Received], Reply]:
    def respond(received: Received) -> Reply:
        return anthropic_message_reply("ok", usage=usage or {"input_tokens": 12, "output_tokens": 3})

    return respond


def add_key(run_cli: RunCLI, name: str, *args: str) -> str:
    done = run_cli("keys", "add", name, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode().strip()


def serve(
    processes: list[ServeProcess], cli_env: dict[str, str], server: Any, *args: str, config: str | None = ""
) -> ServeProcess:
    if config is not None:  # None: the file as it is
        folder = Path(cli_env["XDG_CONFIG_HOME"]) / "protoshift"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.toml").write_text(config)
    log = Path(cli_env["XDG_STATE_HOME"]) / f"serve-{next(_numbers)}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    process = ServeProcess(["--api-key", SERVER_KEY, "--log", str(log), *args], serve_env(cli_env, server))
    process.log_path = log  # type: ignore[attr-defined]
    processes.append(process)
    return process


def replicas(
    processes: list[ServeProcess],
    cli_env: dict[str, str],
    server: Any,
    redis: RedisServer,
    *args: str,
    count: int = 3,
    config: str = "",
) -> list[ServeProcess]:
    first = serve(processes, cli_env, server, "--state", redis.url, *args, config=config)
    with ThreadPoolExecutor() as starting:  # each takes a second or two to start: the others at once
        more = starting.map(
            lambda _: serve(processes, cli_env, server, "--state", redis.url, *args, config=None), range(count - 1)
        )
        return [first, *more]


# Counting exactly needs every call to reach Redis: on a machine this busy (three replicas, Redis, the fake and
# the load on two cores) a call can wait past the default 250 ms in its own replica's loop, and the replica
# would count on its own for a second (fail open, as it should: tests/gateway/test_state.py has a slow one).
PATIENT = ("--state-timeout", "20000")


def logged(process: ServeProcess) -> list[dict[str, Any]]:
    path: Path = process.log_path  # type: ignore[attr-defined]
    text = path.read_text() if path.exists() else ""
    return [json.loads(line) for line in text.split("\n")[:-1] if line.strip()]


# The SDKs as clients, with no retries; each connection closed after its answer (none left idle at the stop)
def oai(process: ServeProcess, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=process.base_url, api_key=key, max_retries=0, default_headers={"connection": "close"})


def claude(process: ServeProcess, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=process.url, api_key=key, max_retries=0, default_headers={"connection": "close"}
    )


def chat(process: ServeProcess, key: str, **body: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"}
    return httpx.post(process.base_url + "/chat/completions", json={**CHAT, **body}, headers=headers, timeout=WAIT)


def burst(targets: list[ServeProcess], key: str, count: int, concurrency: int) -> tuple[list[httpx.Response], float]:
    """`count` chat requests at once (`concurrency` in flight), spread over `targets` in turn; the answers, and
    the seconds from the first sent to the last answered."""

    async def run() -> list[httpx.Response]:
        gate = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(timeout=WAIT, limits=httpx.Limits(max_connections=concurrency)) as client:

            async def one(n: int) -> httpx.Response:
                async with gate:
                    url = targets[n % len(targets)].base_url + "/chat/completions"
                    return await client.post(url, json=CHAT, headers={"authorization": f"Bearer {key}"})

            return await asyncio.gather(*(one(n) for n in range(count)))

    began = time.monotonic()
    answers = asyncio.run(run())
    return answers, time.monotonic() - began


def metric(processes: list[ServeProcess], name: str, **labels: str) -> float:
    """A series summed over the replicas' /metrics."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    total = 0.0
    for process in processes:
        text = httpx.get(process.url + "/metrics", headers={"authorization": f"Bearer {SERVER_KEY}"}).text
        found = re.search(rf"^{name}{{{re.escape(wanted)}}} (\S+)$", text, re.M)
        total += float(found.group(1)) if found else 0.0
    return total


def test_rpm_60_over_three_replicas_is_60_in_all_and_the_sdks_read_the_refusals(
    run_cli: RunCLI, cli_env: dict[str, str], upstream: Any, redis_server: RedisServer, processes: list[ServeProcess]
) -> None:
    key = add_key(run_cli, "alice", "--rpm", "60", "--state", redis_server.url)
    one = add_key(run_cli, "bob", "--rpm", "1", "--state", redis_server.url)  # one a minute: no refill meanwhile
    three = replicas(processes, cli_env, upstream(answering()), redis_server, *PATIENT)
    answers, took = burst(three, key, 150, concurrency=30)
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) <= {200, 429}, statuses
    passed = statuses.count(200)
    # 60 at once, then one a second (GCRA): exactly 60 when the burst takes under a second, never 180
    events = [e for p in three for e in logged(p) if "event" in e and e["event"] not in ("started", "client_keys")]
    assert 60 <= passed <= 60 + int(took), (passed, took, events)
    for answer in answers:
        assert float(answer.headers["x-protoshift-overhead-ms"]) >= 0
        assert answer.headers["x-ratelimit-limit-requests"] == "60"
        if answer.status_code == 429:
            assert answer.headers["x-ratelimit-remaining-requests"] == "0" and int(answer.headers["retry-after"]) >= 1
            assert answer.json()["error"]["code"] == "rate_limit_exceeded"

    assert chat(three[0], one).status_code == 200  # the one request of bob's minute, through one replica...
    with pytest.raises(openai.RateLimitError) as chat_refused:  # ...and the others know
        oai(three[1], one).chat.completions.create(**CHAT)
    headers = chat_refused.value.response.headers
    assert headers["x-ratelimit-remaining-requests"] == "0" and headers["x-ratelimit-limit-requests"] == "1"
    assert 1 <= int(headers["retry-after"]) <= 60 and headers["x-ratelimit-reset-requests"].endswith("s")
    assert "requests per min (RPM): Limit 1" in chat_refused.value.message

    with pytest.raises(anthropic.RateLimitError) as messages_refused:
        claude(three[2], one).messages.create(**CHAT)  # type: ignore[arg-type]
    headers = messages_refused.value.response.headers
    assert headers["anthropic-ratelimit-requests-remaining"] == "0" and int(headers["retry-after"]) >= 1
    assert headers["anthropic-ratelimit-requests-limit"] == "1" and "x-ratelimit-limit-requests" not in headers
    assert messages_refused.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]

    model = {"key": "alice", "model": "claude-sonnet-5-5"}
    assert metric(three, "protoshift_client_requests_total", **model) == passed
    assert metric(three, "protoshift_client_tokens_total", **model, direction="in") == 12 * passed
    assert metric(three, "protoshift_client_limited_total", **model, reason="rpm") == 150 - passed
    usage = run_cli("keys", "usage", "alice", "--json", "--state", redis_server.url).stdout.splitlines()
    deadline = time.monotonic() + WAIT  # each replica adds what its requests used a few times a second
    while json.loads(usage[0])["requests"] != passed:
        assert time.monotonic() < deadline, usage
        time.sleep(0.1)
        usage = run_cli("keys", "usage", "alice", "--json", "--state", redis_server.url).stdout.splitlines()
    assert key.encode() not in b"".join(  # in Redis: its SHA-256, never the key
        redis_dump(redis_server)
    )


def redis_dump(redis: RedisServer) -> list[bytes]:
    import redis as redis_py

    client = redis_py.Redis.from_url(redis.url)
    try:
        found = []
        for name in client.scan_iter():
            kind = client.type(name)
            if kind == b"hash":
                found += [b"%s=%s" % pair for pair in client.hgetall(name).items()]
            elif kind == b"string":
                found.append(client.get(name) or b"")
        return found
    finally:
        client.close()


def test_tokens_and_budget_hold_across_replicas(
    run_cli: RunCLI, cli_env: dict[str, str], upstream: Any, redis_server: RedisServer, processes: list[ServeProcess]
) -> None:
    tokens = add_key(run_cli, "dave", "--tpm", "1000", "--state", redis_server.url)
    budget = add_key(run_cli, "carol", "--budget", "0.001", "--period", "day", "--state", redis_server.url)
    server = upstream(answering({"input_tokens": 100, "output_tokens": 200}))  # far above its estimate
    three = replicas(processes, cli_env, server, redis_server, *PATIENT, config=PRICES)

    began, answered = time.monotonic(), 0
    for n in range(10):  # one after another, each on the next replica
        answer = chat(three[n % 3], tokens)
        if answer.status_code == 429:
            assert "tokens per min (TPM): Limit 1000" in answer.json()["error"]["message"]
            break
        assert answer.status_code == 200
        answered += 1
    refill = (time.monotonic() - began) * 1000 / 60
    assert 1000 - 300 <= answered * 300 <= 1000 + 300 + refill  # over by one request's tokens at most

    # 100 input tokens at $4 a million: $0.0004 a request against $0.001 a day
    for n in range(3):  # $0.0004, $0.0008, then $0.0012: the request that crosses it completes...
        assert chat(three[n], budget, model="claude-budget-1").status_code == 200
    for process in three:  # ...and the next is refused, through any replica
        with pytest.raises(openai.RateLimitError) as refused:
            oai(process, budget).chat.completions.create(**{**CHAT, "model": "claude-budget-1"})
        assert refused.value.code == "insufficient_quota" and "$0.0012" in refused.value.message
        assert refused.value.response.headers["x-should-retry"] == "false"
    used = run_cli("keys", "usage", "carol", "--state", redis_server.url).stdout.decode()
    assert "today: 3 requests, 300 tokens in, 600 out, $0.0012 of $0.001" in used
    assert metric(three, "protoshift_client_spend_usd_total", key="carol", model="claude-budget-1") == pytest.approx(
        0.0012
    )
    assert metric(three, "protoshift_client_limited_total", key="carol", model="claude-budget-1", reason="budget") == 3
    assert run_cli("keys", "remove", "dave", "--state", redis_server.url).returncode == 0
    for process in three:  # removed: refused by every replica within a second, in the surface's words
        wait_for(lambda: chat(process, tokens).status_code == 401)  # noqa: B023 (called at once)
        assert chat(process, tokens).json()["error"]["code"] == "invalid_api_key"


def test_redis_gone_mid_load_every_request_is_answered_and_the_limits_resume_when_back(
    run_cli: RunCLI, cli_env: dict[str, str], upstream: Any, redis_server: RedisServer, processes: list[ServeProcess]
) -> None:
    busy = add_key(run_cli, "busy", "--rpm", "100000", "--state", redis_server.url)
    five = add_key(run_cli, "five", "--rpm", "5", "--state", redis_server.url)
    three = replicas(processes, cli_env, upstream(answering()), redis_server, *PATIENT)  # a Redis gone refuses at once

    statuses: list[int | str] = []
    stop = threading.Event()

    def load() -> None:  # one client after another over the replicas, all the while
        with httpx.Client(timeout=WAIT) as client:
            n = 0
            while not stop.is_set():
                try:
                    url = three[n % 3].base_url + "/chat/completions"
                    answer = client.post(url, json=CHAT, headers={"authorization": f"Bearer {busy}"})
                    statuses.append(answer.status_code)
                except httpx.HTTPError as exc:
                    statuses.append(type(exc).__name__)
                n += 1

    loader = threading.Thread(target=load)
    loader.start()
    try:
        wait_for(lambda: len(statuses) >= 30)
        redis_server.stop()
        during = len(statuses)
        wait_for(lambda: len(statuses) >= during + 60)
        # meanwhile each replica counts on its own: 5 a minute on each, 15 in all
        alone = [chat(three[n % 3], five).status_code for n in range(9)]
        assert alone == [200] * 9
        redis_server.start()  # empty: it kept nothing
        wait_for(lambda: all(any(e.get("event") == "state_up" for e in logged(p)) for p in three))
        back = len(statuses)
        wait_for(lambda: len(statuses) >= back + 30)
    finally:
        stop.set()
        loader.join(timeout=WAIT)
    assert not loader.is_alive()
    assert set(statuses) == {200}, [s for s in statuses if s != 200][:5]  # every request answered: none hung, none lost
    for process in three:
        said = [e for e in logged(process) if e.get("event") in ("state_down", "state_up")]
        events = [e["event"] for e in said]  # down, up (a replica may catch Redis once more as it shuts down)
        assert events[:1] == ["state_down"] and events[-1] == "state_up" and "up, state_up" not in ", ".join(events), (
            said
        )

    # shared again: 5 a minute for the three together (Redis came back empty: a fresh minute)
    wait_for(lambda: "five" in run_cli("keys", "list", "--state", redis_server.url).stdout.decode())  # put back
    shared = [chat(three[n % 3], five).status_code for n in range(9)]
    assert shared.count(200) == 5 and shared[5:] == [429] * 4, shared


def wait_for(done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not done():
        assert time.monotonic() < deadline, "waited too long"
        time.sleep(0.05)


def test_state_fail_closed_refuses_a_keys_request_with_503_while_redis_is_away(
    run_cli: RunCLI, cli_env: dict[str, str], upstream: Any, redis_server: RedisServer, processes: list[ServeProcess]
) -> None:
    key = add_key(run_cli, "alice", "--rpm", "1000", "--state", redis_server.url)
    (closed,) = replicas(processes, cli_env, upstream(answering()), redis_server, "--state-fail", "closed", count=1)
    assert chat(closed, key).status_code == 200
    redis_server.stop()
    refused = chat(closed, key)
    assert refused.status_code == 503 and int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["code"] == "state_unavailable"
    with pytest.raises(anthropic.InternalServerError) as caught:
        claude(closed, key).messages.create(**CHAT)  # type: ignore[arg-type]
    assert caught.value.status_code == 503
    assert chat(closed, SERVER_KEY).status_code == 200  # a server key has no limits to count
    redis_server.start()
    wait_for(lambda: chat(closed, key).status_code == 200)


def test_without_state_the_keys_and_limits_hold_in_one_process(
    run_cli: RunCLI, cli_env: dict[str, str], upstream: Any, processes: list[ServeProcess]
) -> None:
    key = add_key(run_cli, "alice", "--rpm", "3", "--models", "claude-sonnet-*")
    process = serve(processes, cli_env, upstream(answering()))
    assert [chat(process, key).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert chat(process, key, model="claude-opus-4-1").status_code == 403
    with pytest.raises(anthropic.PermissionDeniedError):
        claude(process, key).messages.create(
            **{**CHAT, "model": "claude-opus-4-1"}  # type: ignore[arg-type]
        )
    unknown = "ps-" + "x" * 43
    with pytest.raises(openai.AuthenticationError) as chat_unknown:
        oai(process, unknown).chat.completions.create(**CHAT)
    assert chat_unknown.value.code == "invalid_api_key"
    with pytest.raises(anthropic.AuthenticationError) as messages_unknown:
        claude(process, unknown).messages.create(**CHAT)  # type: ignore[arg-type]
    assert messages_unknown.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    assert run_cli("keys", "remove", "alice").returncode == 0
    wait_for(lambda: chat(process, key).status_code == 401)  # a removed key stops within a second
    _, err = process.stop()
    processes.remove(process)
    assert key not in err and key not in logged(process).__repr__()
