"""The one npm install recipe the agent harnesses share (npm_cache.py), for each package they pin, without
npm: fast, in the default run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.agents import claude_code, codex, node_sdks, npm_cache

PACKAGES = [codex.PACKAGE, claude_code.PACKAGE, node_sdks.PACKAGE]


@pytest.fixture(params=PACKAGES, ids=[p.name for p in PACKAGES])
def package(request: pytest.FixtureRequest) -> npm_cache.Package:
    return request.param  # type: ignore[no-any-return]


def test_no_node_is_a_reason_to_skip_not_a_failure(
    package: npm_cache.Package, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither node nor npm
    with pytest.raises(package.error, match=f"node and npm are needed to install {package.specs[0]}"):
        npm_cache.install(package, tmp_path)


def test_an_old_node_is_a_reason_to_skip(
    package: npm_cache.Package, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(npm_cache, "node_version", lambda node: (package.node_min[0] - 1, 20))
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    with pytest.raises(package.error, match=f"needs node >= {package.node_min[0]}; this node is"):
        npm_cache.install(package, tmp_path)


def test_a_failed_install_is_remembered_for_the_other_workers(
    package: npm_cache.Package, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(npm_cache, "node_version", lambda node: (22, 0))
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    tries: list[Path] = []

    def no_network(npm: str, prefix: Path, package: npm_cache.Package) -> None:
        tries.append(prefix)
        (prefix / "node_modules").mkdir()  # half an install
        raise package.error("`npm install` failed (no network?): code ECONNREFUSED")

    monkeypatch.setattr(npm_cache, "npm_install", no_network)
    for _ in range(2):
        with pytest.raises(package.error, match="ECONNREFUSED"):
            npm_cache.install(package, tmp_path)
    assert len(tries) == 1  # the second worker read why, it did not wait for npm again
    assert not any(path.is_dir() for path in (tmp_path / "npm").iterdir())  # no half install left


def test_a_step_past_its_time_limit_is_killed_and_said(tmp_path: Path) -> None:
    package = npm_cache.Package("slow", ("slow@1.0.0",), (20, 0), lambda prefix: False, npm_cache.Unavailable, 0.5)
    with pytest.raises(npm_cache.Unavailable, match=r"`sleep 30` did not finish in 0 s"):
        npm_cache.run_bounded(["sleep", "30"], "sleep 30", package)
    with pytest.raises(npm_cache.Unavailable, match=r"`false` failed \(no network\?\)"):
        npm_cache.run_bounded(["false"], "false", package)
