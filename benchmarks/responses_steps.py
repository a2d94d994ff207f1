"""The Responses translation steps beside the Chat ones, in-process (issue 20: serve's `/v1/responses` within
1.3x of its `/v1/chat/completions` in CPU per request). The inputs are serve's: its short request
(benchmarks/serve.py `CHAT`, `RESPONSES`) and the fake Anthropic's answer (`_MESSAGE`, its SSE stream).

Per step, what a Responses client's call costs next to a Chat client's on the same backend:
- Claude (`bridge("chat", "messages")` beside `bridge("responses", "messages")`): the request, the whole
  answer (each call on a fresh copy of the message: the copy is timed with it, on both sides), and the
  stream (the mapper made, every upstream event fed, closed);
- a chat upstream (`bridge("responses", "chat")`, no chat side to compare: a pass-through): request, answer.

Each figure is the best of `--repeat` runs of `--number` calls, CPU time of this process (a busy machine's
other work does not land on it); the two sides take turns, run by run. Run:
`uv run python -m benchmarks.responses_steps [--number N] [--repeat R]`.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import time
from collections.abc import Callable
from typing import Any

from protoshift.translator.bridges import BRIDGES, Bridge, Outbound, Shaping
from protoshift.translator.wire import CHAT, MESSAGES, RESPONSES

from .serve import _MESSAGE, _chat_completion, _sse_body
from .serve import CHAT as CHAT_REQUEST
from .serve import RESPONSES as RESPONSES_REQUEST

SHAPING = Shaping()


def _events() -> list[dict[str, Any]]:
    return [json.loads(block.split(b"data: ", 1)[1]) for block in _sse_body().split(b"\n\n") if block]


def _stream(bridge: Bridge, outbound: Outbound, events: list[dict[str, Any]]) -> None:
    mapper = bridge.stream(outbound)
    for event in events:
        mapper.feed(event)
    mapper.close()


def steps() -> list[tuple[str, Callable[[], object], Callable[[], object] | None]]:
    """(step, the Responses call, the Chat call beside it or None)."""
    to_claude, chat_to_claude, to_chat = (
        BRIDGES[(RESPONSES, MESSAGES)],
        BRIDGES[(CHAT, MESSAGES)],
        BRIDGES[(RESPONSES, CHAT)],
    )
    events = _events()
    streaming_responses = {**RESPONSES_REQUEST, "stream": True}
    streaming_chat = {**CHAT_REQUEST, "stream": True}
    claude_out = to_claude.request(RESPONSES_REQUEST, stream=False, shaping=SHAPING)
    chat_claude_out = chat_to_claude.request(CHAT_REQUEST, stream=False, shaping=SHAPING)
    claude_stream = to_claude.request(streaming_responses, stream=True, shaping=SHAPING)
    chat_stream = chat_to_claude.request(streaming_chat, stream=True, shaping=SHAPING)
    chat_out = to_chat.request(RESPONSES_REQUEST, stream=False, shaping=SHAPING)
    completion = _chat_completion()
    return [
        (
            "Claude request",
            lambda: to_claude.request(RESPONSES_REQUEST, stream=False, shaping=SHAPING),
            lambda: chat_to_claude.request(CHAT_REQUEST, stream=False, shaping=SHAPING),
        ),
        (
            "Claude answer (+ its copy)",
            lambda: to_claude.response(copy.deepcopy(_MESSAGE), claude_out),
            lambda: chat_to_claude.response(copy.deepcopy(_MESSAGE), chat_claude_out),
        ),
        (
            f"Claude stream ({len(events)} events)",
            lambda: _stream(to_claude, claude_stream, events),
            lambda: _stream(chat_to_claude, chat_stream, events),
        ),
        ("chat upstream request", lambda: to_chat.request(RESPONSES_REQUEST, stream=False, shaping=SHAPING), None),
        ("chat upstream answer (+ its copy)", lambda: to_chat.response(copy.deepcopy(completion), chat_out), None),
    ]


def _cpu_us(call: Callable[[], object], number: int) -> float:
    start = time.process_time_ns()
    for _ in range(number):
        call()
    return (time.process_time_ns() - start) / number / 1e3


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.responses_steps", description=__doc__)
    parser.add_argument("--number", type=int, default=5000, help="calls per run [5000]")
    parser.add_argument("--repeat", type=int, default=7, help="runs per side, in turns; the best is shown [7]")
    args = parser.parse_args(argv)
    print("Responses translation steps beside Chat ones (µs CPU per call, best of the runs; serve's inputs)")
    print(f"  {'step':36} {'responses':>10} {'chat':>8} {'responses/chat':>15}")
    gc.disable()  # collections land on whichever side runs then: left out of both
    try:
        for name, responses_call, chat_call in steps():
            mine: list[float] = []
            theirs: list[float] = []
            for _ in range(args.repeat):
                mine.append(_cpu_us(responses_call, args.number))
                if chat_call is not None:
                    theirs.append(_cpu_us(chat_call, args.number))
            if theirs:
                print(f"  {name:36} {min(mine):10.2f} {min(theirs):8.2f} {min(mine) / min(theirs):14.2f}x")
            else:
                print(f"  {name:36} {min(mine):10.2f} {'-':>8} {'-':>15}")
    finally:
        gc.enable()


if __name__ == "__main__":
    main()
