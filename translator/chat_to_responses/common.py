"""What the answer and the stream share: the response object (the request's fields it repeats), the
output items, the error of a failed response."""

from __future__ import annotations

from typing import Any

from protoshift.translator.stamps import Stamps
from protoshift.translator.tables import (
    DEFAULT_FAILURE_CODE,
    FAILURE_STATUSES,
    FAILURE_WORDS,
    RESPONSES_REASONING_KEYS,
    SERVICE_TIERS,
)
from protoshift.translator.wire import JSON, Response, ResponsesRequest

__all__ = ["FAILURE_CODES", "cut_short", "echo", "failure", "failure_code", "response_object", "url_citations"]

# The codes a failed response's error may carry: the SDK's (ResponseError.code) and the two Codex acts
# on that the API sends and the SDK's type does not list (context_length_exceeded, insufficient_quota).
FAILURE_CODES: frozenset[str] = frozenset(
    {
        "server_error", "rate_limit_exceeded", "invalid_prompt", "context_length_exceeded", "insufficient_quota",
        "vector_store_timeout", "invalid_image", "invalid_image_format", "invalid_base64_image",
        "invalid_image_url", "image_too_large", "image_too_small", "image_parse_error",
        "image_content_policy_violation", "invalid_image_mode", "image_file_too_large",
        "unsupported_image_media_type", "empty_image_file", "failed_to_download_image", "image_file_not_found",
    }
)  # fmt: skip


# The plain fields a response repeats: (the types a given value must have, the API's default when it has none).
_PLAIN: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "background": (bool, False),
    "instructions": (str, None),
    "max_output_tokens": (int, None),
    "max_tool_calls": (int, None),
    "parallel_tool_calls": (bool, True),
    "previous_response_id": (str, None),
    "prompt_cache_key": (str, None),
    "safety_identifier": (str, None),
    "temperature": ((int, float), None),
    "tool_choice": ((str, dict), "auto"),
    "top_logprobs": (int, 0),
    "top_p": ((int, float), None),
    "truncation": (str, "disabled"),
    "user": (str, None),
}
# A response object's keys in the order the API sends them (then `completed_at`, `prompt_cache_retention` when
# there), each with its value until set: the plain fields' defaults; None for what each answer sets.
_SKELETON: JSON = {
    key: _PLAIN[key][1] if key in _PLAIN else None
    for key in (
        "id", "object", "created_at", "status", "background", "error", "incomplete_details", "instructions",
        "max_output_tokens", "max_tool_calls", "model", "output", "parallel_tool_calls", "previous_response_id",
        "prompt_cache_key", "reasoning", "safety_identifier", "service_tier", "temperature", "text", "tool_choice",
        "tools", "top_logprobs", "top_p", "truncation", "usage", "user", "metadata",
    )
}  # fmt: skip
_SKELETON["object"] = "response"
# The fields echoed from objects of the request: a request without them (most) is echoed their defaults.
_SHAPED = frozenset({"reasoning", "text", "service_tier", "tools", "metadata", "prompt_cache_retention"})


def echo(request: ResponsesRequest) -> JSON:
    """The response object as `request` decides it: the fields it repeats, as the API repeats them (its
    defaults when the request leaves one out), in their places; what each answer says (id, status, output,
    usage...) is set by `response_object`. The request is the one `responses_to_chat.request` took, so its
    values have their types; anything else is taken as left out."""
    req = request if isinstance(request, dict) else {}
    fields = dict(_SKELETON)
    for key in _PLAIN.keys() & req.keys():  # most requests give few of them
        kind = _PLAIN[key][0]
        value = req[key]
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            fields[key] = value
    fields["reasoning"] = {"effort": None, "summary": None}  # the API's, for a request that leaves them out
    fields["service_tier"] = "default"
    fields["text"] = {"format": {"type": "text"}}
    fields["tools"] = []
    fields["metadata"] = {}
    if not _SHAPED.isdisjoint(req):  # most requests give none of them
        _echo_shaped(req, fields)
    return fields


