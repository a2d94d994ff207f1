"""openai_to_anthropic.request: what happens to `messages` (issue 2, section 2: roles, content parts, tools, turns)."""

from __future__ import annotations

import base64
import re

import pytest

from .helpers import (
    assistant,
    call,
    developer,
    image,
    one_note,
    refused,
    req,
    system,
    text,
    tool,
    translate,
    user,
)

SAFE_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
PDF = base64.b64encode(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF").decode()


# ---- system and developer ----------------------------------------------------------------------


def test_system_and_developer_messages_anywhere_become_top_level_system_in_order() -> None:
    result = translate(
        req(
            system("Be brief."),
            user("hi"),
            developer("Answer in French."),
            assistant("Bonjour"),
            user("again"),
            system([text("Part one."), text("   "), text("Part two.")]),
        )
    )
    assert result.body["system"] == [
        {"type": "text", "text": "Be brief."},
        {"type": "text", "text": "Answer in French."},
        {"type": "text", "text": "Part one."},
        {"type": "text", "text": "Part two."},
    ]
    assert [m["role"] for m in result.body["messages"]] == ["user", "assistant", "user"]
    # The leading one is where Anthropic wants it; the two in mid-conversation moved, and say so.
    assert not [n for n in result.notes if n.path == "messages[0]"]
    one_note(result, "messages[2]", "approximated")
    one_note(result, "messages[5]", "approximated")


def test_empty_system_messages_are_dropped_and_no_system_is_sent() -> None:
    result = translate(req(system(""), developer("  \n"), system([]), user("hi")))
    assert "system" not in result.body


def test_system_text_parts_keep_their_cache_control() -> None:
    cc = {"type": "ephemeral"}
    result = translate(req(system([text("long rules", cache_control=cc)]), user("hi")))
    assert result.body["system"] == [{"type": "text", "text": "long rules", "cache_control": cc}]
    one_note(result, "messages[0].content[0].cache_control", "kept")


def test_non_text_system_part_is_refused() -> None:
    refused(req(system([image("https://x.test/a.png")]), user("hi")), "messages[0].content[0].type", "text")


# ---- content: strings and parts ----------------------------------------------------------------


def test_string_content_becomes_one_text_block_and_parts_stay_separate_blocks() -> None:
    body = translate(req(user("plain"), assistant("ok"), user([text("first"), text("second")]))).body
    assert body["messages"][0]["content"] == [{"type": "text", "text": "plain"}]
    assert body["messages"][2]["content"] == [{"type": "text", "text": "first"}, {"type": "text", "text": "second"}]


@pytest.mark.parametrize(
    ("url", "media_type"),
    [
        (f"data:image/png;base64,{PNG}", "image/png"),
        (f"data:image/jpeg;base64,{PNG}", "image/jpeg"),
        (f"data:IMAGE/WEBP;base64,{PNG}", "image/webp"),  # media types are case-insensitive
        (f"data:image/gif;charset=binary;base64,{PNG}", "image/gif"),
    ],
)
def test_image_data_url_becomes_base64_source_with_its_media_type(url: str, media_type: str) -> None:
    body = translate(req(user([text("what is this?"), image(url)]))).body
    assert body["messages"][0]["content"][1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": media_type, "data": PNG},
    }


@pytest.mark.parametrize("url", ["https://example.com/cat.png", "http://example.com/cat.jpg?x=1"])
def test_image_http_url_becomes_url_source(url: str) -> None:
    body = translate(req(user([image(url)]))).body
    assert body["messages"][0]["content"] == [{"type": "image", "source": {"type": "url", "url": url}}]


def test_image_detail_is_dropped_with_a_note_and_refused_in_strict_mode() -> None:
    request = req(user([image("https://example.com/a.png", detail="high")]))
    result = translate(request)
    assert "detail" not in str(result.body)
    one_note(result, "messages[0].content[0].image_url.detail", "dropped")
    refused(request, "messages[0].content[0].image_url.detail", "strict", strict=True)


def test_image_detail_auto_is_the_default_and_needs_no_note() -> None:
    result = translate(req(user([image("https://example.com/a.png", detail="auto")])))
    assert not [n for n in result.notes if "detail" in n.path]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("data:image/bmp;base64,Qk0=", "image/bmp"),
        ("data:image/svg+xml;base64,PHN2Zz4=", "image/svg+xml"),
        ("data:image/png,rawnotbase64", "base64"),
        ("data:image/png;base64,", "no data"),
        ("ftp://example.com/a.png", "http"),
        ("file:///etc/passwd", "http"),
    ],
)
def test_unsupported_image_urls_are_refused_at_the_url_path(url: str, reason: str) -> None:
    refused(req(user([text("look"), image(url)])), "messages[0].content[1].image_url.url", reason)


