"""The other direction (issue 14): Anthropic Messages requests -> OpenAI bodies, and OpenAI chunk streams ->
Anthropic events, side by side with LiteLLM's `/v1/messages` adapter (litellm.llms.anthropic.pass_through.
adapters: `AnthropicAdapter.translate_completion_input_params`, `AnthropicStreamWrapper`), in the same run.

- requests: `anthropic_to_openai.request(request).body` vs `AnthropicAdapter().translate_completion_input_params`
  (what LiteLLM's proxy runs on a /v1/messages request before calling an OpenAI-compatible model); each
  call timed on its own, a fresh copy of the input each time (LiteLLM pops fields from it).
- streams, per OpenAI chunk (each stream timed whole, divided by its chunk count, on both sides):
  (a) parsed chunks -> Anthropic event dicts: `openai_to_anthropic.Stream.feed` vs `AnthropicStreamWrapper` over
      LiteLLM's `ModelResponseStream` objects built beforehand (their construction is not counted: a
      favour to LiteLLM, whose real path also parses each chunk into one);
  (b) OpenAI SSE bytes -> Anthropic SSE bytes: protoshift's decoder + translator + `openai_to_anthropic.encode_event`;
      LiteLLM: httpx's line decoder, json.loads, `ModelResponseStream(**chunk)`, and the wrapper's own
      `anthropic_sse_wrapper()` (what its proxy writes).
Run: `uv run --group bench python -m benchmarks.reverse [--quick]` (or in `python -m benchmarks`).
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from protoshift.translator import anthropic_to_openai, openai_to_anthropic
from protoshift.translator.sse import JSONEventDecoder

from .timing import Stats, now_ns, ratio, time_each

Request = dict[str, Any]
Chunk = dict[str, Any]
TARGET_RATIO = 10.0
MODEL = "qwen3-coder"

# ---- the corpus: Anthropic requests -------------------------------------------------------------------

_SCHEMA = {
    "type": "object",
    "properties": {"path": {"type": "string"}, "limit": {"type": "integer"}},
    "required": ["path"],
}
_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def _tools(n: int) -> list[dict[str, Any]]:
    return [
        {"name": f"tool_{k}", "description": f"Does thing number {k} with a file.", "input_schema": _SCHEMA}
        for k in range(n)
    ]


def _tool_rounds(rounds: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Fix the failing test in tests/test_app.py."}]
    for k in range(rounds):
        messages.append(
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": f"Step {k}: reading the file."},
                    {
                        "type": "tool_use",
                        "id": f"toolu_{k:02d}",
                        "name": "tool_1",
                        "input": {"path": f"src/m{k}.py", "limit": 200},
                    },
                ],
            }
        )
        messages.append(
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": f"toolu_{k:02d}",
                        "content": [{"type": "text", "text": "def f():\n    return 1\n" * 20}],
                    },
                ],
            }
        )
    return messages


def requests() -> dict[str, Request]:
    """Kinds of Anthropic request a client sends, Claude Code's among them."""
    base = {"model": MODEL, "max_tokens": 4096}
    turns = [
        {"role": "user" if k % 2 == 0 else "assistant", "content": f"Message number {k}, with some words in it."}
        for k in range(40)
    ]
    claude_code = {
        **base,
        "max_tokens": 32000,
        "stream": True,
        "system": [
            {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
            {"type": "text", "text": "Instructions... " * 400, "cache_control": {"type": "ephemeral"}},
        ],
        "tools": _tools(15),
        "messages": _tool_rounds(10),
        "metadata": {"user_id": "user_0123456789abcdef_account__session_00000000-0000-0000-0000-000000000000"},
        "temperature": 1,
    }
    return {
        "short chat": {**base, "messages": [{"role": "user", "content": "Hello, how are you?"}]},
        "system + params": {
            **base,
            "system": "Be brief.",
            "temperature": 0.3,
            "top_p": 0.9,
            "stop_sequences": ["END"],
            "messages": [{"role": "user", "content": "Hi"}],
        },
        "multi-turn 40": {**base, "messages": [*turns, {"role": "user", "content": "And now?"}]},
        "tools + choice": {
            **base,
            "tools": _tools(5),
            "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
            "messages": [{"role": "user", "content": "Read the file."}],
        },
        "tool loop 10 rounds": {**base, "tools": _tools(3), "messages": _tool_rounds(10)},
        "image + text": {
            **base,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is in this image?"},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": _PNG}},
                    ],
                }
            ],
        },
        "thinking + history": {
            **base,
            "thinking": {"type": "enabled", "budget_tokens": 4000},
            "messages": [
                {"role": "user", "content": "2+2?"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "Easy sum.", "signature": "c2ln"},
                        {"type": "text", "text": "4"},
                    ],
                },
                {"role": "user", "content": "And 3+3?"},
            ],
        },
        "Claude Code turn": claude_code,
    }


