"""`protoshift batch run`: a JSONL file of OpenAI requests, N in flight, OpenAI Batch output lines out.

The order of work:

1. Check the whole input (batch.files.check_input): nothing is sent unless every line is good.
2. `--resume`: read OUTPUT, cut a torn last line, skip the custom_ids already there.
3. Stream the input again: `concurrency` workers take the lines one at a time from one shared
   iterator over the input, send them through the backend chain (retries, breaker, fallback), and
   append each answer or failure to OUTPUT as one line, one `write()`, the moment it is known.

If the provider stops taking requests altogether (circuit open, key refused), the run stops
sending and exits 1. Every line it did not finish still gets its output line, an error with the
code `stopped`, so OUTPUT always has one line per input line; `--resume` takes those lines out
and sends their requests again.

Nothing stops the run halfway without a word, and nothing hangs it:
- OUTPUT is locked (`files.OutputLock`) for the whole run: a second run on it is refused (exit 2).
- A request that cannot be sent, or fails in any way of its own, gets its own error line.
- A write that fails (disk full, file size limit) stops the run (exit 1) with OUTPUT still whole:
  the part of a line that did get written is cut off again, and `--resume` goes on from there.
- The first Ctrl-C stops the sending, gives the requests in flight `INTERRUPT_GRACE` seconds to
  finish (then cancels them: their lines are not written, `--resume` sends them again), says how
  many are done, and exits 130. A second Ctrl-C cancels at once.
- The workers end when the input does (or the run halts): there is no queue between a reader and
  them to fill up and wait on forever when they are gone. Taking the next line never awaits, so the
  workers never read the input at once, and it is never all in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from protoshift.cli.batch.files import (
    STOPPED,
    AppendOnlyOutput,
    BadLine,
    OutputLock,
    ResumeState,
    StdoutLines,
    check_input,
    input_path,
    iter_lines,
    parse_line,
    prepare_body,
    scan_output,
)
from protoshift.cli.batch.ids import IdSet
from protoshift.cli.batch.progress import Progress, Tally
from protoshift.cli.batch.spool import TranslationSpool
from protoshift.cli.chain import create_chain
from protoshift.cli.exits import BATCH_PARTIAL, INTERRUPTED, OK, PROVIDER_FAILED, CLIError, InputError
from protoshift.cli.gc_policy import tune_for_throughput
from protoshift.cli.io.console import Diagnostics
from protoshift.cli.io.output import json_line
from protoshift.cli.settings import Settings
from protoshift.cloud.errors import APIMismatchError
from protoshift.cloud.kinds import BACKENDS
from protoshift.translator import TranslationError
from protoshift.translator.batch import BatchItem, error_line, output_line
from protoshift.translator.bridges import Bridge, Outbound, Shaping, bridge, reaches
from protoshift.translator.report import LOSSY_ACTIONS
from protoshift.translator.wire import CHAT

if TYPE_CHECKING:
    from protoshift.cloud.backend import Client
    from protoshift.cloud.bridged import Bridged
    from protoshift.cloud.events import CloudEvent

DEFAULT_CONCURRENCY = 16
# When a circuit is half-open, the first worker's request is the probe; the others wait for its
# answer rather than fail and stop the run. Bounded: a probe's lease is 60 s (cloud.breaker), after
# which a waiting worker becomes the probe itself.
PROBE_WAIT = 90.0
INTERRUPT_GRACE = 1.5  # seconds the requests in flight get to finish after the first Ctrl-C


@dataclass
class RunOptions:
    input: str
    output: str | None  # a file, or - for stdout
    concurrency: int = DEFAULT_CONCURRENCY
    resume: bool = False
    validate_only: bool = False


def run_batch(options: RunOptions, settings: Settings, diag: Diagnostics) -> int:
    path = input_path(options.input)
    if options.concurrency < 1:
        raise InputError("--concurrency must be at least 1")
    translating = not _bridge(settings).identity
    # One backend for every request: the check pass's translations are the ones sent (spool).
    spool = _open_spool(diag) if translating and not settings.fallbacks and not options.validate_only else None
    try:
        return _check_and_run(path, options, settings, diag, spool, translating)
    finally:
        if spool is not None:
            spool.close()


def _check_and_run(
    path: Path,
    options: RunOptions,
    settings: Settings,
    diag: Diagnostics,
    spool: TranslationSpool | None,
    translating: bool,
) -> int:
    report = check_input(path, diag, _body_checker(settings, spool) if translating else None)
    if spool is not None and not spool.ready():
        _without_spool(spool.failure, diag)
        spool = None
    if options.validate_only:
        diag.warn(f"{path}: {report.lines} requests, all valid")
        return OK
    if options.output is None:
        raise InputError(
            "batch run needs -o OUTPUT.jsonl (output lines are appended as requests finish)",
            hint="-o - writes them to stdout",
        )
    if options.output == "-":
        if options.resume:
            raise InputError("--resume reads OUTPUT back: it needs -o FILE, not -o -")
        return _run_locked(path, None, report.lines, report.ids, options, settings, diag, spool)
    output = Path(options.output)
    if output.exists() and output.is_dir():
        raise InputError(f"{output}: is a folder")
    with OutputLock(output):
        return _run_locked(path, output, report.lines, report.ids, options, settings, diag, spool)


def _run_locked(
    path: Path,
    output: Path | None,  # None: stdout
    lines: int,
    ids: IdSet,
    options: RunOptions,
    settings: Settings,
    diag: Diagnostics,
    spool: TranslationSpool | None,
) -> int:
    where = str(output) if output is not None else "<stdout>"
    if options.resume and output is not None:
        state = scan_output(output)
        if state.torn:
            diag.warn(f"{output}: the last line was cut short (the run was killed); it will be redone")
    else:
        if output is not None and output.exists() and output.stat().st_size > 0:
            raise InputError(
                f"{output}: already has output lines",
                hint="add --resume to continue that run, or give another -o",
            )
        state = ResumeState()
    state.keep_only(ids)
    del ids  # not needed past this point
    tally = Tally(total=lines - len(state.done), skipped=len(state.done))
    if tally.total == 0:
        diag.warn(f"{where}: nothing left to do ({tally.skipped} requests already done)")
        return BATCH_PARTIAL if state.failed else OK
    tune_for_throughput()
    ended = asyncio.run(_send_all(path, output, state.done, options.concurrency, settings, diag, tally, spool))
    if output is None and isinstance(ended.write_error, BrokenPipeError):
        raise BrokenPipeError  # `-o - | head`: the reader has what it wanted; a quiet end, as everywhere
    _summary(tally, output, diag, ended.stopped)
    done = tally.skipped + tally.done
    if ended.interrupted:
        diag.notice(f"interrupted: {done} of {lines} done; run the same command with --resume to continue")
        return INTERRUPTED
    if ended.write_error is not None:
        reason = ended.write_error.strerror or str(ended.write_error)
        raise CLIError(
            f"{where}: cannot write: {reason}; stopped with {done} of {lines} done",
            PROVIDER_FAILED,
            hint=f"make room for {where}, then run the same command with --resume to continue",
        )
    if ended.stopped is not None:
        left = tally.total - tally.done
        raise CLIError(
            f"{ended.stopped}; stopped with {left} requests not sent",
            PROVIDER_FAILED,
            hint=f"run the same command again with --resume to send the rest to {where}",
        )
    return BATCH_PARTIAL if tally.failed or state.failed else OK


# -- checking ------------------------------------------------------------------------------------


def _open_spool(diag: Diagnostics) -> TranslationSpool | None:
    try:
        return TranslationSpool()
    except OSError as exc:
        _without_spool(exc, diag)
        return None


def _without_spool(failure: OSError | None, diag: Diagnostics) -> None:
    reason = (failure.strerror if failure else None) or str(failure)
    diag.warn(
        f"cannot keep the checked requests in {tempfile.gettempdir()} ({reason}):"
        " each is translated again as it is sent"
    )


def _bridge(settings: Settings) -> Bridge:
    """How the lines (OpenAI Chat Completions requests) reach the settings' backend (none: it speaks
    another API only, said as the chain says it)."""
    speaks = BACKENDS[settings.backend].api
    if not reaches(CHAT, speaks):
        raise APIMismatchError(settings.backend, CHAT, speaks)
    return bridge(CHAT, speaks)


def _body_checker(settings: Settings, spool: TranslationSpool | None) -> Any:
    to_backend = _bridge(settings)
    shaping = Shaping(models=settings.model_table())  # as chain.backend_factory shapes the backend's bodies

    def check(item: BatchItem) -> list[tuple[str, str, str]]:
        try:
            outbound = to_backend.request(prepare_body(item.body, settings), stream=False, shaping=shaping)
        except TranslationError as exc:
            raise exc.prefixed("body") from None
        if spool is not None:
            spool.add(item.custom_id, outbound)
        return [(n.path, n.action, n.reason) for n in outbound.notes if n.action in LOSSY_ACTIONS]

    return check


# -- sending -------------------------------------------------------------------------------------


def _stops_the_run(exc: BaseException) -> bool:
    from protoshift.cloud import AuthenticationError, CircuitOpenError, PermissionDeniedError

    return isinstance(exc, CircuitOpenError | AuthenticationError | PermissionDeniedError)


def error_code(exc: BaseException) -> str:
    """The `error.code` of an output line for a failure."""
    from protoshift.cloud import (
        APIConnectionError,
        APIStatusError,
        APITimeoutError,
        CircuitOpenError,
        StreamInterruptedError,
    )

    if isinstance(exc, APIStatusError):
        return exc.error_type or f"http_{exc.status}"
    if isinstance(exc, APITimeoutError):
        return "timeout"
    if isinstance(exc, APIConnectionError):
        return "connection_error"
    if isinstance(exc, CircuitOpenError):
        return "circuit_open"
    if isinstance(exc, StreamInterruptedError):
        return exc.error_type
    if isinstance(exc, TranslationError):
        return "invalid_request"
    return "provider_error"


def _line_id() -> str:
    return f"batch_req_{os.urandom(12).hex()}"


# (custom_id, the OpenAI request as it will be sent, or its Anthropic body as the check pass translated it)
Job = tuple[str, dict[str, Any] | Outbound]


@dataclass
class _Ended:
    """How the sending ended: `stopped` (why the provider refused everything), `write_error`, or
    `interrupted`; none of them when every request was sent."""

    stopped: str | None = None
    write_error: OSError | None = None
    interrupted: bool = False


class _Sender:
    """One run's sending: `concurrency` workers take the lines still to send from one iterator,
    send them through the backend chain, and append each answer or failure to OUTPUT as one line."""

    def __init__(
        self,
        path: Path,
        output: AppendOnlyOutput | StdoutLines,
        done: IdSet,
        settings: Settings,
        diag: Diagnostics,
        tally: Tally,
    ) -> None:
        self.path = path
        self.output = output
        self.done = done
        self.settings = settings
        self.diag = diag
        self.tally = tally
        self.progress = Progress(tally, diag)
        self.ended = _Ended()
        self.halted = False  # no more requests are sent (stopped, a write failed, interrupted)
        self.written = IdSet()
        self.spool: TranslationSpool | None = None  # set when the backend takes the spooled bodies
        self.prices = settings.prices()
        self._reported_bug = False

    def on_event(self, event: CloudEvent) -> None:
        if event.kind == "retry":
            self.tally.retries += 1
            self.diag.detail(event.message)
        elif event.kind in ("request", "response"):
            if self.diag.verbose:  # read only when shown: the trace's message is made on first read
                self.diag.detail(event.message)
        elif event.kind != "note":  # notes were summed up by the check
            self.diag.warn(event.message)

    def pending(self) -> Iterator[Job]:
        """The lines still to send, read as the workers take them; none once the run has halted."""
        for job in self.jobs():
            if self.halted:
                return
            if job[0] not in self.done:
                yield job

    def jobs(self) -> Iterator[Job]:
        """Every request to send: from the spool (translated once, by the check pass), or the input."""
        if self.spool is not None:
            yield from self.spool
            return
        for number, line in iter_lines(self.path):
            try:
                item = parse_line(line, number)
            except BadLine:  # changed since the check: leave it for the next run to report
                continue
            yield item.custom_id, prepare_body(item.body, self.settings)

    async def work(self, jobs: Iterator[Job], backend: Client) -> None:
        """Send the next line from `jobs` (shared by every worker: `next()` never awaits, so no two
        workers are in it at once) until there is none."""
        for job in jobs:
            await self.send(job, backend)

    async def send(self, job: Job, backend: Client) -> None:
        from protoshift.cloud import BackendError
        from protoshift.cloud.client import last_request_id

        custom_id, request = job
        self.tally.in_flight += 1
        self.progress.tick()
        last_request_id.set(None)
        try:
            if isinstance(request, Outbound):
                completion = await cast("Bridged", backend).send(request)
            else:
                completion = await backend.create(request)
        except (BackendError, TranslationError) as exc:
            if _stops_the_run(exc):
                self.ended.stopped = self.ended.stopped or str(exc)
                self.halted = True
                return
            line = error_line(_line_id(), custom_id, error_code(exc), str(exc))
            self.tally.failed += 1
        except Exception as exc:  # a failure of this one request that protoshift did not foresee
            line = error_line(_line_id(), custom_id, "internal_error", self._unforeseen(custom_id, exc))
            self.tally.failed += 1
        else:
            line = output_line(_line_id(), custom_id, completion, request_id=last_request_id.get())
            self._count(completion)
            self.tally.succeeded += 1
        finally:
            self.tally.in_flight -= 1
        self.write(custom_id, line)

    def _count(self, completion: dict[str, Any]) -> None:
        """An answer's tokens and cost, added to the tally."""
        usage = completion.get("usage")
        if not isinstance(usage, dict):
            return
        self.tally.tokens += int(usage.get("total_tokens") or 0)
        cost = self.prices.cost(completion.get("model"), usage)
        if cost is not None:
            self.tally.cost += cost
            self.tally.priced += 1

    def write(self, custom_id: str, line: dict[str, Any]) -> None:
        """One output line; the first write that fails halts the run (an answer that cannot be kept
        is not counted as done: `--resume` sends it again)."""
        if self.ended.write_error is None:
            try:
                self.output.write(json_line(line))
            except OSError as exc:
                self.ended.write_error = exc
                self.halted = True
            else:
                self.written.add(custom_id)
                self.progress.tick()
                return
        if line["error"] is None:
            self.tally.succeeded -= 1
        else:
            self.tally.failed -= 1

    def _unforeseen(self, custom_id: str, exc: Exception) -> str:
        from protoshift.translator.checks import printable

        message = printable(f"protoshift failed on this request ({type(exc).__name__}: {exc})")
        if not self._reported_bug:
            self._reported_bug = True
            self.diag.error(f"request {custom_id!r}: {message}; the run goes on (please report this)")
        return message


