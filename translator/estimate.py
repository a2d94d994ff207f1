"""An estimate of the input tokens of an OpenAI Chat Completions request, for `count_tokens` on a
backend that cannot count (an OpenAI-compatible server has no counting endpoint).

No tokenizer: roughly four characters a token (OpenAI's rule of thumb for English text) over the text
the model reads — message text, tool-call names and arguments, tool definitions as JSON — plus a few
tokens per message for its framing (OpenAI's cookbook counts 3, and 3 more to prime the reply). An
image counts as Anthropic's most for one (about 1,600 tokens: ~1.15 megapixels at 750 pixels a
token), a PDF 2,000 tokens a page (Anthropic's docs: 1,500 to 3,000). A guide, not a count.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from typing import Any

CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 3
REPLY_PRIMING_TOKENS = 3
IMAGE_TOKENS = 1_600
PDF_PAGE_TOKENS = 2_000
_PDF_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
_PDF_DATA_URL = "data:application/pdf;base64,"


# A run of base64 this long is an image or a file, not text: a request's size says nothing of its tokens.
_BASE64_RUN = re.compile(rb"[A-Za-z0-9+/]{1024,}={0,2}")


def estimate_body_tokens(body: bytes) -> int:
    """The input tokens of a request body of any API, estimated from its size, without reading it: four
    bytes a token, each base64 run (an image, a PDF) as one image. What a rate limit debits up front,
    before the real count comes back with the answer; cheaper than `estimate_input_tokens` (one scan in C,
    no walk over the messages) and the same rule for every API."""
    size = len(body)
    images = 0
    if size > 1024:
        for run in _BASE64_RUN.finditer(body):
            size -= run.end() - run.start()
            images += 1
    return math.ceil(size / CHARS_PER_TOKEN) + images * IMAGE_TOKENS


def estimate_input_tokens(request: dict[str, Any]) -> int:
    """The estimated input tokens of an OpenAI request body."""
    chars = 0
    fixed = REPLY_PRIMING_TOKENS
    for message in request.get("messages") or ():
        if not isinstance(message, dict):
            continue
        fixed += TOKENS_PER_MESSAGE
        c, t = _content(message.get("content"))
        chars += c
        fixed += t
        reasoning = message.get("reasoning_content")
        if isinstance(reasoning, str):
            chars += len(reasoning)
        for call in message.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                chars += len(str(function.get("name") or "")) + len(str(function.get("arguments") or ""))
    tools = request.get("tools")
    if tools:
        chars += len(json.dumps(tools, ensure_ascii=False, separators=(",", ":")))
    return math.ceil(chars / CHARS_PER_TOKEN) + fixed


def _content(content: Any) -> tuple[int, int]:
    """(characters of text, tokens of images and files) of one message's content."""
    if isinstance(content, str):
        return len(content), 0
    chars = tokens = 0
    for part in content or ():
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text":
            chars += len(str(part.get("text") or ""))
        elif kind == "image_url":
            tokens += IMAGE_TOKENS
        elif kind == "file":
            file = part.get("file")
            tokens += _pdf_tokens(file.get("file_data") if isinstance(file, dict) else None)
    return chars, tokens


def _pdf_tokens(data: Any) -> int:
    pages = 1
    if isinstance(data, str) and data.startswith(_PDF_DATA_URL):
        try:
            pages = max(1, len(_PDF_PAGE.findall(base64.b64decode(data[len(_PDF_DATA_URL) :]))))
        except (binascii.Error, ValueError):
            pages = 1
    return pages * PDF_PAGE_TOKENS
