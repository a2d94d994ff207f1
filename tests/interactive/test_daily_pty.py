"""Issue 12 on a real terminal (a pty, read as a person sees it): Ctrl-C leaves the partial reply once,
a streamed one-shot reply gets its footer, markdown hides nothing (and --raw, /markdown off,
`markdown = false` print the text as it came), /save writes a file with the umask's mode, and a
session is a logged conversation that `chat -c` picks up again."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from tests.fakes import FakeServer, Received, anthropic_message_reply, anthropic_stream_reply, sequence
from tests.interactive.conftest import PROTOSHIFT, StartChat

pytestmark = pytest.mark.process

MARKDOWN = "Say <b>bold</b>, see [the docs](http://docs.example/x) or <http://plain.example>; a\\.b\\*c"


def anthropic(server: FakeServer) -> dict[str, str]:
    return {"ANTHROPIC_BASE_URL": server.url}


def texts(received: Received) -> list[tuple[str, str]]:
    out = []
    for message in received.json["messages"]:
        text = "".join(b.get("text", "") for b in message["content"] if b.get("type") == "text")
        out.append((message["role"], text))
    return out


def write_config(chat_env: dict[str, str], text: str) -> None:
    path = Path(chat_env["XDG_CONFIG_HOME"]) / "protoshift" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)


# -- 1. Ctrl-C -------------------------------------------------------------------------------------


@pytest.mark.parametrize("piece", ["word{} ", "line {}\n\n"])
def test_ctrl_c_leaves_the_partial_reply_once_in_the_scrollback(start_chat: StartChat, piece: str) -> None:
    slow = anthropic_stream_reply(texts=[piece.format(i) for i in range(200)], event_delay=0.1)
    with FakeServer(sequence(slow, anthropic_stream_reply(texts=["Fine."]))) as server:
        term = start_chat("chat", "-i", env=anthropic(server))
        term.wait_prompt()
        term.line("tell me a long story")
        term.wait_for(piece.format(6).strip())
        term.ctrl_c()  # the terminal's ^C: a real SIGINT to the process
        term.wait_for(r"reply cut: what arrived stays in the conversation")
        term.wait_prompt()
        term.say("go on")
        term.wait_for(r"^Fine\.$")
        term.line("/exit")
        assert term.wait_exit() == 0
    lines = term.lines()
    first = piece.format(0).strip()
    assert sum(first in line for line in lines) == 1, term.text()  # shown once, not twice
    assert "^C" not in term.text()
    partial = texts(server.requests[1])[1][1]
    assert partial.startswith(piece.format(0) + piece.format(1))


# -- 6. a streamed one-shot reply gets the same footer as a whole one --------------------------------------


def test_a_streamed_one_shot_reply_on_a_terminal_shows_tokens_and_cost(start_chat: StartChat,
                                                                        chat_env: dict[str, str]) -> None:  # fmt: skip
    write_config(chat_env, '[prices."claude-test"]\ninput = 3.0\noutput = 15.0\n')
    with FakeServer(lambda r: anthropic_stream_reply(texts=["Hello", " there."])) as server:
        term = start_chat("chat", "-p", "hi", "--stream", env=anthropic(server))
        assert term.wait_exit() == 0
    assert server.requests[0].json["stream"] is True
    lines = term.lines()
    assert lines[0] == "Hello there."
    footer = lines[1]
    assert footer.startswith("claude-test · 10 in / 7 out · $0.0001 · "), lines  # 10*3 + 7*15 per million
    assert footer.endswith("s")


def test_a_whole_one_shot_reply_on_a_terminal_says_why_it_ended(start_chat: StartChat) -> None:
    with FakeServer(lambda r: anthropic_message_reply("Half", stop_reason="max_tokens")) as server:
        term = start_chat("chat", "-p", "hi", env=anthropic(server))
        assert term.wait_exit() == 0
    assert "the answer was cut at its token limit (finish_reason: length)" in term.text()


# -- 2. markdown that hides nothing ----------------------------------------------------------------


def test_markdown_on_a_terminal_keeps_urls_and_tags_visible(start_chat: StartChat) -> None:
    with FakeServer(lambda r: anthropic_message_reply(MARKDOWN)) as server:
        term = start_chat("chat", "-p", "hi", env=anthropic(server))
        assert term.wait_exit() == 0
    shown = term.lines()[0]
    assert shown == "Say <b>bold</b>, see the docs (http://docs.example/x) or http://plain.example; a.b*c"


@pytest.mark.parametrize("how", ["--raw", "config"])
def test_raw_prints_the_answer_exactly(start_chat: StartChat, chat_env: dict[str, str], how: str) -> None:
    if how == "config":
        write_config(chat_env, "markdown = false\n")
    with FakeServer(lambda r: anthropic_message_reply(MARKDOWN)) as server:
        term = start_chat("chat", "-p", "hi", *(["--raw"] if how == "--raw" else []), env=anthropic(server))
        assert term.wait_exit() == 0
    assert term.lines()[0] == MARKDOWN


def test_markdown_off_in_a_session(start_chat: StartChat) -> None:
    replies = sequence(anthropic_stream_reply(texts=[MARKDOWN]), anthropic_stream_reply(texts=[MARKDOWN]))
    with FakeServer(replies) as server:
        term = start_chat("chat", "-i", env=anthropic(server))
        term.say("first")
        term.wait_for(r"the docs \(http://docs\.example/x\)")
        term.say("/markdown off")
        term.wait_for(r"replies printed as they come")
        term.say("second")
        term.line("/exit")
        assert term.wait_exit() == 0
    lines = term.lines()
    assert MARKDOWN in lines
    assert "Say <b>bold</b>, see the docs (http://docs.example/x) or http://plain.example; a.b*c" in lines


# -- 7. /save writes what the user asked for with the umask's mode ----------------------------------------


def test_save_gives_the_umasks_mode(start_chat: StartChat, tmp_path: Path) -> None:
    saved = tmp_path / "talk.json"
    term = start_chat(env={}, shell=f"umask 022; exec {PROTOSHIFT} chat --backend mock")
    term.say("ping")
    term.say(f"/save {saved}")
    term.line("/exit")
    assert term.wait_exit() == 0
    assert stat.S_IMODE(saved.stat().st_mode) == 0o644
    history = tmp_path / "state" / "protoshift" / "history"
    assert stat.S_IMODE(history.stat().st_mode) == 0o600  # private history stays private


# -- a session is a logged conversation ------------------------------------------------------------------


def test_a_session_is_logged_and_continued_later(start_chat: StartChat, chat_env: dict[str, str]) -> None:
    replies = sequence(
        anthropic_stream_reply(texts=["Paris."]),
        anthropic_stream_reply(texts=["Lyon."]),
        anthropic_stream_reply(texts=["Marseille."]),
        anthropic_message_reply("Nice."),
    )
    with FakeServer(replies) as server:
        term = start_chat("chat", "-i", "--system", "Be brief.", env=anthropic(server))
        term.say("Capital of France?")
        term.say("Second city?")
        term.line("/exit")
        assert term.wait_exit() == 0

        term = start_chat("chat", "-c", env=anthropic(server))  # on a terminal: the session goes on
        term.wait_for(r"loaded 5 message\(s\) from conversation ")
        term.wait_for(r"^Lyon\.$")
        term.say("Third?")
        term.line("/exit")
        assert term.wait_exit() == 0

        done = term_run(chat_env, server, "chat", "-c", "-p", "Fourth?", "-f", "text")
        assert done == "Nice.\n"
    assert server.requests[3].json["system"] == [{"type": "text", "text": "Be brief."}]
    assert texts(server.requests[3]) == [
        ("user", "Capital of France?"),
        ("assistant", "Paris."),
        ("user", "Second city?"),
        ("assistant", "Lyon."),
        ("user", "Third?"),
        ("assistant", "Marseille."),
        ("user", "Fourth?"),
    ]


def test_attachments_without_a_prompt_go_with_the_first_message(start_chat: StartChat, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("milk, eggs")
    with FakeServer(lambda r: anthropic_stream_reply(texts=["Two things."])) as server:
        term = start_chat("chat", "-i", "-a", str(notes), env=anthropic(server))
        term.say("What is on my list?")
        term.line("/exit")
        assert term.wait_exit() == 0
    (received,) = server.requests
    assert received.json["messages"][0]["content"] == [
        {"type": "text", "text": "What is on my list?"},
        {"type": "text", "text": f"File {notes}:\n\nmilk, eggs"},
    ]


def term_run(chat_env: dict[str, str], server: FakeServer, *args: str) -> str:
    """A one-shot run in the same environment, off the terminal."""
    env = {**chat_env, **anthropic(server)}
    done = subprocess.run([PROTOSHIFT, *args], env=env, capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode()
