"""responses_to_chat.request: a Responses request -> a Chat Completions body (checked against the openai
SDK's `CompletionCreateParams`, strictly), its notes, its ToolMap; every field mapped, kept, dropped
with a note or refused with its path."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from protoshift.translator import Note, TranslationError, responses_to_chat
from protoshift.translator.responses_to_chat import ResponsesTranslation, ToolRef
from protoshift.translator.responses_to_chat.carry import decode_reasoning, encode_reasoning
from protoshift.translator.responses_to_chat.items import NO_OUTPUT
from protoshift.translator.stamps import Stamps
from protoshift.translator.tables import RESPONSES_MAPPED_FIELDS
from tests.oracles import assert_openai_body
from tests.responses_oracles import validate_responses_request
from tests.translator.codex_fixtures import HOSTILE_PATCH, MODEL, PATCH_GRAMMAR, codex_request


def translate(request: Any, **kwargs: Any) -> ResponsesTranslation:
    """responses_to_chat.request, and its body must be one a Chat Completions server takes."""
    result = responses_to_chat.request(request, **kwargs)
    assert_openai_body(result.body)
    return result


def refused(request: Any, **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(TranslationError) as info:
        responses_to_chat.request(request, **kwargs)
    return [(p.path, p.reason) for p in info.value.problems]


def notes(result: ResponsesTranslation, action: str | None = None) -> dict[str, str]:
    return {n.path: n.reason for n in result.notes if action is None or n.action == action}


def req(input: Any = "Hi", **fields: Any) -> dict[str, Any]:
    return {"model": MODEL, "input": input, **fields}


def fn(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "function",
        "name": name,
        "parameters": {"type": "object", "properties": {}},
        "strict": False,
        **extra,
    }


# ---- Codex ---------------------------------------------------------------------------------------


def test_a_codex_request() -> None:
    request = codex_request()
    result = translate(request)
    body = result.body
    messages = body["messages"]
    # the developer prompt first, the one in the middle merged into it (never dropped)
    assert messages[0]["role"] == "system"
    assert messages[0]["content"].startswith("You are Codex") and messages[0]["content"].endswith(
        "Approval policy is now never."
    )
    assert [m["role"] for m in messages] == [
        "system", "user", "user", "assistant", "tool", "assistant", "tool", "assistant", "tool", "user",
    ]  # fmt: skip
    exec_turn, patch_turn, agent_turn = messages[3], messages[5], messages[7]
    assert exec_turn["tool_calls"][0]["function"] == {"name": "exec_command", "arguments": '{"cmd": "cat src/app.py"}'}
    # OpenAI's encrypted reasoning cannot be read: its summary is what a chat upstream gets back
    assert exec_turn["reasoning_content"] == "Look at the file first."
    # ours carries the model's own reasoning back
    assert patch_turn["reasoning_content"] == "The print needs the accents. Patch it."
    assert patch_turn["content"] == "Patching the file."
    [patch_call] = patch_turn["tool_calls"]
    assert patch_call["function"]["name"] == "apply_patch"
    assert json.loads(patch_call["function"]["arguments"]) == {"input": HOSTILE_PATCH}
    assert agent_turn["tool_calls"][0]["function"]["name"] == "multi_agent_v1__spawn_agent"
    assert messages[8] == {"role": "tool", "tool_call_id": "call_agent_1", "content": "ok"}
    assert messages[9]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "auto"},
    }
    # tools: three functions, the namespace's five flattened, the custom tool; web_search dropped
    names = [t["function"]["name"] for t in body["tools"]]
    assert names == [
        "exec_command", "write_stdin", "view_image",
        "multi_agent_v1__spawn_agent", "multi_agent_v1__send_input", "multi_agent_v1__resume_agent",
        "multi_agent_v1__wait", "multi_agent_v1__close_agent", "apply_patch",
    ]  # fmt: skip
    patch_tool = body["tools"][-1]["function"]
    assert patch_tool["parameters"]["properties"] == {
        "input": {"type": "string", "description": "The raw text input of the tool."}
    }
    assert "raw text, not JSON" in patch_tool["description"] and PATCH_GRAMMAR in patch_tool["description"]
    assert body["tool_choice"] == "auto" and body["parallel_tool_calls"] is True
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["reasoning_effort"] == "medium"
    assert body["prompt_cache_key"] == "019a-session-thread"
    assert "store" not in body and "include" not in body and "client_metadata" not in body
    # the map back
    assert result.tools.resolve("apply_patch") == ToolRef("apply_patch", "custom")
    assert result.tools.resolve("multi_agent_v1__wait") == ToolRef("wait", "function", "multi_agent_v1")
    assert result.tools.resolve("exec_command") == ToolRef("exec_command")
    assert result.response_id.startswith("resp_")
    # what did not make it is said, each with its path
    assert notes(result) == {
        "tools[4]": "OpenAI's hosted web search: a chat upstream has none (web_search policy: drop)",
        "tools[5].format": "a chat upstream cannot hold the model to a grammar: the grammar is given in the description",
        "input[3].encrypted_content": "reasoning encrypted by OpenAI: only OpenAI can read it",
        "input[12]": "a developer message in the middle of the conversation: moved into the system message at the"
        " start (chat templates refuse a system message that is not first)",
        "reasoning.summary": "a chat upstream does not summarize: the reasoning it returns is given as the summary",
        "client_metadata": "client metadata is for OpenAI's servers; a chat upstream has no place for it",
    }


def test_a_codex_request_in_strict_mode_says_all_it_would_lose() -> None:
    paths = [path for path, _ in refused(codex_request(), strict=True)]
    assert paths == [
        "input[3].encrypted_content", "input[12]", "tools[4]", "tools[5].format", "reasoning.summary", "client_metadata",
    ]  # fmt: skip


CAPTURED = Path(__file__).resolve().parents[1] / "agents" / "fixtures" / "codex_request.json"


@pytest.mark.parametrize("turn", range(4))
def test_what_codex_0_171_was_captured_sending(turn: int) -> None:
    """tests/agents' capture of Codex CLI 0.171 (four turns: a first turn, after exec_command, after
    apply_patch, a model Codex does not know): translated with the default policies, nothing refused,
    and what cannot reach a chat upstream said with its path."""
    captured = json.loads(CAPTURED.read_text())["requests"][turn]["body"]
    result = translate(captured)
    types = [tool["type"] for tool in captured["tools"]]
    sent = [t["function"]["name"] for t in result.body["tools"]]
    assert len(sent) == len([t for t in types if t not in ("web_search", "tool_search")]) + sum(
        len(tool["tools"]) for tool in captured["tools"] if tool["type"] == "namespace"
    ) - types.count("namespace")
    dropped = {path for path, reason in notes(result, "dropped").items() if path.startswith("tools")}
    assert dropped == {f"tools[{k}]" for k, kind in enumerate(types) if kind in ("web_search", "tool_search")}
    for k, kind in enumerate(types):
        if kind == "custom":
            assert result.tools.resolve(captured["tools"][k]["name"]).kind == "custom"
    assert result.body["messages"][0]["role"] == "system"
    assert "system" not in [m["role"] for m in result.body["messages"][1:]]


def test_tool_search_by_policy() -> None:
    request = req(tools=[fn("a"), {"type": "tool_search", "execution": "client", "description": "d", "parameters": {}}])
    assert notes(translate(request), "dropped") == {
        "tools[1]": "tool search finds deferred tools, and a chat upstream has none: the tools sent up front stay"
        " (tool_search policy: drop)"
    }
    assert [path for path, _ in refused(request, tool_search="refuse")] == ["tools[1]"]


def test_web_search_refused_by_policy_and_hosted_tools_dropped_by_policy() -> None:
    assert refused(codex_request(), web_search="refuse") == [
        ("tools[4]", "OpenAI's hosted web search: a chat upstream has none (web_search policy: refuse)")
    ]
    request = req(
        tools=[{"type": "file_search", "vector_store_ids": ["vs_1"]}, {"type": "code_interpreter", "container": "c"}]
    )
    assert [path for path, _ in refused(request)] == ["tools[0]", "tools[1]"]
    result = translate(request, hosted_tools="drop")
    assert "tools" not in result.body and set(notes(result, "dropped")) == {"tools[0]", "tools[1]"}


# ---- input items ---------------------------------------------------------------------------------


def test_a_string_input_and_instructions() -> None:
    result = translate(req("Hello", instructions="Be brief."))
    assert result.body["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}]
    assert result.notes == []


def test_system_and_developer_messages_go_first_in_order_never_dropped() -> None:
    result = translate(
        req(
            [
                {"role": "system", "content": "S1"},
                {"role": "user", "content": "U1"},
                {"role": "developer", "content": [{"type": "input_text", "text": "D2"}]},
                {"role": "assistant", "content": "A1"},
                {"role": "system", "content": "S3"},
                {"role": "user", "content": "U2"},
            ],
            instructions="I",
        )
    )
    assert result.body["messages"] == [
        {"role": "system", "content": "I\n\nS1\n\nD2\n\nS3"},
        {"role": "user", "content": "U1"},
        {"role": "assistant", "content": "A1"},
        {"role": "user", "content": "U2"},
    ]
    assert set(notes(result, "approximated")) == {"input[2]", "input[4]"}


def test_user_parts() -> None:
    result = translate(
        req(
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "look", "prompt_cache_breakpoint": {"mode": "explicit"}},
                        {"type": "input_image", "image_url": "https://x/y.png", "detail": "original"},
                        {
                            "type": "input_file",
                            "file_data": "data:application/pdf;base64,JVBERi0=",
                            "filename": "a.pdf",
                        },
                        {"type": "input_file", "file_data": "data:application/pdf;base64,JVBERi0="},
                    ],
                }
            ]
        )
    )
    assert result.body["messages"][0]["content"] == [
        {"type": "text", "text": "look", "prompt_cache_breakpoint": {"mode": "explicit"}},
        {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "high"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "document.pdf"}},
    ]
    assert notes(result) == {
        "input[0].content[1].detail": "chat has no 'original' detail: sent as 'high'",
        "input[0].content[3].filename": "chat wants a filename with file_data: 'document.pdf'",
    }


def test_files_stored_at_openai_and_file_urls_are_refused_with_their_paths() -> None:
    problems = refused(
        req(
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_image", "file_id": "file-1", "detail": "auto"},
                        {"type": "input_file", "file_id": "file-2"},
                        {"type": "input_file", "file_url": "https://x/a.pdf"},
                    ],
                }
            ]
        )
    )
    assert [path for path, _ in problems] == [
        "input[0].content[0].file_id", "input[0].content[1].file_id", "input[0].content[2].file_url",
    ]  # fmt: skip


def test_tool_outputs_follow_their_calls_and_late_user_messages_wait() -> None:
    result = translate(
        req(
            [
                {"role": "user", "content": "go"},
                {"type": "function_call", "call_id": "a", "name": "f", "arguments": "{}"},
                {"type": "function_call", "call_id": "b", "name": "f", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "a", "output": "A"},
                {"role": "user", "content": "hurry"},  # while b still waits
                {"type": "function_call_output", "call_id": "b", "output": "B"},
            ],
            tools=[fn("f")],
        )
    )
    assert [(m["role"], m.get("tool_call_id")) for m in result.body["messages"]] == [
        ("user", None), ("assistant", None), ("tool", "a"), ("tool", "b"), ("user", None),
    ]  # fmt: skip


def test_a_call_without_output_gets_one_saying_so() -> None:
    result = translate(
        req(
            [
                {"role": "user", "content": "go"},
                {"type": "function_call", "call_id": "a", "name": "f", "arguments": "{}"},
                {"role": "user", "content": "never mind"},
            ]
        )
    )
    messages = result.body["messages"]
    assert messages[2] == {"role": "tool", "tool_call_id": "a", "content": NO_OUTPUT}
    assert messages[3] == {"role": "user", "content": "never mind"}
    assert set(notes(result, "approximated")) == {"input[1]"}


def test_an_output_without_its_call_and_a_second_output_are_refused() -> None:
    problems = refused(
        req(
            [
                {"type": "function_call_output", "call_id": "nope", "output": "x"},
                {"type": "function_call", "call_id": "a", "name": "f", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "a", "output": "x"},
                {"type": "function_call_output", "call_id": "a", "output": "y"},
            ]
        )
    )
    assert [path for path, _ in problems] == ["input[0].call_id", "input[3].call_id"]


def test_images_in_tool_outputs_go_in_a_user_message_after_the_tool_messages() -> None:
    result = translate(
        req(
            [
                {"type": "function_call", "call_id": "v", "name": "view_image", "arguments": '{"path": "a.png"}'},
                {
                    "type": "function_call_output",
                    "call_id": "v",
                    "output": [{"type": "input_image", "image_url": "data:image/png;base64,AAAA"}],
                },
            ]
        )
    )
    tool, images = result.body["messages"][1:]
    assert tool["role"] == "tool" and "next user message" in tool["content"]
    assert images["role"] == "user" and images["content"][1]["image_url"]["url"] == "data:image/png;base64,AAAA"
    assert notes(result, "approximated") == {
        "input[1].output[0]": "a chat tool message carries text only: sent in a user message after the tool messages"
    }


def test_reasoning_rides_on_the_assistant_turn_it_led_to() -> None:
    result = translate(
        req(
            [
                {"role": "user", "content": "2+2?"},
                {"type": "reasoning", "id": "r1", "summary": [], "encrypted_content": encode_reasoning("sum")},
                {
                    "type": "reasoning",
                    "id": "r2",
                    "summary": [],
                    "content": [{"type": "reasoning_text", "text": "easy"}],
                },
                {"role": "assistant", "content": [{"type": "output_text", "text": "4", "annotations": []}]},
                {"role": "user", "content": "and?"},
                {"type": "reasoning", "id": "r3", "summary": [{"type": "summary_text", "text": "lost"}]},
            ]
        )
    )
    assert result.body["messages"][1] == {"role": "assistant", "content": "4", "reasoning_content": "sum\n\neasy"}
    assert notes(result) == {"input[5]": "no assistant turn follows it to carry its reasoning"}


def test_the_reasoning_carrier_round_trips() -> None:
    for text in ["", "plain", 'ünïcödé 🎉\n"quotes" \\ back', "x" * 10_000]:
        assert decode_reasoning(encode_reasoning(text)) == (text, None, None)
    assert decode_reasoning("gAAAA-openai") is None
    assert decode_reasoning("protoshift.rc1.!!!") is None
    assert decode_reasoning("protoshift.rc1.é") is None


def test_claudes_signed_thinking_is_carried_whole_to_the_next_turn() -> None:
    """Through the chat bridge to Claude, thinking travels as `thinking_blocks` with their signatures;
    a reasoning item's `encrypted_content` carries them, and the next turn hands them back signed (Anthropic
    refuses a turn after tool calls whose thinking lost its signature)."""
    blocks = [
        {"type": "thinking", "thinking": "Look at the file first.", "signature": "EuYBCkQYAiJA" + "s" * 40},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3vaU"},
    ]
    blob = encode_reasoning("Look at the file first.", blocks)
    assert blob.startswith("protoshift.tb1.")
    assert decode_reasoning(blob) == ("Look at the file first.", blocks, None)
    call = {"type": "function_call", "call_id": "c1", "name": "read", "arguments": "{}"}
    conversation = req(
        [
            {"role": "user", "content": "read it"},
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": blob},
            call,
            {"type": "function_call_output", "call_id": "c1", "output": "text"},
        ],
        tools=[fn("read")],
    )
    to_claude = responses_to_chat.request(conversation, signed_thinking=True).body["messages"][1]
    assert to_claude["thinking_blocks"] == blocks
    assert to_claude["reasoning_content"] == "Look at the file first."
    to_a_chat_model = translate(conversation).body["messages"][1]  # a chat upstream takes the text alone
    assert "thinking_blocks" not in to_a_chat_model
    assert to_a_chat_model["reasoning_content"] == "Look at the file first."
    assert decode_reasoning("protoshift.tb1.e30") is None  # {} is no list of blocks


def test_history_goes_first_and_item_references_are_found_in_it() -> None:
    history = [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "first"}]},
        {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
         "content": [{"type": "output_text", "text": "answer", "annotations": []}]},
    ]  # fmt: skip
    result = translate(
        req(
            [
                {"role": "user", "content": "again"},
                {"type": "item_reference", "id": "msg_1"},
                {"role": "user", "content": "2"},
            ],
            previous_response_id="resp_1",
        ),
        history=history,
    )
    assert result.body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "first"}]},
        {"role": "assistant", "content": "answer"},
        {"role": "user", "content": "again"},
        {"role": "assistant", "content": "answer"},
        {"role": "user", "content": "2"},
    ]


def test_previous_response_id_without_history_and_item_reference_without_history_are_refused() -> None:
    problems = refused(req([{"type": "item_reference", "id": "msg_1"}], previous_response_id="resp_1"))
    assert [path for path, _ in problems] == ["input[0]", "previous_response_id"]
    assert [path for path, _ in refused(req([{"id": "msg_9"}]), history=[])] == ["input[0].id"]


def test_items_a_chat_upstream_cannot_take() -> None:
    result = translate(
        req([{"type": "web_search_call", "id": "ws_1", "status": "completed"}, {"role": "user", "content": "x"}])
    )
    assert notes(result, "dropped") == {
        "input[0]": "a web search the provider ran: its findings are in the answer that followed"
    }
    problems = refused(req([{"type": "computer_call", "id": "c"}, {"type": "compaction", "encrypted_content": "x"}]))
    assert [path for path, _ in problems] == ["input[0].type", "input[1].type"]


# ---- tools ---------------------------------------------------------------------------------------


def test_function_tools() -> None:
    result = translate(
        req(
            tools=[
                {
                    "type": "function",
                    "name": "a",
                    "description": "A.",
                    "parameters": {"type": "object"},
                    "strict": True,
                },
                {
                    "type": "function",
                    "name": "b",
                    "parameters": None,
                    "strict": None,
                    "defer_loading": True,
                    "output_schema": {"type": "object"},
                },
            ]
        )
    )
    assert result.body["tools"] == [
        {
            "type": "function",
            "function": {"name": "a", "description": "A.", "parameters": {"type": "object"}, "strict": True},
        },
        {"type": "function", "function": {"name": "b", "parameters": {"type": "object", "properties": {}}}},
    ]
    assert set(notes(result, "dropped")) == {"tools[1].defer_loading", "tools[1].output_schema"}


def test_a_custom_tool_with_text_format_and_a_long_grammar() -> None:
    grammar = "rule: /x/\n" * 1000
    result = translate(
        req(
            tools=[
                {"type": "custom", "name": "note", "format": {"type": "text"}},
                {
                    "type": "custom",
                    "name": "big",
                    "description": "Big.",
                    "format": {"type": "grammar", "syntax": "regex", "definition": grammar},
                },
            ]
        )
    )
    note_tool, big_tool = (t["function"] for t in result.body["tools"])
    assert note_tool["description"].startswith("This tool takes raw text")
    assert big_tool["description"].startswith("Big.\n\nThis tool takes raw text")
    assert big_tool["description"].endswith("\n... (cut short)") and len(big_tool["description"]) < 4400
    assert notes(result, "approximated")["tools[1].format"].endswith("cut at 4000 characters")
    assert result.tools.custom == {"note", "big"}


def test_namespaced_names_map_back_exactly_and_clashes_are_hashed() -> None:
    long_ns = "n" * 40
    result = translate(
        req(
            tools=[
                fn("ns__run"),  # a top-level name that a namespaced tool would take: it keeps it
                {
                    "type": "namespace",
                    "name": "ns",
                    "description": "",
                    "tools": [fn("run"), {"type": "custom", "name": "edit"}],
                },
                {
                    "type": "namespace",
                    "name": long_ns,
                    "description": "d",
                    "tools": [fn("a_rather_long_function_name")],
                },
                {"type": "namespace", "name": "odd_", "description": "", "tools": [fn("x")]},
            ]
        )
    )
    names = [t["function"]["name"] for t in result.body["tools"]]
    assert names[0] == "ns__run" and names[2] == "ns__edit"
    for chat in names[1:2] + names[3:]:
        assert len(chat) <= 64 and chat.rsplit("_", 1)[1].isalnum() and len(chat.rsplit("_", 1)[1]) == 12
    tools = result.tools
    assert [tools.resolve(n) for n in names] == [
        ToolRef("ns__run"), ToolRef("run", "function", "ns"), ToolRef("edit", "custom", "ns"),
        ToolRef("a_rather_long_function_name", "function", long_ns), ToolRef("x", "function", "odd_"),
    ]  # fmt: skip
    # a history call of a namespaced tool gets the same name
    assert tools.chat_name("run", "ns") == names[1]
    # the hash is stable: another request, the same names
    again = translate(
        req(tools=[fn("ns__run"), {"type": "namespace", "name": "ns", "description": "", "tools": [fn("run")]}])
    )
    assert again.body["tools"][1]["function"]["name"] == names[1]


def test_two_tools_of_one_name_are_refused() -> None:
    assert refused(req(tools=[fn("a"), {"type": "custom", "name": "a"}])) == [
        ("tools[1].name", "a second tool named 'a'")
    ]


# ---- tool_choice ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ({"type": "function", "name": "f"}, {"type": "function", "function": {"name": "f"}}),
        ({"type": "custom", "name": "apply_patch"}, {"type": "function", "function": {"name": "apply_patch"}}),
        ({"type": "function", "name": "wait"}, {"type": "function", "function": {"name": "ns__wait"}}),
    ],
)
def test_tool_choice(choice: Any, expected: Any) -> None:
    tools = [
        fn("f"),
        {"type": "custom", "name": "apply_patch"},
        {"type": "namespace", "name": "ns", "description": "", "tools": [fn("wait")]},
    ]
    assert translate(req(tools=tools, tool_choice=choice)).body["tool_choice"] == expected


def test_tool_choice_never_names_a_tool_that_is_not_sent() -> None:
    tools = [fn("f"), {"type": "web_search"}]
    assert refused(req(tools=tools, tool_choice={"type": "function", "name": "g"})) == [
        ("tool_choice.name", "names no function tool that is sent: 'g'")
    ]
    assert refused(req(tools=tools, tool_choice={"type": "custom", "name": "f"}))[0][0] == "tool_choice.name"
    assert refused(req(tools=tools, tool_choice={"type": "web_search_preview"}))[0][0] == "tool_choice.type"
    # only web_search, dropped: nothing is sent, so nothing can be required
    assert refused(req(tools=[{"type": "web_search"}], tool_choice="required")) == [
        ("tool_choice", "is required, but no tool is sent to the chat upstream")
    ]
    result = translate(req(tools=[{"type": "web_search"}], tool_choice="auto"))
    assert "tool_choice" not in result.body and "tools" not in result.body


def test_allowed_tools_sends_the_allowed_ones() -> None:
    tools = [fn("a"), fn("b"), {"type": "namespace", "name": "ns", "description": "", "tools": [fn("c"), fn("d")]}]
    choice = {
        "type": "allowed_tools",
        "mode": "required",
        "tools": [
            {"type": "function", "name": "b"},
            {"type": "namespace", "name": "ns"},
            {"type": "function", "name": "gone"},
        ],
    }
    result = translate(req(tools=tools, tool_choice=choice))
    assert [t["function"]["name"] for t in result.body["tools"]] == ["b", "ns__c", "ns__d"]
    assert result.body["tool_choice"] == "required"
    assert notes(result) == {"tool_choice.tools[2]": "allows a tool that is not sent to the chat upstream"}
    assert (
        refused(req(tools=tools, tool_choice={**choice, "tools": [{"type": "function", "name": "gone"}]}))[0][0]
        == "tool_choice"
    )


def test_parallel_tool_calls_only_with_tools() -> None:
    assert translate(req(tools=[fn("a")], parallel_tool_calls=False)).body["parallel_tool_calls"] is False
    assert "parallel_tool_calls" not in translate(req(parallel_tool_calls=False)).body


# ---- the other fields ----------------------------------------------------------------------------


def test_the_other_fields_mapped() -> None:
    request = req(
        max_output_tokens=1000,
        temperature=0.5,
        top_p=0.9,
        text={
            "format": {
                "type": "json_schema",
                "name": "out",
                "schema": {"type": "object"},
                "strict": True,
                "description": "d",
            }
        },
        service_tier="flex",
        prompt_cache_key="k",
        prompt_cache_retention="24h",
        prompt_cache_options={"mode": "explicit", "ttl": "30m"},
        safety_identifier="user_123",
        metadata={"a": "b"},
        store=True,
        truncation="disabled",
        background=False,
        top_logprobs=0,
        moderation={"model": "omni-moderation-latest"},
        include=["reasoning.encrypted_content"],
    )
    validate_responses_request(request)
    result = translate(request)
    body = result.body
    assert {k: v for k, v in body.items() if k not in ("model", "messages")} == {
        "max_tokens": 1000,
        "temperature": 0.5,
        "top_p": 0.9,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "out", "schema": {"type": "object"}, "description": "d", "strict": True},
        },
        "service_tier": "flex",
        "prompt_cache_key": "k",
        "prompt_cache_retention": "24h",
        "prompt_cache_options": {"mode": "explicit", "ttl": "30m"},
        "user": "user_123",
        "moderation": {"model": "omni-moderation-latest"},
    }
    assert result.notes == []
    rows = {row.path: row for row in result.explain(request)}
    assert rows["store"] == Note("store", "mapped", "-> " + RESPONSES_MAPPED_FIELDS["store"])


def test_json_object_and_text_formats() -> None:
    assert translate(req(text={"format": {"type": "json_object"}})).body["response_format"] == {"type": "json_object"}
    assert "response_format" not in translate(req(text={"format": {"type": "text"}})).body


def test_the_model_table_fits_the_body_to_openai_models() -> None:
    result = translate({"model": "gpt-5-mini", "input": "x", "max_output_tokens": 500_000, "temperature": 0.2,
                        "reasoning": {"effort": "xhigh"}, "text": {"verbosity": "low"}})  # fmt: skip
    body = result.body
    assert body["max_completion_tokens"] == 128_000 and "max_tokens" not in body
    assert "temperature" not in body and body["reasoning_effort"] == "high" and body["verbosity"] == "low"
    assert set(notes(result)) == {"max_output_tokens", "temperature", "reasoning.effort"}
    result = translate({"model": "gpt-4o", "input": "x", "reasoning": {"effort": "low"}})
    assert "reasoning_effort" not in result.body and notes(result, "dropped") == {
        "reasoning.effort": "gpt-4o does not reason (no reasoning_effort)"
    }


@pytest.mark.parametrize(
    ("effort", "sent"), [("none", None), ("minimal", "low"), ("low", "low"), ("high", "high"), ("max", "high")]
)
def test_reasoning_effort_for_a_model_the_table_does_not_know(effort: str, sent: str | None) -> None:
    result = translate(req(reasoning={"effort": effort}, text={"verbosity": "high"}))
    assert result.body.get("reasoning_effort") == sent
    assert "verbosity" not in result.body and "text.verbosity" in notes(result, "dropped")


@pytest.mark.parametrize(
    ("user", "hashed"),
    [("user_123", False), ("jane@example.com", True), ("Jane Doe", True), ("+1 415 555 0100", True), ("a" * 65, True)],
)
def test_user_is_hashed_when_personal_or_long(user: str, hashed: bool) -> None:
    result = translate(req(user=user))
    sent = result.body["user"]
    assert (sent != user) is hashed
    assert len(sent) <= 64
    if hashed:
        assert sent == translate(req(safety_identifier=user)).body["user"]  # stable


def test_what_needs_openai_is_refused_with_every_problem_at_once() -> None:
    problems = refused(
        {
            "model": MODEL,
            "input": "x",
            "background": True,
            "conversation": "conv_1",
            "prompt": {"id": "pmpt_1"},
            "top_logprobs": 3,
            "include": ["message.output_text.logprobs", "file_search_call.results"],
            "truncation": "sideways",
            "temperature": 3,
        }
    )
    assert [path for path, _ in problems] == [
        "background", "conversation", "prompt", "top_logprobs", "include[0]", "truncation", "temperature",
    ]  # fmt: skip


def test_dropped_and_unknown_fields_are_noted() -> None:
    result = translate(
        req(
            truncation="auto",
            max_tool_calls=3,
            context_management=[{"type": "compaction"}],
            frobnicate=1,
            stream=True,
            stream_options={"include_obfuscation": True},
            include=["file_search_call.results"],
        )
    )
    assert set(notes(result, "dropped")) == {
        "truncation", "max_tool_calls", "context_management", "frobnicate", "stream_options.include_obfuscation",
        "include[0]",
    }  # fmt: skip


def test_the_response_id_comes_from_the_stamps() -> None:
    # the fixed clock's milliseconds (1,700,000,000,000: 12 hex digits), then the count
    assert (
        translate(req(), stamps=Stamps.fixed()).response_id == "resp_018bcfe56800000000000000000000000000000000000001"
    )


# ---- hostile input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "path"),
    [
        (req("bad \ud800 text"), "input"),
        (req(temperature=math.nan), "temperature"),
        (req([{"role": "user", "content": "x", "deep": json.loads("[" * 250 + "]" * 250)}]), "input[0].deep"),
        (req(tools=[{"type": "function", "name": "f\udfff"}]), "tools[0].name"),
        (req(metadata={"k": math.inf}), "metadata.k"),
        ("not an object", "$"),
        ({"input": "x"}, "model"),
        ({"model": MODEL}, "input"),
        (req(input=[{"type": "message", "role": "robot", "content": "x"}]), "input[0].role"),
        (req(input=[42]), "input[0]"),
        (req(tools="nope"), "tools"),
    ],
)
def test_hostile_input_is_a_translation_error_with_its_path(request_: Any, path: str) -> None:
    with pytest.raises(TranslationError) as info:
        responses_to_chat.request(request_)
    assert info.value.path.startswith(path), (info.value.path, info.value.reason)


def test_hostile_history() -> None:
    with pytest.raises(TranslationError) as info:
        responses_to_chat.request(req(), history=[{"role": "user", "content": "\udc00"}])
    assert info.value.path == "history[0].content"


def test_hostile_thinking_blocks_carried_back_are_refused_on_the_way_to_claude() -> None:
    """A client crafts the `encrypted_content` protoshift gives it: the thinking blocks it carries are
    checked as the request is (the Anthropic leg does not walk the chat body again)."""
    from base64 import urlsafe_b64encode

    from protoshift.translator.bridges import BRIDGES, Shaping
    from protoshift.translator.wire import MESSAGES, RESPONSES

    for payload, reason in [(b'[{"type": "thinking", "thinking": "x", "n": 1e999}]', "Infinity"),
                            (b'[{"type": "thinking", "thinking": "x", "n": ' + b"9" * 120 + b"}]", "digits"),
                            (b'[{"type": "thinking", "thinking": ' + b"[" * 199 + b"]" * 199 + b"}]", "nested")]:  # fmt: skip
        blob = "protoshift.tb1." + urlsafe_b64encode(payload).decode().rstrip("=")
        conversation = req(
            [
                {"role": "user", "content": "read it"},
                {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": blob},
                {"type": "function_call", "call_id": "c1", "name": "read", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": "text"},
            ],
            tools=[fn("read")],
        )
        with pytest.raises(TranslationError) as info:
            BRIDGES[(RESPONSES, MESSAGES)].request(conversation, stream=False, shaping=Shaping())
        assert info.value.path.startswith("input[1].encrypted_content"), info.value.problems
        assert reason in info.value.reason


def test_a_tool_list_sent_again_is_translated_the_same() -> None:
    """The translation of a tool list is kept for the next request sending the same JSON (an agent's every
    turn): the same body, notes and tool map as translated anew; its own parameters; nothing shared."""
    from protoshift.translator.responses_to_chat import tools as tool_module

    tool_module._CACHE.clear()
    for web_search in ("drop", "carry"):
        first = translate(codex_request(), web_search=web_search)
        again_request = codex_request()
        again = translate(again_request, web_search=web_search)
        assert json.dumps(again.body) == json.dumps(first.body)
        assert again.notes == first.notes and list(again.tools) == list(first.tools)
        assert again.tools.custom == first.tools.custom
        sent = {t["function"]["name"]: t["function"] for t in again.body["tools"]}
        given = {t["name"]: t for t in again_request["tools"] if t["type"] == "function"}
        assert all(sent[name]["parameters"] is tool["parameters"] for name, tool in given.items())
        assert all(
            a["function"] is not b["function"] for a, b in zip(again.body["tools"], first.body["tools"], strict=True)
        )
    assert len(tool_module._CACHE) == 2  # one per policy
    changed = codex_request()
    changed["tools"][0]["description"] += " Changed."
    assert translate(changed).body["tools"][0]["function"]["description"].endswith(" Changed.")
    as_tuple = codex_request()  # JSON's text is the same, the types are not: translated anew, and refused
    as_tuple["tools"] = tuple(as_tuple["tools"])
    assert refused(as_tuple) == [("tools", "expected an array, got tuple")]
