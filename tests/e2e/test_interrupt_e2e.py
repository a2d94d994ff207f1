"""Ctrl-C in a one-shot `chat --stream`: exit 130, what arrived stays printed, no traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from tests.fakes import FakeServer, anthropic_stream_reply

from .conftest import ANTHROPIC_KEY, PROTOSHIFT_CMD


def test_ctrl_c_during_a_stream_exits_130_quietly(cli_env: dict[str, str]) -> None:
    reply = anthropic_stream_reply(texts=["tick "] * 100, event_delay=0.05)
    with FakeServer(lambda received: reply) as server:
        env = {**cli_env, "ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": ANTHROPIC_KEY}
        process = subprocess.Popen(
            [PROTOSHIFT_CMD, "chat", "-p", "count", "--stream", "-f", "text"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert process.stdout is not None
        os.set_blocking(process.stdout.fileno(), False)
        seen, deadline = b"", time.monotonic() + 20
        while b"tick" not in seen and time.monotonic() < deadline:  # the answer has started
            seen += process.stdout.read() or b""
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        rest, err = process.communicate(timeout=20)
    assert process.returncode == 130
    assert b"tick" in seen
    assert (seen + rest).count(b"tick") < 100  # stopped at once, not after the whole answer
    assert b"Traceback" not in err and ANTHROPIC_KEY.encode() not in err + seen + rest
