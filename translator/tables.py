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
    "web_search_options": "tools: Anthropic's web search server tool",
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
    "prompt_cache_options": "Anthropic caches at cache_control breakpoints (prompt_cache_breakpoint parts become them)",
}

# OpenAI request fields whose loss would change what the caller gets: refused (path, reason).
# Each entry is checked against a predicate in request.py (n=1 or logprobs=false are harmless).
REJECTED_FIELDS: dict[str, str] = {
    "n": "Anthropic returns one choice per request; send n separate requests",
    "logprobs": "Anthropic does not return log probabilities",
    "top_logprobs": "Anthropic does not return log probabilities",
    "audio": "Anthropic has no audio output",
    "modalities": "Anthropic produces text only",
    "moderation": "OpenAI's moderation has no Anthropic equivalent; moderate the input and output separately",
}

# Sampling parameters Anthropic has deprecated (its SDK 1.0 removed them from the request types). The
# API still takes them on models that support sampling; newer models answer 400. They are sent when
# the caller sets them, and the Anthropic backend resends without them when a model refuses them.
SAMPLING_FIELDS: tuple[str, ...] = ("temperature", "top_p", "top_k")

# Anthropic request fields a caller may pass on purpose; forwarded after a shape check.
ANTHROPIC_EXTRAS: frozenset[str] = frozenset({"top_k", "thinking", "cache_control"})

# reasoning_effort -> extended-thinking budget_tokens. Anthropic's minimum budget is 1024.
THINKING_BUDGETS: dict[str, int] = {
    "minimal": 1024,
    "low": 2048,
    "medium": 8192,
    "high": 16384,
    "xhigh": 32768,
    "max": 65536,
}
MIN_THINKING_BUDGET = 1024

# reasoning_effort -> output_config.effort for models that think adaptively. Anthropic has no "minimal".
EFFORTS: dict[str, str] = {
    "minimal": "low",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "xhigh": "xhigh",
    "max": "max",
}

# A caller's thinking budget -> the effort an adaptive-only model takes instead (upper bounds, in order).
EFFORT_FOR_BUDGET: tuple[tuple[int, str], ...] = (
    (THINKING_BUDGETS["low"], "low"),
    (THINKING_BUDGETS["medium"], "medium"),
    (THINKING_BUDGETS["high"], "high"),
    (THINKING_BUDGETS["xhigh"], "xhigh"),
)
LARGEST_EFFORT = "max"

# The fields each Anthropic `thinking` type takes (a caller's `thinking` is forwarded after this check).
THINKING_FIELDS: dict[str, frozenset[str]] = {
    "enabled": frozenset({"type", "budget_tokens", "display"}),
    "adaptive": frozenset({"type", "display"}),
    "disabled": frozenset({"type"}),
    "between_tools": frozenset({"type"}),
}

# Media types Anthropic accepts as base64 image sources.
IMAGE_MEDIA_TYPES: frozenset[str] = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})

# Instruction added to `system` for response_format json_object (Anthropic has no schema-less JSON mode).
JSON_OBJECT_INSTRUCTION = "Respond with a single valid JSON object and nothing else: no prose, no code fences."
# ... and for response_format json_schema on a model without structured outputs (the schema follows).
JSON_SCHEMA_INSTRUCTION = (
    "Respond with a single valid JSON object that matches this JSON schema and nothing else:"
    " no prose, no code fences.\n"
)

DEFAULT_MAX_TOKENS = 8192

# ---- the keys of every object of an OpenAI request ---------------------------------------------
# From the openai SDK's request TypedDicts (openai.types.chat), plus what OpenAI-compatible clients
# send on purpose (Anthropic's `cache_control`, LiteLLM's `thinking_blocks` / `reasoning_content`).
# A key not listed for its object is unknown: it gets a "dropped" note with its path, never a
# silent drop. A key listed here is handled by the code that reads that object.

