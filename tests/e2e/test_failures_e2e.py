"""`protoshift chat` end to end when things go wrong: retries, error statuses, broken and slow streams,
the circuit breaker shared across invocations, fallback chains, and keys that must never show."""

from __future__ import annotations

import json
import threading
from typing import Any

from tests.fakes import (
    Reply,
    anthropic_error_reply,
    anthropic_message_reply,
    anthropic_stream_reply,
    free_port,
    openai_completion_reply,
    openai_error_reply,
    openai_stream_events,
    sequence,
)

from .conftest import ANTHROPIC_KEY, Chat, Serve
from .helpers import (
    PROG,
    anthropic_bodies,
    completion,
    error_lines,
    one_error,
    sse_chunks,
    stderr_lines,
    text_of,
)

FAST = {"retry-after-ms": "10"}  # retries honour retry-after-ms: no real backoff in tests


def _retry_lines(done: Any) -> list[str]:
    return [line for line in stderr_lines(done) if "retrying in" in line]


def _same_bodies(server: Any, count: int) -> dict[str, Any]:
    bodies = anthropic_bodies(server)
    assert len(bodies) == count, f"{len(bodies)} requests, expected {count}"
    assert all(b == bodies[0] for b in bodies), "a retry sends the same body"
    return bodies[0]


# -- retries ---------------------------------------------------------------------------------------


def test_429_with_retry_after_then_success(chat: Chat, serve: Serve) -> None:
    servers, runs = [], []
    for stream in (False, True):
        ok = anthropic_stream_reply(texts=["fine"]) if stream else anthropic_message_reply("fine")
        server = serve(sequence(anthropic_error_reply(429, "rate_limit_error", "Slow down", FAST), ok))
        servers.append(server)
        runs.append(chat.start("-p", "hi", *(["--stream"] if stream else []), server=server))
    plain, streamed = (run.wait() for run in runs)
    for done in (plain, streamed):
        assert done.returncode == 0, done.stderr
        lines = stderr_lines(done)
        assert len(lines) == 1, lines
        assert lines[0].startswith(PROG + "anthropic: 429 rate_limit_error, retrying in ")
        assert lines[0].endswith("(attempt 2 of 3)")
    assert completion(plain.stdout)["choices"][0]["message"]["content"] == "fine"
    assert text_of(sse_chunks(streamed.stdout)) == "fine"
    for server in servers:
        _same_bodies(server, 2)


def test_529_twice_then_success(chat: Chat, serve: Serve) -> None:
    overloaded = anthropic_error_reply(529, "overloaded_error", "Overloaded", FAST)
    servers, runs = [], []
    for stream in (False, True):
        ok = anthropic_stream_reply(texts=["made it"]) if stream else anthropic_message_reply("made it")
        server = serve(sequence(overloaded, overloaded, ok))
        servers.append(server)
        runs.append(chat.start("-p", "hi", *(["--stream"] if stream else []), server=server))
    plain, streamed = (run.wait() for run in runs)
    for done in (plain, streamed):
        assert done.returncode == 0, done.stderr
        lines = stderr_lines(done)
        assert [line.split(", retrying")[0] for line in lines] == [PROG + "anthropic: 529 overloaded_error"] * 2
        assert lines[0].endswith("(attempt 2 of 3)") and lines[1].endswith("(attempt 3 of 3)")
    assert completion(plain.stdout)["choices"][0]["message"]["content"] == "made it"
    assert text_of(sse_chunks(streamed.stdout)) == "made it"
    for server in servers:
        _same_bodies(server, 3)


