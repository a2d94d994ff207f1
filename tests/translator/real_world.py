"""Real-world OpenAI Chat Completions requests, as other projects send them (issue 10, "Proof").

Each entry names its public source. The requests are what those sources put on the wire: where a
source builds them with the openai SDK's helpers (`pydantic_function_tool`, `response_format=Model`)
the wire form the SDK produces is written out; where a source calls an OpenAI model, the model is
replaced by a Claude one (what `protoshift ... -m MODEL` does); long texts are shortened.

`REFUSED` lists the requests protoshift must refuse (their loss would change the answer), with the
JSON paths it must name.
"""

from __future__ import annotations

from typing import Any

_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
_PDF = "JVBERi0xLjQKMSAwIG9iajw8Pj5lbmRvYmoKdHJhaWxlcjw8Pj4KJSVFT0YK"

_WEATHER = {
    "type": "function",
    "function": {
        "name": "get_current_weather",
        "description": "Get the current weather",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                "format": {
                    "type": "string",
                    "enum": ["celsius", "fahrenheit"],
                    "description": "The temperature unit to use. Infer this from the users location.",
                },
            },
            "required": ["location", "format"],
        },
    },
}
_FORECAST = {
    "type": "function",
    "function": {
        "name": "get_n_day_weather_forecast",
        "description": "Get an N-day weather forecast",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                "format": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "num_days": {"type": "integer", "description": "The number of days to forecast"},
            },
            "required": ["location", "format", "num_days"],
        },
    },
}
_COOKBOOK_SYSTEM = {
    "role": "system",
    "content": "Don't make assumptions about what values to plug into functions. Ask for clarification if a user request is ambiguous.",
}
_LEGAL = "Here is the full text of a complex legal agreement. " * 40

