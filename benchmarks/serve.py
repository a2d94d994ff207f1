"""What `protoshift serve` adds to a request, side by side with LiteLLM's proxy, on the same fake;
with `--baseline REF`, beside another commit's `protoshift serve` in the same run (before and after).

    uv run --group bench python -m benchmarks.serve [--quick] [--no-litellm] [--requests-for-memory N]
    uv run python -m benchmarks.serve --baseline main [--only-sustained] [--quick] [--workers 1] [--json PATH]
    uv run python -m benchmarks.serve --only-responses [--quick] [--responses-body JSON]...
    uv run python -m benchmarks.serve --state-compare [--quick] [--rounds N] [--json PATH]
    uv run --group bench python -m benchmarks.serve --only-litellm-responses [--quick] [--rounds N] [--json PATH]

Three processes besides this one: a zero-latency fake upstream (`--upstream`, raw asyncio: Anthropic's
Messages API, and an OpenAI-compatible Chat Completions server on `.../chat/completions`; JSON, or 20 text
deltas as SSE when the body asks for a stream), the gateway under test, and the load generator
(`--load`, a raw asyncio HTTP/1.1 client with keep-alive, its own process so its CPU is not the
gateway's). Everything on 127.0.0.1.

- added latency: the same chat, straight to the fake (as an Anthropic request) vs through the
  gateway (as an OpenAI request), at a fixed rate of 50 and 200 requests/s (open loop: latency is
  counted from when a request was due, so a stall is not hidden); p50 and p99 of the difference.
  Direct, the floor and protoshift are measured in turns, in short rounds (--rounds, 4), and each figure
  is the median of its rounds: on a shared VM the floor alone moves by a millisecond between
  minutes, so figures taken minutes apart do not subtract.
- sustained: requests/s with 64 clients back to back, JSON and streaming, 1 and 2 workers; the
  gateways of one worker count in turns too, median of the rounds; the gateway's CPU per request.
- the Responses surface (issue 20): in the same rounds, each chat kind followed by `/v1/responses` (JSON and
  stream, `RESPONSES`) on the same gateway and fake; a table of responses/chat for req/s and CPU per
  request (the rounds' own ratios), target within 1.3x. `--only-responses` takes these alone (1 worker),
  `--responses-body JSON` (repeatable) says what is sent; a check afterwards that the answers were kept.
- `--only-litellm-responses` (issue 20's CPU per request, end to end): `/v1/responses` through LiteLLM's
  proxy (its Responses bridge) and through `protoshift serve`, on Claude and on a chat model, "Say hello."
  and a Codex turn, JSON and stream, in turns; LiteLLM/protoshift per upstream and kind, target >= 10x
  (benchmarks/responses_e2e.py says what exactly). About 1.5 minutes with `--quick`.
- memory: the gateway's RSS after a warm-up and after N more requests (default 100,000).
- the floor: benchmarks.passthrough (uvicorn + aiohttp forwarding bytes, none of protoshift's work)
  at the same rates: what the extra hop alone costs on this machine.
- `--baseline REF` (a branch, tag or commit): REF is checked out in a throwaway `git worktree` in a
  temporary directory, given its own venv there (`uv sync --frozen --no-dev`: about 2 s with uv's
  cache warm) and removed at the end, Ctrl-C and SIGTERM included. Each side runs its own console
  script from its own checkout with the flags its own `serve --help` lists; the fake, the load
  generator and the requests are this process's, the same for both. The two gateways take their
  turns in the same rounds (the order reversed every other round), and a table gives before,
  after and after/before. `--only-sustained` measures requests/s alone (no rates, memory or
  LiteLLM): a before/after comparison in about 1.5 minutes, 40 s with `--quick`.

- `--state-compare` (issue 22): this checkout's `serve` twice, one worker each, the breaker on in both:
  local state (no --state: the breaker's file) and `--state redis://` on a `redis-server` the benchmark
  starts on a free loopback port and stops after. req/s and CPU per request (64 clients, JSON and stream)
  in turns; p50/p99 at 50 and 200 req/s with both gateways' requests interleaved in one open loop, so each
  round's two figures are taken under the same conditions; what the redis side asked of Redis (INFO
  commandstats) per request; the verdict on issue 22's target.

Targets (issue 13, 2 cores): p50 added < 1 ms at 50 req/s; >= 5x LiteLLM proxy's sustained
requests/s; memory flat over 100,000 requests. Issue 20: `/v1/responses` within 1.3x of
`/v1/chat/completions` (req/s and CPU per request) on the same backend. Issue 22: with `--state redis://`,
JSON req/s on one worker >= 80% of local state's, p50 at most 0.3 ms more.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from .fastserver import MESSAGE_OBJECT

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent

# -- the fake upstream ------------------------------------------------------------------------------
# One process answers both protocols, by path: `.../chat/completions` as an OpenAI-compatible Chat Completions
# server, anything else as Anthropic's Messages API; each JSON or, when the body asks for a stream, SSE (20 text
# deltas). The same answer either way (fastserver's message: its text, model and usage). `GET /__paths`: the
# requests it was sent so far, by path (what a gateway really called upstream).

_MESSAGE: dict[str, Any] = MESSAGE_OBJECT  # the same answer as the batch benchmarks' fake
DELTAS = 20  # text deltas in a streamed answer


def _delta_texts(deltas: int = DELTAS) -> list[str]:
    return [f"w{i} " for i in range(deltas)]


def _sse_body(deltas: int = DELTAS) -> bytes:
    start = {**_MESSAGE, "content": [], "stop_reason": None, "usage": {"input_tokens": 12, "output_tokens": 1}}
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        *(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}
            for text in _delta_texts(deltas)
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


def _chat_usage(output_tokens: int) -> dict[str, int]:
    input_tokens = _MESSAGE["usage"]["input_tokens"]
    return {
        "prompt_tokens": input_tokens,
        "completion_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
    }


def _chat_completion() -> dict[str, Any]:
    """The fake Anthropic's message as an OpenAI-compatible server gives it."""
    message = {"role": "assistant", "content": _MESSAGE["content"][0]["text"]}
    return {
        "id": "chatcmpl-bench01",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": _MESSAGE["model"],
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
        "usage": _chat_usage(_MESSAGE["usage"]["output_tokens"]),
    }


def _chat_sse_body(deltas: int = DELTAS) -> bytes:
    """The same stream as Chat Completions chunks: a role chunk, the deltas, the finish, usage (as servers send
    it when `stream_options.include_usage` is asked; sent always), then `[DONE]`."""
    base = {"id": "chatcmpl-bench01", "object": "chat.completion.chunk", "created": 1_700_000_000,
            "model": _MESSAGE["model"]}  # fmt: skip

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    chunks = [
        chunk({"role": "assistant", "content": ""}),
        *(chunk({"content": text}) for text in _delta_texts(deltas)),
        chunk({}, "stop"),
        {**base, "choices": [], "usage": _chat_usage(deltas)},
    ]
    return b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"


def _response(body: bytes, content_type: bytes, status: bytes = b"200 OK") -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: " + content_type + b"\r\nrequest-id: req_bench\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


_JSON_REPLY = _response(json.dumps(_MESSAGE).encode(), b"application/json")
_SSE_REPLY = _response(_sse_body(), b"text/event-stream")
_CHAT_JSON_REPLY = _response(json.dumps(_chat_completion()).encode(), b"application/json")
_CHAT_SSE_REPLY = _response(_chat_sse_body(), b"text/event-stream")
# A Responses API call is not this fake's to answer: a gateway that passes /v1/responses through (rather than
# bridging it to Chat Completions) gets an error it cannot hide, and the request log shows the path.
_NOT_HERE = _response(
    json.dumps({"error": {"message": "no Responses API here", "type": "invalid_request_error"}}).encode(),
    b"application/json",
    b"404 Not Found",
)
_paths: dict[str, int] = {}  # "POST /v1/chat/completions" -> requests so far