def test_500_always_bounded_attempts(chat: Chat, serve: Serve) -> None:
    servers = {}
    runs = {}
    for retries, stream in ((0, False), (2, False), (2, True)):
        server = serve(lambda r: anthropic_error_reply(500, "api_error", "Internal server error", FAST))
        servers[retries, stream] = server
        args = ["-p", "hi", "--max-retries", str(retries), *(["--stream"] if stream else [])]
        runs[retries, stream] = chat.start(*args, server=server)
    for (retries, stream), run in runs.items():
        done = run.wait()
        line = one_error(done, 1)
        assert line.startswith(PROG + "error: anthropic: 500 api_error: Internal server error (request req_fakeerr)")
        assert ("after 3 attempts" in line) == (retries == 2), line
        assert len(_retry_lines(done)) == retries
        assert done.stdout == b""
        _same_bodies(servers[retries, stream], retries + 1)  # bounded: max_retries + 1 attempts


def test_401_one_attempt_names_the_key_variable(chat: Chat, serve: Serve) -> None:
    servers = [serve(lambda r: anthropic_error_reply(401, "authentication_error", "invalid x-api-key")) for _ in "ab"]
    runs = [
        chat.start("-p", "hi", *flags, server=server) for flags, server in zip([[], ["--stream"]], servers, strict=True)
    ]
    for run, server in zip(runs, servers, strict=True):
        done = run.wait()
        line = one_error(done, 1)
        assert "401" in line, line
        assert "protoshift: hint: check ANTHROPIC_API_KEY" in done.stderr.decode()
        assert _retry_lines(done) == []
        assert done.stdout == b""
        _same_bodies(server, 1)


def test_400_is_not_retried(chat: Chat, serve: Serve) -> None:
    server = serve(lambda r: anthropic_error_reply(400, "invalid_request_error", "messages: bad", FAST))
    done = chat("-p", "hi", server=server)
    assert "400 invalid_request_error" in one_error(done, 1)
    _same_bodies(server, 1)


# -- broken and slow streams -----------------------------------------------------------------------


def test_error_event_mid_stream_keeps_partial_output(chat: Chat, serve: Serve) -> None:
    server = serve(
        lambda r: anthropic_stream_reply(
            texts=["Once ", "upon"], error={"type": "overloaded_error", "message": "Overloaded"}
        )
    )
    done = chat("-p", "story", "--stream", server=server)
    line = one_error(done, 1)
    assert "stream interrupted: overloaded_error" in line, line
    chunks = sse_chunks(done.stdout, done=False)
    assert text_of(chunks) == "Once upon"
    assert all(not c["choices"] or c["choices"][0]["finish_reason"] is None for c in chunks)
    assert _retry_lines(done) == []
    _same_bodies(server, 1)  # never retried once output was given out


def test_error_event_mid_stream_text_format(chat: Chat, serve: Serve) -> None:
    server = serve(
        lambda r: anthropic_stream_reply(texts=["Once ", "upon"], error={"type": "api_error", "message": "boom"})
    )
    done = chat("-p", "story", "--stream", "--format", "text", server=server)
    one_error(done, 1)
    assert done.stdout == b"Once upon\n"


def test_connection_cut_mid_stream(chat: Chat, serve: Serve) -> None:
    server = serve(lambda r: anthropic_stream_reply(texts=["a", "b", "c", "d"], cut_after=5))
    done = chat("-p", "hi", "--stream", server=server)
    line = one_error(done, 1)
    assert "stream interrupted" in line, line
    chunks = sse_chunks(done.stdout, done=False)
    assert text_of(chunks) == "ab"
    _same_bodies(server, 1)


def test_connection_cut_before_any_event_is_retried(chat: Chat, serve: Serve) -> None:
    server = serve(sequence(Reply(events=[b""], cut_after=0, headers=FAST), anthropic_stream_reply(texts=["ok"])))
    done = chat("-p", "hi", "--stream", server=server)
    assert done.returncode == 0, done.stderr
    assert len(_retry_lines(done)) == 1
    assert text_of(sse_chunks(done.stdout)) == "ok"
    _same_bodies(server, 2)


