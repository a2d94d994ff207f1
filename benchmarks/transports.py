"""HTTP clients side by side (issue 11): which transport goes under protoshift's `httpx.AsyncClient`.

`python -m benchmarks.transports [--quick] [--only NAME,...]`. Every candidate runs in a fresh
process of its own (`--child`), against servers in their own processes (benchmarks/fastserver.py,
benchmarks/proxyserver.py), all on 127.0.0.1:

- throughput: POSTs of a small JSON body to a zero-latency server, answered with an Anthropic message,
  at concurrency 16/64/256, each response read whole through `client.stream()` + `aread()` (what
  protoshift does): requests/s, CPU per request (this process, every thread), and connections the
  server accepted (reuse: at most the concurrency).
- latency: 10,000 requests at 50 ms server latency, concurrency 256, against the ideal 10000/256*0.05 s.
- first chunk: an SSE answer whose first event comes at once and the rest `GAP` (0.2 s) later: the time
  to the first chunk (a client that buffers shows the gap) and whether it is that first event.
- early close: leaving an endless SSE stream after its first chunk: how long until the server sees the
  connection close (it must be closed at once, not drained or pooled).
- TLS and proxy, from the environment as today: a TLS server whose certificate only `SSL_CERT_FILE`
  trusts (verified with it, refused without it), then the same through `HTTPS_PROXY` (a CONNECT proxy
  that counts its tunnels).
- import: milliseconds the candidate's modules add to a process that already imports httpx (what
  `protoshift chat` would pay at start-up), median of 5 fresh processes.

The candidates: httpx's own transport (`protoshift chat` before issue 11), httpx over
`cloud.pool.ShardedTransport` (`batch run` before issue 11), `httpx-aiohttp`, `pyreqwest`'s httpx
transport, `httpx2` (a fork with its own client, not a transport), protoshift's `default_transport()`
(after issue 11), and raw aiohttp and a raw asyncio socket client as references (no httpx at all).
"""

from __future__ import annotations

import abc
import argparse
import asyncio
import contextlib
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .servers import ROOT, serve

BODY = json.dumps({"model": "claude-bench", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}).encode()
HEADERS = {"content-type": "application/json", "x-api-key": "sk-ant-bench", "anthropic-version": "2023-06-01"}
CONCURRENCIES = (16, 64, 256)
LATENCY = 0.05
LATENCY_REQUESTS = 10_000
LATENCY_CONCURRENCY = 256


# -- the candidates ------------------------------------------------------------------------------


class Candidate(abc.ABC):
    """One HTTP client, built as protoshift would build it (the environment honoured as the library does)."""

    @abc.abstractmethod
    async def post(self, url: str) -> bytes: ...

    @abc.abstractmethod
    def stream(self, url: str) -> AbstractAsyncContextManager[AsyncIterator[bytes]]: ...

    @abc.abstractmethod
    async def aclose(self) -> None: ...


class ThroughHttpx(Candidate):
    def __init__(self, client: Any) -> None:  # an httpx.AsyncClient (or httpx2's)
        self.client = client

    async def post(self, url: str) -> bytes:
        async with self.client.stream("POST", url, content=BODY, headers=HEADERS) as response:
            data: bytes = await response.aread()
            response.raise_for_status()
            return data

    @asynccontextmanager
    async def stream(self, url: str) -> AsyncIterator[AsyncIterator[bytes]]:
        async with self.client.stream("POST", url, content=BODY, headers=HEADERS) as response:
            yield response.aiter_bytes()

    async def aclose(self) -> None:
        await self.client.aclose()


def _limits(concurrency: int) -> Any:
    import httpx

    return httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)


def _httpx(concurrency: int, url: str) -> Candidate:
    import httpx

    return ThroughHttpx(httpx.AsyncClient(limits=_limits(concurrency), timeout=httpx.Timeout(600, connect=10)))


