"""Issue 20's per-request target read where the issue puts it: a `/v1/responses` request through LiteLLM's proxy
(its Responses bridge) beside the same request through `protoshift serve`, CPU per request from /proc.

    uv run --group bench python -m benchmarks.serve --only-litellm-responses [--quick] [--rounds N] [--json PATH]

Two upstreams, both the zero-latency fake of benchmarks/serve.py (one process, by path): Claude (Anthropic
Messages) and a chat model (an OpenAI-compatible Chat Completions server). One LiteLLM proxy with both models
(`anthropic/claude-bench`; `openai/chat_completions/bench-chat`, the spelling that makes it bridge Responses to
the server's /chat/completions), and one `protoshift serve` per upstream (`-b anthropic`, `-b openai`), each one
worker. Two requests, each as JSON and as a stream: serve.py's "Say hello." (`RESPONSES`, store left to its
default: protoshift keeps it, LiteLLM's proxy without a database does not) and the Codex turn of
benchmarks/responses.py (a 17 KB developer prompt, function tools with a namespace, a custom apply_patch,
web_search, a history of calls with reasoning items; `store: false`; the same tools every request, as in a
session: protoshift reuses their translation, so a session's first turn is not what this measures). Every gateway and kind in turns in the
same rounds (16 clients back to back: CLIENTS says why), each figure the median of its rounds, the
ratio the median of the rounds' own LiteLLM/protoshift. Before measuring, the fake's request log must show
each upstream's requests on its own path (/v1/messages, /v1/chat/completions) and none on /responses.

Per stream event: each side's CPU per request over the Responses events it sends for that stream (counted
once on a request of its own).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import statistics
from typing import Any

from . import serve
from .responses import requests as responses_requests

TARGET = 10.0  # issue 20: LiteLLM's CPU per request and per stream event at least 10x protoshift's
UPSTREAMS = {"anthropic": "Claude (Anthropic Messages)", "chat": "a chat model (Chat Completions)"}
MODELS = {"anthropic": serve.CHAT["model"], "chat": serve.CHAT_MODEL}  # as LiteLLM's proxy names them
BACKENDS = {"anthropic": "anthropic", "chat": "openai"}  # protoshift serve's backend for each upstream
UPSTREAM_PATHS = {"anthropic": "POST /v1/messages", "chat": "POST /v1/chat/completions"}
LITELLM = "litellm 1w"
# Clients back to back on each gateway (serve.py's other tables: 64). LiteLLM's proxy answers 10-40 of these
# requests a second on one worker here: with 64 clients each of its rounds would last 64 requests at least
# (several seconds), whatever the round's length; 16 keep it close to that length and each side busy.
CLIENTS = 16


def protoshift_name(upstream: str) -> str:
    return f"protoshift:{upstream} 1w"


def bodies(upstream: str) -> dict[str, dict[str, Any]]:
    """The requests measured on `upstream`, by name (JSON; a stream kind adds `stream: true`)."""
    codex = {**responses_requests()["Codex turn"], "model": MODELS[upstream]}
    codex.pop("stream", None)
    return {"hello": {**serve.RESPONSES, "model": MODELS[upstream]}, "Codex turn": codex}


def kinds(upstream: str) -> tuple[serve.Kind, ...]:
    """`(label, path, body)`: "chat Codex turn stream", ..."""
    out: list[serve.Kind] = []
    for name, body in bodies(upstream).items():
        out.append((f"{upstream} {name} json", serve.RESPONSES_PATH, body))
        out.append((f"{upstream} {name} stream", serve.RESPONSES_PATH, {**body, "stream": True}))
    return tuple(out)


def _post(url: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.request("POST", serve.RESPONSES_PATH, json.dumps(body), {"content-type": "application/json", **headers})
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


def count_events(sse: bytes) -> int:
    """Server-sent events in a body (each `data:` line one event; a closing `[DONE]` is not an event)."""
    lines = sse.replace(b"\r\n", b"\n").split(b"\n")
    return sum(1 for line in lines if line.startswith(b"data:") and line[5:].strip() != b"[DONE]")


def check_routes(fake: str, targets: dict[str, str], headers: dict[str, str]) -> None:
    """One request of each kind through each gateway: each answers 200 and reaches the upstream on the
    upstream's own path, nothing on another (LiteLLM passing /v1/responses through would show as /responses)."""
    for upstream in UPSTREAMS:
        for name in (protoshift_name(upstream), LITELLM):
            for label, _, body in kinds(upstream):
                before = serve.upstream_paths(fake)
                status, answer = _post(targets[name], body, headers)
                after = serve.upstream_paths(fake)
                sent = {p: n - before.get(p, 0) for p, n in after.items() if n != before.get(p, 0)}
                sent.pop("GET /__paths", None)
                if status != 200:
                    raise serve.BenchError(f"{name}, {label}: answered {status}: {answer[:200]!r}")
                if sent != {UPSTREAM_PATHS[upstream]: 1}:
                    raise serve.BenchError(
                        f"{name}, {label}: the fake was sent {sent}, not one {UPSTREAM_PATHS[upstream]}"
                    )


