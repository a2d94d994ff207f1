"""OpenAI Responses clients on a chat-completions model and on Claude (issue 20): protoshift side by side with
LiteLLM's Responses bridge (what `litellm.responses()` and its proxy's `/v1/responses` run for a model with no
Responses API of its own), in the same run, on the same inputs.

Two upstreams: a chat model (OpenAI-compatible Chat Completions) and Claude (Anthropic Messages). For each:
- request: a Responses request -> the upstream body, each call timed on its own on a fresh copy of its input;
  five kinds, a Codex turn among them (a 17 KB developer prompt, 12 tools with a namespace, a custom
  apply_patch with its grammar and web_search, a history with reasoning, calls and a patch), and the Codex
  turn again with a tool list new on every call (protoshift keeps a tool list's translation for the next
  request sending the same list, as an agent does every turn: this row is a session's first turn).
  protoshift: chat `responses_to_chat.request(request).body`; Claude the `ResponsesToMessages` bridge's
  `request(...).body` (translator/bridges.py: through chat, then `openai_to_anthropic`), what serve runs.
  LiteLLM (benchmarks/responses_litellm.py says exactly what each covers): `litellm` = the bridge
  (Responses -> completion() kwargs; for Claude chained with `AnthropicConfig`'s transformation), and
  `litellm +completion` = the bridge, then what `completion()` runs before the HTTP call (-> the body sent).
- answer: the upstream's whole answer -> the Responses `response` (a chat.completion with reasoning, text and
  two calls; the same as an Anthropic message: thinking, text, two tool_use), (a) parsed dict -> response
  object, (b) JSON bytes -> JSON bytes.
- streams, each timed whole and divided by its upstream events (chunks / Anthropic events), the unit both
  sides get: four streams per upstream (300 text deltas; 200 reasoning + 50 text; text and two calls (on chat,
  interleaved); an apply_patch streamed in 16-character fragments) -> Responses events:
  (a) parsed chunks/events -> Responses events; (b) SSE bytes -> Responses SSE bytes (protoshift: its
  decoder, the translator, `encode_event`); (c) LiteLLM only: what `litellm.responses(stream=True)` iterates
  (its `CustomStreamWrapper` in between). `/event` divides by the Responses events each side emits.
Targets (issue 20): at least 10x less CPU than LiteLLM per request and per stream event; each verdict takes
the worst kind/stream against the smaller LiteLLM baseline (`litellm`; (a) and (b) for streams). These are the
translation steps alone, in-process: a stricter diagnostic than the issue's reading, whose "its /v1/responses"
is a request through LiteLLM's proxy beside one through `protoshift serve` (HTTP, the client, the gateway's
whole path): that is measured by `python -m benchmarks.serve --only-litellm-responses` (benchmarks/
responses_e2e.py).

Each call is timed by two clocks: the process's CPU time (every thread; what the tables show and the verdicts
read: on a shared machine another process's work does not land on it) and perf_counter_ns (wall, as the other
in-process benchmarks; its verdicts printed too, its tables with `--wall`).

Run: `uv run --group bench python -m benchmarks.responses [--quick] [--no-litellm] [--check] [--wall]` (also in
`python -m benchmarks`). `--check` sends each request through `litellm.responses()` to a server on
127.0.0.1 and compares the body it gets with the LiteLLM chains measured here.
"""

from __future__ import annotations

import copy
import gc
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from protoshift.translator import chat_to_responses, responses_to_chat
from protoshift.translator.bridges import BRIDGES, Outbound, Shaping
from protoshift.translator.sse import JSONEventDecoder
from protoshift.translator.wire import MESSAGES, RESPONSES

from . import corpus as anthropic_corpus
from . import responses_litellm as lite
from .timing import Stats, now_ns, ratio

Request = dict[str, Any]
Chunk = dict[str, Any]
MODEL = "qwen3-coder"  # the chat upstream's model
CLAUDE = anthropic_corpus.MODEL
TARGET_RATIO = 10.0
UPSTREAMS = {"chat": "a chat model (Chat Completions)", "anthropic": "Claude (Anthropic Messages)"}

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
        NEW_TOOLS: codex,  # each copy's tool list its own (_fresh_requests): nothing kept from an earlier call
    }


# The Codex turn, each call's tools differing from every other call's (a description numbered): what a first
# turn costs, before protoshift has a tool list's translation to reuse (responses_to_chat/tools.py keeps the
# last lists it translated, keyed by their JSON; a session sends the same list every turn).
NEW_TOOLS = "Codex turn, new tools"


