"""The whole streaming chat path against a local fake Anthropic server: cost per event, first chunk.

A 2,000-event Anthropic stream (message_start, ping, content_block_start, 1,994 text deltas,
content_block_stop, message_delta, message_stop) is served over loopback by `python -m
benchmarks.chat_stream --serve` in its own process (so its CPU is not counted), a new connection per
request, in two modes: "trickled", one write per event as a provider sends them (each client wakes up
for many small reads), and "burst", the whole stream in one write (64 KiB reads: the client's own CPU
cost per event, without the wake-ups). Three clients read it, each from a fresh request:

- raw: `httpx.AsyncClient.stream("POST", ...)` + `aiter_bytes()`, the bytes and nothing else: the floor.
- protoshift: `cloud.create_anthropic_backend(api_key=..., base_url=server)` -> `backend.stream(request)`,
  each chunk encoded with `translator.sse.encode_chunk` (what `protoshift chat --stream` writes):
  request translation, retries/breaker bookkeeping, SSE + JSON decoding, `anthropic_to_openai.Stream`, encoding.
- ps/httpx: the same on httpx's own transport (`PROTOSHIFT_HTTP_TRANSPORT=httpx`), the transport
  `chat` had before issue 11: the transport's share of the figures, in the same run.
- litellm: `litellm.acompletion(model="anthropic/...", api_base=server, stream=True)`, every chunk iterated.

Per request: time to the first chunk (first byte read for raw), total wall time, and CPU time of this
process (`time.process_time`, so threads LiteLLM starts for logging count too). Figures are medians
over the repetitions; per-event CPU is the request's CPU divided by 2,000.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .litellm_side import LiteLLM
from .servers import serve

EVENTS = 2000
REQUEST: dict[str, Any] = {
    "model": "claude-bench",
    "max_tokens": 4096,
    "messages": [{"role": "user", "content": "Count to two thousand."}],
}
TARGET_CPU_RATIO = 10.0  # issue 3: at least 10x less CPU per event than LiteLLM
TARGET_FIRST_CHUNK_MS = 2.0  # issue 3: first chunk within 2 ms of the raw read


# -- the server (its own process) ----------------------------------------------------------------


def stream_events(total: int = EVENTS) -> list[bytes]:
    """An Anthropic text stream of exactly `total` events, as the API frames them."""

    def sse(event: dict[str, Any]) -> bytes:
        return f"event: {event['type']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n".encode()

    usage = {"input_tokens": 12, "output_tokens": 1}
    message: dict[str, Any] = {"id": "msg_bench_stream", "type": "message", "role": "assistant", "model": "claude-bench",
               "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}  # fmt: skip
    head = [
        sse({"type": "message_start", "message": message}),
        sse({"type": "ping"}),
        sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    ]
    tail = [
        sse({"type": "content_block_stop", "index": 0}),
        sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": total},
            }
        ),
        sse({"type": "message_stop"}),
    ]
    deltas = [
        sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f" {n}"}})
        for n in range(1, total - len(head) - len(tail) + 1)
    ]
    return [*head, *deltas, *tail]


async def _serve(port: int = 0) -> None:
    events = stream_events()
    whole = b"".join(events)
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
        b"request-id: req_bench_stream\r\nconnection: close\r\n\r\n"
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            request_head = await reader.readuntil(b"\r\n\r\n")
            burst = b"/burst" in request_head.split(b"\r\n", 1)[0]
            for line in request_head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    await reader.readexactly(int(line[15:]))
            writer.write(head)
            if burst:
                writer.write(whole)
            else:
                for event in events:  # one write per event, as a provider sends them
                    writer.write(event)
                    await writer.drain()
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


# -- the clients -----------------------------------------------------------------------------------


@dataclass
class Sample:
    first_ms: float
    total_ms: float
    cpu_ms: float
    items: int


@dataclass
class Side:
    name: str
    samples: list[Sample] = field(default_factory=list)

    def median(self, attr: str) -> float:
        return float(statistics.median(getattr(s, attr) for s in self.samples))

    @property
    def cpu_us_per_event(self) -> float:
        return self.median("cpu_ms") * 1000 / EVENTS

    def as_dict(self) -> dict[str, Any]:
        return {
            "first_chunk_ms": self.median("first_ms"),
            "total_ms": self.median("total_ms"),
            "cpu_ms": self.median("cpu_ms"),
            "cpu_us_per_event": self.cpu_us_per_event,
            "items": self.samples[0].items if self.samples else 0,
            "samples": [asdict(s) for s in self.samples],
        }


async def _measure(items: AsyncIterator[Any], on_item: Callable[[Any], object] | None = None) -> Sample:
    """Drain `items`, timing the first one, the end, and this process's CPU."""
    gc.collect()
    cpu0, t0 = time.process_time(), time.perf_counter()
    first = 0.0
    count = 0
    async for item in items:
        if not count:
            first = time.perf_counter()
        if on_item is not None:
            on_item(item)
        count += 1
    t1, cpu1 = time.perf_counter(), time.process_time()
    return Sample((first - t0) * 1e3, (t1 - t0) * 1e3, (cpu1 - cpu0) * 1e3, count)