def _echo_shaped(req: JSON, fields: JSON) -> None:
    """The objects of the request a response repeats, in place of their defaults in `fields`."""
    reasoning = req.get("reasoning")
    if isinstance(reasoning, dict):
        fields["reasoning"] = {key: value for key, value in reasoning.items() if key in RESPONSES_REASONING_KEYS}
    text = req.get("text")
    if isinstance(text, dict):
        text = dict(text)
        if text.get("format") is None:
            text["format"] = fields["text"]["format"]
        fields["text"] = text
    tier = req.get("service_tier")
    if isinstance(tier, str) and tier in SERVICE_TIERS:
        fields["service_tier"] = tier
    tools = req.get("tools")
    if isinstance(tools, list):
        fields["tools"] = tools
    metadata = req.get("metadata")
    if isinstance(metadata, dict):
        fields["metadata"] = metadata
    if isinstance(req.get("prompt_cache_retention"), str):
        fields["prompt_cache_retention"] = req["prompt_cache_retention"]


def response_object(
    fields: JSON,
    *,
    response_id: str,
    created_at: int,
    model: str,
    status: str,
    output: list[JSON],
    usage: JSON | None,
    error: JSON | None = None,
    incomplete: str | None = None,
    completed_at: int | None = None,
) -> Response:
    """A `response` object, its keys in the order the API sends them: `fields` (`echo`'s) with what this
    answer says set in their places."""
    obj: Response = dict(fields)
    obj["id"] = response_id
    obj["created_at"] = created_at
    obj["status"] = status
    obj["error"] = error
    obj["incomplete_details"] = {"reason": incomplete} if incomplete else None
    obj["model"] = model
    obj["output"] = output
    obj["usage"] = usage
    if completed_at is not None:
        obj["completed_at"] = completed_at
        if "prompt_cache_retention" in obj:  # the last key
            obj["prompt_cache_retention"] = obj.pop("prompt_cache_retention")
    return obj


def cut_short(item: JSON) -> JSON:
    """An item a failing stream left open: `incomplete`, or `failed` for a web search call (its statuses
    have no incomplete)."""
    return {**item, "status": "failed" if item.get("type") == "web_search_call" else "incomplete"}


def item_id(stamps: Stamps, prefix: str) -> str:
    return stamps.id(prefix)


def call_id(value: Any, stamps: Stamps) -> str:
    """The chat tool call's id as the item's `call_id` (the client answers with it); one made up if none."""
    return value if isinstance(value, str) and value else stamps.id("call_", 24)


def url_citations(annotations: Any) -> list[JSON]:
    """Chat message annotations (`{"type": "url_citation", "url_citation": {...}}`) -> Responses
    `url_citation` annotations; anything else is left out."""
    out: list[JSON] = []
    if not isinstance(annotations, list):
        return out
    for entry in annotations:
        if not isinstance(entry, dict) or entry.get("type") != "url_citation":
            continue
        cite = entry.get("url_citation")
        cite = cite if isinstance(cite, dict) else entry  # some servers put the fields on the annotation itself
        start, end, url = cite.get("start_index"), cite.get("end_index"), cite.get("url")
        if not (type(start) is int and type(end) is int and isinstance(url, str)):
            continue
        title = cite.get("title")
        out.append(
            {
                "type": "url_citation",
                "start_index": start,
                "end_index": end,
                "title": title if isinstance(title, str) else url,
                "url": url,
            }
        )
    return out


# ---- failures ------------------------------------------------------------------------------------


def failure_code(*, status: int | None = None, kind: str | None = None, message: str = "") -> str:
    """The `error.code` of a failed response: the upstream's own code when it is one of ours, else by
    the words of its type or code, its HTTP status, then the words of its message; else server_error."""
    if kind:
        lowered = kind.lower()
        if lowered in FAILURE_CODES:
            return lowered
        for word, code in FAILURE_WORDS:
            if word in lowered:
                return code
    if status is not None and status in FAILURE_STATUSES:
        code = FAILURE_STATUSES[status]
        if code != "invalid_prompt":
            return code
    lowered = message.lower()
    for word, code in FAILURE_WORDS:
        if word in lowered:
            return code
    if status is not None and status in FAILURE_STATUSES:
        return FAILURE_STATUSES[status]
    return DEFAULT_FAILURE_CODE


def failure(
    message: str, *, status: int | None = None, kind: str | None = None, retry_after: float | None = None
) -> JSON:
    """The `error` object of a failed response: `code` (see failure_code) and `message`; a rate limit
    with a known `retry_after` (seconds) says "try again in Ns", which Codex reads as its retry delay."""
    code = failure_code(status=status, kind=kind, message=message)
    text = message or code
    if code == "rate_limit_exceeded" and retry_after is not None and "try again in" not in text.lower():
        seconds = max(float(retry_after), 0.0)
        text = f"{text.rstrip(' .')}. Please try again in {seconds:g}s."
    return {"code": code, "message": text}
