"""OpenAI Responses on a chat-completions model (issue 20): Responses requests -> chat bodies, and chat
chunk streams -> Responses events, protoshift's side (LiteLLM's Responses bridge is to be added beside
it, in the same run, as benchmarks/reverse.py does for the Messages adapter: `SIDES`).

- requests: `responses_to_chat.request(request).body`, each call timed on its own on a fresh copy of its
  input; five kinds, a Codex turn among them (a 17 KB developer prompt, 12 tools with a namespace, a
  custom apply_patch with its grammar and web_search, a history with reasoning, calls and a patch);
- answers: `chat_to_responses.response(completion, ...)` for a completion with reasoning, text and calls;
- streams, each timed whole and divided by its chunk count and by the events it gives:
  (a) parsed chunks -> Responses event dicts: `chat_to_responses.Stream.feed`;
  (b) chat SSE bytes -> Responses SSE bytes: protoshift's decoder + the Stream + `encode_event`.
Run: `uv run python -m benchmarks.responses [--quick]`.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from protoshift.translator import chat_to_responses, responses_to_chat
from protoshift.translator.sse import JSONEventDecoder

from .timing import Stats, now_ns, time_each

Request = dict[str, Any]
Chunk = dict[str, Any]
MODEL = "qwen3-coder"

# ---- the corpus: Responses requests -------------------------------------------------------------------

_SCHEMA = {
    "type": "object",
    "properties": {"cmd": {"type": "string"}, "workdir": {"type": "string"}, "yield_time_ms": {"type": "number"}},
    "required": ["cmd"],
}
_GRAMMAR = (
    'start: begin_patch hunk+ end_patch\nbegin_patch: "*** Begin Patch" LF\nend_patch: "*** End Patch" LF?\n'
    'hunk: add_hunk | delete_hunk | update_hunk\nadd_hunk: "*** Add File: " filename LF add_line+\n'
    'delete_hunk: "*** Delete File: " filename LF\nupdate_hunk: "*** Update File: " filename LF change?\n'
    'filename: /(.+)/\nadd_line: "+" /(.*)/ LF\nchange: (change_context | change_line)+\n'
    'change_context: ("@@" | "@@ " /(.+)/) LF\nchange_line: ("+" | "-" | " ") /(.*)/ LF\n%import common.LF\n'
)
PATCH = (
    "*** Begin Patch\n*** Update File: src/app.py\n@@ def greet():\n"
    + ('-    print("hello")\n+    print("héllo, \\"wörld\\"\\t🎉")\n' * 40)
    + "*** End Patch\n"
)


def _function(name: str) -> dict[str, Any]:
    return {
        "type": "function",
        "name": name,
        "description": f"The {name} tool.",
        "strict": False,
        "parameters": _SCHEMA,
    }


def _codex_tools() -> list[dict[str, Any]]:
    return [
        *(
            _function(name)
            for name in ("exec_command", "write_stdin", "view_image", "list_mcp_resources", "update_plan")
        ),
        {
            "type": "namespace",
            "name": "multi_agent_v1",
            "description": "Spawn and coordinate sub-agents.",
            "tools": [_function(n) for n in ("spawn_agent", "send_input", "resume_agent", "wait", "close_agent")],
        },
        {"type": "web_search", "external_web_access": True},
        {
            "type": "custom",
            "name": "apply_patch",
            "description": "Edit files.",
            "format": {"type": "grammar", "syntax": "lark", "definition": _GRAMMAR},
        },
    ]


def _tool_rounds(rounds: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [{"role": "user", "content": "Fix the failing test in tests/test_app.py."}]
    for k in range(rounds):
        items.append({"type": "function_call", "call_id": f"call_{k}", "name": "exec_command",
                      "arguments": json.dumps({"cmd": f"sed -n 1,200p src/m{k}.py"})})  # fmt: skip
        items.append(
            {"type": "function_call_output", "call_id": f"call_{k}", "output": "def f():\n    return 1\n" * 20}
        )
    return items


def requests() -> dict[str, Request]:
    """Kinds of Responses request a client sends, Codex's among them."""
    base: Request = {"model": MODEL}
    turns = [
        {"role": "user" if k % 2 == 0 else "assistant", "content": f"Message number {k}, with some words in it."}
        for k in range(40)
    ]
    codex_input: list[dict[str, Any]] = [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "You are Codex. " * 1100}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<environment_context/>"}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Fix the greeting."}]},
    ]
    for k, item in enumerate(_tool_rounds(8)[1:]):
        codex_input.append(item)
        if k % 2 == 1:
            codex_input.append({"type": "reasoning", "id": f"rs_{k}", "summary": [{"type": "summary_text", "text": "Next step."}],
                                "encrypted_content": "gAAAAB" + "x" * 400})  # fmt: skip
    codex_input += [
        {"type": "custom_tool_call", "call_id": "call_patch", "name": "apply_patch", "input": PATCH},
        {"type": "custom_tool_call_output", "call_id": "call_patch", "output": "Success."},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Thanks, now run the tests."}]},
    ]
    codex: Request = {
        **base,
        "input": codex_input,
        "tools": _codex_tools(),
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "store": False,
        "stream": True,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "019a-session",
        "client_metadata": {"originator": "codex_cli_rs"},
    }
    return {
        "short": {**base, "input": "Hello, how are you?"},
        "instructions + params": {
            **base,
            "instructions": "Be brief.",
            "input": "Hi",
            "temperature": 0.3,
            "max_output_tokens": 1000,
            "text": {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}, "strict": True}},
        },
        "multi-turn 40": {**base, "input": [*turns, {"role": "user", "content": "And now?"}]},
        "tool loop 10 rounds": {**base, "tools": [_function("exec_command")], "input": _tool_rounds(10)},
        "Codex turn": codex,
    }