async def _raw(url: str) -> Sample:
    import httpx

    async with httpx.AsyncClient(timeout=60) as client:

        async def reads() -> AsyncIterator[bytes]:
            body = json.dumps({**REQUEST, "stream": True}).encode()
            async with client.stream("POST", f"{url}/v1/messages", content=body) as response:
                async for data in response.aiter_bytes():
                    yield data

        return await _measure(reads())


async def _protoshift(url: str, state_dir: Path, transport: str = "") -> Sample:
    """`transport`: "" for the default (cloud.transport: aiohttp), "httpx" for httpx's own (as before issue 11)."""
    from protoshift import cloud
    from protoshift.cloud.transport import TRANSPORT_ENV
    from protoshift.translator.sse import encode_chunk

    out: list[bytes] = []
    os.environ[TRANSPORT_ENV] = transport
    backend = cloud.create_anthropic_backend(api_key="x", base_url=url, breaker_dir=state_dir)
    os.environ.pop(TRANSPORT_ENV)
    async with backend, contextlib.aclosing(backend.stream({**REQUEST, "stream": True})) as chunks:
        return await _measure(chunks, lambda chunk: out.append(encode_chunk(chunk)))


async def _litellm(url: str) -> Sample:
    import litellm

    async def chunks() -> AsyncIterator[Any]:
        response = await litellm.acompletion(
            model="anthropic/claude-bench", api_base=url, api_key="x", stream=True, **_litellm_args()
        )
        async for chunk in response:
            yield chunk

    return await _measure(chunks())


def _litellm_args() -> dict[str, Any]:
    return {k: v for k, v in REQUEST.items() if k != "model"}


@dataclass
class ChatStreamResults:
    events: int
    reps: int
    sides: dict[str, Side]

    def ratio(self, slow: str, fast: str) -> float | None:
        if slow not in self.sides or fast not in self.sides:
            return None
        return self.sides[slow].cpu_us_per_event / self.sides[fast].cpu_us_per_event

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "repetitions": self.reps,
            "sides": {name: side.as_dict() for name, side in self.sides.items()},
            "cpu_ratio_litellm_protoshift": self.ratio("litellm", "protoshift"),
            "first_chunk_ms_over_raw": self._first_over_raw(),
        }

    def _first_over_raw(self) -> float | None:
        if "raw" not in self.sides or "protoshift" not in self.sides:
            return None
        return self.sides["protoshift"].median("first_ms") - self.sides["raw"].median("first_ms")


MODES = {"trickled": "", "burst": "/burst"}  # mode -> base URL path the server recognises


def run(litellm: LiteLLM | None, *, quick: bool = False) -> dict[str, ChatStreamResults]:
    """mode -> results."""
    reps, warmup = (5, 2) if quick else (30, 5)
    with serve("benchmarks.chat_stream", "--serve") as server:
        return {mode: _run_mode(server + path, litellm, reps, warmup) for mode, path in MODES.items()}


