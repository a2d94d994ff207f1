"""Real agent clients against fakes on 127.0.0.1 (README.md here).

- `codex_command`: Codex CLI installed once (session) into the cache with npm; every test that uses
  it is skipped, with the reason, when node/npm are missing or the install fails.
- `codex`: a `CodexRunner` whose runs live under the test's tmp_path, behind a `Tripwire` that must
  have seen nothing at the end (no traffic left 127.0.0.1 through a proxy).
- `responses_api(script)`: a started `FakeResponses`; at the end, none of its turns may have failed
  the SDK's checks (a broken fake is the test's fault and says so).
- `gateway` (tests/serve/conftest.py's: `protoshift serve`'s app on uvicorn in a thread) and
  `provider(backend, script)`: a fake upstream of one backend protocol (upstreams.py) that must have
  refused nothing by the end; `serve(gateway, provider)` starts the gateway in front of it;
- `through_serve(backend, script)`: Codex's way through serve to a fake upstream, a `Tap` (tap.py)
  recording what Codex sent and got: `Served.run(prompt)` runs Codex, `Served.checked()` holds every
  stream serve sent it to the SDK's types and the API's event order.
- `claude_command`, `claude_code`, `anthropic_api(script)`: the same for Claude Code (claude_code.py)
  and the fake Anthropic Messages API (fake_anthropic.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.agents import fake_anthropic
from tests.agents.claude_code import ClaudeCodeRunner, ClaudeCodeUnavailable, install_claude_code
from tests.agents.codex import MODEL, CodexResult, CodexRunner, CodexUnavailable, Tripwire, install_codex
from tests.agents.fake_responses import FakeResponses, Turn
from tests.agents.tap import Exchange, Tap
from tests.agents.upstreams import UPSTREAMS, Upstream
from tests.agents.upstreams import Turn as UpstreamTurn
from tests.responses_oracles import assert_response_stream
from tests.serve.conftest import GatewayFactory, Running, gateway

__all__ = ["gateway", "serve"]  # `gateway`: the serve tests' fixture, for the tests here


@pytest.fixture(scope="session")
def codex_command() -> Path:
    try:
        return install_codex()
    except CodexUnavailable as exc:
        pytest.skip(f"Codex CLI not available, its tests are skipped: {exc}")


@pytest.fixture
def tripwire() -> Iterator[Tripwire]:
    with Tripwire() as wire:
        yield wire
    assert not wire.hits, f"a client tried to leave 127.0.0.1 (through the proxy variables): {wire.hits}"


@pytest.fixture
def codex(codex_command: Path, tmp_path: Path, tripwire: Tripwire) -> CodexRunner:
    return CodexRunner(codex_command, tmp_path, tripwire)


@pytest.fixture
def responses_api() -> Iterator[Callable[..., FakeResponses]]:
    started: list[FakeResponses] = []
    with ExitStack() as stack:

        def start(script: list[Turn], **options: Any) -> FakeResponses:
            api = stack.enter_context(FakeResponses(script, **options))
            started.append(api)
            return api

        yield start
    for api in started:
        assert not api.broken, f"a turn of the fake failed the SDK's checks:\n{api.broken[0]}"


StartProvider = Callable[[str, Sequence[UpstreamTurn]], Upstream]


@pytest.fixture
def provider() -> Iterator[StartProvider]:
    """`provider("anthropic" | "openai", script)`: a started fake upstream; none may have refused anything
    (or failed to answer) by the end of the test."""
    started: list[Upstream] = []
    with ExitStack() as stack:

        def start(backend: str, script: Sequence[UpstreamTurn]) -> Upstream:
            upstream = stack.enter_context(UPSTREAMS[backend](script))
            started.append(upstream)
            return upstream

        yield start
        for upstream in started:
            upstream.assert_clean()


def serve(gateway: GatewayFactory, upstream: Upstream, *, flags: dict[str, Any] | None = None) -> Running:
    """The gateway in front of `upstream`, its backend of that protocol; the model name Codex knows
    (`gpt-5.5`: it sends its real tool set, apply_patch included, only for a model it knows) an alias of
    the upstream's model."""
    config = f'[aliases]\n"{MODEL}" = "{upstream.model}"\n'
    flags = {"backend": upstream.backend, **(flags or {})}
    if upstream.backend == "openai":
        gateway.monkeypatch.setenv("OPENAI_BASE_URL", upstream.url + "/v1")
        return gateway.start(config=config, flags=flags)
    assert upstream.server is not None
    return gateway.start(upstream.server, config=config, flags=flags)


@dataclass
class Served:
    """Codex's way to the fake upstream: the tap, the gateway, the upstream."""

    upstream: Upstream
    running: Running
    tap: Tap
    codex: CodexRunner

    def run(self, prompt: str, **options: Any) -> CodexResult:
        return self.codex.run(prompt, base_url=self.tap.base_url, api_key="sk-codex-to-serve", **options)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return self.upstream.bodies

    def checked(self) -> list[Exchange]:
        """What the gateway answered Codex, every stream valid and in order (the oracle), nothing refused."""
        self.upstream.assert_clean()
        assert not self.tap.errors, self.tap.errors
        for n, exchange in enumerate(self.tap.exchanges):
            assert (exchange.method, exchange.path) == ("POST", "/v1/responses"), exchange
            if exchange.headers.get("content-type", "").startswith("text/event-stream"):
                try:
                    assert_response_stream(exchange.events())
                except AssertionError as exc:
                    raise AssertionError(f"the stream of answer {n} to Codex: {exc}") from exc
        return self.tap.exchanges


Serve = Callable[..., Served]


@pytest.fixture
def through_serve(codex: CodexRunner, gateway: GatewayFactory, provider: StartProvider) -> Iterator[Serve]:
    with ExitStack() as stack:

        def start(backend: str, script: Sequence[UpstreamTurn], *, flags: dict[str, Any] | None = None) -> Served:
            upstream = provider(backend, script)
            running = serve(gateway, upstream, flags=flags)
            return Served(upstream, running, stack.enter_context(Tap(running.url)), codex)

        yield start


@pytest.fixture(scope="session")
def claude_command() -> Path:
    try:
        return install_claude_code()
    except ClaudeCodeUnavailable as exc:
        pytest.skip(f"Claude Code not available, its tests are skipped: {exc}")


@pytest.fixture
def claude_code(claude_command: Path, tmp_path: Path, tripwire: Tripwire) -> ClaudeCodeRunner:
    return ClaudeCodeRunner(claude_command, tmp_path, tripwire)


@pytest.fixture
def anthropic_api() -> Iterator[Callable[..., fake_anthropic.FakeAnthropic]]:
    started: list[fake_anthropic.FakeAnthropic] = []
    with ExitStack() as stack:

        def start(script: list[fake_anthropic.Turn], **options: Any) -> fake_anthropic.FakeAnthropic:
            api = stack.enter_context(fake_anthropic.FakeAnthropic(script, **options))
            started.append(api)
            return api

        yield start
    for api in started:
        assert not api.broken, f"a turn of the fake failed the SDK's checks:\n{api.broken[0]}"
