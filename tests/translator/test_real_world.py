"""Every field of every real-world request ends up in the report or in the body (issue 10, "Proof").

For each request of the corpus (tests/translator/real_world.py, sources named there): it translates
into a body the Anthropic SDK types accept, or is refused naming exactly the expected paths; and
every value it carries, at every depth, is either found in the body or has a note (at its path or
a parent's) — nothing disappears without a word.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from anthropic.lib._parse._transform import transform_schema

from protoshift.translator import RequestTranslation, TranslationError, openai_to_anthropic
from tests.oracles import assert_anthropic_body

from .real_world import CORPUS, REFUSED

# Values whose meaning reaches the body in another form (an enum mapped to another enum, a flag
# that becomes a body field or a stream behaviour): (the key, or the path's last two parts).
MAPPED_VALUES = {
    "role",  # system/developer -> system blocks, user/assistant turns, tool -> tool_result
    "type",  # part and tool kinds become block and tool kinds
    "tool_choice",  # "required" -> any, ...
    "reasoning_effort",  # -> a thinking budget or an effort
    "stream",  # -> stream: true
    "include_usage",  # -> RequestTranslation.include_usage
    "strict",  # -> tool strict / structured outputs
    "json_schema.name",  # OpenAI's name for the schema: Anthropic takes the schema only
    "thinking_blocks",  # with their signatures, as thinking blocks
}
# Payloads carried whole (their content is compared as a whole, not key by key).
PAYLOADS = {"parameters", "schema", "arguments"}


def leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(JSON path, value) of every scalar in the request, payloads as one leaf each."""
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            if key in PAYLOADS:
                yield child, item
            else:
                yield from leaves(item, child)
    elif isinstance(value, list):
        for k, item in enumerate(value):
            yield from leaves(item, f"{path}[{k}]")
    else:
        yield path, value


def body_values(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from body_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from body_values(item)
    else:
        yield value


def in_body(value: Any, body: dict[str, Any], body_text: str) -> bool:
    if isinstance(value, str):
        if value.startswith("data:") and ";base64," in value:  # a data URL becomes media_type + data
            return value.split(",", 1)[1] in body_text
        return any(isinstance(v, str) and value in v for v in body_values(body))
    if isinstance(value, bool):
        return True  # flags: checked by key (MAPPED_VALUES) or by a note
    if isinstance(value, int | float):
        return any(type(v) is type(value) and v == value for v in body_values(body))
    if isinstance(value, dict | list):  # a payload: a schema, parsed arguments
        return value in list(body_values(body)) or json.dumps(value, sort_keys=True) in body_text
    return False


def accounted(path: str, value: Any, result: RequestTranslation, body_text: str) -> bool:
    if value is None:
        return True  # the same as leaving it out
    for note in result.notes:
        if path == note.path or path.startswith((note.path + ".", note.path + "[")):
            return True
    parts = path.replace("]", "").replace("[", ".").split(".")
    if parts[-1] in MAPPED_VALUES or ".".join(parts[-2:]) in MAPPED_VALUES:
        return True
    if parts[-1] == "detail" and value == "auto":  # Anthropic's own choice; other values are noted
        return True
    if parts[-1] == "arguments" and isinstance(value, str):
        return in_body(json.loads(value), result.body, body_text)
    if parts[-1] in ("parameters", "schema") and in_body(
        transform_schema(copy.deepcopy(value)), result.body, body_text
    ):
        return True  # adapted for structured outputs, exactly as the anthropic SDK does
    return in_body(value, result.body, body_text)


@pytest.mark.parametrize("name", CORPUS)
def test_every_field_ends_up_in_the_report_or_in_the_body(name: str) -> None:
    request = CORPUS[name]
    if name in REFUSED:
        with pytest.raises(TranslationError) as info:
            openai_to_anthropic.request(request)
        assert [p.path for p in info.value.problems] == REFUSED[name]
        return
    result = openai_to_anthropic.request(request)
    assert_anthropic_body(result.body, result.betas)
    body_text = json.dumps(result.body, ensure_ascii=False, sort_keys=True)
    lost = [(path, value) for path, value in leaves(request) if not accounted(path, value, result, body_text)]
    assert lost == [], f"{name}: values neither sent nor noted"


@pytest.mark.parametrize("name", [n for n in CORPUS if n not in REFUSED])
def test_every_top_level_field_has_a_row_in_the_explain_table(name: str) -> None:
    request = CORPUS[name]
    rows = openai_to_anthropic.request(request).explain(request)
    assert set(request) <= {row.path for row in rows}


def test_what_the_corpus_shows() -> None:
    """A few outcomes spelled out (the rest is covered by the generic checks above)."""
    caching = openai_to_anthropic.request(CORPUS["litellm-prompt-caching-tools"])
    assert caching.body["tools"][0]["cache_control"] == {"type": "ephemeral"}
    email = openai_to_anthropic.request(CORPUS["litellm-user-email"])
    assert email.body["metadata"]["user_id"].startswith("sha256:")
    search = openai_to_anthropic.request(CORPUS["openai-docs-web-search"])
    assert search.body["tools"][0]["user_location"]["city"] == "London"
    reasoning = openai_to_anthropic.request(CORPUS["openai-docs-reasoning"])  # claude-opus-4-7 thinks adaptively
    assert reasoning.body["thinking"] == {"type": "adaptive"} and reasoning.body["output_config"] == {
        "effort": "medium"
    }
    parsed = openai_to_anthropic.request(CORPUS["openai-python-parsing-tools"])
    assert parsed.body["tools"][0]["strict"] is True