def test_slow_server_times_out(chat: Chat, serve: Serve) -> None:
    """--timeout bounds a server that does not answer, and one that stalls mid-stream (output kept).
    Both servers hold their reply until the runs are over: a run can only have ended by timing out."""
    held = threading.Event()
    hung = serve(lambda r: Reply(body=b"{}", hold=held))
    events = anthropic_stream_reply(texts=["quick", " slow"]).events
    stalling = serve(lambda r: Reply(events=events, hold=held, hold_at=4))  # up to the first text, then nothing
    try:
        silent = chat("-p", "hi", "--timeout", "1", "--max-retries", "0", server=hung)
        stalled = chat("-p", "hi", "--stream", "--timeout", "1", "--max-retries", "0", server=stalling)
    finally:
        held.set()
    for server in (hung, stalling):  # every request the runs made is recorded
        server.wait_connections_closed()
    assert "timed out" in one_error(silent, 1)
    assert silent.stdout == b""
    line = one_error(stalled, 1)
    assert "stream interrupted" in line and "timed out" in line, line
    chunks = sse_chunks(stalled.stdout, done=False)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert text_of(chunks) == "quick"
    _same_bodies(hung, 1)
    _same_bodies(stalling, 1)


# -- circuit breaker across invocations ------------------------------------------------------------


def test_breaker_opens_across_invocations(chat: Chat, serve: Serve) -> None:
    server = serve(lambda r: anthropic_error_reply(500, "api_error", "down", FAST))
    first = chat("-p", "hi", "--max-retries", "4", server=server)
    assert "500 api_error" in one_error(first, 1)
    assert len(server.requests) == 5  # the breaker counts attempts: 5 failures in one call open it
    assert any("circuit opened for anthropic" in line for line in stderr_lines(first)), stderr_lines(first)

    # separate invocations, the same XDG_STATE_HOME: the breaker state is shared
    healthy = serve(lambda r: anthropic_message_reply("up"))
    runs = [
        chat.start("-p", "hi", server=server),
        chat.start("-p", "hi", "--stream", server=server),
        chat.start("-p", "hi there", "--fallback", "mock", server=server),
        chat.start("-p", "hi", server=healthy),  # one breaker per endpoint
    ]
    second, streamed, fell_back, other = (run.wait() for run in runs)
    for done in (second, streamed):
        line = one_error(done, 1)
        assert "circuit open for anthropic, retry in " in line, line
        assert done.stdout == b""
    assert fell_back.returncode == 0, fell_back.stderr
    assert stderr_lines(fell_back) == [PROG + "anthropic failed (circuit open); falling back to mock"]
    assert completion(fell_back.stdout)["choices"][0]["message"]["content"] == "You said: hi there"
    assert len(server.requests) == 5, "an open circuit sends nothing"
    assert other.returncode == 0 and len(healthy.requests) == 1

    forced = chat.start("-p", "hi", "--no-breaker", "--max-retries", "0", server=server)
    by_env = chat.start("-p", "hi", "--max-retries", "0", server=server, env={"PROTOSHIFT_BREAKER": "off"})
    for run in (forced, by_env):
        assert "500 api_error" in one_error(run.wait(), 1)
    assert len(server.requests) == 7


# -- fallback --------------------------------------------------------------------------------------


def test_fallback_dead_primary_to_openai(chat: Chat, serve: Serve) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    openai = serve(lambda r: openai_completion_reply("from openai", model="gpt-x"))
    done = chat("-p", "hi", "--max-retries", "0", "--fallback", "openai:gpt-x", server=dead, openai=openai)
    assert done.returncode == 0, done.stderr
    lines = stderr_lines(done)
    assert len(lines) == 1, lines
    assert lines[0].startswith(PROG + "anthropic failed (") and lines[0].endswith("); falling back to openai:gpt-x")
    answer = completion(done.stdout)
    assert answer["choices"][0]["message"]["content"] == "from openai"
    assert len(openai.requests) == 1
    received = openai.requests[0]
    assert (received.method, received.path) == ("POST", "/v1/chat/completions")
    assert received.json["model"] == "gpt-x"
    assert received.json["messages"] == [{"role": "user", "content": "hi"}]


