"""`protoshift serve` under test: the real gateway app on a real uvicorn, in a thread of the test
process, on a free port of 127.0.0.1, in front of fake providers (tests/fakes.py). The official
OpenAI SDK is the client. Tests that need a real process (signals, workers) start `protoshift serve`
itself and read the address it prints."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from protoshift.cli.flags import ProviderFlags, ServeFlags
from protoshift.cli.io.console import Diagnostics
from protoshift.cli.serve.command import build_gateway
from protoshift.cli.settings import resolve_settings
from tests.cli.conftest import PROTOSHIFT, cli_env, run_cli
from tests.fakes import FakeServer, Responder

__all__ = ["cli_env", "run_cli"]  # fixtures shared with tests/cli

PROVIDER_KEY = "sk-ant-serve-Kq3Zt8WmY2pV"
SERVER_KEY = "ps-server-key-Tw9Xc4"

FLAGS: dict[str, Any] = {"max_retries": 0, "no_breaker": True}


@dataclass
class Running:
    url: str  # http://127.0.0.1:PORT
    log_path: Path
    gateway: Any

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def log(self) -> list[dict[str, Any]]:
        """The log's complete lines (one may be half written while the gateway runs)."""
        text = self.log_path.read_text() if self.log_path.exists() else ""
        return [json.loads(line) for line in text.split("\n")[:-1] if line.strip()]

    def requests_logged(self) -> list[dict[str, Any]]:
        return [entry for entry in self.log() if "route" in entry]

    def wait_logged(self, count: int, timeout: float = 20) -> list[dict[str, Any]]:
        """The request lines once there are `count`: the gateway writes a request's line after its
        answer is sent, so the client can have the answer before the line is there."""
        deadline = time.monotonic() + timeout  # a bound on waiting, not on the gateway's speed
        while len(entries := self.requests_logged()) < count:
            assert time.monotonic() < deadline, f"{len(entries)} request lines logged, waited for {count}"
            time.sleep(0.01)
        return entries


@dataclass
class GatewayFactory:
    """`start(upstream, **options)`: a gateway in front of `upstream` (a FakeServer), for the test."""

    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch
    stack: ExitStack
    started: list[tuple[uvicorn.Server, threading.Thread]] = field(default_factory=list)

    def start(
        self,
        upstream: FakeServer | None = None,
        *,
        config: str = "",
        flags: dict[str, Any] | None = None,
        keys: list[str] | None = None,
        **options: Any,
    ) -> Running:
        env = self.monkeypatch
        env.setenv("ANTHROPIC_API_KEY", PROVIDER_KEY)
        if upstream is not None:
            env.setenv("ANTHROPIC_BASE_URL", upstream.url)
        config_file = self.tmp_path / "config.toml"
        config_file.write_text(config)
        env.setenv("PROTOSHIFT_CONFIG", str(config_file))
        settings = resolve_settings(ProviderFlags(**{**FLAGS, **(flags or {})}))
        log_path = self.tmp_path / f"serve-{len(self.started)}.log"
        serve_options = ServeFlags(port=0, log=log_path, **options)
        app = build_gateway(serve_options, keys or [], settings, Diagnostics(quiet=True), None)
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, loop="uvloop", http="httptools", lifespan="on",
                           log_level="warning", access_log=False, timeout_graceful_shutdown=2)
        )  # fmt: skip
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.01)
        self.started.append((server, thread))
        port = server.servers[0].sockets[0].getsockname()[1]
        return Running(f"http://127.0.0.1:{port}", log_path, app)

    def close(self) -> None:
        for server, _ in self.started:
            server.should_exit = True
        for _, thread in self.started:
            thread.join(timeout=10)


@pytest.fixture
def upstream() -> Iterator[Callable[[Responder], FakeServer]]:
    """`upstream(responder)`: a fake provider for the test's lifetime."""
    with ExitStack() as stack:
        yield lambda responder: stack.enter_context(FakeServer(responder))


@pytest.fixture
def gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GatewayFactory]:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    with ExitStack() as stack:
        factory = GatewayFactory(tmp_path, monkeypatch, stack)
        try:
            yield factory
        finally:
            factory.close()


class ServeProcess:
    """`protoshift serve ...` as a real process; `url` is read from the line it prints."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [PROTOSHIFT, "serve", "--port", "0", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.process.stderr is not None
        line = self.start_line = self.process.stderr.readline().decode()
        match = re.search(r"on (http://[^ ]+)/v1 ", line)
        assert match, f"no address in {line!r} (exit {self.process.poll()})"
        self.url = match.group(1)
        self.base_url = self.url + "/v1"

    def stop(self, timeout: float = 30) -> tuple[int, str]:
        self.process.terminate()
        return self.wait(timeout)

    def wait(self, timeout: float = 30) -> tuple[int, str]:
        try:
            _, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
            raise
        return self.process.returncode, err.decode()


def serve_env(cli_env: dict[str, str], upstream: FakeServer | None = None, **extra: str) -> dict[str, str]:
    env = {**cli_env, "ANTHROPIC_API_KEY": PROVIDER_KEY, **extra}
    if upstream is not None:
        env["ANTHROPIC_BASE_URL"] = upstream.url
    env.pop("NO_COLOR", None)
    return {k: v for k, v in env.items() if v is not None} | {"PATH": os.environ.get("PATH", "")}