def _reply(head: bytes, body: bytes) -> bytes:
    method, path = head.split(b" ", 2)[:2]
    line = f"{method.decode()} {path.decode().split('?', 1)[0]}"
    _paths[line] = _paths.get(line, 0) + 1
    if method == b"GET" and path == b"/__paths":
        return _response(json.dumps(_paths).encode(), b"application/json")
    stream = b'"stream":true' in body.replace(b" ", b"")
    if path.endswith(b"/chat/completions"):
        return _CHAT_SSE_REPLY if stream else _CHAT_JSON_REPLY
    if path.endswith(b"/responses"):
        return _NOT_HERE
    return _SSE_REPLY if stream else _JSON_REPLY


async def _upstream_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            match = re.search(rb"(?i)content-length:\s*(\d+)", head)
            body = await reader.readexactly(int(match.group(1))) if match else b""
            writer.write(_reply(head, body))
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def _run_upstream() -> None:
    server = await asyncio.start_server(_upstream_connection, "127.0.0.1", 0, backlog=2048)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def upstream_paths(url: str) -> dict[str, int]:
    """The fake's request log: requests by method and path so far (its own `GET /__paths` included)."""
    with _opener().open(url + "/__paths", timeout=10) as answer:
        paths: dict[str, int] = json.loads(answer.read())
        return paths


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


async def _open_loop(loads: list[Load], rate: float, seconds: float) -> list[dict[str, Any]]:
    """Requests due every 1/rate s to each load; latency from when each was due to its last byte. Several
    loads' requests are interleaved (0, 1, 0, 1, ...): what the machine does meanwhile weighs on each alike."""
    raws = [load.request() for load in loads]
    idle: list[list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = [[] for _ in loads]
    latencies: list[list[float]] = [[] for _ in loads]
    firsts: list[list[float]] = [[] for _ in loads]
    errors = [0 for _ in loads]

    async def one(at: int, due: float) -> None:
        load = loads[at]
        conn = idle[at].pop() if idle[at] else await asyncio.open_connection(load.host, load.port)
        status, first = await _exchange(*conn, raws[at])
        end = time.perf_counter()
        idle[at].append(conn)
        latencies[at].append(end - due)
        firsts[at].append(first - due)
        errors[at] += status != 200

    tasks = []
    start = time.perf_counter() + 0.05
    step = 1 / (rate * len(loads))
    for i in range(int(rate * seconds) * len(loads)):
        due = start + i * step
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(one(i % len(loads), due)))
    await asyncio.gather(*tasks)
    for conns in idle:
        for _, writer in conns:
            writer.close()
    return [
        {"requests": len(took), "errors": failed, "latency": _percentiles(took), "first": _percentiles(first)}
        for took, first, failed in zip(latencies, firsts, errors, strict=True)
    ]


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"p50": pick(0.50), "p90": pick(0.90), "p99": pick(0.99)}


def _run_load(spec: dict[str, Any]) -> None:
    loads = [
        Load(target["host"], target["port"], target["path"], target["body"].encode(), target.get("headers", {}))
        for target in spec["targets"]
    ]
    if spec["mode"] == "rate":
        result: Any = asyncio.run(_open_loop(loads, spec["rate"], spec["seconds"]))
    else:
        result = asyncio.run(_closed_loop(loads[0], spec["clients"], spec["seconds"]))
    print(json.dumps(result), flush=True)


def _target_spec(url: str, path: str, body: dict[str, Any], headers: dict[str, str] | None) -> dict[str, Any]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return {"host": host, "port": int(port), "path": path, "body": json.dumps(body), "headers": headers or {}}


def _generate(targets: list[dict[str, Any]], **mode: Any) -> Any:
    """Run the load generator in its own process; its JSON result (a minute past its duration at most)."""
    spec = {"targets": targets, **mode}
    where = ", ".join(f"{t['host']}:{t['port']}" for t in targets)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.serve", "--load", json.dumps(spec)],
            capture_output=True, text=True, cwd=ROOT, check=True, timeout=float(mode["seconds"]) + 60,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise BenchError(f"the load generator against {where} did not finish ({mode})") from None
    except subprocess.CalledProcessError as exc:
        raise BenchError(f"the load generator against {where} failed: {_last_line(exc.stderr)}") from None
    return json.loads(done.stdout)


def load(
    url: str, path: str, body: dict[str, Any], headers: dict[str, str] | None = None, **mode: Any
) -> dict[str, Any]:
    """One target's figures under a load (`mode="clients"`, clients=, seconds= or `mode="rate"`, rate=, seconds=)."""
    result = _generate([_target_spec(url, path, body, headers)], **mode)
    return result[0] if mode["mode"] == "rate" else result  # type: ignore[no-any-return]


def interleaved(targets: list[_Target], rate: float, seconds: float) -> list[dict[str, Any]]:
    """Each target at `rate` requests/s, their requests interleaved in one open loop: one figure each."""
    result: list[dict[str, Any]] = _generate(
        [_target_spec(*target) for target in targets], mode="rate", rate=rate, seconds=seconds
    )
    return result


# -- the servers under test ---------------------------------------------------------------------------


class BenchError(Exception):
    """A figure that cannot be taken, said in one line."""


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(nothing on stderr)"


