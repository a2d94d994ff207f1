"""cloud.transport: the transport every backend gets, against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from contextlib import aclosing
from pathlib import Path

import httpx
import pytest

from protoshift.cloud import APIConnectionError, APITimeoutError, create_backend
from protoshift.cloud.pool import ShardedTransport
from protoshift.cloud.transport import TRANSPORT_ENV, AiohttpTransport, default_transport, environment_proxy
from tests.cloud.cloud_helpers import chat
from tests.fakes import FakeServer, Received, Reply, anthropic_message_reply, anthropic_stream_reply
from tests.fault_servers import Connection, FaultServer

REQUEST = {"model": "claude-test", "messages": [{"role": "user", "content": "Hi"}]}
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.delenv(TRANSPORT_ENV, raising=False)


def _backend(url: str, tmp_path: Path, **options: object):  # type: ignore[no-untyped-def]
    return create_backend("anthropic", api_key="sk-ant-test", base_url=url, breaker_dir=tmp_path, **options)


# -- which transport --------------------------------------------------------------------------------


def test_backends_get_the_aiohttp_transport_sized_as_asked(tmp_path: Path) -> None:
    backend = _backend("http://127.0.0.1:9", tmp_path, connections=64)
    assert isinstance(backend._transport, AiohttpTransport)
    assert backend._transport._connections == 64
    assert isinstance(default_transport("https://api.anthropic.com"), AiohttpTransport)


def test_the_environment_names_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("HTTP_PROXY", "proxy.example:8080")
    monkeypatch.setenv("NO_PROXY", "localhost,.internal.example")
    assert environment_proxy("https://api.anthropic.com") == "http://proxy.example:3128"
    assert environment_proxy("http://llm.lan:8000/v1") == "http://proxy.example:8080"
    assert environment_proxy("http://localhost:11434/v1") is None
    assert environment_proxy("https://models.internal.example") is None


def test_a_socks_proxy_or_the_escape_hatch_takes_httpx_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(default_transport("http://127.0.0.1:9", connections=32), AiohttpTransport)
    monkeypatch.setenv(TRANSPORT_ENV, "httpx")
    transport = default_transport("http://127.0.0.1:9", connections=32)
    assert isinstance(transport, ShardedTransport) and transport.pools == 8
    monkeypatch.delenv(TRANSPORT_ENV)
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:1080")
    pytest.importorskip("socksio")
    assert isinstance(default_transport("https://api.anthropic.com"), ShardedTransport)


# -- over real sockets ------------------------------------------------------------------------------


def test_a_call_goes_through_an_http_proxy_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The fake server plays the proxy: a request for http://... reaches it in absolute form."""
    with FakeServer(lambda r: anthropic_message_reply("via proxy")) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)

        async def call() -> str:
            async with _backend("http://127.0.0.1:9", tmp_path, breaker=False) as backend:
                completion = await chat(backend).create(REQUEST)
            return str(completion["choices"][0]["message"]["content"])

        assert asyncio.run(call()) == "via proxy"
    assert proxy.requests[0].path == "http://127.0.0.1:9/v1/messages"
    assert "proxy-authorization" not in proxy.requests[0].headers


def test_proxy_credentials_in_the_url_are_sent_to_the_proxy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with FakeServer(lambda r: anthropic_message_reply("via proxy")) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url.replace("http://", "http://alice:s3cret@"))

        async def call() -> None:
            async with _backend("http://127.0.0.1:9", tmp_path, breaker=False) as backend:
                await chat(backend).create(REQUEST)

        asyncio.run(call())
    received = proxy.requests[0]
    assert received.path == "http://127.0.0.1:9/v1/messages"
    assert received.headers["proxy-authorization"] == "Basic YWxpY2U6czNjcmV0"  # alice:s3cret


BOTH = pytest.mark.parametrize("transport", ["aiohttp", "httpx"])  # the default, and the escape hatch


