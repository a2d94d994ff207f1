"""The official Node SDKs (npm `@anthropic-ai/sdk` and `openai`) as test clients: installed once into a
cache folder, driven by a small script run with `node`, against a base URL on 127.0.0.1 only.

- `install_node_sdks()` installs the pinned versions with npm into `~/.cache/protoshift-tests/npm/`
  (`PROTOSHIFT_TEST_CACHE` moves it), once, by npm_cache.py's recipe (as Codex and Claude Code are).
  It returns the `node_modules` folder, or raises `NodeSDKsUnavailable` saying why (no node/npm, node too
  old, no registry): the tests skip then, they do not fail.
- `NodeRunner.run(script, config)` writes the script and its config (JSON) to a fresh folder under the
  test's tmp_path and runs `node SCRIPT CONFIG` there, with an environment built from nothing and a time
  limit; the process and everything it started are killed when the limit passes, and in any case on the
  way out (codex.py's `run_marked`: a marker variable). The script prints one JSON object a line; `NodeRun`
  reads them (`cases`: the `{"case": NAME, ...}` lines by name).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.agents import npm_cache
from tests.agents.codex import PROXY_VARIABLES, Tripwire, json_lines, run_marked

# The registry's current versions when written, but for openai: 7.x says `engines: node >= 22` (7.0.0,
# "require Node.js 22"), and this machine has node 20; 6.49.0 is the last release before that, and both
# READMEs say "Node.js 20 LTS or later". Bump openai to 7.x where the tests' node is 22.
ANTHROPIC_SDK_VERSION = "1.17.0"
OPENAI_SDK_VERSION = "6.49.0"
PACKAGES = {"@anthropic-ai/sdk": ANTHROPIC_SDK_VERSION, "openai": OPENAI_SDK_VERSION}
NODE_MIN = (20, 0)  # both SDKs' READMEs: "Node.js 20 LTS or later"
INSTALL_TIMEOUT = 300.0  # ~90 MB unpacked, 4 s here
MARK_ENV = "PROTOSHIFT_NODE_SDK_RUN"  # marks every process of a run (codex.py's _process / _kill)
NO_PROXY = "127.0.0.1,localhost,::1"
NAME = f"node-sdks-anthropic-{ANTHROPIC_SDK_VERSION}-openai-{OPENAI_SDK_VERSION}"


class NodeSDKsUnavailable(npm_cache.Unavailable):
    """The SDKs cannot be run here; the message says why (the reason the tests are skipped with)."""


# node prints the version of each package it can load, from the package itself
_LOAD = """
const path = require('path');
for (const name of JSON.parse(process.argv[1])) {
  require(path.join(process.argv[2], name));
  console.log(name + ' ' + require(path.join(process.argv[2], name, 'package.json')).version);
}
"""


def _works(prefix: Path) -> bool:
    modules, node = prefix / "node_modules", shutil.which("node")
    if node is None or not modules.is_dir():
        return False
    with tempfile.TemporaryDirectory(prefix="node-sdks-") as home:
        try:
            out = subprocess.run([node, "-e", _LOAD, json.dumps(list(PACKAGES)), str(modules)], capture_output=True,
                                 text=True, timeout=60, stdin=subprocess.DEVNULL, env=base_env(Path(home)))  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            return False
    return out.returncode == 0 and out.stdout.split() == [w for n, v in PACKAGES.items() for w in (n, v)]


PACKAGE = npm_cache.Package(NAME, tuple(f"{name}@{version}" for name, version in PACKAGES.items()), NODE_MIN,
                            _works, NodeSDKsUnavailable, INSTALL_TIMEOUT)  # fmt: skip


def install_node_sdks(root: Path | None = None) -> Path:
    """The `node_modules` folder holding the pinned SDKs, installed with npm into the cache on first use."""
    return npm_cache.install(PACKAGE, root) / "node_modules"


def base_env(home: Path) -> dict[str, str]:
    """Only what node needs: no key, base URL, proxy or log setting of the machine's leaks in (the SDKs read
    ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_LOG, ... from it)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
        "TMPDIR": str(home),
    }


# ---- a run ------------------------------------------------------------------------------------------


@dataclass
class NodeRun:
    returncode: int | None  # None: killed at the time limit
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False
    lines: list[dict[str, Any]] = field(default_factory=list)  # what the script printed, one JSON object a line

    @property
    def cases(self) -> dict[str, dict[str, Any]]:
        """The `{"case": NAME, ...}` lines by name."""
        return {line["case"]: line for line in self.lines if isinstance(line.get("case"), str)}

    def explain(self) -> str:
        return (
            f"node exited {self.returncode} after {self.seconds:.1f} s (timed out: {self.timed_out})\n"
            f"--- stdout\n{self.stdout[-8000:]}\n--- stderr\n{self.stderr[-4000:]}"
        )


@dataclass
class NodeRunner:
    modules: Path  # install_node_sdks()'s node_modules
    root: Path  # a folder of the test's own (tmp_path): each run's script, config and HOME go under it
    tripwire: Tripwire
    runs: int = 0

    def run(self, script: str, config: dict[str, Any], *, timeout: float = 60.0) -> NodeRun:
        """`node SCRIPT CONFIG` in a fresh folder; killed (with everything it started) past `timeout` s. The
        config gets `modules`: where the script requires the SDKs from."""
        self.runs += 1
        folder = self.root / f"node{self.runs}"
        folder.mkdir(parents=True)
        (folder / "run.cjs").write_text(script)
        (folder / "config.json").write_text(json.dumps({**config, "modules": str(self.modules)}))
        env = base_env(folder) | {
            # anything that is not loopback and honours a proxy variable goes to the tripwire
            **dict.fromkeys(PROXY_VARIABLES, self.tripwire.url),
            "NO_PROXY": NO_PROXY,
            "no_proxy": NO_PROXY,
        }
        node = shutil.which("node") or "node"
        args = [node, str(folder / "run.cjs"), str(folder / "config.json")]
        run = run_marked(args, env=env, cwd=folder, mark_env=MARK_ENV, timeout=timeout)
        lines = [line for line in json_lines(run.stdout) if isinstance(line, dict)]
        return NodeRun(run.returncode, run.stdout, run.stderr, run.seconds, run.timed_out, lines)
