"""What `protoshift serve` adds to a request, side by side with LiteLLM's proxy, on the same fake.

    uv run --group bench python -m benchmarks.serve [--quick] [--no-litellm] [--requests-for-memory N]

Three processes besides this one: a zero-latency fake Anthropic (`--upstream`, raw asyncio: JSON,
or 20 SSE events when the body asks for a stream), the gateway under test, and the load generator
(`--load`, a raw asyncio HTTP/1.1 client with keep-alive, its own process so its CPU is not the
gateway's). Everything on 127.0.0.1.

- added latency: the same chat, straight to the fake (as an Anthropic request) vs through the
  gateway (as an OpenAI request), at a fixed rate of 50 and 200 requests/s (open loop: latency is
  counted from when a request was due, so a stall is not hidden); p50 and p99 of the difference.
  Direct, the floor and protoshift are measured in turns, in ROUNDS short rounds, and each figure
  is the median of its rounds: on a shared VM the floor alone moves by a millisecond between
  minutes, so figures taken minutes apart do not subtract.
- sustained: requests/s with 64 clients back to back, JSON and streaming, 1 and 2 workers.
- memory: the gateway's RSS after a warm-up and after N more requests (default 100,000).
- the floor: benchmarks.passthrough (uvicorn + aiohttp forwarding bytes, none of protoshift's work)
  at the same rates: what the extra hop alone costs on this machine.

Targets (issue 13, 2 cores): p50 added < 1 ms at 50 req/s; >= 5x LiteLLM proxy's sustained
requests/s; memory flat over 100,000 requests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .fastserver import MESSAGE_OBJECT

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent

# -- the fake upstream ------------------------------------------------------------------------------

_MESSAGE = MESSAGE_OBJECT  # the same answer as the batch benchmarks' fake


def _sse_body(deltas: int = 20) -> bytes:
    start = {**_MESSAGE, "content": [], "stop_reason": None, "usage": {"input_tokens": 12, "output_tokens": 1}}
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        *(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f"w{i} "}}
            for i in range(deltas)
        ),
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": deltas},
        },
        {"type": "message_stop"},
    ]
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def _response(body: bytes, content_type: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: " + content_type + b"\r\nrequest-id: req_bench\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


_JSON_REPLY = _response(json.dumps(_MESSAGE).encode(), b"application/json")
_SSE_REPLY = _response(_sse_body(), b"text/event-stream")


async def _upstream_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            match = re.search(rb"(?i)content-length:\s*(\d+)", head)
            body = await reader.readexactly(int(match.group(1))) if match else b""
            writer.write(_SSE_REPLY if b'"stream":true' in body.replace(b" ", b"") else _JSON_REPLY)
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def _run_upstream() -> None:
    server = await asyncio.start_server(_upstream_connection, "127.0.0.1", 0, backlog=2048)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


# -- the load generator -----------------------------------------------------------------------------


@dataclass
class Load:
    host: str
    port: int
    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def request(self) -> bytes:
        lines = [f"POST {self.path} HTTP/1.1", f"host: {self.host}:{self.port}", "content-type: application/json"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        lines.append(f"content-length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> tuple[int, float]:
    """One request on a kept-alive connection: (status, when the first body bytes came)."""
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    first = 0.0
    length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
    if length:
        await reader.readexactly(int(length.group(1)))
        first = time.perf_counter()
    else:  # chunked: uvicorn's streamed responses
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            await reader.readexactly(size + 2)
            first = first or time.perf_counter()
    return status, first


async def _closed_loop(load: Load, clients: int, seconds: float) -> dict[str, Any]:
    raw = load.request()
    done = errors = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal done, errors
        reader, writer = await asyncio.open_connection(load.host, load.port)
        while time.perf_counter() < deadline:
            status, _ = await _exchange(reader, writer, raw)
            done += 1
            errors += status != 200
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return {"requests": done, "errors": errors, "rps": done / (time.perf_counter() - started)}


async def _open_loop(load: Load, rate: float, seconds: float) -> dict[str, Any]:
    """Requests due every 1/rate s; latency from when each was due to its last byte."""
    raw = load.request()
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    latencies: list[float] = []
    firsts: list[float] = []
    errors = 0

    async def one(due: float) -> None:
        nonlocal errors
        conn = idle.pop() if idle else await asyncio.open_connection(load.host, load.port)
        status, first = await _exchange(*conn, raw)
        end = time.perf_counter()
        idle.append(conn)
        latencies.append(end - due)
        firsts.append(first - due)
        errors += status != 200

    tasks = []
    start = time.perf_counter() + 0.05
    for i in range(int(rate * seconds)):
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.gather(*tasks)
    for _, writer in idle:
        writer.close()
    return {
        "requests": len(latencies),
        "errors": errors,
        "latency": _percentiles(latencies),
        "first": _percentiles(firsts),
    }


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"p50": pick(0.50), "p90": pick(0.90), "p99": pick(0.99)}


def _run_load(spec: dict[str, Any]) -> None:
    load = Load(spec["host"], spec["port"], spec["path"], spec["body"].encode(), spec.get("headers", {}))
    if spec["mode"] == "rate":
        result = asyncio.run(_open_loop(load, spec["rate"], spec["seconds"]))
    else:
        result = asyncio.run(_closed_loop(load, spec["clients"], spec["seconds"]))
    print(json.dumps(result), flush=True)


def load(
    url: str, path: str, body: dict[str, Any], headers: dict[str, str] | None = None, **mode: Any
) -> dict[str, Any]:
    """Run the load generator in its own process; its JSON result."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    spec = {"host": host, "port": int(port), "path": path, "body": json.dumps(body), "headers": headers or {}, **mode}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.serve", "--load", json.dumps(spec)],
        capture_output=True, text=True, cwd=ROOT, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)  # type: ignore[no-any-return]


