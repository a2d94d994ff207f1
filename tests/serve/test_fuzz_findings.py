"""What fuzzing `serve` found (tests/fuzz/test_fuzz_serve.py), each case pinned against a real gateway on a
127.0.0.1 socket: the request as the fuzzer sent it, the answer a user now gets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.fakes import anthropic_message_reply
from tests.fuzz.serve_harness import FUZZ_BODY_LIMIT, Answer, exchange_raw, in_process_gateway, raw_request

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


def test_an_id_or_a_path_with_a_newline_is_quoted_on_one_line(gateway: GatewayFactory, upstream: Any) -> None:
    running = gateway.start(upstream(lambda r: anthropic_message_reply("ok")))
    answer = send(running, "GET", b"/v1/responses/a%0Ab")
    assert answer.status == 404 and error_message(answer) == "Response with id 'a\\nb' not found."
    answer = send(running, "GET", b"/v1/%0Anowhere")
    assert answer.status == 404 and error_message(answer) == "no route GET /v1/\\nnowhere"
    chat = {"model": "m", "input": "hi", "previous_response_id": "a\nb"}
    answer = send(running, "POST", b"/v1/responses", chat)
    assert answer.status == 404 and error_message(answer) == "Previous response with id 'a\\nb' not found."


def test_an_unknown_key_with_a_control_character_is_named_in_a_valid_header(
    gateway: GatewayFactory, upstream: Any
) -> None:
    """The dropped key went into `x-protoshift-dropped` as sent: uvicorn refused the header, and the client got a
    500 for a request the provider had answered (and been paid for)."""
    server = upstream(lambda r: anthropic_message_reply("ok"))
    running = gateway.start(server)
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "a\x0cb\x7f\u00e9": 1}
    answer = send(running, "POST", b"/v1/chat/completions", body)
    assert answer.status == 200, answer.body
    assert answer.header(b"x-protoshift-dropped") == b"a?b??"
    assert json.loads(answer.body)["choices"][0]["message"]["content"] == "ok"
    [entry] = running.wait_logged(1)
    assert entry["status"] == 200 and "error" not in entry, entry


# Bytes httptools refuses itself (`serve` answers them 400 "invalid HTTP/1.1 request"), but the gateway is also a
# library app (`build_app`) that other ASGI servers may hand them to: asked of the app directly.


def test_input_items_with_a_limit_of_unicode_digits_is_a_400_not_a_500(tmp_path: Path) -> None:
    """`limit=²` (the byte 0xB2: a digit to str.isdigit, not to int()) was a 500 and a ValueError in the log."""
    with in_process_gateway(tmp_path) as app:
        for query in ("limit=\xb2", "limit=\u0661", "limit=" + "9" * 5000):
            answer = app.request("GET", "/v1/responses/resp_x/input_items?" + query, headers=[])
            assert answer.status == 400, (query[:20], answer.status, answer.body)
            assert error_message(answer) == "order: asc or desc; limit: 1 to 100"
            assert json.loads(answer.body)["error"]["param"] == "limit"
        assert [e["status"] for e in app.new_log_lines() if "route" in e] == [400, 400, 400]


def test_a_content_length_of_thousands_of_digits_is_a_413_not_a_500(tmp_path: Path) -> None:
    """int() refuses more than 4,300 digits: the declared length was a ValueError and a 500."""
    with in_process_gateway(tmp_path) as app:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"9" * 5000)]
        answer = app.request("POST", "/v1/messages", b"{}", headers, content_length=False)
        assert answer.status == 413, answer.body
        assert json.loads(answer.body)["error"]["message"] == f"request body is over {FUZZ_BODY_LIMIT} bytes"
        assert app.upstream.requests == []