MESSAGE_KEYS: dict[str, frozenset[str]] = {
    "system": frozenset({"role", "content", "name", "cache_control"}),
    "developer": frozenset({"role", "content", "name", "cache_control"}),
    "user": frozenset({"role", "content", "name", "cache_control"}),
    "assistant": frozenset(
        {
            "role",
            "content",
            "name",
            "refusal",
            "tool_calls",
            "function_call",
            "audio",
            "annotations",
            "thinking_blocks",
            "reasoning_content",
            "cache_control",
        }
    ),
    "tool": frozenset({"role", "content", "tool_call_id", "cache_control"}),
    "function": frozenset({"role", "content", "name"}),
}
_CACHE_KEYS = frozenset({"cache_control", "prompt_cache_breakpoint"})
PART_KEYS: dict[str, frozenset[str]] = {
    "text": frozenset({"type", "text"}) | _CACHE_KEYS,
    "image_url": frozenset({"type", "image_url"}) | _CACHE_KEYS,
    "file": frozenset({"type", "file"}) | _CACHE_KEYS,
    "refusal": frozenset({"type", "refusal"}),
}
IMAGE_URL_KEYS: frozenset[str] = frozenset({"url", "detail"})
FILE_KEYS: frozenset[str] = frozenset({"file_data", "file_id", "filename"})
TOOL_CALL_KEYS: frozenset[str] = frozenset({"id", "type", "function"})
CALL_FUNCTION_KEYS: frozenset[str] = frozenset({"name", "arguments"})  # also a legacy function_call
THINKING_BLOCK_KEYS: dict[str, frozenset[str]] = {
    "thinking": frozenset({"type", "thinking", "signature"}),
    "redacted_thinking": frozenset({"type", "data"}),
}
PROMPT_CACHE_BREAKPOINT_KEYS: frozenset[str] = frozenset({"mode"})

# Anthropic fields of a custom tool an OpenAI client may pass through, on the tool or inside
# `function`; GA fields of `anthropic.types.ToolParam`, so no beta header. Forwarded after a shape check.
TOOL_EXTRAS: frozenset[str] = frozenset({"defer_loading", "eager_input_streaming", "input_examples", "allowed_callers"})
ALLOWED_CALLERS: frozenset[str] = frozenset(
    {"direct", "code_execution_20250825", "code_execution_20260120", "code_execution_20260521"}
)
FUNCTION_TOOL_KEYS: frozenset[str] = frozenset({"type", "function", "cache_control"}) | TOOL_EXTRAS
FUNCTION_KEYS: frozenset[str] = (
    frozenset({"name", "description", "parameters", "strict", "cache_control"}) | TOOL_EXTRAS
)
LEGACY_FUNCTION_KEYS: frozenset[str] = frozenset({"name", "description", "parameters"})
NAMED_TOOL_CHOICE_KEYS: frozenset[str] = frozenset({"type", "function"})
NAMED_TOOL_CHOICE_FUNCTION_KEYS: frozenset[str] = frozenset({"name"})
RESPONSE_FORMAT_KEYS: dict[str, frozenset[str]] = {
    "text": frozenset({"type"}),
    "json_object": frozenset({"type"}),
    "json_schema": frozenset({"type", "json_schema"}),
}
JSON_SCHEMA_FORMAT_KEYS: frozenset[str] = frozenset({"name", "description", "schema", "strict"})
STREAM_OPTIONS_KEYS: frozenset[str] = frozenset({"include_usage", "include_obfuscation"})
WEB_SEARCH_OPTIONS_KEYS: frozenset[str] = frozenset({"search_context_size", "user_location"})
USER_LOCATION_KEYS: frozenset[str] = frozenset({"type", "approximate"})
APPROXIMATE_LOCATION_KEYS: frozenset[str] = frozenset({"city", "country", "region", "timezone"})