# ---- the corpus: OpenAI chunk streams -------------------------------------------------------------------


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


def streams() -> dict[str, list[Chunk]]:
    words = [f" word{k}" for k in range(300)]
    text = [_chunk({"role": "assistant", "content": ""}), *(_chunk({"content": w}) for w in words), *_end("stop")]
    tools = [_chunk({"role": "assistant", "content": ""}), *(_chunk({"content": w}) for w in words[:20])]
    for index in range(2):
        fragments = ['{"path": "src/module_', f"{index}", '.py", "limit": ', *([" "] * 36), "200}"]
        tools.append(
            _chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": f"call_{index}",
                            "type": "function",
                            "function": {"name": "read_file", "arguments": ""},
                        }
                    ]
                }
            )
        )
        tools += [_chunk({"tool_calls": [{"index": index, "function": {"arguments": f}}]}) for f in fragments]
    tools += _end("tool_calls")
    thinking = [_chunk({"role": "assistant", "content": None, "reasoning_content": ""})]
    thinking += [_chunk({"reasoning_content": w}) for w in words[:200]]
    thinking += [_chunk({"content": w}) for w in words[:50]] + _end("stop")
    return {"text 300": text, "text + 2 tool calls": tools, "reasoning 200 + text 50": thinking}


def sse_reads(chunks: list[Chunk]) -> list[bytes]:
    """The stream as a server sends it, one read per chunk, `[DONE]` last."""
    return [f"data: {json.dumps(c, separators=(',', ':'))}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]


# ---- protoshift -----------------------------------------------------------------------------------------


def _protoshift_request(request: Request) -> object:
    return anthropic_to_openai.request(request).body


def _protoshift_events(chunks: list[Chunk]) -> list[Any]:
    translator = openai_to_anthropic.Stream()
    out: list[Any] = []
    for chunk in chunks:
        out += translator.feed(chunk)
    out += translator.close()
    return out


def _protoshift_bytes(reads: list[bytes]) -> list[bytes]:
    decoder = JSONEventDecoder()
    translator = openai_to_anthropic.Stream()
    out: list[bytes] = []
    for data in reads:
        for chunk in decoder.iter_feed(data):
            out += [openai_to_anthropic.encode_event(event) for event in translator.feed(chunk)]
    out += [openai_to_anthropic.encode_event(event) for event in translator.close()]
    return out


# ---- LiteLLM's /v1/messages adapter -------------------------------------------------------------------------


@dataclass(frozen=True)
class LiteLLMAdapter:
    version: str
    request: Callable[[Request], object]
    events: Callable[[list[Any]], list[Any]]  # ModelResponseStream objects -> Anthropic event dicts
    to_objects: Callable[[list[Chunk]], list[Any]]
    bytes_path: Callable[[list[bytes]], list[bytes]]


def load_litellm() -> LiteLLMAdapter | str:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        from importlib.metadata import version

        from litellm.llms.anthropic.pass_through.adapters.streaming_iterator import AnthropicStreamWrapper
        from litellm.llms.anthropic.pass_through.adapters.transformation import AnthropicAdapter
        from litellm.types.utils import ModelResponseStream
    except ImportError as exc:
        return f"not installed ({exc.name or exc}); run `uv run --group bench python -m benchmarks`"

    def request(req: Request) -> object:
        return AnthropicAdapter().translate_completion_input_params(req)

    def events(objects: list[Any]) -> list[Any]:
        stream: Any = iter(objects)  # the wrapper iterates sync or async streams; its type says async
        return list(AnthropicStreamWrapper(completion_stream=stream, model=MODEL))

    def to_objects(chunks: list[Chunk]) -> list[Any]:
        return [ModelResponseStream(**copy.deepcopy(c)) for c in chunks]

    def bytes_path(reads: list[bytes]) -> list[bytes]:
        from httpx._decoders import LineDecoder, TextDecoder

        def objects() -> Iterator[Any]:
            text, lines = TextDecoder(), LineDecoder()
            for read in reads:
                for line in lines.decode(text.decode(read)):
                    if line.startswith("data: ") and line != "data: [DONE]":
                        yield ModelResponseStream(**json.loads(line[6:]))

        stream: Any = objects()
        wrapper = AnthropicStreamWrapper(completion_stream=stream, model=MODEL)
        return list(wrapper.anthropic_sse_wrapper())

    return LiteLLMAdapter(version("litellm"), request, events, to_objects, bytes_path)


# ---- running ----------------------------------------------------------------------------------------------


@dataclass
class ReverseResults:
    requests: dict[str, dict[str, Stats]] = field(default_factory=dict)  # side -> kind -> stats
    streams: dict[str, dict[str, dict[str, Stats]]] = field(default_factory=dict)  # mode -> side -> stream -> stats
    chunks: dict[str, int] = field(default_factory=dict)
    litellm: str = ""


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


def run(litellm: LiteLLMAdapter | None, reps: int, warmup: int) -> ReverseResults:
    res = ReverseResults(litellm=litellm.version if litellm else "")
    sides: dict[str, Callable[[Request], object]] = {"protoshift": _protoshift_request}
    if litellm is not None:
        sides["litellm adapter"] = litellm.request
    for side, fn in sides.items():
        res.requests[side] = {}
        for kind, request in requests().items():
            text = json.dumps(request)
            res.requests[side][kind] = Stats.of_ns(
                time_each(fn, [json.loads(text) for _ in range(reps + warmup)], warmup)
            )
    corpus = streams()
    res.chunks = {name: len(chunks) for name, chunks in corpus.items()}
    modes: dict[str, dict[str, tuple[Callable[[Any], object], Callable[[list[Chunk]], Callable[[], Any]]]]] = {
        "events": {"protoshift": (_protoshift_events, lambda c: partial(copy.deepcopy, c))},
        "bytes": {"protoshift": (_protoshift_bytes, lambda c: partial(sse_reads, c))},
    }
    if litellm is not None:
        modes["events"]["litellm adapter"] = (litellm.events, lambda c: partial(litellm.to_objects, c))
        modes["bytes"]["litellm adapter"] = (litellm.bytes_path, lambda c: partial(sse_reads, c))
    for mode, per_side in modes.items():
        res.streams[mode] = {}
        for side, (fn, make) in per_side.items():
            res.streams[mode][side] = {}
            for name, chunks in corpus.items():
                samples = _per_stream(fn, make(chunks), len(chunks), max(reps // 4, 5), max(warmup // 4, 2))
                res.streams[mode][side][name] = Stats.of_ns(samples)
    return res


def text(res: ReverseResults) -> str:
    from .report import _verdict, _x

    out = [
        f"The other direction (issue 14): Anthropic requests in, OpenAI-compatible out; LiteLLM {res.litellm or 'not run'}"
    ]
    table, worst_request = _requests_table(res)
    out += ["Anthropic request -> OpenAI body: microseconds per call (median, p90)", table, ""]
    worst_event: float | None = None
    for mode, per_side in res.streams.items():
        table, worst = _streams_table(res, per_side)
        out += [STREAM_TITLES[mode] + "; microseconds", table, ""]
        if worst is not None:
            worst_event = worst if worst_event is None else min(worst_event, worst)
    if worst_request is not None and worst_event is not None:
        out.append(
            f"  per request: worst {_x(worst_request)}; per event (worst of (a) and (b)): {_x(worst_event)}"
            f" -> target >= 10x per event: {_verdict(worst_event >= TARGET_RATIO)}"
        )
    return "\n".join(out).rstrip()


STREAM_TITLES = {
    "events": "(a) parsed OpenAI chunks -> Anthropic event dicts, per chunk (whole stream / chunks)",
    "bytes": "(b) OpenAI SSE bytes -> Anthropic SSE bytes, per chunk (whole stream / chunks)",
}


def _requests_table(res: ReverseResults) -> tuple[str, float | None]:
    from .report import _fmt, _table, _x

    sides = list(res.requests)
    headers = ["request kind", *[h for s in sides for h in (f"{s} med", "p90")], *(["x"] if len(sides) > 1 else [])]
    rows, ratios = [], []
    for kind in res.requests["protoshift"]:
        row = [kind]
        for side in sides:
            st = res.requests[side][kind]
            row += [_fmt(st.median_us), _fmt(st.p90_us)]
        if len(sides) > 1:
            x = ratio(res.requests[sides[1]][kind], res.requests["protoshift"][kind])
            ratios.append(x or 0.0)
            row.append(_x(x))
        rows.append(row)
    return _table(headers, rows), min(ratios) if ratios else None


def _streams_table(res: ReverseResults, per_side: dict[str, dict[str, Stats]]) -> tuple[str, float | None]:
    from .report import _fmt, _table, _x

    sides = list(per_side)
    headers = ["stream (chunks)", *[h for s in sides for h in (f"{s} med", "p90")], *(["x"] if len(sides) > 1 else [])]
    rows, ratios = [], []
    for name, n in res.chunks.items():
        row = [f"{name} ({n})"]
        for side in sides:
            st = per_side[side][name]
            row += [_fmt(st.median_us, 2), _fmt(st.p90_us, 2)]
        if len(sides) > 1:
            x = ratio(per_side[sides[1]][name], per_side["protoshift"][name])
            ratios.append(x or 0.0)
            row.append(_x(x))
        rows.append(row)
    return _table(headers, rows), min(ratios) if ratios else None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    reps, warmup = (20, 5) if "--quick" in args else (200, 30)
    loaded = load_litellm()
    if isinstance(loaded, str):
        print(f"LiteLLM: skipped, {loaded}")
    print(text(run(None if isinstance(loaded, str) else loaded, reps, warmup)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
