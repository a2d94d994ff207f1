"""Circuit breaker, its state shared by every process that talks to the same endpoint.

closed --(N consecutive failures)--> open --(cooldown)--> half-open --(probe ok)--> closed
                                       ^----------------(probe fails)----------------'

- Failures: connection errors, timeouts, 5xx/529, mid-stream `overloaded_error`/`api_error`.
  A 429 neither trips nor resets; any other answer (2xx, or a 4xx: the server is up) resets.
- Open: `acquire()` raises `CircuitOpenError("circuit open for <backend>, retry in Ns")`.
- Half-open: exactly one caller gets the probe permit; the others fail fast until it reports
  (or until its lease of `probe_timeout` seconds runs out: a process that died mid-probe).

State lives in a store. `FileStore` keeps one small JSON file per (backend, base URL) under
`$XDG_STATE_HOME/protoshift/breaker/`, read-modify-written under `fcntl.flock` and replaced
atomically, so a shell loop of separate protoshift processes shares one breaker. Times in it are
wall-clock (`time.time`, injectable); a time in the future (the clock moved back) counts as
expired. A corrupt or unreadable file is a closed breaker; an unwritable directory degrades to
memory. Nothing here ever raises to the caller except `CircuitOpenError`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from protoshift.cloud.errors import CircuitOpenError
from protoshift.cloud.state import state_dir

__all__ = [
    "BreakerState",
    "BreakerStore",
    "CircuitBreaker",
    "FileStore",
    "MemoryStore",
    "Permit",
    "default_state_dir",
]

T = TypeVar("T")


@dataclass(slots=True)
class BreakerState:
    failures: int = 0  # consecutive failures while closed
    opened_at: float | None = None  # wall-clock time the breaker opened; None = closed
    probe_started: float | None = None  # wall-clock time the half-open probe was handed out

    @classmethod
    def from_json(cls, data: object) -> BreakerState:
        if not isinstance(data, dict):
            return cls()
        failures = data.get("failures")
        opened = data.get("opened_at")
        probe = data.get("probe_started")
        return cls(
            failures=failures if isinstance(failures, int) and failures >= 0 else 0,
            opened_at=float(opened) if isinstance(opened, int | float) and math.isfinite(opened) else None,
            probe_started=float(probe) if isinstance(probe, int | float) and math.isfinite(probe) else None,
        )


class BreakerStore(Protocol):
    def update(self, fn: Callable[[BreakerState], T]) -> T:
        """Run `fn` on the current state, atomically with respect to every other user of the store,
        and keep whatever `fn` changed."""
        ...

    def peek(self) -> BreakerState:
        """The current state, read only and cheaply: the closed-and-healthy fast path of every
        request looks here first and takes the lock only when something is to change."""
        ...


class MemoryStore:
    """State in this process only (tests, library use). Share one instance to share the state."""

    def __init__(self) -> None:
        self._state = BreakerState()
        self._lock = threading.Lock()

    def update(self, fn: Callable[[BreakerState], T]) -> T:
        with self._lock:
            return fn(self._state)

    def peek(self) -> BreakerState:
        with self._lock:
            return BreakerState(self._state.failures, self._state.opened_at, self._state.probe_started)

    @property
    def state(self) -> BreakerState:
        return self._state


def default_state_dir() -> Path:
    """`breaker/` under protoshift's state directory (cloud.state)."""
    return state_dir() / "breaker"


class FileStore:
    """One JSON file per (backend, base URL), shared across processes."""

    def __init__(self, backend: str, base_url: str, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else default_state_dir()
        digest = hashlib.sha256(base_url.encode()).hexdigest()[:16]
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in backend) or "backend"
        self.path = self.directory / f"{safe}-{digest}.json"
        self._lock_path = self.directory / f"{safe}-{digest}.lock"
        self._fallback = MemoryStore()  # used when the directory cannot be written
        self._degraded = False
        self._thread_lock = threading.Lock()
        # peek() re-reads the file only when its identity changed (it is replaced, never edited).
        self._peeked: tuple[tuple[int, int, int] | None, BreakerState] = (None, BreakerState())

    def peek(self) -> BreakerState:
        if self._degraded:
            return self._fallback.peek()
        try:
            st = os.stat(self.path)
        except OSError:
            return BreakerState()  # no file yet: closed
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._thread_lock:
            if self._peeked[0] != key:
                self._peeked = (key, self._read())
            state = self._peeked[1]
        return BreakerState(state.failures, state.opened_at, state.probe_started)

    def update(self, fn: Callable[[BreakerState], T]) -> T:
        with self._thread_lock:
            try:
                with self._locked():
                    state = self._read()
                    before = asdict(state)
                    result = fn(state)
                    if asdict(state) != before:
                        self._write(state)
                    return result
            except OSError:
                self._degraded = True
                return self._fallback.update(fn)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _read(self) -> BreakerState:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return BreakerState()
        except OSError:
            return BreakerState()
        try:
            return BreakerState.from_json(json.loads(raw))
        except ValueError:
            return BreakerState()

    def _write(self, state: BreakerState) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(asdict(state), f)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


