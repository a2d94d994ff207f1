"""Every key of OpenAI's request schema has an action (issue 10, section 1).

Oracle: the openai SDK's own request TypedDicts. Each key they declare, at every level, must be one
the translator reads (mapped, kept, defaulted, dropped with a note or refused): never an "unknown
field", and never dropped without a word.
"""

from __future__ import annotations

from typing import Any

import openai.types.chat as chat
import openai.types.shared_params as shared
import pytest
from openai.types.chat import completion_create_params as params
from openai.types.chat.chat_completion_content_part_image_param import ImageURL
from openai.types.chat.chat_completion_content_part_param import File, FileFile
from openai.types.chat.chat_completion_content_part_text_param import PromptCacheBreakpoint
from openai.types.chat.chat_completion_message_function_tool_call_param import Function as CallFunction
from openai.types.chat.chat_completion_named_tool_choice_param import Function as ChoiceFunction

from protoshift.translator.openai_to_anthropic.context import UNKNOWN_KEY
from protoshift.translator.tables import (
    APPROXIMATE_LOCATION_KEYS,
    CALL_FUNCTION_KEYS,
    DROPPED_FIELDS,
    FILE_KEYS,
    FUNCTION_KEYS,
    FUNCTION_TOOL_KEYS,
    IMAGE_URL_KEYS,
    JSON_SCHEMA_FORMAT_KEYS,
    LEGACY_FUNCTION_KEYS,
    MAPPED_FIELDS,
    MESSAGE_KEYS,
    NAMED_TOOL_CHOICE_FUNCTION_KEYS,
    NAMED_TOOL_CHOICE_KEYS,
    PART_KEYS,
    PROMPT_CACHE_BREAKPOINT_KEYS,
    REJECTED_FIELDS,
    RESPONSE_FORMAT_KEYS,
    STREAM_OPTIONS_KEYS,
    TOOL_CALL_KEYS,
    USER_LOCATION_KEYS,
    WEB_SEARCH_OPTIONS_KEYS,
)

from .helpers import call, req, tool, translate, user


def keys(typed_dict: Any) -> set[str]:
    return set(typed_dict.__required_keys__ | typed_dict.__optional_keys__)


def test_every_request_field_has_an_action() -> None:
    handled = set(MAPPED_FIELDS) | set(DROPPED_FIELDS) | set(REJECTED_FIELDS)
    assert keys(params.CompletionCreateParamsBase) - handled == set()


CASES: dict[str, tuple[Any, frozenset[str]]] = {
    "system message": (chat.ChatCompletionSystemMessageParam, MESSAGE_KEYS["system"]),
    "developer message": (chat.ChatCompletionDeveloperMessageParam, MESSAGE_KEYS["developer"]),
    "user message": (chat.ChatCompletionUserMessageParam, MESSAGE_KEYS["user"]),
    "assistant message": (chat.ChatCompletionAssistantMessageParam, MESSAGE_KEYS["assistant"]),
    "tool message": (chat.ChatCompletionToolMessageParam, MESSAGE_KEYS["tool"]),
    "function message": (chat.ChatCompletionFunctionMessageParam, MESSAGE_KEYS["function"]),
    "text part": (chat.ChatCompletionContentPartTextParam, PART_KEYS["text"]),
    "image part": (chat.ChatCompletionContentPartImageParam, PART_KEYS["image_url"]),
    "image_url": (ImageURL, IMAGE_URL_KEYS),
    "file part": (File, PART_KEYS["file"]),
    "file": (FileFile, FILE_KEYS),
    "refusal part": (chat.ChatCompletionContentPartRefusalParam, PART_KEYS["refusal"]),
    "prompt_cache_breakpoint": (PromptCacheBreakpoint, PROMPT_CACHE_BREAKPOINT_KEYS),
    "tool call": (chat.ChatCompletionMessageFunctionToolCallParam, TOOL_CALL_KEYS),
    "tool call function": (CallFunction, CALL_FUNCTION_KEYS),
    "function tool": (chat.ChatCompletionFunctionToolParam, FUNCTION_TOOL_KEYS),
    "function definition": (shared.FunctionDefinition, FUNCTION_KEYS),
    "legacy function": (params.Function, LEGACY_FUNCTION_KEYS),
    "named tool choice": (chat.ChatCompletionNamedToolChoiceParam, NAMED_TOOL_CHOICE_KEYS),
    "named tool choice function": (ChoiceFunction, NAMED_TOOL_CHOICE_FUNCTION_KEYS),
    "response_format text": (shared.ResponseFormatText, RESPONSE_FORMAT_KEYS["text"]),
    "response_format json_object": (shared.ResponseFormatJSONObject, RESPONSE_FORMAT_KEYS["json_object"]),
    "response_format json_schema": (shared.ResponseFormatJSONSchema, RESPONSE_FORMAT_KEYS["json_schema"]),
    "json_schema": (shared.response_format_json_schema.JSONSchema, JSON_SCHEMA_FORMAT_KEYS),
    "stream_options": (chat.ChatCompletionStreamOptionsParam, STREAM_OPTIONS_KEYS),
    "web_search_options": (params.WebSearchOptions, WEB_SEARCH_OPTIONS_KEYS),
    "user_location": (params.WebSearchOptionsUserLocation, USER_LOCATION_KEYS),
    "approximate": (params.WebSearchOptionsUserLocationApproximate, APPROXIMATE_LOCATION_KEYS),
}


@pytest.mark.parametrize(("typed_dict", "known"), CASES.values(), ids=CASES)
def test_every_key_of_every_object_is_read(typed_dict: Any, known: frozenset[str]) -> None:
    assert keys(typed_dict) - known == set()


def test_objects_with_every_field_set_give_no_unknown_field_note() -> None:
    """Not only the tables: a request using those fields is translated without one 'unknown field'."""
    request = req(
        {"role": "system", "content": "rules", "name": "ops"},
        {"role": "developer", "content": [{"type": "text", "text": "more rules"}], "name": "dev"},
        user(
            [
                {"type": "text", "text": "look", "prompt_cache_breakpoint": {"mode": "explicit"}},
                {"type": "image_url", "image_url": {"url": "https://x.test/a.png", "detail": "low"}},
                {"type": "file", "file": {"file_data": "JVBERi0xLjQ=", "filename": "a.pdf"}},
            ],
            name="jane",
        ),
        {
            "role": "assistant",
            "content": "checking",
            "refusal": None,
            "name": "bot",
            "audio": None,
            "tool_calls": [call("c1")],
            "annotations": [],
        },
        {**tool("c1", "4C")},
        user("thanks"),
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "d",
                    "parameters": {"type": "object"},
                    "strict": False,
                },
            }
        ],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        response_format={"type": "text"},
        stream=True,
        stream_options={"include_usage": True, "include_obfuscation": False},
        web_search_options={
            "search_context_size": "low",
            "user_location": {"type": "approximate", "approximate": {"city": "Oslo", "country": "NO"}},
        },
    )
    result = translate(request)
    assert [n for n in result.notes if n.reason == UNKNOWN_KEY] == []
