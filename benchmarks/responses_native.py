"""What `/v1/responses` costs the gateway on a backend that speaks Responses itself (`openai-responses`, the
pass-through) next to the same answers translated from a chat model (`-b openai`), in CPU per Responses event
emitted and per answer, on benchmarks/responses.py's corpus (its four chat streams and its chat.completion).

- streams: (native) the Responses SSE bytes the translated path emits, one read per event ->
  `RawJSONEventDecoder` -> `ResponsesEventStream.feed` (the backend's checks) -> the surface's frames (the
  `data:` text sent on); (translated) the chat SSE bytes -> `JSONEventDecoder` -> `chat_to_responses.Stream`
  -> the surface's frames. Both end in the bytes the client gets; each stream timed whole, divided by the
  Responses events it emits (the same events on both sides).
- answers: (native) the `response` JSON bytes -> pydantic-core's parser -> `check_response` -> JSON bytes;
  (translated) the chat.completion bytes -> `chat_to_responses.response` -> JSON bytes.

Process CPU time (`time.process_time_ns`), medians and p90 in microseconds.

    uv run python -m benchmarks.responses_native [--quick]
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable
from typing import Any

from pydantic_core import from_json, to_json

from benchmarks.responses import _bytes_of, _chat_answer, _chat_stream, completion, sse_reads, streams
from benchmarks.timing import Stats
from protoshift.cloud.openai_responses import ResponsesEventStream
from protoshift.gateway.surfaces.responses import ResponsesSurface
from protoshift.translator.openai_checks import check_response
from protoshift.translator.sse import JSONEventDecoder, RawJSONEventDecoder

_SURFACE = ResponsesSurface()


def _translated(reads: list[bytes]) -> list[bytes]:
    decoder, stream, frames = JSONEventDecoder(), _chat_stream(), _SURFACE.stream_frames({})
    out = [frames.frame(e) for data in reads for chunk in decoder.iter_feed(data) for e in stream.feed(chunk)]
    out += [frames.frame(e) for chunk in decoder.close() for e in stream.feed(chunk)]
    return out + [frames.frame(e) for e in stream.close()]


def _native(reads: list[bytes]) -> list[bytes]:
    decoder, stream, frames = RawJSONEventDecoder(), ResponsesEventStream(), _SURFACE.stream_frames({})
    out = [frames.frame(e) for data in reads for event in decoder.iter_feed(data) for e in stream.feed(event)]
    stream.close()
    return out


def _native_answer(data: bytes) -> bytes:
    return to_json(check_response(from_json(data, allow_inf_nan=False)))


def _cpu(fn: Callable[[Any], object], item: Any, reps: int, warmup: int, per: int) -> Stats:
    gc.collect()
    samples = []
    for i in range(reps + warmup):
        c0 = time.process_time_ns()
        fn(item)
        c1 = time.process_time_ns()
        if i >= warmup:
            samples.append((c1 - c0) / per)
    return Stats.of_ns(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.responses_native", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions: a smoke run")
    args = parser.parse_args(argv)
    reps, warmup = (20, 5) if args.quick else (200, 20)
    print("CPU per Responses event (streams) and per answer, us: median / p90")
    print(f"{'':40} {'native':>15} {'translated':>15} {'native/translated':>18}")
    for name, chunks in streams().items():
        chat_reads = sse_reads(chunks)
        responses_reads = _translated(chat_reads)  # what the client gets from a chat model: a real Responses stream
        assert _native(responses_reads) == responses_reads, "the pass-through sends the bytes it read"
        n = len(responses_reads)
        native = _cpu(_native, responses_reads, reps, warmup, n)
        translated = _cpu(_translated, chat_reads, reps, warmup, n)
        _row(f"{name} ({n} events)", native, translated)
    answer = to_json(completion())
    response = _bytes_of(_chat_answer, answer)
    json.loads(response)
    _row("answer (reasoning, text, 2 calls)", _cpu(_native_answer, response, reps, warmup, 1),
         _cpu(lambda data: _bytes_of(_chat_answer, data), answer, reps, warmup, 1))  # fmt: skip
    return 0


def _row(name: str, native: Stats, translated: Stats) -> None:
    cells = f"{native.median_us:7.2f} / {native.p90_us:5.2f} {translated.median_us:7.2f} / {translated.p90_us:5.2f}"
    print(f"{name:40} {cells} {native.median_us / translated.median_us:17.2f}x")


if __name__ == "__main__":
    raise SystemExit(main())