def test_every_backend_failing_says_why_for_each(chat: Chat, serve: Serve) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    openai = serve(lambda r: openai_error_reply(401, "Incorrect API key provided", "invalid_request_error"))
    for flags in ([], ["--stream"]):
        done = chat("-p", "hi", "--max-retries", "0", "--fallback", "openai", *flags, server=dead, openai=openai)
        assert done.returncode == 1 and done.stdout == b""
        errors = error_lines(done)
        assert errors[0] == PROG + "error: all 2 backends tried failed", errors
        assert errors[1].startswith(PROG + "error: anthropic: cannot connect to 127.0.0.1:") and "base URL" in errors[1]
        assert errors[2].startswith(PROG + "error: openai: 401") and "check OPENAI_API_KEY" in errors[2]
        assert len(errors) == 3


def test_fallback_dead_primary_to_openai_stream(chat: Chat, serve: Serve) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    openai = serve(lambda r: Reply(events=openai_stream_events(["str", "eam"], model="gpt-x")))
    done = chat("-p", "hi", "--stream", "--max-retries", "0", "--fallback", "openai:gpt-x", server=dead, openai=openai)
    assert done.returncode == 0, done.stderr
    assert len(stderr_lines(done)) == 1 and "falling back to openai:gpt-x" in done.stderr.decode()
    assert text_of(sse_chunks(done.stdout)) == "stream"
    assert openai.requests[0].json["stream"] is True


def test_fallback_dead_primary_to_mock(chat: Chat) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    runs = [chat.start("-p", "hello world", "--max-retries", "1", "--fallback", "mock", *flags, server=dead)
            for flags in ([], ["--stream"])]  # fmt: skip
    plain, streamed = (run.wait() for run in runs)
    for done in (plain, streamed):
        assert done.returncode == 0, done.stderr
        lines = stderr_lines(done)
        assert len(lines) == 2, lines  # one retry of the primary, then one switch
        assert "cannot connect to 127.0.0.1:" in lines[0] and "retrying in" in lines[0]
        assert lines[1].startswith(PROG + "anthropic failed (") and lines[1].endswith("falling back to mock")
    assert completion(plain.stdout)["choices"][0]["message"]["content"] == "You said: hello world"
    assert text_of(sse_chunks(streamed.stdout)) == "You said: hello world"


def test_fallback_after_5xx_retries_used_up(chat: Chat, serve: Serve) -> None:
    server = serve(lambda r: anthropic_error_reply(529, "overloaded_error", "Overloaded", FAST))
    done = chat("-p", "hi", "--fallback", "mock", server=server)
    assert done.returncode == 0, done.stderr
    lines = stderr_lines(done)
    assert len(_retry_lines(done)) == 2
    assert lines[-1] == PROG + "anthropic failed (529 overloaded_error); falling back to mock"
    _same_bodies(server, 3)


def test_auth_and_invalid_request_never_fall_back(chat: Chat, serve: Serve) -> None:
    cases = {401: "authentication_error", 400: "invalid_request_error"}
    servers = {s: serve(lambda r, s=s, k=k: anthropic_error_reply(s, k, "no", FAST)) for s, k in cases.items()}
    runs = {status: chat.start("-p", "hi", "--fallback", "mock", server=server) for status, server in servers.items()}
    for status, run in runs.items():
        done = run.wait()
        line = one_error(done, 1)
        assert str(status) in line
        assert "falling back" not in done.stderr.decode()
        assert done.stdout == b""
        _same_bodies(servers[status], 1)


def test_stream_that_began_never_falls_back(chat: Chat, serve: Serve) -> None:
    server = serve(lambda r: anthropic_stream_reply(texts=["part"], error={"type": "overloaded_error", "message": "x"}))
    done = chat("-p", "hi", "--stream", "--fallback", "mock", server=server)
    one_error(done, 1)
    assert "falling back" not in done.stderr.decode()
    assert text_of(sse_chunks(done.stdout, done=False)) == "part"


# -- keys and transport safety ---------------------------------------------------------------------


