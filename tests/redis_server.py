"""A real `redis-server` for the tests (Debian's package; `.ci/run` installs it when it is missing): started
on a free loopback port, or a unix socket, in a temp folder, with nothing saved to disk; stopped, killed
if it must be, when the test ends. `stop()` and `start()` again on the same port let a test take it away
mid-load and bring it back."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.fakes import free_port

REDIS_SERVER = shutil.which("redis-server")
START_GUARD = 20.0  # seconds a start may take on a busy machine before the test fails


def needs_redis() -> None:
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server; .ci/run does it)")


class RedisServer:
    def __init__(self, folder: Path, *, unix: bool = False) -> None:
        needs_redis()
        self.folder = folder
        self.unix = unix
        self.port = 0 if unix else free_port()
        self.socket = folder / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}" if self.unix else f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        assert REDIS_SERVER is not None
        where = ["--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700"] if self.unix else [
            "--port", str(self.port), "--bind", "127.0.0.1",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            [REDIS_SERVER, *where, "--save", "", "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_GUARD
        while not self._answers():
            assert self.process.poll() is None, "redis-server exited at start"
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.02)
        return self

    def _answers(self) -> bool:
        family = socket.AF_UNIX if self.unix else socket.AF_INET
        address: str | tuple[str, int] = str(self.socket) if self.unix else ("127.0.0.1", self.port)
        try:
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.settimeout(1.0)
                probe.connect(address)
                probe.sendall(b"PING\r\n")
                return probe.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
