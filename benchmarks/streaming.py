"""Per-event cost of turning Anthropic stream events into OpenAI chunks.

(a) events: one parsed event dict -> chunk objects (`anthropic_to_openai.Stream.feed`, LiteLLM's
    `chunk_parser`), each event timed on its own.
(b) bytes:  the whole `translate stream` path, Anthropic SSE bytes (one read per event) -> OpenAI
    SSE bytes: SSE + JSON decoding, translation, JSON + SSE encoding. Timed per stream, divided by
    its number of events.
(c) wrapped: LiteLLM only, chunk_parser plus `CustomStreamWrapper`, what `completion(stream=True)`
    hands its caller; per stream / events.
"""

from __future__ import annotations

import copy
import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from protoshift.translator import Stamps, anthropic_to_openai
from protoshift.translator.sse import JSONEventDecoder, encode_chunk, encode_done

from .corpus import Event, sse_reads, streams
from .litellm_side import LiteLLM
from .timing import Stats, now_ns


@dataclass
class StreamResults:
    events: dict[str, int]  # stream -> number of events
    # mode ("events" | "bytes" | "wrapped") -> side -> stream name or "all" -> stats
    figures: dict[str, dict[str, dict[str, Stats]]] = field(default_factory=dict)


def _protoshift_parser() -> Callable[[Event], Any]:
    return anthropic_to_openai.Stream(include_usage=True, stamps=Stamps.fixed(now=1_700_000_000)).feed


def _protoshift_bytes(reads: list[bytes]) -> list[bytes]:
    """cli.translate.run._translate_stream, writing to a list instead of stdout."""
    decoder = JSONEventDecoder()
    translator = anthropic_to_openai.Stream(include_usage=True)
    out: list[bytes] = []
    for data in reads:
        for event in decoder.iter_feed(data):
            for chunk in translator.feed(event):
                out.append(encode_chunk(chunk))
    for event in decoder.close():
        for chunk in translator.feed(event):
            out.append(encode_chunk(chunk))
    translator.close()
    out.append(encode_done())
    return out


def _per_event(
    new_parser: Callable[[], Callable[[Event], Any]], events: list[Event], reps: int, warmup: int
) -> list[int]:
    samples: list[int] = []
    copies = [copy.deepcopy(events) for _ in range(reps + warmup)]
    gc.collect()
    for rep, batch in enumerate(copies):
        feed = new_parser()
        for event in batch:
            t0 = now_ns()
            feed(event)
            t1 = now_ns()
            if rep >= warmup:
                samples.append(t1 - t0)
    return samples


def _per_stream(
    fn: Callable[[Any], object], make_input: Callable[[], Any], events: int, reps: int, warmup: int
) -> list[float]:
    """Whole-stream times divided by the stream's event count: one sample per repetition."""
    inputs = [make_input() for _ in range(reps + warmup)]
    gc.collect()
    samples: list[float] = []
    for rep, item in enumerate(inputs):
        t0 = now_ns()
        fn(item)
        t1 = now_ns()
        if rep >= warmup:
            samples.append((t1 - t0) / events)
    return samples


def run(litellm: LiteLLM | None, reps: int, warmup: int, wrapped_reps: int) -> StreamResults:
    corpus = streams()
    results = StreamResults(events={name: len(events) for name, events in corpus.items()})
    parsers: dict[str, Callable[[], Callable[[Event], Any]]] = {"protoshift": _protoshift_parser}
    byte_paths: dict[str, Callable[[list[bytes]], list[bytes]]] = {"protoshift": _protoshift_bytes}
    if litellm is not None:
        parsers["litellm"] = litellm.new_parser
        byte_paths["litellm"] = litellm.bytes_path

    events_mode: dict[str, dict[str, Stats]] = {}
    for side, new_parser in parsers.items():
        pooled: list[int] = []
        events_mode[side] = {}
        for name, events in corpus.items():
            samples = _per_event(new_parser, events, reps, warmup)
            events_mode[side][name] = Stats.of_ns(samples)
            pooled += samples
        events_mode[side]["all"] = Stats.of_ns(pooled)
    results.figures["events"] = events_mode

    bytes_mode: dict[str, dict[str, Stats]] = {}
    for side, path in byte_paths.items():
        bytes_mode[side] = {}
        pooled_f: list[float] = []
        for name, events in corpus.items():
            reads = sse_reads(events)
            samples_f = _per_stream(path, partial(list, reads), len(events), reps, warmup)
            bytes_mode[side][name] = Stats.of_ns(samples_f)
            pooled_f += samples_f
        bytes_mode[side]["all"] = Stats.of_ns(pooled_f)
    results.figures["bytes"] = bytes_mode

    if litellm is not None and wrapped_reps > 0:
        wrapped: dict[str, Stats] = {}
        pooled_f = []
        for name, events in corpus.items():
            samples_f = _per_stream(
                litellm.wrapped_stream, partial(copy.deepcopy, events), len(events), wrapped_reps, 1
            )
            wrapped[name] = Stats.of_ns(samples_f)
            pooled_f += samples_f
        wrapped["all"] = Stats.of_ns(pooled_f)
        results.figures["wrapped"] = {"litellm": wrapped}
    return results
