"""anthropic_to_openai.response: Anthropic message -> chat.completion (issue 2, section 3)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from protoshift.translator import Stamps, TranslationError, anthropic_to_openai
from tests.oracles import validate_completion

from .anthropic_fixtures import message, text_block, thinking, tool_use
from .helpers import req, tool, translate, user


def complete(msg: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    completion = anthropic_to_openai.response(msg, **kwargs)
    validate_completion(completion)
    return completion


def test_text_blocks_are_joined_exactly_without_separator() -> None:
    pieces = ["Hello", ", wor", "ld!\n", "  Second line "]
    completion = complete(message([text_block(p) for p in pieces]))
    assert completion["choices"][0]["message"]["content"] == "Hello, world!\n  Second line "


def test_shape_of_a_plain_completion() -> None:
    completion = complete(message([text_block("Hi")]), stamps=Stamps.fixed(now=1_700_000_000))
    assert completion["object"] == "chat.completion"
    assert completion["created"] == 1_700_000_000
    assert completion["model"] == "claude-sonnet-4-5-20250929"
    assert [c["index"] for c in completion["choices"]] == [0]
    assert completion["choices"][0]["message"]["role"] == "assistant"


def test_created_is_now_by_default() -> None:
    import time

    before = int(time.time())
    created = complete(message([text_block("Hi")]))["created"]
    assert before <= created <= int(time.time())


def test_id_msg_x_becomes_chatcmpl_x() -> None:
    assert complete(message([text_block("Hi")]))["id"] == "chatcmpl-01XFDUDYJgAACzvnptvVoYEL"


def test_tool_use_becomes_tool_calls_with_json_string_arguments_and_ids_kept() -> None:
    args = {"city": "Zürich", "days": 3, "units": {"temp": "C"}}
    msg = message(
        [text_block("Checking."), tool_use("toolu_01A", "get_weather", args), tool_use("toolu_01B", "noop", {})],
        stop_reason="tool_use",
    )
    completion = complete(msg)
    choice = completion["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "Checking."
    calls = choice["message"]["tool_calls"]
    assert [c["id"] for c in calls] == ["toolu_01A", "toolu_01B"]
    assert all(c["type"] == "function" for c in calls)
    assert [c["function"]["name"] for c in calls] == ["get_weather", "noop"]
    assert all(isinstance(c["function"]["arguments"], str) for c in calls)
    assert json.loads(calls[0]["function"]["arguments"]) == args
    assert json.loads(calls[1]["function"]["arguments"]) == {}


def test_only_tool_calls_means_content_null() -> None:
    msg = message([tool_use("toolu_01A", "f", {"a": 1})], stop_reason="tool_use")
    assert complete(msg)["choices"][0]["message"]["content"] is None


def test_thinking_goes_to_reasoning_content_and_thinking_blocks_with_signatures() -> None:
    msg = message(
        [
            thinking("First, ", "sig-one"),
            {"type": "redacted_thinking", "data": "EncryptedStuff"},
            thinking("then.", "sig-two"),
            text_block("Answer."),
        ]
    )
    answer = complete(msg)["choices"][0]["message"]
    assert answer["content"] == "Answer."
    assert answer["reasoning_content"] == "First, then."
    assert answer["thinking_blocks"] == [
        {"type": "thinking", "thinking": "First, ", "signature": "sig-one"},
        {"type": "redacted_thinking", "data": "EncryptedStuff"},
        {"type": "thinking", "thinking": "then.", "signature": "sig-two"},
    ]


def test_thinking_round_trip_hands_blocks_back_with_signatures() -> None:
    msg = message(
        [
            thinking("The user wants Paris weather.", "EqQBCkgIARABGAIiQL"),
            {"type": "redacted_thinking", "data": "RedactedData=="},
            text_block("Let me look."),
            tool_use("toolu_01A", "get_weather", {"city": "Paris"}),
        ],
        stop_reason="tool_use",
    )
    answer = complete(msg)["choices"][0]["message"]
    # The caller appends the completion's message as it is, plus the tool result, and asks again.
    request = req(user("Weather in Paris?"), answer, tool("toolu_01A", "sunny"), reasoning_effort="low")
    body = translate(request).body
    assistant_turn = body["messages"][1]
    assert assistant_turn["role"] == "assistant"
    assert assistant_turn["content"] == msg["content"]  # thinking (signed), redacted, text, tool_use: all back
    assert body["messages"][2]["content"][0] == {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "sunny"}


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "stop"),
        ("a_reason_from_next_year", "stop"),
        (None, "stop"),
    ],
)
def test_finish_reason_table(stop_reason: str | None, finish_reason: str) -> None:
    msg = message([text_block("x")])
    msg["stop_reason"] = stop_reason  # set after validation: new reasons must not break us
    assert complete(msg)["choices"][0]["finish_reason"] == finish_reason


def test_usage_counts_cached_input_as_prompt_tokens() -> None:
    msg = message(
        [text_block("x")],
        input_tokens=100,
        output_tokens=7,
        cache_creation_input_tokens=20,
        cache_read_input_tokens=30,
    )
    usage = complete(msg)["usage"]
    assert usage["prompt_tokens"] == 150
    assert usage["completion_tokens"] == 7
    assert usage["total_tokens"] == 157
    assert usage["prompt_tokens_details"]["cached_tokens"] == 30


def test_usage_with_null_cache_fields() -> None:
    msg = message([text_block("x")], input_tokens=5, output_tokens=2)
    msg["usage"].update(cache_creation_input_tokens=None, cache_read_input_tokens=None)
    usage = complete(msg)["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (5, 2, 7)
    assert usage["prompt_tokens_details"]["cached_tokens"] == 0


def test_server_tool_and_unknown_blocks_are_kept_in_provider_specific_fields_not_skipped() -> None:
    msg = message(
        [
            text_block("Searching. "),
            {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "x"}},
            {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
            text_block("Found it."),
        ]
    )
    msg["content"].insert(2, {"type": "hologram", "payload": 1})  # a block type from the future
    answer = complete(msg)["choices"][0]["message"]
    assert answer["content"] == "Searching. Found it."
    assert "tool_calls" not in answer  # a server tool is not a call the client must answer
    assert answer["provider_specific_fields"]["content_blocks"] == [
        msg["content"][1],
        msg["content"][2],
        msg["content"][3],
    ]


# ---- web search citations -> message.annotations (issue 10) --------------------------------------


def cited(text: str, *citations: dict[str, Any]) -> dict[str, Any]:
    return {"type": "text", "text": text, "citations": list(citations)}


def web_citation(url: str, title: str | None = "A page") -> dict[str, Any]:
    return {
        "type": "web_search_result_location",
        "url": url,
        "title": title,
        "encrypted_index": "Eo8BCioIAhgB",
        "cited_text": "Claude Shannon was born on April 30, 1916",
    }


def test_web_search_citations_become_url_citation_annotations_over_the_cited_text() -> None:
    from openai.types.chat.chat_completion_message import Annotation

    msg = message(
        [
            text_block("Based on the search results, "),
            cited(
                "Claude Shannon was born on April 30, 1916",
                web_citation("https://en.wikipedia.org/wiki/Claude_Shannon"),
            ),
            text_block(", in Petoskey. "),
            cited(
                "He died in 2001.",
                web_citation("https://example.org/obit", None),
                web_citation("https://example.com/b"),
            ),
        ]
    )
    answer = complete(msg)["choices"][0]["message"]
    content = answer["content"]
    annotations = [Annotation.model_validate(a) for a in answer["annotations"]]
    assert [
        (a.url_citation.url, content[a.url_citation.start_index : a.url_citation.end_index]) for a in annotations
    ] == [
        ("https://en.wikipedia.org/wiki/Claude_Shannon", "Claude Shannon was born on April 30, 1916"),
        ("https://example.org/obit", "He died in 2001."),
        ("https://example.com/b", "He died in 2001."),
    ]
    assert annotations[0].url_citation.title == "A page"
    assert annotations[1].url_citation.title == "https://example.org/obit"  # no title: the URL stands in
    assert "provider_specific_fields" not in answer


def test_document_citations_are_kept_with_their_range_where_openai_has_no_annotation() -> None:
    char = {
        "type": "char_location",
        "cited_text": "grass is green",
        "document_index": 0,
        "document_title": "Facts",
        "start_char_index": 0,
        "end_char_index": 14,
    }
    answer = complete(message([text_block("So: "), cited("the grass is green", char)]))["choices"][0]["message"]
    assert "annotations" not in answer
    assert answer["provider_specific_fields"]["citations"] == [{"start_index": 4, "end_index": 22, "citation": char}]


def test_an_error_object_is_not_translated_as_a_message() -> None:
    with pytest.raises(TranslationError):
        anthropic_to_openai.response({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
