"""The garbage collector's settings for the long, busy processes: `batch run` and `serve`'s workers.

CPython collects its youngest generation every 700 container allocations, and each collection walks
every object still alive in it. A process with hundreds of requests in flight keeps thousands of young
objects alive (each request's dicts, frames, futures and headers), so it pays for walking them again
and again: with 256 requests in flight, `batch run` spent about 15% of its CPU there
(benchmarks/batch.py, latency case: 3.15 s -> 2.65 s against an ideal of 1.95 s, issue 11).

Collecting every 20,000 allocations instead keeps the same guarantees: reference cycles are still
collected, in fewer, larger passes, and the memory they hold meanwhile is bounded by the allocations
in between (peak RSS of a 200,000-line batch: benchmarks/batch.py). The interactive commands keep
Python's defaults: they are short, and their pauses would not be noticed either way. (`gc.freeze()`
after start-up measured no better here, and would keep whatever garbage it froze for good.)
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000  # allocations between two collections of the youngest generation
OLDER_THRESHOLDS = (50, 100)  # collections of one generation between two of the next


def tune_for_throughput() -> None:
    """Fewer, larger collections; never lowers a threshold someone raised, nor turns a disabled one on."""
    young, middle, old = gc.get_threshold()
    if young == 0:  # gc.disable()d by way of the threshold: left as it is
        return
    gc.set_threshold(max(young, YOUNG_THRESHOLD), max(middle, OLDER_THRESHOLDS[0]), max(old, OLDER_THRESHOLDS[1]))
