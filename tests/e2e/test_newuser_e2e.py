"""Issue 23 end to end against fake servers: a fallback without a key does not stop the primary; a
continued conversation keeps its backend and base URL; the log names the backend that answered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.fakes import anthropic_error_reply, anthropic_message_reply, openai_completion_reply, sequence

from .conftest import Chat, Serve
from .helpers import completion, logs, write_config

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


# -- 4. -c / --cid keep the conversation's backend and base URL --------------------------------------


def user_texts(body: dict[str, Any]) -> list[str]:
    return [m["content"] if isinstance(m["content"], str) else m["content"][0]["text"] for m in body["messages"]]


def test_a_continued_conversation_keeps_its_backend_and_base_url(chat: Chat, serve: Serve, run_cli: Any) -> None:
    claude = serve(lambda received: anthropic_message_reply("From Claude."))
    ollama = serve(lambda received: openai_completion_reply("From llama.", model="llama3.2"))
    other = serve(lambda received: openai_completion_reply("From the other one.", model="llama3.2"))
    first = chat("-b", "openai", "--base-url", f"{ollama.url}/v1", "-m", "llama3.2", "-p", "one", server=claude)
    assert first.returncode == 0, first.stderr
    cid = logs(run_cli)[0]["conversation"]
    # nothing said: the same backend, base URL and model (OPENAI_BASE_URL is OpenAI's own here)
    assert chat("-c", "-p", "two", server=claude).returncode == 0
    assert chat("--cid", cid, "-p", "three", server=claude).returncode == 0
    assert [r.json["model"] for r in ollama.requests] == ["llama3.2"] * 3
    assert user_texts(ollama.requests[2].json) == ["one", "From llama.", "two", "From llama.", "three"]
    # told otherwise: --base-url alone moves the conversation on the same backend; -b to another backend
    assert chat("-c", "--base-url", f"{other.url}/v1", "-p", "four", server=claude).returncode == 0
    assert len(other.requests) == 1 and other.requests[0].json["model"] == "llama3.2"
    done = chat("-c", "-b", "anthropic", "-m", "claude-test", "-p", "five", server=claude)
    assert done.returncode == 0, done.stderr
    assert len(claude.requests) == 1 and len(claude.requests[0].json["messages"]) == 9
    assert len(ollama.requests) == 3 and len(other.requests) == 1


def test_a_continued_dry_run_shows_the_conversations_backend(chat: Chat, serve: Serve) -> None:
    ollama = serve(lambda received: openai_completion_reply("From llama.", model="llama3.2"))
    assert chat("-b", "openai", "--base-url", f"{ollama.url}/v1", "-m", "llama3.2", "-p", "one").returncode == 0
    done = chat("-c", "--dry-run", "-v", "-p", "two")
    assert done.returncode == 0, done.stderr
    assert f"POST {ollama.url}/v1/chat/completions" in done.stderr.decode()
    assert json.loads(done.stdout)["model"] == "llama3.2"


# -- 5. the log names the backend that answered ----------------------------------------------------


def test_the_log_names_the_fallback_that_answered(chat: Chat, serve: Serve, run_cli: Any) -> None:
    claude = serve(sequence(anthropic_error_reply(529, "overloaded_error", "Overloaded"),
                            anthropic_message_reply("Claude again.")))  # fmt: skip
    openai = serve(lambda received: openai_completion_reply("From OpenAI.", model="gpt-4o-mini"))
    done = chat("-p", "hi", "--max-retries", "0", "--no-breaker", "--fallback", "openai:gpt-4o-mini",
                server=claude, openai=openai)  # fmt: skip
    assert done.returncode == 0, done.stderr
    (row,) = logs(run_cli)
    assert (row["model"], row["backend"], row["primary_backend"]) == ("gpt-4o-mini", "openai", "anthropic")
    text = run_cli("logs").stdout.decode()
    assert "gpt-4o-mini (openai, fallback for anthropic)" in text
    # the conversation goes on where it was sent: the primary, which answers now
    assert chat("-c", "-p", "again", server=claude, openai=openai).returncode == 0
    newest = logs(run_cli)[0]
    assert (newest["backend"], newest["primary_backend"]) == ("anthropic", "anthropic")
    assert len(claude.requests) == 2 and len(openai.requests) == 1


def test_a_log_written_before_the_primary_backend_was_kept_is_read_and_upgraded(
    run_cli: Any, cli_env: dict[str, str]
) -> None:
    import sqlite3

    path = Path(cli_env["XDG_DATA_HOME"]) / "protoshift" / "logs.db"
    path.parent.mkdir(parents=True)
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE exchanges (id INTEGER PRIMARY KEY, conversation TEXT NOT NULL, prior INTEGER, started TEXT"
        " NOT NULL, model TEXT NOT NULL, backend TEXT NOT NULL, request TEXT NOT NULL, messages TEXT NOT NULL,"
        " reply TEXT, response TEXT NOT NULL DEFAULT '', partial INTEGER NOT NULL DEFAULT 1, status TEXT NOT NULL"
        " DEFAULT 'running', finish_reason TEXT, prompt_tokens INTEGER, completion_tokens INTEGER, cached_tokens"
        " INTEGER, cost REAL, duration REAL, exit_code INTEGER, error TEXT);"
        "INSERT INTO exchanges (conversation, started, model, backend, request, messages, reply, response, partial,"
        " status) VALUES ('c0ffee', '2026-01-01T00:00:00.000Z', 'claude-mock-1', 'mock', '{}',"
        ' \'[{"role":"user","content":"old"}]\', \'{"role":"assistant","content":"You said: old"}\', \'You said: old\', 0, \'ok\');'
        "PRAGMA user_version = 1;"
    )
    old.close()
    done = run_cli("chat", "-c", "-p", "new", "-f", "text")  # the mock, from the old row's backend
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"You said: new\n"
    rows = logs(run_cli)
    assert [(r["backend"], r["primary_backend"]) for r in rows] == [("mock", "mock"), ("mock", "mock")]
