"""The token estimate `count_tokens` gives for a backend that cannot count (translator/estimate.py)."""

from __future__ import annotations

import base64

from protoshift.translator.estimate import (
    IMAGE_TOKENS,
    PDF_PAGE_TOKENS,
    REPLY_PRIMING_TOKENS,
    TOKENS_PER_MESSAGE,
    estimate_input_tokens,
)

FRAMING = REPLY_PRIMING_TOKENS + TOKENS_PER_MESSAGE


def user(content: object) -> dict[str, object]:
    return {"model": "m", "messages": [{"role": "user", "content": content}]}


def test_text_is_about_four_characters_a_token_plus_the_framing() -> None:
    assert estimate_input_tokens(user("x" * 400)) == 100 + FRAMING
    assert (
        estimate_input_tokens(user([{"type": "text", "text": "x" * 8}, {"type": "text", "text": "y" * 8}]))
        == 4 + FRAMING
    )


def test_images_count_flat_and_pdfs_by_their_pages() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 100_000}}
    assert estimate_input_tokens(user([image])) == IMAGE_TOKENS + FRAMING
    pdf = b"%PDF-1.4\n1 0 obj<</Type /Pages>>endobj 2 0 obj<</Type /Page>>endobj 3 0 obj<</Type/Page>>endobj"
    part = {
        "type": "file",
        "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64," + base64.b64encode(pdf).decode()},
    }
    assert estimate_input_tokens(user([part])) == 2 * PDF_PAGE_TOKENS + FRAMING


def test_tool_calls_and_tool_definitions_count() -> None:
    bare = estimate_input_tokens(user("hi"))
    with_tools = estimate_input_tokens(
        {**user("hi"), "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]}
    )
    assert with_tools > bare
    call = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "x" * 40}}],
    }
    assert estimate_input_tokens({"model": "m", "messages": [call]}) == 11 + FRAMING
