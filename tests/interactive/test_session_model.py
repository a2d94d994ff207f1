"""The session's pieces without a terminal: composing messages, commands, the conversation, live markdown."""

from __future__ import annotations

import io
import random

import pytest
from rich.console import Console
from rich.markdown import Markdown

from protoshift.cli.chat.conversation import NOT_RUN, Command, Composer, Conversation, parse_command
from protoshift.cli.chat.live import StreamView, split_markdown


def feed(composer: Composer, *lines: str) -> list[str | None]:
    return [composer.feed(line) for line in lines]


def test_a_plain_line_is_a_message() -> None:
    assert Composer().feed("hello") == "hello"


def test_backslash_continues_the_message() -> None:
    composer = Composer()
    assert feed(composer, "first \\", "second\\", "third") == [None, None, "first \nsecond\nthird"]


def test_triple_quotes_open_and_close_a_block() -> None:
    composer = Composer()
    assert feed(composer, '"""', "a", "", "  b", 'c"""') == [None, None, None, None, "a\n\n  b\nc"]
    assert feed(composer, '"""start', 'end"""') == [None, "start\nend"]
    assert composer.feed('"""one line"""') == "one line"


def test_a_pasted_line_is_text_as_it_is() -> None:
    composer = Composer()
    assert composer.feed('"""x\ny\\') == '"""x\ny\\'  # not a block, not a continuation
    assert composer.pasted
    assert feed(composer, "intro \\", "a\nb") == [None, "intro \na\nb"]  # a paste ends a continuation
    assert not composer.pasted  # the message began with typing
    assert feed(composer, '"""', "a\nb", 'c"""') == [None, None, "a\nb\nc"]  # inside a block: lines of it


def test_ctrl_d_in_a_block_sends_what_was_typed() -> None:
    composer = Composer()
    feed(composer, '"""', "typed")
    assert composer.end() == "typed"
    assert composer.end() is None


def test_commands_and_slash_escapes() -> None:
    assert parse_command("/model claude-x") == Command("model", "claude-x")
    assert parse_command("/quit") == Command("exit", "")
    assert parse_command("hello /model") is None
    assert parse_command("//not a command") is None


def conversation(*messages: dict[str, object]) -> Conversation:
    return Conversation({"model": "m", "messages": list(messages)}, "default")


def test_retry_drops_the_last_reply_and_resends() -> None:
    conv = conversation({"role": "user", "content": "a"})
    conv.begin_reply()
    conv.add_reply({"role": "assistant", "content": "A"})
    assert conv.rewind_for_retry()
    assert conv.messages == [{"role": "user", "content": "a"}]


def test_retry_after_a_failed_turn_resends_the_kept_message() -> None:
    conv = conversation()
    conv.add_user("kept")
    conv.begin_reply()  # the turn failed: no reply added
    assert conv.rewind_for_retry()
    assert conv.messages == [{"role": "user", "content": "kept"}]


def test_retry_on_a_loaded_conversation_drops_its_last_assistant_turn() -> None:
    conv = conversation({"role": "user", "content": "a"}, {"role": "assistant", "content": "A"})
    assert conv.rewind_for_retry()
    assert [m["role"] for m in conv.messages] == ["user"]
    assert not conversation().rewind_for_retry()


def test_a_cut_reply_keeps_only_its_text() -> None:
    conv = conversation({"role": "user", "content": "a"})
    partial = {
        "role": "assistant",
        "content": "Half an ans",
        "reasoning_content": "hm",
        "thinking_blocks": [{"type": "thinking", "thinking": "hm", "signature": ""}],
        "tool_calls": [{"id": "t", "type": "function", "function": {"name": "f", "arguments": '{"x":'}}],
    }
    conv.add_reply(partial, cut=True)
    assert conv.messages[-1] == {"role": "assistant", "content": "Half an ans"}
    assert conv.is_cut(1)
    conv.add_reply({"role": "assistant", "content": ""}, cut=True)  # nothing arrived: nothing kept
    assert len(conv.messages) == 2