def _sharded(concurrency: int, url: str) -> Candidate:
    import httpx

    from protoshift.cloud.pool import ShardedTransport

    return ThroughHttpx(
        httpx.AsyncClient(transport=ShardedTransport(concurrency), timeout=httpx.Timeout(600, connect=10))
    )


def _httpx_aiohttp(concurrency: int, url: str) -> Candidate:
    import httpx
    import httpx_aiohttp

    # its own client, as the openai SDK uses it: httpx's environment proxies go to its proxy transport
    client = httpx_aiohttp.HttpxAiohttpClient(limits=_limits(concurrency), timeout=httpx.Timeout(600, connect=10))
    return ThroughHttpx(client)


def _pyreqwest(concurrency: int, url: str) -> Candidate:
    import httpx
    from pyreqwest.client import ClientBuilder
    from pyreqwest.compatibility.httpx import HttpxTransport

    transport = HttpxTransport(ClientBuilder().max_connections(concurrency).build())
    return ThroughHttpx(httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(600, connect=10)))


def _httpx2(concurrency: int, url: str) -> Candidate:
    import httpx2

    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return ThroughHttpx(httpx2.AsyncClient(limits=limits, timeout=httpx2.Timeout(600, connect=10)))


def _protoshift(concurrency: int, url: str) -> Candidate:
    import httpx

    from protoshift.cloud.transport import default_transport

    transport = default_transport(url, connections=concurrency)
    return ThroughHttpx(httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(600, connect=10)))


class RawAiohttp(Candidate):
    """aiohttp with the environment's proxy looked up once, as protoshift does: `trust_env=True` would
    read every proxy variable again for each request (about 300 µs of CPU each, here)."""

    def __init__(self, concurrency: int, url: str) -> None:
        import aiohttp
        import yarl
        from aiohttp.helpers import get_env_proxy_for_url

        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency), cookie_jar=aiohttp.DummyCookieJar(), trust_env=False
        )
        try:
            self.proxy: Any = get_env_proxy_for_url(yarl.URL(url))
        except LookupError:  # no proxy for this URL
            self.proxy = (None, None)

    async def post(self, url: str) -> bytes:
        proxy, auth = self.proxy
        async with self.session.post(url, data=BODY, headers=HEADERS, proxy=proxy, proxy_auth=auth) as response:
            data = await response.read()
            response.raise_for_status()
            return data

    @asynccontextmanager
    async def stream(self, url: str) -> AsyncIterator[AsyncIterator[bytes]]:
        proxy, auth = self.proxy
        async with self.session.post(url, data=BODY, headers=HEADERS, proxy=proxy, proxy_auth=auth) as response:
            yield response.content.iter_any()

    async def aclose(self) -> None:
        await self.session.close()


class RawSocket(Candidate):
    """HTTP/1.1 keep-alive over asyncio streams, content-length bodies only: the floor."""

    def __init__(self, concurrency: int, url: str) -> None:
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self, url: str) -> bytes:
        host, _, rest = url.removeprefix("http://").partition("/")
        name, _, port = host.partition(":")
        conn = self.idle.pop() if self.idle else await asyncio.open_connection(name, int(port))
        reader, writer = conn
        head = "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items())
        writer.write(
            f"POST /{rest} HTTP/1.1\r\nhost: {host}\r\n{head}content-length: {len(BODY)}\r\n\r\n".encode() + BODY
        )
        response = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in response.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        data = await reader.readexactly(length)
        self.idle.append(conn)
        return data

    def stream(self, url: str) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        raise TypeError("the raw socket client reads content-length bodies only: no streams")

    async def aclose(self) -> None:
        for _, writer in self.idle:
            writer.close()


