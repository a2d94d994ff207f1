"""gateway.http_guard measured: what it costs per request, and what it holds that uvicorn alone does
not (issue 19, items 2 and 3).

    uv run python -m benchmarks.guard [--quick] [--json FILE]

Each side is a trivial ASGI app (`/healthz` -> `{"ok":true}`) on uvicorn (uvloop + httptools) in its
own process: `uvicorn` as `serve` runs it today, `guarded` the same with `http_guard.guard(config)`
and `raise_fd_limit()` at start. The attacker is another process (asyncio); the `/healthz` prober
and the samplers (RSS from /proc/PID/status, open fds from /proc/PID/fd) run here. 127.0.0.1 only.

- per request: 64 keep-alive connections back to back, `wrk -t1 --latency` if installed (else a raw
  asyncio client), rounds alternating between the sides, medians: requests/s, p50, and the
  server's CPU per request (/proc/PID/stat); and in-process, the protocol itself fed a request over
  a fake transport (the steadiest figure on a shared machine): microseconds per request.
- attacks, each for a fixed time, the attacker reconnecting whatever is closed, `/healthz` asked on
  a new connection every 100 ms (2 s timeout) throughout:
  - flood: 1,000 connections each sending one endless header value as fast as the server reads;
  - hold: 1,000 connections each sending a 60 KB head (under the limit) and stopping there;
  - held: 10,000 connections, half idle from the start, half slowloris (a header line every 2 s);
  - fds: the server under `ulimit -n 1024` (soft and hard), 1,100 half-sent requests;
  - slowloris: one connection, a header line every 2 s: how long the server keeps it.
  A side whose RSS passes 2 GB is stopped there (the figure then reads "> 2048").

Targets (issue 19): the guard costs at most a few percent per request; RSS < 150 MB with 1,000
connections flooding headers; `/healthz` answers throughout, with 10,000 connections held and
under the fd limit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RSS_STOP_MB = 2048
HEALTHZ = b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n"

# -- the server ------------------------------------------------------------------------------------

_OK = b'{"ok":true}'
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"11")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The trivial app: the request's body is read, then 200 and 11 bytes."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _OK})


def _serve(side: str, nofile: int | None) -> None:
    import uvicorn

    from protoshift.gateway.http_guard import guard, raise_fd_limit

    if nofile is not None:  # `ulimit -n N` before the server starts: soft and hard
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    config = uvicorn.Config(
        app, loop="uvloop", http="httptools", lifespan="off", log_level="error", access_log=False,
        timeout_keep_alive=5, server_header=False,
    )  # fmt: skip
    cap = None
    if side == "guarded":
        cap = raise_fd_limit()
        guard(config)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    print(json.dumps({"port": sock.getsockname()[1], "cap": cap}), flush=True)
    uvicorn.Server(config).run(sockets=[sock])


@dataclass
class Server:
    side: str
    port: int
    pid: int
    cap: int | None

    def rss_mb(self) -> float:
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def server(side: str, nofile: int | None = None) -> Iterator[Server]:
    args = [sys.executable, "-m", "benchmarks.guard", "--serve", side]
    if nofile is not None:
        args += ["--nofile", str(nofile)]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        started = json.loads(proc.stdout.readline())
        served = Server(side, started["port"], proc.pid, started["cap"])
        deadline = time.monotonic() + 30
        while _healthz(served.port, 1.0) is None:
            assert proc.poll() is None and time.monotonic() < deadline, f"{side} did not start"
            time.sleep(0.05)
        yield served
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _healthz(port: int, timeout: float) -> float | None:
    """Seconds for GET /healthz on a new connection; None if it failed or took over `timeout`."""
    started = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(HEALTHZ)
            answer = b""
            while not answer.endswith(_OK):
                chunk = sock.recv(4096)
                if not chunk:
                    return None
                answer += chunk
    except OSError:
        return None
    return time.perf_counter() - started if answer.startswith(b"HTTP/1.1 200") else None


# -- per request -----------------------------------------------------------------------------------


def _wrk(port: int, seconds: float) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", "-c64", f"-d{seconds:g}s", "--latency", f"http://127.0.0.1:{port}/healthz"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    requests = float(next(line.split()[0] for line in out.splitlines() if "requests in" in line))
    rps = float(next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec")))
    p50 = next(line.split()[1] for line in out.splitlines() if line.strip().startswith("50%"))
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    unit = next(u for u in ("us", "ms", "s") if p50.endswith(u))
    return {"requests": requests, "rps": rps, "p50_ms": float(p50.removesuffix(unit)) * scale[unit]}


def _asyncio_load(port: int, seconds: float) -> dict[str, float]:
    from .serve import load

    result = load(f"http://127.0.0.1:{port}", "/healthz", {}, mode="clients", clients=64, seconds=seconds)
    return {"requests": float(result["requests"]), "rps": float(result["rps"]), "p50_ms": float("nan")}


def per_request(rounds: int, seconds: float) -> dict[str, Any]:
    measure = _wrk if shutil.which("wrk") else _asyncio_load
    runs: dict[str, list[dict[str, float]]] = {"uvicorn": [], "guarded": []}
    with server("uvicorn") as plain, server("guarded") as guarded:
        for _ in range(rounds):
            for served in (plain, guarded):
                cpu = served.cpu_seconds()
                run = measure(served.port, seconds)
                run["cpu_us"] = (served.cpu_seconds() - cpu) / run["requests"] * 1e6
                runs[served.side].append(run)
    figures: dict[str, Any] = {"load": measure.__name__.strip("_"), "rounds": rounds, "seconds": seconds}
    for side, side_runs in runs.items():
        figures[side] = {key: statistics.median(run[key] for run in side_runs) for key in ("rps", "p50_ms", "cpu_us")}
    figures["protocol_us"] = _protocol_cost(repeats=5 if rounds < 3 else 15)
    return figures


class _NullTransport(asyncio.Transport):
    """Takes what the protocol writes and drops it."""

    def write(self, data: Any) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


# What an SDK sends, roughly: a dozen headers.
_SDK_LIKE_REQUEST = b"GET /healthz HTTP/1.1\r\n" + b"".join(
    b"%s: %s\r\n" % pair
    for pair in [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"OpenAI/Python 2.0"), (b"accept", b"*/*"),
                 (b"authorization", b"Bearer ps-0123456789"), (b"content-type", b"application/json"),
                 (b"x-stainless-lang", b"python"), (b"x-stainless-os", b"Linux"), (b"x-stainless-arch", b"x64"),
                 (b"x-stainless-runtime", b"CPython"), (b"x-stainless-retry-count", b"0"),
                 (b"accept-encoding", b"gzip, deflate"), (b"connection", b"keep-alive")]
) + b"\r\n"  # fmt: skip


def _protocol_cost(repeats: int, requests: int = 5000) -> dict[str, float]:
    """The protocol alone, in this process: a request fed to data_received over a fake transport,
    the app run to its answer; min over the repeats (the least disturbed), microseconds."""
    import uvicorn
    import uvloop
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    from uvicorn.server import ServerState

    from protoshift.gateway.http_guard import GuardedHttpToolsProtocol

    async def once(cls: type[HttpToolsProtocol]) -> float:
        config = uvicorn.Config(app, log_level="error")
        config.load()
        state = ServerState()
        protocol = cls(config, state, {})
        protocol.connection_made(_NullTransport())
        started = time.perf_counter()
        for _ in range(requests):
            protocol.data_received(_SDK_LIKE_REQUEST)
            for task in list(state.tasks):
                await task
        return (time.perf_counter() - started) / requests * 1e6

    async def both() -> dict[str, float]:
        times: dict[str, list[float]] = {"uvicorn": [], "guarded": []}
        for _ in range(repeats):
            times["uvicorn"].append(await once(HttpToolsProtocol))
            times["guarded"].append(await once(GuardedHttpToolsProtocol))
        return {side: min(values) for side, values in times.items()}

    return uvloop.run(both())


# -- the attacker ----------------------------------------------------------------------------------


async def _attack(spec: dict[str, Any]) -> dict[str, Any]:
    """Runs in its own process: `connections` attackers of one `kind`, each reconnecting when closed."""
    port, kind, seconds = spec["port"], spec["kind"], spec["seconds"]
    deadline = time.monotonic() + seconds
    counts = {"connects": 0, "closed_by_server": 0, "failed_connects": 0, "open": 0, "open_max": 0}
    piece = b"a" * 65536

    async def connection(i: int) -> None:
        # Several source addresses: tens of thousands of connects need more than one range of ports.
        local = (f"127.0.0.{2 + i % 8}", 0)
        while time.monotonic() < deadline:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=local)
            except OSError:
                counts["failed_connects"] += 1
                await asyncio.sleep(0.1)
                continue
            counts["connects"] += 1
            counts["open"] += 1
            counts["open_max"] = max(counts["open_max"], counts["open"])
            try:
                await _one(kind, i, reader, writer, deadline, piece)
                if reader.at_eof() or writer.is_closing():
                    counts["closed_by_server"] += 1
            except (OSError, asyncio.IncompleteReadError):
                counts["closed_by_server"] += 1
            finally:
                counts["open"] -= 1
                writer.close()

    async def ramp() -> None:
        tasks = []
        for i in range(spec["connections"]):
            tasks.append(asyncio.create_task(connection(i)))
            if i % 200 == 199:
                await asyncio.sleep(0.01)  # the accept queue is 2048 deep
        await asyncio.gather(*tasks)

    await ramp()
    return counts


async def _one(
    kind: str, i: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, deadline: float, piece: bytes
) -> None:
    """One attacking connection, until the server closes it or the time is up."""

    async def closed_within(seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader.read(65536), seconds)
            return True  # an answer (a refusal) or the close: either way, gone
        return False

    if kind == "flood":
        writer.write(b"GET / HTTP/1.1\r\nhost: x\r\nx-flood: ")
        while time.monotonic() < deadline and not reader.at_eof():
            writer.write(piece)
            await writer.drain()
    elif kind == "hold":
        writer.write(b"GET / HTTP/1.1\r\nhost: x\r\nx-hold: " + b"a" * 60_000)
        await closed_within(deadline - time.monotonic())
    elif kind == "half_sent" or (kind == "held" and i % 2 == 0):  # the idle half sends nothing at all
        if kind == "half_sent":
            writer.write(b"GET / HTTP/1.1\r\nhost: x\r\n")
        await closed_within(deadline - time.monotonic())
    else:  # slowloris: a header line every 2 s
        writer.write(b"GET / HTTP/1.1\r\nhost: x\r\n")
        while time.monotonic() < deadline:
            if await closed_within(min(2.0, max(0.0, deadline - time.monotonic()))):
                return
            writer.write(b"x-slow: 1\r\n")
            await writer.drain()


# -- attacks ---------------------------------------------------------------------------------------


@dataclass
class Watch:
    """`/healthz` every 100 ms and the server's RSS and fds, in threads, while an attack runs."""

    served: Server
    probes: list[float | None] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    fds: list[int] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    stopped_over_rss: bool = False

    def _probe(self) -> None:
        while not self.stop.wait(0.1):
            self.probes.append(_healthz(self.served.port, 2.0))

    def _sample(self) -> None:
        tick = 0
        while not self.stop.wait(0.1):
            try:
                self.rss.append(self.served.rss_mb())
                if tick % 5 == 0:
                    self.fds.append(self.served.fds())
            except (FileNotFoundError, ProcessLookupError):
                return
            tick += 1
            if self.rss[-1] > RSS_STOP_MB:
                self.stopped_over_rss = True
                os.kill(self.served.pid, 9)  # our own server process, before it takes the machine's memory
                return

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        threads = [threading.Thread(target=self._probe), threading.Thread(target=self._sample)]
        for thread in threads:
            thread.start()
        try:
            yield
        finally:
            self.stop.set()
            for thread in threads:
                thread.join()

    def figures(self) -> dict[str, Any]:
        answered = sorted(p * 1000 for p in self.probes if p is not None)
        return {
            "healthz_ok": len(answered),
            "healthz_asked": len(self.probes),
            "healthz_p50_ms": round(statistics.median(answered), 2) if answered else None,
            "healthz_max_ms": round(answered[-1], 1) if answered else None,
            "rss_peak_mb": round(max(self.rss, default=0.0)),
            "rss_stopped_over_mb": RSS_STOP_MB if self.stopped_over_rss else None,
            "fds_peak": max(self.fds, default=0),
        }


