"""Real agent clients against fakes on 127.0.0.1 (README.md here).

- `codex_command`: Codex CLI installed once (session) into the cache with npm; every test that uses
  it is skipped, with the reason, when node/npm are missing or the install fails.
- `codex`: a `CodexRunner` whose runs live under the test's tmp_path, behind a `Tripwire` that must
  have seen nothing at the end (no traffic left 127.0.0.1 through a proxy).
- `responses_api(script)`: a started `FakeResponses`; at the end, none of its turns may have failed
  the SDK's checks (a broken fake is the test's fault and says so).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.agents.codex import CodexRunner, CodexUnavailable, Tripwire, install_codex
from tests.agents.fake_responses import FakeResponses, Turn


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
