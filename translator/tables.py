"""The facts translation rests on, each in one table."""

from __future__ import annotations

# Anthropic stop_reason -> OpenAI finish_reason. Anything not listed (pause_turn, new reasons) -> "stop".
FINISH_REASONS: dict[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "pause_turn": "stop",
}
DEFAULT_FINISH_REASON = "stop"

# OpenAI request fields that have an Anthropic equivalent -> where they go (shown by --explain).
MAPPED_FIELDS: dict[str, str] = {
    "model": "model",
    "messages": "system + messages",
    "max_tokens": "max_tokens",
    "max_completion_tokens": "max_tokens",
    "stop": "stop_sequences",
    "temperature": "temperature",
    "top_p": "top_p",
    "user": "metadata.user_id",
    "safety_identifier": "metadata.user_id",
    "stream": "stream",
    "stream_options": "consumed: include_usage adds a final usage chunk",
    "reasoning_effort": "thinking.budget_tokens",
    "response_format": "output_config.format",
    "tools": "tools",
    "functions": "tools",
    "tool_choice": "tool_choice",
    "function_call": "tool_choice",
    "parallel_tool_calls": "tool_choice.disable_parallel_tool_use",
    "n": "one choice (n=1)",
    "logprobs": "nothing to send (logprobs=false)",
    "top_logprobs": "nothing to send (top_logprobs=0)",
    "modalities": "text output",
}

# OpenAI request fields with no Anthropic equivalent whose absence does not change what the caller
# gets back: dropped with a note (an error under strict=True).
DROPPED_FIELDS: dict[str, str] = {
    "seed": "Anthropic has no sampling seed",
    "presence_penalty": "Anthropic has no presence penalty",
    "frequency_penalty": "Anthropic has no frequency penalty",
    "logit_bias": "Anthropic has no logit bias",
    "store": "OpenAI's stored completions have no Anthropic equivalent",
    "metadata": "OpenAI's stored-completion metadata has no Anthropic equivalent",
    "service_tier": "OpenAI service tiers do not map to Anthropic's",
    "prediction": "predicted outputs have no Anthropic equivalent",
    "prompt_cache_key": "Anthropic caches by cache_control breakpoints, not by key",
    "prompt_cache_retention": "Anthropic caches by cache_control breakpoints, not by key",
    "verbosity": "Anthropic has no verbosity setting",
}

# OpenAI request fields whose loss would change what the caller gets: refused (path, reason).
# Each entry is checked against a predicate in request.py (n=1 or logprobs=false are harmless).
REJECTED_FIELDS: dict[str, str] = {
    "n": "Anthropic returns one choice per request; send n separate requests",
    "logprobs": "Anthropic does not return log probabilities",
    "top_logprobs": "Anthropic does not return log probabilities",
    "audio": "Anthropic has no audio output",
    "modalities": "Anthropic produces text only",
    "web_search_options": "OpenAI's built-in web search is not available; give Claude a web_search tool instead",
}

# Sampling parameters Anthropic has deprecated (its SDK 1.0 removed them from the request types). The
# API still takes them on models that support sampling; newer models answer 400. They are sent when
# the caller sets them, and the Anthropic backend resends without them when a model refuses them.
SAMPLING_FIELDS: tuple[str, ...] = ("temperature", "top_p", "top_k")

# Anthropic request fields a caller may pass on purpose; forwarded as they are.
ANTHROPIC_EXTRAS: frozenset[str] = frozenset({"top_k", "thinking", "cache_control"})

# reasoning_effort -> extended-thinking budget_tokens. Anthropic's minimum budget is 1024.
THINKING_BUDGETS: dict[str, int] = {
    "minimal": 1024,
    "low": 2048,
    "medium": 8192,
    "high": 16384,
    "xhigh": 32768,
}
MIN_THINKING_BUDGET = 1024

# The fields each Anthropic `thinking` type takes (a caller's `thinking` is forwarded after this check).
THINKING_FIELDS: dict[str, frozenset[str]] = {
    "enabled": frozenset({"type", "budget_tokens", "display"}),
    "adaptive": frozenset({"type", "display"}),
    "disabled": frozenset({"type"}),
}

# Media types Anthropic accepts as base64 image sources.
IMAGE_MEDIA_TYPES: frozenset[str] = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})

# Instruction added to `system` for response_format json_object (Anthropic has no schema-less JSON mode).
JSON_OBJECT_INSTRUCTION = "Respond with a single valid JSON object and nothing else: no prose, no code fences."

DEFAULT_MAX_TOKENS = 8192
