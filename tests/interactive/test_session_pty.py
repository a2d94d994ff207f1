"""The interactive chat driven in a pseudo-terminal against fake servers on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pytest

from tests.fakes import (
    FakeServer,
    Received,
    Reply,
    anthropic_error_reply,
    anthropic_stream_reply,
    openai_stream_events,
    sequence,
)
from tests.interactive.conftest import PROTOSHIFT, StartChat

pytestmark = pytest.mark.process  # a terminal: a real process on a pty


def anthropic(server: FakeServer) -> dict[str, str]:
    return {"ANTHROPIC_BASE_URL": server.url}


def texts(received: Received) -> list[tuple[str, str]]:
    out = []
    for message in received.json["messages"]:
        text = "".join(b.get("text", "") for b in message["content"] if b.get("type") == "text")
        out.append((message["role"], text))
    return out


def test_two_turns_the_second_request_carries_the_whole_history(start_chat: StartChat) -> None:
    replies = sequence(
        anthropic_stream_reply(texts=["Hello", " there", "!"]),
        anthropic_stream_reply(texts=["Paris", " it is."], model="claude-test-2"),
    )
    with FakeServer(replies) as server:
        term = start_chat("chat", "-i", env=anthropic(server))
        term.say("hi")
        term.wait_for(r"^Hello there!$")
        term.say("and the capital of France?")
        term.wait_for(r"^Paris it is\.$")
        term.line("/exit")
        assert term.wait_exit() == 0
    assert len(server.requests) == 2
    assert texts(server.requests[1]) == [
        ("user", "hi"),
        ("assistant", "Hello there!"),
        ("user", "and the capital of France?"),
    ]
    assert server.requests[1].json["stream"] is True
    lines = term.lines()
    # a dim status line per turn: model, tokens in/out, elapsed time
    assert any(line.startswith("claude-test · 10 in / 7 out · ") for line in lines)
    assert any(line.startswith("claude-test-2 · 10 in / 7 out · ") for line in lines)
    assert "Traceback" not in term.text()


def test_save_then_resume_sends_the_saved_history(start_chat: StartChat, tmp_path: Path) -> None:
    saved = tmp_path / "conv.json"
    replies = sequence(
        anthropic_stream_reply(thinking=["Let me think."], texts=["Four."]),
        anthropic_stream_reply(texts=["Eight."]),
    )
    with FakeServer(replies) as server:
        term = start_chat("chat", "-i", "--system", "Be brief.", env=anthropic(server))
        term.say("2+2?")
        term.wait_for(r"^Let me think\.$")  # reasoning shown (dimmed)
        term.wait_for(r"^Four\.$")
        term.say(f"/save {saved}")
        term.wait_for(r"saved 3 message\(s\) to\b")  # the path may wrap onto the next line
        term.ctrl_d()
        assert term.wait_exit() == 0

        request = json.loads(saved.read_text())
        assert [m["role"] for m in request["messages"]] == ["system", "user", "assistant"]
        assistant = request["messages"][2]
        assert assistant["content"] == "Four."
        assert assistant["thinking_blocks"] == [
            {"type": "thinking", "thinking": "Let me think.", "signature": "sig_fake"}
        ]
        assert "stream" not in request
        # `translate request` accepts the file as it is (ending with the answer: a prefill, for a model that takes one)
        translate = [PROTOSHIFT, "translate", "request", "-m", "claude-haiku-4-5", str(saved)]
        done = subprocess.run(translate, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr

        term = start_chat("chat", str(saved), "-i", env=anthropic(server))
        term.wait_for(r"loaded 3 message\(s\) from\b")
        term.wait_for(r"^Four\.$")  # the end of the conversation is shown
        term.say("times two?")
        term.wait_for(r"^Eight\.$")
        term.line("/exit")
        assert term.wait_exit() == 0
    resumed = server.requests[1].json
    assert resumed["system"] == [{"type": "text", "text": "Be brief."}]
    assert resumed["messages"][1]["content"][0] == {
        "type": "thinking",
        "thinking": "Let me think.",
        "signature": "sig_fake",
    }
    assert texts(server.requests[1]) == [("user", "2+2?"), ("assistant", "Four."), ("user", "times two?")]


def test_piped_conversation_is_answered_then_the_chat_goes_on_on_the_terminal(
    start_chat: StartChat, tmp_path: Path
) -> None:
    conversation = tmp_path / "in.json"
    conversation.write_text(json.dumps({"model": "claude-test", "messages": [{"role": "user", "content": "first"}]}))
    replies = sequence(anthropic_stream_reply(texts=["One."]), anthropic_stream_reply(texts=["Two."]))
    with FakeServer(replies) as server:
        term = start_chat(env=anthropic(server), shell=f"cat {conversation} | {PROTOSHIFT} chat -i")
        term.wait_for(r"^One\.$")
        term.say("second")
        term.wait_for(r"^Two\.$")
        term.line("/exit")
        assert term.wait_exit() == 0
    assert texts(server.requests[1]) == [("user", "first"), ("assistant", "One."), ("user", "second")]


def test_ctrl_c_cuts_a_slow_reply_and_the_session_goes_on(start_chat: StartChat) -> None:
    held = threading.Event()  # the server sends three words, then holds the rest until the test ends
    slow = anthropic_stream_reply(texts=[f"word{i} " for i in range(100)])
    slow.hold, slow.hold_at = held, 6  # message_start, ping, block start, word0-2
    replies = sequence(slow, anthropic_stream_reply(texts=["Fine."]))
    with FakeServer(replies) as server:
        try:
            term = start_chat("chat", "-i", env=anthropic(server))
            term.wait_prompt()
            term.line("tell me a long story")
            term.wait_for(r"word2")
            term.ctrl_c()  # the reply cannot end by itself: only Ctrl-C brings the prompt back
            term.wait_for(r"reply cut: what arrived stays in the conversation")
            term.wait_prompt()
            assert "word3" not in term.text()
            term.say("go on")
            term.wait_for(r"^Fine\.$")
            term.line("/exit")
            assert term.wait_exit() == 0
        finally:
            held.set()
    history = texts(server.requests[1])
    assert history[0] == ("user", "tell me a long story")
    role, partial = history[1]
    assert role == "assistant" and partial.startswith("word0 word1 word2") and "word3" not in partial
    assert history[2] == ("user", "go on")
    assert "Traceback" not in term.text()


def test_an_error_turn_keeps_the_message_and_retry_sends_it_again(start_chat: StartChat) -> None:
    replies = sequence(
        anthropic_error_reply(429, "rate_limit_error", "Number of requests has exceeded your rate limit"),
        anthropic_stream_reply(texts=["Better now."]),
    )
    with FakeServer(replies) as server:
        term = start_chat("chat", "-i", "--max-retries", "0", "--no-breaker", env=anthropic(server))
        term.say("hello?")
        term.wait_for(r"^error: anthropic: 429 rate_limit_error")
        term.wait_prompt()
        assert "/retry sends your message again" in term.text().replace("\n", "")
        term.say("/retry")
        term.wait_for(r"^Better now\.$")
        term.say("/usage")
        term.wait_for(r"^1 reply · 10 in / 7 out · 17 tokens$")
        term.line("/exit")
        assert term.wait_exit() == 0
    assert len(server.requests) == 2
    assert server.requests[0].json["messages"] == server.requests[1].json["messages"]
    assert texts(server.requests[1]) == [("user", "hello?")]


def test_auth_error_then_the_session_goes_on(start_chat: StartChat) -> None:
    replies = sequence(
        anthropic_error_reply(401, "authentication_error", "invalid x-api-key"),
        anthropic_stream_reply(texts=["Hi."]),
    )
    with FakeServer(replies) as server:
        term = start_chat("chat", "-i", "--max-retries", "0", env=anthropic(server))
        term.say("hello?")
        term.wait_for(r"^error: .*401")
        errors = [line for line in term.lines() if line.startswith("error:")]
        assert len(errors) == 1  # one line
        term.say("/retry")
        term.wait_for(r"^Hi\.$")
        term.line("/exit")
        assert term.wait_exit() == 0


def test_ctrl_c_at_the_prompt_clears_the_line_and_exit_leaves_cleanly(start_chat: StartChat) -> None:
    with FakeServer(anthropic_stream_reply()) as server:
        term = start_chat("chat", "-i", env=anthropic(server))
        term.wait_prompt()
        term.child.send("a line I regret")
        term.wait_for("a line I regret")
        term.ctrl_c()
        term.wait_prompt()
        term.line("/exit")
        assert term.wait_exit() == 0
    assert server.requests == []
    assert "Traceback" not in term.text()


def test_mock_backend_ctrl_d_leaves_with_exit_0_and_history_is_kept(start_chat: StartChat, tmp_path: Path) -> None:
    term = start_chat("chat", "--backend", "mock")  # no INPUT, stdin a terminal: a session, no -i needed
    term.say("ping")
    term.wait_for(r"^You said: ping$")
    term.ctrl_d()
    assert term.wait_exit() == 0
    assert "Traceback" not in term.text()
    history = tmp_path / "state" / "protoshift" / "history"
    assert "ping" in history.read_text().splitlines()

    term = start_chat("chat", "--backend", "mock", "-i")
    term.wait_prompt()
    term.child.send("\x1b[A")  # Up: the line from the last session comes back
    term.wait_until(lambda: term.cursor_line == "> ping", "the history line")
    term.line("")
    term.wait_for(r"^You said: ping$")
    term.line("/exit")
    assert term.wait_exit() == 0


def test_fallback_takes_over_in_a_session(start_chat: StartChat) -> None:
    overloaded = anthropic_error_reply(529, "overloaded_error", "Overloaded")
    with (
        FakeServer(lambda r: overloaded) as primary,
        FakeServer(lambda r: Reply(events=openai_stream_events(["From", " the fallback."]))) as secondary,
    ):
        env = {**anthropic(primary), "OPENAI_BASE_URL": secondary.url + "/v1"}
        term = start_chat("chat", "-i", "--max-retries", "0", "--no-breaker", "--fallback", "openai:gpt-test", env=env)
        term.say("hello")
        term.wait_for(r"^From the fallback\.$")
        term.wait_for(r"falling back to openai")
        term.line("/exit")
        assert term.wait_exit() == 0
    assert secondary.requests[0].json["model"] == "gpt-test"


def _long_markdown() -> str:
    parts = ["# A long answer", ""]
    for n in range(1, 9):
        parts += [
            f"## Section {n}",
            "",
            f"Paragraph {n} explains one thing in a sentence long enough to wrap on a narrow terminal, "
            f"with **bold {n}** and `code {n}` inside it.",
            "",
            f"- point {n}.1",
            f"- point {n}.2",
            "",
        ]
        if n == 4:  # a code block taller than the screen, streamed while it grows
            parts += ["```python", *(f"line_{n}_{i} = {i} * {i}" for i in range(40)), "```", ""]
    parts.append("The end.")
    return "\n".join(parts)


def _pieces(text: str, size: int = 7) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def test_a_reply_taller_than_the_screen_leaves_each_line_once_in_the_scrollback(start_chat: StartChat) -> None:
    import io

    from rich.console import Console
    from rich.markdown import Markdown

    doc = _long_markdown()
    rows, cols = 24, 80
    with FakeServer(lambda r: anthropic_stream_reply(texts=_pieces(doc), event_delay=0.003)) as server:
        term = start_chat("chat", "-i", env=anthropic(server), rows=rows, cols=cols)
        term.say("show me", timeout=40)
        term.line("/exit")
        assert term.wait_exit() == 0
    # laid out one column short of the terminal (cli/chat/live.py: a terminal rewrapping on resize)
    expected_console = Console(file=io.StringIO(), width=cols - 1, color_system=None, legacy_windows=False)
    expected_console.print(Markdown(doc))
    expected = [line.rstrip() for line in expected_console.file.getvalue().splitlines()]  # type: ignore[attr-defined]
    lines = term.lines()
    start = lines.index("> show me") + 1
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("claude-test · "))
    shown = lines[start:end]
    assert len(expected) > 3 * rows  # really taller than the screen
    assert shown == expected
    for n in range(40):
        assert sum(line.strip().startswith(f"line_4_{n} ") for line in lines) == 1


def test_tool_calls_show_as_a_panel_and_tool_answers_them(start_chat: StartChat) -> None:
    replies = sequence(
        anthropic_stream_reply(
            texts=["Let me check."], tool_calls=[("toolu_1", "get_weather", ['{"city":', ' "Paris"}'])]
        ),
        anthropic_stream_reply(texts=["It is sunny."]),
    )
    with FakeServer(replies) as server:
        term = start_chat("chat", "-i", env=anthropic(server))
        term.say("weather in Paris?")
        term.wait_for(r"get_weather\(\{\"city\":\"Paris\"\}\)  toolu_1")
        term.say("/tool 18C and sunny")
        term.wait_for(r"^It is sunny\.$")
        term.line("/exit")
        assert term.wait_exit() == 0
    messages = server.requests[1].json["messages"]
    assert messages[1]["content"][-1] == {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "get_weather",
        "input": {"city": "Paris"},
    }
    assert messages[2]["content"][0]["type"] == "tool_result"
    assert messages[2]["content"][0]["tool_use_id"] == "toolu_1"


def test_model_system_clear_and_a_cut_stream_then_retry(start_chat: StartChat, tmp_path: Path) -> None:
    replies = sequence(
        anthropic_stream_reply(texts=["First."]),
        anthropic_stream_reply(texts=["Half ", "a"], cut_after=5),  # the server drops the connection mid-reply
        anthropic_stream_reply(texts=["Whole."]),
    )
    with FakeServer(replies) as server:
        term = start_chat("chat", "-i", "--max-retries", "0", env=anthropic(server))
        term.say("/model claude-other")
        term.say("/system Be terse.")
        term.say("one")
        term.wait_for(r"^First\.$")
        term.say("/clear")
        term.say("two")
        term.wait_for(r"^error: anthropic: stream interrupted")
        assert "the partial reply is kept; /retry sends your message again" in term.text().replace("\n", "")
        term.say("/retry")
        term.wait_for(r"^Whole\.$")
        term.line("/exit")
        assert term.wait_exit() == 0
    first, cut, retried = (r.json for r in server.requests)
    assert first["model"] == "claude-other"
    assert first["system"] == [{"type": "text", "text": "Be terse."}]
    assert texts(server.requests[1]) == [("user", "two")]  # /clear forgot "one", the system prompt stayed
    assert cut["system"] == first["system"]
    assert retried["messages"] == cut["messages"]  # the partial reply was dropped, the message sent again


def test_without_a_terminal_the_session_says_so_and_exits_2(chat_env: dict[str, str]) -> None:
    done = subprocess.run(
        [PROTOSHIFT, "chat", "-i", "--backend", "mock"],
        input=b'{"messages": []}',
        capture_output=True,
        env=chat_env,
        timeout=60,
        start_new_session=True,  # no controlling terminal: /dev/tty cannot be opened
    )
    assert done.returncode == 2
    assert done.stderr.decode().startswith("protoshift: error: an interactive session needs a terminal")
    assert b"Traceback" not in done.stderr
