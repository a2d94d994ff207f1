"""`protoshift translate batch-input|batch-results`: batch files converted offline, nothing sent.

- batch-input: OpenAI batch input JSONL -> the Anthropic Message Batches create body,
  `{"requests": [{"custom_id", "params"}, ...]}`. Every line is checked first (every problem of every
  line, with its line number and JSON path; exit 2, nothing written); bodies are shaped for their
  model by the capability table (with the config file's `[models."pattern"]` rows). custom_ids Anthropic would refuse get safe ids; `--id-map FILE` keeps the mapping.
- batch-results: Anthropic results JSONL -> OpenAI Batch output lines (`--id-map FILE` restores ids).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import IO, Any

from protoshift.cli.batch.files import MAX_REPORTED, BadLine, parse_line
from protoshift.cli.exits import BAD_INPUT, OK, InputError
from protoshift.cli.io.console import Diagnostics
from protoshift.cli.io.inputs import JSONInputError, Source, iter_jsonl, load_json, parse_json
from protoshift.cli.io.output import atomic_file, json_document, json_line, stdout
from protoshift.cli.settings import model_table
from protoshift.translator import TranslationError
from protoshift.translator.batch import BatchItem, CustomIdMap, result_to_output, to_batch_request
from protoshift.translator.report import LOSSY_ACTIONS


def _source(text: str | None) -> Source:
    if text in (None, "-"):
        return Source("<stdin>")
    path = Path(text)
    if not path.is_file():
        raise InputError(f"{text}: no such file")
    return Source(text, path)


def _write(output: Path | None, data: bytes) -> None:
    if output is None:
        out: IO[bytes] = stdout()
        out.write(data)
        out.flush()
        return
    with atomic_file(output) as fh:
        fh.write(data)


def run_batch_input(
    input: str | None,
    output: Path | None,
    id_map: Path | None,
    diag: Diagnostics,
    *,
    strict: bool = False,
    default_max_tokens: int | None = None,
    model: str | None = None,
) -> int:
    source = _source(input)
    ids = CustomIdMap()
    seen: dict[str, int] = {}
    items: list[bytes] = []
    errors = 0
    notes: Counter[tuple[str, str, str]] = Counter()
    betas: set[str] = set()
    kwargs: dict[str, Any] = {} if default_max_tokens is None else {"default_max_tokens": default_max_tokens}
    kwargs["models"] = model_table()
    for number, line in iter_jsonl(source.read_bytes(), source.name):
        try:
            item: BatchItem = parse_line(line, number)
            if model:
                item = BatchItem(item.custom_id, {**item.body, "model": model})
            if item.custom_id in seen:
                raise BadLine(f"custom_id {item.custom_id!r} is already used on line {seen[item.custom_id]}")
            request, translation = to_batch_request(item, ids.add(item.custom_id), strict=strict, **kwargs)
        except BadLine as exc:
            errors += 1
            diag.error(f"{source.name}:{number}: {exc}")
            continue
        except TranslationError as exc:
            errors += 1
            for problem in exc.problems:
                diag.error(f"{source.name}:{number}: {problem}")
            continue
        seen[item.custom_id] = number
        notes.update((n.path, n.action, n.reason) for n in translation.notes if n.action in LOSSY_ACTIONS)
        betas.update(translation.betas)
        items.append(json.dumps(request, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode())
    if errors:
        raise InputError(f"{source.name}: {errors} invalid {'line' if errors == 1 else 'lines'}; nothing written")
    _report_notes(notes, betas, diag)
    _write(output, b'{"requests": [\n' + b",\n".join(items) + b"\n]}\n")
    _keep_id_map(ids, id_map, diag)
    return OK


def _report_notes(notes: Counter[tuple[str, str, str]], betas: set[str], diag: Diagnostics) -> None:
    for (path, action, reason), count in sorted(notes.items()):
        diag.warn(f"note: {path}: {action} on {count} {'line' if count == 1 else 'lines'}: {reason}")
    if betas:
        diag.warn(f"note: create the batch with header anthropic-beta: {','.join(sorted(betas))}")


def _keep_id_map(ids: CustomIdMap, id_map: Path | None, diag: Diagnostics) -> None:
    if id_map is not None:
        with atomic_file(id_map) as fh:
            fh.write(json_document(ids.mapping))
    elif len(ids):
        diag.warn(
            f"note: {len(ids)} custom_ids did not fit ^[a-zA-Z0-9_-]{{1,64}}$ and were replaced;"
            " give --id-map FILE to keep the mapping for batch-results"
        )


def run_batch_results(input: str | None, output: Path | None, id_map: Path | None, diag: Diagnostics) -> int:
    source = _source(input)
    ids = CustomIdMap(_read_id_map(id_map) if id_map is not None else None)
    lines: list[bytes] = []
    errors = 0
    for number, raw in iter_jsonl(source.read_bytes(), source.name):
        line_id = "batch_req_" + hashlib.sha256(raw).hexdigest()[:24]
        try:
            lines.append(json_line(result_to_output(load_json(raw), ids, line_id)))
        except (JSONInputError, TranslationError) as exc:
            errors += 1
            if errors <= MAX_REPORTED:
                reason = exc.describe() if isinstance(exc, JSONInputError) else str(exc)
                diag.error(f"{source.name}:{number}: {reason}")
    _write(output, b"".join(lines))
    if errors:
        diag.error(f"{source.name}: {errors} lines are not Anthropic batch results; they were left out")
        return BAD_INPUT
    return OK


def _read_id_map(path: Path) -> dict[str, str]:
    try:
        data = parse_json(path.read_bytes(), str(path))
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise InputError(f"{path}: expected an object of safe id -> original custom_id")
    return data