def _stream_events(figures: serve.Figures, targets: dict[str, str], headers: dict[str, str]) -> None:
    for upstream in UPSTREAMS:
        for name in (protoshift_name(upstream), LITELLM):
            for label, _, body in kinds(upstream):
                if body.get("stream"):
                    figures.stream_events[f"{name} {label}"] = count_events(_post(targets[name], body, headers)[1])


def run(*, quick: bool = False, rounds: int = serve.ROUNDS) -> serve.Figures:
    """Both gateways on both upstreams, every kind in turns in the same rounds."""
    mine = serve.this_checkout()
    figures = serve.Figures(sides={"protoshift": mine.label}, rounds=rounds, clients=CLIENTS)
    _, sustain_round = serve.ROUND_SECONDS[quick]
    headers = {"authorization": f"Bearer {serve.LITELLM_KEY}"}  # LiteLLM's; serve without --api-key ignores it
    with serve.upstream() as fake, contextlib.ExitStack() as servers:
        targets: dict[str, str] = {}
        pids: dict[str, int] = {}
        for upstream, backend in BACKENDS.items():
            url, pid = servers.enter_context(serve.protoshift_serve(mine, fake, 1, backend))
            targets[protoshift_name(upstream)], pids[protoshift_name(upstream)] = url, pid
        serve._say("LiteLLM's proxy (start-up takes a while)")
        targets[LITELLM], pids[LITELLM] = servers.enter_context(serve.litellm_proxy(fake, 1))
        figures.sides["litellm"] = f"LiteLLM {_litellm_version()} proxy, 1 worker"
        check_routes(fake, targets, headers)
        _stream_events(figures, targets, headers)
        of = {protoshift_name(u): kinds(u) for u in UPSTREAMS} | {
            LITELLM: tuple(k for u in UPSTREAMS for k in kinds(u))
        }
        serve._say(f"/v1/responses, {rounds} rounds of {', '.join(targets)}")
        serve._sustained_in_turns(figures, targets, sustain_round, rounds, headers, pids, of, CLIENTS)
        log = serve.upstream_paths(fake)
    log.pop("GET /__paths", None)
    figures.notes.append("the fake's request log over the run: " + ", ".join(f"{p} {n:,}" for p, n in log.items()))
    return figures


def _litellm_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("litellm")
    except PackageNotFoundError:
        return "(version unknown)"


def ratios(figures: serve.Figures, upstream: str, label: str) -> tuple[list[float], list[float]] | None:
    """The rounds' own LiteLLM/protoshift CPU per request, and per Responses event (streams; else empty)."""
    mine = figures.sustained.get(f"{protoshift_name(upstream)} {label}")
    theirs = figures.sustained.get(f"{LITELLM} {label}")
    if not (mine and theirs and "rounds_cpu_us" in mine and "rounds_cpu_us" in theirs):
        return None
    per_request = serve._paired(theirs, mine, "rounds_cpu_us")
    events_mine = figures.stream_events.get(f"{protoshift_name(upstream)} {label}")
    events_theirs = figures.stream_events.get(f"{LITELLM} {label}")
    per_event = [x * events_mine / events_theirs for x in per_request] if events_mine and events_theirs else []
    return per_request, per_event


