"""Every key of a Responses request has an action (issue 20): oracle, the openai SDK's own request
TypedDicts (openai.types.responses). Each key they declare, at every level responses_to_chat reads, is
one it knows (mapped, kept, dropped with a note or refused): never an "unknown field"."""

from __future__ import annotations

from typing import Any

import openai.types.responses as responses
import openai.types.responses.response_create_params as params
import openai.types.shared_params as shared
import pytest
from openai.types.responses import response_input_item_param as items
from openai.types.responses.namespace_tool_param import ToolFunction
from openai.types.shared_params.custom_tool_input_format import Grammar, Text

from protoshift.translator import responses_to_chat
from protoshift.translator.openai_to_anthropic.context import UNKNOWN_KEY
from protoshift.translator.tables import (
    CUSTOM_FORMAT_KEYS,
    PROMPT_CACHE_OPTIONS_KEYS,
    RESPONSES_DROPPED_FIELDS,
    RESPONSES_FORMAT_KEYS,
    RESPONSES_ITEM_KEYS,
    RESPONSES_MAPPED_FIELDS,
    RESPONSES_PART_KEYS,
    RESPONSES_REASONING_KEYS,
    RESPONSES_REFUSED_FIELDS,
    RESPONSES_STREAM_OPTIONS_KEYS,
    RESPONSES_TEXT_KEYS,
    RESPONSES_TOOL_CHOICE_KEYS,
    RESPONSES_TOOL_KEYS,
)


def keys(typed_dict: Any) -> set[str]:
    return set(typed_dict.__required_keys__ | typed_dict.__optional_keys__)


def test_every_request_field_has_an_action() -> None:
    handled = set(RESPONSES_MAPPED_FIELDS) | set(RESPONSES_DROPPED_FIELDS) | set(RESPONSES_REFUSED_FIELDS)
    assert keys(params.ResponseCreateParamsBase) - handled == set()
    assert keys(params.ResponseCreateParamsStreaming) - handled == set()


CASES: dict[str, tuple[Any, frozenset[str]]] = {
    "easy message": (responses.EasyInputMessageParam, RESPONSES_ITEM_KEYS["message"]),
    "input message": (items.Message, RESPONSES_ITEM_KEYS["message"]),
    "output message": (responses.ResponseOutputMessageParam, RESPONSES_ITEM_KEYS["message"]),
    "function call": (responses.ResponseFunctionToolCallParam, RESPONSES_ITEM_KEYS["function_call"]),
    "function call output": (items.FunctionCallOutput, RESPONSES_ITEM_KEYS["function_call_output"]),
    "custom tool call": (responses.ResponseCustomToolCallParam, RESPONSES_ITEM_KEYS["custom_tool_call"]),
    "custom tool call output": (
        responses.ResponseCustomToolCallOutputParam,
        RESPONSES_ITEM_KEYS["custom_tool_call_output"],
    ),
    "reasoning": (responses.ResponseReasoningItemParam, RESPONSES_ITEM_KEYS["reasoning"]),
    "item reference": (items.ItemReference, RESPONSES_ITEM_KEYS["item_reference"]),
    "input_text": (responses.ResponseInputTextParam, RESPONSES_PART_KEYS["input_text"]),
    "input_image": (responses.ResponseInputImageParam, RESPONSES_PART_KEYS["input_image"]),
    "input_file": (responses.ResponseInputFileParam, RESPONSES_PART_KEYS["input_file"]),
    "output text content": (responses.ResponseInputTextContentParam, RESPONSES_PART_KEYS["input_text"]),
    "output image content": (responses.ResponseInputImageContentParam, RESPONSES_PART_KEYS["input_image"]),
    "output file content": (responses.ResponseInputFileContentParam, RESPONSES_PART_KEYS["input_file"]),
    "output_text": (responses.ResponseOutputTextParam, RESPONSES_PART_KEYS["output_text"]),
    "refusal": (responses.ResponseOutputRefusalParam, RESPONSES_PART_KEYS["refusal"]),
    "function tool": (responses.FunctionToolParam, RESPONSES_TOOL_KEYS["function"]),
    "custom tool": (responses.CustomToolParam, RESPONSES_TOOL_KEYS["custom"]),
    "namespace tool": (responses.NamespaceToolParam, RESPONSES_TOOL_KEYS["namespace"]),
    "namespace function": (ToolFunction, RESPONSES_TOOL_KEYS["function"]),
    "text format": (Text, CUSTOM_FORMAT_KEYS["text"]),
    "grammar format": (Grammar, CUSTOM_FORMAT_KEYS["grammar"]),
    "function choice": (responses.ToolChoiceFunctionParam, RESPONSES_TOOL_CHOICE_KEYS["function"]),
    "custom choice": (responses.ToolChoiceCustomParam, RESPONSES_TOOL_CHOICE_KEYS["custom"]),
    "allowed tools": (responses.ToolChoiceAllowedParam, RESPONSES_TOOL_CHOICE_KEYS["allowed_tools"]),
    "text": (responses.ResponseTextConfigParam, RESPONSES_TEXT_KEYS),
    "json_schema": (responses.ResponseFormatTextJSONSchemaConfigParam, RESPONSES_FORMAT_KEYS["json_schema"]),
    "json_object": (shared.ResponseFormatJSONObject, RESPONSES_FORMAT_KEYS["json_object"]),
    "text format (text)": (shared.ResponseFormatText, RESPONSES_FORMAT_KEYS["text"]),
    "reasoning config": (shared.Reasoning, RESPONSES_REASONING_KEYS),
    "stream options": (params.StreamOptions, RESPONSES_STREAM_OPTIONS_KEYS),
    "prompt cache options": (params.PromptCacheOptions, PROMPT_CACHE_OPTIONS_KEYS),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_key_of_every_object_is_known(case: str) -> None:
    typed_dict, known = CASES[case]
    assert keys(typed_dict) - known == set()


def test_a_request_with_every_field_has_no_unknown_one() -> None:
    request = {
        "model": "m",
        "input": "x",
        "instructions": "i",
        "max_output_tokens": 10,
        "max_tool_calls": 2,
        "metadata": {},
        "parallel_tool_calls": True,
        "previous_response_id": "resp_1",
        "prompt_cache_key": "k",
        "prompt_cache_retention": "24h",
        "prompt_cache_options": {"mode": "implicit", "ttl": "30m"},
        "reasoning": {"effort": "low"},
        "safety_identifier": "u",
        "user": "u",
        "service_tier": "auto",
        "store": False,
        "stream": True,
        "stream_options": {"include_obfuscation": False},
        "temperature": 1,
        "top_p": 1,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_logprobs": 0,
        "truncation": "disabled",
        "background": False,
        "include": [],
        "context_management": [{"type": "compaction", "compact_threshold": 1000}],
        "moderation": {"model": "omni-moderation-latest"},
    }
    result = responses_to_chat.request(request, history=[])
    assert [n for n in result.notes if n.reason == UNKNOWN_KEY] == []