# -- the servers under test ---------------------------------------------------------------------------


@contextlib.contextmanager
def upstream() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.serve", "--upstream"], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert proc.stdout is not None
        yield f"http://127.0.0.1:{int(proc.stdout.readline())}"
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def protoshift_serve(upstream_url: str, workers: int) -> Iterator[tuple[str, int]]:
    env = {
        **os.environ,
        "ANTHROPIC_BASE_URL": upstream_url,
        "ANTHROPIC_API_KEY": "bench-key",
        "PROTOSHIFT_BREAKER": "off",
    }
    with tempfile.TemporaryDirectory() as tmp:
        env["XDG_STATE_HOME"] = tmp
        env["PROTOSHIFT_CONFIG"] = str(Path(tmp) / "none.toml")
        args = [str(VENV_BIN / "protoshift"), "serve", "--port", "0", "--workers", str(workers), "--max-retries", "0"]
        args += ["--log", os.devnull, "--max-in-flight", "4096"]
        proc = subprocess.Popen(args, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        try:
            assert proc.stderr is not None
            line = proc.stderr.readline()
            match = re.search(r"on (http://[^ ]+)/v1 ", line)
            assert match, line
            yield match.group(1), proc.pid
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)


@contextlib.contextmanager
def passthrough(upstream_url: str) -> Iterator[str]:
    """benchmarks.passthrough on uvicorn: the stack `serve` runs on, with none of protoshift's work."""
    port = _free_port()
    args = [sys.executable, "-m", "uvicorn", "benchmarks.passthrough:app", "--port", str(port)]
    args += ["--loop", "uvloop", "--http", "httptools", "--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(args, env={**os.environ, "UPSTREAM": upstream_url}, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy_post(url, proc, seconds=30)
        yield url
    finally:
        proc.terminate()
        proc.wait(20)


def _wait_healthy_post(url: str, proc: subprocess.Popen[Any], seconds: float) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited ({proc.returncode})")
        with contextlib.suppress(OSError):
            urllib.request.urlopen(urllib.request.Request(url + "/v1/chat/completions", data=b"{}"), timeout=2).close()
            return
        time.sleep(0.2)
    raise RuntimeError(f"{url}: not answering after {seconds:g}s")


@contextlib.contextmanager
def litellm_proxy(upstream_url: str, workers: int) -> Iterator[tuple[str, int]]:
    port = _free_port()
    config = (
        "model_list:\n  - model_name: bench\n    litellm_params:\n      model: anthropic/claude-bench\n"
        f"      api_base: {upstream_url}\n      api_key: bench-key\n"
        "litellm_settings:\n  telemetry: false\n  drop_params: true\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "litellm.yaml"
        path.write_text(config)
        env = {
            **os.environ,
            "LITELLM_LOG": "ERROR",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_TELEMETRY": "False",
            "LITELLM_MASTER_KEY": LITELLM_KEY,  # the proxy refuses to start without one
        }
        args = [str(VENV_BIN / "litellm"), "--config", str(path), "--port", str(port), "--num_workers", str(workers)]
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_healthy(url + "/health/liveliness", proc, seconds=120)
            yield url, proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_healthy(url: str, proc: subprocess.Popen[Any], seconds: float) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited ({proc.returncode})")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2):
            return
        time.sleep(0.5)
    raise RuntimeError(f"{url}: not healthy after {seconds:g}s")


def rss_mb(pid: int) -> float:
    """Resident memory of `pid` and its children (the workers), MB."""
    total = 0.0
    pids = [pid, *_children(pid)]
    for p in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
    return total


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


# -- the run ------------------------------------------------------------------------------------------

CHAT = {"model": "bench", "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 64}
DIRECT = {
    "model": "claude-bench",
    "messages": [{"role": "user", "content": [{"type": "text", "text": "Say hello."}]}],
    "max_tokens": 64,
}
ANTHROPIC_HEADERS = {"x-api-key": "bench-key", "anthropic-version": "2023-06-01"}
LITELLM_KEY = "sk-bench-" + "0" * 32
FLOOR = "bare uvicorn+aiohttp"  # benchmarks.passthrough: the hop, without protoshift's work


@dataclass
class Figures:
    rate: dict[str, dict[str, Any]] = field(default_factory=dict)  # "direct@50" -> result
    sustained: dict[str, dict[str, Any]] = field(default_factory=dict)  # "protoshift 1w json" -> result
    memory: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


RATES = (50, 200)
_Target = tuple[str, str, dict[str, Any], dict[str, str] | None]  # base URL, path, body, headers
ROUNDS = 4  # the rate measurements, taken in turns: what drifts on a shared machine drifts for all


def run(*, quick: bool = False, litellm: bool = True, memory_requests: int = 100_000) -> Figures:
    figures = Figures()
    rate_seconds, sustain_seconds = (3.0, 3.0) if quick else (10.0, 8.0)
    with upstream() as fake:
        with contextlib.ExitStack() as servers:
            ours, pid = servers.enter_context(protoshift_serve(fake, 1))
            targets: dict[str, _Target] = {"direct": (fake, "/v1/messages", DIRECT, ANTHROPIC_HEADERS)}
            try:
                targets[FLOOR] = (servers.enter_context(passthrough(fake)), "/v1/chat/completions", CHAT, None)
            except Exception as exc:
                figures.errors[FLOOR] = f"{type(exc).__name__}: {exc}"
            targets["protoshift 1w"] = (ours, "/v1/chat/completions", CHAT, None)
            _rates_in_turns(figures, targets, rate_seconds)
            _measure(figures, "protoshift 1w", ours, rate_seconds, sustain_seconds, rates=False)
            _memory(figures, ours, pid, 2_000 if quick else memory_requests)
        with protoshift_serve(fake, 2) as (url, _):
            _measure(figures, "protoshift 2w", url, rate_seconds, sustain_seconds, rates=False)
        if litellm:
            for workers in (1, 2):
                try:
                    with litellm_proxy(fake, workers) as (url, _):
                        headers = {"authorization": f"Bearer {LITELLM_KEY}"}
                        _measure(
                            figures,
                            f"litellm {workers}w",
                            url,
                            rate_seconds,
                            sustain_seconds,
                            rates=workers == 1,
                            headers=headers,
                        )
                except Exception as exc:  # a proxy that does not start is a figure we do not have, said so
                    figures.errors[f"litellm {workers}w"] = f"{type(exc).__name__}: {exc}"
    return figures


def _rates_in_turns(figures: Figures, targets: dict[str, _Target], seconds: float) -> None:
    """Straight to the fake, through the bare stack and through protoshift, at each rate, in turns
    (ROUNDS rounds of `seconds / ROUNDS` each): each figure is the median of its rounds."""
    for url, path, body, headers in targets.values():
        if url != targets["direct"][0]:
            load(url, path, body, headers, mode="clients", clients=8, seconds=1.0)  # warm-up
    rounds: dict[str, list[dict[str, Any]]] = {}
    for _ in range(ROUNDS):
        for rate in RATES:
            for name, (url, path, body, headers) in targets.items():
                result = load(url, path, body, headers, mode="rate", rate=rate, seconds=seconds / ROUNDS)
                rounds.setdefault(f"{name}@{rate}", []).append(result)
    for key, results in rounds.items():
        figures.rate[key] = {
            "latency": {q: statistics.median(r["latency"][q] for r in results) for q in ("p50", "p99")},
            "rounds_p50": [r["latency"]["p50"] for r in results],
            "errors": sum(r["errors"] for r in results),
        }


def _measure(
    figures: Figures,
    name: str,
    url: str,
    rate_seconds: float,
    sustain_seconds: float,
    *,
    rates: bool,
    headers: dict[str, str] | None = None,
) -> None:
    path = "/v1/chat/completions"
    load(url, path, CHAT, headers, mode="clients", clients=8, seconds=1.0)  # warm-up
    if rates:
        for rate in RATES:
            figures.rate[f"{name}@{rate}"] = load(
                url, path, CHAT, headers, mode="rate", rate=rate, seconds=rate_seconds
            )
    for kind, body in (("json", CHAT), ("stream", {**CHAT, "stream": True})):
        figures.sustained[f"{name} {kind}"] = load(
            url, path, body, headers, mode="clients", clients=64, seconds=sustain_seconds
        )


def _memory(figures: Figures, url: str, pid: int, requests: int) -> None:
    load(url, "/v1/chat/completions", CHAT, mode="clients", clients=64, seconds=2.0)
    figures.memory["after warm-up MB"] = rss_mb(pid)
    done = 0
    while done < requests:
        result = load(url, "/v1/chat/completions", CHAT, mode="clients", clients=64, seconds=5.0)
        done += result["requests"]
    figures.memory["requests"] = done
    figures.memory[f"after {done:,} requests MB"] = rss_mb(pid)


def text(figures: Figures) -> str:
    lines = [
        "serve: added latency (through the gateway minus straight to the fake), ms;"
        f" direct, the bare stack and protoshift in turns, median of {ROUNDS} rounds each"
    ]
    for rate in RATES:
        direct = figures.rate.get(f"direct@{rate}", {}).get("latency", {})
        for name in ("protoshift 1w", FLOOR, "litellm 1w"):
            through = figures.rate.get(f"{name}@{rate}", {}).get("latency")
            if through and direct:
                added = {q: through[q] - direct[q] for q in ("p50", "p99")}
                lines.append(f"  {rate:>3} req/s  {name:<24} p50 +{added['p50']:.2f}  p99 +{added['p99']:.2f}"
                             f"  (direct p50 {direct['p50']:.2f}, p99 {direct['p99']:.2f})")  # fmt: skip
    ours, floor, direct = (figures.rate.get(f"{k}@50", {}).get("latency") for k in ("protoshift 1w", FLOOR, "direct"))
    if ours and direct:
        added = ours["p50"] - direct["p50"]
        verdict = "MET" if added < 1.0 else "MISSED"
        lines.append(f"  target p50 added < 1 ms at 50 req/s: +{added:.2f} ms {verdict}"
                     + (f" (the bare stack alone: +{floor['p50'] - direct['p50']:.2f} ms)" if floor else ""))  # fmt: skip
    lines.append("serve: sustained requests/s, 64 clients back to back")
    for name, result in figures.sustained.items():
        errors = f", {result['errors']} errors" if result["errors"] else ""
        lines.append(f"  {name:<24} {result['rps']:>8.0f}{errors}")
    for kind in ("json", "stream"):
        ours, theirs = figures.sustained.get(f"protoshift 1w {kind}"), figures.sustained.get(f"litellm 1w {kind}")
        if ours and theirs and theirs["rps"]:
            lines.append(
                f"  {kind}: protoshift / LiteLLM proxy (1 worker each) = {ours['rps'] / theirs['rps']:.1f}x (target 5x)"
            )
    if figures.memory:
        lines.append(
            "serve: memory of the gateway (1 worker) " + ", ".join(f"{k}: {v:,.1f}" for k, v in figures.memory.items())
        )
    for name, error in figures.errors.items():
        lines.append(f"  {name}: not measured ({error})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-litellm", action="store_true")
    parser.add_argument("--requests-for-memory", type=int, default=100_000)
    parser.add_argument("--upstream", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--load", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.upstream:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_run_upstream())
        return
    if args.load:
        _run_load(json.loads(args.load))
        return
    figures = run(quick=args.quick, litellm=not args.no_litellm, memory_requests=args.requests_for_memory)
    print(text(figures))


if __name__ == "__main__":
    main()