# ---- the corpus: chat chunk streams ----------------------------------------------------------------------


def _chunk(delta: dict[str, Any] | None, finish: str | None = None, usage: dict[str, int] | None = None) -> Chunk:
    body: Chunk = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": MODEL,
        "choices": [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    if usage is not None:
        body["usage"] = {**usage, "total_tokens": sum(usage.values())}
    return body


def _end(finish: str) -> list[Chunk]:
    return [_chunk({}, finish), _chunk(None, usage={"prompt_tokens": 1200, "completion_tokens": 300})]


def _call(index: int, **function: str) -> Chunk:
    entry: dict[str, Any] = {"index": index, "function": function}
    if "name" in function:
        entry |= {"id": f"call_{index}", "type": "function"}
    return _chunk({"tool_calls": [entry]})


def streams() -> dict[str, list[Chunk]]:
    words = [f" word{k}" for k in range(300)]
    text = [_chunk({"role": "assistant", "content": ""}), *(_chunk({"content": w}) for w in words), *_end("stop")]
    thinking = [_chunk({"role": "assistant", "content": None, "reasoning_content": ""})]
    thinking += [_chunk({"reasoning_content": w}) for w in words[:200]]
    thinking += [_chunk({"content": w}) for w in words[:50]] + _end("stop")
    parallel = [_chunk({"role": "assistant", "content": ""}), *(_chunk({"content": w}) for w in words[:20])]
    parallel += [_call(0, name="exec_command", arguments=""), _call(1, name="view_image", arguments="")]
    for k in range(20):  # interleaved: the second call's fragments are held while the first is open
        parallel += [
            _call(0, arguments='{"cmd": "echo ' if k == 0 else "x"),
            _call(1, arguments='{"cmd": "' if k == 0 else "y"),
        ]
    parallel += [_call(0, arguments='"}'), _call(1, arguments='"}'), *_end("tool_calls")]
    arguments = json.dumps({"input": PATCH})
    patch = [_chunk({"role": "assistant", "content": "Patching."}), _call(0, name="apply_patch", arguments="")]
    patch += [_call(0, arguments=arguments[k : k + 16]) for k in range(0, len(arguments), 16)] + _end("tool_calls")
    return {
        "text 300": text,
        "reasoning 200 + text 50": thinking,
        "text + 2 calls interleaved": parallel,
        f"apply_patch {len(patch)} chunks": patch,
    }


def sse_reads(chunks: list[Chunk]) -> list[bytes]:
    """The stream as a server sends it, one read per chunk, `[DONE]` last."""
    return [f"data: {json.dumps(c, separators=(',', ':'))}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]


# ---- protoshift ---------------------------------------------------------------------------------------------

_STREAM_REQUEST: Request = {"model": MODEL, "input": "x", "tools": _codex_tools(), "stream": True,
                            "include": ["reasoning.encrypted_content"]}  # fmt: skip
_TRANSLATION = responses_to_chat.request(_STREAM_REQUEST)


def _protoshift_request(request: Request) -> object:
    return responses_to_chat.request(request).body


def _protoshift_answer(completion: Chunk) -> object:
    return chat_to_responses.response(completion, request=_STREAM_REQUEST, tools=_TRANSLATION.tools)


def _protoshift_events(chunks: list[Chunk]) -> list[Any]:
    stream = chat_to_responses.Stream(request=_STREAM_REQUEST, tools=_TRANSLATION.tools)
    out: list[Any] = []
    for chunk in chunks:
        out += stream.feed(chunk)
    out += stream.close()
    return out


def _protoshift_bytes(reads: list[bytes]) -> list[bytes]:
    decoder = JSONEventDecoder()
    stream = chat_to_responses.Stream(request=_STREAM_REQUEST, tools=_TRANSLATION.tools)
    encode = chat_to_responses.encode_event
    out: list[bytes] = []
    for data in reads:
        for chunk in decoder.iter_feed(data):
            out += [encode(event) for event in stream.feed(chunk)]
    out += [encode(event) for event in stream.close()]
    return out


@dataclass(frozen=True)
class Side:
    """One implementation measured: its request translation, its answer, and its two stream paths."""

    request: Callable[[Request], object]
    answer: Callable[[Chunk], object]
    events: Callable[[list[Chunk]], list[Any]]
    bytes_path: Callable[[list[bytes]], list[bytes]]


SIDES: dict[str, Side] = {
    "protoshift": Side(_protoshift_request, _protoshift_answer, _protoshift_events, _protoshift_bytes),
}


def completion() -> Chunk:
    calls = [
        {"id": "call_0", "type": "function", "function": {"name": "exec_command", "arguments": '{"cmd": "ls"}'}},
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "apply_patch", "arguments": json.dumps({"input": PATCH})},
        },
    ]
    message = {
        "role": "assistant",
        "reasoning_content": "Think. " * 50,
        "content": "Doing it. " * 20,
        "tool_calls": calls,
    }
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": MODEL,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500},
    }