class _Interrupt:
    """Ctrl-C while sending: the first halts the sending and cancels `task` after INTERRUPT_GRACE
    seconds (the requests in flight may finish before); a second cancels it at once."""

    def __init__(self, sender: _Sender, task: asyncio.Future[None]) -> None:
        self.sender = sender
        self.task = task
        self.fired = False
        self._loop = asyncio.get_running_loop()
        try:
            self._loop.add_signal_handler(signal.SIGINT, self._on_sigint)
            self._installed = True
        except (ValueError, RuntimeError, NotImplementedError):  # not the main thread: no handler
            self._installed = False

    def _on_sigint(self) -> None:
        if self.fired:
            self.task.cancel()
            return
        self.fired = True
        self.sender.ended.interrupted = True
        self.sender.halted = True
        self._loop.call_later(INTERRUPT_GRACE, self.task.cancel)

    def remove(self) -> None:
        if self._installed:
            self._loop.remove_signal_handler(signal.SIGINT)


async def _send_all(
    path: Path,
    output_path: Path | None,
    done: IdSet,
    concurrency: int,
    settings: Settings,
    diag: Diagnostics,
    tally: Tally,
    spool: TranslationSpool | None = None,
) -> _Ended:
    """Send every line not in `done`; says how the sending ended. Each HTTP backend's transport
    (cloud.transport) keeps up to `concurrency` connections."""
    from protoshift.cloud.bridged import Bridged

    output = AppendOnlyOutput(output_path) if output_path is not None else StdoutLines()
    sender = _Sender(path, output, done, settings, diag, tally)
    backend = create_chain(settings, diag, on_event=sender.on_event, connections=concurrency, probe_wait=PROBE_WAIT)
    if isinstance(backend, Bridged) and not backend.bridge.identity:
        sender.spool = spool
    tally.started = time.monotonic()  # the rate is the sending's, start-up and check pass aside

    async def sending() -> None:
        try:
            jobs = sender.pending()
            async with asyncio.TaskGroup() as group:
                for _ in range(concurrency):
                    group.create_task(sender.work(jobs, backend))
        except ExceptionGroup as failed:  # the input became unreadable halfway: its one line, not a group
            first = failed.exceptions[0]
            if len(failed.exceptions) == 1 and isinstance(first, CLIError):
                raise first from None
            raise

    task = asyncio.ensure_future(sending())
    interrupt = _Interrupt(sender, task)
    try:
        try:
            await task
        except asyncio.CancelledError:
            if not interrupt.fired:
                raise
        ended = sender.ended
        if ended.stopped is not None and ended.write_error is None and not ended.interrupted:
            _write_stopped_lines(path, output, (done, sender.written), ended.stopped)
    finally:
        interrupt.remove()
        sender.progress.stop()
        output.close()
        with contextlib.suppress(Exception):
            await backend.aclose()
    return ended


