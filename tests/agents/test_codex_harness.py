"""The harness around Codex CLI, without Codex: fast, in the default run."""

from __future__ import annotations

import shutil
import socket
import tomllib
from pathlib import Path

import pytest

from tests.agents import codex
from tests.agents.codex import CodexUnavailable, Tripwire, codex_config, install_codex


def test_no_node_is_a_reason_to_skip_not_a_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither node nor npm
    with pytest.raises(CodexUnavailable, match="node and npm are needed"):
        install_codex(tmp_path)


def test_a_failed_install_is_remembered_for_the_other_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codex, "_node_version", lambda node: (20, 0))
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    tries: list[Path] = []

    def no_network(npm: str, prefix: Path) -> None:
        tries.append(prefix)
        raise CodexUnavailable("`npm install` failed (no network?): code ECONNREFUSED")

    monkeypatch.setattr(codex, "_npm_install", no_network)
    for _ in range(2):
        with pytest.raises(CodexUnavailable, match="ECONNREFUSED"):
            install_codex(tmp_path)
    assert len(tries) == 1  # the second worker read why, it did not wait for npm again
    assert not any(path.name.startswith("codex-0") and path.is_dir() for path in (tmp_path / "npm").iterdir())


def test_the_config_points_at_the_base_url_and_nowhere_else() -> None:
    config = tomllib.loads(codex_config("http://127.0.0.1:5/v1", request_max_retries=0))
    provider = config["model_providers"][config["model_provider"]]
    assert provider["base_url"] == "http://127.0.0.1:5/v1"
    assert provider["wire_api"] == "responses" and provider["env_key"] == codex.KEY_ENV
    assert provider["request_max_retries"] == 0 and provider["requires_openai_auth"] is False
    assert config["approval_policy"] == "never" and config["check_for_update_on_startup"] is False
    assert config["analytics"]["enabled"] is False and config["feedback"]["enabled"] is False
    assert config["otel"] == {"exporter": "none", "metrics_exporter": "none", "trace_exporter": "none"}
    assert config["mcp_servers"] == {} and config["features"]["plugins"] is False


def test_the_tripwire_sees_who_came() -> None:
    with Tripwire() as wire:
        host, port = wire.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as conn:
            conn.sendall(b"CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\n\r\n")
            assert conn.recv(100) == b""  # closed on it at once
    assert wire.hits == ["CONNECT api.openai.com:443 HTTP/1.1"]
