"""Hostile inputs: valid requests, responses, events and chunks with something wrong put at any path.

What can be wrong (`HOSTILE`): text with a lone surrogate, NaN and the infinities, integers of 95 to 6,000
digits, nesting from 150 to 3,000 levels, and any value of the wrong type (or of the right type and a
surprising value). `mutated(seeds)` takes one seed, deep-copied, and does one to three things to it at
paths drawn from all of its paths: replace the value, delete the key, rename the key, insert into an array.
`json_text(value)` is the JSON text a program would send (NaN written as `NaN`, surrogates as `\\ud800`),
and `mangled_text` cuts or flips bytes of it.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

from benchmarks.corpus import requests as corpus_requests
from benchmarks.corpus import streams as corpus_streams

Path = tuple[str | int, ...]

# ---- what can be wrong ------------------------------------------------------------------------------

SURROGATE = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
SURROGATE_TEXT = st.builds(lambda a, s, b: a + s + b, st.text(max_size=6), SURROGATE, st.text(max_size=6))
NON_FINITE = st.sampled_from([float("nan"), float("inf"), float("-inf")])
HUGE_INT = st.builds(lambda digits, sign: sign * 10**digits, st.integers(95, 6000), st.sampled_from([1, -1]))


def nested(depth: int, kind: str) -> Any:
    value: Any = None
    for _ in range(depth):
        value = [value] if kind == "list" else {"x": value}
    return value


DEEP = st.builds(nested, st.integers(150, 3000), st.sampled_from(["list", "dict"]))
_SURPRISING = [
    "", " ", "text", "tool_use", "thinking", "error", "message_stop", "function", "user", "assistant",
    "auto", "none", "{", "[DONE]", "data: x", "\x00", "😀", 0, -1, 1.5, 2**63, True, False, None,
    [], [None], [0], {}, {"type": None}, {"type": []}, [[]], {"index": [0]},
]  # fmt: skip
# A fresh copy each time: a later change to what was drawn must not reach the constant.
SURPRISES = st.sampled_from(_SURPRISING).map(copy.deepcopy)
PLAIN: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
HOSTILE: st.SearchStrategy[Any] = st.one_of(SURROGATE_TEXT, NON_FINITE, HUGE_INT, DEEP, SURPRISES, PLAIN)
HOSTILE_KEY = st.one_of(SURROGATE_TEXT, st.sampled_from(["type", "index", "content", "", "role", "text"]))

# ---- valid seeds --------------------------------------------------------------------------------------

_BIG = ("long_multiturn_200", "long_multiturn_40", "long_single_text", "images_large_multi", "unicode_text")

# fmt: off
EXTRA_REQUESTS: list[dict[str, Any]] = [
    {
        "model": "m",
        "messages": [{"role": "user", "content": "think"}],
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "max_tokens": 4096,
        "top_k": 5,
        "metadata": {"user_id": "u"},
    },
    {
        "model": "m",
        "messages": [
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": None,
                "function_call": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            },
            {"role": "function", "name": "get_weather", "content": "sunny"},
        ],
        "functions": [
            {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
        ],
        "function_call": "auto",
    },
    {
        "model": "m",
        "stream": True,
        "stream_options": {"include_usage": True},
        "stop": ["END", "STOP"],
        "response_format": {"type": "json_object"},
        "cache_control": {"type": "ephemeral"},
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "read", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
                    {
                        "type": "file",
                        "file": {"file_data": "data:application/pdf;base64,JVBERi0xLjQK", "filename": "a.pdf"},
                    },
                ],
            }
        ],
    },
    {
        "model": "m",
        "messages": [
            {"role": "user", "content": "again"},
            {
                "role": "assistant",
                "content": "ok",
                "thinking_blocks": [
                    {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                    {"type": "redacted_thinking", "data": "abc"},
                ],
            },
            {"role": "user", "content": "and?"},
        ],
        "reasoning_effort": "low",
        "tools": [{"type": "function", "function": {"name": "f", "strict": True}}],
        "tool_choice": {"type": "function", "function": {"name": "f"}},
        "parallel_tool_calls": False,
    },
]


# fmt: on


def request_seeds() -> list[dict[str, Any]]:
    return [r for name, r in corpus_requests().items() if name not in _BIG] + EXTRA_REQUESTS


MESSAGE_SEEDS: list[dict[str, Any]] = [
    {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-test",
     "content": [{"type": "text", "text": "Hello"}, {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": [1, {"b": "c"}]}}],
     "stop_reason": "tool_use", "stop_sequence": None,
     "usage": {"input_tokens": 5, "output_tokens": 7, "cache_read_input_tokens": 2, "cache_creation_input_tokens": None}},
    {"id": "msg_02", "type": "message", "role": "assistant", "model": "claude-test",
     "content": [{"type": "thinking", "thinking": "let me see", "signature": "sig"}, {"type": "redacted_thinking", "data": "xyz"},
                 {"type": "server_tool_use", "id": "srv_1", "name": "web_search", "input": {"query": "q"}},
                 {"type": "text", "text": "No."}],
     "stop_reason": "refusal", "stop_details": {"explanation": "cannot"},
     "usage": {"input_tokens": 1, "output_tokens": 2, "output_tokens_details": {"thinking_tokens": 1}}},
]  # fmt: skip


def _event(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, **fields}


EXTRA_STREAM: list[dict[str, Any]] = [
    _event("message_start", message={**MESSAGE_SEEDS[1], "content": [], "stop_reason": None}),
    _event("ping"),
    _event("content_block_start", index=0, content_block={"type": "redacted_thinking", "data": "xyz"}),
    _event("content_block_stop", index=0),
    _event("content_block_start", index=1, content_block={"type": "tool_use", "id": "t", "name": "f", "input": {}}),
    _event("content_block_delta", index=1, delta={"type": "input_json_delta", "partial_json": '{"a": 1}'}),
    _event("content_block_stop", index=1),
    _event(
        "message_delta",
        delta={"stop_reason": "refusal", "stop_details": {"explanation": "no"}},
        usage={"output_tokens": 3},
    ),
    _event("message_stop"),
]


def stream_seeds() -> list[list[dict[str, Any]]]:
    return [*corpus_streams().values(), EXTRA_STREAM]


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-test",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}], **extra}  # fmt: skip


CHUNK_SEEDS: list[list[dict[str, Any]]] = [
    [
        _chunk({"role": "assistant", "content": ""}),
        _chunk({"content": "Hel"}),
        _chunk({"reasoning_content": "hmm"}),
        _chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a": 1}'}}]}),
        _chunk({}, "tool_calls"),
        {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-test", "choices": [],
         "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}},
    ]
]  # fmt: skip
COMPLETION_SEEDS: list[dict[str, Any]] = [
    {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-test",
     "choices": [{"index": 0, "finish_reason": "tool_calls", "logprobs": None,
                  "message": {"role": "assistant", "content": "ok", "refusal": None,
                              "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}],
     "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}},
]  # fmt: skip

# ---- mutations --------------------------------------------------------------------------------------


def paths(value: Any, max_depth: int = 40) -> Iterator[Path]:
    """Every path in `value`, in document order (not into nesting a mutation made deep already)."""
    stack: list[tuple[Any, Path]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        yield path
        if len(path) >= max_depth:
            continue
        if isinstance(node, dict):
            stack.extend(reversed([(child, (*path, key)) for key, child in node.items()]))
        elif isinstance(node, list):
            stack.extend(reversed([(child, (*path, index)) for index, child in enumerate(node)]))


def _parent(root: Any, path: Path) -> Any:
    node = root
    for step in path[:-1]:
        node = node[step]
    return node


@st.composite
def mutated(draw: st.DrawFn, seeds: list[Any]) -> Any:
    """A seed with one to three hostile changes at paths drawn from all of its paths."""
    root = copy.deepcopy(draw(st.sampled_from(seeds)))  # a seed is shared: the copy is what changes
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(list(paths(root))))
        if not where:
            root = draw(HOSTILE)
            continue
        parent, last = _parent(root, where), where[-1]
        operation = draw(st.sampled_from(["replace", "replace", "replace", "delete", "rename", "insert"]))
        if operation == "delete":
            del parent[last]
        elif operation == "rename" and isinstance(parent, dict):
            parent[draw(HOSTILE_KEY)] = parent.pop(last)
        elif operation == "insert" and isinstance(parent, list):
            parent.insert(int(last), draw(HOSTILE))
        else:
            parent[last] = draw(HOSTILE)
    return root


def mutated_sequence(seeds: list[list[Any]]) -> st.SearchStrategy[list[Any]]:
    """A sequence (of events, of chunks) with hostile changes in its items or in the sequence itself."""
    return mutated([[*seed] for seed in seeds]).map(lambda value: value if isinstance(value, list) else [value])


# ---- as text on the wire ------------------------------------------------------------------------------


def json_text(value: Any) -> str:
    """JSON text as a careless program writes it: NaN as `NaN`, lone surrogates as `\\ud800` escapes, huge
    integers in full, nesting as deep as it goes."""
    limit = sys.getrecursionlimit()
    digits = sys.get_int_max_str_digits()
    sys.setrecursionlimit(max(limit, 20_000))
    sys.set_int_max_str_digits(0)
    try:
        return json.dumps(value)
    finally:
        sys.setrecursionlimit(limit)
        sys.set_int_max_str_digits(digits)


@st.composite
def mangled_text(draw: st.DrawFn, text: str) -> bytes:
    """`text` as bytes (a lone surrogate left in it as the invalid UTF-8 a careless encoder writes),
    sometimes cut short, sometimes with a byte flipped."""
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 4)) == 0 and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    if draw(st.integers(0, 4)) == 0 and data:
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    return data


def sse_text(events: list[Any]) -> str:
    """An SSE stream of `events`, each as `event:` and `data:` lines."""
    out = []
    for event in events:
        kind = event.get("type") if isinstance(event, dict) else None
        head = f"event: {kind}\n" if isinstance(kind, str) and "\n" not in kind and "\r" not in kind else ""
        out.append(f"{head}data: {json_text(event)}\n\n")
    return "".join(out)
