"""Claude Code (npm `@anthropic-ai/claude-code`) as a test client: installed once into a cache folder,
run headless (`claude -p ... --output-format stream-json`) against a base URL on 127.0.0.1, with
nothing else to talk to.

- `install_claude_code()` installs the pinned version with npm into `~/.cache/protoshift-tests/npm/`
  (`PROTOSHIFT_TEST_CACHE` moves it), once: later runs reuse it. It returns the `claude` command, or
  raises `ClaudeCodeUnavailable` saying why (no node/npm, the install failed): the suite skips then.
- `ClaudeCodeRunner.run(prompt, base_url=..., api_key=...)` runs `claude -p` in a fresh HOME, TMPDIR
  and working directory, with a time limit; the process and everything it started are killed when the
  limit passes, and in any case on the way out. `ClaudeCodeResult` parses its stream-json output.
- Traffic goes only to the base URL: `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC`, `DISABLE_TELEMETRY`,
  `DISABLE_AUTOUPDATER`, `DISABLE_ERROR_REPORTING`, no MCP servers but those given, and every proxy
  variable points at codex.py's `Tripwire` (a test asserts it saw nothing).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.agents import npm_cache
from tests.agents.codex import PROXY_VARIABLES, Tripwire, json_lines, run_marked

CLAUDE_CODE_VERSION = "2.1.332"  # `npm view @anthropic-ai/claude-code version` when the harness was written
CLAUDE_CODE_PACKAGE = f"@anthropic-ai/claude-code@{CLAUDE_CODE_VERSION}"
# The package's `engines` says node >= 22, which npm only warns about. Node runs one script here: the
# package's postinstall (install.cjs, which links the platform's native binary into bin/), and it runs
# on node 20; `claude` itself is that native binary (it brings its own runtime), node is not used then.
NODE_MIN = (18, 0)
INSTALL_TIMEOUT = 600.0  # ~230 MB download (a ~400 MB native binary); 5 s here
MARK_ENV = "PROTOSHIFT_CLAUDE_CODE_RUN"  # marks every process of a run (codex.py's _process / _kill)
# Passed with --model: a run never depends on Claude Code's default model. What it sends depends on the
# name (fixtures/claude_code_first_turns.json): for a model it knows, thinking with a budget; for a name
# it does not know (a gateway alias), adaptive thinking, `output_config.effort` and a `system`-role message
# after the first user turn, as for its newest models.
MODEL = "claude-sonnet-4-5"
GATEWAY_MODEL = "qwen3-coder:30b"
NO_PROXY = "127.0.0.1,localhost,::1"


class ClaudeCodeUnavailable(npm_cache.Unavailable):
    """Claude Code cannot be run here; the message says why (the reason the tests are skipped with)."""


def _command(prefix: Path) -> Path:
    # bin/claude.exe (the package's `bin`, whatever the platform) is a shell stub until install.cjs
    # links the native binary over it
    return prefix / "node_modules" / "@anthropic-ai" / "claude-code" / "bin" / "claude.exe"


def _link_native_binary(node: str, prefix: Path) -> None:
    """The package's own postinstall: it finds the platform package npm installed beside it
    (`@anthropic-ai/claude-code-linux-x64`, ...) and hard-links its binary over the bin/claude.exe stub."""
    package = prefix / "node_modules" / "@anthropic-ai" / "claude-code"
    npm_cache.run_bounded([node, "install.cjs"], f"node install.cjs ({CLAUDE_CODE_PACKAGE}'s postinstall)", PACKAGE,
                          cwd=package)  # fmt: skip


def _works(prefix: Path) -> bool:
    command = _command(prefix)
    if not command.exists():
        return False
    with tempfile.TemporaryDirectory(prefix="claude-version-") as home:
        try:
            out = subprocess.run([str(command), "--version"], capture_output=True, text=True, timeout=60,
                                 stdin=subprocess.DEVNULL, env=_base_env(Path(home), Path(home)))  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            return False
    return out.returncode == 0 and CLAUDE_CODE_VERSION in out.stdout


PACKAGE = npm_cache.Package(f"claude-code-{CLAUDE_CODE_VERSION}", (CLAUDE_CODE_PACKAGE,), NODE_MIN, _works,
                            ClaudeCodeUnavailable, INSTALL_TIMEOUT, after=_link_native_binary)  # fmt: skip


def install_claude_code(root: Path | None = None) -> Path:
    """The `claude` command of the pinned version, installed with npm into the cache on first use."""
    return _command(npm_cache.install(PACKAGE, root))


def _base_env(home: Path, tmp: Path) -> dict[str, str]:
    """Only what Claude Code needs: no key, proxy or config of the machine's leaks in."""
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
        "SHELL": "/bin/bash",
        "TMPDIR": str(tmp),  # its sockets and scratch files stay in the test's folder
        # As root, --dangerously-skip-permissions is refused unless the machine says it is a sandbox.
        "IS_SANDBOX": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",  # no update checks, telemetry, error reports, ...
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_ERROR_REPORTING": "1",
    }