CANDIDATES: dict[str, Callable[[int, str], Candidate]] = {
    "httpx": _httpx,
    "httpx+sharded": _sharded,
    "httpx-aiohttp": _httpx_aiohttp,
    "pyreqwest": _pyreqwest,
    "httpx2": _httpx2,
    "protoshift": _protoshift,
    "raw aiohttp": RawAiohttp,
    "raw asyncio": RawSocket,
}
THROUGH_HTTPX = ("httpx", "httpx+sharded", "httpx-aiohttp", "pyreqwest", "httpx2", "protoshift")
IMPORTS = {  # what each adds over `import httpx` (the stand-alone clients: their whole import)
    "httpx": [],
    "httpx+sharded": ["protoshift.cloud.pool"],
    "httpx-aiohttp": ["httpx_aiohttp"],
    "pyreqwest": ["pyreqwest.compatibility.httpx"],
    "httpx2": ["httpx2"],
    "protoshift": ["protoshift.cloud.transport", "aiohttp"],  # aiohttp: imported by its first request
    "raw aiohttp": ["aiohttp"],
    "raw asyncio": [],
}


# -- the child: one candidate, one test ----------------------------------------------------------


def _stats(base: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base}/__stats", timeout=5) as answer:
        stats: dict[str, Any] = json.loads(answer.read())
    return stats


async def _throughput(name: str, url: str, requests: int, concurrency: int) -> dict[str, Any]:
    client = CANDIDATES[name](concurrency, url)
    try:
        await asyncio.gather(*(client.post(url) for _ in range(concurrency)))  # connect, warm up
        counter = itertools.count()

        async def worker() -> None:
            while next(counter) < requests:
                await client.post(url)

        cpu0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        await client.aclose()
    return {"rate": requests / wall, "wall_s": wall, "cpu_us": cpu / requests * 1e6}


async def _first_chunk(name: str, base: str) -> dict[str, Any]:
    from .fastserver import sse_event

    client = CANDIDATES[name](4, base)
    try:
        await client.post(f"{base}/v1/messages")  # connected, lazy imports done: the stream alone is timed
        t0 = time.perf_counter()
        async with client.stream(f"{base}/stream/gap") as chunks:
            first_at, first = 0.0, b""
            rest = b""
            async for chunk in chunks:
                if not first_at:
                    first_at, first = time.perf_counter(), chunk
                else:
                    rest += chunk
        total = time.perf_counter() - t0
    finally:
        await client.aclose()
    return {
        "first_ms": (first_at - t0) * 1e3,
        "total_ms": total * 1e3,
        "first_is_first_event": first == sse_event(0),
        "all_bytes": first + rest == b"".join(sse_event(n) for n in range(6)),
    }


async def _early_close(name: str, base: str) -> dict[str, Any]:
    client = CANDIDATES[name](4, base)
    try:
        async with client.stream(f"{base}/stream/long") as chunks:
            async for _chunk in chunks:
                break
            left_at = time.monotonic()
        closed_at = None
        for _ in range(100):  # up to 1 s
            await asyncio.sleep(0.01)
            closed_at = (await asyncio.to_thread(_stats, base))["stream_closed_at"]
            if closed_at is not None:
                break
    finally:
        await client.aclose()
    return {"closed_after_ms": None if closed_at is None else (closed_at - left_at) * 1e3}


async def _tls(name: str, url: str, proxy_stats: str | None) -> dict[str, Any]:
    client = CANDIDATES[name](4, url)
    before = _stats(proxy_stats)["tunnels"] if proxy_stats else 0
    try:
        data = await client.post(url)
        outcome: dict[str, Any] = {"ok": json.loads(data).get("type") == "message"}
    except Exception as exc:
        outcome = {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:160]}"}
    finally:
        await client.aclose()
    if proxy_stats:
        outcome["tunnels"] = _stats(proxy_stats)["tunnels"] - before
    return outcome