def _errors(figures: serve.Figures, upstream: str, label: str) -> int:
    keys = (f"{protoshift_name(upstream)} {label}", f"{LITELLM} {label}")
    return sum(figures.sustained.get(key, {}).get("errors", 0) for key in keys)


def _met(x: float) -> str:
    return "MET" if x >= TARGET else "MISSED"


def text(figures: serve.Figures) -> list[str]:
    """The table (a row per upstream, request and kind) and the verdicts (per upstream and kind)."""
    rows: list[tuple[str, ...]] = []
    worst: dict[tuple[str, str], tuple[float, str]] = {}  # (upstream, "json" / "stream" / "stream event") -> worst
    for upstream in UPSTREAMS:
        for label, _, _ in kinds(upstream):
            found = ratios(figures, upstream, label)
            if found is None:
                continue
            per_request, per_event = found
            mine = figures.sustained[f"{protoshift_name(upstream)} {label}"]["cpu_us"]
            theirs = figures.sustained[f"{LITELLM} {label}"]["cpu_us"]
            events = [figures.stream_events.get(f"{n} {label}") for n in (protoshift_name(upstream), LITELLM)]
            errors = _errors(figures, upstream, label)
            x = statistics.median(per_request)
            rows.append((
                label,
                f"{theirs:,.0f}",
                f"{mine:,.0f}",
                serve._ratio_cell(per_request),
                f"{events[0]}/{events[1]}" if all(events) else "-",
                serve._ratio_cell(per_event) if per_event else "-",
                f"{errors} errors" if errors else _met(x),
            ))  # fmt: skip
            kind = label.rsplit(" ", 1)[1]
            readings = [(kind, x)] + ([("stream event", statistics.median(per_event))] if per_event else [])
            for what, reading in readings:
                key, value = (upstream, what), 0.0 if errors else reading  # with failed requests: meets nothing
                if key not in worst or value < worst[key][0]:
                    worst[key] = (value, label)
    if not rows:
        return []
    heads = ("upstream request kind", "LiteLLM CPU µs", "protoshift CPU µs", "LiteLLM/protoshift",
             "events p/L", "per event", "target")  # fmt: skip
    widths = [max(len(row[i]) for row in [heads, *rows]) for i in range(len(heads))]
    lines = [
        "serve: issue 20's CPU per request end to end, /v1/responses through LiteLLM's proxy (its Responses bridge)"
        " and through protoshift serve, on the same zero-latency fake, 1 worker each, in turns in the same rounds"
        f" ({figures.rounds} rounds of {figures.clients} clients; CPU per request from /proc, medians; LiteLLM/protoshift: the median"
        " (min-max) of the rounds' own ratios; events p/L: Responses events in one stream, protoshift/LiteLLM;"
        " per event: the ratio of CPU per Responses event)",
        *(f"  {key}: {label}" for key, label in figures.sides.items()),
        *(f"  upstream {name}: {label}" for name, label in UPSTREAMS.items()),
    ]
    for row in [heads, *rows]:
        lines.append(
            "  " + "  ".join([row[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True))])
        )
    for (upstream, what), (x, label) in worst.items():
        per = "stream event" if what == "stream event" else f"request ({what})"
        lines.append(
            f"  target (issue 20) LiteLLM's CPU per {per} >= {TARGET:g}x protoshift's, {UPSTREAMS[upstream]}:"
            f" worst {x:.1f}x ({label}) -> {_met(x)}"
        )
    if worst:
        x, label = min(worst.values())
        lines.append(
            f"  issue 20, end to end through each gateway's /v1/responses: {_met(x)} (worst {x:.1f}x, {label})"
        )
    return lines