def _run_mode(url: str, litellm: LiteLLM | None, reps: int, warmup: int) -> ChatStreamResults:
    with tempfile.TemporaryDirectory(prefix="protoshift-bench-") as state:
        sides = {"raw": Side("raw"), "protoshift": Side("protoshift"), "ps/httpx": Side("ps/httpx")}
        if litellm is not None:
            sides["litellm"] = Side("litellm")

        runners: dict[str, Callable[[], Awaitable[Sample]]] = {
            "raw": lambda: _raw(url),
            "protoshift": lambda: _protoshift(url, Path(state)),
            "ps/httpx": lambda: _protoshift(url, Path(state), "httpx"),
            "litellm": lambda: _litellm(url),
        }

        async def main() -> None:
            # one side after the other, LiteLLM last: the logging work it leaves running in the
            # background after each call must not land on the other sides' CPU figures
            for name, side in sides.items():
                for i in range(reps + warmup):
                    sample = await runners[name]()
                    if i >= warmup:  # first connections, imports, caches
                        side.samples.append(sample)

        asyncio.run(main())
    return ChatStreamResults(EVENTS, reps, sides)


def text(results: dict[str, ChatStreamResults]) -> str:
    return "\n\n".join(_mode_text(mode, res) for mode, res in results.items())


def _mode_text(mode: str, res: ChatStreamResults) -> str:
    how = "one write per event" if mode == "trickled" else "the whole stream in one write"
    lines = [
        f"Streaming chat path ({mode}: {how}), whole request: {res.events}-event Anthropic stream"
        f" from a local server (own process), median of {res.reps}",
        f"{'':<12}{'first chunk':>13}{'total':>11}{'CPU':>11}{'CPU/event':>12}{'items':>8}",
    ]
    for name, side in res.sides.items():
        lines.append(
            f"{name:<12}{side.median('first_ms'):>10.2f} ms{side.median('total_ms'):>8.1f} ms"
            f"{side.median('cpu_ms'):>8.1f} ms{side.cpu_us_per_event:>9.2f} µs{side.samples[0].items:>8}"
        )
    raw, ours = res.sides["raw"], res.sides["protoshift"]
    over_raw_us = ours.cpu_us_per_event - raw.cpu_us_per_event
    lines.append(f"protoshift over raw: {over_raw_us:.2f} µs CPU per event (translation + encoding)")
    if "ps/httpx" in res.sides:
        lines.append(
            "ps/httpx: protoshift on httpx's own transport (PROTOSHIFT_HTTP_TRANSPORT=httpx, the transport before"
            f" issue 11): {res.sides['ps/httpx'].cpu_us_per_event - ours.cpu_us_per_event:+.2f} µs CPU per event"
            " vs protoshift's default"
        )
    first_gap = ours.median("first_ms") - raw.median("first_ms")
    verdict = "MET" if first_gap <= TARGET_FIRST_CHUNK_MS else "MISSED"
    lines.append(
        f"first chunk: protoshift {first_gap:+.2f} ms vs the raw read"
        f" (target within {TARGET_FIRST_CHUNK_MS:g} ms): {verdict}"
    )
    ratio = res.ratio("litellm", "protoshift")
    if ratio is None:
        lines.append("LiteLLM: skipped")
    else:
        verdict = "MET" if ratio >= TARGET_CPU_RATIO else "MISSED"
        lines.append(f"LiteLLM / protoshift CPU per event: {ratio:.1f}x (target >= {TARGET_CPU_RATIO:g}x): {verdict}")
        lit_over_raw_us = res.sides["litellm"].cpu_us_per_event - raw.cpu_us_per_event
        if over_raw_us > 0:
            lines.append(
                f"LiteLLM over raw: {lit_over_raw_us:.2f} µs CPU per event, {lit_over_raw_us / over_raw_us:.1f}x protoshift's"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.chat_stream", description=__doc__.split("\n")[0])
    parser.add_argument("--serve", action="store_true", help="run the fake server (prints its port)")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--no-litellm", action="store_true", help="protoshift and raw only")
    args = parser.parse_args(argv)
    if args.serve:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve())
        return 0
    litellm: LiteLLM | None = None
    if not args.no_litellm:
        from . import litellm_side

        loaded = litellm_side.load()
        if isinstance(loaded, str):
            print(f"LiteLLM: skipped, {loaded}")
        else:
            litellm = loaded
    print(text(run(litellm, quick=args.quick)))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    raise SystemExit(main())
