"""Circuit breaker, its state shared by every process that talks to the same endpoint.

closed --(N consecutive failures)--> open --(cooldown)--> half-open --(probe ok)--> closed
                                       ^----------------(probe fails)----------------'

- Two scopes (`Breakers`): the host (one base URL) counts what says the server or the network is
  down: connection errors, timeouts, 5xx, mid-stream `api_error`. Each model on that host counts
  what says that model is overloaded: 529 and mid-stream `overloaded_error`; one model's overload
  leaves the others alone. A 429 neither trips nor resets either (the retry policy waits it out);
  any other answer (2xx, or a 4xx: the server is up) resets both.
- Open: `acquire()` raises `CircuitOpenError` naming the backend (and the model, for a model's
  breaker), with how long until the next try: never more than the cool-down.
- Half-open: exactly one caller gets the probe permit; the others fail fast until it reports (or
  until its lease of `probe_timeout` seconds runs out: a process that died mid-probe). A caller
  that would rather wait for the probe's result (`batch run`) does so in `cloud.attempts`.

State lives in a store. `FileStore` keeps one small JSON file per (backend, base URL[, model])
under `$XDG_STATE_HOME/protoshift/breaker/`, read-modify-written under `fcntl.flock` and replaced
atomically, so a shell loop of separate protoshift processes shares one breaker. Times in it are
wall-clock (`time.time`, injectable); a time in the future (the clock moved back) counts as
expired. The files are read as regular files only, at most `MAX_STATE_BYTES`, never through a
symlink (the lock file neither: a dangling link is not followed to create its target); anything
else there (a FIFO, a link to /dev/zero, a huge or deeply nested file, JSON that is not a state) is
"no state", with one warning. An unwritable directory degrades to memory. Nothing here ever raises
to the caller except `CircuitOpenError`.

Beyond one machine (`serve --state`: replicas behind a load balancer), a breaker is also given a
`BreakerShare` (`CircuitBreaker.share`; gateway/state/breaker.py keeps one in Redis). The share owns
the transitions for every process that shares it, and the breaker decides from its `view()`: a
snapshot refreshed in the background at most every second, so a request through a closed circuit
asks nothing of the shared state. A closed circuit's permit and success are local; a failure, a
probe's outcome and a reset are handed to the share (`report`), which sends them on by itself; only
the half-open probe is claimed from the share while the caller waits (`permit()`, bounded), so that
one process at a time probes. The local store hears every outcome all the same (silently): while the
share has no view (never seen, or the shared state does not answer) it decides, as above, from what
this process saw; the share hears of those outcomes too, and catches up once it answers again.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import math
import os
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal, Protocol, TypeVar

from protoshift.cloud.errors import CircuitOpenError
from protoshift.cloud.state import state_dir

__all__ = [
    "MAX_STATE_BYTES",
    "BreakerShare",
    "BreakerState",
    "BreakerStore",
    "Breakers",
    "CircuitBreaker",
    "FileStore",
    "MemoryStore",
    "Outcome",
    "Permit",
    "SharedBreakers",
    "SharedView",
    "default_state_dir",
]

T = TypeVar("T")

# A state file is a few dozen bytes; anything much larger was not written by protoshift.
MAX_STATE_BYTES = 4096


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
    """One JSON file per (backend, base URL) — and per model, for a model's breaker — shared across
    processes. `on_warning` hears once of anything odd about the files (see the module's doc)."""

    def __init__(
        self,
        backend: str,
        base_url: str,
        directory: Path | None = None,
        *,
        model: str | None = None,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        self.directory = directory if directory is not None else default_state_dir()
        scope = base_url if model is None else f"{base_url}\0{model}"
        digest = hashlib.sha256(scope.encode("utf-8", "backslashreplace")).hexdigest()[:16]
        safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in backend) or "backend"
        self.path = self.directory / f"{safe}-{digest}.json"
        self._lock_path = self.directory / f"{safe}-{digest}.lock"
        self._fallback = MemoryStore()  # used when the directory cannot be written
        self._degraded = False
        self._on_warning = on_warning
        self._warned = False
        self._thread_lock = threading.Lock()
        # peek() re-reads the file only when its identity changed (it is replaced, never edited).
        self._peeked: tuple[tuple[int, int, int] | None, BreakerState] = (None, BreakerState())

    def _warn(self, problem: str) -> None:
        if not self._warned and self._on_warning is not None:
            self._warned = True
            self._on_warning(f"circuit breaker: {problem}; ignored")

    def peek(self) -> BreakerState:
        if self._degraded:
            return self._fallback.peek()
        try:
            st = os.lstat(self.path)
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
            except OSError:  # an unwritable directory, an odd lock file: this process keeps its own state
                self._degraded = True
                return self._fallback.update(fn)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        # O_NOFOLLOW: a symlink (dangling or not) is refused, never followed to create its target;
        # O_NONBLOCK: a FIFO put there does not hang the open.
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(self._lock_path, flags, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                self._warn(f"{self._lock_path} is a symlink (state kept in memory)")
            raise
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                self._warn(f"{self._lock_path} is not a regular file (state kept in memory)")
                raise OSError(f"{self._lock_path} is not a regular file")
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _read(self) -> BreakerState:
        """The state in the file; anything odd about it (see the module's doc) is no state."""
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(self.path, flags)
        except FileNotFoundError:
            return BreakerState()
        except OSError as exc:  # ELOOP: a symlink; anything else: unreadable
            self._warn(f"{self.path} {'is a symlink' if exc.errno == errno.ELOOP else 'cannot be read'}")
            return BreakerState()
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                self._warn(f"{self.path} is not a regular file")
                return BreakerState()
            if st.st_size > MAX_STATE_BYTES:
                self._warn(f"{self.path} is {st.st_size} bytes, not a state file")
                return BreakerState()
            raw = os.read(fd, MAX_STATE_BYTES + 1)
        except OSError:
            return BreakerState()
        finally:
            os.close(fd)
        try:
            return BreakerState.from_json(json.loads(raw))
        except (ValueError, RecursionError):
            self._warn(f"{self.path} is not valid")
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
    """What `acquire()` hands out. Report the outcome once: `success`, `failure` or `neutral`.
    `probe`: the local store's probe; `shared`: the share's view decided it (not the local store);
    `generation`: the opening of the shared circuit this permit probes (None: no shared probe)."""

    probe: bool
    done: bool = False
    shared: bool = False
    generation: int | None = None


# -- sharing beyond one machine ----------------------------------------------------------------------

Outcome = Literal["success", "failure", "release"]


@dataclass(frozen=True, slots=True)
class SharedView:
    """A breaker's shared state as this process last saw it. `reopen_in`: seconds left of the cool-down,
    now (None: closed; 0 or less: half-open); `generation` counts the openings (a probe names the one it
    probes); `probing`: a probe of this opening is out (this process's, or another's as far as it knows)."""

    failures: int = 0
    generation: int = 0
    reopen_in: float | None = None
    probing: bool = False


class BreakerShare(Protocol):
    """One breaker's state shared with processes on other machines (gateway/state/breaker.py: Redis).
    The share owns the transitions (atomic where the state lives); the breaker reads `view()` and
    reports. Neither `view` nor `report` waits on anything; `claim_probe` is bounded."""

    def view(self) -> SharedView | None:
        """The shared state as last seen (refreshed in the background, at most every second), or None
        while it is unknown or does not answer: then this process's own state decides."""
        ...

    async def claim_probe(self, generation: int) -> bool | None:
        """The half-open circuit's one probe: this process's (True), or another has it (False); None
        when the shared state did not answer."""
        ...

    def report(self, outcome: Outcome, generation: int | None) -> None:
        """An outcome, sent on in the background: a success or a failure (of the probe of `generation`,
        or of any other request), or a probe given back without a result (`release`). A success
        through a healthy circuit sends nothing."""
        ...


# Makes the share of a breaker, given the breaker (its backend, model and settings) and its base URL.
SharedBreakers = Callable[["CircuitBreaker", str], BreakerShare]


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
        model: str | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be >= 1")
        self.backend = backend
        self.model = model  # None: the host's breaker; else this model's, on that host
        self.store: BreakerStore = store if store is not None else MemoryStore()
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self.probe_timeout = probe_timeout
        self.clock = clock
        self.on_change = on_change
        self.share: BreakerShare | None = None  # set when the state is shared beyond this machine

    # -- state ---------------------------------------------------------------------------------

    def _elapsed(self, since: float, now: float) -> float | None:
        """Seconds since `since`, or None when `since` is in the future (clock moved back)."""
        delta = now - since
        return delta if delta >= 0 else None

    def state(self) -> str:
        """`closed`, `open` or `half-open` (for display and tests)."""
        view = self.share.view() if self.share is not None else None
        if view is not None:
            if view.reopen_in is None:
                return "closed"
            return "open" if view.reopen_in > 0 else "half-open"
        now = self.clock()

        def read(s: BreakerState) -> str:
            if s.opened_at is None:
                return "closed"
            elapsed = self._elapsed(s.opened_at, now)
            return "open" if elapsed is not None and elapsed < self.cooldown else "half-open"

        return self.store.update(read)

    async def permit(self) -> Permit:
        """A permit to send one request, or `CircuitOpenError`: from the share's view when the breaker
        has one (a half-open circuit's probe claimed there, one process at a time), else `acquire()`."""
        share = self.share
        if share is None:
            return self.acquire()
        view = share.view()
        if view is None:  # unknown, or the shared state does not answer: this process's own decides
            return self.acquire()
        if view.reopen_in is None:
            return Permit(probe=False, shared=True)
        if view.reopen_in > 0:
            raise self._refusal(view.reopen_in, probing=False)
        if not view.probing:
            claimed = await share.claim_probe(view.generation)
            if claimed is None:
                return self.acquire()
            if claimed:
                return Permit(probe=False, shared=True, generation=view.generation)
        # Its answer comes within the probe's lease; the figure never exceeds the cool-down.
        raise self._refusal(min(self.cooldown, self.probe_timeout), probing=True)

    def acquire(self) -> Permit:
        """A permit to send one request from this process's own state, or `CircuitOpenError`."""
        if self.store.peek().opened_at is None:  # closed: nothing to change, no lock to take
            return Permit(probe=False)
        now = self.clock()

        def decide(s: BreakerState) -> Permit | CircuitOpenError:
            if s.opened_at is None:
                return Permit(probe=False)
            elapsed = self._elapsed(s.opened_at, now)
            if elapsed is not None and elapsed < self.cooldown:
                return self._refusal(self.cooldown - elapsed, probing=False)
            if s.probe_started is not None:
                lease = self._elapsed(s.probe_started, now)
                if lease is not None and lease < self.probe_timeout:
                    # The probe's answer comes within its lease; the figure never exceeds the cool-down.
                    return self._refusal(min(self.cooldown, self.probe_timeout - lease), probing=True)
            s.probe_started = now
            return Permit(probe=True)

        result = self.store.update(decide)
        if isinstance(result, CircuitOpenError):
            raise result
        return result

    def _refusal(self, seconds: float, *, probing: bool) -> CircuitOpenError:
        return CircuitOpenError(self.backend, max(1, math.ceil(seconds)), model=self.model, probing=probing)

    @property
    def label(self) -> str:
        """`anthropic`, or `anthropic model claude-sonnet-4-5` for a model's breaker."""
        return self.backend if self.model is None else f"{self.backend} model {self.model}"

    def success(self, permit: Permit) -> None:
        if permit.done:
            return
        permit.done = True
        if self.share is not None:
            self.share.report("success", permit.generation)
        if not permit.probe:
            seen = self.store.peek()
            if seen.opened_at is None and seen.failures == 0:  # already healthy: nothing to write
                return
        opened = False
        # A probe's answer closes the circuit; so does one the shared state let through (the local store
        # is then only what this process falls back on: the server is up).
        closes = permit.probe or permit.shared

        def reset(s: BreakerState) -> None:
            nonlocal opened
            opened = s.opened_at is not None
            if closes or s.opened_at is None:
                s.failures = 0
                s.opened_at = None
                s.probe_started = None

        self.store.update(reset)
        if permit.probe and opened and self.on_change:
            self.on_change(f"circuit closed for {self.label}")

    def failure(self, permit: Permit) -> None:
        probe = permit.probe and not permit.done
        shared_probe = None if permit.done else permit.generation
        permit.done = True
        if self.share is not None:
            self.share.report("failure", shared_probe)
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
        if tripped and self.on_change and not permit.shared:  # the shared state's changes are the share's to tell
            self.on_change(
                f"circuit opened for {self.label} after {'a failed probe' if probe else 'repeated failures'};"
                f" requests fail fast for {self.cooldown:g}s"
            )

    def neutral(self, permit: Permit) -> None:
        """Neither a success nor a failure (a 429; the caller went away): releases a probe."""
        if permit.done:
            return
        permit.done = True
        if permit.generation is not None and self.share is not None:
            self.share.report("release", permit.generation)
        if permit.probe:

            def release(s: BreakerState) -> None:
                s.probe_started = None

            self.store.update(release)


class Breakers:
    """The breakers one backend's calls go through: the host's, and one per model on that host
    (made when the model is first called, by `for_model`). See the module's doc for what each counts."""

    def __init__(self, host: CircuitBreaker, for_model: Callable[[str], CircuitBreaker]) -> None:
        self.host = host
        self._for_model = for_model
        self._models: dict[str, CircuitBreaker] = {}

    def model(self, name: str) -> CircuitBreaker:
        breaker = self._models.get(name)
        if breaker is None:
            breaker = self._models[name] = self._for_model(name)
        return breaker