def _fresh_requests(kind: str, request: Request, count: int) -> list[Request]:
    copies = _fresh(json.dumps(request), count)
    if kind == NEW_TOOLS:
        for n, one in enumerate(copies):
            one["tools"][0]["description"] = f"The exec_command tool ({n})."
    return copies


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


# ---- the corpus: the same answers and streams from Claude --------------------------------------------------


def anthropic_streams() -> dict[str, list[Chunk]]:
    """The chat streams' counterparts as Anthropic events (Claude's calls come one after the other)."""
    c = anthropic_corpus
    text = [c._message_start("msg_text"), *c._text_block(0, 300), *c._end("end_turn", 300)]
    thinking = [c._message_start("msg_think"), *c._thinking_block(0, 200), *c._text_block(1, 50)]
    thinking += c._end("end_turn", 250)
    calls = [c._message_start("msg_calls"), *c._text_block(0, 20)]
    calls += c._tool_block(1, "toolu_0", "exec_command", {"cmd": "echo " + "x" * 19}, 4)
    calls += c._tool_block(2, "toolu_1", "view_image", {"cmd": "y" * 19}, 4) + c._end("tool_use", 60)
    patch = [c._message_start("msg_patch"), *c._text_block(0, 1)]
    patch += c._tool_block(1, "toolu_patch", "apply_patch", {"input": PATCH}, 16) + c._end("tool_use", 900)
    return {
        "text 300": text,
        "thinking 200 + text 50": thinking,
        "text + 2 calls": calls,
        f"apply_patch {len(patch)} events": patch,
    }


