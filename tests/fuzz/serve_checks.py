"""What every answer of `protoshift serve` must be, whatever was sent: never a 5xx of its own; a refusal in its
surface's error shape, naming the field at fault, the provider never asked; a 200 valid for the official SDK's
types; nothing in the log that is a traceback or an internal error; and the gateway still answering a good
request after it."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.fuzz.serve_harness import SURFACE_OF, Answer, InProcessGateway, SocketGateway
from tests.fuzz.tally import TALLY
from tests.oracles import validate_anthropic_event, validate_anthropic_message, validate_chunk, validate_completion
from tests.responses_oracles import assert_response_stream, validate_response

# A refusal of a body that is a JSON object names the field at fault: as `param`, or first in its message
# ("messages[0].content: expected ...").
_NAMES_A_FIELD = re.compile(r'^(?:[^\s:"]|"(?:[^"\\]|\\.)*")+: ')  # a key that is not a plain name: quoted
# Refusals that are about the request as a whole, not a field of it.
_WHOLE = ("the body", "request body is over", "invalid HTTP")


def error_of(surface: str, answer: Answer) -> dict[str, Any]:
    """The error object of a refusal, its shape checked for the surface's API."""
    body = json.loads(answer.body)
    assert answer.header(b"content-type") == b"application/json", answer.headers
    if surface == "anthropic":
        assert body.get("type") == "error" and isinstance(body.get("error"), dict), body
        error = body["error"]
        assert isinstance(error.get("type"), str) and error["type"], body
    else:
        error = body.get("error")
        assert isinstance(error, dict) and set(error) == {"message", "type", "param", "code"}, body
        assert (isinstance(error["type"], str) and error["param"] is None) or isinstance(error["param"], str), body
        assert error["code"] is None or isinstance(error["code"], str), body
    message = error.get("message")
    assert isinstance(message, str) and message.strip() and "\n" not in message, body
    assert "Traceback" not in message, body
    return error  # type: ignore[no-any-return]


def check_refusal(surface: str, answer: Answer, *, json_object: bool) -> None:
    error = error_of(surface, answer)
    if answer.status == 400 and json_object and not error["message"].startswith(_WHOLE):
        named = error.get("param") or _NAMES_A_FIELD.match(error["message"])
        assert named, f"a refusal that names no field: {error}"


def sse_payloads(data: bytes) -> list[str]:
    """The `data:` of each event. SSE lines end at CR or LF only (a U+2028 in a JSON string is no line end, as
    str.splitlines would have it)."""
    lines = data.decode().replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [line.removeprefix("data:").removeprefix(" ") for line in lines if line.startswith("data:")]


def check_success(path: str, answer: Answer, *, stream: bool) -> None:
    """A 200 is what the official SDK reads without error."""
    if not stream:
        assert answer.header(b"content-type") == b"application/json", answer.headers
        body = json.loads(answer.body)
        if path == "/v1/chat/completions":
            validate_completion(body)
        elif path == "/v1/messages":
            validate_anthropic_message(body)
        elif path == "/v1/messages/count_tokens":
            assert isinstance(body.get("input_tokens"), int), body
        elif path == "/v1/responses":
            validate_response(body)
        return
    assert (answer.header(b"content-type") or b"").startswith(b"text/event-stream"), answer.headers
    payloads = sse_payloads(answer.body)
    if path == "/v1/chat/completions":
        assert payloads and payloads[-1] == "[DONE]", payloads[-3:]
        for payload in payloads[:-1]:
            validate_chunk(json.loads(payload))
    elif path == "/v1/messages":
        events = [json.loads(p) for p in payloads]
        assert events and events[-1]["type"] == "message_stop", events[-1:]
        for event in events:
            if event["type"] != "ping":  # the SDK's union leaves pings out; its stream reader skips them
                validate_anthropic_event(event)
    else:
        assert_response_stream([json.loads(p) for p in payloads])


def check_log(gateway: InProcessGateway | SocketGateway) -> None:
    for entry in gateway.new_log_lines():
        text = json.dumps(entry)
        assert "Traceback" not in text, entry
        assert not str(entry.get("error", "")).startswith("internal"), entry
        assert int(entry.get("status", 0)) < 500, entry
    records, gateway.errors.records = gateway.errors.records, []  # each seen once: the next check starts clean
    assert not records, records
    assert not gateway.upstream.errors, gateway.upstream.errors


def good_request_answered(gateway: InProcessGateway, path: str, body: bytes) -> None:
    """The gateway answers a good request after whatever came before it."""
    answer = gateway.request("POST", path, body, [(b"content-type", b"application/json")])
    assert answer.status == 200, (answer.status, answer.body[:300])


def check_answer(
    gateway: InProcessGateway | SocketGateway,
    path: str,
    answer: Answer,
    *,
    asked_upstream: int,
    json_object: bool,
    stream: bool,
) -> None:
    """The invariants of one answer to a POST to `path` (`asked_upstream`: requests the provider got for it)."""
    try:
        assert answer.status < 500, (answer.status, answer.body[:500])
        if answer.status >= 400:
            check_refusal(SURFACE_OF[path], answer, json_object=json_object)
            assert asked_upstream == 0, f"a refused request reached the provider: {answer.status} {answer.body[:200]!r}"
        else:
            assert answer.status == 200, answer.status
            assert asked_upstream == 1, asked_upstream
            check_success(path, answer, stream=stream)
        check_log(gateway)
    except AssertionError:
        TALLY.tracebacks += answer.status >= 500
        raise