def test_image_in_an_assistant_message_is_refused() -> None:
    refused(req(user("hi"), assistant([image("https://x.test/a.png")])), "messages[1].content[0].type")


@pytest.mark.parametrize(
    "file_data", [f"data:application/pdf;base64,{PDF}", PDF], ids=["data-url", "bare-base64-by-magic"]
)
def test_pdf_file_part_becomes_a_document_block(file_data: str) -> None:
    part = {"type": "file", "file": {"file_data": file_data, "filename": "report.pdf"}}
    body = translate(req(user([part, text("summarise")]))).body
    assert body["messages"][0]["content"][0] == {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
        "title": "report.pdf",
    }


def test_plain_text_file_part_becomes_a_text_document() -> None:
    data = base64.b64encode("héllo\n".encode()).decode()
    part = {"type": "file", "file": {"file_data": f"data:text/plain;base64,{data}"}}
    body = translate(req(user([part]))).body
    assert body["messages"][0]["content"][0] == {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "héllo\n"},
    }


def test_file_part_with_other_media_type_is_refused() -> None:
    part = {"type": "file", "file": {"file_data": "data:application/zip;base64,UEsDBA=="}}
    refused(req(user([part])), "messages[0].content[0].file.file_data", "application/zip")


def test_file_id_is_refused_because_it_points_into_openai_storage() -> None:
    part = {"type": "file", "file": {"file_id": "file-abc123"}}
    refused(req(user([text("read this"), part])), "messages[0].content[1].file.file_id", "file_data")


def test_input_audio_part_is_refused() -> None:
    part = {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}
    refused(req(user([part])), "messages[0].content[0].type", "audio")


def test_unknown_part_kind_is_refused_with_the_exact_json_path() -> None:
    request = req(user("hi"), assistant("hello"), user([text("and"), {"type": "video_url", "video_url": {}}]))
    err = refused(request, "messages[2].content[1].type", "video_url")
    assert str(err).startswith("messages[2].content[1].type: ")


# ---- tool calls and results --------------------------------------------------------------------


def test_tool_calls_become_tool_use_blocks_after_the_assistant_text() -> None:
    request = req(
        user("weather in Paris and Rome?"),
        assistant("Let me check.", tool_calls=[call("call_1"), call("call_2", arguments='{"city": "Rome"}')]),
        tool("call_1", "sunny"),
        tool("call_2", "rain"),
    )
    body = translate(request).body
    assert body["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {"city": "Rome"}},
        ],
    }


def test_empty_arguments_mean_an_empty_input_object() -> None:
    body = translate(req(user("go"), assistant(None, tool_calls=[call("c1", arguments="")]), tool("c1"))).body
    assert body["messages"][1]["content"] == [{"type": "tool_use", "id": "c1", "name": "get_weather", "input": {}}]


@pytest.mark.parametrize(("arguments", "reason"), [('{"city": "Par', "not valid JSON"), ("[1, 2]", "object")])
def test_bad_tool_call_arguments_are_refused_at_their_path(arguments: str, reason: str) -> None:
    request = req(user("go"), assistant(None, tool_calls=[call("c1"), call("c2", arguments=arguments)]))
    refused(request, "messages[1].tool_calls[1].function.arguments", reason)


