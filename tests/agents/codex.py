"""Codex CLI (npm `@openai/codex`) as a test client: installed once into a cache folder, run headless
(`codex exec`) against a base URL on 127.0.0.1, with nothing else to talk to.

- `install_codex()` installs the pinned version with npm into `~/.cache/protoshift-tests/npm/`
  (`PROTOSHIFT_TEST_CACHE` moves it), once: later runs reuse it. It returns the `codex` command, or
  raises `CodexUnavailable` saying why (no node/npm, node too old, the install failed): the suite skips
  then, it does not fail.
- `CodexRunner.run(prompt, base_url=..., api_key=...)` runs `codex exec --json` in a fresh HOME,
  CODEX_HOME (its config.toml written by `codex_config`) and working directory, with a time limit;
  the process and everything it started are killed when the limit passes, and in any case on the way out.
- Traffic goes only to the base URL: the config turns off update checks, analytics, feedback, OTEL
  export, MCP servers, plugins/apps and the other features that reach out, and every proxy variable
  points at a `Tripwire` on 127.0.0.1 that records whatever tries to leave through it (a test asserts
  it saw nothing). (Web search stays on: a hosted tool, run by the API, not by Codex.)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.agents import npm_cache

CODEX_VERSION = "0.171.0"  # the registry's current version when the harness was written (issue 20 tried 0.171)
CODEX_PACKAGE = f"@openai/codex@{CODEX_VERSION}"
NODE_MIN = (16, 0)  # the package's `engines`; 0.171 runs on node 20: the JS wrapper only starts a native binary
INSTALL_TIMEOUT = 600.0  # ~400 MB (the native binary); 5 s here, a slow mirror takes longer
KEY_ENV = "PROTOSHIFT_CODEX_TEST_KEY"
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy")
MARK_ENV = "PROTOSHIFT_CODEX_RUN"  # marks every process of a run (see _marked)
# A model Codex 0.171 has metadata for: its real tool set (the freeform `apply_patch` tool included) and
# no "model metadata not found" warning. With a name it does not know, Codex falls back to generic
# metadata and sends no `apply_patch` tool at all (captured; see README.md here).
MODEL = "gpt-5.5"


class CodexUnavailable(npm_cache.Unavailable):
    """Codex cannot be run here; the message says why (the reason the tests are skipped with)."""


def _command(prefix: Path) -> Path:
    return prefix / "node_modules" / ".bin" / "codex"


def _works(prefix: Path) -> bool:
    command = _command(prefix)
    if not command.exists():
        return False
    try:
        out = subprocess.run(
            [str(command), "--version"],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            env=_base_env(Path(tempfile.gettempdir())),
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and CODEX_VERSION in out.stdout


PACKAGE = npm_cache.Package(f"codex-{CODEX_VERSION}", (CODEX_PACKAGE,), NODE_MIN, _works, CodexUnavailable,
                            INSTALL_TIMEOUT)  # fmt: skip


def install_codex(root: Path | None = None) -> Path:
    """The `codex` command of the pinned version, installed with npm into the cache on first use."""
    return _command(npm_cache.install(PACKAGE, root))


# ---- what codex talks to -----------------------------------------------------------------------------


class Tripwire:
    """A TCP listener on 127.0.0.1 that records every connection made to it (and its first line), then
    closes it. Every proxy variable of a Codex run points here: anything that tries to reach a host
    other than 127.0.0.1 through a proxy lands here, fails at once, and is seen."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def __enter__(self) -> Tripwire:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(1)
                try:
                    first = conn.recv(4096).split(b"\r\n", 1)[0].decode(errors="replace")
                except OSError:
                    first = "(nothing read)"
                self.hits.append(first)


def codex_config(
    base_url: str,
    *,
    model: str = MODEL,
    request_max_retries: int = 2,
    stream_max_retries: int = 1,
    stream_idle_timeout_ms: int = 30_000,
    extra: str = "",
) -> str:
    """config.toml for a run against `base_url` (`http://127.0.0.1:PORT/v1`) and nothing else.

    Every key is one Codex 0.171 knows (runs use --strict-config, which refuses unknown keys)."""
    return f"""\
model = "{model}"
model_provider = "protoshift_test"
approval_policy = "never"
sandbox_mode = "danger-full-access"
check_for_update_on_startup = false
hide_agent_reasoning = false
mcp_servers = {{}}

[features]
apps = false
plugins = false
remote_plugin = false
remote_control = false
memories = false
image_generation = false
computer_use = false
browser_use = false
realtime_conversation = false
responses_websockets = false
responses_websockets_v2 = false
runtime_metrics = false

[analytics]
enabled = false

[feedback]
enabled = false

[otel]
exporter = "none"
metrics_exporter = "none"
trace_exporter = "none"

[history]
persistence = "none"

[model_providers.protoshift_test]
name = "protoshift test upstream"
base_url = "{base_url}"
env_key = "{KEY_ENV}"
wire_api = "responses"
requires_openai_auth = false
supports_websockets = false
request_max_retries = {request_max_retries}
stream_max_retries = {stream_max_retries}
stream_idle_timeout_ms = {stream_idle_timeout_ms}
{extra}"""


def _base_env(home: Path) -> dict[str, str]:
    """Only what Codex needs: no key, proxy or config of the machine's leaks in."""
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
        "SHELL": "/bin/bash",
        "TMPDIR": os.environ.get("TMPDIR", tempfile.gettempdir()),
    }


# ---- a run ------------------------------------------------------------------------------------------


