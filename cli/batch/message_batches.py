"""`protoshift batch submit|status|results|cancel|list`: Anthropic's Message Batches API.

`submit` checks the whole input like `batch run`, translates every line, and creates as many batches
as Anthropic's limits need (100,000 requests or 256 MB each). custom_ids outside
`^[a-zA-Z0-9_-]{1,64}$` are sent under safe ids; the safe -> original mapping of each batch is kept in
a manifest, `$XDG_STATE_HOME/protoshift/batches/<batch id>.json`, which `results` reads to write every
line under the id the user gave.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from protoshift.cli.batch.files import BadLine, check_input, input_path, iter_lines, parse_line, prepare_body
from protoshift.cli.batch.manifest import read_manifest, write_manifest
from protoshift.cli.batch.progress import Progress, Tally
from protoshift.cli.exits import BAD_INPUT, BATCH_PARTIAL, OK, PROVIDER_FAILED, CLIError, InputError
from protoshift.cli.flags import MAX_WAIT
from protoshift.cli.io.console import Diagnostics
from protoshift.cli.io.inputs import JSONInputError, load_json
from protoshift.cli.io.output import atomic_file, json_document, json_line, stdout
from protoshift.cli.settings import Settings
from protoshift.cloud.kinds import BACKENDS
from protoshift.translator import TranslationError
from protoshift.translator.batch import (
    MAX_BATCH_BYTES,
    MAX_BATCH_REQUESTS,
    BatchItem,
    CustomIdMap,
    result_to_output,
    to_batch_request,
)

if TYPE_CHECKING:
    from protoshift.cloud.batches import MessageBatchesClient

T = TypeVar("T")


# -- the client ----------------------------------------------------------------------------------


def _client(settings: Settings, diag: Diagnostics) -> MessageBatchesClient:
    from protoshift import cloud
    from protoshift.cli.chain import event_sink

    if not cloud.BACKENDS[settings.backend].message_batches:
        raise InputError(
            f"Message Batches is Anthropic's API: --backend {settings.backend} has none",
            hint="use `protoshift batch run` to run a file through any backend",
        )
    return cloud.create_batches_client(
        api_key=settings.api_key_for(settings.backend),
        key_source=settings.key_source(settings.backend),
        base_url=settings.base_url_for(settings.backend, primary=True),
        timeout=settings.timeout,
        idle_timeout=settings.idle_timeout,
        max_retries=settings.max_retries,
        breaker=settings.breaker,
        on_event=event_sink(diag),
        allow_insecure=settings.allow_insecure,
    )


def _with_client(settings: Settings, diag: Diagnostics, body: Callable[[MessageBatchesClient], Awaitable[T]]) -> T:
    async def main() -> T:
        client = _client(settings, diag)
        try:
            return await body(client)
        finally:
            await client.aclose()

    return asyncio.run(main())


def _counts(batch: dict[str, Any]) -> str:
    from protoshift.cloud.batches import RESULT_COUNTS

    counts = batch.get("request_counts")
    counts = counts if isinstance(counts, dict) else {}
    return ", ".join(f"{counts.get(name, 0)} {name}" for name in RESULT_COUNTS)


def _describe(batch: dict[str, Any]) -> str:
    return f"{batch.get('id')}: {batch.get('processing_status')} ({_counts(batch)})"


# -- submit --------------------------------------------------------------------------------------


@dataclass
class SubmitOptions:
    input: str
    max_requests: int = MAX_BATCH_REQUESTS
    max_bytes: int = MAX_BATCH_BYTES

    @classmethod
    def with_limits(cls, input: str, max_requests: int | None, max_bytes: int | None) -> SubmitOptions:
        return cls(input, max_requests or MAX_BATCH_REQUESTS, max_bytes or MAX_BATCH_BYTES)


_OPEN = b'{"requests":['
_CLOSE = b"]}"


@dataclass
class _FillingBatch:
    """The next batch to create, being filled: encoded request items, their total size, the ids, the betas."""

    items: list[bytes]
    size: int
    ids: CustomIdMap
    betas: set[str]

    @classmethod
    def empty(cls) -> _FillingBatch:
        return cls([], len(_OPEN) + len(_CLOSE), CustomIdMap(), set())

    def body(self) -> bytes:
        return _OPEN + b",".join(self.items) + _CLOSE


def run_submit(options: SubmitOptions, settings: Settings, diag: Diagnostics) -> int:
    path = input_path(options.input)
    if not BACKENDS[settings.backend].message_batches:
        _client(settings, diag)  # says why

    models = settings.model_table()  # Message Batches have no second chance: bodies right for the model

    def check(item: BatchItem) -> list[tuple[str, str, str]]:
        from protoshift.translator.report import LOSSY_ACTIONS

        _, translation = to_batch_request(_prepared(item, settings), "check", models=models)
        return [(n.path, n.action, n.reason) for n in translation.notes if n.action in LOSSY_ACTIONS]

    report = check_input(path, diag, check)

    async def submit(client: MessageBatchesClient) -> list[str]:
        created: list[str] = []
        chunk = _FillingBatch.empty()
        for number, line in iter_lines(path):
            try:
                item = _prepared(parse_line(line, number), settings)
                safe_id = chunk.ids.add(item.custom_id)
                request, translation = to_batch_request(item, safe_id, models=models)
            except (BadLine, TranslationError) as exc:  # the file changed since the check
                raise InputError(f"{path}:{number}: {exc}") from None
            encoded = json.dumps(request, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
            if len(encoded) + len(_OPEN) + len(_CLOSE) > options.max_bytes:
                raise InputError(f"{path}:{number}: this request alone is over the {options.max_bytes:,}-byte limit")
            if chunk.items and (
                len(chunk.items) >= options.max_requests or chunk.size + 1 + len(encoded) > options.max_bytes
            ):
                chunk.ids.forget(safe_id)
                created.append(await _create(client, chunk, path, diag))
                chunk = _FillingBatch.empty()
                safe_id = chunk.ids.add(item.custom_id)
                request["custom_id"] = safe_id
                encoded = json.dumps(request, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
            chunk.items.append(encoded)
            chunk.size += len(encoded) + (1 if len(chunk.items) > 1 else 0)
            chunk.betas.update(translation.betas)
        if chunk.items:
            created.append(await _create(client, chunk, path, diag))
        return created

    created = _with_client(settings, diag, submit)
    diag.warn(
        f"submitted {report.lines} requests in {len(created)} {'batch' if len(created) == 1 else 'batches'};"
        f" follow with `protoshift batch status ID --wait`, then `protoshift batch results ID -o OUT.jsonl`"
    )
    return OK


def _prepared(item: BatchItem, settings: Settings) -> BatchItem:
    return BatchItem(item.custom_id, prepare_body(item.body, settings))


async def _create(client: MessageBatchesClient, chunk: _FillingBatch, source: Path, diag: Diagnostics) -> str:
    batch = await client.create(chunk.body(), betas=sorted(chunk.betas))
    batch_id = str(batch["id"])
    try:
        where = write_manifest(batch_id, source, len(chunk.items), chunk.ids)
        diag.detail(f"manifest for {batch_id}: {where}")
    except OSError as exc:
        diag.error(
            f"{batch_id}: could not save the custom_id manifest ({exc.strerror or exc})",
            hint=f"{len(chunk.ids)} custom_ids will come back under the safe ids Anthropic was given",
        )
    out = stdout()
    out.write(f"{batch_id}\n".encode())
    out.flush()
    return batch_id


# -- status, cancel, list ------------------------------------------------------------------------


def run_status(
    batch_id: str,
    wait: bool,
    poll_interval: float,
    settings: Settings,
    diag: Diagnostics,
    max_wait: float = MAX_WAIT,
) -> int:
    if poll_interval <= 0:
        raise InputError("--poll-interval must be positive")
    if max_wait <= 0:
        raise InputError("--max-wait must be positive")

    async def status(client: MessageBatchesClient) -> dict[str, Any]:
        batch: dict[str, Any] = await client.retrieve(batch_id)
        if not wait or batch.get("processing_status") == "ended":
            return batch
        return await _wait(client, batch, poll_interval, diag, max_wait)

    batch = _with_client(settings, diag, status)
    stdout().write(json_document(batch))
    diag.warn(_describe(batch))
    return OK


async def _wait(
    client: MessageBatchesClient, batch: dict[str, Any], poll_interval: float, diag: Diagnostics, max_wait: float
) -> dict[str, Any]:
    """Poll until the batch has ended, for at most `max_wait` seconds (then one line that says how to
    wait again, exit 1). A poll that fails with an error worth retrying (after the client's own
    retries) is reported and the polling goes on; any other error ends the wait."""
    from protoshift.cloud import BackendError

    tally = Tally(total=_total(batch))
    progress = Progress(tally, diag, label=str(batch.get("id")))
    deadline = time.monotonic() + max_wait
    try:
        while batch.get("processing_status") != "ended":
            if time.monotonic() >= deadline:
                raise CLIError(
                    f"{batch.get('id')} is still {batch.get('processing_status')} after {max_wait:g}s of waiting",
                    PROVIDER_FAILED,
                    hint=f"protoshift batch status {batch.get('id')} --wait waits again",
                )
            _update(tally, batch)
            progress.set_description(
                f"{batch.get('id')} {batch.get('processing_status')}", total=tally.total, completed=tally.done
            )
            progress.tick()
            await asyncio.sleep(min(poll_interval, max(deadline - time.monotonic(), 0)))
            try:
                batch = await client.retrieve(str(batch["id"]))
            except BackendError as exc:
                if not exc.retryable:
                    raise
                diag.warn(f"{exc}; polling again in {poll_interval:g}s")
        _update(tally, batch)
        progress.set_description(f"{batch.get('id')} ended", total=tally.total, completed=tally.done)
    finally:
        progress.stop()
    return batch


def _total(batch: dict[str, Any]) -> int:
    counts = batch.get("request_counts")
    return sum(v for v in counts.values() if isinstance(v, int)) if isinstance(counts, dict) else 0


def _update(tally: Tally, batch: dict[str, Any]) -> None:
    counts = batch.get("request_counts")
    counts = counts if isinstance(counts, dict) else {}
    tally.total = _total(batch)
    tally.succeeded = int(counts.get("succeeded") or 0)
    tally.failed = sum(int(counts.get(k) or 0) for k in ("errored", "canceled", "expired"))
    tally.in_flight = int(counts.get("processing") or 0)


def run_cancel(batch_id: str, settings: Settings, diag: Diagnostics) -> int:
    batch = _with_client(settings, diag, lambda client: client.cancel(batch_id))
    stdout().write(json_document(batch))
    diag.warn(_describe(batch))
    return OK


def run_list(limit: int, settings: Settings, diag: Diagnostics) -> int:
    if limit < 1:
        raise InputError("--count must be at least 1")

    async def listing(client: MessageBatchesClient) -> int:
        out = stdout()
        count = 0
        async for batch in client.iter_batches(limit=limit):
            out.write(json_line(batch))
            count += 1
        out.flush()
        return count

    count = _with_client(settings, diag, listing)
    diag.detail(f"{count} batches")
    return OK


# -- results -------------------------------------------------------------------------------------


def run_results(batch_id: str, output: Path | None, settings: Settings, diag: Diagnostics) -> int:
    ids = read_manifest(batch_id)
    if ids is None:
        diag.warn(f"no local manifest for {batch_id}: custom_ids are written as Anthropic has them")
        ids = CustomIdMap()

    async def download(client: MessageBatchesClient) -> tuple[int, int]:
        batch = await client.retrieve(batch_id)
        status = batch.get("processing_status")
        if status != "ended":
            raise CLIError(
                f"batch {batch_id} is {status}: its results are not ready",
                BAD_INPUT,
                hint=f"wait with `protoshift batch status {batch_id} --wait`",
            )
        if output is None:
            return await _write_results(client, batch, ids, stdout())
        with atomic_file(output) as fh:
            return await _write_results(client, batch, ids, fh)

    written, failed = _with_client(settings, diag, download)
    target = output if output is not None else "stdout"
    diag.warn(f"{batch_id}: {written} results, {written - failed} succeeded, {failed} failed -> {target}")
    return BATCH_PARTIAL if failed else OK


async def _write_results(
    client: MessageBatchesClient, batch: dict[str, Any], ids: CustomIdMap, out: IO[bytes]
) -> tuple[int, int]:
    written = failed = 0
    async for raw in client.results(batch):
        written += 1
        try:
            line = result_to_output(load_json(raw), ids, _result_line_id(batch, raw))
        except (JSONInputError, TranslationError) as exc:
            raise CLIError(
                f"results of {batch.get('id')}, line {written}: not a batch result ({exc})", PROVIDER_FAILED
            ) from None
        if line["error"] is not None:
            failed += 1
        out.write(json_line(line))
    out.flush()
    return written, failed


def _result_line_id(batch: dict[str, Any], raw: bytes) -> str:
    """A stable output line id: the same results give the same file."""
    return "batch_req_" + hashlib.sha256(str(batch.get("id")).encode() + b"\0" + raw).hexdigest()[:24]