def test_tool_results_go_into_the_one_user_turn_after_the_assistant_before_user_text() -> None:
    request = req(
        user("compare Paris and Rome"),
        assistant(None, tool_calls=[call("c1"), call("c2")]),
        tool("c1", "sunny"),
        user("(also, use Celsius)"),
        tool("c2", [text("rain, 12C")]),
    )
    body = translate(request).body
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "c1", "content": "sunny"},
        {"type": "tool_result", "tool_use_id": "c2", "content": [{"type": "text", "text": "rain, 12C"}]},
        {"type": "text", "text": "(also, use Celsius)"},
    ]


def test_tool_result_without_a_matching_call_is_refused() -> None:
    refused(req(user("hi"), tool("call_nope")), "messages[1].tool_call_id")
    refused(
        req(user("hi"), assistant(None, tool_calls=[call("c1")]), tool("c2")),
        "messages[2].tool_call_id",
        "no tool call",
    )


def test_second_result_for_the_same_call_is_refused() -> None:
    request = req(user("hi"), assistant(None, tool_calls=[call("c1")]), tool("c1"), tool("c1"))
    refused(request, "messages[3].tool_call_id", "already")


def test_call_without_a_result_is_refused_naming_the_call() -> None:
    before_next_turn = req(
        user("hi"), assistant(None, tool_calls=[call("c1"), call("c2")]), tool("c1"), assistant("done")
    )
    refused(before_next_turn, "messages[1].tool_calls[1]")
    at_the_end = req(user("hi"), assistant(None, tool_calls=[call("c1")]))
    refused(at_the_end, "messages[1].tool_calls[0]")


def test_duplicate_tool_call_id_is_refused() -> None:
    request = req(user("hi"), assistant(None, tool_calls=[call("c1"), call("c1")]), tool("c1"))
    refused(request, "messages[1].tool_calls[1].id", "twice")


def test_unsafe_tool_call_ids_are_rewritten_consistently_and_safe_ones_kept() -> None:
    request = req(
        user("hi"),
        assistant(None, tool_calls=[call("call:1/a.b"), call("call 2"), call("toolu_01AbC-d_e")]),
        tool("call 2"),
        tool("call:1/a.b"),
        tool("toolu_01AbC-d_e"),
    )
    body = translate(request).body
    uses = [b["id"] for b in body["messages"][1]["content"]]
    results = [b["tool_use_id"] for b in body["messages"][2]["content"]]
    assert all(SAFE_ID.match(i) for i in uses + results)
    assert uses[2] == "toolu_01AbC-d_e"
    assert len(set(uses)) == 3
    assert results == [uses[1], uses[0], uses[2]]  # each result still points at its own call


def test_legacy_functions_function_call_and_function_role() -> None:
    request = req(
        user("weather?"),
        assistant(None, function_call={"name": "get_weather", "arguments": '{"city": "Oslo"}'}),
        {"role": "function", "name": "get_weather", "content": "snow"},
        functions=[{"name": "get_weather", "parameters": {"type": "object", "properties": {}}}],
        function_call={"name": "get_weather"},
    )
    body = translate(request).body
    assert body["tools"] == [{"name": "get_weather", "input_schema": {"type": "object", "properties": {}}}]
    assert body["tool_choice"] == {"type": "tool", "name": "get_weather"}
    use = body["messages"][1]["content"][0]
    assert use["type"] == "tool_use" and use["name"] == "get_weather" and use["input"] == {"city": "Oslo"}
    assert body["messages"][2]["content"] == [{"type": "tool_result", "tool_use_id": use["id"], "content": "snow"}]


@pytest.mark.parametrize(("value", "expected"), [("auto", {"type": "auto"}), ("none", {"type": "none"})])
def test_legacy_function_call_modes(value: str, expected: dict[str, str]) -> None:
    body = translate(req(user("hi"), functions=[{"name": "f"}], function_call=value)).body
    assert body["tool_choice"] == expected