# ---- Anthropic server tools (and Anthropic-defined client tools) passed in `tools` ---------------
# type -> (the name it must carry, or None for toolsets that carry none; its keys; the anthropic-beta
# header it needs, or None). From `anthropic.types.ToolUnionParam` (GA) and `anthropic.types.beta`
# (the ones that need a header), anthropic 2.12.
_SERVER_COMMON = frozenset({"type", "name", "cache_control", "allowed_callers", "defer_loading", "strict"})
_CLIENT_COMMON = _SERVER_COMMON | {"input_examples"}
_WEB_SEARCH = _SERVER_COMMON | {"allowed_domains", "blocked_domains", "max_uses", "user_location"}
_WEB_FETCH = _SERVER_COMMON | {
    "allowed_domains", "blocked_domains", "citations", "max_content_tokens", "max_uses", "url_sources",
}  # fmt: skip
_COMPUTER = _CLIENT_COMMON | {"display_height_px", "display_width_px", "display_number"}
_TOOLSET = frozenset({"type", "cache_control", "configs"})
SERVER_TOOLS: dict[str, tuple[str | None, frozenset[str], str | None]] = {
    "web_search_20250305": ("web_search", _WEB_SEARCH, None),
    "web_search_20260209": ("web_search", _WEB_SEARCH, None),
    "web_search_20260318": ("web_search", _WEB_SEARCH | {"response_inclusion"}, None),
    "web_fetch_20250910": ("web_fetch", _WEB_FETCH, None),
    "web_fetch_20260209": ("web_fetch", _WEB_FETCH, None),
    "web_fetch_20260309": ("web_fetch", _WEB_FETCH | {"use_cache"}, None),
    "web_fetch_20260318": ("web_fetch", _WEB_FETCH | {"use_cache", "response_inclusion"}, None),
    "code_execution_20250522": ("code_execution", _SERVER_COMMON, None),
    "code_execution_20250825": ("code_execution", _SERVER_COMMON, None),
    "code_execution_20260120": ("code_execution", _SERVER_COMMON, None),
    "code_execution_20260521": ("code_execution", _SERVER_COMMON, None),
    "bash_20241022": ("bash", _CLIENT_COMMON, "computer-use-2024-10-22"),
    "bash_20250124": ("bash", _CLIENT_COMMON, None),
    "text_editor_20241022": ("str_replace_editor", _CLIENT_COMMON, "computer-use-2024-10-22"),
    "text_editor_20250124": ("str_replace_editor", _CLIENT_COMMON, None),
    "text_editor_20250429": ("str_replace_based_edit_tool", _CLIENT_COMMON, None),
    "text_editor_20250728": ("str_replace_based_edit_tool", _CLIENT_COMMON | {"max_characters"}, None),
    "computer_20241022": ("computer", _COMPUTER, "computer-use-2024-10-22"),
    "computer_20250124": ("computer", _COMPUTER, "computer-use-2025-01-24"),
    "computer_20251124": ("computer", _COMPUTER | {"enable_zoom"}, "computer-use-2025-11-24"),
    "computer_toolset_20260801": (None, _TOOLSET, None),
    "browser_toolset_20260801": (None, _TOOLSET, None),
    "memory_20250818": ("memory", _CLIENT_COMMON, None),
    "tool_search_tool_bm25_20251119": ("tool_search_tool_bm25", _SERVER_COMMON, None),
    "tool_search_tool_regex_20251119": ("tool_search_tool_regex", _SERVER_COMMON, None),
}

# OpenAI's web_search_options.search_context_size -> the web search tool's max_uses (LiteLLM's mapping).
SEARCH_CONTEXT_MAX_USES: dict[str, int] = {"low": 1, "medium": 5, "high": 10}
WEB_SEARCH_TOOL = "web_search_20250305"  # the version every web-search-capable model takes

# metadata.user_id: Anthropic wants an opaque id (a uuid or a hash), never personal data; at most 256 chars.
MAX_USER_ID = 256

# ==== the other direction: Anthropic Messages requests in, OpenAI-compatible models out ==========
# The facts `anthropic_to_openai.request`, `openai_to_anthropic.response` and `openai_to_anthropic.Stream`
# rest on. The stop-reason map above is read backwards here.

# OpenAI finish_reason -> Anthropic stop_reason: FINISH_REASONS read backwards, the first Anthropic
# reason listed for each finish reason winning (stop -> end_turn, length -> max_tokens); plus the
# functions-era `function_call`. Anything else (or none) -> DEFAULT_STOP_REASON.
STOP_REASONS: dict[str, str] = {
    **{finish: stop for stop, finish in reversed(FINISH_REASONS.items())},
    "function_call": "tool_use",
}
DEFAULT_STOP_REASON = "end_turn"