def _write_stopped_lines(
    path: Path, output: AppendOnlyOutput | StdoutLines, finished: tuple[IdSet, ...], reason: str
) -> None:
    """One `stopped` error line for each request the run did not finish: OUTPUT stays one line per
    input line, and `--resume` (scan_output) knows to send these again."""
    message = f"the run stopped before this request was done ({reason}); run again with --resume"
    for number, line in iter_lines(path):
        try:
            custom_id = parse_line(line, number).custom_id
        except BadLine:
            continue
        if not any(custom_id in ids for ids in finished):
            output.write(json_line(error_line(_line_id(), custom_id, STOPPED, message)))


def _summary(tally: Tally, output: Path | None, diag: Diagnostics, stopped: str | None) -> None:
    elapsed = tally.elapsed
    rate = tally.done / elapsed if elapsed > 0 else 0.0
    parts = [f"{tally.succeeded} succeeded", f"{tally.failed} failed"]
    if tally.skipped:
        parts.append(f"{tally.skipped} already done")
    if stopped is not None:
        parts.append(f"{tally.total - tally.done} not sent")
    text = (
        f"batch: {', '.join(parts)} in {elapsed:.1f}s ({rate:.1f}/s, {tally.tokens:,} tokens{_cost(tally)}"
        f"{f', {tally.retries} retries' if tally.retries else ''}) -> {output or '<stdout>'}"
    )
    diag.warn(text)


def _cost(tally: Tally) -> str:
    """`, $0.0123` when the price table priced the answers (`for N of M answers` when only some)."""
    if not tally.priced:
        return ""
    from protoshift.cli.pricing import format_cost

    some = f" for {tally.priced} of {tally.succeeded} answers" if tally.priced < tally.succeeded else ""
    return f", {format_cost(tally.cost)}{some}"


__all__ = ["RunOptions", "error_code", "run_batch"]