def test_function_result_without_a_function_call_is_refused() -> None:
    refused(req(user("hi"), {"role": "function", "name": "f", "content": "x"}), "messages[1].name", "function_call")


# ---- turns -------------------------------------------------------------------------------------


def test_consecutive_same_role_messages_are_merged_in_order() -> None:
    body = translate(req(user("a"), user([text("b")]), assistant("x"), assistant("y"), user("c"))).body
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "x"}, {"type": "text", "text": "y"}]},
        {"role": "user", "content": [{"type": "text", "text": "c"}]},
    ]


def test_no_empty_text_block_is_ever_sent() -> None:
    request = req(
        system(" "),
        user(""),
        user([text(""), text("real question"), text("\n\t")]),
        assistant("   ", tool_calls=[call("c1")]),
        tool("c1", [text(" ")]),
        assistant([text(""), {"type": "refusal", "refusal": "  "}]),
        user("next"),
    )
    result = translate(request)  # translate() checks the whole body for empty text blocks
    body = result.body
    assert body["messages"][0]["content"] == [{"type": "text", "text": "real question"}]
    assert body["messages"][1]["content"] == [
        {"type": "tool_use", "id": "c1", "name": "get_weather", "input": {"city": "Paris"}}
    ]
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "c1"},
        {"type": "text", "text": "next"},
    ]
    one_note(result, "messages[1].content", "dropped")  # the empty user message
    one_note(result, "messages[5]", "dropped")  # the assistant message with nothing in it


def test_final_assistant_message_is_kept_as_prefill_with_trailing_whitespace_trimmed() -> None:
    result = translate(req(user("Give JSON"), assistant("Here it is:\n{  ")))
    assert result.body["messages"][-1] == {"role": "assistant", "content": [{"type": "text", "text": "Here it is:\n{"}]}
    one_note(result, "messages[1].content", "approximated")


def test_prefill_without_trailing_whitespace_is_sent_untouched_and_without_note() -> None:
    result = translate(req(user("Give JSON"), assistant("{")))
    assert result.body["messages"][-1]["content"] == [{"type": "text", "text": "{"}]
    assert result.notes == [n for n in result.notes if n.path == "max_tokens"]  # only the defaulted limit


def test_only_the_final_assistant_turn_is_trimmed() -> None:
    body = translate(req(user("a"), assistant("earlier answer  "), user("b"))).body
    assert body["messages"][1]["content"] == [{"type": "text", "text": "earlier answer  "}]


def test_thinking_blocks_handed_back_on_an_assistant_turn_are_kept_first_with_signatures() -> None:
    thinking = [
        {"type": "thinking", "thinking": "Paris is in France.", "signature": "sig-abc=="},
        {"type": "redacted_thinking", "data": "ENCRYPTED"},
    ]
    request = req(
        user("weather?"),
        assistant("Checking.", tool_calls=[call("c1")], thinking_blocks=thinking, reasoning_content="ignored"),
        tool("c1"),
    )
    body = translate(request).body
    assert body["messages"][1]["content"][:2] == thinking
    assert body["messages"][1]["content"][2] == {"type": "text", "text": "Checking."}


def test_reasoning_content_without_signature_is_dropped_with_a_note() -> None:
    result = translate(req(user("q"), assistant("a", reasoning_content="I thought"), user("q2")))
    assert "I thought" not in str(result.body)
    one_note(result, "messages[1].reasoning_content", "dropped")


def test_thinking_block_without_signature_is_refused() -> None:
    request = req(user("q"), assistant("a", thinking_blocks=[{"type": "thinking", "thinking": "x"}]))
    refused(request, "messages[1].thinking_blocks[0].signature")


def test_message_name_is_dropped_with_a_note() -> None:
    result = translate(req(user("hi", name="alice")))
    assert "alice" not in str(result.body)
    one_note(result, "messages[0].name", "dropped")
