"""`python -m benchmarks [--json PATH] [--quick] [--no-litellm] [--no-startup] [--no-batch]
[--no-chat-stream] [--only-chat-stream] [--no-reverse] [--no-responses]`."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from . import (
    batch,
    chat_stream,
    large_events,
    litellm_side,
    report,
    responses,
    responses_litellm,
    reverse,
    startup,
    streaming,
    translation,
)
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
    parser.add_argument(
        "--no-responses", action="store_true", help="skip OpenAI Responses clients (vs LiteLLM's Responses bridge)"
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


def _responses(with_litellm: bool, reps: int, warmup: int, wrapped_reps: int) -> responses.ResponsesResults:
    """OpenAI Responses clients (issue 20), beside LiteLLM's Responses bridge when LiteLLM is loaded."""
    loaded = responses_litellm.load() if with_litellm else "skipped with LiteLLM"
    if isinstance(loaded, str):
        print(f"LiteLLM's Responses bridge: {loaded}")
        return responses.run(reps, warmup)
    sides = {up: {**per, **responses.litellm_sides()[up]} for up, per in responses.SIDES.items()}
    return responses.run(reps, warmup, sides, wrapped_reps=wrapped_reps, litellm=responses_litellm.version())


def _in_process(
    args: argparse.Namespace,
    litellm: litellm_side.LiteLLM | None,
    figures: dict[str, Any],
    reps: int,
    warmup: int,
    wrapped_reps: int,
) -> None:
    """The translations' own costs (requests, streams, the other direction, Responses, large events)."""
    figures["requests"] = translation.run(litellm, reps, warmup)
    print(report.requests_text(figures["requests"]), end="\n\n", flush=True)
    figures["streams"] = streaming.run(litellm, reps, warmup, wrapped_reps if litellm else 0)
    print(report.streams_text(figures["streams"]), end="\n\n", flush=True)
    if not args.no_reverse:
        adapter = reverse.load_litellm() if litellm is not None else "skipped with LiteLLM"
        if isinstance(adapter, str):
            print(f"LiteLLM's /v1/messages adapter: {adapter}")
        figures["reverse"] = reverse.run(None if isinstance(adapter, str) else adapter, reps, warmup)
        print(reverse.text(figures["reverse"]), end="\n\n", flush=True)
    if not args.no_responses:
        figures["responses"] = _responses(litellm is not None, reps, warmup, wrapped_reps)
        res = figures["responses"]
        figures["responses_verdicts"] = {one.clock: responses.verdicts(one) for one in (res, res.wall) if one}
        print(responses.text(figures["responses"]), end="\n\n", flush=True)
    large = large_events.run(runs=1 if args.quick else 3)
    figures["large_events"] = large.as_dict()
    print(large_events.text(large), end="\n\n", flush=True)


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
        _in_process(args, litellm, figures, reps, warmup, wrapped_reps)
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