CORPUS: dict[str, dict[str, Any]] = {
    # Anthropic, "OpenAI SDK compatibility", quick start (https://platform.claude.com/docs/en/api/openai-sdk)
    "anthropic-compat-quickstart": {
        "model": "claude-opus-4-6",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Who are you?"},
        ],
    },
    # Anthropic, "OpenAI SDK compatibility", extended thinking via extra_body (same page)
    "anthropic-compat-thinking": {
        "model": "claude-sonnet-4-5",
        "messages": [{"role": "user", "content": "Who are you?"}],
        "thinking": {"type": "enabled", "budget_tokens": 2000},
    },
    # openai-python README, "Usage" (https://github.com/openai/openai-python#usage)
    "openai-python-readme-developer": {
        "model": "claude-sonnet-4-5",
        "messages": [
            {"role": "developer", "content": "Talk like a pirate."},
            {"role": "user", "content": "How do I check if a Python object is an instance of a class?"},
        ],
    },
    # openai-python examples/parsing.py: response_format=MathResponse, as the SDK sends it
    "openai-python-parsing": {
        "model": "claude-sonnet-4-5",
        "messages": [
            {"role": "system", "content": "You are a helpful math tutor."},
            {"role": "user", "content": "solve 8x + 31 = 2"},
        ],
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "schema": {
                    "$defs": {
                        "Step": {
                            "properties": {
                                "explanation": {"title": "Explanation", "type": "string"},
                                "output": {"title": "Output", "type": "string"},
                            },
                            "required": ["explanation", "output"],
                            "title": "Step",
                            "type": "object",
                            "additionalProperties": False,
                        }
                    },
                    "properties": {
                        "steps": {"items": {"$ref": "#/$defs/Step"}, "title": "Steps", "type": "array"},
                        "final_answer": {"title": "Final Answer", "type": "string"},
                    },
                    "required": ["steps", "final_answer"],
                    "title": "MathResponse",
                    "type": "object",
                    "additionalProperties": False,
                },
                "name": "MathResponse",
                "strict": True,
            },
        },
    },
    # openai-python examples/parsing_tools.py: tools=[openai.pydantic_function_tool(Query)], as sent
    "openai-python-parsing-tools": {
        "model": "claude-sonnet-4-5",
        "messages": [
            {
                "role": "system",
                "content": "You are a helpful assistant. The current date is August 6, 2024. You help users query for the data they are looking for by calling the query function.",
            },
            {
                "role": "user",
                "content": "look up all my orders in november of last year that were fulfilled but not delivered on time",
            },
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "Query",
                    "strict": True,
                    "parameters": {
                        "$defs": {
                            "Column": {
                                "enum": [
                                    "id",
                                    "status",
                                    "expected_delivery_date",
                                    "delivered_at",
                                    "shipped_at",
                                    "ordered_at",
                                    "canceled_at",
                                ],
                                "title": "Column",
                                "type": "string",
                            },
                            "Condition": {
                                "properties": {
                                    "column": {"title": "Column", "type": "string"},
                                    "operator": {"$ref": "#/$defs/Operator"},
                                    "value": {
                                        "anyOf": [
                                            {"type": "string"},
                                            {"type": "integer"},
                                            {"$ref": "#/$defs/DynamicValue"},
                                        ],
                                        "title": "Value",
                                    },
                                },
                                "required": ["column", "operator", "value"],
                                "title": "Condition",
                                "type": "object",
                                "additionalProperties": False,
                            },
                            "DynamicValue": {
                                "properties": {"column_name": {"title": "Column Name", "type": "string"}},
                                "required": ["column_name"],
                                "title": "DynamicValue",
                                "type": "object",
                                "additionalProperties": False,
                            },
                            "Operator": {
                                "enum": ["=", ">", "<", "<=", ">=", "!="],
                                "title": "Operator",
                                "type": "string",
                            },
                            "OrderBy": {"enum": ["asc", "desc"], "title": "OrderBy", "type": "string"},
                            "Table": {"enum": ["orders", "customers", "products"], "title": "Table", "type": "string"},
                        },
                        "properties": {
                            "table_name": {"$ref": "#/$defs/Table"},
                            "columns": {"items": {"$ref": "#/$defs/Column"}, "title": "Columns", "type": "array"},
                            "conditions": {
                                "items": {"$ref": "#/$defs/Condition"},
                                "title": "Conditions",
                                "type": "array",
                            },
                            "order_by": {"$ref": "#/$defs/OrderBy"},
                        },
                        "required": ["table_name", "columns", "conditions", "order_by"],
                        "title": "Query",
                        "type": "object",
                        "additionalProperties": False,
                    },
                },
            }
        ],
    },
    # OpenAI cookbook, "How to call functions with chat models", first request
    # (https://cookbook.openai.com/examples/how_to_call_functions_with_chat_models)
    "cookbook-functions-ask": {
        "model": "claude-haiku-4-5",
        "messages": [_COOKBOOK_SYSTEM, {"role": "user", "content": "What's the weather like today"}],
        "tools": [_WEATHER, _FORECAST],
    },
    # same notebook, "Forcing the use of specific functions"
    "cookbook-functions-forced": {
        "model": "claude-haiku-4-5",
        "messages": [_COOKBOOK_SYSTEM, {"role": "user", "content": "Give me a weather report for Toronto, Canada."}],
        "tools": [_WEATHER, _FORECAST],
        "tool_choice": {"type": "function", "function": {"name": "get_n_day_weather_forecast"}},
    },
    # same notebook, "Parallel Function Calling": the history with both calls answered, as replayed
    "cookbook-functions-parallel-history": {
        "model": "claude-haiku-4-5",
        "messages": [
            _COOKBOOK_SYSTEM,
            {
                "role": "user",
                "content": "what is the weather going to be like in San Francisco and Glasgow over the next 4 days",
            },
            {
                "role": "assistant",
                "content": None,
                "refusal": None,
                "tool_calls": [
                    {
                        "id": "call_ZYfy1aEmE9Xbi4KNhYsCXP3n",
                        "type": "function",
                        "function": {
                            "name": "get_n_day_weather_forecast",
                            "arguments": '{"location": "San Francisco, CA", "format": "fahrenheit", "num_days": 4}',
                        },
                    },
                    {
                        "id": "call_5c9WlwLMNNC5OMWJrZ8uEnZB",
                        "type": "function",
                        "function": {
                            "name": "get_n_day_weather_forecast",
                            "arguments": '{"location": "Glasgow, UK", "format": "celsius", "num_days": 4}',
                        },
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_ZYfy1aEmE9Xbi4KNhYsCXP3n", "content": "Sunny, 68F"},
            {"role": "tool", "tool_call_id": "call_5c9WlwLMNNC5OMWJrZ8uEnZB", "content": "Rain, 12C"},
        ],
        "tools": [_WEATHER, _FORECAST],
    },
    # OpenAI cookbook, "How to stream completions", usage in the stream
    # (https://cookbook.openai.com/examples/how_to_stream_completions)
    "cookbook-stream-usage": {
        "model": "claude-haiku-4-5",
        "messages": [{"role": "user", "content": "What's 1+1? Answer in one word."}],
        "temperature": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
    },
    # OpenAI docs, "Images and vision", Chat Completions with detail
    # (https://platform.openai.com/docs/guides/images-vision)
    "openai-docs-vision": {
        "model": "claude-sonnet-4-5",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What's in this image?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{_PNG}", "detail": "high"}},
                ],
            }
        ],
        "max_tokens": 300,
    },
    # OpenAI docs, "File inputs", a PDF in Chat Completions (https://platform.openai.com/docs/guides/pdf-files)
    "openai-docs-pdf": {
        "model": "claude-sonnet-4-5",
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "file",
                        "file": {"filename": "draconomicon.pdf", "file_data": f"data:application/pdf;base64,{_PDF}"},
                    },
                    {"type": "text", "text": "What is the first dragon in the book?"},
                ],
            }
        ],
    },
    # OpenAI docs, "Web search", Chat Completions with a user location
    # (https://platform.openai.com/docs/guides/tools-web-search?api-mode=chat)
    "openai-docs-web-search": {
        "model": "claude-sonnet-4-5",
        "web_search_options": {
            "user_location": {
                "type": "approximate",
                "approximate": {"country": "GB", "city": "London", "region": "London"},
            }
        },
        "messages": [{"role": "user", "content": "What are the best restaurants around Granary Square?"}],
    },
    # OpenAI docs, "Reasoning models": developer message, effort, completion budget
    # (https://platform.openai.com/docs/guides/reasoning)
    "openai-docs-reasoning": {
        "model": "claude-opus-4-7",
        "reasoning_effort": "medium",
        "max_completion_tokens": 25000,
        "messages": [
            {"role": "developer", "content": "Formatting re-enabled"},
            {
                "role": "user",
                "content": "Write a bash script that takes a matrix represented as a string with format '[1,2],[3,4],[5,6]' and prints the transpose in the same format.",
            },
        ],
    },
    # OpenAI cookbook, "Introduction to Structured Outputs", hand-written strict schema
    # (https://cookbook.openai.com/examples/structured_outputs_intro)
    "cookbook-structured-outputs": {
        "model": "claude-sonnet-4-5",
        "messages": [
            {
                "role": "system",
                "content": "You are a helpful math tutor. Guide the user through the solution step by step.",
            },
            {"role": "user", "content": "how can I solve 8x + 7 = -23"},
        ],
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": "math_reasoning",
                "schema": {
                    "type": "object",
                    "properties": {
                        "steps": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {"explanation": {"type": "string"}, "output": {"type": "string"}},
                                "required": ["explanation", "output"],
                                "additionalProperties": False,
                            },
                        },
                        "final_answer": {"type": "string"},
                    },
                    "required": ["steps", "final_answer"],
                    "additionalProperties": False,
                },
                "strict": True,
            },
        },
    },
    # OpenAI cookbook, "How to format inputs to ChatGPT models": few-shot with example names
    # (https://cookbook.openai.com/examples/how_to_format_inputs_to_chatgpt_models)
    "cookbook-few-shot-names": {
        "model": "claude-haiku-4-5",
        "messages": [
            {
                "role": "system",
                "content": "You are a helpful, pattern-following assistant that translates corporate jargon into plain English.",
            },
            {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
            {
                "role": "system",
                "name": "example_assistant",
                "content": "Things working well together will increase revenue.",
            },
            {
                "role": "user",
                "content": "This late pivot means we don't have time to boil the ocean for the client deliverable.",
            },
        ],
        "temperature": 0,
    },
    # LiteLLM tests/llm_translation/test_anthropic_prompt_caching.py, test_anthropic_api_prompt_caching_basic
    "litellm-prompt-caching-basic": {
        "model": "claude-3-7-sonnet-20250219",
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": _LEGAL, "cache_control": {"type": "ephemeral"}}]},
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "What are the key terms and conditions in this agreement?",
                        "cache_control": {"type": "ephemeral"},
                    }
                ],
            },
            {
                "role": "assistant",
                "content": "Certainly! the key terms and conditions are the following: the contract is 1 year long for $10/mo",
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "What are the key terms and conditions in this agreement?",
                        "cache_control": {"type": "ephemeral"},
                    }
                ],
            },
        ],
        "temperature": 0.2,
        "max_tokens": 10,
    },
    # same file, test_anthropic_api_prompt_caching_with_content_str: cache_control on string messages
    "litellm-prompt-caching-content-str": {
        "model": "claude-3-7-sonnet-20250219",
        "messages": [
            {
                "role": "system",
                "content": "Here is the full text of a complex legal agreement",
                "cache_control": {"type": "ephemeral"},
            },
            {
                "role": "user",
                "content": "What are the key terms and conditions in this agreement?",
                "cache_control": {"type": "ephemeral"},
            },
            {
                "role": "assistant",
                "content": "Certainly! the key terms and conditions are the following: the contract is 1 year long for $10/mo",
            },
            {
                "role": "user",
                "content": "What are the key terms and conditions in this agreement?",
                "cache_control": {"type": "ephemeral"},
            },
        ],
    },
    # same file, test_litellm_anthropic_prompt_caching_tools: cache_control inside `function`
    "litellm-prompt-caching-tools": {
        "model": "claude-3-7-sonnet-20250219",
        "messages": [{"role": "user", "content": "What's the weather like in Boston today?"}],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_current_weather",
                    "description": "Get the current weather in a given location",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                        },
                        "required": ["location"],
                    },
                    "cache_control": {"type": "ephemeral"},
                },
            }
        ],
    },
    # LiteLLM tests/llm_translation/test_anthropic_user_id_validation.py: an e-mail as `user`
    "litellm-user-email": {
        "model": "claude-3-7-sonnet-20250219",
        "messages": [{"role": "user", "content": "Hello"}],
        "user": "test@example.com",
    },
    # LiteLLM docs, Anthropic provider, "Usage - Web Search": web_search_options with a context size
    # (https://docs.litellm.ai/docs/providers/anthropic)
    "litellm-web-search-context-size": {
        "model": "claude-sonnet-4-5",
        "messages": [{"role": "user", "content": "What is the capital of France?"}],
        "web_search_options": {"search_context_size": "medium"},
    },
    # LiteLLM docs, Anthropic provider, reasoning_effort + a LiteLLM thinking_blocks round trip
    # (https://docs.litellm.ai/docs/reasoning_content)
    "litellm-thinking-blocks-round-trip": {
        "model": "claude-3-7-sonnet-20250219",
        "reasoning_effort": "low",
        "messages": [
            {"role": "user", "content": "What's the weather like in Boston today?"},
            {
                "role": "assistant",
                "content": None,
                "reasoning_content": "The user asks about Boston's weather; I should call the tool.",
                "thinking_blocks": [
                    {
                        "type": "thinking",
                        "thinking": "The user asks about Boston's weather; I should call the tool.",
                        "signature": "EqoBCkgIARABGAIiQL2UoU0b1OHYi+yCHpBWCmHQ4mGmzE9j",
                    }
                ],
                "tool_calls": [
                    {
                        "id": "toolu_01234",
                        "type": "function",
                        "function": {"name": "get_current_weather", "arguments": '{"location": "Boston, MA"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "toolu_01234", "content": "72F and sunny"},
        ],
        "tools": [_WEATHER],
    },
    # Vercel AI SDK's OpenAI-compatible provider test data: image as a bare URL string, user id
    # (github.com/vercel/ai, packages/openai-compatible, convert-to-openai-compatible-chat-messages tests)
    "ai-sdk-image-url-string": {
        "model": "claude-sonnet-4-5",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Describe"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/image.jpg"}},
                ],
            }
        ],
        "user": "test-user-id",
        "seed": 42,
        "frequency_penalty": 0.3,
    },
    # OpenAI docs, "Predicted Outputs" (https://platform.openai.com/docs/guides/predicted-outputs)
    "openai-docs-predicted-outputs": {
        "model": "claude-haiku-4-5",
        "messages": [
            {
                "role": "user",
                "content": "Replace the username property with an email property. Respond only with code.",
            },
            {"role": "user", "content": "class User { firstName: string = ''; username: string = ''; }"},
        ],
        "prediction": {"type": "content", "content": "class User { firstName: string = ''; username: string = ''; }"},
    },
    # OpenAI docs, "Using logprobs" cookbook (https://cookbook.openai.com/examples/using_logprobs): refused
    "cookbook-logprobs": {
        "model": "claude-haiku-4-5",
        "messages": [{"role": "user", "content": "Classify: 'Tech stocks surge'"}],
        "max_tokens": 1,
        "temperature": 0,
        "logprobs": True,
        "top_logprobs": 2,
    },
    # OpenAI docs, "Audio", Chat Completions audio output (https://platform.openai.com/docs/guides/audio): refused
    "openai-docs-audio-out": {
        "model": "claude-haiku-4-5",
        "modalities": ["text", "audio"],
        "audio": {"voice": "alloy", "format": "wav"},
        "messages": [{"role": "user", "content": "Is a golden retriever a good family dog?"}],
    },
    # OpenAI docs, "Function calling", a strict tool with an optional (nullable) field
    # (https://platform.openai.com/docs/guides/function-calling)
    "openai-docs-strict-nullable": {
        "model": "claude-sonnet-4-5",
        "messages": [{"role": "user", "content": "What is the weather like in Paris today?"}],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Retrieves current weather for the given location.",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "location": {"type": "string", "description": "City and country e.g. Bogotá, Colombia"},
                            "units": {
                                "type": ["string", "null"],
                                "enum": ["celsius", "fahrenheit"],
                                "description": "Units the temperature will be returned in.",
                            },
                        },
                        "required": ["location", "units"],
                        "additionalProperties": False,
                    },
                    "strict": True,
                },
            }
        ],
    },
    # openai-python tests/api_resources/chat/test_completions.py, test_method_create_with_all_params_overload_1:
    # every parameter at once (its placeholder values), model replaced
    "openai-python-all-params": {
        "messages": [{"content": "string", "role": "system", "name": "name"}],
        "model": "claude-sonnet-4-5",
        "audio": {"format": "wav", "voice": "alloy"},
        "frequency_penalty": -2,
        "function_call": "none",
        "functions": [{"name": "name", "description": "description", "parameters": {"foo": "bar"}}],
        "logit_bias": {"foo": 0},
        "logprobs": True,
        "max_completion_tokens": 0,
        "max_tokens": 0,
        "metadata": {"foo": "string"},
        "modalities": ["text", "audio"],
        "n": 1,
        "parallel_tool_calls": True,
        "prediction": {"content": "string", "type": "content"},
        "presence_penalty": -2,
        "response_format": {"type": "text"},
        "seed": -9007199254740991,
        "service_tier": "auto",
        "stop": "string",
        "store": True,
        "stream": False,
        "stream_options": {"include_usage": True},
        "temperature": 1,
        "tool_choice": "none",
        "tools": [
            {
                "function": {
                    "name": "name",
                    "description": "description",
                    "parameters": {"foo": "bar"},
                    "strict": True,
                },
                "type": "function",
            }
        ]
        * 3,
        "top_logprobs": 0,
        "top_p": 1,
        "user": "user-1234",
    },
}

# The requests protoshift refuses, and the paths it must name (all of them, in request order).
REFUSED: dict[str, list[str]] = {
    "cookbook-logprobs": ["logprobs", "top_logprobs"],
    "openai-docs-audio-out": ["modalities[1]", "audio"],
    # every problem of it at once: nothing to answer, audio, three tools and a function all named
    # "name", logprobs, two zero limits, audio output, stream_options without stream
    "openai-python-all-params": [
        "messages",
        "audio",
        "functions[0]",
        "logprobs",
        "max_completion_tokens",
        "max_tokens",
        "modalities[1]",
        "stream_options",
        "tools[1]",
        "tools[2]",
    ],
}
