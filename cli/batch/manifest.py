"""The manifest of a submitted Message Batch: the safe custom_id -> original mapping (only the ids that
had to change), kept at `<state dir>/batches/<batch id>.json` so `batch results` writes every line
under the id the user gave, whichever machine or shell submitted it."""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path

from protoshift.cli.exits import InputError
from protoshift.cli.io.inputs import load_json
from protoshift.cli.io.output import atomic_file, json_document
from protoshift.translator.batch import CustomIdMap


def manifest_dir() -> Path:
    from protoshift.cloud.state import state_dir

    return state_dir() / "batches"


def manifest_path(batch_id: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in batch_id)
    if safe != batch_id:  # an odd id from a server: still one file per id
        safe += "-" + hashlib.sha256(batch_id.encode()).hexdigest()[:12]
    return manifest_dir() / f"{safe}.json"


def write_manifest(batch_id: str, source: Path, requests: int, ids: CustomIdMap) -> Path:
    path = manifest_path(batch_id)
    document = {
        "batch_id": batch_id,
        "input": str(source.resolve()),
        "requests": requests,
        "created_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "custom_ids": ids.mapping,  # safe id -> original, only the ids that had to change
    }
    with atomic_file(path, private=True) as fh:  # state, not output: kept to its owner as before
        fh.write(json_document(document))
    return path


def read_manifest(batch_id: str) -> CustomIdMap | None:
    path = manifest_path(batch_id)
    try:
        data = load_json(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable batch manifest ({exc})") from None
    mapping = data.get("custom_ids") if isinstance(data, dict) else None
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise InputError(f"{path}: not a batch manifest (no custom_ids mapping)")
    return CustomIdMap(mapping)
