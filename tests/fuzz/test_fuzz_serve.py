"""`protoshift serve` under hostile requests: every POST surface (JSON and streamed) and the stored-response
routes, in-process for volume (tests/fuzz/serve_harness.py), then a sample through a real uvicorn socket. Each
answer keeps serve_checks' invariants; the gateway answers a good request after every hostile one."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from pydantic_core import from_json

from tests.fuzz.profiles import PROFILE, SERVE
from tests.fuzz.serve_checks import check_answer, check_log, error_of, good_request_answered
from tests.fuzz.serve_harness import (
    FUZZ_BODY_LIMIT,
    InProcessGateway,
    SocketGateway,
    in_process_gateway,
    raw_request,
    socket_gateway,
)
from tests.fuzz.serve_strategies import GOOD, post, stored_request
from tests.fuzz.strategies import json_text
from tests.fuzz.tally import TALLY

# The long profile's 10,000 requests per test take minutes: past the suite's 120 s per test, bounded still.
pytestmark = pytest.mark.timeout(1800 if PROFILE == "long" else 120)
GOOD_CHAT = json.dumps(GOOD["/v1/chat/completions"]).encode()
GOOD_RESPONSE = json.dumps({**GOOD["/v1/responses"], "store": True}).encode()


ANSWERED: Counter[tuple[str, int]] = Counter()  # (route, status) of every hostile request: printed with -s


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessGateway]:
    with in_process_gateway(tmp_path_factory.mktemp("serve-fuzz")) as gateway:
        yield gateway
    print(
        "\nserve fuzz answers:", ", ".join(f"{route} {status}: {n}" for (route, status), n in sorted(ANSWERED.items()))
    )


@pytest.fixture(scope="module")
def stored_ids(served: InProcessGateway) -> list[str]:
    """Ids of responses the gateway keeps (a known id, then a hostile query)."""
    ids = []
    for _ in range(3):
        answer = served.request("POST", "/v1/responses", GOOD_RESPONSE)
        assert answer.status == 200, answer.body
        ids.append(json.loads(answer.body)["id"])
    return ids


def _is_object(body: bytes) -> bool:
    try:
        return isinstance(from_json(body, allow_inf_nan=False), dict)
    except ValueError:
        return False


def _streams(body: bytes) -> bool:
    try:
        parsed = from_json(body, allow_inf_nan=False)
    except ValueError:
        return False
    return isinstance(parsed, dict) and parsed.get("stream") is True


def send_hostile(served: InProcessGateway, path: str, body: bytes, headers: Any, length: bool) -> None:
    TALLY.tried["serve"] += 1
    before = len(served.upstream.requests)
    answer = served.request("POST", path, body, headers, content_length=length)
    asked = len(served.upstream.requests) - before
    ANSWERED[(path + (" stream" if _streams(body) else ""), answer.status)] += 1
    check_answer(served, path, answer, asked_upstream=asked, json_object=_is_object(body), stream=_streams(body))
    good_request_answered(served, "/v1/chat/completions", GOOD_CHAT)


@SERVE
@given(post())
def test_hostile_posts_get_a_clear_refusal_or_a_valid_answer(
    served: InProcessGateway, case: tuple[str, bytes, Any, bool]
) -> None:
    send_hostile(served, *case)


@SERVE
@given(stored_request([]))
def test_hostile_ids_and_queries_of_stored_responses(served: InProcessGateway, case: tuple[str, str]) -> None:
    _stored(served, *case)


@settings(SERVE, max_examples=max(20, SERVE.max_examples // 3))
@given(case=stored_request(["resp_placeholder"]))
def test_known_stored_responses_under_hostile_queries(
    served: InProcessGateway, stored_ids: list[str], case: tuple[str, str]
) -> None:
    method, target = case
    _stored(served, method, target.replace("resp_placeholder", stored_ids[hash(target) % len(stored_ids)]))


def _stored(served: InProcessGateway, method: str, target: str) -> None:
    TALLY.tried["serve"] += 1
    before = len(served.upstream.requests)
    answer = served.request(method, target, headers=[])
    ANSWERED[(f"{method} stored" + (" input_items" if "/input_items" in target else ""), answer.status)] += 1
    assert answer.status < 500, (method, target, answer.status, answer.body[:300])
    if answer.status >= 400:
        error_of("openai", answer)
    else:
        assert answer.status == 200, answer.status
        body = json.loads(answer.body)
        if method == "DELETE":
            assert body["deleted"] is True
        elif target.split("?", maxsplit=1)[0].endswith("/input_items"):
            from openai.types.responses import ResponseItemList

            ResponseItemList.model_validate(body)
        else:
            from tests.responses_oracles import validate_response

            validate_response(body)
    assert len(served.upstream.requests) == before, "a stored response is never asked of the provider"
    check_log(served)
    good_request_answered(served, "/v1/chat/completions", GOOD_CHAT)


# -- the edges named one by one: each a request a careless or hostile client sends -------------------------


@pytest.mark.parametrize("path", list(GOOD))
def test_over_the_body_limit_is_a_413_in_the_surfaces_shape(served: InProcessGateway, path: str) -> None:
    body = json_text({**GOOD[path], "x": "a" * FUZZ_BODY_LIMIT}).encode()
    for length in (True, False):  # said up front, or found while reading a chunked body
        before = len(served.upstream.requests)
        answer = served.request("POST", path, body, content_length=length)
        assert answer.status == 413
        assert str(FUZZ_BODY_LIMIT) in error_of("anthropic" if "messages" in path else "openai", answer)["message"]
        assert len(served.upstream.requests) == before
    check_log(served)


# -- a sample through a real socket: uvicorn and the guarded protocol in front, as `protoshift serve` runs ----


@pytest.fixture(scope="module")
def on_socket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SocketGateway]:
    with socket_gateway(tmp_path_factory.mktemp("serve-fuzz-socket")) as gateway:
        yield gateway


def _still_answers(gateway: SocketGateway) -> None:
    good = raw_request("POST", b"/v1/chat/completions", GOOD_CHAT, [(b"content-type", b"application/json")], True)
    answer = gateway.exchange(good)
    assert answer.status == 200, (answer.status, answer.body[:300])


@settings(SERVE, max_examples=max(15, SERVE.max_examples // 10))
@given(case=post())
def test_hostile_posts_through_a_real_socket(on_socket: SocketGateway, case: tuple[str, bytes, Any, bool]) -> None:
    TALLY.tried["serve"] += 1
    path, body, headers, length = case
    before = len(on_socket.upstream.requests)
    answer = on_socket.exchange(raw_request("POST", path.encode(), body, headers, length))
    asked = len(on_socket.upstream.requests) - before
    check_answer(on_socket, path, answer, asked_upstream=asked, json_object=_is_object(body), stream=_streams(body))
    _still_answers(on_socket)


# Targets and heads no HTTP client library would send: raw bytes, control characters, huge numbers.
RAW_TARGETS = [
    b"/v1/responses/resp_1/input_items?limit=\xb2", b"/v1/responses/\xff\xfe", b"/v1/responses/%ED%A0%80",
    b"/v1/responses/%00/input_items?order=%00", b"/v1/responses/" + b"a" * 6000, b"/v1/responses/..%2F..%2Fetc",
    b"/v1/responses/x?limit=" + b"9" * 5000, b"/v1/models/%0A", b"/v1/%0Aresponses", b"//v1//responses",
]  # fmt: skip
RAW_HEADS = [
    [(b"content-length", b"9" * 5000)], [(b"content-length", b"+5")], [(b"content-length", b"\xb2")],
    [(b"content-type", b"application/json"), (b"x-stainless-retry-count", b"\xff")],
    [(b"content-type", b"application/json"), (b"anthropic-beta", b"\xff,,, ,")],
    [(b"content-type", b"application/json"), (b"authorization", b"Bearer \xff")],
]  # fmt: skip


@pytest.mark.parametrize("target", RAW_TARGETS, ids=range(len(RAW_TARGETS)))
def test_raw_targets_through_a_real_socket(on_socket: SocketGateway, target: bytes) -> None:
    for method in ("GET", "DELETE"):
        answer = on_socket.exchange(raw_request(method, target, b"", [], True))
        assert answer.status < 500, (method, target[:80], answer.status, answer.body[:300])
        if answer.status >= 400:
            error = json.loads(answer.body)["error"]
            assert isinstance(error["message"], str) and "\n" not in error["message"], error
    check_log(on_socket)
    _still_answers(on_socket)


@pytest.mark.parametrize("heads", RAW_HEADS, ids=range(len(RAW_HEADS)))
def test_raw_heads_through_a_real_socket(on_socket: SocketGateway, heads: list[tuple[bytes, bytes]]) -> None:
    before = len(on_socket.upstream.requests)
    raw = raw_request("POST", b"/v1/messages", json.dumps(GOOD["/v1/messages"]).encode(), [], False)
    raw = raw.replace(b"transfer-encoding: chunked", b"\r\n".join(k + b": " + v for k, v in heads))
    answer = on_socket.exchange(raw)
    assert answer.status < 500, (heads, answer.status, answer.body[:300])
    if answer.status >= 400:
        assert len(on_socket.upstream.requests) == before
    check_log(on_socket)
    _still_answers(on_socket)