# ---- running ----------------------------------------------------------------------------------------------


@dataclass
class ResponsesResults:
    requests: dict[str, dict[str, Stats]] = field(default_factory=dict)  # side -> kind -> stats
    answers: dict[str, Stats] = field(default_factory=dict)  # side -> stats
    streams: dict[str, dict[str, dict[str, Stats]]] = field(default_factory=dict)  # mode -> side -> stream -> per chunk
    chunks: dict[str, int] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)  # the Responses events each stream gives


def _per_stream(fn: Callable[[Any], object], make: Callable[[], Any], n: int, reps: int, warmup: int) -> list[float]:
    inputs = [make() for _ in range(reps + warmup)]
    samples: list[float] = []
    for rep, item in enumerate(inputs):
        t0 = now_ns()
        fn(item)
        t1 = now_ns()
        if rep >= warmup:
            samples.append((t1 - t0) / n)
    return samples


def run(reps: int, warmup: int, sides: dict[str, Side] = SIDES) -> ResponsesResults:
    res = ResponsesResults()
    for side, impl in sides.items():
        res.requests[side] = {}
        for kind, request in requests().items():
            text = json.dumps(request)
            res.requests[side][kind] = Stats.of_ns(
                time_each(impl.request, [json.loads(text) for _ in range(reps + warmup)], warmup)
            )
        answer = json.dumps(completion())
        res.answers[side] = Stats.of_ns(
            time_each(impl.answer, [json.loads(answer) for _ in range(reps + warmup)], warmup)
        )
    corpus = streams()
    res.chunks = {name: len(chunks) for name, chunks in corpus.items()}
    res.events = {name: len(_protoshift_events(copy.deepcopy(chunks))) for name, chunks in corpus.items()}
    for mode in ("events", "bytes"):
        res.streams[mode] = {}
        for side, impl in sides.items():
            res.streams[mode][side] = {}
            for name, chunks in corpus.items():
                fn: Callable[[Any], object] = impl.events if mode == "events" else impl.bytes_path
                make: Callable[[], Any] = partial(copy.deepcopy if mode == "events" else sse_reads, chunks)
                samples = _per_stream(fn, make, len(chunks), max(reps // 4, 5), max(warmup // 4, 2))
                res.streams[mode][side][name] = Stats.of_ns(samples)
    return res


STREAM_TITLES = {
    "events": "(a) parsed chat chunks -> Responses event dicts",
    "bytes": "(b) chat SSE bytes -> Responses SSE bytes",
}


def text(res: ResponsesResults) -> str:
    from .report import _fmt, _table

    sides = list(res.requests)
    out = ["OpenAI Responses on a chat model (issue 20): microseconds, median and p90"]
    rows = [[kind, *[v for s in sides for v in (_fmt(res.requests[s][kind].median_us), _fmt(res.requests[s][kind].p90_us))]]
            for kind in res.requests[sides[0]]]  # fmt: skip
    headers = ["Responses request -> chat body", *[h for s in sides for h in (f"{s} med", "p90")]]
    out += [_table(headers, rows), ""]
    rows = [
        [
            "chat.completion -> response",
            *[v for s in sides for v in (_fmt(res.answers[s].median_us), _fmt(res.answers[s].p90_us))],
        ]
    ]
    out += [_table(["answer", *[h for s in sides for h in (f"{s} med", "p90")]], rows), ""]
    for mode, per_side in res.streams.items():
        headers = ["stream (chunks -> events)", *[h for s in sides for h in (f"{s} /chunk", "p90", "/event")]]
        rows = []
        for name, n in res.chunks.items():
            row = [f"{name} ({n} -> {res.events[name]})"]
            for side in sides:
                st = per_side[side][name]
                row += [_fmt(st.median_us, 2), _fmt(st.p90_us, 2), _fmt(st.median_us * n / res.events[name], 2)]
            rows.append(row)
        out += [STREAM_TITLES[mode], _table(headers, rows), ""]
    return "\n".join(out).rstrip()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    reps, warmup = (20, 5) if "--quick" in args else (200, 30)
    print(text(run(reps, warmup)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