def attack(side: str, kind: str, connections: int, seconds: float, nofile: int | None = None) -> dict[str, Any]:
    with server(side, nofile) as served:
        watch = Watch(served)
        spec = {"port": served.port, "kind": kind, "connections": connections, "seconds": seconds}
        with watch.running():
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.guard", "--attack", json.dumps(spec)],
                cwd=ROOT, capture_output=True, text=True, check=True,
            )  # fmt: skip
        return {"cap": served.cap, **watch.figures(), "attacker": json.loads(done.stdout)}


def slowloris(side: str, bound: float) -> dict[str, Any]:
    """One connection, a header line every 2 s: seconds until the server closed it (None: still
    connected after `bound`)."""
    with server(side) as served, socket.create_connection(("127.0.0.1", served.port)) as sock:
        started = time.monotonic()
        sock.sendall(b"GET / HTTP/1.1\r\nhost: x\r\n")
        sock.settimeout(2.0)
        while time.monotonic() - started < bound:
            try:
                sock.recv(4096)  # an answer (a 408) or the close: either way, the end
                break
            except TimeoutError:
                with contextlib.suppress(OSError):
                    sock.sendall(b"x-slow: 1\r\n")
            except OSError:
                break
        else:
            return {"closed_after_s": None, "bound_s": bound}
        return {"closed_after_s": round(time.monotonic() - started, 1)}