@BOTH
def test_stream_chunks_come_as_the_events_arrive(
    transport: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TRANSPORT_ENV, transport)
    reply = anthropic_stream_reply(texts=["first", " second", " third"], event_delay=0.15)
    with FakeServer(lambda r: reply) as server:

        async def stream() -> list[tuple[float, str]]:
            seen: list[tuple[float, str]] = []
            async with _backend(server.url, tmp_path) as backend:
                started = time.monotonic()
                async with aclosing(chat(backend).stream({**REQUEST, "stream": True})) as chunks:
                    async for chunk in chunks:
                        for choice in chunk["choices"]:
                            if text := choice["delta"].get("content"):
                                seen.append((time.monotonic() - started, text))
            return seen

        seen = asyncio.run(stream())
    assert [text for _, text in seen] == ["first", " second", " third"]
    # each text came with its own event, a pause (0.15 s) apart: none held back for the next (a busy
    # machine can only make the gaps longer)
    assert seen[1][0] - seen[0][0] > 0.1 and seen[2][0] - seen[1][0] > 0.1


@BOTH
def test_a_cut_stream_and_a_refused_connection_are_connection_errors(
    transport: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TRANSPORT_ENV, transport)
    with FakeServer(lambda r: anthropic_stream_reply(cut_after=4)) as server:

        async def cut() -> None:
            async with _backend(server.url, tmp_path, max_retries=0) as backend:
                async for _ in chat(backend).stream({**REQUEST, "stream": True}):
                    pass

        with pytest.raises(Exception, match="connection error") as info:
            asyncio.run(cut())
    assert "interrupted" in str(info.value) or isinstance(info.value, APIConnectionError)
    # in plain words, not a transport's internals that read like an HTTP status ("TransferEncodingError: 400")
    assert "400" not in str(info.value) and "TransferEncodingError" not in str(info.value), str(info.value)

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]

    async def refused() -> None:
        async with _backend(f"http://127.0.0.1:{port}", tmp_path, max_retries=0) as backend:
            await chat(backend).create(REQUEST)

    # where and why, in words: not aiohttp's `Cannot connect to host ... ssl:default [Connect call failed ...]`
    with pytest.raises(APIConnectionError) as refusal:
        asyncio.run(refused())
    assert str(refusal.value) == f"anthropic: cannot connect to 127.0.0.1:{port} (connection refused)"


def _chunked_then_cut(connection: Connection) -> None:
    """A chunked stream whose last chunk never comes whole: the framing, not the events, is cut."""
    from tests.fault_servers import MESSAGE_START

    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    connection.send(head + f"{len(MESSAGE_START):x}\r\n".encode() + MESSAGE_START + b"\r\n" + b"400\r\nevent: ping")


def test_a_body_cut_inside_its_framing_is_said_in_plain_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TRANSPORT_ENV, "aiohttp")
    with FaultServer(_chunked_then_cut) as server:

        async def cut() -> None:
            async with _backend(server.url, tmp_path, max_retries=0) as backend:
                async for _ in chat(backend).stream({**REQUEST, "stream": True}):
                    pass

        with pytest.raises(Exception, match="connection") as info:
            asyncio.run(cut())
    said = str(info.value)
    assert "closed the connection before its answer was complete" in said, said
    assert "400" not in said and "TransferEncodingError" not in said, said


@BOTH
def test_a_silent_server_is_a_read_timeout(transport: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TRANSPORT_ENV, transport)

    def slow(received: Received) -> Reply:
        reply = anthropic_message_reply("late")
        reply.delay = 1.0
        return reply

    with FakeServer(slow) as server:

        async def call() -> None:
            async with _backend(server.url, tmp_path, timeout=0.2, max_retries=0) as backend:
                await chat(backend).create(REQUEST)

        # the total deadline above the transport (cloud/deadline.py) cuts it first, whichever transport
        with pytest.raises(APITimeoutError, match=r"timed out"):
            asyncio.run(call())


