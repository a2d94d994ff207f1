"""What storing a Responses answer costs the gateway's process, without the rest of serve: process CPU per
`SQLiteStore.put` on a loop kept busy between puts as serve's is (uvloop, as serve runs; 16 tasks: 400 µs
of work spread over 20 callbacks, a short idle, a put), minus the same loop putting nothing. The loop
lets go of the GIL and takes it back around every callback, as serve's does thousands of times a second:
what a store's own thread pays to get the GIL back from such a loop shows here (a single busy callback
would hide it); with `--baseline REF`, REF's gateway/store.py beside this
checkout's, in turns in the same run (the serve benchmark's figures for this swing by ±50 µs on a shared
machine; these by a few).

    uv run python -m benchmarks.store [--baseline main] [--rounds 4] [--puts 6000]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TASKS = 16
WORK = 0.0004  # seconds of CPU between two puts of a task (a request's own work)
IDLE = 0.0002  # and the loop idle (waiting on sockets)
STEPS = 20  # callbacks a request's work is spread over


def answer(n: int) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    """serve's "Say hello." answer as its Responses client gets it, and the input it stores."""
    response_id = f"resp_{n:032x}"
    output = [
        {
            "id": f"msg_{n:032x}",
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "Hello! How can I help you today?", "annotations": []}],
        }
    ]
    response = {
        "id": response_id,
        "object": "response",
        "created_at": 1,
        "status": "completed",
        "model": "bench",
        "output": output,
        "usage": {"input_tokens": 10, "output_tokens": 10, "total_tokens": 20},
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "max_output_tokens": 64,
        "metadata": {},
    }
    inputs = [
        {"id": f"msg_in{n}", "type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}
    ]
    return response_id, response, inputs


def load(label: str, source: str) -> ModuleType:
    """A store module from its source (REF's, or this checkout's): it imports the standard library and
    pydantic_core alone."""
    folder = Path(tempfile.mkdtemp(prefix="bench-store-"))
    path = folder / f"store_{label}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"store_{label}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


async def cpu_per_put(store_module: ModuleType | None, first: int, puts: int) -> float:
    """Process CPU µs per put (or per turn of the loop when `store_module` is None), the close included."""
    with tempfile.TemporaryDirectory() as folder:
        store = store_module.SQLiteStore(Path(folder) / "responses.sqlite3") if store_module else None
        if store is not None and hasattr(store, "shared"):
            store.shared = False  # one worker, as the serve benchmark runs it
        made = [answer(n) for n in range(first, first + puts)]

        async def task(mine: list[tuple[str, dict[str, Any], list[dict[str, Any]]]]) -> None:
            for response_id, response, inputs in mine:
                if store_module is not None and store is not None:
                    await store.put(store_module.StoredResponse(response_id, response, inputs, response["output"]))
                for _ in range(STEPS):  # a request's work in the many callbacks it is on a loop
                    end = time.perf_counter() + WORK / STEPS
                    while time.perf_counter() < end:
                        pass
                    await asyncio.sleep(0)
                await asyncio.sleep(IDLE)

        began = time.process_time()
        await asyncio.gather(*(task(made[k::TASKS]) for k in range(TASKS)))
        if store is not None:
            await store.aclose()
        return (time.process_time() - began) / puts * 1e6


def _loop_factory() -> Any:
    """serve's loop: uvloop, which lets go of the GIL around each poll and takes it back for each callback
    (a thread that wants the GIL is woken that often), where it is installed; else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", metavar="REF", help="REF's gateway/store.py beside this checkout's")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--puts", type=int, default=6000, help="puts a side a round")
    args = parser.parse_args()
    sides: dict[str, ModuleType | None] = {"no store": None}
    if args.baseline:
        source = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{args.baseline}:gateway/store.py"],
            check=False,
            capture_output=True,
            text=True,
        )
        if source.returncode != 0:
            sys.exit(f"--baseline {args.baseline}: {source.stderr.strip() or 'no gateway/store.py there'}")
        sides[f"baseline ({args.baseline})"] = load("baseline", source.stdout)
    sides["this checkout"] = load("this", (ROOT / "gateway" / "store.py").read_text())
    figures: dict[str, list[float]] = {label: [] for label in sides}
    first = 0
    for turn in range(args.rounds):
        for label in list(sides)[:: 1 if turn % 2 == 0 else -1]:  # the order reversed every other round
            with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                figures[label].append(runner.run(cpu_per_put(sides[label], first, args.puts)))
            first += args.puts
    floor = statistics.median(figures["no store"])
    print(f"CPU per put, µs ({TASKS} tasks, {WORK * 1e6:.0f} µs of work and {IDLE * 1e6:.0f} µs idle between puts;")
    print(f"medians of {args.rounds} rounds of {args.puts:,} puts; storing = the side's figure less 'no store')")
    for label, values in figures.items():
        median = statistics.median(values)
        rounds = ", ".join(f"{v:.1f}" for v in values)
        cost = "" if label == "no store" else f"  storing {median - floor:.1f}"
        print(f"  {label:<28} {median:7.1f}{cost}   rounds: {rounds}")


if __name__ == "__main__":
    main()
