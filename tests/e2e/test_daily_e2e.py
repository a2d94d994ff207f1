"""Issue 12 end to end against fake servers: why an answer ended, --fallback lists, the log of exchanges
(continued across invocations, searched, surviving kill -9 and Ctrl-C), attachments on the wire,
`models`, and what an exchange cost."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from openai.types.chat import CompletionCreateParams
from pydantic import TypeAdapter

from tests.fakes import (
    Received,
    Reply,
    anthropic_error_reply,
    anthropic_message_reply,
    anthropic_stream_reply,
    openai_completion_reply,
    sequence,
)
from tests.oracles import assert_openai_body

from .conftest import ANTHROPIC_KEY, PROTOSHIFT_CMD, Chat, Serve
from .helpers import anthropic_bodies, completion, logs, one_error, stderr_lines, write_config

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
PDF = b"%PDF-1.4\n%fake\n"


def texts(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (m["role"], "".join(b.get("text", "") for b in m["content"] if b["type"] == "text")) for m in body["messages"]
    ]


# -- 6. why an answer ended ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stop_reason", "said"),
    [
        (
            "max_tokens",
            "protoshift: the answer was cut at its token limit (finish_reason: length); --max-tokens N allows more",
        ),
        ("refusal", "protoshift: the model refused, or its answer was filtered (finish_reason: content_filter)"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_text_output_says_why_an_answer_ended_early(chat: Chat, serve: Serve, stop_reason: str, said: str,
                                                    stream: bool) -> None:  # fmt: skip
    if stream:
        server = serve(lambda r: anthropic_stream_reply(texts=["Half an ans"], stop_reason=stop_reason))
    else:
        server = serve(lambda r: anthropic_message_reply("Half an ans", stop_reason=stop_reason))
    done = chat("-p", "hi", "-f", "text", *(["--stream"] if stream else []), server=server)
    assert done.returncode == 0
    assert done.stdout == b"Half an ans\n"
    assert stderr_lines(done) == [said]


def test_a_whole_answer_says_nothing_more(chat: Chat, serve: Serve) -> None:
    done = chat("-p", "hi", "-f", "text", server=serve(lambda r: anthropic_message_reply("Done.")))
    assert done.returncode == 0 and done.stdout == b"Done.\n" and done.stderr == b""


# -- 4. --fallback a:x,b:y -----------------------------------------------------------------------------


def test_fallback_splits_on_commas_as_the_environment_does(chat: Chat, serve: Serve) -> None:
    def respond(received: Received) -> Reply:
        if received.json["model"] == "claude-last":
            return anthropic_message_reply("from the last")
        return anthropic_error_reply(500, "api_error", "down")

    server = serve(respond)
    done = chat("-p", "hi", "-m", "claude-first", "--max-retries", "0", "--no-breaker",
                "--fallback", "anthropic:claude-second,anthropic:claude-last", server=server)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert completion(done.stdout)["choices"][0]["message"]["content"] == "from the last"
    assert [b["model"] for b in anthropic_bodies(server)] == ["claude-first", "claude-second", "claude-last"]


# -- the log: conversations continued from any command ------------------------------------------------


def test_a_conversation_continued_across_three_invocations_sends_the_whole_history(
    chat: Chat, serve: Serve, run_cli: Any
) -> None:
    server = serve(sequence(
        anthropic_message_reply("Nile, Amazon, Yangtze."),
        anthropic_stream_reply(texts=["The ", "Nile."]),
        anthropic_message_reply("The Yangtze."),
        anthropic_message_reply("Something else."),
    ))  # fmt: skip
    first = chat("-p", "Name three rivers", "--system", "Be brief.", "-m", "claude-rivers", server=server)
    assert first.returncode == 0, first.stderr
    second = chat("-c", "-p", "Which is longest?", "--stream", server=server)
    assert second.returncode == 0, second.stderr
    third = chat("-c", "-f", "text", server=server, input="And in Asia?")
    assert third.returncode == 0, third.stderr
    bodies = anthropic_bodies(server)
    assert [b["model"] for b in bodies] == ["claude-rivers"] * 3  # the conversation keeps its model
    assert bodies[2]["system"] == [{"type": "text", "text": "Be brief."}]
    assert texts(bodies[2]) == [
        ("user", "Name three rivers"),
        ("assistant", "Nile, Amazon, Yangtze."),
        ("user", "Which is longest?"),
        ("assistant", "The Nile."),
        ("user", "And in Asia?"),
    ]
    rows = logs(run_cli)
    assert len({row["conversation"] for row in rows}) == 1
    assert [row["response"] for row in rows] == ["The Yangtze.", "The Nile.", "Nile, Amazon, Yangtze."]
    # the log keeps what each exchange sent, whole
    assert [m["role"] for m in rows[0]["request"]["messages"]] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    # another conversation, then --cid (a prefix is enough) goes back to the first
    assert chat("-p", "Unrelated", server=server).returncode == 0
    cid = rows[0]["conversation"]
    back = chat("--cid", cid[:6], "-p", "One more?", "-f", "text", server=server)
    assert back.returncode == 0, back.stderr
    assert texts(anthropic_bodies(server)[-1])[-2:] == [("assistant", "The Yangtze."), ("user", "One more?")]


def test_logs_lists_searches_and_shows_one_conversation(chat: Chat, serve: Serve, run_cli: Any) -> None:
    server = serve(sequence(anthropic_message_reply("Paris."), anthropic_message_reply("Four."),
                            anthropic_message_reply("Eight.")))  # fmt: skip
    for args in (["-p", "Capital of France?"], ["-p", "2+2?"], ["-c", "-p", "Times two?"]):
        assert chat(*args, server=server).returncode == 0
    assert [row["response"] for row in logs(run_cli)] == ["Eight.", "Four.", "Paris."]
    assert [row["response"] for row in logs(run_cli, "-n", "1")] == ["Eight."]
    assert [row["response"] for row in logs(run_cli, "-s", "FRANCE")] == ["Paris."]
    cid = logs(run_cli, "-n", "1")[0]["conversation"]
    assert [row["response"] for row in logs(run_cli, "--cid", cid)] == ["Four.", "Eight."]  # in order
    text = run_cli("logs", "-n", "1").stdout.decode()
    assert cid in text and "> Times two?" in text and "Eight." in text and "10 in / 5 out" in text
    assert all("sk-ant" not in json.dumps(row) for row in logs(run_cli, "-n", "0"))


def test_no_log_and_log_false_keep_exchanges_out(chat: Chat, serve: Serve, run_cli: Any,
                                                 cli_env: dict[str, str]) -> None:  # fmt: skip
    server = serve(lambda r: anthropic_message_reply("ok"))
    assert chat("-p", "secret one", "--no-log", server=server).returncode == 0
    write_config(cli_env, "log = false\n")
    assert chat("-p", "secret two", server=server).returncode == 0
    done = run_cli("logs", "--json")
    assert done.returncode == 0 and done.stdout == b""


@pytest.mark.process
def test_the_log_survives_kill_9_mid_reply_and_the_partial_reply_is_continued(
    serve: Serve, cli_env: dict[str, str], run_cli: Any, chat: Chat
) -> None:
    slow = anthropic_stream_reply(texts=[f"word{i} " for i in range(200)], event_delay=0.05)
    server = serve(sequence(slow, anthropic_message_reply("Going on.")))
    env = {**cli_env, "ANTHROPIC_API_KEY": ANTHROPIC_KEY, "ANTHROPIC_BASE_URL": server.url}
    process = subprocess.Popen([PROTOSHIFT_CMD, "chat", "-p", "Tell a long story", "--stream"], env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    database = Path(cli_env["XDG_DATA_HOME"]) / "protoshift" / "logs.db"
    try:
        deadline = time.monotonic() + 30
        while "word5" not in _logged_response(database):
            assert time.monotonic() < deadline and process.poll() is None, "no partial reply was logged"
            time.sleep(0.05)
    finally:
        process.kill()  # SIGKILL: no clean-up of any kind
        process.communicate()
    assert process.returncode == -signal.SIGKILL
    (row,) = logs(run_cli)
    assert row["partial"] is True and row["status"] == "running"
    assert row["response"].startswith("word0 word1 word2 word3 word4 word5") and "word199" not in row["response"]
    assert "the process ended" in run_cli("logs").stdout.decode()
    going_on = chat("-c", "-p", "Go on", server=server)
    assert going_on.returncode == 0, going_on.stderr
    history = texts(anthropic_bodies(server)[-1])
    assert history[0] == ("user", "Tell a long story")
    assert history[1][0] == "assistant" and history[1][1].startswith("word0 word1 word2 word3 word4 word5")
    assert history[2] == ("user", "Go on")


@pytest.mark.process
def test_ctrl_c_mid_reply_logs_the_partial_reply_as_cut(serve: Serve, cli_env: dict[str, str], run_cli: Any) -> None:
    slow = anthropic_stream_reply(texts=[f"word{i} " for i in range(200)], event_delay=0.05)
    server = serve(lambda r: slow)
    env = {**cli_env, "ANTHROPIC_API_KEY": ANTHROPIC_KEY, "ANTHROPIC_BASE_URL": server.url}
    process = subprocess.Popen([PROTOSHIFT_CMD, "chat", "-p", "Tell a long story", "-f", "jsonl"], env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    assert process.stdout is not None
    seen = b""
    while b"word3" not in seen:
        line = process.stdout.readline()
        assert line, "the stream ended early"
        seen += line
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)
    assert process.returncode == 130
    (row,) = logs(run_cli)
    assert (row["status"], row["partial"], row["exit_code"]) == ("cut", True, 130)
    assert row["response"].startswith("word0 word1 word2 word3") and "word199" not in row["response"]


def _logged_response(database: Path) -> str:
    if not database.exists():
        return ""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as db:
            found = db.execute("SELECT response FROM exchanges ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.Error:
        return ""
    return str(found[0]) if found else ""


# -- attachments on the wire ----------------------------------------------------------------------


def test_attachments_reach_the_provider_as_valid_blocks(chat: Chat, serve: Serve, tmp_path: Path) -> None:
    (tmp_path / "photo.png").write_bytes(PNG)
    (tmp_path / "paper.pdf").write_bytes(PDF)
    (tmp_path / "notes.md").write_text("# Notes\nbuy milk\n")
    server = serve(lambda r: anthropic_message_reply("Seen."))
    done = chat("-p", "What are these?", "-a", str(tmp_path / "photo.png"), "-a", str(tmp_path / "paper.pdf"),
                "-a", str(tmp_path / "notes.md"), "-a", "https://example.com/cat.jpg", server=server)  # fmt: skip
    assert done.returncode == 0, done.stderr
    (body,) = anthropic_bodies(server)  # each validated as anthropic.types.MessageCreateParams
    blocks = body["messages"][0]["content"]
    assert [b["type"] for b in blocks] == ["text", "image", "document", "text", "image"]
    assert blocks[1]["source"] == {
        "type": "base64",
        "media_type": "image/png",
        "data": "iVBORw0KGgoAAAAAAAAAAAAAAAAAAAAA",
    }
    assert blocks[2]["source"]["media_type"] == "application/pdf" and blocks[2]["title"] == "paper.pdf"
    assert blocks[3]["text"] == f"File {tmp_path / 'notes.md'}:\n\n# Notes\nbuy milk\n"
    assert blocks[4]["source"] == {"type": "url", "url": "https://example.com/cat.jpg"}


def test_attachments_are_openai_content_parts(chat: Chat, serve: Serve, tmp_path: Path) -> None:
    images = {"a.png": PNG, "b.jpg": b"\xff\xd8\xff\xe0" + b"\x00" * 8, "c.gif": b"GIF89a" + b"\x00" * 8,
              "d.webp": b"RIFF\x10\x00\x00\x00WEBPVP8 "}  # fmt: skip
    for name, data in images.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "e.pdf").write_bytes(PDF)
    server = serve(lambda r: openai_completion_reply("Seen."))
    args = [arg for name in [*images, "e.pdf"] for arg in ("-a", str(tmp_path / name))]
    done = chat("-b", "openai", "-p", "Describe", *args, openai=server)
    assert done.returncode == 0, done.stderr
    (received,) = server.requests
    assert_openai_body(received.json)  # openai.types.chat.CompletionCreateParams, unknown keys forbidden
    TypeAdapter(CompletionCreateParams).validate_python(received.json)
    parts = received.json["messages"][0]["content"]
    media = [p["image_url"]["url"].split(";")[0] for p in parts if p["type"] == "image_url"]
    assert media == ["data:image/png", "data:image/jpeg", "data:image/gif", "data:image/webp"]
    assert parts[-1]["type"] == "file" and parts[-1]["file"]["file_data"].startswith("data:application/pdf;base64,")


def test_what_cannot_be_attached_is_refused_naming_the_file_and_its_kind(chat: Chat, tmp_path: Path) -> None:
    archive = tmp_path / "bundle.zip"
    archive.write_bytes(b"PK\x03\x04" + b"\x00" * 20)
    error = one_error(chat("-b", "mock", "-p", "hi", "-a", str(archive)), 2)
    assert (
        error
        == f"protoshift: error: -a {archive}: a ZIP archive (or a document made of one: docx, xlsx, epub...) cannot be attached"
    )
    big = tmp_path / "big.txt"
    with big.open("wb") as fh:
        fh.truncate(21 << 20)
    error = one_error(chat("-b", "mock", "-p", "hi", "-a", str(big)), 2)
    assert f"-a {big}: 21.0 MiB; an attachment may be at most 20 MiB" in error
    assert "no such file" in one_error(chat("-b", "mock", "-p", "hi", "-a", str(tmp_path / "gone.png")), 2)


# -- models, aliases, cost -----------------------------------------------------------------------------


def _anthropic_models(received: Received) -> Reply:
    assert received.path.startswith("/v1/models"), received.path
    data = [
        {"type": "model", "id": "claude-sonnet-4-5-20250929", "display_name": "Sonnet", "created_at": "2025-09-29T00:00:00Z"},
        {"type": "model", "id": "claude-haiku-4-5-20251001", "display_name": "Haiku", "created_at": "2025-10-01T00:00:00Z"},
    ]  # fmt: skip
    body = {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}
    return Reply(body=json.dumps(body).encode())


def test_models_lists_the_backends_models_then_the_aliases(serve: Serve, run_cli: Any, cli_env: dict[str, str]) -> None:
    write_config(cli_env, '[aliases]\nfast = "claude-haiku-4-5-20251001"\n"4o" = "openai:gpt-4o"\n')
    server = serve(_anthropic_models)
    env = {"ANTHROPIC_API_KEY": ANTHROPIC_KEY, "ANTHROPIC_BASE_URL": server.url}
    done = run_cli("models", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().splitlines() == [
        "claude-sonnet-4-5-20250929",
        "claude-haiku-4-5-20251001",
        "fast -> claude-haiku-4-5-20251001 (alias)",
        "4o -> openai:gpt-4o (alias)",
    ]
    assert server.requests[0].headers["x-api-key"] == ANTHROPIC_KEY
    listed = [json.loads(line) for line in run_cli("models", "--json", env=env).stdout.splitlines()]
    assert listed[0] == {
        "id": "claude-sonnet-4-5-20250929",
        "object": "model",
        "created": 1759104000,
        "owned_by": "anthropic",
    }
    assert listed[3] == {"id": "4o", "object": "model", "created": 0, "owned_by": "alias", "alias_of": "openai:gpt-4o"}


def test_models_of_an_openai_compatible_server(serve: Serve, run_cli: Any) -> None:
    body = {"object": "list", "data": [{"id": "llama3.2", "object": "model", "created": 1, "owned_by": "library"}]}
    server = serve(lambda r: Reply(body=json.dumps(body).encode()))
    done = run_cli("models", "-b", "openai", "--base-url", f"{server.url}/v1", env={"OPENAI_API_KEY": "sk-x"})
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"llama3.2\n"
    assert (server.requests[0].method, server.requests[0].path) == ("GET", "/v1/models")


def test_chat_m_takes_an_alias(serve: Serve, chat: Chat, cli_env: dict[str, str]) -> None:
    write_config(cli_env, '[aliases]\nfast = "claude-haiku-4-5"\n')
    server = serve(lambda r: anthropic_message_reply("ok"))
    assert chat("-m", "fast", "-p", "hi", server=server).returncode == 0
    assert anthropic_bodies(server)[0]["model"] == "claude-haiku-4-5"


def test_cost_in_the_log_and_the_batch_summary(serve: Serve, chat: Chat, run_cli: Any, cli_env: dict[str, str],
                                               tmp_path: Path) -> None:  # fmt: skip
    write_config(cli_env, '[prices."claude-test"]\ninput = 3.0\noutput = 15.0\ncache_read = 0.3\n')
    usage = {"input_tokens": 1000, "output_tokens": 100, "cache_read_input_tokens": 2000}
    server = serve(lambda r: anthropic_message_reply("ok", usage=usage))
    assert chat("-p", "hi", server=server).returncode == 0
    (row,) = logs(run_cli)
    assert row["usage"] == {"prompt_tokens": 3000, "completion_tokens": 100, "cached_tokens": 2000}
    assert row["cost"] == pytest.approx((1000 * 3.0 + 2000 * 0.3 + 100 * 15.0) / 1e6)
    assert "$0.0051" in run_cli("logs").stdout.decode()
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"custom_id": f"r{i}", "body": {"model": "claude-test", "messages": [
        {"role": "user", "content": "hi"}]}}) + "\n" for i in range(3)))  # fmt: skip
    env = {"ANTHROPIC_API_KEY": ANTHROPIC_KEY, "ANTHROPIC_BASE_URL": server.url}
    done = run_cli("batch", "run", str(source), "-o", str(tmp_path / "out.jsonl"), env=env)
    assert done.returncode == 0, done.stderr
    assert "$0.0153" in done.stderr.decode()


def test_an_unknown_model_has_no_cost(serve: Serve, chat: Chat, run_cli: Any) -> None:
    server = serve(lambda r: anthropic_message_reply("ok", model="claude-unpriced"))
    assert chat("-p", "hi", server=server).returncode == 0
    assert logs(run_cli)[0]["cost"] is None
    assert "$" not in run_cli("logs").stdout.decode()
