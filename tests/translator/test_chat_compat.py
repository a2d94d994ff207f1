"""translator/chat_compat.py: an OpenAI-compatible upstream's refusal, in the words real servers use, read
into the body to send instead and the fact to learn; the table's facts applied before sending."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from protoshift.translator import anthropic_to_openai
from protoshift.translator.chat_compat import adapt_to_chat_refusal, fit_to_model, origins_for
from protoshift.translator.models import DEFAULT_TABLE, ModelFacts
from protoshift.translator.report import Note

MESSAGES = origins_for("messages")
BODY: dict[str, Any] = {
    "model": "qwen3-coder",
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "system", "content": "Agents: Explore."},
        {"role": "user", "content": "Go"},
    ],
    "max_completion_tokens": 100,
    "reasoning_effort": "high",
    "user": "u-1",
    "stream": True,
    "stream_options": {"include_usage": True},
    "parallel_tool_calls": False,
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}, "strict": True}}],
}


@pytest.mark.parametrize(
    ("refusal", "gone", "facts", "path"),
    [
        ('"qwen3-coder" does not support thinking', "reasoning_effort", {"thinking": "none"}, "thinking"),
        ("Unrecognized request argument supplied: stream_options", "stream_options", {"refuses": ("stream_options",)}, "stream"),
        ("Invalid 'user': string too long. Expected a string with maximum length 64", "user", {"refuses": ("user",)}, "metadata.user_id"),
        ("[{'type': 'extra_forbidden', 'loc': ('body', 'parallel_tool_calls')}]", "parallel_tool_calls",
         {"refuses": ("parallel_tool_calls",)}, "tool_choice.disable_parallel_tool_use"),
    ],
    ids=["ollama-thinking", "stream_options", "openai-user", "extra-forbidden"],
)  # fmt: skip
def test_a_refused_field_is_left_out_and_learned(refusal: str, gone: str, facts: dict[str, Any], path: str) -> None:
    adapted = adapt_to_chat_refusal(BODY, refusal, MESSAGES)
    assert adapted is not None
    assert gone not in adapted.body and {k: v for k, v in BODY.items() if k != gone} == adapted.body
    assert adapted.facts == facts
    [note] = adapted.notes
    assert note.path == path and note.action == "dropped" and 'add [models."qwen3-coder"]' in note.reason
    assert gone in BODY  # the body it was given is left as it was


def test_max_tokens_refused_is_renamed_and_back() -> None:
    refusal = "Unsupported parameter: 'max_completion_tokens' is not supported with this model. Use 'max_tokens'."
    adapted = adapt_to_chat_refusal(BODY, refusal, MESSAGES)
    assert adapted is not None and adapted.body["max_tokens"] == 100 and "max_completion_tokens" not in adapted.body
    assert adapted.facts == {"refuses": ("max_completion_tokens",)}


def test_strict_tools_refused_lose_strict_only() -> None:
    adapted = adapt_to_chat_refusal(BODY, "tools[0].function.strict: Extra inputs are not permitted", MESSAGES)
    assert adapted is not None and adapted.facts == {"refuses": ("tools.strict",)}
    assert adapted.body["tools"][0]["function"] == {"name": "f", "parameters": {"type": "object"}}
    assert BODY["tools"][0]["function"]["strict"] is True


def test_a_system_message_later_than_the_start_becomes_a_reminder() -> None:
    adapted = adapt_to_chat_refusal(BODY, "System message must be at the beginning.", MESSAGES)
    assert adapted is not None and adapted.facts == {"system": "first"}
    assert [m["role"] for m in adapted.body["messages"]] == ["system", "user", "assistant", "user"]
    assert adapted.body["messages"][3]["content"] == [
        {"type": "text", "text": "<system-reminder>\nAgents: Explore.\n</system-reminder>"},
        {"type": "text", "text": "Go"},
    ]


def test_no_system_role_puts_the_prompt_first_in_the_first_user_turn() -> None:
    adapted = adapt_to_chat_refusal(BODY, "System role not supported", MESSAGES)
    assert adapted is not None and adapted.facts == {"system": "none"}
    roles = [m["role"] for m in adapted.body["messages"]]
    assert roles == ["user", "assistant", "user"]
    assert adapted.body["messages"][0]["content"] == "Be brief.\n\nAgents: Explore.\n\nHi"


@pytest.mark.parametrize(
    "refusal",
    [
        "Conversation roles must alternate user/assistant/user/assistant/...",  # names `user`, not the field
        "This model's maximum context length is 8192 tokens.",
        "Invalid API key",
    ],
)
def test_a_refusal_naming_nothing_it_can_change_is_none(refusal: str) -> None:
    assert adapt_to_chat_refusal(BODY, refusal, MESSAGES) is None


def test_fit_to_model_applies_what_the_table_says() -> None:
    body = copy.deepcopy(BODY)
    notes: list[Note] = []
    facts = ModelFacts("qwen*", system="none", refuses=("user", "tools.strict", "max_completion_tokens"))
    fit_to_model(body, facts, lambda *args: notes.append(Note(*args)), MESSAGES)
    assert "user" not in body and body["max_tokens"] == 100 and "strict" not in body["tools"][0]["function"]
    assert body["messages"][0]["role"] == "user"
    assert [note.path for note in notes] == ["metadata.user_id", "tools", "system"]


def test_learning_keeps_what_was_known_and_adds_to_refuses() -> None:
    table = DEFAULT_TABLE.with_overrides({"qwen*": {"max_output": 8192, "refuses": ["user"]}})
    table = table.learn("qwen3-coder", {"refuses": ("stream_options",)}).learn("qwen3-coder", {"thinking": "none"})
    facts = table.openai_side().lookup("qwen3-coder")
    assert facts is not None
    assert (facts.max_output, facts.refuses, facts.thinking) == (8192, ("user", "stream_options"), "none")
    assert table.openai_side().lookup("qwen2") is not None  # the config row still holds for the others


def test_a_learned_fact_shapes_the_next_translation() -> None:
    table = DEFAULT_TABLE.learn("qwen3-coder", {"thinking": "none", "refuses": ("user",)})
    request = {
        "model": "qwen3-coder",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "Hi"}],
        "thinking": {"type": "adaptive"},
        "output_config": {"effort": "high"},
        "metadata": {"user_id": "u-1"},
    }
    body = anthropic_to_openai.request(request, models=table).body
    assert "reasoning_effort" not in body and "user" not in body


def test_function_descriptions_too_long_are_cut_to_the_length_said_and_learned() -> None:
    body = copy.deepcopy(BODY)
    body["tools"][0]["function"]["description"] = "d" * 3200  # Claude Code's Bash says ~3.2 KB
    refusal = (
        "Invalid 'tools[0].function.description': string too long. Expected a string with maximum length 1024,"
        " but got a string with length 3200 instead."
    )
    adapted = adapt_to_chat_refusal(body, refusal, MESSAGES)
    assert adapted is not None and adapted.facts == {"tool_description_max": 1024}
    assert adapted.body["tools"][0]["function"]["description"] == "d" * 1024
    assert len(body["tools"][0]["function"]["description"]) == 3200  # the body given is left as it was
    notes: list[Note] = []
    fit_to_model(body, ModelFacts("q*", tool_description_max=1024), lambda *a: notes.append(Note(*a)), MESSAGES)
    assert len(body["tools"][0]["function"]["description"]) == 1024 and notes[0].path == "tools"


def test_prompt_and_max_tokens_over_the_context_lowers_max_tokens_to_the_room_left() -> None:
    refusal = (
        "This model's maximum context length is 32768 tokens. However, you requested 40960 tokens (8960 in the"
        " messages, 32000 in the completion). Please reduce the length of the messages or completion."
    )
    body = {**BODY, "max_completion_tokens": 32000}
    adapted = adapt_to_chat_refusal(body, refusal, MESSAGES)
    assert adapted is not None and adapted.body["max_completion_tokens"] == 32768 - 8960
    assert adapted.facts == {"context_window": 32768} and adapted.notes[0].path == "max_tokens"
    # the prompt alone over the window: nothing to lower
    too_long = "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens (9000 in the messages, 0 in the completion)."
    assert adapt_to_chat_refusal(body, too_long, MESSAGES) is None