# -- the run ---------------------------------------------------------------------------------------

ATTACKS = {  # name: (kind, connections, seconds, nofile); --quick divides the time by 3
    "flood": ("flood", 1000, 10.0, None),
    "hold": ("hold", 1000, 12.0, None),
    "held": ("held", 10_000, 25.0, None),
    "fds": ("half_sent", 1100, 15.0, 1024),
}


def run(*, quick: bool) -> dict[str, Any]:
    figures: dict[str, Any] = {"per_request": per_request(rounds=2 if quick else 6, seconds=1.0 if quick else 3.0)}
    for name, (kind, connections, seconds, nofile) in ATTACKS.items():
        for side in ("uvicorn", "guarded"):
            figures.setdefault(name, {})[side] = attack(
                side, kind, connections, seconds / 3 if quick else seconds, nofile
            )
    figures["slowloris"] = {side: slowloris(side, 20.0 if quick else 60.0) for side in ("uvicorn", "guarded")}
    return figures


def text(figures: dict[str, Any]) -> str:
    pr = figures["per_request"]
    plain, guarded = pr["uvicorn"], pr["guarded"]

    def delta(key: str, side_a: dict[str, float] = plain, side_b: dict[str, float] = guarded) -> str:
        return f"{(side_b[key] / side_a[key] - 1) * 100:+.1f}%"

    lines = [
        f"per request: trivial app, 64 keep-alive connections ({pr['load']}), median of {pr['rounds']} rounds",
        f"{'':10} {'req/s':>9} {'p50 ms':>8} {'server CPU us/req':>18} {'protocol us/req':>16}",
    ]
    for side, row in (("uvicorn", plain), ("guarded", guarded)):
        lines.append(
            f"{side:10} {row['rps']:9.0f} {row['p50_ms']:8.2f} {row['cpu_us']:18.1f} {pr['protocol_us'][side]:16.2f}"
        )
    lines.append(
        f"{'cost':10} {delta('rps'):>9} {delta('p50_ms'):>8} {delta('cpu_us'):>18}"
        f" {delta('guarded', {'guarded': pr['protocol_us']['uvicorn']}, pr['protocol_us']):>16}"
    )
    lines += ["", "attacks (healthz: answered/asked, p50 and max ms; RSS and fds: the server's peak)"]
    for name in ATTACKS:
        for side in ("uvicorn", "guarded"):
            f = figures[name][side]
            rss = f"> {f['rss_stopped_over_mb']}" if f["rss_stopped_over_mb"] else str(f["rss_peak_mb"])
            a = f["attacker"]
            lines.append(
                f"{name:6} {side:8} healthz {f['healthz_ok']}/{f['healthz_asked']}"
                f" p50 {f['healthz_p50_ms']} max {f['healthz_max_ms']}  RSS {rss} MB  fds {f['fds_peak']}"
                f"  cap {f['cap']}  attacker: {a['connects']} connects, {a['open_max']} open at most,"
                f" {a['closed_by_server']} closed by the server, {a['failed_connects']} failed connects"
            )
    for side, f in figures["slowloris"].items():
        closed = (
            f"closed after {f['closed_after_s']} s"
            if f["closed_after_s"] is not None
            else f"open after {f['bound_s']:g} s"
        )
        lines.append(f"slowloris {side:8} {closed}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--serve", choices=["uvicorn", "guarded"], help=argparse.SUPPRESS)
    parser.add_argument("--nofile", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--attack", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve, args.nofile)
        return
    if args.attack:
        import uvloop

        print(json.dumps(uvloop.run(_attack(json.loads(args.attack)))), flush=True)
        return
    figures = run(quick=args.quick)
    print(text(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
