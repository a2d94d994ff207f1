"""The harness around Codex CLI, without Codex: fast, in the default run."""

from __future__ import annotations

import socket
import tomllib

from tests.agents import codex
from tests.agents.codex import Tripwire, codex_config


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
