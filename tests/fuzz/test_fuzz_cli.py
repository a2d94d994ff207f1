"""The real command line under hostile input, fewer inputs than the API (each is a run of `protoshift`): never a
traceback, and the exit code says what happened: 0 done, 1 the provider failed (or sent garbage), 2 the input
was refused, 3 a batch finished with failures. What is written on stdout with exit 0 is JSON (or SSE of JSON)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.cli.conftest import RunCLI
from tests.fakes import FakeServer, Received, Reply
from tests.fuzz.profiles import CLI
from tests.fuzz.strategies import (
    CHUNK_SEEDS,
    MESSAGE_SEEDS,
    json_text,
    mangled_text,
    mutated,
    mutated_sequence,
    request_seeds,
    sse_text,
    stream_seeds,
)
from tests.fuzz.tally import TALLY

REQUESTS = request_seeds()
STREAMS = stream_seeds()


def checked(done: subprocess.CompletedProcess[bytes], allowed: tuple[int, ...]) -> subprocess.CompletedProcess[bytes]:
    """Count the run; fail on a traceback or an exit code the command should not give for this input."""
    TALLY.tried["cli"] += 1
    stderr = done.stderr.decode(errors="replace")
    if "Traceback" in stderr:
        TALLY.tracebacks += 1
        pytest.fail(f"traceback:\n{stderr[-3000:]}")
    if done.returncode not in allowed:
        TALLY.wrong_exit_codes += 1
        pytest.fail(f"exit {done.returncode}, expected one of {allowed}:\n{stderr[-2000:]}")
    if done.returncode not in (0, 3):  # a failure says why in a line of its own
        assert "protoshift: error: " in stderr, stderr
    return done


def strict_json(data: bytes) -> Any:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} written")

    return json.loads(data, parse_constant=refuse)


@CLI
@given(mutated(REQUESTS).map(json_text).flatmap(mangled_text))
def test_translate_request(run_cli: RunCLI, data: bytes) -> None:
    done = checked(run_cli("translate", "request", input=data), (0, 2))
    if done.returncode == 0:
        strict_json(done.stdout)


@CLI
@given(mutated(MESSAGE_SEEDS).map(json_text).flatmap(mangled_text))
def test_translate_response(run_cli: RunCLI, data: bytes) -> None:
    done = checked(run_cli("translate", "response", input=data), (0, 2))
    if done.returncode == 0:
        strict_json(done.stdout)


@CLI
@given(mutated_sequence(STREAMS).map(sse_text).flatmap(mangled_text))
def test_translate_stream(run_cli: RunCLI, data: bytes) -> None:
    done = checked(run_cli("translate", "stream", input=data), (0, 1, 2))
    for frame in done.stdout.split(b"\n\n"):
        if frame.startswith(b"data: {"):
            strict_json(frame[len(b"data: ") :])


class Scripted:
    """One fake server for a whole test; each input sets what it answers."""

    def __init__(self) -> None:
        self.reply: Callable[[Received], Reply] = lambda received: Reply(status=500)

    def __call__(self, received: Received) -> Reply:
        return self.reply(received)


@pytest.fixture(scope="module")
def provider() -> Any:
    scripted = Scripted()
    with FakeServer(scripted) as server:
        yield scripted, server


ANSWERS = st.one_of(
    st.tuples(st.just("anthropic"), st.just(False), mutated(MESSAGE_SEEDS).map(json_text).flatmap(mangled_text)),
    st.tuples(st.just("anthropic"), st.just(True), mutated_sequence(STREAMS).map(sse_text).flatmap(mangled_text)),
    st.tuples(
        st.just("openai"),
        st.just(True),
        mutated_sequence(CHUNK_SEEDS).map(lambda c: sse_text(c) + "data: [DONE]\n\n").flatmap(mangled_text),
    ),
)


@CLI
@given(ANSWERS, st.sampled_from(["json", "sse", "text"]))
def test_chat_against_a_provider_that_sends_garbage(
    run_cli: RunCLI, provider: tuple[Scripted, FakeServer], answer: tuple[str, bool, bytes], fmt: str
) -> None:
    scripted, server = provider
    backend, streamed, body = answer
    scripted.reply = lambda received: Reply(events=[body]) if streamed else Reply(body=body)
    env = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-ant-fuzz-0123456789",
           "OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-oai-fuzz-0123456789"}  # fmt: skip
    args = ["chat", "-b", backend, "-p", "hi", "-f", fmt, "--max-retries", "0", "--no-breaker"]
    done = checked(run_cli(*args, *(["--stream"] if streamed else []), env=env), (0, 1))
    assert b"fuzz-0123456789" not in done.stdout + done.stderr
    if done.returncode == 0 and fmt == "json":
        strict_json(done.stdout)


@CLI
@given(st.lists(mutated(REQUESTS), min_size=1, max_size=4))
def test_batch_run_with_hostile_lines(
    run_cli: RunCLI, tmp_path_factory: pytest.TempPathFactory, bodies: list[Any]
) -> None:
    folder = tmp_path_factory.mktemp("batch")
    lines = [json_text({"custom_id": f"r{n}", "body": body}) for n, body in enumerate(bodies)]
    source = folder / "in.jsonl"
    source.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass") + b"\n")
    out = folder / "out.jsonl"
    done = checked(run_cli("batch", "run", str(source), "-o", str(out), "--backend", "mock", "-q"), (0, 2, 3))
    if done.returncode != 2:
        written = [strict_json(line) for line in Path(out).read_bytes().splitlines()]
        assert sorted(line["custom_id"] for line in written) == sorted(f"r{n}" for n in range(len(bodies)))
