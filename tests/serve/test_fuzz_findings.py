"""What fuzzing `serve` found (tests/fuzz/test_fuzz_serve.py), each case pinned against a real gateway on a
127.0.0.1 socket: the request as the fuzzer sent it, the answer a user now gets."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes import anthropic_message_reply
from tests.fuzz.serve_harness import Answer, exchange_raw, raw_request

from .conftest import GatewayFactory, Running

JSON = [(b"content-type", b"application/json")]


def send(running: Running, method: str, target: bytes, body: Any = None, headers: Any = None) -> Answer:
    data = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    port = int(running.url.rsplit(":", 1)[1])
    return exchange_raw(port, raw_request(method, target, data, JSON if headers is None else headers, True))


def error_message(answer: Answer) -> str:
    message = json.loads(answer.body)["error"]["message"]
    assert isinstance(message, str) and "\n" not in message, message
    return message


def test_a_streamed_request_the_bridge_refuses_is_a_400_logged_as_the_clients_mistake(
    gateway: GatewayFactory, upstream: Any
) -> None:
    """It was a 400 all along, but the log said `internal: TranslationError` (and counted it as a bug)."""
    server = upstream(lambda r: anthropic_message_reply("ok"))
    running = gateway.start(server)
    body = {"model": "m", "messages": 5, "stream": True}
    answer = send(running, "POST", b"/v1/chat/completions", body)
    assert answer.status == 400
    assert error_message(answer) == "messages: expected an array, got a number"
    [entry] = running.wait_logged(1)
    assert entry["status"] == 400 and not entry["error"].startswith("internal"), entry
    assert server.requests == []


def test_a_key_that_is_not_a_plain_name_is_quoted_in_the_path_of_its_error(
    gateway: GatewayFactory, upstream: Any
) -> None:
    """The path was the key as sent: a newline split the message in two, ":" made `:: is an integer...`."""
    running = gateway.start(upstream(lambda r: anthropic_message_reply("ok")))
    chat = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    for key, path in (("\n", '"\\n"'), (":", '":"'), ("", '""'), ("a.b", '"a.b"')):
        data = json.dumps(chat)[:-1] + f", {json.dumps(key)}: 1{'0' * 120}}}"
        answer = send(running, "POST", b"/v1/chat/completions", data.encode())
        assert answer.status == 400
        assert error_message(answer) == f"{path}: is an integer of more than 100 digits"
