"""Issue 23 on a real terminal: a paste at the `>` prompt is one message with its line breaks (bracketed
paste, in the middle of a line, over 100 KB, and from a terminal that sends no brackets); resizing the
terminal while a reply streams leaves no stale copy of a line (in tmux, which rewraps lines as most
terminals do, and in pyte as xterm, which cuts them)."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fakes import FakeServer, Received, Reply, anthropic_stream_events, anthropic_stream_reply
from tests.interactive import tmux
from tests.interactive.conftest import PROTOSHIFT, StartChat

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


# -- 6. resizing the terminal while a reply streams ---------------------------------------------------

WORDS = [f"w{n:03d}" for n in range(120)]
HELD = 75  # the reply waits after this many words while the terminal is resized


SHORT = [f"p{n:02d}." for n in range(40)]  # short paragraphs first: the screen is full, as in a session


def held_reply() -> tuple[Reply, threading.Event]:
    """A paragraph of WORDS after SHORT ones, held after HELD words until the event is set."""
    events = anthropic_stream_events(texts=[*(f"{short}\n\n" for short in SHORT), *(f"{word} " for word in WORDS)])
    hold = threading.Event()
    at = next(n for n, event in enumerate(events) if f'"{WORDS[HELD]} '.encode() in event)
    return Reply(events=events, hold=hold, hold_at=at), hold


def words(rows: list[str]) -> list[str]:
    return [word for row in rows for word in re.findall(r"\bw\d{3}\b", row)]


def redrawn_at(cols: int) -> Callable[[list[str]], bool]:
    """The held paragraph shown once, as the program lays it out at this width: as many words a row as
    fit in `cols - 1` columns (a reply leaves the last one free). Rows the terminal rewrapped itself
    hold other counts, so a resize is waited on until the program has redrawn after it: the next one
    then never lands while it writes."""

    def check(rows: list[str]) -> bool:
        shown = [row for row in rows if re.match(r"w\d{3}", row)]
        per_row = cols // 5  # "w000 " is 5 columns; a row's last word needs 4
        return (
            words(rows) == WORDS[:HELD]
            and all(len(row.split()) == per_row for row in shown[:-1])
            and 0 < len(shown[-1].split()) <= per_row
        )

    return check


@pytest.mark.skipif(not tmux.AVAILABLE, reason="tmux is not installed")
def test_resizing_a_rewrapping_terminal_while_a_reply_streams_leaves_no_stale_line(
    tmp_path: Path, chat_env: dict[str, str]
) -> None:
    reply, hold = held_reply()
    env = {k: v for k, v in chat_env.items() if k != "XTERM_VERSION"}
    with FakeServer(lambda received: reply) as server:
        term = tmux.Tmux(tmp_path, [PROTOSHIFT, "chat", "-i"], {**env, **anthropic(server)}, cols=100, rows=30)
        try:
            term.wait_for(r"^>$")
            term.keys("tell me", "Enter")
            term.wait_until(redrawn_at(100), "the reply up to where it waits")
            for cols, rows in ((60, 30), (100, 30), (45, 30), (70, 16), (52, 30)):
                term.resize(cols, rows)
                term.wait_until(redrawn_at(cols), f"the reply redrawn at {cols} columns")
            hold.set()
            term.wait_for(r"^claude-test · ")
        finally:
            hold.set()
            shown = term.rows()
            term.close()
    assert Counter(words(shown)) == Counter(WORDS), "\n".join(shown)  # each once, in the scrollback too
    assert [row for row in shown if row in SHORT] == SHORT, "\n".join(shown)


def test_resizing_a_terminal_that_cuts_lines_while_a_reply_streams_leaves_no_stale_line(start_chat: StartChat) -> None:
    reply, hold = held_reply()
    with FakeServer(lambda received: reply) as server:
        # xterm cuts a line when it gets narrower: each row stays one row (pyte does the same)
        term = start_chat("chat", "-i", env={**anthropic(server), "XTERM_VERSION": "XTerm(390)"}, cols=100, rows=30)
        try:
            term.wait_prompt()
            term.line("tell me")
            term.wait_until(lambda: words(term.lines()) == WORDS[:HELD], "the reply up to where it waits")
            for cols, rows in ((60, 30), (100, 24), (80, 30)):
                term.resize(rows, cols)
                check = redrawn_at(cols)
                term.wait_until(lambda check=check: check(term.lines()), f"the reply redrawn at {cols} columns")
        finally:
            hold.set()
        term.wait_for(r"^claude-test · ")
        term.line("/exit")
        assert term.wait_exit() == 0
    shown = term.lines()
    assert Counter(words(shown)) == Counter(WORDS), term.text()
    assert [row for row in shown if row in SHORT] == SHORT
