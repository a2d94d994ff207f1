"""Requests shaped like the ones Codex CLI 0.171 sends to `POST /v1/responses` (issue 20: captured
through a logging server), and helpers for the Responses tests."""

from __future__ import annotations

import copy
import json
from typing import Any

from protoshift.translator.responses_to_chat.carry import encode_reasoning

MODEL = "qwen3-coder"  # unknown to the model table: nothing is reshaped for a model

DEVELOPER_PROMPT = (
    "You are Codex, a coding agent running in a terminal. Follow the user's instructions; run commands"
    " with exec_command; edit files with apply_patch.\n" * 120
)  # Codex's is ~17 KB

PATCH_GRAMMAR = r"""start: begin_patch hunk+ end_patch
begin_patch: "*** Begin Patch" LF
end_patch: "*** End Patch" LF?
hunk: add_hunk | delete_hunk | update_hunk
add_hunk: "*** Add File: " filename LF add_line+
delete_hunk: "*** Delete File: " filename LF
update_hunk: "*** Update File: " filename LF change?
filename: /(.+)/
add_line: "+" /(.*)/ LF -> line
change: (change_context | change_line)+
change_context: ("@@" | "@@ " /(.+)/) LF
change_line: ("+" | "-" | " ") /(.*)/ LF
%import common.LF
"""

# A patch with everything a JSON string must escape, and what it must not touch.
HOSTILE_PATCH = (
    "*** Begin Patch\n"
    "*** Update File: src/app.py\n"
    "@@ def greet():\n"
    '-    print("hello")\n'
    '+    print("héllo, \\"wörld\\" \\\\ tab:\\t 🎉 \U0001f600 — \u2028 end")\n'
    "+    path = r'C:\\Users\\x'  # \u00e9\u0301 combining, \x7f del\n"
    "+\ttabbed\r\n"
    "*** End Patch\n"
)

_PARAMS_EXEC = {
    "type": "object",
    "properties": {
        "cmd": {"type": "string", "description": "The command to run."},
        "workdir": {"type": "string"},
        "yield_time_ms": {"type": "number"},
    },
    "required": ["cmd"],
    "additionalProperties": False,
}


def _function(name: str, description: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "name": name, "description": description, "strict": False, "parameters": parameters}


def codex_tools() -> list[dict[str, Any]]:
    agent = {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}
    return [
        _function("exec_command", "Runs a command in a PTY.", _PARAMS_EXEC),
        _function(
            "write_stdin",
            "Writes characters to an exec session's stdin.",
            {
                "type": "object",
                "properties": {"session_id": {"type": "number"}, "chars": {"type": "string"}},
                "required": ["session_id"],
            },
        ),
        _function(
            "view_image",
            "Attach a local image to the conversation.",
            {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
        ),
        {
            "type": "namespace",
            "name": "multi_agent_v1",
            "description": "Spawn and coordinate sub-agents.",
            "tools": [
                {
                    "type": "function",
                    "name": "spawn_agent",
                    "description": "Start a sub-agent.",
                    "strict": False,
                    "parameters": {"type": "object", "properties": {"message": {"type": "string"}}},
                },
                {"type": "function", "name": "send_input", "description": "Send input.", "parameters": agent},
                {"type": "function", "name": "resume_agent", "description": "Resume one.", "parameters": agent},
                {"type": "function", "name": "wait", "description": "Wait for agents.", "parameters": agent},
                {"type": "function", "name": "close_agent", "description": "Close one.", "parameters": agent},
            ],
        },
        {"type": "web_search", "external_web_access": True},
        {
            "type": "custom",
            "name": "apply_patch",
            "description": "Use the `apply_patch` tool to edit files. This is a FREEFORM tool.",
            "format": {"type": "grammar", "syntax": "lark", "definition": PATCH_GRAMMAR},
        },
    ]


def codex_input() -> list[dict[str, Any]]:
    """A conversation as Codex sends it back on its third turn (it keeps no server state: store false)."""
    return [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": DEVELOPER_PROMPT}]},
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "<environment_context>cwd: /repo</environment_context>"}],
        },
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Fix the greeting."}]},
        {
            "type": "reasoning",
            "id": "rs_openai",
            "summary": [{"type": "summary_text", "text": "Look at the file first."}],
            "encrypted_content": "gAAAAABopenai-opaque",
        },
        {
            "type": "function_call",
            "name": "exec_command",
            "arguments": json.dumps({"cmd": "cat src/app.py"}),
            "call_id": "call_exec_1",
        },
        {"type": "function_call_output", "call_id": "call_exec_1", "output": 'def greet():\n    print("hello")\n'},
        {
            "type": "reasoning",
            "id": "rs_ours",
            "summary": [{"type": "summary_text", "text": "Patch it."}],
            "encrypted_content": encode_reasoning("The print needs the accents. Patch it."),
        },
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Patching the file.", "annotations": []}],
        },
        {
            "type": "custom_tool_call",
            "call_id": "call_patch_1",
            "name": "apply_patch",
            "input": HOSTILE_PATCH,
            "status": "completed",
        },
        {"type": "custom_tool_call_output", "call_id": "call_patch_1", "output": "Success. Updated src/app.py"},
        {
            "type": "function_call",
            "name": "spawn_agent",
            "namespace": "multi_agent_v1",
            "arguments": json.dumps({"message": "run the tests"}),
            "call_id": "call_agent_1",
        },
        {"type": "function_call_output", "call_id": "call_agent_1", "output": [{"type": "input_text", "text": "ok"}]},
        {
            "type": "message",
            "role": "developer",
            "content": [{"type": "input_text", "text": "Approval policy is now never."}],
        },
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "And this screenshot?"},
                {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "auto"},
            ],
        },
    ]


def codex_request(**overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "model": MODEL,
        "instructions": None,
        "input": codex_input(),
        "tools": codex_tools(),
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "store": False,
        "stream": True,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "019a-session-thread",
        "client_metadata": {"originator": "codex_cli_rs"},
    }
    request.update(overrides)
    return copy.deepcopy(request)


def chunk(delta: dict[str, Any] | None = None, *, finish: str | None = None, **top: Any) -> dict[str, Any]:
    """One chat.completion.chunk with one choice."""
    choice: dict[str, Any] = {"index": 0, "delta": delta or {}, "finish_reason": finish}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": MODEL,
        "choices": [choice],
        **top,
    }


def call_chunk(
    index: int, *, call_id: str | None = None, name: str | None = None, arguments: str | None = None
) -> dict[str, Any]:
    function: dict[str, Any] = {}
    if name is not None:
        function["name"] = name
    if arguments is not None:
        function["arguments"] = arguments
    entry: dict[str, Any] = {"index": index, "function": function}
    if call_id is not None:
        entry["id"] = call_id
        entry["type"] = "function"
    return chunk({"tool_calls": [entry]})


def usage_chunk(prompt: int = 100, completion: int = 20, *, cached: int = 0, reasoning: int = 0) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if cached:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    if reasoning:
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": MODEL,
        "choices": [],
        "usage": usage,
    }


def split(text: str, size: int) -> list[str]:
    return [text[k : k + size] for k in range(0, len(text), size)] or [""]
