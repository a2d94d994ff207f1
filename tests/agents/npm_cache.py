"""npm packages the agent tests run (Codex CLI, Claude Code, the Node SDKs), installed once into a cache
folder: `~/.cache/protoshift-tests/npm/NAME/` (`PROTOSHIFT_TEST_CACHE` moves the cache).

`install(Package(...))` is the one recipe the three harnesses share:

- node and npm on PATH and node new enough, else `Unavailable` (of the harness's own class) saying why:
  the tests skip with that reason, they do not fail;
- one installer at a time (a lock file: pytest-xdist workers, two runs at once);
- `npm install` into a staging folder, checked (`works`), renamed into place whole: an interrupted install
  leaves no half copy;
- a failed install is remembered for 10 minutes (a `.failed` file beside it), so the run's other workers
  read why instead of waiting for npm again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.trust_store import real_environment

FAILED_INSTALL_MEMORY = 600.0  # s: a failed install is not tried again by every worker of the same run


class Unavailable(Exception):
    """A package cannot be run here; the message says why (the reason its tests are skipped with)."""


def cache_root() -> Path:
    configured = os.environ.get("PROTOSHIFT_TEST_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "protoshift-tests"


def node_version(node: str) -> tuple[int, ...]:
    out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    match = re.match(r"v(\d+)\.(\d+)", out.strip())
    if not match:
        raise Unavailable(f"`node --version` said {out.strip()!r}")
    return int(match.group(1)), int(match.group(2))


@dataclass(frozen=True)
class Package:
    name: str  # the cache folder's name: the versions in it
    specs: tuple[str, ...]  # what `npm install` gets: `@openai/codex@0.171.0`, ...
    node_min: tuple[int, int]
    works: Callable[[Path], bool]  # whether an installed prefix runs at the pinned versions
    error: type[Unavailable]  # raised (the harness's own class) when it cannot be had
    timeout: float  # s, for each install step
    # run after `npm install --ignore-scripts` (node, prefix): the one install script a package needs
    after: Callable[[str, Path], None] | None = None

    @property
    def what(self) -> str:
        return " and ".join(self.specs)


def install(package: Package, root: Path | None = None) -> Path:
    """The prefix folder holding `package` (its `node_modules` inside), installed with npm on first use."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise package.error(f"node and npm are needed to install {package.what}; not found on PATH")
    try:
        version = node_version(node)
    except Exception as exc:  # OSError, a failed or odd `node --version`
        raise package.error(f"`node --version` failed: {exc}") from exc
    if version < package.node_min:
        raise package.error(f"{package.what} needs node >= {package.node_min[0]}; this node is {version}")
    base = (root or cache_root()) / "npm"
    base.mkdir(parents=True, exist_ok=True)
    target = base / package.name
    failed = base / f"{package.name}.failed"  # why the last install failed, for the run's other workers
    with open(base / f"{package.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if package.works(target):
            return target
        if failed.exists() and time.time() - failed.stat().st_mtime < FAILED_INSTALL_MEMORY:
            raise package.error(
                f"{failed.read_text()} (remembered from a try {time.time() - failed.stat().st_mtime:.0f} s "
                f"ago; remove {failed} to try again now)"
            )
        staging = Path(tempfile.mkdtemp(prefix=f"{package.name}-", dir=base))
        try:
            npm_install(npm, staging, package)
            if package.after is not None:
                package.after(node, staging)
            if not package.works(staging):
                raise package.error(f"{package.what} installed, but it does not run at those versions")
            shutil.rmtree(target, ignore_errors=True)
            staging.rename(target)
        except Unavailable as exc:
            failed.write_text(str(exc))
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        failed.unlink(missing_ok=True)
    if not package.works(target):
        raise package.error(f"{target} does not run")
    return target


def npm_install(npm: str, prefix: Path, package: Package) -> None:
    # --ignore-scripts: nothing runs at install but what `after` runs on purpose
    run_bounded([npm, "install", "--prefix", str(prefix), "--no-save", "--no-package-lock", "--no-audit", "--no-fund",
                 "--ignore-scripts", "--loglevel=error", "--update-notifier=false",
                 # an unreachable registry fails in seconds, not after npm's default minute of retries
                 "--fetch-retries=1", "--fetch-retry-mintimeout=2000", "--fetch-retry-maxtimeout=5000",
                 *package.specs], f"npm install {package.what}", package)  # fmt: skip


def run_bounded(args: list[str], what: str, package: Package, cwd: Path | None = None) -> None:
    """One install step, killed (its whole process group) past the package's time limit."""
    try:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True, cwd=cwd, env=real_environment())  # fmt: skip
    except OSError as exc:
        raise package.error(f"`{what}` could not start: {exc}") from exc
    try:
        stdout, stderr = proc.communicate(timeout=package.timeout)
    except subprocess.TimeoutExpired as exc:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise package.error(f"`{what}` did not finish in {package.timeout:.0f} s") from exc
    if proc.returncode != 0:
        said = [line.removeprefix("npm error").strip() for line in (stderr or stdout).splitlines()]
        said = [line for line in said if line and "complete log" not in line][:3]
        raise package.error(f"`{what}` failed (no network?): {' / '.join(said)}")
