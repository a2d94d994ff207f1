"""`batch run` under faults: it never hangs, never sends twice, never leaves OUTPUT half-written, and always says
how it ended. (Issue 9, items 1, 2 and 3.)

Tests that need a real process (a real SIGINT, a file size limit, two runs at once) are marked `process`;
the timeouts on them only catch a hang, they assert nothing about speed."""

from __future__ import annotations

import collections
import json
import resource
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from protoshift.cloud import FileStore
from tests.batch.conftest import PROTOSHIFT, batch_line, read_jsonl, user_text, write_jsonl
from tests.fakes import FakeServer, Received, Reply, anthropic_message_reply

HANG_GUARD = 60  # seconds after which a run is taken to hang


def _env(server: FakeServer) -> dict[str, str]:
    return {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-ant-test-key"}


def _number(received: Received) -> int:
    return int(user_text(received.json).split()[-1])


def _answer(delay: float = 0.0) -> Callable[[Received], Reply]:
    def respond(received: Received) -> Reply:
        reply = anthropic_message_reply(f"answer {_number(received)}")
        reply.delay = delay
        return reply

    return respond


def _input(tmp_path: Path, count: int) -> tuple[Path, set[str]]:
    ids = [f"r{n:03d}" for n in range(count)]
    return write_jsonl(tmp_path / "in.jsonl", [batch_line(cid, f"q {n}") for n, cid in enumerate(ids)]), set(ids)


def _each_once(out: Path, expected: set[str]) -> list[dict[str, Any]]:
    lines = read_jsonl(out)  # every line parses: nothing half-written
    counts = collections.Counter(line["custom_id"] for line in lines)
    assert not [cid for cid, n in counts.items() if n > 1], "a request was written twice"
    assert set(counts) == expected, f"missing: {sorted(expected - set(counts))[:5]}"
    return lines


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


def _lines_in(out: Path) -> int:
    return out.read_bytes().count(b"\n") if out.exists() else 0


# -- item 1: a line that cannot be sent, a disk that fills up, Ctrl-C ----------------------------------


@pytest.mark.process
def test_a_line_with_a_lone_surrogate_is_refused_up_front_and_never_hangs_the_run(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    good = [json.dumps(batch_line(f"r{n}", f"q {n}")) for n in range(40)]
    good[17] = good[17].replace("q 17", "q \\ud800")  # as `json.dumps` writes one: an escape
    source.write_text("\n".join(good) + "\n")
    out = tmp_path / "out.jsonl"
    with FakeServer(_answer()) as server:
        done = subprocess.run(
            [PROTOSHIFT, "batch", "run", str(source), "-o", str(out), "-j", "2"],
            env={**cli_env, **_env(server)},
            capture_output=True,
            timeout=HANG_GUARD,
        )
        assert server.requests == []
    assert done.returncode == 2, done.stderr.decode()
    assert f"{source}:18: body.messages[0].content: contains a lone surrogate" in done.stderr.decode()


def test_a_request_that_fails_in_a_way_of_its_own_gets_its_error_line_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from protoshift.cli.batch import run as batch_run
    from protoshift.cli.batch.run import RunOptions, run_batch
    from protoshift.cli.io.console import Diagnostics
    from protoshift.cli.settings import Settings

    class Fragile:
        name = "fragile"

        async def create(self, request: dict[str, Any], call: Any = None) -> dict[str, Any]:
            text = request["messages"][-1]["content"]
            if text == "q 3":
                raise RuntimeError("something protoshift did not foresee")
            return {"id": "c", "object": "chat.completion", "created": 1, "model": "m", "choices": []}

        async def aclose(self) -> None:
            pass

    monkeypatch.setattr(batch_run, "create_chain", lambda *args, **kwargs: Fragile())
    source, ids = _input(tmp_path, 8)
    out = tmp_path / "out.jsonl"
    errors: list[str] = []

    class Lines:
        def write(self, text: str) -> None:
            errors.append(text)

        def flush(self) -> None:
            pass

    code = run_batch(RunOptions(str(source), out, concurrency=3), Settings(backend="mock"), Diagnostics(stream=Lines()))
    assert code == 3
    lines = {line["custom_id"]: line for line in _each_once(out, ids)}
    assert lines["r003"]["error"]["code"] == "internal_error"
    assert "RuntimeError: something protoshift did not foresee" in lines["r003"]["error"]["message"]
    assert all(line["error"] is None for cid, line in lines.items() if cid != "r003")
    assert any("please report this" in text for text in errors)


def test_an_input_that_becomes_unreadable_halfway_is_one_error_not_a_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from protoshift.cli.batch import run as batch_run
    from protoshift.cli.batch.run import RunOptions, run_batch
    from protoshift.cli.exits import InputError
    from protoshift.cli.io.console import Diagnostics
    from protoshift.cli.settings import BackendSpec, Settings

    def gone(path: Path) -> Any:
        raise InputError(f"{path}: cannot read: No such file or directory")
        yield  # a generator, like the one it stands in for

    monkeypatch.setattr(batch_run, "iter_lines", gone)  # the sending pass only: the check has read it
    source, _ = _input(tmp_path, 3)
    # With a fallback, the send pass reads the input again (no spool of the check's translations).
    settings = Settings(backend="mock", fallbacks=[BackendSpec("mock")])
    with pytest.raises(InputError, match="cannot read"):
        run_batch(RunOptions(str(source), tmp_path / "out.jsonl"), settings, Diagnostics(quiet=True))


def _file_size_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.process
def test_a_full_disk_stops_the_run_with_a_message_and_resume_finishes_it(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    source, ids = _input(tmp_path, 30)
    out = tmp_path / "out.jsonl"
    with FakeServer(_answer()) as server:
        args = [PROTOSHIFT, "batch", "run", str(source), "-o", str(out), "-j", "4"]
        env = {**cli_env, **_env(server)}
        full = subprocess.run(args, env=env, capture_output=True, timeout=HANG_GUARD, preexec_fn=_file_size_limit(6000))
        assert full.returncode == 1, full.stderr.decode()
        stderr = full.stderr.decode()
        assert "Traceback" not in stderr
        written = read_jsonl(out)  # whole lines only: the torn part was cut off
        assert 0 < len(written) < 30
        assert f"{out}: cannot write: File too large; stopped with {len(written)} of 30 done" in stderr
        assert "--resume" in stderr

        resumed = subprocess.run([*args, "--resume"], env=env, capture_output=True, timeout=HANG_GUARD)
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert b"cut short" not in resumed.stderr
    _each_once(out, ids)


@pytest.mark.process
def test_the_first_ctrl_c_stops_the_run_says_how_far_it_got_and_resume_finishes_it(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    source, ids = _input(tmp_path, 40)
    out = tmp_path / "out.jsonl"
    fast = 10  # requests 0-9 are answered at once; the rest hang (far longer than the test waits)
    hung = _answer(delay=HANG_GUARD * 2)

    def respond(received: Received) -> Reply:
        return _answer()(received) if _number(received) < fast else hung(received)

    with FakeServer(respond) as server:
        args = [PROTOSHIFT, "batch", "run", str(source), "-o", str(out), "-j", "4"]
        env = {**cli_env, **_env(server)}
        process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _wait_for(lambda: _lines_in(out) >= fast and len(server.requests) >= fast + 4, "the first answers")
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=HANG_GUARD)  # one Ctrl-C is enough
        assert process.returncode == 130, err.decode()
        assert f"interrupted: {fast} of 40 done; run the same command with --resume to continue" in err.decode()
        assert b"Traceback" not in err
        # the requests in flight were cancelled, not waited for: nothing of theirs was written
        assert len(_each_once(out, {f"r{n:03d}" for n in range(fast)})) == fast

    with FakeServer(_answer()) as server:
        resumed = subprocess.run([*args[:-2], "-j", "4", "--resume"], env={**cli_env, **_env(server)},
                                 capture_output=True, timeout=HANG_GUARD)  # fmt: skip
        assert len(server.requests) == 40 - fast
    assert resumed.returncode == 0, resumed.stderr.decode()
    _each_once(out, ids)


# -- item 2: two runs on one OUTPUT ----------------------------------------------------------------------


@pytest.mark.process
def test_a_second_run_on_the_same_output_is_refused(cli_env: dict[str, str], run_cli: Any, tmp_path: Path) -> None:
    source, ids = _input(tmp_path, 30)
    out = tmp_path / "out.jsonl"
    answer, released = _answer(), threading.Event()

    def held(received: Received) -> Reply:
        """The first two answers at once; the rest once the second run is over: the first run is still
        writing while the second starts, however slowly a busy machine starts it."""
        if _number(received) >= 2:
            released.wait(HANG_GUARD)
        return answer(received)

    with FakeServer(held) as server:
        args = ["batch", "run", str(source), "-o", str(out), "-j", "2"]
        env = _env(server)
        first = subprocess.Popen([PROTOSHIFT, *args], env={**cli_env, **env}, stderr=subprocess.PIPE)
        _wait_for(lambda: _lines_in(out) >= 1, "the first run's first line")
        second = run_cli(*args, "--resume", env=env)
        released.set()
        _, first_err = first.communicate(timeout=HANG_GUARD)
        assert len(server.requests) == 30  # nothing sent twice
    assert second.returncode == 2, second.stderr.decode()
    assert second.stderr.decode().splitlines()[0] == (
        f"protoshift: error: {out} is being written by another protoshift run (pid {first.pid})"
    )
    assert first.returncode == 0, first_err.decode()
    _each_once(out, ids)
    assert not (tmp_path / ".out.jsonl.lock").exists()  # the lock file goes with the run


# -- item 3: a half-open circuit lets the whole batch through -----------------------------------------------


def test_after_the_cooldown_the_workers_wait_for_the_probe_and_the_batch_goes_on(
    run_cli: Any, cli_env: dict[str, str], tmp_path: Path
) -> None:
    source, ids = _input(tmp_path, 40)
    out = tmp_path / "out.jsonl"
    probes = threading.Event()

    def respond(received: Received) -> Reply:
        if not probes.is_set():
            probes.set()
            return _answer(delay=0.5)(received)  # the probe takes a while: the other workers find it out
        return _answer()(received)

    with FakeServer(respond) as server:
        # an earlier run opened the circuit; its cool-down is over: the next request is the probe
        state_dir = Path(cli_env["XDG_STATE_HOME"]) / "protoshift" / "breaker"
        state_dir.mkdir(parents=True)
        store = FileStore("anthropic", server.url, state_dir)
        store.path.write_text(json.dumps({"failures": 5, "opened_at": time.time() - 31, "probe_started": None}))
        done = run_cli("batch", "run", str(source), "-o", str(out), "-j", "8", env=_env(server))
    assert done.returncode == 0, done.stderr.decode()
    lines = _each_once(out, ids)
    assert all(line["error"] is None for line in lines)
    assert b"circuit closed for anthropic" in done.stderr
