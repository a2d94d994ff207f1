"""Batch files: OpenAI Batch API lines <-> Anthropic Message Batches items. Pure: data in, data out.

- `parse_input_line(value, line)`: one OpenAI batch input line (`{"custom_id", "method", "url", "body"}`)
  or a bare chat request (its custom_id is then its line number) -> `BatchItem`.
- `CustomIdMap`: Anthropic wants custom_ids matching `^[a-zA-Z0-9_-]{1,64}$`; others get a safe id
  (readable prefix + hash), and the map gives the original back. Ids that are already safe stay as
  they are and take no room in the map.
- `to_batch_request(item, safe_id)`: -> an Anthropic batch `requests` item `{"custom_id", "params"}`.
- `output_line(...)` / `error_line(...)`: OpenAI Batch output lines.
- `result_to_output(result, ids, line_id)`: one Anthropic results line -> one OpenAI Batch output line.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from protoshift.translator import anthropic_to_openai, openai_to_anthropic
from protoshift.translator.errors import TranslationError
from protoshift.translator.models import ModelTable
from protoshift.translator.report import RequestTranslation
from protoshift.translator.stamps import DEFAULT_STAMPS, Stamps
from protoshift.translator.tables import DEFAULT_MAX_TOKENS

__all__ = [
    "BATCH_URL",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_REQUESTS",
    "RESULT_ERRORS",
    "BatchItem",
    "CustomIdMap",
    "batch_body",
    "error_line",
    "is_safe_id",
    "output_line",
    "parse_input_line",
    "result_to_output",
    "to_batch_request",
]

BATCH_URL = "/v1/chat/completions"
MAX_BATCH_REQUESTS = 100_000  # Anthropic's limits for one Message Batch
MAX_BATCH_BYTES = 256 * 1024 * 1024

_SAFE_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_UNSAFE_CHARS = re.compile(r"[^a-zA-Z0-9_-]+")
_PREFIX_CHARS = 40  # readable part of a mapped id; the rest is the hash

# Fields a batch line cannot use: each runs once, non-streaming, and its answer is a whole completion.
_STREAM_FIELDS = ("stream", "stream_options")

# Anthropic result types other than `succeeded`, as OpenAI error lines: (code, message).
RESULT_ERRORS: Mapping[str, tuple[str, str]] = {
    "canceled": ("canceled", "the batch was canceled before this request was processed"),
    "expired": ("expired", "the batch expired (24 hours) before this request was processed"),
}


@dataclass(slots=True)
class BatchItem:
    custom_id: str
    body: dict[str, Any]


def is_safe_id(custom_id: str) -> bool:
    return _SAFE_ID.fullmatch(custom_id) is not None


def parse_input_line(value: Any, line: int) -> BatchItem:
    """An OpenAI batch input line -> `BatchItem`. A line with no `custom_id` and no `body` is a bare chat
    request, named by its line number. Raises `TranslationError` (path, reason) for anything else."""
    if not isinstance(value, dict):
        raise TranslationError("$", f"expected a JSON object, got {_kind(value)}")
    if "custom_id" not in value and "body" not in value:
        if not isinstance(value.get("messages"), list):
            raise TranslationError("messages", "a bare chat request needs a messages array")
        return BatchItem(str(line), value)
    custom_id = value.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        raise TranslationError("custom_id", "expected a non-empty string")
    method = value.get("method", "POST")
    if method != "POST":
        raise TranslationError("method", f"expected POST, got {method!r}")
    url = value.get("url", BATCH_URL)
    if url != BATCH_URL:
        raise TranslationError("url", f"only {BATCH_URL} can be run, got {url!r}")
    body = value.get("body")
    if not isinstance(body, dict):
        raise TranslationError("body", f"expected a chat request object, got {_kind(body)}")
    if not isinstance(body.get("messages"), list):
        raise TranslationError("body.messages", "expected an array")
    return BatchItem(custom_id, body)


def batch_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """The request as one batch item runs it: non-streaming."""
    return {key: value for key, value in body.items() if key not in _STREAM_FIELDS}


def to_batch_request(
    item: BatchItem,
    safe_id: str,
    *,
    default_max_tokens: int = DEFAULT_MAX_TOKENS,
    strict: bool = False,
    models: ModelTable | None = None,
) -> tuple[dict[str, Any], RequestTranslation]:
    """`{"custom_id": safe_id, "params": <Anthropic body>}` and the translation (notes, betas).
    A TranslationError lists every problem of the line, with paths under `body`."""
    try:
        translation = openai_to_anthropic.request(
            batch_body(item.body), default_max_tokens=default_max_tokens, strict=strict, models=models
        )
    except TranslationError as exc:
        raise exc.prefixed("body") from None
    return {"custom_id": safe_id, "params": translation.body}, translation


class CustomIdMap:
    """Original custom_ids -> ids Anthropic accepts, and back. Only ids that changed are kept."""

    __slots__ = ("_taken", "_to_original")

    def __init__(self, mapping: Mapping[str, str] | None = None) -> None:
        self._to_original: dict[str, str] = dict(mapping or {})
        self._taken: set[str] = set(self._to_original)

    def add(self, original: str) -> str:
        """The safe id for `original` (a new one each call: originals are unique in a batch)."""
        if is_safe_id(original) and original not in self._taken:
            self._taken.add(original)
            return original
        prefix = _UNSAFE_CHARS.sub("_", original)[:_PREFIX_CHARS].strip("_") or "id"
        digest = hashlib.sha256(original.encode()).hexdigest()
        for length in (16, 23):
            candidate = f"{prefix}-{digest[:length]}"
            if candidate not in self._taken:
                break
        else:
            n = 2
            while (candidate := f"{prefix}-{digest[:16]}-{n}") in self._taken:
                n += 1
        self._taken.add(candidate)
        self._to_original[candidate] = original
        return candidate

    def forget(self, safe_id: str) -> None:
        """Undo `add` (the item went to another batch after all)."""
        self._taken.discard(safe_id)
        self._to_original.pop(safe_id, None)

    def original(self, safe_id: str) -> str:
        return self._to_original.get(safe_id, safe_id)

    @property
    def mapping(self) -> dict[str, str]:
        """safe id -> original, for the ids that changed."""
        return dict(self._to_original)

    def __len__(self) -> int:
        return len(self._to_original)


def output_line(
    line_id: str, custom_id: str, body: Mapping[str, Any], *, status_code: int = 200, request_id: str | None = None
) -> dict[str, Any]:
    """An OpenAI Batch output line for an answered request."""
    return {
        "id": line_id,
        "custom_id": custom_id,
        "response": {"status_code": status_code, "request_id": request_id, "body": body},
        "error": None,
    }


def error_line(line_id: str, custom_id: str, code: str, message: str) -> dict[str, Any]:
    """An OpenAI Batch output line for a request that failed."""
    return {"id": line_id, "custom_id": custom_id, "response": None, "error": {"code": code, "message": message}}


def result_to_output(result: Any, ids: CustomIdMap, line_id: str, *, stamps: Stamps = DEFAULT_STAMPS) -> dict[str, Any]:
    """One Anthropic Message Batches results line -> one OpenAI Batch output line, under the original id.
    `succeeded` -> the chat.completion (`stamps`: its `created`); `errored`, `canceled`, `expired` -> an error line."""
    if not isinstance(result, dict):
        raise TranslationError("$", f"expected a JSON object, got {_kind(result)}")
    safe_id = result.get("custom_id")
    if not isinstance(safe_id, str) or not safe_id:
        raise TranslationError("custom_id", "expected a non-empty string")
    custom_id = ids.original(safe_id)
    outcome = result.get("result")
    if not isinstance(outcome, dict):
        raise TranslationError("result", f"expected an object, got {_kind(outcome)}")
    kind = outcome.get("type")
    if kind == "succeeded":
        message: Any = outcome.get("message")  # checked by `response`
        try:
            completion = anthropic_to_openai.response(message, stamps=stamps)
        except TranslationError as exc:
            raise TranslationError(f"result.message.{exc.path}", exc.reason) from None
        return output_line(line_id, custom_id, completion)
    if kind == "errored":
        response = outcome.get("error")
        error = response.get("error") if isinstance(response, dict) else None
        error = error if isinstance(error, dict) else {}
        code = str(error.get("type") or "api_error")
        message = str(error.get("message") or code)
        request_id = response.get("request_id") if isinstance(response, dict) else None
        if isinstance(request_id, str) and request_id:
            message += f" (request {request_id})"
        return error_line(line_id, custom_id, code, message)
    if isinstance(kind, str) and kind in RESULT_ERRORS:
        code, message = RESULT_ERRORS[kind]
        return error_line(line_id, custom_id, code, message)
    raise TranslationError("result.type", f"unknown result type {kind!r}")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(type(value), "a number")