def message() -> Chunk:
    """completion()'s counterpart from Claude: signed thinking, text, two tool_use blocks."""
    return {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": CLAUDE,
        "content": [
            {"type": "thinking", "thinking": "Think. " * 50, "signature": "EqQBCgIYAhIM" * 8},
            {"type": "text", "text": "Doing it. " * 20},
            {"type": "tool_use", "id": "toolu_0", "name": "exec_command", "input": {"cmd": "ls"}},
            {"type": "tool_use", "id": "toolu_1", "name": "apply_patch", "input": {"input": PATCH}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 1200, "output_tokens": 300},
    }


def _for_claude(request: Request) -> Request:
    return {**request, "model": CLAUDE}


def answers() -> dict[str, Chunk]:
    return {"chat": completion(), "anthropic": message()}


def corpus_streams() -> dict[str, dict[str, list[Chunk]]]:
    return {"chat": streams(), "anthropic": anthropic_streams()}


def stream_reads(upstream: str, events: list[Chunk]) -> list[bytes]:
    """The stream as its upstream sends it, one read per chunk/event."""
    return sse_reads(events) if upstream == "chat" else anthropic_corpus.sse_reads(events)


# ---- protoshift ---------------------------------------------------------------------------------------------

_STREAM_REQUEST: Request = {"model": MODEL, "input": "x", "tools": _codex_tools(), "stream": True,
                            "include": ["reasoning.encrypted_content"]}  # fmt: skip
_TRANSLATION = responses_to_chat.request(_STREAM_REQUEST)
_CLAUDE_BRIDGE = BRIDGES[(RESPONSES, MESSAGES)]  # ResponsesToMessages: what serve runs for a Claude backend
_SHAPING = Shaping()


def _claude_outbound() -> Outbound:
    return _CLAUDE_BRIDGE.request(_for_claude(_STREAM_REQUEST), stream=True, shaping=_SHAPING)


_CLAUDE_OUTBOUND = _claude_outbound()
_from_json, _to_json = chat_to_responses.stream._json()


def _chat_request(request: Request) -> object:
    return responses_to_chat.request(request).body


def _claude_request(request: Request) -> object:
    return _CLAUDE_BRIDGE.request(request, stream=bool(request.get("stream")), shaping=_SHAPING).body


def _chat_answer(completion: Chunk) -> object:
    return chat_to_responses.response(completion, request=_STREAM_REQUEST, tools=_TRANSLATION.tools)


def _claude_answer(answer: Chunk) -> object:
    return _CLAUDE_BRIDGE.response(answer, _CLAUDE_OUTBOUND)


def _bytes_of(answer: Callable[[Chunk], object], data: bytes) -> bytes:
    """The gateway's way: pydantic-core's JSON in and out."""
    return _to_json(answer(_from_json(data)))


def _chat_stream() -> chat_to_responses.Stream:
    return chat_to_responses.Stream(request=_STREAM_REQUEST, tools=_TRANSLATION.tools)


def _events(new: Callable[[], Any], chunks: list[Chunk]) -> list[Any]:
    stream = new()
    out: list[Any] = []
    for chunk in chunks:
        out += stream.feed(chunk)
    out += stream.close()
    return out


def _sse_bytes(new: Callable[[], Any], reads: list[bytes]) -> list[bytes]:
    decoder = JSONEventDecoder()
    stream = new()
    encode = chat_to_responses.encode_event
    out: list[bytes] = []
    for data in reads:
        for chunk in decoder.iter_feed(data):
            out += [encode(event) for event in stream.feed(chunk)]
    for chunk in decoder.close():
        out += [encode(event) for event in stream.feed(chunk)]
    out += [encode(event) for event in stream.close()]
    return out


# A step: the timed function, and what builds its input from the corpus item (not timed).
Step = tuple[Callable[[Any], Any], Callable[[Any], Any]]


@dataclass(frozen=True)
class Side:
    """One implementation on one upstream: its request translation, its answer (mode -> step: "dict",
    "bytes") and its stream paths (mode -> step: "events", "bytes", "wrapped"); a side may have only some."""

    request: Callable[[Request], object] | None = None
    answer: dict[str, Step] = field(default_factory=dict)
    stream: dict[str, Step] = field(default_factory=dict)


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def _protoshift(upstream: str) -> Side:
    chat = upstream == "chat"
    answer = _chat_answer if chat else _claude_answer
    new: Callable[[], Any] = _chat_stream if chat else partial(_CLAUDE_BRIDGE.stream, _CLAUDE_OUTBOUND)
    return Side(
        request=_chat_request if chat else _claude_request,
        answer={"dict": (answer, copy.deepcopy), "bytes": (partial(_bytes_of, answer), _dumps)},
        stream={
            "events": (partial(_events, new), copy.deepcopy),
            "bytes": (partial(_sse_bytes, new), partial(stream_reads, upstream)),
        },
    )


SIDES: dict[str, dict[str, Side]] = {upstream: {"protoshift": _protoshift(upstream)} for upstream in UPSTREAMS}


# ---- LiteLLM's Responses bridge (benchmarks/responses_litellm.py) -------------------------------------------

LITELLM_UPSTREAMS = {"chat": lite.Upstream("openai", MODEL), "anthropic": lite.Upstream("anthropic", CLAUDE)}
# What each LiteLLM side's request figure covers, per upstream.
REQUEST_LABELS = {
    "chat": {"litellm": "bridge: Responses -> completion() kwargs",
             "litellm +completion": "bridge + completion() up to the HTTP call -> body"},
    "anthropic": {"litellm": "bridge + AnthropicConfig transform -> body",
                  "litellm +completion": "bridge + completion() up to the HTTP call -> body"},
}  # fmt: skip


def _litellm_request(upstream: str, request: Request) -> object:
    kwargs = lite.bridge_kwargs(request, LITELLM_UPSTREAMS[upstream])
    return kwargs if upstream == "chat" else lite.anthropic_transform(kwargs)


def _litellm_completion(upstream: str, request: Request) -> object:
    up = LITELLM_UPSTREAMS[upstream]
    return lite.completion_path(lite.bridge_kwargs(request, up), up.provider)


def _litellm_reads(upstream: str, bridge: lite.Bridge, events: list[Chunk]) -> lite.Prepared:
    return lite.prepare_reads(bridge, stream_reads(upstream, events))


def _litellm_side(upstream: str) -> Side:
    chat = upstream == "chat"
    bridge = lite.make_bridge(_STREAM_REQUEST if chat else _for_claude(_STREAM_REQUEST), LITELLM_UPSTREAMS[upstream])
    answer = partial(lite.chat_answer if chat else lite.anthropic_answer, bridge)
    events: Step = (
        (partial(lite.chat_events, bridge), partial(lite.prepare_chat_objects, bridge))
        if chat
        else (partial(lite.anthropic_events, bridge), partial(lite.prepare_dicts, bridge))
    )
    wrapped: Step = (
        (partial(lite.chat_wrapped, bridge), partial(lite.prepare_sdk_chunks, bridge))
        if chat
        else (partial(lite.anthropic_wrapped, bridge), partial(lite.prepare_dicts, bridge))
    )
    sse = partial(lite.chat_bytes if chat else lite.anthropic_bytes, bridge)
    return Side(
        request=partial(_litellm_request, upstream),
        answer={"dict": (answer, copy.deepcopy), "bytes": (partial(lite.answer_bytes, answer), _dumps)},
        stream={"events": events, "bytes": (sse, partial(_litellm_reads, upstream, bridge)), "wrapped": wrapped},
    )


def litellm_sides() -> dict[str, dict[str, Side]]:
    """LiteLLM's bridge on both upstreams (LiteLLM must be importable: `lite.load()` first)."""
    return {
        upstream: {
            "litellm": _litellm_side(upstream),
            "litellm +completion": Side(request=partial(_litellm_completion, upstream)),
        }
        for upstream in LITELLM_UPSTREAMS
    }


# ---- running ----------------------------------------------------------------------------------------------


@dataclass
class ResponsesResults:
    """The figures of one clock: `process CPU` (the process's CPU time, every thread: what the work costs,
    whatever else the machine runs; the verdicts read these) or `wall` (perf_counter_ns, as the other
    in-process benchmarks); `wall` holds the same samples' wall-clock twin."""

    clock: str = "process CPU"
    requests: dict[str, dict[str, dict[str, Stats]]] = field(default_factory=dict)  # upstream -> side -> kind
    answers: dict[str, dict[str, dict[str, Stats]]] = field(default_factory=dict)  # upstream -> mode -> side
    # upstream -> mode -> side -> stream -> per upstream event
    streams: dict[str, dict[str, dict[str, dict[str, Stats]]]] = field(default_factory=dict)
    inputs: dict[str, dict[str, int]] = field(default_factory=dict)  # upstream -> stream -> chunks/events in
    outputs: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # upstream -> side -> stream -> out
    litellm: str = ""
    wall: ResponsesResults | None = None


cpu_ns = time.process_time_ns  # every thread of the process: LiteLLM's helper threads count against it


def _timed(fn: Callable[[Any], object], inputs: list[Any], warmup: int, per: int = 1) -> tuple[Stats, Stats]:
    """Each input given to `fn` once, each call timed on its own by both clocks (the pair of reads costs
    about 0.3 µs, in every figure); the first `warmup` calls not kept; each sample divided by `per`.
    gc stays enabled (collections are part of the cost); `gc.collect()` first keeps earlier garbage out.
    (process CPU, wall) stats."""
    gc.collect()
    wall: list[float] = []
    cpu: list[float] = []
    for i, item in enumerate(inputs):
        c0 = cpu_ns()
        t0 = now_ns()
        fn(item)
        t1 = now_ns()
        c1 = cpu_ns()
        if i >= warmup:
            wall.append((t1 - t0) / per)
            cpu.append((c1 - c0) / per)
    return Stats.of_ns(cpu), Stats.of_ns(wall)


def _fresh(text: str, count: int) -> list[Any]:
    return [json.loads(text) for _ in range(count)]


def _clocks(res: ResponsesResults) -> tuple[ResponsesResults, ResponsesResults]:
    assert res.wall is not None
    return res, res.wall


def _requests(res: ResponsesResults, upstream: str, per_side: dict[str, Side], reps: int, warmup: int) -> None:
    kinds = {k: (r if upstream == "chat" else _for_claude(r)) for k, r in requests().items()}
    cpu, wall = _clocks(res)
    cpu.requests[upstream], wall.requests[upstream] = {}, {}
    for side, impl in per_side.items():
        if impl.request is None:
            continue
        cpu.requests[upstream][side], wall.requests[upstream][side] = {}, {}
        for kind, request in kinds.items():
            pair = _timed(impl.request, _fresh_requests(kind, request, reps + warmup), warmup)
            cpu.requests[upstream][side][kind], wall.requests[upstream][side][kind] = pair


def _answers(res: ResponsesResults, upstream: str, per_side: dict[str, Side], reps: int, warmup: int) -> None:
    answer = answers()[upstream]
    for one in _clocks(res):
        one.answers[upstream] = {"dict": {}, "bytes": {}}
    for mode in ("dict", "bytes"):
        for side, impl in per_side.items():
            if mode in impl.answer:
                fn, make = impl.answer[mode]
                inputs = [make(copy.deepcopy(answer)) for _ in range(reps + warmup)]
                pair = _timed(fn, inputs, warmup)
                for one, stats in zip(_clocks(res), pair, strict=True):
                    one.answers[upstream][mode][side] = stats


def _streams(
    res: ResponsesResults, upstream: str, per_side: dict[str, Side], modes: tuple[str, ...], reps: int, warmup: int
) -> None:
    corpus = corpus_streams()[upstream]
    for one in _clocks(res):
        one.inputs[upstream] = {name: len(events) for name, events in corpus.items()}
    for mode in modes:
        for side, impl in per_side.items():
            if mode not in impl.stream:
                continue
            fn, make = impl.stream[mode]
            if mode == "events":
                counts = {n: len(fn(make(e))) for n, e in corpus.items()}
                for one in _clocks(res):
                    one.outputs.setdefault(upstream, {})[side] = counts
            for name, events in corpus.items():
                pair = _timed(fn, [make(events) for _ in range(reps + warmup)], warmup, per=len(events))
                for one, stats in zip(_clocks(res), pair, strict=True):
                    one.streams.setdefault(upstream, {}).setdefault(mode, {}).setdefault(side, {})[name] = stats


def run(
    reps: int, warmup: int, sides: dict[str, dict[str, Side]] = SIDES, *, wrapped_reps: int = 0, litellm: str = ""
) -> ResponsesResults:
    """Every figure, each side on the same inputs; LiteLLM's wrapped streams (`wrapped_reps` > 0) last of all:
    the logging work it may leave behind must not land on the other figures."""
    res = ResponsesResults(litellm=litellm, wall=ResponsesResults(clock="wall", litellm=litellm))
    for upstream, per_side in sides.items():
        _requests(res, upstream, per_side, reps, warmup)
        _answers(res, upstream, per_side, reps, warmup)
        _streams(res, upstream, per_side, ("events", "bytes"), max(reps // 4, 5), max(warmup // 4, 2))
    if wrapped_reps > 0:
        for upstream, per_side in sides.items():
            _streams(res, upstream, per_side, ("wrapped",), wrapped_reps, 1)
    return res


# ---- the report ---------------------------------------------------------------------------------------------

STREAM_TITLES = {
    "events": "(a) parsed chunks/events -> Responses events",
    "bytes": "(b) SSE bytes -> Responses SSE bytes",
    "wrapped": "(c) LiteLLM's whole stream path (CustomStreamWrapper + bridge), what litellm.responses(stream=True) yields",
}
BODY = {"chat": "chat body", "anthropic": "Anthropic body"}
UNIT = {"chat": "chunk", "anthropic": "event"}


def _worst(pairs: list[tuple[str, float | None]]) -> tuple[str, float] | None:
    known = [(name, x) for name, x in pairs if x is not None]
    return min(known, key=lambda p: p[1]) if known else None


def verdicts(res: ResponsesResults) -> dict[str, dict[str, tuple[str, float]]]:
    """target -> upstream -> (where the ratio is worst, LiteLLM / protoshift there), against `litellm`."""
    out: dict[str, dict[str, tuple[str, float]]] = {"request": {}, "answer": {}, "stream event": {}}
    for upstream in res.requests:
        req = res.requests[upstream]
        if "litellm" in req:
            worst = _worst([(k, ratio(req["litellm"][k], st)) for k, st in req["protoshift"].items()])
            if worst:
                out["request"][upstream] = worst
        ans = res.answers[upstream]
        worst = _worst([(m, ratio(ans[m].get("litellm"), ans[m].get("protoshift"))) for m in ans])
        if worst:
            out["answer"][upstream] = worst
        pairs = []
        for mode in ("events", "bytes"):
            per_side = res.streams[upstream].get(mode, {})
            if "litellm" in per_side:
                pairs += [
                    (f"{mode} {n}", ratio(per_side["litellm"][n], st)) for n, st in per_side["protoshift"].items()
                ]
        worst = _worst(pairs)
        if worst:
            out["stream event"][upstream] = worst
    return {target: per for target, per in out.items() if per}


def _cells(st: Stats | None, digits: int = 1) -> list[str]:
    from .report import _fmt

    return [_fmt(st.median_us if st else None, digits), _fmt(st.p90_us if st else None, digits)]


def _requests_text(res: ResponsesResults, upstream: str) -> list[str]:
    from .report import _table, _x

    per_side = res.requests[upstream]
    sides = list(per_side)
    others = [s for s in sides if s != "protoshift"]
    headers = [f"Responses request -> {BODY[upstream]}", *[h for s in sides for h in (f"{s} med", "p90")]]
    headers += [f"x {s}" for s in others]
    rows = []
    for kind, st in per_side["protoshift"].items():
        row = [kind, *[c for s in sides for c in _cells(per_side[s][kind])]]
        rows.append(row + [_x(ratio(per_side[s][kind], st)) for s in others])
    out = [f"Upstream: {UPSTREAMS[upstream]}: request, microseconds per call (median, p90)", _table(headers, rows)]
    return out + [f"  {s}: {REQUEST_LABELS[upstream][s]}" for s in others if s in REQUEST_LABELS[upstream]]


def _answers_text(res: ResponsesResults) -> list[str]:
    from .report import _table, _x

    sides = list(dict.fromkeys(s for up in res.answers.values() for mode in up.values() for s in mode))
    headers = ["answer -> Responses response", *[h for s in sides for h in (f"{s} med", "p90")]]
    headers += ["x"] if len(sides) > 1 else []
    rows = []
    for upstream, modes in res.answers.items():
        for mode, per_side in modes.items():
            what = "parsed dict -> object" if mode == "dict" else "JSON bytes -> JSON bytes"
            row = [
                f"{UPSTREAMS[upstream].split(' (')[0]}: {what}",
                *[c for s in sides for c in _cells(per_side.get(s))],
            ]
            if len(sides) > 1:
                row.append(_x(ratio(per_side.get(sides[1]), per_side.get("protoshift"))))
            rows.append(row)
    return ["Answers: the upstream's whole answer -> the Responses `response`, microseconds", _table(headers, rows)]


def _streams_text(res: ResponsesResults, upstream: str) -> list[str]:
    from .report import _fmt, _table, _x

    out: list[str] = []
    unit = UNIT[upstream]
    for mode, per_side in res.streams[upstream].items():
        sides = list(per_side)
        wrapped = mode == "wrapped"
        headers = [f"stream ({unit}s in -> events out: {'/'.join(res.outputs[upstream])})"]
        headers += [h for s in sides for h in (f"{s} /{unit}", "p90", "/event")]
        headers += ["x vs protoshift (a)", "x vs (b)"] if wrapped else (["x"] if len(sides) > 1 else [])
        rows = []
        for name, n in res.inputs[upstream].items():
            outs = "/".join(str(res.outputs[upstream][s][name]) for s in res.outputs[upstream])
            row = [f"{name} ({n} -> {outs})"]
            for s in sides:
                st, emitted = per_side[s][name], res.outputs[upstream].get(s, {}).get(name)
                row += [*_cells(st, 2), _fmt(st.median_us * n / emitted if emitted else None, 2)]
            if wrapped:
                row += [_x(ratio(per_side["litellm"][name], res.streams[upstream][m]["protoshift"][name]))
                        for m in ("events", "bytes")]  # fmt: skip
            elif len(sides) > 1:
                row.append(_x(ratio(per_side[sides[1]][name], per_side["protoshift"][name])))
            rows.append(row)
        title = f"{STREAM_TITLES[mode]}; microseconds per upstream {unit} (/event: per Responses event the side emits)"
        out += [title, _table(headers, rows), ""]
    return out


def _verdict_lines(res: ResponsesResults) -> list[str]:
    from .report import _verdict

    out: list[str] = []
    worst_all: list[float] = []
    for target, per in verdicts(res).items():
        parts = []
        for upstream, (where, x) in per.items():
            parts.append(f"{upstream} worst {x:.2f}x ({where}) {_verdict(x >= TARGET_RATIO)}")
            worst_all.append(x)
        step = " (the translation step alone)" if target == "request" else ""
        out.append(f"  {res.clock}: target >= 10x per {target}{step} (vs `litellm`): " + "; ".join(parts))
    if worst_all:
        ok = min(worst_all) >= TARGET_RATIO
        out.append(
            f"  {res.clock}: issue 20, CPU per request and per stream event >= 10x lower, in-process (translation"
            f" alone, a stricter diagnostic): {_verdict(ok)} (worst {min(worst_all):.2f}x); end to end through each"
            " gateway's /v1/responses: `python -m benchmarks.serve --only-litellm-responses`"
        )
    return out


def text(res: ResponsesResults, *, wall_tables: bool = False) -> str:
    """The tables of `res`'s clock (with `wall_tables`, of its wall-clock twin as well), then the verdicts
    of both clocks."""
    against = f"LiteLLM {res.litellm}'s Responses bridge" if res.litellm else "LiteLLM not run"
    out: list[str] = []
    for one in [res, *([res.wall] if wall_tables and res.wall else [])]:
        out.append(
            f"OpenAI Responses clients (issue 20): protoshift, {against}; same inputs, same run;"
            f" {one.clock} time, microseconds"
        )
        for upstream in one.requests:
            out += [*_requests_text(one, upstream), ""]
        out += [*_answers_text(one), ""]
        for upstream in one.streams:
            out += [f"Upstream: {UPSTREAMS[upstream]}: streams", *_streams_text(one, upstream)]
    out += _verdict_lines(res)
    if res.wall is not None:
        out += _verdict_lines(res.wall)
    return "\n".join(out).rstrip()


# ---- checking LiteLLM's chains against litellm.responses() --------------------------------------------------


# Keys of the body LiteLLM builds that its HTTP layer takes out before sending: the openai SDK sends no
# `extra_body: {}` or `stream: false`; its Anthropic handler pops `json_mode`.
_TAKEN_OUT = ("extra_body", "stream", "json_mode")


def check() -> list[str]:
    """Each request through `litellm.responses()` to a server on 127.0.0.1 that records the body it gets, next
    to what the chains measured here give (`litellm +completion`; for Claude also `litellm`): one line per
    request and upstream, the keys that differ named (bar `_TAKEN_OUT`)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import litellm

    got: list[Any] = []
    replies = {"chat": _dumps(completion()), "anthropic": _dumps(message())}

    class Recorder(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            got.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            upstream = "chat" if "chat" in self.path else "anthropic"
            stream = bool(got[-1].get("stream"))
            body = (
                b"".join(stream_reads(upstream, corpus_streams()[upstream]["text 300"]))
                if stream
                else replies[upstream]
            )
            self.send_response(200)
            self.send_header("content-type", "text/event-stream" if stream else "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    names = {"chat": f"openai/chat_completions/{MODEL}", "anthropic": f"anthropic/{CLAUDE}"}
    lines = []
    try:
        for kind, request in requests().items():
            if kind == NEW_TOOLS:  # the Codex turn's body again
                continue
            for upstream, name in names.items():
                req = request if upstream == "chat" else _for_claude(request)
                answer: Any = litellm.responses(model=name, api_base=base, api_key="bench", drop_params=True,
                                           **{k: v for k, v in copy.deepcopy(req).items() if k != "model"})  # fmt: skip
                if req.get("stream"):
                    list(answer)
                sent = json.loads(json.dumps(got[-1]))
                chains = {"litellm +completion": _litellm_completion(upstream, copy.deepcopy(req))}
                if upstream == "anthropic":
                    chains["litellm"] = _litellm_request(upstream, copy.deepcopy(req))
                for side, body in chains.items():
                    mine = {k: v for k, v in json.loads(json.dumps(body)).items() if k in sent or k not in _TAKEN_OUT}
                    differ = sorted(k for k in set(sent) | set(mine) if sent.get(k) != mine.get(k))
                    lines.append(f"  {kind:<22} {upstream:<9} {side:<20} "
                                 + ("same body" if not differ else "differ: " + ", ".join(differ)))  # fmt: skip
    finally:
        server.shutdown()
    return lines


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    quick = "--quick" in args
    reps, warmup, wrapped_reps = (20, 5, 2) if quick else (200, 30, 8)
    sides = dict(SIDES)
    version = ""
    loaded = "skipped (--no-litellm)" if "--no-litellm" in args else lite.load()
    if isinstance(loaded, str):
        print(f"LiteLLM: {loaded}")
    else:
        version = lite.version()
        print(f"LiteLLM {version} (import took {loaded:.1f} s)")
        if "--check" in args:
            print("LiteLLM's chains (what is measured) against the body litellm.responses() sends:")
            print("\n".join(check()))
            time.sleep(1.0)  # what LiteLLM's calls left to its logging threads, done before anything is timed
        sides = {upstream: {**per, **litellm_sides()[upstream]} for upstream, per in SIDES.items()}
    res = run(reps, warmup, sides, wrapped_reps=0 if isinstance(loaded, str) else wrapped_reps, litellm=version)
    print(text(res, wall_tables="--wall" in args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
