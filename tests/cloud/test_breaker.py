"""Circuit breaker: trips, fails fast, probes once, and shares its state across processes."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from protoshift.cloud import (
    APIStatusError,
    CircuitBreaker,
    CircuitOpenError,
    CloudEvent,
    FileStore,
    MemoryStore,
    OverloadedError,
    ServerError,
)
from protoshift.cloud.breaker import SharedView, default_state_dir
from protoshift.cloud.bridged import Bridged
from tests.cloud.cloud_helpers import REQUEST, Clock, Script, anthropic_error, chat_client, message, ok, run


def fail(breaker: CircuitBreaker, times: int = 1) -> None:
    for _ in range(times):
        breaker.failure(breaker.acquire())


def test_trips_after_n_consecutive_failures_and_fails_fast() -> None:
    clock = Clock()
    breaker = CircuitBreaker("anthropic", clock=clock, failure_threshold=5, cooldown=30)
    fail(breaker, 4)
    assert breaker.state() == "closed"
    fail(breaker)
    assert breaker.state() == "open"
    clock.now += 12.2
    with pytest.raises(CircuitOpenError) as info:
        breaker.acquire()
    assert str(info.value) == "circuit open for anthropic, retry in 18s"
    assert info.value.retry_in_seconds == 18


def test_success_resets_the_count() -> None:
    breaker = CircuitBreaker("a", clock=Clock(), failure_threshold=3)
    fail(breaker, 2)
    breaker.success(breaker.acquire())
    fail(breaker, 2)
    assert breaker.state() == "closed"
    fail(breaker)
    assert breaker.state() == "open"


def test_429_neither_trips_nor_resets() -> None:
    breaker = CircuitBreaker("a", clock=Clock(), failure_threshold=3)
    fail(breaker, 2)
    for _ in range(10):
        breaker.neutral(breaker.acquire())
    assert breaker.state() == "closed"
    fail(breaker)
    assert breaker.state() == "open"


def test_half_open_lets_exactly_one_probe_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker("a", clock=clock, failure_threshold=1, cooldown=30)
    fail(breaker)
    clock.now += 30
    assert breaker.state() == "half-open"
    probe = breaker.acquire()
    assert probe.probe
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    breaker.success(probe)
    assert breaker.state() == "closed"
    assert not breaker.acquire().probe


def test_failed_probe_opens_again_for_a_full_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker("a", clock=clock, failure_threshold=2, cooldown=30)
    fail(breaker, 2)
    clock.now += 31
    breaker.failure(breaker.acquire())
    assert breaker.state() == "open"
    clock.now += 29
    with pytest.raises(CircuitOpenError) as info:
        breaker.acquire()
    assert info.value.retry_in_seconds == 1
    clock.now += 1
    assert breaker.acquire().probe


def test_a_probe_that_gets_429_releases_the_probe_slot() -> None:
    clock = Clock()
    breaker = CircuitBreaker("a", clock=clock, failure_threshold=1, cooldown=10)
    fail(breaker)
    clock.now += 10
    breaker.neutral(breaker.acquire())
    assert breaker.state() == "half-open"
    assert breaker.acquire().probe


def test_a_probe_that_never_reports_expires() -> None:
    clock = Clock()
    breaker = CircuitBreaker("a", clock=clock, failure_threshold=1, cooldown=10, probe_timeout=60)
    fail(breaker)
    clock.now += 10
    breaker.acquire()  # this process dies mid-probe
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    clock.now += 60
    assert breaker.acquire().probe


def test_open_time_in_the_future_counts_as_expired() -> None:
    clock = Clock()
    breaker = CircuitBreaker("a", clock=clock, failure_threshold=1, cooldown=30)
    fail(breaker)
    clock.now -= 3600  # the wall clock jumped back
    assert breaker.acquire().probe


# -- shared across processes -------------------------------------------------------------------------


def test_state_file_is_shared_between_two_breakers(tmp_path: Path) -> None:
    """Two CircuitBreakers over the same directory behave like two protoshift processes."""
    clock = Clock()
    first = CircuitBreaker("anthropic", FileStore("anthropic", "https://api.anthropic.com", tmp_path), clock=clock)
    second = CircuitBreaker("anthropic", FileStore("anthropic", "https://api.anthropic.com", tmp_path), clock=clock)
    fail(first, 3)
    fail(second, 2)
    with pytest.raises(CircuitOpenError):
        first.acquire()
    clock.now += 30
    probe = second.acquire()
    assert probe.probe
    with pytest.raises(CircuitOpenError):
        first.acquire()  # the other process's probe is in flight
    second.success(probe)
    assert first.state() == "closed"


def test_different_base_urls_have_separate_state(tmp_path: Path) -> None:
    clock = Clock()
    a = CircuitBreaker(
        "openai", FileStore("openai", "http://127.0.0.1:8000/v1", tmp_path), clock=clock, failure_threshold=1
    )
    b = CircuitBreaker(
        "openai", FileStore("openai", "https://api.openai.com/v1", tmp_path), clock=clock, failure_threshold=1
    )
    fail(a)
    assert a.state() == "open" and b.state() == "closed"
    assert len(list(tmp_path.glob("*.json"))) == 1


def test_state_file_is_small_json_written_atomically(tmp_path: Path) -> None:
    store = FileStore("anthropic", "https://api.anthropic.com", tmp_path)
    breaker = CircuitBreaker("anthropic", store, clock=Clock(100.0), failure_threshold=1)
    fail(breaker)
    assert json.loads(store.path.read_text()) == {"failures": 1, "opened_at": 100.0, "probe_started": None}
    assert not list(tmp_path.glob(".tmp-*"))


@pytest.mark.parametrize(
    "content", [b"", b"{not json", b"[1,2]", b'{"failures": "many", "opened_at": "x"}', b"\xff\xfe"]
)
def test_corrupt_state_file_is_a_closed_breaker(tmp_path: Path, content: bytes) -> None:
    store = FileStore("anthropic", "https://api.anthropic.com", tmp_path)
    tmp_path.mkdir(exist_ok=True)
    store.path.write_bytes(content)
    breaker = CircuitBreaker("anthropic", store, clock=Clock(), failure_threshold=1)
    assert breaker.state() == "closed"
    fail(breaker)
    assert breaker.state() == "open"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_state_dir_does_not_crash(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        breaker = CircuitBreaker("a", FileStore("a", "https://x", tmp_path / "sub"), clock=Clock(), failure_threshold=1)
        fail(breaker)
        assert breaker.state() == "open"
    finally:
        tmp_path.chmod(0o700)


def test_state_path_that_is_a_directory_does_not_crash(tmp_path: Path) -> None:
    store = FileStore("a", "https://x", tmp_path)
    store.path.mkdir(parents=True)
    breaker = CircuitBreaker("a", store, clock=Clock(), failure_threshold=1)
    assert breaker.state() == "closed"
    fail(breaker)  # cannot persist: degrades to memory


def test_default_state_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_state_dir() == tmp_path / "protoshift" / "breaker"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/path")
    assert default_state_dir() == Path.home() / ".local" / "state" / "protoshift" / "breaker"


# -- in the backend ---------------------------------------------------------------------------------


def test_backend_trips_and_the_next_call_sends_nothing(tmp_path: Path) -> None:
    clock = Clock()
    script = Script(anthropic_error(500, "api_error"))
    events: list[CloudEvent] = []
    # two separate backends (two CLI invocations) over the same state dir
    first = chat_client(script, events, breaker=True, breaker_dir=tmp_path, clock=clock, max_retries=4)
    with pytest.raises(ServerError):
        run(first.create(REQUEST))
    assert len(script.requests) == 5
    assert any(e.kind == "breaker" and "circuit opened for anthropic" in e.message for e in events)
    second = chat_client(script, breaker=True, breaker_dir=tmp_path, clock=clock)
    with pytest.raises(CircuitOpenError) as info:
        run(second.create(REQUEST))
    assert str(info.value) == "circuit open for anthropic, retry in 30s"
    assert len(script.requests) == 5


def test_breaker_is_off_with_breaker_false(tmp_path: Path) -> None:
    script = Script(anthropic_error(500, "api_error"))
    client = chat_client(script, breaker=False, max_retries=9)
    with pytest.raises(ServerError):
        run(client.create(REQUEST))
    assert len(script.requests) == 10
    assert client.backend.breaker is None


def test_4xx_answers_are_not_failures() -> None:
    store = MemoryStore()
    breaker = CircuitBreaker("anthropic", store, clock=Clock(), failure_threshold=2)
    script = Script(anthropic_error(400, "invalid_request_error"))
    client = chat_client(script, breaker=breaker)
    for _ in range(5):
        with pytest.raises(APIStatusError):
            run(client.create(REQUEST))
    assert breaker.state() == "closed"
    assert len(script.requests) == 5


def test_429_responses_do_not_trip_the_backend_breaker() -> None:
    breaker = CircuitBreaker("anthropic", clock=Clock(), failure_threshold=2)
    script = Script(anthropic_error(429, "rate_limit_error"))
    with pytest.raises(Exception, match="429"):
        run(chat_client(script, breaker=breaker, max_retries=5).create(REQUEST))
    assert breaker.state() == "closed"


def test_probe_success_through_the_backend_closes_the_circuit() -> None:
    clock = Clock()
    breaker = CircuitBreaker("anthropic", clock=clock, failure_threshold=1, cooldown=5)
    script = Script(anthropic_error(503, "api_error"), ok("fine"))
    client = chat_client(script, breaker=breaker, max_retries=0)
    with pytest.raises(ServerError):
        run(client.create(REQUEST))
    with pytest.raises(CircuitOpenError):
        run(client.create(REQUEST))
    clock.now += 5
    assert run(client.create(REQUEST))["choices"][0]["message"]["content"] == "fine"
    assert breaker.state() == "closed"
    assert len(script.requests) == 2


# -- scope: the host, and each model on it (issue 9, item 3) -----------------------------------------


def test_one_models_overload_leaves_the_other_models_alone(tmp_path: Path) -> None:
    clock = Clock()
    events: list[CloudEvent] = []
    script = Script(
        lambda request: anthropic_error(529, "overloaded_error") if b"busy-model" in request.content else ok()
    )
    client = chat_client(script, events, breaker=True, breaker_dir=tmp_path, clock=clock, max_retries=4)
    with pytest.raises(OverloadedError):
        run(client.create({**REQUEST, "model": "busy-model"}))
    assert any(e.kind == "breaker" and "circuit opened for anthropic model busy-model" in e.message for e in events)
    with pytest.raises(CircuitOpenError) as info:
        run(client.create({**REQUEST, "model": "busy-model"}))
    assert str(info.value) == "circuit open for anthropic model busy-model, retry in 30s"
    assert (info.value.backend, info.value.model) == ("anthropic", "busy-model")
    sent = len(script.requests)
    # another model of the same provider, even from another process (a new backend), goes through
    other = chat_client(script, breaker=True, breaker_dir=tmp_path, clock=clock)
    assert run(other.create({**REQUEST, "model": "calm-model"}))["choices"][0]["message"]["content"]
    assert len(script.requests) == sent + 1
    with pytest.raises(CircuitOpenError):
        run(other.create({**REQUEST, "model": "busy-model"}))


def test_server_errors_open_the_circuit_for_every_model_of_the_host(tmp_path: Path) -> None:
    clock = Clock()
    script = Script(anthropic_error(503, "api_error"))
    client = chat_client(script, breaker=True, breaker_dir=tmp_path, clock=clock, max_retries=4)
    with pytest.raises(ServerError):
        run(client.create({**REQUEST, "model": "one"}))
    with pytest.raises(CircuitOpenError) as info:
        run(client.create({**REQUEST, "model": "two"}))
    assert str(info.value) == "circuit open for anthropic, retry in 30s"
    assert info.value.model is None


def test_while_the_probe_is_out_the_retry_figure_never_exceeds_the_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker("anthropic", clock=clock, failure_threshold=1, cooldown=30, probe_timeout=60)
    fail(breaker)
    clock.now += 30
    assert breaker.acquire().probe
    with pytest.raises(CircuitOpenError) as info:
        breaker.acquire()
    assert info.value.probing and info.value.retry_in_seconds == 30
    assert str(info.value) == "circuit open for anthropic, retry in 30s; one request is testing it now"
    clock.now += 45
    with pytest.raises(CircuitOpenError) as later:
        breaker.acquire()
    assert later.value.retry_in_seconds == 15


def test_with_probe_wait_callers_wait_for_the_probe_instead_of_failing() -> None:
    clock = Clock()
    breaker = CircuitBreaker("anthropic", clock=clock, failure_threshold=1, cooldown=30)
    fail(breaker)
    clock.now += 31  # the cool-down is over: the next call is the probe

    def slow_ok(request: httpx.Request) -> httpx.Response:
        async def body() -> AsyncIterator[bytes]:
            await asyncio.sleep(0.3)  # the probe takes a while: the others find it in flight
            yield json.dumps(message("fine")).encode()

        return httpx.Response(200, headers={"content-type": "application/json"}, content=body())

    async def five_at_once(backend: Bridged) -> list[Any]:
        return await asyncio.gather(*(backend.create(REQUEST) for _ in range(5)), return_exceptions=True)

    waiting = chat_client(Script(slow_ok), breaker=breaker, probe_wait=10)
    results = run(five_at_once(waiting))
    assert all(isinstance(r, dict) for r in results), results
    assert breaker.state() == "closed"

    fail(breaker)
    clock.now += 31
    failing_fast = chat_client(Script(slow_ok), breaker=breaker)  # no probe_wait: chat's behaviour
    results = run(five_at_once(failing_fast))
    assert sum(isinstance(r, CircuitOpenError) for r in results) == 4


# -- odd state files (issue 9, item 12) ---------------------------------------------------------------


def _store(tmp_path: Path, warnings: list[str]) -> FileStore:
    tmp_path.mkdir(parents=True, exist_ok=True)
    return FileStore("anthropic", "https://api.anthropic.com", tmp_path, on_warning=warnings.append)


OPEN_STATE = {"failures": 9, "opened_at": 1_700_000_000.0, "probe_started": None}


@pytest.mark.parametrize(
    "content",
    [
        b"[" * 100_000 + b"]" * 100_000,  # deeper than Python's parser goes
        json.dumps({**OPEN_STATE, "padding": "x" * 1_000_000}).encode(),  # far larger than a state
    ],
)
def test_an_odd_state_file_is_no_state_with_one_warning(tmp_path: Path, content: bytes) -> None:
    warnings: list[str] = []
    store = _store(tmp_path, warnings)
    store.path.write_bytes(content)
    breaker = CircuitBreaker("anthropic", store, clock=Clock(1_700_000_001.0), failure_threshold=1)
    for _ in range(3):
        assert breaker.state() == "closed"
        breaker.success(breaker.acquire())
    assert len(warnings) == 1 and str(store.path) in warnings[0], warnings


def test_a_symlinked_state_file_is_not_followed(tmp_path: Path) -> None:
    warnings: list[str] = []
    store = _store(tmp_path / "breaker", warnings)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps(OPEN_STATE))
    store.path.symlink_to(elsewhere)
    breaker = CircuitBreaker("anthropic", store, clock=Clock(1_700_000_001.0))
    assert breaker.state() == "closed"
    assert warnings == [f"circuit breaker: {store.path} is a symlink; ignored"]


def test_a_fifo_as_state_file_does_not_hang(tmp_path: Path) -> None:
    warnings: list[str] = []
    store = _store(tmp_path, warnings)
    os.mkfifo(store.path)
    states: list[str] = []
    worker = threading.Thread(target=lambda: states.append(CircuitBreaker("a", store, clock=Clock()).state()))
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "reading the breaker state hung on a FIFO"
    assert states == ["closed"] and len(warnings) == 1


def test_a_dangling_symlink_as_lock_file_is_not_followed_to_create_its_target(tmp_path: Path) -> None:
    warnings: list[str] = []
    store = _store(tmp_path / "breaker", warnings)
    target = tmp_path / "created-by-the-link"
    (tmp_path / "breaker" / store.path.with_suffix(".lock").name).symlink_to(target)
    breaker = CircuitBreaker("anthropic", store, clock=Clock(), failure_threshold=1)
    fail(breaker)
    assert breaker.state() == "open"  # kept in memory
    assert not target.exists()
    assert len(warnings) == 1 and "is a symlink" in warnings[0]


class FakeShare:
    """A `BreakerShare` with a view the test sets; what it was told, in order."""

    def __init__(self, view: SharedView | None = None, claims: bool | None = True) -> None:
        self.shown = view
        self.claims = claims
        self.told: list[tuple[str, int | None]] = []

    def view(self) -> SharedView | None:
        return self.shown

    async def claim_probe(self, generation: int) -> bool | None:
        self.told.append(("claim", generation))
        return self.claims

    def report(self, outcome: str, generation: int | None) -> None:
        self.told.append((outcome, generation))


def shared_breaker(share: FakeShare) -> CircuitBreaker:
    breaker = CircuitBreaker("anthropic", MemoryStore(), clock=Clock(), failure_threshold=2, cooldown=30)
    breaker.share = share
    return breaker


def test_a_shared_breaker_decides_from_its_shares_view() -> None:
    share = FakeShare(SharedView())
    breaker = shared_breaker(share)
    permit = asyncio.run(breaker.permit())
    assert permit.shared and permit.generation is None
    breaker.success(permit)
    assert share.told == [("success", None)]

    share.shown = SharedView(failures=5, generation=3, reopen_in=12.5)  # open: refused without asking anyone
    with pytest.raises(CircuitOpenError) as refused:
        asyncio.run(breaker.permit())
    assert refused.value.retry_in_seconds == 13 and not refused.value.probing
    assert breaker.state() == "open"

    share.shown = SharedView(failures=5, generation=3, reopen_in=-0.1)  # half-open: the probe is claimed
    probe = asyncio.run(breaker.permit())
    assert (probe.shared, probe.generation, probe.probe) == (True, 3, False)
    breaker.failure(probe)
    assert share.told[-2:] == [("claim", 3), ("failure", 3)]

    share.claims = False  # another process has it
    with pytest.raises(CircuitOpenError) as refused:
        asyncio.run(breaker.permit())
    assert refused.value.probing
    share.shown = SharedView(generation=3, reopen_in=-0.1, probing=True)  # known to be out: not even asked
    told = len(share.told)
    with pytest.raises(CircuitOpenError):
        asyncio.run(breaker.permit())
    assert len(share.told) == told


def test_without_a_shared_view_the_local_store_decides_having_heard_every_outcome() -> None:
    share = FakeShare(SharedView())
    breaker = shared_breaker(share)
    said: list[str] = []
    breaker.on_change = said.append
    for _ in range(2):  # decided by the shared view; the local store counts them, silently
        breaker.failure(asyncio.run(breaker.permit()))
    assert said == [] and share.told == [("failure", None), ("failure", None)]
    share.shown = None  # the shared state does not answer
    assert breaker.state() == "open"  # this process's own state: it saw two failures in a row
    with pytest.raises(CircuitOpenError):
        asyncio.run(breaker.permit())

    share.shown, share.claims = SharedView(generation=1, reopen_in=-1.0), None  # half-open, claim unanswered
    breaker.store = MemoryStore()  # (a fresh local state: closed)
    permit = asyncio.run(breaker.permit())
    assert not permit.shared and not permit.probe  # the local store's permit
    breaker.success(permit)
    assert share.told[-1] == ("success", None)  # the share hears it too, to catch up