# ---- a run ------------------------------------------------------------------------------------------


@dataclass
class ClaudeCodeResult:
    returncode: int | None  # None: killed at the time limit
    stdout: str
    stderr: str
    workdir: Path
    home: Path
    seconds: float
    timed_out: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)  # stream-json: one message a line

    @property
    def result(self) -> dict[str, Any] | None:
        """The closing `{"type": "result", ...}` message (subtype, is_error, result, num_turns, usage, ...)."""
        found = [e for e in self.events if e.get("type") == "result"]
        return found[-1] if found else None

    @property
    def final_text(self) -> str | None:
        return self.result.get("result") if self.result else None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.result is not None and not self.result.get("is_error")

    def blocks(self, role: str, kind: str) -> list[dict[str, Any]]:
        """The content blocks of one kind in the `assistant` or `user` messages Claude Code printed."""
        out = []
        for event in self.events:
            if event.get("type") == role:
                content = event.get("message", {}).get("content")
                out += [b for b in content if b.get("type") == kind] if isinstance(content, list) else []
        return out

    def tool_uses(self) -> list[dict[str, Any]]:
        return self.blocks("assistant", "tool_use")

    def tool_results(self) -> dict[str, dict[str, Any]]:
        """tool_use_id -> the tool_result block Claude Code made of running it."""
        return {b["tool_use_id"]: b for b in self.blocks("user", "tool_result")}

    def retries(self) -> list[dict[str, Any]]:
        """The `system` / `api_retry` messages: one for each retry it announced (attempt, delay, status)."""
        return [e for e in self.events if e.get("type") == "system" and e.get("subtype") == "api_retry"]

    def errors(self) -> list[str]:
        said = [str(self.result.get("result", "")) for _ in [0] if self.result and self.result.get("is_error")]
        said += [str(e) for e in (self.result or {}).get("errors", [])]
        return said

    def explain(self) -> str:
        return (
            f"claude exited {self.returncode} after {self.seconds:.1f} s (timed out: {self.timed_out})\n"
            f"--- stdout\n{self.stdout[-6000:]}\n--- stderr\n{self.stderr[-6000:]}"
        )


@dataclass
class ClaudeCodeRunner:
    command: Path
    root: Path  # a folder of the test's own (tmp_path): homes and working directories go under it
    tripwire: Tripwire
    runs: int = 0

    def prepare(self) -> tuple[Path, Path, Path]:
        """A fresh HOME, TMPDIR and working directory."""
        self.runs += 1
        home, tmp, workdir = (self.root / f"{kind}{self.runs}" for kind in ("home", "tmp", "work"))
        for folder in (home, tmp, workdir):
            folder.mkdir(parents=True)
        return home, tmp, workdir

    def run(
        self,
        prompt: str,
        *,
        base_url: str,
        api_key: str,
        model: str | None = MODEL,
        max_turns: int = 6,
        timeout: float = 60.0,
        bearer: bool = False,
        files: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> ClaudeCodeResult:
        """`claude -p PROMPT` against `base_url`; killed (with everything it started) past `timeout` s.

        `bearer`: the key as ANTHROPIC_AUTH_TOKEN (`authorization: Bearer`, what gateways often take)
        instead of ANTHROPIC_API_KEY (`x-api-key`). `env`: more variables (CLAUDE_CODE_MAX_RETRIES,
        CLAUDE_BYTE_STREAM_IDLE_TIMEOUT_MS, ...)."""
        home, tmp, workdir = self.prepare()
        for name, content in (files or {}).items():
            (workdir / name).parent.mkdir(parents=True, exist_ok=True)
            (workdir / name).write_text(content)
        run_env = _base_env(home, tmp) | {
            "ANTHROPIC_BASE_URL": base_url,
            "ANTHROPIC_AUTH_TOKEN" if bearer else "ANTHROPIC_API_KEY": api_key,
            # Everything that is not loopback goes to the tripwire; loopback goes straight to the server.
            **dict.fromkeys(PROXY_VARIABLES, self.tripwire.url),
            "NO_PROXY": NO_PROXY,
            "no_proxy": NO_PROXY,
            **(env or {}),
        }
        command = [
            str(self.command),
            "-p",
            prompt,
            "--output-format",
            "stream-json",
            "--verbose",  # stream-json in -p mode needs it
            *(["--model", model] if model is not None else []),  # None: Claude Code's own default model
            "--max-turns",
            str(max_turns),
            # runs tools without asking (there is nobody to ask); the tests' tmp folders are the sandbox
            "--dangerously-skip-permissions",
            "--strict-mcp-config",  # no MCP server but those given with --mcp-config
            "--no-session-persistence",
            *args,
        ]
        run = run_marked(command, env=run_env, cwd=workdir, mark_env=MARK_ENV, timeout=timeout)
        return ClaudeCodeResult(
            run.returncode, run.stdout, run.stderr, workdir, home, run.seconds, run.timed_out, json_lines(run.stdout)
        )