# Anthropic request fields that have an OpenAI equivalent -> where they go (shown by --explain).
ANTHROPIC_MAPPED_FIELDS: dict[str, str] = {
    "model": "model",
    "max_tokens": "max_tokens (max_completion_tokens for OpenAI's reasoning models)",
    "messages": "messages (tool results -> tool messages)",
    "system": "a system message first",
    "stop_sequences": "stop",
    "temperature": "temperature",
    "top_p": "top_p",
    "stream": "stream, with stream_options.include_usage",
    "metadata": "user (metadata.user_id)",
    "tools": "tools (function)",
    "tool_choice": "tool_choice (+ parallel_tool_calls)",
    "thinking": "reasoning_effort",
    "output_config": "response_format json_schema (format), reasoning_effort (effort)",
}

# Anthropic request fields with no OpenAI equivalent whose absence does not change what the caller
# gets back: dropped with a note (an error under strict=True).
ANTHROPIC_DROPPED_FIELDS: dict[str, str] = {
    "top_k": "OpenAI has no top_k",
    "cache_control": "OpenAI-compatible servers cache prompt prefixes on their own, without breakpoints",
    "service_tier": "Anthropic's service tiers do not map to OpenAI's",
    "inference_geo": "Anthropic's inference regions have no OpenAI equivalent",
    "speed": "Anthropic's speed setting has no OpenAI equivalent",
    "container": "Anthropic's code execution containers have no OpenAI equivalent",
    "diagnostics": "Anthropic's request diagnostics have no OpenAI equivalent",
    "context_management": "Anthropic's context editing has no OpenAI equivalent",
    "user_profile_id": "Anthropic user profiles have no OpenAI equivalent",
    "workspace_id": "Anthropic workspaces have no OpenAI equivalent",
}

# Anthropic request fields whose loss would change what the caller gets: refused (path, reason).
ANTHROPIC_REFUSED_FIELDS: dict[str, str] = {
    "mcp_servers": "Anthropic's MCP connector has no OpenAI equivalent; declare the MCP tools as client tools",
}

# The keys of every object of an Anthropic request, from the anthropic SDK's request TypedDicts
# (anthropic.types, anthropic 2.12). A key not listed for its object is unknown: a "dropped" note.
ANTHROPIC_MESSAGE_KEYS: frozenset[str] = frozenset({"role", "content"})
ANTHROPIC_BLOCK_KEYS: dict[str, frozenset[str]] = {
    "text": frozenset({"type", "text", "cache_control", "citations"}),
    "image": frozenset({"type", "source", "cache_control", "transformations"}),
    "document": frozenset({"type", "source", "cache_control", "citations", "context", "title"}),
    "search_result": frozenset({"type", "source", "title", "content", "cache_control", "citations"}),
    "thinking": frozenset({"type", "thinking", "signature"}),
    "redacted_thinking": frozenset({"type", "data"}),
    "tool_use": frozenset({"type", "id", "name", "input", "cache_control", "caller", "toolset_name"}),
    "tool_result": frozenset({"type", "tool_use_id", "content", "is_error", "cache_control", "toolset_name"}),
}
ANTHROPIC_SOURCE_KEYS: dict[str, frozenset[str]] = {
    "base64": frozenset({"type", "media_type", "data"}),
    "url": frozenset({"type", "url"}),
    "text": frozenset({"type", "media_type", "data"}),
    "content": frozenset({"type", "content"}),
    "file": frozenset({"type", "file_id"}),
}
ANTHROPIC_TOOL_KEYS: frozenset[str] = frozenset(
    {"type", "name", "description", "input_schema", "cache_control", "strict"} | TOOL_EXTRAS
)
ANTHROPIC_TOOL_CHOICE_KEYS: dict[str, frozenset[str]] = {
    "auto": frozenset({"type", "disable_parallel_tool_use"}),
    "any": frozenset({"type", "disable_parallel_tool_use"}),
    "tool": frozenset({"type", "name", "disable_parallel_tool_use"}),
    "none": frozenset({"type"}),
}
OUTPUT_CONFIG_KEYS: frozenset[str] = frozenset({"effort", "format"})
OUTPUT_FORMAT_KEYS: frozenset[str] = frozenset({"type", "schema"})
METADATA_KEYS: frozenset[str] = frozenset({"user_id"})
# Block types that only an Anthropic server tool produces (server tool calls and their results).
SERVER_TOOL_BLOCKS: frozenset[str] = frozenset(
    {
        "server_tool_use",
        "web_search_tool_result",
        "web_fetch_tool_result",
        "code_execution_tool_result",
        "bash_code_execution_tool_result",
        "text_editor_code_execution_tool_result",
        "tool_search_tool_result",
        "container_upload",
        "mcp_tool_use",
        "mcp_tool_result",
    }
)