@dataclass(slots=True)
class Permit:
    """What `acquire()` hands out. Report the outcome once: `success`, `failure` or `neutral`."""

    probe: bool
    done: bool = False


class CircuitBreaker:
    def __init__(
        self,
        backend: str,
        store: BreakerStore | None = None,
        *,
        failure_threshold: int = 5,
        cooldown: float = 30.0,
        probe_timeout: float = 60.0,
        clock: Callable[[], float] = time.time,
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be >= 1")
        self.backend = backend
        self.store: BreakerStore = store if store is not None else MemoryStore()
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self.probe_timeout = probe_timeout
        self.clock = clock
        self.on_change = on_change

    # -- state ---------------------------------------------------------------------------------

    def _elapsed(self, since: float, now: float) -> float | None:
        """Seconds since `since`, or None when `since` is in the future (clock moved back)."""
        delta = now - since
        return delta if delta >= 0 else None

    def state(self) -> str:
        """`closed`, `open` or `half-open` (for display and tests)."""
        now = self.clock()

        def read(s: BreakerState) -> str:
            if s.opened_at is None:
                return "closed"
            elapsed = self._elapsed(s.opened_at, now)
            return "open" if elapsed is not None and elapsed < self.cooldown else "half-open"

        return self.store.update(read)

    def acquire(self) -> Permit:
        """A permit to send one request, or `CircuitOpenError`."""
        if self.store.peek().opened_at is None:  # closed: nothing to change, no lock to take
            return Permit(probe=False)
        now = self.clock()

        def decide(s: BreakerState) -> Permit | int:
            if s.opened_at is None:
                return Permit(probe=False)
            elapsed = self._elapsed(s.opened_at, now)
            if elapsed is not None and elapsed < self.cooldown:
                return max(1, math.ceil(self.cooldown - elapsed))
            if s.probe_started is not None:
                lease = self._elapsed(s.probe_started, now)
                if lease is not None and lease < self.probe_timeout:
                    return max(1, math.ceil(self.probe_timeout - lease))
            s.probe_started = now
            return Permit(probe=True)

        result = self.store.update(decide)
        if isinstance(result, int):
            raise CircuitOpenError(self.backend, result)
        return result

    def success(self, permit: Permit) -> None:
        if permit.done:
            return
        permit.done = True
        if not permit.probe:
            seen = self.store.peek()
            if seen.opened_at is None and seen.failures == 0:  # already healthy: nothing to write
                return
        opened = False

        def reset(s: BreakerState) -> None:
            nonlocal opened
            opened = s.opened_at is not None
            if permit.probe or s.opened_at is None:
                s.failures = 0
                s.opened_at = None
                s.probe_started = None

        self.store.update(reset)
        if permit.probe and opened and self.on_change:
            self.on_change(f"circuit closed for {self.backend}")

    def failure(self, permit: Permit) -> None:
        probe = permit.probe and not permit.done
        permit.done = True
        now = self.clock()
        tripped = False

        def fail(s: BreakerState) -> None:
            nonlocal tripped
            if probe:
                s.opened_at = now
                s.probe_started = None
                tripped = True
            elif s.opened_at is None:
                s.failures += 1
                if s.failures >= self.failure_threshold:
                    s.opened_at = now
                    s.probe_started = None
                    tripped = True
            else:
                s.failures += 1

        self.store.update(fail)
        if tripped and self.on_change:
            self.on_change(
                f"circuit opened for {self.backend} after {'a failed probe' if probe else 'repeated failures'};"
                f" requests fail fast for {self.cooldown:g}s"
            )

    def neutral(self, permit: Permit) -> None:
        """Neither a success nor a failure (a 429; the caller went away): releases a probe."""
        if permit.done:
            return
        permit.done = True
        if permit.probe:

            def release(s: BreakerState) -> None:
                s.probe_started = None

            self.store.update(release)
