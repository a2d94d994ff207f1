"""Per-call cost of turning one OpenAI request into an Anthropic body, per corpus kind."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from protoshift.translator import openai_to_anthropic

from .corpus import Request, requests
from .litellm_side import LiteLLM
from .timing import Stats, time_each

Side = Callable[[dict[str, Any]], object]


@dataclass
class RequestResults:
    """Per side: Stats for each corpus kind, and for all calls of all kinds pooled."""

    kinds: list[str]
    per_kind: dict[str, dict[str, Stats]] = field(default_factory=dict)  # side -> kind -> stats
    overall: dict[str, Stats] = field(default_factory=dict)  # side -> stats
    skipped: dict[str, str] = field(default_factory=dict)  # "side/kind" -> why


def _protoshift(request: dict[str, Any]) -> object:
    return openai_to_anthropic.request(request).body


def sides(litellm: LiteLLM | None) -> dict[str, Side]:
    out: dict[str, Side] = {"protoshift": _protoshift}
    if litellm is not None:
        out["litellm transform"] = litellm.transform
        out["litellm completion path"] = litellm.completion_path
    return out


def run(litellm: LiteLLM | None, reps: int, warmup: int) -> RequestResults:
    corpus = requests()
    results = RequestResults(kinds=list(corpus))
    for side, fn in sides(litellm).items():
        pooled: list[int] = []
        results.per_kind[side] = {}
        for kind, request in corpus.items():
            samples = _measure(fn, request, reps, warmup)
            if isinstance(samples, str):
                results.skipped[f"{side}/{kind}"] = samples
                continue
            results.per_kind[side][kind] = Stats.of_ns(samples)
            pooled += samples
        results.overall[side] = Stats.of_ns(pooled)
    return results


def _measure(fn: Side, request: Request, reps: int, warmup: int) -> list[int] | str:
    text = json.dumps(request)
    try:
        fn(json.loads(text))
    except Exception as exc:  # a side that cannot translate this kind is reported, not timed
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:100]}"
    # A fresh copy per call: LiteLLM mutates what it is given, and both sides get the same treatment.
    inputs = [json.loads(text) for _ in range(warmup + reps)]
    return time_each(fn, inputs, warmup)