# The reasoning_effort values OpenAI-compatible servers take (vLLM, Ollama and OpenAI all take these
# three), lowest first. A thinking budget goes to the one whose THINKING_BUDGETS entry is nearest
# (by ratio); an Anthropic effort above "high" is sent as "high".
OPENAI_REASONING_EFFORTS: tuple[str, ...] = ("low", "medium", "high")

# Models whose API refuses `max_tokens` and takes `max_completion_tokens` (OpenAI's reasoning models).
# Every other model gets `max_tokens`, the field every OpenAI-compatible server reads (Ollama and
# LM Studio read no other).
MAX_COMPLETION_TOKENS_MODELS: tuple[str, ...] = ("o1*", "o3*", "o4*", "gpt-5*")

# The name an OpenAI json_schema response format needs (Anthropic's output_config.format has none).
JSON_SCHEMA_NAME = "response"
# OpenAI file parts need a filename with file_data; a PDF document without a title gets this one.
DEFAULT_PDF_FILENAME = "document.pdf"

# ==== OpenAI Responses requests in, OpenAI-compatible chat models out ============================
# The facts `responses_to_chat.request` and `chat_to_responses` rest on. The keys of each object are
# those of the openai SDK's request TypedDicts (openai.types.responses, openai 2.54); a key not listed
# for its object is unknown: a "dropped" note with its path.

# Responses request fields and where they go (shown by --explain).
RESPONSES_MAPPED_FIELDS: dict[str, str] = {
    "model": "model",
    "input": "messages (system and developer messages -> the system message first)",
    "instructions": "the system message first",
    "max_output_tokens": "max_tokens (max_completion_tokens for OpenAI's reasoning models)",
    "temperature": "temperature",
    "top_p": "top_p",
    "tools": "tools (custom tools -> a function of one string argument; namespaces flattened)",
    "tool_choice": "tool_choice",
    "parallel_tool_calls": "parallel_tool_calls",
    "reasoning": "reasoning_effort",
    "text": "response_format (format), verbosity",
    "stream": "stream, with stream_options.include_usage",
    "stream_options": "consumed: a Responses stream always ends with usage",
    "safety_identifier": "user (hashed when it looks personal or is longer than 64)",
    "user": "user (hashed when it looks personal or is longer than 64)",
    "prompt_cache_key": "prompt_cache_key",
    "prompt_cache_retention": "prompt_cache_retention",
    "prompt_cache_options": "prompt_cache_options",
    "service_tier": "service_tier",
    "moderation": "moderation",
    "store": "kept for the gateway (whether it stores the response); not sent",
    "metadata": "kept: echoed on the response; not sent",
    "previous_response_id": "kept: the stored conversation (history) is sent before the input",
    "include": "reasoning.encrypted_content: reasoning items carry what the next turn needs",
    "truncation": "disabled: an input past the context window fails, as it does upstream",
    "background": "false: nothing to send",
    "top_logprobs": "0: nothing to send",
}

# Fields with no chat equivalent whose absence does not change what the caller gets back.
RESPONSES_DROPPED_FIELDS: dict[str, str] = {
    "client_metadata": "client metadata is for OpenAI's servers; a chat upstream has no place for it",
    "context_management": "OpenAI's server-side compaction has no chat equivalent",
    "max_tool_calls": "it limits built-in tool calls, and a chat upstream runs none",
}

# Fields whose loss would change what the caller gets: refused (each with a predicate in body.py).
RESPONSES_REFUSED_FIELDS: dict[str, str] = {
    "background": "background responses need OpenAI's servers; send the request in the foreground",
    "conversation": "OpenAI's stored conversations are not reachable from a chat upstream; send previous_response_id or the items",
    "prompt": "prompt templates are stored at OpenAI; send the prompt's text as instructions and input",
    "top_logprobs": "log probabilities are not carried back from a chat upstream",
}

# The models that take `verbosity` (text.verbosity): OpenAI's GPT-5 family. Elsewhere it is dropped.
VERBOSITY_MODELS: tuple[str, ...] = ("gpt-5*",)

