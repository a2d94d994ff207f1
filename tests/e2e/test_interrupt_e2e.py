"""Ctrl-C in a one-shot `chat --stream`: exit 130, what arrived stays printed, no traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import pytest

from tests.fakes import FakeServer, anthropic_stream_reply

from .conftest import ANTHROPIC_KEY, PROTOSHIFT_CMD


@pytest.mark.process  # a signal to a real process
def test_ctrl_c_during_a_stream_exits_130_quietly(cli_env: dict[str, str]) -> None:
    held = threading.Event()  # five ticks, then the server holds the rest: only SIGINT can end the run
    reply = anthropic_stream_reply(texts=["tick "] * 100)
    reply.hold, reply.hold_at = held, 8  # message_start, ping, block start, five ticks
    with FakeServer(lambda received: reply) as server:
        env = {**cli_env, "ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": ANTHROPIC_KEY}
        process = subprocess.Popen(
            [PROTOSHIFT_CMD, "chat", "-p", "count", "--stream", "-f", "text"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert process.stdout is not None
            os.set_blocking(process.stdout.fileno(), False)
            seen, deadline = b"", time.monotonic() + 30  # a bound on waiting, not on the program's speed
            while seen.count(b"tick") < 5 and time.monotonic() < deadline:  # the answer has started
                seen += process.stdout.read() or b""
                time.sleep(0.02)
            process.send_signal(signal.SIGINT)
            rest, err = process.communicate(timeout=30)
        finally:
            held.set()
            process.kill()
    assert process.returncode == 130
    assert (seen + rest).count(b"tick") == 5  # what arrived stays printed; the rest never came
    assert b"Traceback" not in err and ANTHROPIC_KEY.encode() not in err + seen + rest
