"""Timing primitives: perf_counter_ns samples summarised as median / p90 in microseconds."""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

now_ns = time.perf_counter_ns


@dataclass(frozen=True, slots=True)
class Stats:
    """A distribution of per-call times, in microseconds."""

    n: int
    median_us: float
    p90_us: float
    mean_us: float

    @classmethod
    def of_ns(cls, samples_ns: Iterable[float]) -> Stats:
        values = sorted(samples_ns)
        if not values:
            return cls(0, float("nan"), float("nan"), float("nan"))
        p90 = values[min(len(values) - 1, int(0.9 * len(values)))]
        return cls(len(values), statistics.median(values) / 1e3, p90 / 1e3, statistics.fmean(values) / 1e3)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ratio(slow: Stats | None, fast: Stats | None) -> float | None:
    """How many times `fast` beats `slow`, on medians."""
    if slow is None or fast is None or not fast.median_us or math.isnan(fast.median_us):
        return None
    return slow.median_us / fast.median_us


def time_each(fn: Callable[[Any], object], inputs: list[Any], warmup: int) -> list[int]:
    """Call `fn` once per input, timing each call on its own; the first `warmup` calls are not kept.

    Each input is used once (callers hand in fresh copies), so functions that mutate their
    argument are measured on the same work every time. gc stays enabled: collections are part
    of the real cost, and `gc.collect()` first keeps earlier garbage out of the figures.
    """
    gc.collect()
    samples: list[int] = []
    for i, item in enumerate(inputs):
        t0 = now_ns()
        fn(item)
        t1 = now_ns()
        if i >= warmup:
            samples.append(t1 - t0)
    return samples


def timer_overhead_ns(rounds: int = 20_000) -> float:
    """The cost of one `t0 = now_ns(); t1 = now_ns()` pair, to judge sub-microsecond figures."""
    samples = []
    for _ in range(rounds):
        t0 = now_ns()
        t1 = now_ns()
        samples.append(t1 - t0)
    return statistics.median(samples)
