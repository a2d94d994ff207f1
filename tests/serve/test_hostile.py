"""`serve` as an attacker meets it (issue 19): each test reproduces one attack against a real gateway
on 127.0.0.1 — an empty key, DNS rebinding, a cross-site request, a client input that must never
reach the provider — bounded in count and time."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.fakes import Reply, anthropic_message_reply

from .conftest import GatewayFactory, Running

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
COUNT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def post(running: Running, path: str, body: Any, **headers: str) -> httpx.Response:
    data = json.dumps(body).encode()
    return httpx.post(running.url + path, content=data, headers={"content-type": "application/json", **headers})


# -- 1. an empty key ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["--api-key", ""], {}, "--api-key is empty"),
        (["--api-key", "   "], {}, "--api-key is empty"),
        (["--host", "0.0.0.0", "--api-key", ""], {}, "--api-key is empty"),
        ([], {"PROTOSHIFT_SERVER_KEYS": ""}, "PROTOSHIFT_SERVER_KEYS is set but empty"),
        (["--host", "0.0.0.0"], {"PROTOSHIFT_SERVER_KEYS": "k1,,k2"}, "has an empty key (number 2)"),
        (["--host", "0.0.0.0"], {}, "opens the server to other machines"),
    ],
    ids=["empty-flag", "blank-flag", "empty-flag-all-interfaces", "empty-env", "empty-in-env", "no-key-off-loopback"],
)
def test_an_empty_key_never_means_no_auth(run_cli: Any, args: list[str], env: dict[str, str], says: str) -> None:
    done = run_cli("serve", "--port", "0", *args, env={"ANTHROPIC_API_KEY": "sk-ant-x", **env})
    assert done.returncode == 2, done.stderr.decode()
    lines = done.stderr.decode().strip().splitlines()
    assert says in lines[0] and "Traceback" not in done.stderr.decode(), lines
    assert b"serving" not in done.stderr, "it never started"


def test_a_library_user_cannot_build_a_gateway_with_a_blank_key() -> None:
    from protoshift.cloud import create_backend
    from protoshift.gateway import GatewayConfig, build_app

    with pytest.raises(ValueError, match="empty or blank"):
        build_app(GatewayConfig(backend="mock", build_backend=lambda n, e: create_backend(n), keys=["ok", " "]))


# -- 4. DNS rebinding ----------------------------------------------------------------------------------


def test_a_loopback_server_without_keys_answers_loopback_names_only(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(lambda r: anthropic_message_reply("ok"))
    running = gateway.start(server)
    port = running.url.rsplit(":", 1)[1]
    rebound = post(running, "/v1/chat/completions", CHAT, host=f"evil.example:{port}")
    assert rebound.status_code == 403
    assert rebound.json()["error"]["code"] == "host_not_allowed"
    anthropic_shaped = post(running, "/v1/messages", {**CHAT, "max_tokens": 5}, host="evil.example")
    assert anthropic_shaped.status_code == 403 and anthropic_shaped.json()["type"] == "error"
    assert httpx.get(running.url + "/v1/models", headers={"host": "evil.example"}).status_code == 403
    assert server.requests == [], "nothing reached the provider"
    for name in (f"localhost:{port}", f"127.0.0.1:{port}", f"127.8.9.10:{port}", f"[::1]:{port}", "LOCALHOST."):
        assert post(running, "/v1/chat/completions", CHAT, host=name).status_code == 200, name


def test_allow_host_adds_a_name(gateway: GatewayFactory, upstream: Any) -> None:
    running = gateway.start(upstream(lambda r: anthropic_message_reply("ok")), allow_hosts=["gw.internal"])
    assert post(running, "/v1/chat/completions", CHAT, host="gw.internal:8080").status_code == 200
    assert post(running, "/v1/chat/completions", CHAT, host="other.internal").status_code == 403


def test_a_server_with_keys_answers_any_host(gateway: GatewayFactory, upstream: Any) -> None:
    running = gateway.start(upstream(lambda r: anthropic_message_reply("ok")), keys=["k-1"])
    answer = post(running, "/v1/chat/completions", CHAT, host="gw.example.com", authorization="Bearer k-1")
    assert answer.status_code == 200, "behind a proxy with its own name: the key is the guard"


# -- 5. cross-site requests ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [("/v1/chat/completions", CHAT), ("/v1/messages", {**CHAT, "max_tokens": 5}), ("/v1/messages/count_tokens", COUNT)],
)
def test_a_web_page_cannot_spend_the_key(gateway: GatewayFactory, upstream: Any, path: str, body: Any) -> None:
    server = upstream(
        lambda r: (
            Reply(body=b'{"input_tokens": 1}') if r.path.endswith("count_tokens") else anthropic_message_reply("ok")
        )
    )
    running = gateway.start(server)
    data = json.dumps(body).encode()
    # what a page can send without a preflight: text/plain, a form, or a Blob with no type, from its origin
    for headers in (
        {"content-type": "text/plain;charset=UTF-8", "origin": "https://attacker.example"},
        {"content-type": "application/json", "origin": "https://attacker.example"},
        {"content-type": "text/plain;charset=UTF-8"},
        {"content-type": "application/x-www-form-urlencoded"},
        {},
    ):
        answer = httpx.post(running.url + path, content=data, headers=headers)
        assert answer.status_code in (403, 415), (headers, answer.status_code)
        assert "access-control-allow-origin" not in answer.headers
    assert server.requests == [], "nothing reached the provider"


def test_an_allowed_origin_gets_cors_and_a_preflight(gateway: GatewayFactory, upstream: Any) -> None:
    running = gateway.start(upstream(lambda r: anthropic_message_reply("ok")), cors_origins=["https://app.example"])
    preflight = httpx.options(
        running.url + "/v1/chat/completions",
        headers={
            "origin": "https://app.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert preflight.headers["access-control-allow-methods"] == "POST"
    assert preflight.headers["access-control-allow-headers"] == "authorization, content-type"
    answer = post(running, "/v1/chat/completions", CHAT, origin="https://app.example")
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "https://app.example"
    assert "x-request-id" in answer.headers["access-control-expose-headers"]
    refused = httpx.options(
        running.url + "/v1/chat/completions",
        headers={"origin": "https://other.example", "access-control-request-method": "POST"},
    )
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers


# -- 9, 10. what the client sends is checked as translate checks it; its mistakes are not the provider's


def test_the_pass_through_checks_what_it_forwards(gateway: GatewayFactory, upstream: Any) -> None:
    server = upstream(lambda r: Reply(status=500, body=b'{"type":"error","error":{"type":"api_error","message":"x"}}'))
    running = gateway.start(server)
    headers = {"anthropic-version": "2023-06-01"}
    for bad in ({"model": {"$gt": ""}}, {"model": ["a"]}, {"stream": "yes"}, {"max_tokens": 5, "messages": "\ud800"}):
        answer = post(running, "/v1/messages", {**CHAT, "max_tokens": 5, **bad}, **headers)
        assert answer.status_code == 400, (bad, answer.text)
    assert server.requests == [], "the client's mistakes never reach the provider (nor its breaker)"


# -- 12. a key in a config file others can read ---------------------------------------------------


def test_serve_refuses_a_key_in_a_config_file_others_can_read(run_cli: Any, tmp_path: Any) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[anthropic]\napi_key = "sk-ant-readable-by-all"\n')
    config.chmod(0o644)
    done = run_cli("serve", "--port", "0", env={"ANTHROPIC_API_KEY": "", "PROTOSHIFT_CONFIG": str(config)})
    assert done.returncode == 2
    err = done.stderr.decode()
    assert "holds a key (api_key under [anthropic]) and can be read by everyone" in err
    assert f"chmod 600 {config}" in err and "sk-ant-readable-by-all" not in err and b"serving" not in done.stderr


# -- 11. what the provider says of when to come back is passed on as it said it ----------------------


@pytest.mark.parametrize(("said", "passed"), [("0", "0"), ("2.5", "3"), (None, None)])
def test_the_providers_retry_after_is_passed_on_zero_included(
    gateway: GatewayFactory, upstream: Any, said: str | None, passed: str | None
) -> None:
    headers = {"retry-after": said} if said is not None else {}
    error = {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}
    server = upstream(lambda r: Reply(status=429, body=json.dumps(error).encode(), headers=headers))
    running = gateway.start(server)
    for path, body in (("/v1/chat/completions", CHAT), ("/v1/messages", {**CHAT, "max_tokens": 5})):
        answer = post(running, path, body, **{"anthropic-version": "2023-06-01"})
        assert answer.status_code == 429
        assert answer.headers.get("retry-after") == passed, (path, answer.headers)


# -- 2, 3, 11. what arrives before a request is whole: the guard in front of a real `protoshift serve` --


@pytest.mark.process
def test_serve_bounds_heads_while_they_arrive_and_answers_parser_errors_in_json(
    cli_env: dict[str, str], upstream: Any
) -> None:
    import socket

    from .conftest import ServeProcess, serve_env

    serve = ServeProcess(["--max-retries", "0"], serve_env(cli_env, upstream(lambda r: anthropic_message_reply("ok"))))
    port = int(serve.url.rsplit(":", 1)[1])
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as flood:
            flood.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
            answer = b""
            with pytest.raises(OSError):  # refused and closed before the flood is through
                for _ in range(2_000):  # 2,000 x 64 KB = 128 MB, were it all read
                    flood.sendall(b"x-flood: " + b"y" * 65_000 + b"\r\n")
                    answer += flood.recv(4096, socket.MSG_DONTWAIT) if _readable(flood) else b""
            answer += _rest(flood)
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:60]
        with socket.create_connection(("127.0.0.1", port), timeout=20) as bad:
            bad.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: localhost\r\nContent-Length: -1\r\n\r\n")
            refused = _rest(bad)
        head, _, body = refused.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400 ") and b"application/json" in head.lower()
        assert json.loads(body)["error"]["type"] == "invalid_request_error"
        assert httpx.get(serve.url + "/healthz", timeout=10).status_code == 200
    finally:
        code, err = serve.stop()
    assert code == 0 and "Traceback" not in err, err


def _readable(sock: Any) -> bool:
    import select

    return bool(select.select([sock], [], [], 0)[0])


def _rest(sock: Any) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except OSError:
        pass  # a reset after the answer: the refusal closed with unread data
    return data