# `include` values: what each asks for and what becomes of it on a chat upstream.
RESPONSES_INCLUDE_KEPT: frozenset[str] = frozenset({"reasoning.encrypted_content"})
RESPONSES_INCLUDE_REFUSED: dict[str, str] = {
    "message.output_text.logprobs": "log probabilities are not carried back from a chat upstream",
}
RESPONSES_INCLUDE_DROPPED = "nothing of this kind is made on a chat upstream"

# user / safety_identifier: an opaque id of at most this many characters (OpenAI's limit), else hashed.
MAX_CHAT_USER = 64
# The first system block Claude Code sends: its version and a hash of the prompt (changing with it).
BILLING_HEADER = "x-anthropic-billing-header:"

# Input items: the keys of each type.
_ITEM_COMMON = frozenset({"type", "id", "status"})
RESPONSES_ITEM_KEYS: dict[str, frozenset[str]] = {
    "message": _ITEM_COMMON | {"role", "content", "phase"},
    "function_call": _ITEM_COMMON | {"call_id", "name", "arguments", "namespace", "caller"},
    "function_call_output": _ITEM_COMMON | {"call_id", "output", "name", "namespace", "caller"},
    "custom_tool_call": _ITEM_COMMON | {"call_id", "name", "input", "namespace", "caller"},
    "custom_tool_call_output": _ITEM_COMMON | {"call_id", "output", "caller"},
    "reasoning": _ITEM_COMMON | {"summary", "content", "encrypted_content"},
    "item_reference": frozenset({"type", "id"}),
}
# Items a chat upstream cannot be given: the record of a hosted tool's work, whose loss changes little
# (a web search's findings are in the answer that followed): dropped with a note.
RESPONSES_DROPPED_ITEMS: dict[str, str] = {
    "web_search_call": "a web search the provider ran: its findings are in the answer that followed",
    "tool_search_call": "a tool search: a chat upstream has no deferred tools to find",
    "tool_search_output": "the tools a tool search found: a chat upstream has no deferred tools",
}
# Content parts, by type: the keys of each.
_CACHE_BREAKPOINT = frozenset({"prompt_cache_breakpoint"})
RESPONSES_PART_KEYS: dict[str, frozenset[str]] = {
    "input_text": frozenset({"type", "text"}) | _CACHE_BREAKPOINT,
    "input_image": frozenset({"type", "image_url", "file_id", "detail"}) | _CACHE_BREAKPOINT,
    "input_file": frozenset({"type", "file_data", "file_id", "file_url", "filename", "detail"}) | _CACHE_BREAKPOINT,
    "output_text": frozenset({"type", "text", "annotations", "logprobs"}),
    "refusal": frozenset({"type", "refusal"}),
    "summary_text": frozenset({"type", "text"}),
    "reasoning_text": frozenset({"type", "text"}),
}
CHAT_IMAGE_DETAILS: frozenset[str] = frozenset({"auto", "low", "high"})

