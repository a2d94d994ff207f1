"""Issue 23 end to end against fake servers: a fallback without a key does not stop the primary; a
continued conversation keeps its backend and base URL; the log names the backend that answered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.fakes import anthropic_error_reply, anthropic_message_reply

from .conftest import Chat, Serve
from .helpers import completion


def write_config(cli_env: dict[str, str], text: str) -> Path:
    path = Path(cli_env["XDG_CONFIG_HOME"]) / "protoshift" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)
    return path


def logs(run_cli: Any, *args: str) -> list[dict[str, Any]]:
    done = run_cli("logs", "--json", *args)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


NO_OPENAI_KEY = {"OPENAI_API_KEY": ""}
MISSING = (
    "cannot be used: no API key (OPENAI_API_KEY is not set);"
    " set OPENAI_API_KEY (or api_key / api_key_cmd under [openai] in the config file)"
)


# -- 3. a fallback whose key is missing ------------------------------------------------------------


def test_a_configured_fallback_without_a_key_is_one_warning_and_the_primary_answers(
    chat: Chat, serve: Serve, cli_env: dict[str, str]
) -> None:
    config = write_config(cli_env, 'fallback = ["openai:gpt-4o-mini"]\n')
    server = serve(lambda received: anthropic_message_reply("From Claude."))
    done = chat("-p", "hi", server=server, env=NO_OPENAI_KEY)
    assert done.returncode == 0, done.stderr
    assert completion(done.stdout)["choices"][0]["message"]["content"] == "From Claude."
    assert done.stderr.decode().splitlines() == [
        f"protoshift: fallback openai:gpt-4o-mini (from fallback in {config}) {MISSING}"
    ]


def test_an_unusable_fallback_is_an_error_when_the_chain_needs_it(chat: Chat, serve: Serve) -> None:
    server = serve(lambda received: anthropic_error_reply(529, "overloaded_error", "Overloaded"))
    done = chat("-p", "hi", "--max-retries", "0", "--no-breaker", "--fallback", "openai:gpt-4o-mini",
                server=server, env=NO_OPENAI_KEY)  # fmt: skip
    assert done.returncode == 1
    said = done.stderr.decode().splitlines()
    assert said[0] == f"protoshift: fallback openai:gpt-4o-mini (from --fallback) {MISSING}"
    assert "protoshift: error: all 2 backends tried failed" in said
    assert said[-1] == f"protoshift: error: openai: {MISSING}"
    assert len(server.requests) == 1  # the primary was tried; nothing went to OpenAI
