"""The gateway as a library: built from a plain `GatewayConfig` (no flags, no config file, nothing of
protoshift.cli), served by an ASGI server of the caller's choosing, answering the official SDKs."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest
import uvicorn

from protoshift.cloud import Aliases, create_backend
from protoshift.gateway import GatewayConfig, build_app
from tests.fakes import FakeServer, Received, Reply, openai_completion


@pytest.fixture
def served(tmp_path: Any) -> Iterator[tuple[str, FakeServer]]:
    def reply(received: Received) -> Reply:
        return Reply(body=json.dumps(openai_completion(f"to {received.json['model']}")).encode())

    with FakeServer(reply) as upstream:
        config = GatewayConfig(
            backend="openai",
            build_backend=lambda name, on_event: create_backend(
                name, base_url=upstream.url + "/v1", on_event=on_event, breaker=False, max_retries=0
            ),
            default_model="llama3.2",
            aliases=Aliases({"claude-*": "qwen3:8b"}),
            log_path=tmp_path / "gateway.log",
        )
        server = uvicorn.Server(uvicorn.Config(build_app(config), host="127.0.0.1", port=0, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield f"http://127.0.0.1:{port}", upstream
        finally:
            server.should_exit = True
            thread.join(10)


def test_a_gateway_built_from_a_plain_config_answers_both_sdks(served: tuple[str, FakeServer]) -> None:
    url, upstream = served
    chat = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
    answer = chat.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "to gpt-4o"
    message = anthropic.Anthropic(base_url=url, api_key="unused", max_retries=0).messages.create(
        model="claude-sonnet-4-6", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    )
    assert message.content[0].type == "text" and message.content[0].text == "to qwen3:8b"  # the alias
    assert [r.json["model"] for r in upstream.requests] == ["gpt-4o", "qwen3:8b"]


def test_building_the_gateway_imports_nothing_of_the_cli() -> None:
    code = (
        "import sys\n"
        "from protoshift.cloud import create_backend\n"
        "from protoshift.gateway import GatewayConfig, build_app\n"
        "build_app(GatewayConfig(backend='mock', build_backend=lambda n, e: create_backend(n, on_event=e)))\n"
        "print(sorted(m for m in sys.modules if m.startswith('protoshift.cli')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