@dataclass
class CodexResult:
    returncode: int | None  # None: killed at the time limit
    stdout: str
    stderr: str
    workdir: Path
    home: Path
    seconds: float
    timed_out: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)  # `--json`: one event a line

    @property
    def last_message(self) -> str | None:
        path = self.home / "last-message.txt"
        return path.read_text() if path.exists() else None

    def items(self, item_type: str) -> list[dict[str, Any]]:
        """The completed items of one type (`command_execution`, `file_change`, `agent_message`, ...)."""
        return [
            e["item"] for e in self.events if e.get("type") == "item.completed" and e["item"].get("type") == item_type
        ]

    def errors(self) -> list[str]:
        said = [e.get("message", "") for e in self.events if e.get("type") == "error"]
        said += [e.get("error", {}).get("message", "") for e in self.events if e.get("type") == "turn.failed"]
        return said

    def explain(self) -> str:
        return (
            f"codex exited {self.returncode} after {self.seconds:.1f} s (timed out: {self.timed_out})\n"
            f"--- stdout\n{self.stdout[-6000:]}\n--- stderr\n{self.stderr[-6000:]}"
        )


@dataclass
class CodexRunner:
    command: Path
    root: Path  # a folder of the test's own (tmp_path): homes and working directories go under it
    tripwire: Tripwire
    runs: int = 0

    def prepare(self, base_url: str, **config: Any) -> tuple[Path, Path]:
        """A fresh HOME (with CODEX_HOME inside, its config.toml written) and working directory."""
        self.runs += 1
        home = self.root / f"home{self.runs}"
        codex_home = home / ".codex"
        codex_home.mkdir(parents=True)
        (codex_home / "config.toml").write_text(codex_config(base_url, **config))
        workdir = self.root / f"work{self.runs}"
        workdir.mkdir()
        return home, workdir

    def run(
        self,
        prompt: str,
        *,
        base_url: str,
        api_key: str,
        timeout: float = 90.0,
        workdir: Path | None = None,
        files: dict[str, str] | None = None,
        **config: Any,
    ) -> CodexResult:
        """`codex exec` on `prompt` against `base_url`; killed (with everything it started) past `timeout` s."""
        home, fresh = self.prepare(base_url, **config)
        workdir = workdir or fresh
        for name, content in (files or {}).items():
            (workdir / name).parent.mkdir(parents=True, exist_ok=True)
            (workdir / name).write_text(content)
        env = _base_env(home)
        env |= {
            "CODEX_HOME": str(home / ".codex"),
            KEY_ENV: api_key,
            # Everything that is not loopback goes to the tripwire; loopback goes straight to the fake.
            **dict.fromkeys(PROXY_VARIABLES, self.tripwire.url),
            "NO_PROXY": "127.0.0.1,localhost,::1",
            "no_proxy": "127.0.0.1,localhost,::1",
        }
        args = [
            str(self.command),
            "exec",
            "--json",
            "--skip-git-repo-check",
            "--strict-config",
            # as root (CI, containers) Codex's own sandbox cannot start: this is the flag that runs
            # tools without it (and never asks for approval); the tests' tmp folders are the sandbox
            "--dangerously-bypass-approvals-and-sandbox",
            "--color",
            "never",
            "-C",
            str(workdir),
            "-o",
            str(home / "last-message.txt"),
            prompt,
        ]
        run = run_marked(args, env=env, cwd=workdir, timeout=timeout)
        return CodexResult(
            run.returncode, run.stdout, run.stderr, workdir, home, run.seconds, run.timed_out, json_lines(run.stdout)
        )


@contextlib.contextmanager
def _process(
    args: list[str], *, env: dict[str, str], cwd: Path, mark_env: str = MARK_ENV
) -> Iterator[tuple[subprocess.Popen[str], Callable[[], None]]]:
    marker = uuid.uuid4().hex
    env = {**env, mark_env: marker}  # inherited by whatever the run starts, found again by it at the end
    proc = subprocess.Popen(
        args,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        yield proc, lambda: _kill(proc, marker, mark_env)
    finally:
        _kill(proc, marker, mark_env)  # whatever happened: nothing the run started outlives it


@dataclass
class Finished:
    """How a bounded run ended: its exit code (None: it ran past its limit and was killed), its output."""

    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool


def run_marked(
    args: list[str], *, env: dict[str, str], cwd: Path, timeout: float, mark_env: str = MARK_ENV
) -> Finished:
    """`args` to its end, or killed past `timeout` s with everything it started (`_process`)."""
    started = time.monotonic()
    with _process(args, env=env, cwd=cwd, mark_env=mark_env) as (proc, kill):
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            kill()
            stdout, stderr = proc.communicate(timeout=30)
            timed_out = True
    return Finished(None if timed_out else proc.returncode, stdout, stderr, time.monotonic() - started, timed_out)


def json_lines(text: str) -> list[Any]:
    """Each line of `text` that is JSON, parsed (the agents print other lines too)."""
    parsed = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            parsed.append(json.loads(line))
    return parsed


def _marked(marker: str, mark_env: str = MARK_ENV) -> list[int]:
    """The processes whose environment carries `marker`: codex and everything below it, including shells
    it started in sessions of their own (PTYs) and anything orphaned on the way."""
    needle = f"{mark_env}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if needle in environ.split(b"\0"):
                found.append(int(entry.name))
    return found


def _kill(proc: subprocess.Popen[str], marker: str, mark_env: str = MARK_ENV) -> None:
    if proc.poll() is None:  # not reaped yet: its group is still its own
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    for pid in _marked(marker, mark_env):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=30)
