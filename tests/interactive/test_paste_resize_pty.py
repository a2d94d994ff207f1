"""Issue 23 on a real terminal: a paste at the `>` prompt is one message with its line breaks (bracketed
paste, in the middle of a line, over 100 KB, and from a terminal that sends no brackets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes import FakeServer, Received, Reply, anthropic_stream_reply
from tests.interactive.conftest import StartChat

pytestmark = pytest.mark.process  # a terminal: a real process on a pty

CODE = 'def f():\n\treturn "x"  \\\n\n"""not a block\nprint(f())'


def anthropic(server: FakeServer) -> dict[str, str]:
    return {"ANTHROPIC_BASE_URL": server.url}


def user_texts(received: Received) -> list[str]:
    return [
        "".join(block.get("text", "") for block in message["content"])
        for message in received.json["messages"]
        if message["role"] == "user"
    ]


def ok(received: Received) -> Reply:
    return anthropic_stream_reply(texts=["ok"])


def test_a_bracketed_paste_is_one_message_whole_in_the_middle_of_a_line_too(
    start_chat: StartChat, chat_env: dict[str, str]
) -> None:
    with FakeServer(ok) as server:
        term = start_chat("chat", "-i", env=anthropic(server))
        term.wait_prompt()
        assert b"\x1b[?2004h" in term.raw  # the prompt asked the terminal to bracket pastes
        term.paste(CODE)  # a tab, a trailing backslash and a line of """: all text, as pasted
        term.wait_idle()
        assert len(server.requests) == 0  # a paste is not sent before Enter
        term.line("")
        term.wait_for(r"^ok$")
        term.wait_prompt()
        term.child.send("Explain: ")  # typed, then pasted, then typed: one line
        term.paste("first\nsecond")
        term.line(" thanks")
        term.wait_until(lambda: len(server.requests) == 2, "the second request")
        term.wait_prompt()
        term.paste("/usr/lib/python3/x.py: error\n  line 2")  # a path, not a mistyped command
        term.line("")
        term.wait_until(lambda: len(server.requests) == 3, "the third request")
        term.say("single line")
        term.line("/exit")
        assert term.wait_exit() == 0
    assert len(server.requests) == 4
    assert user_texts(server.requests[3]) == [
        CODE,
        "Explain: first\nsecond thanks",
        "/usr/lib/python3/x.py: error\n  line 2",
        "single line",
    ]
    assert "unknown command" not in term.text()
    # the history file keeps an entry a line: the multi-line pastes stay out of it
    history = (Path(chat_env["XDG_STATE_HOME"]) / "protoshift" / "history").read_text()
    assert "single line" in history and "second" not in history and "print(f())" not in history


def test_a_paste_over_100_kb_is_one_message(start_chat: StartChat) -> None:
    big = "\n".join(f"{n:05d} " + "x" * 93 for n in range(1100))  # 1100 lines, 110 KB
    with FakeServer(ok) as server:
        term = start_chat("chat", "-i", env=anthropic(server))
        term.wait_prompt()
        term.paste(big)
        term.line("")
        term.wait_until(lambda: len(server.requests) == 1, "the request", timeout=60)
        term.wait_for(r"^ok$", timeout=60)
        term.line("/exit")
        assert term.wait_exit(timeout=60) == 0
    assert len(server.requests) == 1
    assert user_texts(server.requests[0]) == [big]


def test_a_paste_from_a_terminal_without_bracketed_paste_is_one_message(start_chat: StartChat) -> None:
    with FakeServer(ok) as server:
        term = start_chat("chat", "-i", env=anthropic(server))
        term.wait_prompt()
        term.paste("one\ntwo\nthree\n", bracketed=False)  # lines arriving at once, each with its Enter
        term.wait_for(r"^ok$")
        term.wait_prompt()
        term.say("four")
        term.line("/exit")
        assert term.wait_exit() == 0
    assert len(server.requests) == 2
    assert user_texts(server.requests[1]) == ["one\ntwo\nthree", "four"]