def _quiet_env() -> dict[str, str]:
    """The environment of a server the benchmark starts: no proxy (its traffic stays on 127.0.0.1), and
    nothing that would make one side's interpreter import the other side's code."""
    drop = {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT"}
    return {k: v for k, v in os.environ.items() if k.upper() not in drop and not k.lower().endswith("_proxy")}


@contextlib.contextmanager
def upstream() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.serve", "--upstream"], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 30)  # its port, once listening
        line = proc.stdout.readline() if ready else ""
        if not line.strip().isdigit():
            raise BenchError(f"the fake upstream did not start in 30 s (it printed {line!r})")
        yield f"http://127.0.0.1:{int(line)}"
    finally:
        _stop(proc, 10)


# Flags that keep the measurement on the gateway's own work, passed when the side's `serve --help`
# lists them (the breaker is also off through PROTOSHIFT_BREAKER): a side without one runs its default.
_TUNING: tuple[tuple[str, str | None], ...] = (
    ("--max-retries", "0"),
    ("--request-log", os.devnull),
    ("--max-in-flight", "4096"),
)


@dataclass(frozen=True)
class Side:
    """One checkout's `protoshift serve`: its own console script, run from its own checkout, with the
    flags its own `serve --help` lists."""

    key: str  # "protoshift" (this checkout) or "baseline": figures are "<key> 1w json", "<key> 1w@50", ...
    label: str  # "this checkout (8d0da095ca05)", "main (0be6011a2b3c)"
    script: Path
    root: Path
    options: frozenset[str]
    breaker: bool = False  # off unless asked: the figures are the gateway's work, not the breaker's
    state: str | None = None  # `--state URL`: the replicas' shared state (issue 22)

    @classmethod
    def read(cls, key: str, label: str, script: Path, root: Path) -> Side:
        if not script.exists():
            raise BenchError(f"{label}: no console script at {script}")
        try:
            done = subprocess.run(
                [str(script), "serve", "--help"],
                capture_output=True, text=True, cwd=root, env={**_quiet_env(), "COLUMNS": "200"}, timeout=120, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise BenchError(f"{label}: `protoshift serve --help` did not answer in 120 s") from None
        if done.returncode != 0:
            raise BenchError(f"{label}: `protoshift serve --help` failed: {_last_line(done.stderr)}")
        options = frozenset(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", done.stdout))
        missing = {"--port", "--workers"} - options
        if missing:
            raise BenchError(f"{label}: `protoshift serve` has no {', '.join(sorted(missing))}")
        return cls(key, label, script, root, options)

    @property
    def missing(self) -> list[str]:
        return [flag for flag, _ in _TUNING if flag not in self.options]

    def serve_args(self, port: int, workers: int) -> list[str]:
        args = [str(self.script), "serve", "--port", str(port), "--workers", str(workers)]
        if "--host" in self.options:
            args += ["--host", "127.0.0.1"]
        for flag, value in _TUNING:
            if flag in self.options:
                args += [flag] if value is None else [flag, value]
        if "--no-breaker" in self.options and not self.breaker:
            args.append("--no-breaker")
        if self.state is not None:
            args += ["--state", self.state]
        return args


def _base_python() -> str:
    """The interpreter under the venv running this benchmark: the baseline's venv gets the same one."""
    base: str = getattr(sys, "_base_executable", sys.executable)
    return base


def _git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise BenchError(f"git {' '.join(args)}: {_last_line(done.stderr)}")
    return done.stdout.strip()


def this_checkout() -> Side:
    """The checkout this benchmark runs from, with the console script of the venv running it."""
    try:
        label = f"this checkout ({_git('rev-parse', '--short=12', 'HEAD')}"
        label += " + uncommitted changes)" if _git("status", "--porcelain", "--untracked-files=no") else ")"
    except (BenchError, OSError):
        label = "this checkout"
    return Side.read("protoshift", label, VENV_BIN / "protoshift", ROOT)


@contextlib.contextmanager
def baseline(ref: str, say: Callable[[str], None] | None = None) -> Iterator[Side]:
    """REF in a throwaway worktree with its own venv (`uv sync --frozen --no-dev`), removed on the way out.

    A temporary directory, not a cache: with uv's cache warm the venv takes about 2 s, a fresh tree
    per run cannot be stale or half-made, and nothing is left under the checkout for ruff, mypy or
    git to see. The worktree is registered in the repository's git dir while it lives (`git worktree
    list` shows it); a run killed with SIGKILL leaves it there, and `git worktree prune` clears it."""
    try:
        sha = _git("rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}")
    except BenchError:
        raise BenchError(f"--baseline {ref}: not a commit in {ROOT}") from None
    uv = shutil.which("uv")
    if uv is None:
        raise BenchError("--baseline needs uv on PATH (the baseline's venv is made with `uv sync --frozen`)")
    label = f"{ref} ({sha[:12]})" if not sha.startswith(ref) else sha[:12]
    tmp = Path(tempfile.mkdtemp(prefix="protoshift-baseline-"))
    tree = tmp / sha[:12]
    try:
        started = time.perf_counter()
        _git("worktree", "add", "--detach", str(tree), sha)
        try:
            env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")}
            env["UV_PROJECT_ENVIRONMENT"] = str(tree / ".venv")
            done = subprocess.run(
                [uv, "sync", "--frozen", "--no-dev", "--python", _base_python()],
                cwd=tree, env=env, capture_output=True, text=True, timeout=900, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                raise BenchError(f"{label}: uv sync --frozen failed: {_last_line(done.stderr)}")
            side = Side.read("baseline", label, tree / ".venv" / "bin" / "protoshift", tree)
            if say:
                say(f"baseline {label}: worktree and venv in {tmp} ({time.perf_counter() - started:.1f} s)")
            yield side
        finally:
            removed = subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
            if removed.returncode != 0 and tree.exists():
                print(f"warning: git worktree remove {tree}: {_last_line(removed.stderr)}", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def protoshift_serve(
    side: Side, upstream_url: str, workers: int, backend: str = "anthropic"
) -> Iterator[tuple[str, int]]:
    """`protoshift serve` of `side`, in front of the fake, ready (it answered a chat with 200). `backend`:
    `anthropic` (the fake as Anthropic's Messages API) or `openai` (the fake as a Chat Completions server)."""
    env = {
        **_quiet_env(),
        "ANTHROPIC_BASE_URL": upstream_url,
        "ANTHROPIC_API_KEY": "bench-key",
        **({} if side.breaker else {"PROTOSHIFT_BREAKER": "off"}),
    }
    if backend == "openai":
        env.update(
            {"PROTOSHIFT_BACKEND": "openai", "OPENAI_BASE_URL": upstream_url + "/v1", "OPENAI_API_KEY": "bench-key"}
        )
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        for var in ("XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
            env[var] = tmp
        env["PROTOSHIFT_CONFIG"] = str(Path(tmp) / "none.toml")
        port = _free_port()
        stderr = Path(tmp) / "stderr"
        with stderr.open("w") as err:
            proc = subprocess.Popen(
                side.serve_args(port, workers), env=env, cwd=side.root, stdout=subprocess.DEVNULL, stderr=err
            )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_ready(url, proc, 60, f"{side.label} serve", stderr)
            yield url, proc.pid
        finally:
            _stop(proc, 30)


@contextlib.contextmanager
def passthrough(upstream_url: str) -> Iterator[str]:
    """benchmarks.passthrough on uvicorn: the stack `serve` runs on, with none of protoshift's work."""
    port = _free_port()
    args = [sys.executable, "-m", "uvicorn", "benchmarks.passthrough:app", "--port", str(port)]
    args += ["--loop", "uvloop", "--http", "httptools", "--log-level", "warning", "--no-access-log"]
    env = {**_quiet_env(), "UPSTREAM": upstream_url}
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, proc, 30, FLOOR)
        yield url
    finally:
        _stop(proc, 20)


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A `redis-server` (Debian's package) on a free loopback port, nothing saved to disk; its URL, ready
    (it answered PING). Stopped on the way out."""
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        raise BenchError("redis-server is not installed (Debian: apt-get install redis-server)")
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as folder:
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        proc = subprocess.Popen([*args, "--dir", folder], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"redis://127.0.0.1:{port}/0"
            client = redis.Redis.from_url(url, socket_timeout=5)
            deadline = time.monotonic() + 20
            while True:
                with contextlib.suppress(redis.RedisError):
                    if client.ping():
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise BenchError("redis-server did not start")
                time.sleep(0.05)
            client.close()
            yield url
        finally:
            _stop(proc, 10)


def commandstats(url: str) -> dict[str, int]:
    """Redis's own count of the commands it ran, by name (`cmdstat_evalsha`; scripts' inner commands too)."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        info = client.info("commandstats")
    finally:
        client.close()
    return {name: int(stats["calls"]) for name, stats in info.items()}


# What the benchmark itself asks of Redis (the ready check, INFO), left out of what the gateway sent.
BENCH_COMMANDS = frozenset({"cmdstat_info", "cmdstat_ping", "cmdstat_hello", "cmdstat_client|setinfo"})


def commands_sent(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """The commands Redis ran between two `commandstats`, the benchmark's own left out."""
    return {
        name: n - before.get(name, 0)
        for name, n in sorted(after.items())
        if n != before.get(name, 0) and name not in BENCH_COMMANDS
    }


def _stop(proc: subprocess.Popen[Any], seconds: float) -> None:
    children = _children(proc.pid)
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.kill()
        proc.wait(10)


def _opener() -> Any:
    import urllib.request

    return urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 only, whatever *_PROXY says


def _wait_ready(url: str, proc: subprocess.Popen[Any], seconds: float, name: str, stderr: Path | None = None) -> None:
    """Until a chat request through `url` answers 200: the whole way to the fake works."""
    import urllib.error
    import urllib.request

    def tail() -> str:
        return f": {_last_line(stderr.read_text(errors='replace'))}" if stderr and stderr.exists() else ""

    request = urllib.request.Request(
        url + PATH, data=json.dumps(CHAT).encode(), headers={"content-type": "application/json"}
    )
    opener = _opener()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{name}: the server exited ({proc.returncode}){tail()}")
        try:
            with opener.open(request, timeout=5) as answer:
                answer.read()
                return
        except urllib.error.HTTPError as exc:
            raise BenchError(f"{name}: a chat request answered {exc.code}: {exc.read()[:200]!r}") from None
        except OSError:
            time.sleep(0.1)
    raise BenchError(f"{name}: not answering after {seconds:g}s{tail()}")


@contextlib.contextmanager
def litellm_proxy(upstream_url: str, workers: int) -> Iterator[tuple[str, int]]:
    """LiteLLM's proxy in front of the fake: `bench` as Claude (`anthropic/`), `bench-chat` as a model of an
    OpenAI-compatible Chat Completions server. `openai/chat_completions/` is LiteLLM's spelling for "bridge
    Responses requests to its Chat Completions" (plain `openai/` passes /v1/responses through to the server's
    /responses); run_litellm_responses checks in the fake's request log that it did."""
    port = _free_port()
    config = (
        f"model_list:\n  - model_name: {CHAT['model']}\n    litellm_params:\n      model: anthropic/claude-bench\n"
        f"      api_base: {upstream_url}\n      api_key: bench-key\n"
        f"  - model_name: {CHAT_MODEL}\n    litellm_params:\n      model: openai/chat_completions/{CHAT_MODEL}\n"
        f"      api_base: {upstream_url}/v1\n      api_key: bench-key\n"
        "litellm_settings:\n  telemetry: false\n  drop_params: true\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "litellm.yaml"
        path.write_text(config)
        env = {
            **_quiet_env(),
            "LITELLM_LOG": "ERROR",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",  # else it fetches a table from GitHub
            "LITELLM_TELEMETRY": "False",
            "LITELLM_MASTER_KEY": LITELLM_KEY,  # the proxy refuses to start without one
        }
        args = [str(VENV_BIN / "litellm"), "--config", str(path), "--port", str(port), "--num_workers", str(workers)]
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_healthy(url + "/health/liveliness", proc, seconds=300)  # 2 workers under load: > 120 s seen
            yield url, proc.pid
        finally:
            _stop(proc, 20)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_healthy(url: str, proc: subprocess.Popen[Any], seconds: float) -> None:
    opener = _opener()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{url}: the server exited ({proc.returncode})")
        with contextlib.suppress(OSError), opener.open(url, timeout=2):
            return
        time.sleep(0.5)
    raise BenchError(f"{url}: not healthy after {seconds:g}s")


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


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of `pid` and its children (the workers), seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in [pid, *_children(pid)]:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14, 15)
    return total


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


# -- the run ------------------------------------------------------------------------------------------

PATH = "/v1/chat/completions"
CHAT = {"model": "bench", "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 64}
RESPONSES_PATH = "/v1/responses"
# The same question as an OpenAI Responses client asks it (issue 20), `store` left to its default (true: serve
# keeps the response for `previous_response_id`), as the openai SDK's `responses.create` sends it.
RESPONSES = {"model": "bench", "input": "Say hello.", "max_output_tokens": 64}
Kind = tuple[str, str, dict[str, Any]]  # label, path, body
CHAT_KINDS: tuple[Kind, ...] = (("json", PATH, CHAT), ("stream", PATH, {**CHAT, "stream": True}))


def responses_label(body: dict[str, Any]) -> str:
    """ "responses", or with what differs from RESPONSES: "responses store=false"."""
    differ = [f"{k}={json.dumps(v)}" for k, v in body.items() if RESPONSES.get(k, object()) != v]
    differ += [f"-{k}" for k in RESPONSES if k not in body]
    return " ".join(["responses", *differ])


def all_kinds(bodies: list[dict[str, Any]]) -> tuple[Kind, ...]:
    """In a round: each chat kind next to its Responses counterparts, so they are taken seconds apart."""
    json_kinds = [(f"{responses_label(body)} json", RESPONSES_PATH, body) for body in bodies]
    stream_kinds = [(f"{responses_label(body)} stream", RESPONSES_PATH, {**body, "stream": True}) for body in bodies]
    return (CHAT_KINDS[0], *json_kinds, CHAT_KINDS[1], *stream_kinds)


KINDS = all_kinds([RESPONSES])
RESPONSES_TARGET = 1.3  # /v1/responses within 1.3x of /v1/chat/completions (req/s and CPU per request)
DIRECT = {
    "model": "claude-bench",
    "messages": [{"role": "user", "content": [{"type": "text", "text": "Say hello."}]}],
    "max_tokens": 64,
}
ANTHROPIC_HEADERS = {"x-api-key": "bench-key", "anthropic-version": "2023-06-01"}
LITELLM_KEY = "sk-bench-" + "0" * 32
CHAT_MODEL = "bench-chat"  # the chat-model upstream's model, in requests to both gateways
FLOOR = "bare uvicorn+aiohttp"  # benchmarks.passthrough: the hop, without protoshift's work


@dataclass
class Figures:
    rate: dict[str, dict[str, Any]] = field(default_factory=dict)  # "direct@50" -> result
    sustained: dict[str, dict[str, Any]] = field(default_factory=dict)  # "protoshift 1w json" -> result
    memory: dict[str, dict[str, float]] = field(default_factory=dict)  # "protoshift 1w" -> figures
    errors: dict[str, str] = field(default_factory=dict)
    sides: dict[str, str] = field(default_factory=dict)  # "baseline" -> "main (0be6011)"
    notes: list[str] = field(default_factory=list)
    stored: dict[str, dict[str, int]] = field(default_factory=dict)  # gateway -> Responses answers asked, kept
    rounds: int = 0
    responses_bodies: list[dict[str, Any]] = field(default_factory=lambda: [RESPONSES])  # sent to /v1/responses
    redis: dict[str, Any] = field(default_factory=dict)  # --state-compare: what the gateway asked of Redis
    stream_events: dict[str, int] = field(default_factory=dict)  # "litellm 1w chat hello stream" -> events sent
    clients: int = 64  # the sustained figures' clients back to back


RATES = (50, 200)
_Target = tuple[str, str, dict[str, Any], dict[str, str] | None]  # base URL, path, body, headers
ROUNDS = 4  # the rate and sustained measurements, taken in turns: what drifts on a shared machine drifts for all
ROUND_SECONDS = {False: (2.5, 2.0), True: (0.75, 0.75)}  # quick -> (a rate's round, a sustained round)


def _say(message: str) -> None:
    print(f"[serve {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(
    *,
    quick: bool = False,
    litellm: bool = True,
    memory_requests: int = 100_000,
    baseline: Side | None = None,
    only_sustained: bool = False,
    only_responses: bool = False,
    responses_bodies: list[dict[str, Any]] | None = None,
    workers: tuple[int, ...] = (1, 2),
    rounds: int = ROUNDS,
    after: Side | None = None,
) -> Figures:
    """Every figure; with `baseline`, its gateway takes its turn beside this checkout's in every round.
    `only_responses`: the sustained figures alone (chat and Responses in turns), no rates, memory or LiteLLM."""
    after = after or this_checkout()
    sides = [side for side in (baseline, after) if side is not None]  # a turn's order (reversed every other round)
    figures = Figures(sides={side.key: side.label for side in sides}, rounds=rounds)
    figures.responses_bodies = list(responses_bodies or [RESPONSES])
    for side in sides:
        figures.notes += [f"{side.label}: `serve` has no {flag}, its default applies" for flag in side.missing]
    rate_round, sustain_round = ROUND_SECONDS[quick]
    with upstream() as fake:
        for count in workers:
            with contextlib.ExitStack() as servers:
                gateways = {
                    f"{side.key} {count}w": servers.enter_context(protoshift_serve(side, fake, count)) for side in sides
                }
                first = count == 1 and not (only_sustained or only_responses)
                if first:
                    targets: dict[str, _Target] = {"direct": (fake, "/v1/messages", DIRECT, ANTHROPIC_HEADERS)}
                    try:
                        targets[FLOOR] = (servers.enter_context(passthrough(fake)), PATH, CHAT, None)
                    except BenchError as exc:
                        figures.errors[FLOOR] = str(exc)
                    targets.update({name: (url, PATH, CHAT, None) for name, (url, _) in gateways.items()})
                    _say(f"added latency at {RATES} req/s, {rounds} rounds of {', '.join(targets)}")
                    _rates_in_turns(figures, targets, rate_round, rounds)
                _say(f"sustained, {count} worker{'s' * (count > 1)}: {rounds} rounds of {', '.join(gateways)}")
                _sustained_in_turns(
                    figures,
                    {name: url for name, (url, _) in gateways.items()},
                    sustain_round,
                    rounds,
                    pids={name: pid for name, (_, pid) in gateways.items()},
                    kinds={name: _kinds_of(figures, name, url) for name, (url, _) in gateways.items()},
                )
                for name, (url, _) in gateways.items():
                    _stored_check(figures, name, url)
                if first:
                    for name, (url, pid) in gateways.items():
                        _say(f"memory of {name}")
                        _memory(figures, name, url, pid, 2_000 if quick else memory_requests)
        if litellm and not (only_sustained or only_responses):
            for count in workers:
                _litellm(figures, fake, count, rate_round * rounds, sustain_round, rounds)
    return figures


def _litellm(figures: Figures, fake: str, count: int, rate_seconds: float, sustain_round: float, rounds: int) -> None:
    name = f"litellm {count}w"
    try:
        with litellm_proxy(fake, count) as (url, pid):
            _say(name)
            headers = {"authorization": f"Bearer {LITELLM_KEY}"}
            load(url, PATH, CHAT, headers, mode="clients", clients=8, seconds=1.0)  # warm-up
            if count == 1:
                for rate in RATES:
                    figures.rate[f"{name}@{rate}"] = load(
                        url, PATH, CHAT, headers, mode="rate", rate=rate, seconds=rate_seconds
                    )
            kinds = {name: _kinds_of(figures, name, url, headers)}
            _sustained_in_turns(figures, {name: url}, sustain_round, rounds, headers, {name: pid}, kinds)
    except (BenchError, OSError) as exc:  # a proxy that does not start is a figure we do not have, said so
        figures.errors[name] = str(exc)


def _in_turn(names: list[T], turn: int) -> list[T]:
    """The order of one round: reversed every other round, so no side is always first after a pause."""
    return names if turn % 2 == 0 else names[::-1]


def _rates_in_turns(figures: Figures, targets: dict[str, _Target], seconds: float, rounds: int) -> None:
    """Straight to the fake, through the bare stack and through each gateway, at each rate, in turns
    (`rounds` rounds of `seconds` each): each figure is the median of its rounds."""
    for url, path, body, headers in targets.values():
        if url != targets["direct"][0]:
            load(url, path, body, headers, mode="clients", clients=8, seconds=1.0)  # warm-up
    taken: dict[str, list[dict[str, Any]]] = {}
    for turn in range(rounds):
        for rate in RATES:
            for name in _in_turn(list(targets), turn):
                url, path, body, headers = targets[name]
                result = load(url, path, body, headers, mode="rate", rate=rate, seconds=seconds)
                taken.setdefault(f"{name}@{rate}", []).append(result)
    figures.rate.update({key: _rate_figures(results) for key, results in taken.items()})


def _rate_figures(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One target's rounds at one rate: the medians of p50 and p99, each round's p50, the requests and errors."""
    return {
        "latency": {q: statistics.median(r["latency"][q] for r in results) for q in ("p50", "p99")},
        "rounds_p50": [r["latency"]["p50"] for r in results],
        "requests": sum(r["requests"] for r in results),
        "errors": sum(r["errors"] for r in results),
    }


def _kinds_of(figures: Figures, name: str, url: str, headers: dict[str, str] | None = None) -> tuple[Kind, ...]:
    """What a gateway is measured on: chat, and Responses when it answers a Responses request with 200
    (a baseline from before issue 20 does not; a note says so)."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        url + RESPONSES_PATH,
        data=json.dumps(figures.responses_bodies[0]).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )
    try:
        with _opener().open(request, timeout=30) as answer:
            answer.read()
            return all_kinds(figures.responses_bodies)
    except urllib.error.HTTPError as exc:
        reason = f"answered {exc.code}"
    except OSError as exc:
        reason = f"failed ({exc})"
    figures.notes.append(f"{name}: a Responses request {reason}: chat alone measured")
    return CHAT_KINDS


def _stored_check(figures: Figures, name: str, url: str, count: int = 100) -> None:
    """Whether the Responses answers a gateway gave are kept (`store` unset or true): `count` requests one
    after the other, then each id asked for with GET /v1/responses/{id}. A response not kept is work the
    gateway did not do: its CPU per request would undercount what storing costs."""
    import http.client

    body = figures.responses_bodies[0]
    if body.get("store") is False or f"{name} {responses_label(body)} json" not in figures.sustained:
        return
    host, port = url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        ids = []
        for _ in range(count):
            conn.request("POST", RESPONSES_PATH, json.dumps(body), {"content-type": "application/json"})
            ids.append(json.loads(conn.getresponse().read())["id"])
        time.sleep(0.5)
        kept = 0
        for response_id in ids:
            conn.request("GET", f"{RESPONSES_PATH}/{response_id}")
            answer = conn.getresponse()
            answer.read()
            kept += answer.status == 200
    except (OSError, ValueError, KeyError) as exc:
        figures.notes.append(f"{name}: stored responses not checked ({exc})")
        return
    finally:
        conn.close()
    figures.stored[name] = {"asked": count, "kept": kept}
    if kept < count:
        figures.notes.append(
            f"{name}: {count - kept} of {count} Responses answers (store unset) were not found afterwards by GET"
            f" /v1/responses/{{id}}: storing them was not done, and its CPU is missing from the figures with store on"
        )


def _kind_order(figures: Figures, kinds_of: dict[str, tuple[Kind, ...]]) -> list[Kind]:
    """A round's kinds: each chat kind beside its Responses kinds, then any other kind a target was given."""
    order = list(all_kinds(figures.responses_bodies))
    for kind in (k for ks in kinds_of.values() for k in ks):
        if all(kind[0] != listed[0] for listed in order):
            order.append(kind)
    return order


def _sustained_in_turns(
    figures: Figures,
    targets: dict[str, str],
    seconds: float,
    rounds: int,
    headers: dict[str, str] | None = None,
    pids: dict[str, int] | None = None,
    kinds: dict[str, tuple[Kind, ...]] | None = None,
    clients: int = 64,
) -> None:
    """Each target's requests/s with `clients` (64) clients back to back on each of its kinds (chat JSON and Responses
    JSON, then the two streams), the targets in turns (`rounds` rounds of `seconds` each; the order of
    kinds and of targets reversed every other round): each figure is the median of its rounds. With
    `pids`, also the gateway's CPU per request (its process and workers): far steadier than req/s on a
    shared machine, where what other processes take moves the rate but not the work each request costs."""
    kinds_of = {name: (kinds or {}).get(name, CHAT_KINDS) for name in targets}
    for name, url in targets.items():
        for _, path, body in kinds_of[name]:
            load(url, path, body, headers, mode="clients", clients=8, seconds=0.5)  # warm-up
    order = _kind_order(figures, kinds_of)
    taken: dict[str, list[dict[str, Any]]] = {}
    for turn in range(rounds):
        for kind, path, body in _in_turn(order, turn):
            for name in _in_turn(list(targets), turn):
                if (kind, path, body) not in kinds_of[name]:
                    continue
                pid = (pids or {}).get(name)
                cpu = cpu_seconds(pid) if pid else 0.0
                result = load(targets[name], path, body, headers, mode="clients", clients=clients, seconds=seconds)
                if pid and result["requests"]:
                    result["cpu_us"] = (cpu_seconds(pid) - cpu) / result["requests"] * 1e6
                taken.setdefault(f"{name} {kind}", []).append(result)
    for key, results in taken.items():
        figures.sustained[key] = {
            "rps": statistics.median(r["rps"] for r in results),
            "rounds_rps": [r["rps"] for r in results],
            "requests": sum(r["requests"] for r in results),
            "errors": sum(r["errors"] for r in results),
        }
        if all("cpu_us" in r for r in results):
            figures.sustained[key]["cpu_us"] = statistics.median(r["cpu_us"] for r in results)
            figures.sustained[key]["rounds_cpu_us"] = [r["cpu_us"] for r in results]


def _memory(figures: Figures, name: str, url: str, pid: int, requests: int) -> None:
    load(url, PATH, CHAT, mode="clients", clients=64, seconds=2.0)
    memory = figures.memory[name] = {"after warm-up MB": rss_mb(pid)}
    done = 0
    while done < requests:
        result = load(url, PATH, CHAT, mode="clients", clients=64, seconds=5.0)
        if not result["requests"]:
            raise BenchError(f"{name}: no request answered in 5 s while measuring memory")
        done += result["requests"]
    memory["requests"] = done
    memory[f"after {done:,} requests MB"] = rss_mb(pid)


def _added(figures: Figures, name: str, rate: int) -> dict[str, float] | None:
    direct = figures.rate.get(f"direct@{rate}", {}).get("latency")
    through = figures.rate.get(f"{name}@{rate}", {}).get("latency")
    if not (direct and through):
        return None
    return {q: through[q] - direct[q] for q in ("p50", "p99")}


def comparison(figures: Figures) -> list[str]:
    """Before (the baseline) and after (this checkout), measured in turns: one row per figure. A rate's
    after/before is the median of the rounds' own ratios (each round's two figures were taken a few
    seconds apart, so what the machine did meanwhile weighs on both); beside it, their range."""
    before, after = figures.sides.get("baseline"), figures.sides.get("protoshift")
    if not (before and after):
        return []
    rows: list[tuple[str, str, str, str, str]] = []
    for rate in RATES:
        b_added, a_added = _added(figures, "baseline 1w", rate), _added(figures, "protoshift 1w", rate)
        if not (b_added or a_added):
            continue
        for q in ("p50", "p99"):
            b = b_added[q] if b_added else None
            a = a_added[q] if a_added else None
            ratio = f"{a / b:.2f}" if a is not None and b is not None and b > 0 else "n/a"
            errors = sum(
                figures.rate.get(f"{key} 1w@{rate}", {}).get("errors", 0) for key in ("baseline", "protoshift")
            )
            rows.append((f"added {q} at {rate} req/s, ms", _ms(b), _ms(a), ratio,
                         "lower is better" + (f"; {errors} errors" if errors else "")))  # fmt: skip
    for count in (1, 2):
        for kind, _, _ in KINDS:
            b_res = figures.sustained.get(f"baseline {count}w {kind}")
            a_res = figures.sustained.get(f"protoshift {count}w {kind}")
            if not (b_res and a_res):
                continue
            paired = [x / y for x, y in zip(a_res["rounds_rps"], b_res["rounds_rps"], strict=True) if y > 0]
            ratio = f"{statistics.median(paired):.2f}" if paired else "n/a"
            errors = b_res["errors"] + a_res["errors"]
            note = f"rounds' ratios {min(paired):.2f}-{max(paired):.2f}" if paired else ""
            rows.append((f"{kind.replace('json', 'JSON')} req/s, {count} worker{'s' * (count > 1)}",
                         _rps(b_res["rps"]), _rps(a_res["rps"]), ratio,
                         note + (f"; {errors} errors" if errors else "")))  # fmt: skip
            if "cpu_us" in b_res and "cpu_us" in a_res:
                cpu = [x / y for x, y in zip(a_res["rounds_cpu_us"], b_res["rounds_cpu_us"], strict=True) if y > 0]
                rows.append(("  gateway CPU per request, µs", f"{b_res['cpu_us']:.0f}", f"{a_res['cpu_us']:.0f}",
                             f"{statistics.median(cpu):.2f}",
                             f"lower is better; rounds' ratios {min(cpu):.2f}-{max(cpu):.2f}"))  # fmt: skip
    heads = ("", f"before ({before.split(' (')[0]})", f"after ({after.split(' (')[0]})", "after/before", "")
    widths = [max(len(row[i]) for row in [heads, *rows]) for i in range(4)]
    lines = [
        f"serve: before and after, in turns in the same rounds ({figures.rounds} rounds, the medians),"
        " on the same fake upstream and load generator",
        f"  before: {before}",
        f"  after:  {after}",
    ]
    for row in [heads, *rows]:
        cells = [row[0].ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(row[1:4], widths[1:], strict=True))]
        lines.append(("  " + "  ".join(cells) + f"   {row[4]}").rstrip())
    return lines


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}"


def _rps(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _spread(result: dict[str, Any] | None) -> str:
    if not result:
        return "-"
    rounds = result.get("rounds_rps") or [result["rps"]]
    errors = f", {result['errors']} errors" if result.get("errors") else ""
    return f"{min(rounds):,.0f}-{max(rounds):,.0f}{errors}"


def _latency_text(figures: Figures) -> list[str]:
    lines = [
        "serve: added latency (through the gateway minus straight to the fake), ms;"
        f" direct, the bare stack and the gateways in turns, median of {figures.rounds} rounds each"
    ]
    lines += [f"  {key}: {label}" for key, label in figures.sides.items()]
    for rate in RATES:
        direct = figures.rate.get(f"direct@{rate}", {}).get("latency", {})
        for name in ("baseline 1w", "protoshift 1w", FLOOR, "litellm 1w"):
            added = _added(figures, name, rate)
            if added:
                errors = figures.rate[f"{name}@{rate}"].get("errors")
                lines.append(f"  {rate:>3} req/s  {name:<24} p50 {added['p50']:+.2f}  p99 {added['p99']:+.2f}"
                             f"  (direct p50 {direct['p50']:.2f}, p99 {direct['p99']:.2f})"
                             + (f", {errors} errors" if errors else ""))  # fmt: skip
    ours, floor = _added(figures, "protoshift 1w", 50), _added(figures, FLOOR, 50)
    if ours:
        verdict = "MET" if ours["p50"] < 1.0 else "MISSED"
        lines.append(f"  target p50 added < 1 ms at 50 req/s: {ours['p50']:+.2f} ms {verdict}"
                     + (f" (the bare stack alone: {floor['p50']:+.2f} ms)" if floor else ""))  # fmt: skip
    return lines if len(lines) > 1 + len(figures.sides) else []


def text(figures: Figures) -> str:
    lines = _latency_text(figures)
    if figures.sustained:
        lines.append(
            f"serve: sustained requests/s, {figures.clients} clients back to back (median of the rounds; min-max)"
        )
    width = max((len(name) for name in figures.sustained), default=0)
    for name, result in figures.sustained.items():
        cpu = f"   CPU {result['cpu_us']:.0f} µs/request" if "cpu_us" in result else ""
        lines.append(f"  {name:<{width}} {result['rps']:>8.0f}   {_spread(result):<16}{cpu}")
    for kind, _, _ in KINDS:
        mine, theirs = figures.sustained.get(f"protoshift 1w {kind}"), figures.sustained.get(f"litellm 1w {kind}")
        if mine and theirs and theirs["rps"]:
            cpu = ""
            if mine.get("cpu_us") and theirs.get("cpu_us"):
                cpu = f"; LiteLLM's CPU per request / protoshift's = {theirs['cpu_us'] / mine['cpu_us']:.1f}x"
            lines.append(
                f"  {kind}: protoshift / LiteLLM proxy (1 worker each) = {mine['rps'] / theirs['rps']:.1f}x req/s"
                f" (target 5x){cpu}"
            )
    for name, memory in figures.memory.items():
        lines.append(
            f"serve: memory of {name}: " + ", ".join(f"{k} {v:,.1f}" for k, v in memory.items() if k != "requests")
        )
    for name, error in figures.errors.items():
        lines.append(f"  {name}: not measured ({error})")
    lines += [f"  note: {note}" for note in figures.notes]
    from .responses_e2e import text as e2e_text  # it imports this module

    tables = [
        table
        for table in (responses_text(figures), comparison(figures), state_text(figures), e2e_text(figures))
        if table
    ]
    return "\n".join([*lines, *(line for table in tables for line in ["", *table])])


def _paired(a: dict[str, Any], b: dict[str, Any], key: str) -> list[float]:
    """Round by round, a's figure over b's (both taken in the same round, seconds apart)."""
    return [x / y for x, y in zip(a.get(key, []), b.get(key, []), strict=False) if y > 0]


def _ratio_cell(paired: list[float]) -> str:
    if not paired:
        return "-"
    return f"{statistics.median(paired):.2f} ({min(paired):.2f}-{max(paired):.2f})"


def _split_key(key: str) -> tuple[str, str] | None:
    """ "protoshift 1w responses store=false json" -> ("protoshift 1w", "responses store=false json")."""
    match = re.match(r"(\S+ \d+w) (.+)$", key)
    return (match.group(1), match.group(2)) if match else None


def _responses_pairs(figures: Figures) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(gateway + Responses kind, the Responses figures, the chat figures of the same gateway and kind)."""
    for key, result in figures.sustained.items():
        split = _split_key(key)
        if not split or not split[1].startswith("responses"):
            continue
        chat = figures.sustained.get(f"{split[0]} {split[1].rsplit(' ', 1)[1]}")
        if chat:
            yield key, result, chat


def responses_ratios(figures: Figures) -> dict[str, dict[str, float]]:
    """ "<gateway> <responses kind>" -> {"rps": responses/chat, "cpu": responses/chat}: medians of the rounds' ratios."""
    out: dict[str, dict[str, float]] = {}
    for key, result, chat in _responses_pairs(figures):
        ratios = {"rps": _paired(result, chat, "rounds_rps"), "cpu": _paired(result, chat, "rounds_cpu_us")}
        out[key] = {k: statistics.median(v) for k, v in ratios.items() if v}
    return out


def responses_text(figures: Figures) -> list[str]:
    """/v1/responses beside /v1/chat/completions on the same gateway, fake and load (issue 20)."""
    rows: list[tuple[str, ...]] = []
    for key, result, chat in _responses_pairs(figures):
        cpu = "cpu_us" in result and "cpu_us" in chat
        rows.append((key, _rps(chat["rps"]), _rps(result["rps"]),
                     _ratio_cell(_paired(result, chat, "rounds_rps")),
                     f"{chat['cpu_us']:.0f}" if cpu else "-", f"{result['cpu_us']:.0f}" if cpu else "-",
                     _ratio_cell(_paired(result, chat, "rounds_cpu_us")) if cpu else "-"))  # fmt: skip
    if not rows:
        return []
    heads = ("", "chat req/s", "responses req/s", "responses/chat", "chat CPU µs", "responses CPU µs", "responses/chat")
    widths = [max(len(row[i]) for row in [heads, *rows]) for i in range(len(heads))]
    lines = [
        "serve: /v1/responses next to /v1/chat/completions, the same gateway, fake Anthropic and load, in turns in"
        f" the same rounds ({figures.rounds} rounds; medians, and the median (min-max) of the rounds' own ratios);"
        " Responses body " + ", ".join(json.dumps(body) for body in figures.responses_bodies),
    ]
    for row in [heads, *rows]:
        lines.append(
            "  " + "  ".join([row[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True))])
        )
    lines += [f"  {key}: {label}" for key, label in figures.sides.items()]
    # The target is read on the first body (the one asked for by default); the others are for comparison.
    first = responses_label(figures.responses_bodies[0])
    mine = {
        key: ratios
        for key, ratios in responses_ratios(figures).items()
        if key.startswith("protoshift ") and (_split_key(key) or ("", ""))[1].rsplit(" ", 1)[0] == first
    }
    if mine:
        slowest = min(mine.items(), key=lambda kv: kv[1].get("rps", float("inf")))
        costliest = max(mine.items(), key=lambda kv: kv[1].get("cpu", 0.0))
        rps, cpu_x = slowest[1].get("rps", float("nan")), costliest[1].get("cpu", float("nan"))
        ok = rps >= 1 / RESPONSES_TARGET and cpu_x <= RESPONSES_TARGET
        lines.append(
            f"  target /v1/responses within {RESPONSES_TARGET}x of /v1/chat/completions (this checkout, {first}): worst req/s"
            f" {rps:.2f}x ({slowest[0]}; needs >= {1 / RESPONSES_TARGET:.2f}), worst CPU per request {cpu_x:.2f}x"
            f" ({costliest[0]}; needs <= {RESPONSES_TARGET}) -> {'MET' if ok else 'MISSED'}"
        )
    return lines


# -- local state vs Redis (issue 22) ------------------------------------------------------------------------

STATE_RPS_TARGET = 0.80  # JSON req/s on one worker with Redis state >= 80% of local state...
STATE_P50_TARGET = 0.3  # ... and a p50 at most 0.3 ms more (ms)


def run_state_compare(*, quick: bool = False, rounds: int = ROUNDS) -> Figures:
    """This checkout's `serve` twice, one worker each, the breaker on in both: `local` (no --state: the
    breaker's file on this machine) and `redis` (`--state` on a redis-server of the benchmark's own), the
    same fake and load, in turns: p50/p99 at each rate and req/s (64 clients), JSON and stream; and what
    the `redis` side asked of Redis over the whole run (INFO commandstats), per request."""
    mine = this_checkout()
    rate_round, sustain_round = ROUND_SECONDS[quick]
    with redis_server() as state, upstream() as fake, contextlib.ExitStack() as servers:
        sides = [
            replace(mine, key="local", label=f"{mine.label}, local state", breaker=True),
            replace(mine, key="redis", label=f"{mine.label}, --state {state}", breaker=True, state=state),
        ]
        figures = Figures(sides={side.key: side.label for side in sides}, rounds=rounds)
        gateways = {f"{side.key} 1w": servers.enter_context(protoshift_serve(side, fake, 1)) for side in sides}
        before = commandstats(state)
        _say(f"latency at {RATES} req/s, JSON and stream, {rounds} rounds of local and redis interleaved")
        _interleaved_rates(figures, {name: url for name, (url, _) in gateways.items()}, rate_round, rounds)
        _say(f"sustained, 1 worker: {rounds} rounds of {', '.join(gateways)}")
        _sustained_in_turns(
            figures,
            {name: url for name, (url, _) in gateways.items()},
            sustain_round,
            rounds,
            pids={name: pid for name, (_, pid) in gateways.items()},
        )
        sent = commands_sent(before, commandstats(state))
    # The requests the `redis` side answered, its warm-ups (8 clients for 1 s and 0.5 s) not counted: the
    # figure per request is, if anything, high.
    taken = [*figures.sustained.items(), *figures.rate.items()]
    requests = sum(result["requests"] for key, result in taken if key.startswith("redis "))
    figures.redis = {"requests": requests, "commands": sent}
    return figures


def _interleaved_rates(figures: Figures, gateways: dict[str, str], seconds: float, rounds: int) -> None:
    """Each kind at each rate (to each gateway), the gateways' requests interleaved in one open loop, their
    order reversed every other round: each round's figures were taken under the same conditions, so their
    difference holds where the machine's load moves each figure by milliseconds from one second to the next."""
    taken: dict[str, list[dict[str, Any]]] = {}
    for url in gateways.values():
        load(url, PATH, CHAT, mode="clients", clients=8, seconds=1.0)  # warm-up
    for turn in range(rounds):
        for rate in RATES:
            for kind, path, body in CHAT_KINDS:
                targets: dict[str, _Target] = {f"{n} {kind}": (url, path, body, None) for n, url in gateways.items()}
                names = _in_turn(list(targets), turn)
                for name, result in zip(names, interleaved([targets[n] for n in names], rate, seconds), strict=True):
                    taken.setdefault(f"{name}@{rate}", []).append(result)
    figures.rate.update({key: _rate_figures(results) for key, results in taken.items()})


def _delta_cell(a: list[float], b: list[float]) -> str:
    """The median of the rounds' own differences a - b (ms), and their range."""
    deltas = [x - y for x, y in zip(a, b, strict=False)]
    if not deltas:
        return "-"
    return f"{statistics.median(deltas):+.2f} ({min(deltas):+.2f} to {max(deltas):+.2f})"


def _state_rows(figures: Figures) -> tuple[list[tuple[str, str, str, str]], dict[str, float]]:
    """`--state-compare`'s rows (local, redis, redis/local or redis-local), and the medians the verdict reads."""
    rows: list[tuple[str, str, str, str]] = []
    verdict: dict[str, float] = {}
    for kind, _, _ in CHAT_KINDS:
        local, shared = figures.sustained.get(f"local 1w {kind}"), figures.sustained.get(f"redis 1w {kind}")
        if local and shared:
            paired = _paired(shared, local, "rounds_rps")
            errors = local["errors"] + shared["errors"]
            label = f"{kind.replace('json', 'JSON')} req/s, 64 clients" + (f" ({errors} errors)" if errors else "")
            rows.append((label, _rps(local["rps"]), _rps(shared["rps"]), "x" + _ratio_cell(paired)))
            if paired:
                verdict[f"{kind} rps"] = statistics.median(paired)
            if "cpu_us" in local and "cpu_us" in shared:
                rows.append(("  CPU per request, µs", f"{local['cpu_us']:.0f}", f"{shared['cpu_us']:.0f}",
                             "x" + _ratio_cell(_paired(shared, local, "rounds_cpu_us"))))  # fmt: skip
        for rate in RATES:
            local_rate = figures.rate.get(f"local 1w {kind}@{rate}")
            shared_rate = figures.rate.get(f"redis 1w {kind}@{rate}")
            if not (local_rate and shared_rate):
                continue
            cell = _delta_cell(shared_rate["rounds_p50"], local_rate["rounds_p50"])
            errors = local_rate["errors"] + shared_rate["errors"]
            label = f"{kind.replace('json', 'JSON')} p50 at {rate} req/s, ms" + (
                f" ({errors} errors)" if errors else ""
            )
            rows.append((label, f"{local_rate['latency']['p50']:.2f}", f"{shared_rate['latency']['p50']:.2f}", cell))
            rows.append((f"  p99 at {rate} req/s, ms", f"{local_rate['latency']['p99']:.2f}",
                         f"{shared_rate['latency']['p99']:.2f}",
                         f"{shared_rate['latency']['p99'] - local_rate['latency']['p99']:+.2f}"))  # fmt: skip
            deltas = [x - y for x, y in zip(shared_rate["rounds_p50"], local_rate["rounds_p50"], strict=False)]
            if deltas:
                verdict[f"{kind} p50@{rate}"] = statistics.median(deltas)
    return rows, verdict


def state_text(figures: Figures) -> list[str]:
    """The table of `--state-compare`: redis beside local, and the verdict on issue 22's target."""
    rows, verdict = _state_rows(figures)
    if not rows:
        return []
    heads = ("", "local", "--state redis", "redis/local or redis-local")
    widths = [max(len(row[i]) for row in [heads, *rows]) for i in range(len(heads))]
    lines = [
        "serve: local state vs --state redis, this checkout, 1 worker each, the breaker on in both, the same fake"
        f" and load; req/s in turns, latency with both in one interleaved open loop ({figures.rounds} rounds;"
        " medians, and the median (min-max) of the rounds' own ratios or differences)",
        *(f"  {key}: {label}" for key, label in figures.sides.items()),
    ]
    for row in [heads, *rows]:
        lines.append(
            "  " + "  ".join([row[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True))])
        )
    sent, requests = figures.redis.get("commands", {}), figures.redis.get("requests", 0)
    if requests:
        counted = ", ".join(f"{name.removeprefix('cmdstat_')} {n}" for name, n in sent.items()) or "nothing"
        scripts = sent.get("cmdstat_evalsha", 0) + sent.get("cmdstat_eval", 0)  # the breaker's round trips
        lines.append(
            f"  what the redis side asked of Redis over the whole run (INFO commandstats; a script's own commands"
            f" counted too): {counted}; {scripts / requests:.4f} scripts per request over {requests:,} requests"
        )
    rps = verdict.get("json rps")
    p50 = max((v for k, v in verdict.items() if k.startswith("json p50@")), default=None)
    if rps is not None and p50 is not None:
        ok = rps >= STATE_RPS_TARGET and p50 <= STATE_P50_TARGET
        lines.append(
            f"  target (issue 22): JSON req/s redis/local {rps:.2f} (needs >= {STATE_RPS_TARGET:.2f}), JSON p50"
            f" redis-local {p50:+.2f} ms at worst of {', '.join(map(str, RATES))} req/s (needs <= +{STATE_P50_TARGET}"
            f" ms) -> {'MET' if ok else 'MISSED'}"
        )
    return lines


def _workers(value: str) -> tuple[int, ...]:
    try:
        counts = tuple(sorted({int(part) for part in value.split(",")}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: worker counts, comma-separated (1 or 1,2)") from None
    if not counts or counts[0] < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: worker counts are 1 or more")
    return counts


def _interrupt_on_sigterm() -> None:
    """SIGTERM ends the run like Ctrl-C: the servers stop and the baseline's worktree goes."""

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="rounds of 0.75 s instead of 2-2.5 s (noisier)")
    parser.add_argument("--no-litellm", action="store_true", help="skip LiteLLM's proxy")
    parser.add_argument("--requests-for-memory", type=int, default=100_000)
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="also measure REF's `protoshift serve` (a throwaway worktree and venv), in turns with this checkout's",
    )
    parser.add_argument(
        "--only-sustained", action="store_true", help="requests/s alone: no latency rates, memory or LiteLLM"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=ROUNDS,
        metavar="N",
        help=f"rounds of turns per figure [{ROUNDS}]; time grows with N",
    )
    parser.add_argument(
        "--only-responses",
        action="store_true",
        help="/v1/responses beside /v1/chat/completions alone (req/s and CPU per request; 1 worker unless --workers)",
    )
    parser.add_argument(
        "--responses-body",
        type=json.loads,
        action="append",
        metavar="JSON",
        help=f"a Responses request measured (repeat for more, each beside chat) [{json.dumps(RESPONSES)}]",
    )
    parser.add_argument(
        "--workers", type=_workers, default=None, metavar="N[,N]", help="worker counts [1,2; 1 with --only-responses]"
    )
    parser.add_argument(
        "--state-compare",
        action="store_true",
        help="serve with local state beside serve --state redis:// (a redis-server of its own), 1 worker, breaker on",
    )
    parser.add_argument(
        "--only-litellm-responses",
        action="store_true",
        help="issue 20 end to end: /v1/responses through LiteLLM's proxy and protoshift serve, on Claude and on a"
        " chat model, CPU per request in turns (benchmarks/responses_e2e.py)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every figure to PATH as JSON")
    parser.add_argument("--upstream", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--load", help=argparse.SUPPRESS)
    return parser


def _check_alone(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """The modes that take only --quick, --rounds and --json."""
    others = ("baseline", "only_sustained", "only_responses", "responses_body", "workers", "requests_for_memory")
    for alone in ("state_compare", "only_litellm_responses"):
        if getattr(args, alone) and any(getattr(args, name) != parser.get_default(name) for name in others):
            parser.error(f"--{alone.replace('_', '-')}: only --quick, --rounds and --json go with it")
    if args.only_litellm_responses and args.no_litellm:
        parser.error("--only-litellm-responses measures LiteLLM's proxy: --no-litellm contradicts it")
    if args.state_compare and args.only_litellm_responses:
        parser.error("--state-compare and --only-litellm-responses: one at a time")


def main() -> None:
    parser = _parser()
    args = parser.parse_args()
    if args.upstream:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_run_upstream())
        return
    if args.load:
        _run_load(json.loads(args.load))
        return
    _check_alone(parser, args)
    _interrupt_on_sigterm()
    started = time.perf_counter()
    try:
        with contextlib.ExitStack() as stack:
            if args.state_compare:
                figures = run_state_compare(quick=args.quick, rounds=max(1, args.rounds))
            elif args.only_litellm_responses:
                from . import responses_e2e

                figures = responses_e2e.run(quick=args.quick, rounds=max(1, args.rounds))
            else:
                before = stack.enter_context(baseline(args.baseline, _say)) if args.baseline else None
                figures = run(
                    quick=args.quick,
                    litellm=not args.no_litellm,
                    memory_requests=args.requests_for_memory,
                    baseline=before,
                    only_sustained=args.only_sustained,
                    only_responses=args.only_responses,
                    responses_bodies=args.responses_body,
                    workers=args.workers or ((1,) if args.only_responses else (1, 2)),
                    rounds=max(1, args.rounds),
                )
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        print(
            "interrupted: servers stopped" + (", the baseline's worktree removed" * bool(args.baseline)),
            file=sys.stderr,
        )
        raise SystemExit(130) from None
    skipped = [flag for flag in ("only_sustained", "only_responses", "no_litellm") if getattr(args, flag)]
    if skipped and not (args.state_compare or args.only_litellm_responses):
        figures.notes.append(f"LiteLLM's proxy: skipped (--{skipped[0].replace('_', '-')})")
    print(text(figures))
    print(f"\nserve benchmark: {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(asdict(figures), indent=2))
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
