"""A fake Anthropic Message Batches API for `FakeServer`: create, retrieve, list, cancel, results.

A batch is `in_progress` for its first `polls_to_end` retrieves, then `ended`. Each request's result
depends on its last user message: containing "fail" -> errored, "expire" -> expired, otherwise
succeeded with the message "echo: <text>". A canceled batch ends with every request canceled.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from tests.batch.conftest import user_text
from tests.fakes import Received, Reply, anthropic_error_reply, anthropic_message

BATCHES = "/v1/messages/batches"
_BATCH_PATH = re.compile(r"^/v1/messages/batches/([^/?]+)(/cancel|/results)?$")


@dataclass
class _Batch:
    id: str
    requests: list[dict[str, Any]]
    created_at: str
    retrieves: int = 0
    canceled: bool = False
    headers: dict[str, str] = field(default_factory=dict)


class FakeBatchesAPI:
    def __init__(self, *, polls_to_end: int = 2, page_size: int = 2, overloaded_first_retrieve: bool = False) -> None:
        self.polls_to_end = polls_to_end
        self.page_size = page_size
        self.overloaded_first_retrieve = overloaded_first_retrieve
        self.batches: dict[str, _Batch] = {}
        self.order: list[str] = []  # creation order
        self.calls: list[tuple[str, str]] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._overloaded = False

    def __call__(self, received: Received) -> Reply:
        with self._lock:
            self.calls.append((received.method, received.path))
            return self._route(received)

    # -- routing -----------------------------------------------------------------------------------

    def _route(self, received: Received) -> Reply:
        path, _, query = received.path.partition("?")
        if received.headers.get("x-api-key") != "sk-ant-test-key":
            return anthropic_error_reply(401, "authentication_error", "invalid x-api-key")
        if path == BATCHES and received.method == "POST":
            return self._create(received)
        if path == BATCHES and received.method == "GET":
            return self._list(dict(part.split("=", 1) for part in query.split("&") if "=" in part))
        match = _BATCH_PATH.match(path)
        if not match or match.group(1) not in self.batches:
            return anthropic_error_reply(404, "not_found_error", f"no batch at {path}")
        batch = self.batches[match.group(1)]
        action = match.group(2)
        if action == "/cancel" and received.method == "POST":
            batch.canceled = True
            return _json(self._object(batch, received, status="canceling"))
        if action == "/results" and received.method == "GET":
            if not self._ended(batch):
                return anthropic_error_reply(404, "not_found_error", "results are not ready")
            return Reply(body=self._results(batch), headers={"content-type": "application/binary"})
        if action is None and received.method == "GET":
            if self.overloaded_first_retrieve and not self._overloaded:
                self._overloaded = True
                return anthropic_error_reply(529, "overloaded_error", "Overloaded", {"retry-after-ms": "10"})
            batch.retrieves += 1
            return _json(self._object(batch, received))
        return anthropic_error_reply(405, "invalid_request_error", "method not allowed")

    def _create(self, received: Received) -> Reply:
        requests = received.json.get("requests")
        assert isinstance(requests, list) and requests
        batch_id = f"msgbatch_{next(self._ids):04d}"
        batch = _Batch(batch_id, requests, f"2025-01-01T00:00:{len(self.order):02d}Z", headers=received.headers)
        self.batches[batch_id] = batch
        self.order.append(batch_id)
        return _json(self._object(batch, received))

    def _list(self, query: dict[str, str]) -> Reply:
        newest_first = list(reversed(self.order))
        if "after_id" in query:
            newest_first = newest_first[newest_first.index(query["after_id"]) + 1 :]
        limit = min(int(query.get("limit", "20")), self.page_size)
        page = newest_first[:limit]
        data = [self._object(self.batches[i], None) for i in page]
        body = {
            "data": data,
            "has_more": len(newest_first) > limit,
            "first_id": page[0] if page else None,
            "last_id": page[-1] if page else None,
        }
        return _json(body)

    # -- objects -----------------------------------------------------------------------------------

    def _ended(self, batch: _Batch) -> bool:
        return batch.canceled or batch.retrieves >= self.polls_to_end

    def _outcome(self, request: dict[str, Any], batch: _Batch) -> str:
        if batch.canceled:
            return "canceled"
        text = user_text(request["params"])
        return "errored" if "fail" in text else "expired" if "expire" in text else "succeeded"

    def _object(self, batch: _Batch, received: Received | None, status: str | None = None) -> dict[str, Any]:
        ended = self._ended(batch) and status is None
        counts = dict.fromkeys(("processing", "succeeded", "errored", "canceled", "expired"), 0)
        if ended:
            for request in batch.requests:
                counts[self._outcome(request, batch)] += 1
        else:
            counts["processing"] = len(batch.requests)
        host = received.headers.get("host", "127.0.0.1") if received else "127.0.0.1"
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": "ended" if ended else (status or "in_progress"),
            "request_counts": counts,
            "created_at": batch.created_at,
            "expires_at": "2025-01-02T00:00:00Z",
            "ended_at": "2025-01-01T01:00:00Z" if ended else None,
            "cancel_initiated_at": "2025-01-01T00:30:00Z" if batch.canceled else None,
            "archived_at": None,
            "results_url": f"http://{host}{BATCHES}/{batch.id}/results" if ended else None,
        }

    def _results(self, batch: _Batch) -> bytes:
        lines = []
        for request in reversed(batch.requests):  # results come in any order
            outcome = self._outcome(request, batch)
            result: dict[str, Any] = {"type": outcome}
            if outcome == "succeeded":
                text = user_text(request["params"])
                result["message"] = anthropic_message(f"echo: {text}", model=request["params"]["model"])
            elif outcome == "errored":
                result["error"] = {
                    "type": "error",
                    "error": {"type": "invalid_request_error", "message": "this request failed on purpose"},
                    "request_id": "req_batch_err",
                }
            lines.append(json.dumps({"custom_id": request["custom_id"], "result": result}, ensure_ascii=False))
        return ("\n".join(lines) + "\n").encode()


def _json(value: dict[str, Any]) -> Reply:
    return Reply(body=json.dumps(value).encode(), headers={"request-id": "req_batches"})
