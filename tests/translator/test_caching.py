"""cache_control wherever OpenAI clients put it, and Anthropic's breakpoint rules (issue 10, section 1).

Decided with the lead: past 4 breakpoints the last 4 in prompt order (tools, system, messages) are
kept and each one left out is a "dropped" note; a 5-minute breakpoint before a 1-hour one is raised
to 1h (Anthropic needs longer TTLs first).
"""

from __future__ import annotations

from typing import Any

from .helpers import assistant, call, fn_tool, notes_at, one_note, refused, req, system, text, tool, translate, user

CC = {"type": "ephemeral"}
CC_1H = {"type": "ephemeral", "ttl": "1h"}


def breakpoints(body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(where, cache_control) of every breakpoint in prompt order."""
    found: list[tuple[str, dict[str, Any]]] = []
    for tool_def in body.get("tools", []):
        if "cache_control" in tool_def:
            found.append((f"tool {tool_def['name']}", tool_def["cache_control"]))
    for block in body.get("system", []):
        if "cache_control" in block:
            found.append((f"system {block['text']}", block["cache_control"]))
    for turn in body["messages"]:
        for block in turn["content"]:
            if "cache_control" in block:
                found.append((f"{turn['role']} {block.get('text') or block['type']}", block["cache_control"]))
    if "cache_control" in body:
        found.append(("automatic", body["cache_control"]))
    return found


def test_cache_control_on_a_message_with_string_content_goes_on_its_block() -> None:
    """LiteLLM's test_anthropic_api_prompt_caching_with_content_str sends exactly this."""
    request = req(
        {"role": "system", "content": "Here is the full text of a complex legal agreement", "cache_control": CC},
        {"role": "user", "content": "What are the key terms?", "cache_control": CC},
    )
    result = translate(request)
    assert result.body["system"] == [
        {"type": "text", "text": "Here is the full text of a complex legal agreement", "cache_control": CC}
    ]
    assert result.body["messages"][0]["content"] == [
        {"type": "text", "text": "What are the key terms?", "cache_control": CC}
    ]
    one_note(result, "messages[0].cache_control", "kept")
    one_note(result, "messages[1].cache_control", "kept")


def test_cache_control_on_a_message_with_parts_goes_on_the_last_block_of_that_message() -> None:
    request = req(user("earlier"), assistant("ok"), user([text("doc one"), text("doc two")], cache_control=CC))
    body = translate(request).body
    assert body["messages"][2]["content"] == [
        {"type": "text", "text": "doc one"},
        {"type": "text", "text": "doc two", "cache_control": CC},
    ]


def test_cache_control_on_a_message_merged_into_the_turn_before_marks_its_own_last_block() -> None:
    request = req(user("first", cache_control=CC), user("second"))
    body = translate(request).body
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "first", "cache_control": CC},
        {"type": "text", "text": "second"},
    ]


def test_cache_control_on_a_tool_message_goes_on_its_result() -> None:
    request = req(user("go"), assistant(None, tool_calls=[call("c1")]), {**tool("c1", "18C"), "cache_control": CC})
    body = translate(request).body
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "c1", "content": "18C", "cache_control": CC}
    ]


def test_cache_control_on_an_assistant_message_with_tool_calls_goes_on_the_last_call() -> None:
    request = req(user("go"), assistant("checking", tool_calls=[call("c1")], cache_control=CC), tool("c1"))
    assert translate(request).body["messages"][1]["content"][-1]["cache_control"] == CC


def test_cache_control_inside_function_goes_on_the_tool() -> None:
    """LiteLLM's test_litellm_anthropic_prompt_caching_tools puts it inside `function`."""
    tool_def = fn_tool("get_current_weather", parameters={"type": "object"}, cache_control=CC_1H)
    result = translate(req(user("weather?"), tools=[tool_def]))
    assert result.body["tools"][0]["cache_control"] == CC_1H
    one_note(result, "tools[0].function.cache_control", "kept")


def test_cache_control_on_the_tool_and_inside_function_sends_one() -> None:
    tool_def = {**fn_tool("f", cache_control=CC_1H), "cache_control": CC}
    result = translate(req(user("hi"), tools=[tool_def]))
    assert result.body["tools"][0]["cache_control"] == CC_1H
    one_note(result, "tools[0].cache_control", "dropped")


def test_openai_prompt_cache_breakpoint_becomes_a_cache_control() -> None:
    part = text("a long document", prompt_cache_breakpoint={"mode": "explicit"})
    result = translate(req(user([part, text("question")])))
    assert result.body["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    one_note(result, "messages[0].content[0].prompt_cache_breakpoint", "approximated")
    refused(
        req(user([text("x", prompt_cache_breakpoint={"mode": "implicit"})])),
        "messages[0].content[0].prompt_cache_breakpoint.mode",
    )


def test_more_than_four_breakpoints_keep_the_last_four_and_note_each_one_left_out() -> None:
    request = req(
        system([text("rules", cache_control=CC)]),
        user([text("doc A", cache_control=CC), text("doc B", cache_control=CC)]),
        assistant("noted"),
        user("question", cache_control=CC),
        tools=[fn_tool("f", cache_control=CC)],
        cache_control=CC,
    )
    result = translate(request)
    assert [where for where, _ in breakpoints(result.body)] == [
        "user doc A",
        "user doc B",
        "user question",
        "automatic",
    ]
    for path in ("tools[0].function.cache_control", "messages[0].content[0].cache_control"):
        assert "at most 4" in one_note(result, path, "dropped").reason
    refused(request, "messages[0].content[0].cache_control", "strict", strict=True)


def test_a_5m_breakpoint_before_a_1h_one_is_raised_to_1h() -> None:
    request = req(
        system([text("rules", cache_control=CC)]),
        user("q", cache_control=CC_1H),
        tools=[fn_tool("f", cache_control={"type": "ephemeral", "ttl": "5m"})],
    )
    result = translate(request)
    assert [cc.get("ttl") for _, cc in breakpoints(result.body)] == ["1h", "1h", "1h"]
    one_note(result, "messages[0].content[0].cache_control", "approximated")
    one_note(result, "tools[0].function.cache_control", "approximated")
    assert request["messages"][0]["content"][0]["cache_control"] == CC, "the caller's dict is not changed"


def test_1h_before_5m_is_already_in_order() -> None:
    result = translate(req(system([text("rules", cache_control=CC_1H)]), user("q", cache_control=CC)))
    assert [cc.get("ttl") for _, cc in breakpoints(result.body)] == ["1h", None]
    assert not [n for n in result.notes if n.action in ("dropped", "approximated")]


def test_four_breakpoints_are_sent_untouched() -> None:
    request = req(user([text(f"part {k}", cache_control=CC) for k in range(4)]))
    result = translate(request, strict=True)
    assert len(breakpoints(result.body)) == 4


def test_a_bad_cache_control_on_a_message_is_refused() -> None:
    refused(req(user("x", cache_control={"type": "ephemeral", "ttl": "2h"})), "messages[0].cache_control.ttl")


def test_a_message_cache_control_with_nothing_to_mark_is_noted() -> None:
    result = translate(req(user("hi"), user("   ", cache_control=CC)))
    assert notes_at(result, "messages[1].cache_control")[0].action == "dropped"