# Tools: the keys of each type Responses->chat translates.
_TOOL_COMMON = frozenset({"type", "name", "description", "defer_loading", "allowed_callers"})
RESPONSES_TOOL_KEYS: dict[str, frozenset[str]] = {
    "function": _TOOL_COMMON | {"parameters", "strict", "output_schema"},
    "custom": _TOOL_COMMON | {"format"},
    "namespace": frozenset({"type", "name", "description", "tools"}),
}
CUSTOM_FORMAT_KEYS: dict[str, frozenset[str]] = {
    "text": frozenset({"type"}),
    "grammar": frozenset({"type", "syntax", "definition"}),
}
# Web search tools (OpenAI runs them): dropped or refused on a chat upstream, as the caller's policy says;
# carried as `web_search_options` where the chat leg has a search of its own (Claude's, on the way to it).
WEB_SEARCH_TOOLS: frozenset[str] = frozenset(
    {"web_search", "web_search_2025_08_26", "web_search_preview", "web_search_preview_2025_03_11"}
)
# Their keys (web_search and web_search_preview's, and Codex's `external_web_access`, which the API takes).
WEB_SEARCH_TOOL_KEYS: frozenset[str] = frozenset(
    {"type", "filters", "search_context_size", "user_location", "external_web_access", "search_content_types"}
)
WEB_SEARCH_FILTER_KEYS: frozenset[str] = frozenset({"allowed_domains"})
RESPONSES_LOCATION_KEYS: frozenset[str] = frozenset({"type", "city", "country", "region", "timezone"})
# The `include` value that asks for the sources of each web search (`action.sources`).
WEB_SEARCH_SOURCES = "web_search_call.action.sources"
# The other tools OpenAI runs (or whose calls have a shape of their own): refused unless the policy drops them.
HOSTED_TOOLS: frozenset[str] = frozenset(
    {
        "file_search", "computer", "computer_use", "computer_use_preview", "code_interpreter",
        "image_generation", "mcp", "local_shell", "shell", "apply_patch", "programmatic_tool_calling",
    }
)  # fmt: skip
# Tool search (Codex sends it, executed by the client, on every request): it finds deferred tools (MCP
# tools) and makes them callable in the next call; a chat upstream has no deferred tools. Dropped or
# refused, as the caller's `tool_search` policy says ("drop" by default: the tools sent up front stay).
TOOL_SEARCH_TOOLS: frozenset[str] = frozenset({"tool_search"})
# A custom (freeform) tool becomes a chat function taking this one string argument.
CUSTOM_TOOL_ARGUMENT = "input"
# A grammar given in a custom tool's description is cut past this many characters.
MAX_GRAMMAR_CHARS = 4000
# tool_choice objects: their keys.
RESPONSES_TOOL_CHOICE_KEYS: dict[str, frozenset[str]] = {
    "function": frozenset({"type", "name"}),
    "custom": frozenset({"type", "name"}),
    "allowed_tools": frozenset({"type", "mode", "tools"}),
}
RESPONSES_TEXT_KEYS: frozenset[str] = frozenset({"format", "verbosity"})
RESPONSES_FORMAT_KEYS: dict[str, frozenset[str]] = {
    "text": frozenset({"type"}),
    "json_object": frozenset({"type"}),
    "json_schema": frozenset({"type", "name", "schema", "description", "strict"}),
}
RESPONSES_REASONING_KEYS: frozenset[str] = frozenset({"effort", "summary", "generate_summary", "context", "mode"})
# Responses reasoning efforts, lowest first ("none": do not reason).
RESPONSES_EFFORTS: tuple[str, ...] = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
RESPONSES_STREAM_OPTIONS_KEYS: frozenset[str] = frozenset({"include_obfuscation"})
PROMPT_CACHE_OPTIONS_KEYS: frozenset[str] = frozenset({"mode", "ttl"})
SERVICE_TIERS: frozenset[str] = frozenset({"auto", "default", "flex", "scale", "priority", "fast"})

# ---- chat answers -> Responses ---------------------------------------------------------------------
# chat finish_reason -> the reason a Responses answer is incomplete; any other reason: completed.
INCOMPLETE_REASONS: dict[str, str] = {"length": "max_output_tokens", "content_filter": "content_filter"}

# The `error.code` of a failed response, from what the upstream's error says (first match wins, on
# the lowered type, code and message). Codex acts on context_length_exceeded (it compacts),
# insufficient_quota (it stops) and rate_limit_exceeded ("try again in Ns" sets its retry delay).
FAILURE_WORDS: tuple[tuple[str, str], ...] = (
    ("context_length", "context_length_exceeded"),
    ("context window", "context_length_exceeded"),
    ("maximum context", "context_length_exceeded"),
    ("prompt is too long", "context_length_exceeded"),
    ("too many tokens", "context_length_exceeded"),
    ("insufficient_quota", "insufficient_quota"),
    ("quota", "insufficient_quota"),
    ("billing", "insufficient_quota"),
    ("credit", "insufficient_quota"),
    ("rate_limit", "rate_limit_exceeded"),
    ("rate limit", "rate_limit_exceeded"),
    ("invalid_request", "invalid_prompt"),
    ("invalid_prompt", "invalid_prompt"),
)
FAILURE_STATUSES: dict[int, str] = {
    400: "invalid_prompt",
    402: "insufficient_quota",
    413: "context_length_exceeded",
    429: "rate_limit_exceeded",
}
DEFAULT_FAILURE_CODE = "server_error"