def test_key_never_printed_with_verbose(chat: Chat, serve: Serve) -> None:
    """Servers that echo the key back in their error messages; `chat` checks every run's output."""
    cases: list[tuple[Reply, list[str]]] = [
        (anthropic_error_reply(401, "authentication_error", f"invalid x-api-key {ANTHROPIC_KEY}"), []),
        (anthropic_error_reply(500, "api_error", f"echo {ANTHROPIC_KEY}", FAST), ["--max-retries", "1"]),
        (anthropic_error_reply(429, "rate_limit_error", f"key {ANTHROPIC_KEY} limited", FAST), ["--max-retries", "1"]),
        (anthropic_stream_reply(texts=["x"], error={"type": "api_error", "message": f"bad {ANTHROPIC_KEY}"}), ["--stream"]),
        (anthropic_stream_reply(texts=["x"], cut_after=4), ["--stream"]),
    ]  # fmt: skip
    servers = [serve(lambda r, reply=reply: reply) for reply, _ in cases]
    runs = [
        chat.start("-p", "hi", "-v", *args, server=server) for (_, args), server in zip(cases, servers, strict=True)
    ]
    for run, server in zip(runs, servers, strict=True):
        done = run.wait()
        assert server.requests and all(r.headers["x-api-key"] == ANTHROPIC_KEY for r in server.requests)
        trace = [line for line in stderr_lines(done) if " POST " in line]
        assert len(trace) == len(server.requests)
        assert all("x-api-key: ***" in line for line in trace), trace
        line = one_error(done, 1)
        assert "***" in line or "stream interrupted: connection_error" in line, line


def test_key_never_printed_by_fallback_or_dry_run(chat: Chat, serve: Serve) -> None:
    openai = serve(lambda r: openai_completion_reply("ok"))
    dead = f"http://127.0.0.1:{free_port()}"
    done = chat("-p", "hi", "-v", "--max-retries", "0", "--fallback", "openai", server=dead, openai=openai)
    assert done.returncode == 0, done.stderr
    assert any("authorization: Bearer ***" in line for line in stderr_lines(done)), stderr_lines(done)
    dry = chat("-p", "hi", "-v", "--dry-run", "--backend", "openai", openai=openai)
    assert dry.returncode == 0
    assert f"{PROG}  authorization: Bearer ***" in stderr_lines(dry)


def test_plain_http_to_remote_host_refused(chat: Chat) -> None:
    """A key over http:// to a non-loopback host is refused before any connection (TEST-NET-1 addresses:
    a connection attempt would hang, and nothing may leave the machine)."""
    runs = [
        chat.start("-p", "hi", "-v", "--base-url", "http://192.0.2.1"),
        chat.start("-p", "hi", "-v", "--backend", "openai", "--base-url", "http://192.0.2.1:8080/v1"),
        chat.start("-p", "hi", "-v", server="http://192.0.2.1"),
    ]
    for run in runs:
        done = run.wait()
        line = one_error(done, 2)
        assert "clear text" in line and "192.0.2.1" in line, line
        assert "--allow-insecure" in done.stderr.decode()  # the hint line says how to allow it
        assert not any(" POST " in line for line in stderr_lines(done)), "no request was attempted"
        assert done.stdout == b""
    # a fallback that would send it so is not used (one line saying why), and the primary answers
    done = chat("-p", "hi", "-v", "--backend", "mock", "--fallback", "openai", openai="http://192.0.2.1/v1")
    assert done.returncode == 0
    warning = stderr_lines(done)[0]
    assert "fallback openai (from --fallback) cannot be used" in warning and "clear text to 192.0.2.1" in warning
    assert "--allow-insecure" in warning
    assert not any("192.0.2.1" in line for line in stderr_lines(done)[1:]), "nothing was sent there"


def test_dry_run_needs_no_server(chat: Chat) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    done = chat("-p", "hi", "--dry-run", server=dead)
    assert done.returncode == 0
    assert json.loads(done.stdout)["messages"][0]["content"][0]["text"] == "hi"