@pytest.fixture
def endless_server() -> Iterator[tuple[int, list[float]]]:
    """Sends SSE events forever, 10 ms apart; notes when each client went away."""
    closed: list[float] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        eof = asyncio.ensure_future(reader.read(1))
        try:
            while not eof.done():
                data = b'event: ping\ndata: {"type":"ping"}\n\n'
                writer.write(b"%x\r\n%s\r\n" % (len(data), data))
                await writer.drain()
                await asyncio.wait({eof}, timeout=0.01)
        except ConnectionError:
            pass
        closed.append(time.monotonic())
        writer.close()

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", 0))
    import threading

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield server.sockets[0].getsockname()[1], closed
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def test_leaving_a_stream_early_closes_its_connection_at_once(endless_server: tuple[int, list[float]]) -> None:
    port, closed = endless_server

    async def leave() -> float:
        transport = default_transport(f"http://127.0.0.1:{port}")
        async with httpx.AsyncClient(transport=transport) as client:
            async with client.stream("POST", f"http://127.0.0.1:{port}/v1/messages", content=b"{}") as response:
                async for _ in response.aiter_bytes():
                    break
            left = time.monotonic()
            for _ in range(200):  # the client stays open: only the stream was left
                if closed:
                    break
                await asyncio.sleep(0.01)
        return left

    left = asyncio.run(leave())
    assert closed, "the server never saw the connection close"
    assert closed[0] - left < 1.0  # not kept in the pool, not drained


# -- the -v trace, made only when read -------------------------------------------------------------


def test_trace_messages_are_made_only_when_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from protoshift.cloud import CloudEvent
    from protoshift.cloud import client as client_module

    made: list[str] = []
    redact = client_module.redact_headers

    def counting_redact(headers: dict[str, str]) -> dict[str, str]:
        made.append("request")
        return redact(headers)

    monkeypatch.setattr(client_module, "redact_headers", counting_redact)
    events: list[CloudEvent] = []
    with FakeServer(lambda r: anthropic_message_reply("hi")) as server:

        async def call() -> None:
            async with _backend(server.url, tmp_path, on_event=events.append) as backend:
                await chat(backend).create(REQUEST)

        asyncio.run(call())
    assert [e.kind for e in events] == ["request", "response"]
    assert made == []  # nobody read them yet
    request, response = events
    assert "POST" in request.message and "x-api-key: ***" in request.message and "sk-ant-test" not in request.message
    assert made == ["request"]
    assert response.message.startswith("anthropic: 200 OK (request ") and str(response) == response.message
    assert request == CloudEvent("request", request.message, "anthropic")


def test_aiohttp_is_imported_by_the_first_call_not_before() -> None:
    import subprocess
    import sys

    code = """if True:
        import asyncio, sys
        from protoshift.cli.main import app
        from protoshift.cloud import BackendError, create_client
        seen = ["aiohttp" in sys.modules]
        client = create_client("anthropic", api_key="x", base_url="http://127.0.0.1:9", breaker=False, max_retries=0)
        seen.append("aiohttp" in sys.modules)
        async def call():
            try:
                await client.create({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
            except BackendError:
                pass
            finally:
                await client.aclose()
        asyncio.run(call())
        print(*seen, "aiohttp" in sys.modules)
    """
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False", "True"]


def test_the_direct_lane_sends_what_an_httpx_request_would(tmp_path: Path) -> None:
    """A backend on its own transport hands it the request's parts (`AiohttpTransport.send`); one
    given a transport sends it `httpx.Request`s. On the wire the two are the same request."""
    received: dict[str, Received] = {}

    async def call(lane: str, url: str) -> None:
        given = {} if lane == "direct" else {"transport": AiohttpTransport(tls=False)}
        async with _backend(url, tmp_path, breaker=False, **given) as backend:
            assert (backend._direct is not None) == (lane == "direct")
            await chat(backend).create(REQUEST)

    for lane in ("direct", "httpx.Request"):
        with FakeServer(lambda r: anthropic_message_reply("hi")) as server:
            asyncio.run(call(lane, server.url))
        received[lane] = server.requests[0]

    def wire(request: Received) -> tuple[str, str, dict[str, str], bytes]:
        headers = {k.lower(): v for k, v in request.headers.items() if k.lower() not in ("idempotency-key", "host")}
        return request.method, request.path, headers, request.body

    direct, via_object = received["direct"], received["httpx.Request"]
    assert wire(direct) == wire(via_object)
    assert direct.headers["idempotency-key"].startswith("protoshift-")
    assert direct.headers["host"].startswith("127.0.0.1:")
