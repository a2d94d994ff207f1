"""translator.usage: the one mapping between the two usage objects, and the counts logs and metrics read."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from protoshift.translator import usage as usage_module
from protoshift.translator.usage import chat_usage_to_messages, messages_usage_to_chat, token_counts
from protoshift.translator.wire import API, CHAT, MESSAGES

ANTHROPIC = {
    "input_tokens": 10,
    "cache_creation_input_tokens": 100,
    "cache_read_input_tokens": 1000,
    "output_tokens": 7,
    "output_tokens_details": {"thinking_tokens": 3},
}
OPENAI = {
    "prompt_tokens": 1110,
    "completion_tokens": 7,
    "total_tokens": 1117,
    "prompt_tokens_details": {"cached_tokens": 1000},
    "completion_tokens_details": {"reasoning_tokens": 3},
}


def test_anthropic_usage_as_openai_counts_all_cached_input_as_prompt() -> None:
    assert messages_usage_to_chat(ANTHROPIC) == {
        "prompt_tokens": 1110,
        "completion_tokens": 7,
        "total_tokens": 1117,
        "prompt_tokens_details": {"cached_tokens": 1000},
        "completion_tokens_details": {"reasoning_tokens": 3},
    }


def test_openai_usage_as_anthropic_takes_the_cached_tokens_out_of_the_input() -> None:
    assert chat_usage_to_messages(OPENAI) == {
        "input_tokens": 110,
        "output_tokens": 7,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 1000,
        "output_tokens_details": {"thinking_tokens": 3},
    }
    deepseek = {"prompt_tokens": 50, "completion_tokens": 1, "prompt_cache_hit_tokens": 40}
    assert chat_usage_to_messages(deepseek)["cache_read_input_tokens"] == 40


@pytest.mark.parametrize("usage", [None, "12", [], {"prompt_tokens": True, "input_tokens": -5, "output_tokens": "7"}])
def test_no_usage_or_nonsense_counts_nothing(usage: Any) -> None:
    assert messages_usage_to_chat(usage)["total_tokens"] == 0
    assert chat_usage_to_messages(usage)["input_tokens"] == 0
    assert token_counts(CHAT, usage) == (0, 0)
    assert token_counts(MESSAGES, usage) == (0, 0)


def test_token_counts_of_each_api() -> None:
    assert token_counts(MESSAGES, ANTHROPIC) == (1110, 7)  # cached input is input the model read
    assert token_counts(CHAT, OPENAI) == (1110, 7)
    # the same tokens counted the same, whichever side of a translation the usage was read on
    assert token_counts(CHAT, messages_usage_to_chat(ANTHROPIC)) == token_counts(MESSAGES, ANTHROPIC)
    assert token_counts(MESSAGES, chat_usage_to_messages(OPENAI)) == token_counts(CHAT, OPENAI)


def test_every_api_has_its_counts() -> None:
    assert set(get_args(API)) == set(usage_module._COUNTED)
    assert {CHAT, MESSAGES} <= set(get_args(API))
