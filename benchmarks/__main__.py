"""`python -m benchmarks [--json PATH] [--quick] [--no-litellm] [--no-startup] [--no-batch]
[--no-chat-stream] [--only-chat-stream] [--no-reverse]`."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from . import batch, chat_stream, large_events, litellm_side, report, reverse, startup, streaming, translation
from .timing import timer_overhead_ns


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every figure to PATH as JSON")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run, noisy figures)")
    parser.add_argument("--no-litellm", action="store_true", help="protoshift alone, even when LiteLLM is installed")
    parser.add_argument("--no-startup", action="store_true", help="skip the process start-up figures")
    parser.add_argument("--no-batch", action="store_true", help="skip the `batch run` throughput and memory figures")
    parser.add_argument("--no-chat-stream", action="store_true", help="skip the streaming chat path over loopback")
    parser.add_argument("--only-chat-stream", action="store_true", help="the streaming chat path alone")
    parser.add_argument(
        "--no-reverse", action="store_true", help="skip the other direction (Anthropic requests, OpenAI streams)"
    )
    return parser


def _load_litellm(args: argparse.Namespace, figures: dict[str, Any]) -> litellm_side.LiteLLM | None:
    if args.no_litellm:
        print("LiteLLM: skipped (--no-litellm)")
        return None
    loaded = litellm_side.load()
    if isinstance(loaded, str):
        print(f"LiteLLM: skipped, {loaded}")
        return None
    figures["litellm"] = {"version": loaded.version, "import_seconds": loaded.import_seconds}
    print(f"LiteLLM {loaded.version} (import took {loaded.import_seconds:.1f} s)")
    return loaded


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    reps, warmup, wrapped_reps, runs, cold_runs = (20, 5, 2, 5, 2) if args.quick else (200, 30, 8, 15, 5)

    started = time.perf_counter()
    figures: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "repetitions": reps,
        "timer_overhead_ns": timer_overhead_ns(),
    }
    print(f"protoshift benchmarks: Python {figures['python']} on {figures['platform']}, {figures['cpus']} CPUs")
    print(f"timer overhead (perf_counter_ns pair, included in per-call figures): {figures['timer_overhead_ns']:.0f} ns")
    litellm = _load_litellm(args, figures)
    print()

    if args.only_chat_stream:
        args.no_startup = args.no_batch = True
    if not args.only_chat_stream:
        figures["requests"] = translation.run(litellm, reps, warmup)
        print(report.requests_text(figures["requests"]), end="\n\n", flush=True)
        figures["streams"] = streaming.run(litellm, reps, warmup, wrapped_reps if litellm else 0)
        print(report.streams_text(figures["streams"]), end="\n\n", flush=True)
    if not args.only_chat_stream and not args.no_reverse:
        adapter = reverse.load_litellm() if litellm is not None else "skipped with LiteLLM"
        if isinstance(adapter, str):
            print(f"LiteLLM's /v1/messages adapter: {adapter}")
        figures["reverse"] = reverse.run(None if isinstance(adapter, str) else adapter, reps, warmup)
        print(reverse.text(figures["reverse"]), end="\n\n", flush=True)
    if not args.only_chat_stream:
        large = large_events.run(runs=1 if args.quick else 3)
        figures["large_events"] = large.as_dict()
        print(large_events.text(large), end="\n\n", flush=True)
    if not args.no_chat_stream:
        chat = chat_stream.run(litellm, quick=args.quick)
        figures["chat_stream"] = {mode: res.as_dict() for mode, res in chat.items()}
        print(chat_stream.text(chat), end="\n\n", flush=True)
    if not args.no_startup:
        figures["startup"] = startup.run(runs, cold_runs)
        print(report.startup_text(figures["startup"]), end="\n\n")
    if not args.no_batch:
        batches = batch.run(quick=args.quick)
        figures["batch"] = batches.as_dict()
        print(batch.text(batches), end="\n\n", flush=True)

    figures["wall_seconds"] = time.perf_counter() - started
    print(f"total benchmark time: {figures['wall_seconds']:.0f} s")
    if args.json:
        report.write_json(args.json, figures)
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