def _import_ms(name: str) -> dict[str, Any]:
    """Importing the candidate and building its first client, in a process that has httpx already."""
    import importlib

    import httpx  # noqa: F401  (paid by every candidate that goes through httpx)

    async def build() -> None:
        await CANDIDATES[name](4, "https://127.0.0.1:9/").aclose()

    started = time.perf_counter()
    for module in IMPORTS[name]:
        importlib.import_module(module)
    asyncio.run(build())
    return {"import_ms": (time.perf_counter() - started) * 1e3}


def child(args: argparse.Namespace) -> None:
    test, name = args.test, args.child
    if test == "throughput":
        result = asyncio.run(_throughput(name, args.url, args.requests, args.concurrency))
    elif test == "first_chunk":
        result = asyncio.run(_first_chunk(name, args.url))
    elif test == "early_close":
        result = asyncio.run(_early_close(name, args.url))
    elif test == "tls":
        result = asyncio.run(_tls(name, args.url, args.proxy_stats))
    else:
        result = _import_ms(name)
    print(json.dumps(result))


# -- the parent ------------------------------------------------------------------------------------


@dataclass
class Figures:
    name: str
    results: dict[str, Any] = field(default_factory=dict)


def _run_child(name: str, test: str, *extra: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.transports", "--child", name, "--test", test, *extra]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300, check=False)
    printed = done.stdout.strip().splitlines()
    if done.returncode != 0 and not printed:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": last[:200]}
    result: dict[str, Any] = json.loads(printed[-1])
    if done.returncode != 0:  # it did its work, then the process died (pyreqwest at exit: SIGABRT)
        result["exit"] = done.returncode
    return result


def _clean_env(**extra: str) -> dict[str, str]:
    drop = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR")
    env = {k: v for k, v in os.environ.items() if k.upper() not in drop}
    return env | extra


@contextlib.contextmanager
def _certificates() -> Iterator[tuple[Path, Path, Path]]:
    """A CA and a certificate for 127.0.0.1 it signed (openssl): (ca, cert, key)."""
    with tempfile.TemporaryDirectory(prefix="protoshift-tls-") as name:
        d = Path(name)

        def openssl(*args: str) -> None:
            subprocess.run(["openssl", *args], check=True, capture_output=True)

        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                "-subj", "/CN=protoshift bench CA", "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"))  # fmt: skip
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-subj", "/CN=127.0.0.1", "-keyout", str(d / "key.pem"), "-out", str(d / "req.csr"))  # fmt: skip
        (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n")
        openssl("x509", "-req", "-in", str(d / "req.csr"), "-CA", str(d / "ca.pem"), "-CAkey", str(d / "ca.key"),
                "-CAcreateserial", "-days", "2", "-extfile", str(d / "ext.cnf"), "-out", str(d / "cert.pem"))  # fmt: skip
        yield d / "ca.pem", d / "cert.pem", d / "key.pem"


def run(quick: bool = False, only: list[str] | None = None) -> list[Figures]:
    names = only or list(CANDIDATES)
    figures = [Figures(name) for name in names]
    requests = {16: 2000, 64: 3000, 256: 4000} if quick else {16: 4000, 64: 6000, 256: 8000}
    env = _clean_env()
    with serve("benchmarks.fastserver") as base:
        for concurrency in CONCURRENCIES:
            for _round in range(1 if quick else 2):  # best of rounds: the machine is shared
                for fig in figures:
                    before = _stats(base)["connections"]
                    args = ("--url", f"{base}/v1/messages", "--requests", str(requests[concurrency]))
                    result = _run_child(fig.name, "throughput", *args, "--concurrency", str(concurrency), env=env)
                    result["connections"] = _stats(base)["connections"] - before - 1  # the stats call's own
                    key = f"c{concurrency}"
                    kept = fig.results.get(key)
                    if kept is None or "error" in kept or result.get("rate", 0) > kept.get("rate", 0):
                        fig.results[key] = result
        for fig in figures:
            if fig.name != "raw asyncio":
                fig.results["first_chunk"] = _run_child(fig.name, "first_chunk", "--url", base, env=env)
                fig.results["early_close"] = _run_child(fig.name, "early_close", "--url", base, env=env)
    with serve("benchmarks.fastserver", "--latency", str(LATENCY)) as base:
        total = LATENCY_REQUESTS // 4 if quick else LATENCY_REQUESTS
        for fig in figures:
            latency_args = ("--url", f"{base}/v1/messages", "--requests", str(total))
            result = _run_child(
                fig.name, "throughput", *latency_args, "--concurrency", str(LATENCY_CONCURRENCY), env=env
            )
            result["ideal_s"] = total / LATENCY_CONCURRENCY * LATENCY
            fig.results["latency"] = result
    _tls_figures(figures)
    for fig in figures:
        samples = [_run_child(fig.name, "import", env=env).get("import_ms", float("nan")) for _ in range(5)]
        fig.results["import_ms"] = statistics.median(samples)
    return figures


def chat_startup(runs: int = 10, before: Path | None = None) -> dict[str, float]:
    """Wall ms of a whole `protoshift chat -p hi` against the local server (start-up, one request, exit),
    median of `runs`, round-robin: with protoshift's transport, with httpx's (`PROTOSHIFT_HTTP_TRANSPORT=httpx`,
    the transport `chat` had before issue 11), and another install's script (`before`)."""
    script = Path(sys.prefix) / "bin" / "protoshift"
    with serve("benchmarks.fastserver") as base, tempfile.TemporaryDirectory() as state:
        env = _clean_env(ANTHROPIC_BASE_URL=base, ANTHROPIC_API_KEY="sk-ant-bench", XDG_STATE_HOME=state)
        env = {k: v for k, v in env.items() if not k.startswith("PROTOSHIFT_")}
        sides: dict[str, tuple[Path, dict[str, str]]] = {
            "chat, protoshift's transport": (script, env),
            "chat, httpx's transport": (script, env | {"PROTOSHIFT_HTTP_TRANSPORT": "httpx"}),
        }
        if before is not None:
            sides["chat, --before"] = (before, env)
        samples: dict[str, list[float]] = {name: [] for name in sides}
        for i in range(runs + 2):
            for name, (binary, side_env) in sides.items():
                started = time.perf_counter()
                done = subprocess.run(
                    [str(binary), "chat", "-p", "hi", "-m", "claude-bench"],
                    capture_output=True,
                    env=side_env,
                    check=False,
                )
                if done.returncode != 0:
                    raise RuntimeError(f"{name}: exit {done.returncode}: {done.stderr.decode()[-200:]}")
                if i >= 2:  # warm-up: .pyc files
                    samples[name].append((time.perf_counter() - started) * 1e3)
    return {name: statistics.median(values) for name, values in samples.items()}


def _tls_figures(figures: list[Figures]) -> None:
    with _certificates() as (ca, cert, key), serve("benchmarks.fastserver", "--tls", str(cert), str(key)) as base:
        url = base.replace("http://", "https://") + "/v1/messages"
        with serve("benchmarks.proxyserver") as proxy:
            for fig in figures:
                if fig.name == "raw asyncio":
                    continue
                trusted = _run_child(fig.name, "tls", "--url", url, env=_clean_env(SSL_CERT_FILE=str(ca)))
                untrusted = _run_child(fig.name, "tls", "--url", url, env=_clean_env())
                proxied = _run_child(
                    fig.name, "tls", "--url", url, "--proxy-stats", proxy,
                    env=_clean_env(SSL_CERT_FILE=str(ca), HTTPS_PROXY=proxy),
                )  # fmt: skip
                fig.results["tls"] = {"trusted": trusted, "untrusted": untrusted, "proxied": proxied}


# -- the report ----------------------------------------------------------------------------------


def _cell(result: dict[str, Any] | None, fmt: Callable[[dict[str, Any]], str]) -> str:
    if not result:
        return "-"
    if "error" in result and "ok" not in result:
        return "error"
    try:
        return fmt(result)
    except (KeyError, TypeError):
        return "?"


def text(figures: list[Figures]) -> str:
    lines = ["HTTP clients side by side (each in its own process; zero-latency local server in its own process)"]
    head = f"{'':<15}" + "".join(f"{f'c={c} req/s':>13}{'CPU/req':>10}{'conns':>7}" for c in CONCURRENCIES)
    lines.append(head)
    for fig in figures:
        row = f"{fig.name:<15}"
        for c in CONCURRENCIES:
            r = fig.results.get(f"c{c}")
            row += _cell(r, lambda r: f"{r['rate']:>13,.0f}{r['cpu_us']:>7.0f} µs{r['connections']:>7}")
            if r is None or "error" in r:
                row += " " * 17
        lines.append(row)
    lines.append("")
    lines.append(
        f"{'':<15}{'10k @50ms c=256':>17}{'first chunk':>13}{'early close':>13}"
        f"{'TLS+CA':>8}{'no CA':>17}{'proxy':>11}{'import':>10}"
    )
    for fig in figures:
        res = fig.results
        lat = _cell(res.get("latency"), lambda r: f"{r['wall_s']:.2f}s {r['wall_s'] / r['ideal_s']:.2f}x")
        first = _cell(
            res.get("first_chunk"),
            lambda r: f"{r['first_ms']:.1f} ms" + ("" if r["first_is_first_event"] and r["all_bytes"] else " BAD"),
        )
        close = _cell(
            res.get("early_close"),
            lambda r: "not closed" if r["closed_after_ms"] is None else f"{r['closed_after_ms']:.1f} ms",
        )
        tls = res.get("tls", {})
        trusted = _cell(tls.get("trusted"), lambda r: "ok" if r["ok"] else "FAIL")
        refused = _cell(
            tls.get("untrusted"),
            lambda r: ("refused" if not r["ok"] else "ACCEPTED") + (f" exit {r['exit']}" if "exit" in r else ""),
        )
        proxied = _cell(
            tls.get("proxied"), lambda r: ("ok" if r["ok"] else "FAIL") + ("" if r.get("tunnels") else " direct")
        )
        imp = res.get("import_ms")
        lines.append(
            f"{fig.name:<15}{lat:>17}{first:>13}{close:>13}{trusted:>8}{refused:>17}{proxied:>11}"
            f"{'-' if imp is None else f'{imp:.0f} ms':>10}"
        )
    lines.append(
        "first chunk: the server sends one event, waits 200 ms, sends the rest (BAD: not the first event"
        " alone, or bytes lost); early close: from leaving the stream to the server seeing the connection"
        " close; TLS+CA: SSL_CERT_FILE names the CA; no CA: it does not (the request must be refused); proxy:"
        " TLS through HTTPS_PROXY (`direct`: it did not go through the proxy); import: ms over `import httpx`"
        " to import the candidate and build its first client"
    )
    for fig in figures:
        for key, result in fig.results.items():
            for sub in result.values() if key == "tls" else [result]:
                if isinstance(sub, dict) and "error" in sub and sub is not result.get("untrusted"):
                    lines.append(f"  {fig.name} {key}: {sub['error']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.transports", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", help="comma-separated candidate names")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--before", type=Path, help="another install's protoshift script, for the chat start-up")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--test", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--proxy-stats", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    figures = run(quick=args.quick, only=args.only.split(",") if args.only else None)
    print(text(figures))
    startup = chat_startup(5 if args.quick else 15, args.before)
    print("\n`protoshift chat -p hi` against the local server, whole process, median wall time:")
    for name, ms in startup.items():
        print(f"  {name:<32} {ms:7.0f} ms")
    if args.json:
        args.json.write_text(json.dumps({"clients": {f.name: f.results for f in figures}, "chat": startup}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