def test_unanswered_tool_calls_are_answered_before_the_next_message() -> None:
    call = {"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    conv = conversation({"role": "user", "content": "a"}, {"role": "assistant", "content": None, "tool_calls": [call]})
    assert conv.pending_tool_calls() == [call]
    assert not conv.needs_reply()
    assert conv.add_user("never mind") == [call]
    assert conv.messages[-2] == {"role": "tool", "tool_call_id": "t1", "content": NOT_RUN}
    assert conv.needs_reply()


def test_system_prompt_is_replaced_and_removed() -> None:
    conv = conversation({"role": "system", "content": "old"}, {"role": "user", "content": "a"})
    conv.set_system("new")
    assert conv.messages[0] == {"role": "system", "content": "new"} and len(conv.messages) == 2
    conv.set_system(None)
    assert conv.system is None and conv.messages == [{"role": "user", "content": "a"}]
    conv.set_system("s")
    conv.clear()
    assert conv.messages == [{"role": "system", "content": "s"}]


def test_saved_request_has_no_session_keys_and_the_chosen_model() -> None:
    conv = Conversation({"model": "m", "messages": [], "stream": True, "temperature": 0.2}, "default")
    conv.set_model("other")
    assert conv.to_request() == {"model": "other", "messages": [], "temperature": 0.2}
    assert conv.request_to_send()["stream_options"] == {"include_usage": True}
    conv.replace({"model": "from-file", "messages": []})
    assert conv.model == "other"  # a model chosen with /model stays


def test_split_markdown_keeps_the_last_block_pending() -> None:
    assert split_markdown("para") == ("", "para")
    assert split_markdown("one\n\ntwo") == ("one\n\n", "two")
    assert split_markdown("```\ncode\n\nmore") == ("", "```\ncode\n\nmore")  # an open fence is one block
    assert split_markdown("Title\n---\n\n- a\n- b") == ("Title\n---\n\n", "- a\n- b")


DOCS = [
    "# Title\n\nSome para\nwith two lines.\n\n1. one\n2. two\n\n3. three\n\n```python\nx = 1\n\ny = 2\n```\n\n"
    "- a\n- b\n\n> quote\ncontinued\n\nSetext\n---\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nend",
    "".join(f"Paragraph {i}: lorem ipsum dolor sit amet.\n\n" for i in range(30)),
    "text\n***\nmore\n\n    indented code\n\n    still\nafter",
]


@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.parametrize("seed", range(5))
def test_streamed_markdown_prints_what_the_whole_document_renders_to(doc: str, seed: int) -> None:
    whole = Console(file=io.StringIO(), width=59, color_system=None)  # a reply leaves the last column free
    whole.print(Markdown(doc))
    streamed = Console(file=io.StringIO(), width=60, color_system=None)
    view = StreamView(streamed)
    view.start()
    pieces = random.Random(seed)
    at = 0
    while at < len(doc):
        size = pieces.randint(1, 12)
        view.content(doc[at : at + size])
        at += size
    view.close()

    assert printed(streamed) == printed(whole)


def printed(console: Console) -> list[str]:
    return [line.rstrip() for line in console.file.getvalue().splitlines()]  # type: ignore[attr-defined]


def test_reasoning_then_content_are_separated_and_hidden_reasoning_prints_nothing() -> None:
    console = Console(file=io.StringIO(), width=40, color_system=None)
    view = StreamView(console)
    view.reasoning("thinking ")
    view.reasoning("hard\nstill")
    view.content("Answer.")
    view.close()
    assert printed(console) == ["thinking hard", "still", "", "Answer."]
    console = Console(file=io.StringIO(), width=40, color_system=None)
    view = StreamView(console, show_reasoning=False)
    view.reasoning("secret")
    view.content("Answer.")
    view.close()
    assert printed(console) == ["Answer."]
