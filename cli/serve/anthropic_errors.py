"""Failures as HTTP answers in Anthropic's error shape: `{"type": "error", "error": {"type", "message"},
"request_id"}`, for the routes an Anthropic client calls (`/v1/messages`, `count_tokens`, and `/v1/models`
asked with `anthropic-version`).

The status of each failure is decided once, in errors.py (`failure_for`: cloud's error facts in, a status
and `retry-after` out); this module only says it the Anthropic way:
- the error `type` for a status is cloud.errors.ERROR_TYPE_STATUS read backwards (400
  invalid_request_error, 401 authentication_error, 403 permission_error, 404 not_found_error, 413
  request_too_large, 429 rate_limit_error, 500 api_error, 504 timeout_error, 529 overloaded_error);
  another 4xx is an invalid_request_error, another 5xx an api_error;
- an open circuit is a 529 overloaded_error with `retry-after` (the OpenAI side says 503): 529 is the
  status Anthropic clients know as "come back shortly" — the SDKs retry it after `retry-after`, and
  Claude Code reports it as the API being overloaded rather than as a failure of the request.
"""

from __future__ import annotations

from dataclasses import replace

from pydantic_core import to_json

from protoshift.cli.serve.errors import HTTPFailure
from protoshift.cloud.errors import ERROR_TYPE_STATUS

_TYPE_FOR_STATUS: dict[int, str] = {status: kind for kind, status in ERROR_TYPE_STATUS.items()}
OVERLOADED = 529


def anthropic_error_type(status: int) -> str:
    known = _TYPE_FOR_STATUS.get(status)
    if known is not None:
        return known
    return "api_error" if status >= 500 else "invalid_request_error"


def anthropic_failure(failure: HTTPFailure) -> HTTPFailure:
    """The same failure as an Anthropic client is told it: its status (an open circuit is a 529) and type."""
    status = OVERLOADED if failure.kind == "circuit_open" else failure.status
    return replace(failure, status=status, type=anthropic_error_type(status))


def anthropic_error_body(failure: HTTPFailure, request_id: str) -> bytes:
    return to_json(
        {"type": "error", "error": {"type": failure.type, "message": failure.message}, "request_id": request_id}
    )


def anthropic_error_event(failure: HTTPFailure) -> dict[str, object]:
    """A failure mid-stream: the `error` event Anthropic's API ends a stream with."""
    failure = anthropic_failure(failure)
    return {"type": "error", "error": {"type": failure.type, "message": failure.message}}
