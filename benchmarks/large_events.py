"""Decoding one very large SSE event (a line cut across thousands of reads): time against its size.

Issue 9, item 7: the decoder once grew the unfinished line with `+=` on an attribute, so an event of
20/40/80 MB took 2/8/31 s (quadratic). It keeps a list of parts now: the figures should double with
the size, not quadruple.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from protoshift.translator.sse import SSEDecoder

READ = 65536
SIZES_MB = (20, 40, 80)


@dataclass
class LargeEventResults:
    seconds: dict[int, float] = field(default_factory=dict)  # MB -> best of the runs

    def as_dict(self) -> dict[str, float]:
        return {f"{mb}MB": s for mb, s in self.seconds.items()}


def _decode_once(megabytes: int) -> float:
    decoder = SSEDecoder(max_event_size=(megabytes + 1) << 20)
    read = b"x" * READ
    started = time.perf_counter()
    decoder.feed(b"data: ")
    for _ in range(megabytes * (1 << 20) // READ):
        decoder.feed(read)
    events = decoder.feed(b"\n\n")
    elapsed = time.perf_counter() - started
    assert len(events) == 1 and len(events[0].data) == megabytes << 20
    return elapsed


def run(runs: int = 3) -> LargeEventResults:
    results = LargeEventResults()
    for megabytes in SIZES_MB:
        results.seconds[megabytes] = min(_decode_once(megabytes) for _ in range(runs))
    return results


def text(results: LargeEventResults) -> str:
    rows = ", ".join(f"{mb} MB {s:.2f} s" for mb, s in results.seconds.items())
    return f"one large SSE event in {READ // 1024} KiB reads: {rows}"
