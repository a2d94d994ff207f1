"""The one place every `HTTPClient` gets its transport: `default_transport(base_url, connections=...)`.

protoshift speaks httpx's API everywhere (requests, responses, `httpx.MockTransport` for the mock
backend, respx in tests); only the sockets underneath are chosen for speed. Measured side by side in
benchmarks/transports.py (issue 11): under the same `httpx.AsyncClient`, aiohttp's connection pool and
HTTP parser (C) cost about half the CPU per request of httpcore's, whose pool also slows down as
connections grow (encode/httpx#3215: `cloud.pool.ShardedTransport` was the workaround); SSE bytes come
through as they arrive; a stream left early closes its connection at once.

Which path uses which, decided once per backend from its base URL and the environment:

- `AiohttpTransport` (this module): every request, direct or through an `http://` proxy (a CONNECT
  tunnel for https) taken from `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`/`NO_PROXY` as the standard library
  reads them; TLS verified against the same CA bundle as httpx (`httpx.create_ssl_context()`: certifi,
  or `SSL_CERT_FILE`/`SSL_CERT_DIR` when set).
- httpx's own transport (`httpx.AsyncHTTPTransport`, in small pools: `cloud.pool.ShardedTransport`): a
  proxy of another scheme (`socks5://`: aiohttp speaks none), or `PROTOSHIFT_HTTP_TRANSPORT=httpx`
  (an escape hatch: the transport `batch run` had before issue 11).

aiohttp is imported by the first request a backend sends: never by `protoshift --help`, nor by the mock.
"""

from __future__ import annotations

import base64
import os
import ssl
import urllib.request
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    import aiohttp
    import yarl

__all__ = ["DEFAULT_CONNECTIONS", "TRANSPORT_ENV", "AiohttpTransport", "default_transport", "environment_proxy"]

DEFAULT_CONNECTIONS = 100  # httpx's default pool size; `batch run` asks for its concurrency
KEEPALIVE_EXPIRY = 5.0  # seconds an idle connection is kept, as httpx keeps it
TRANSPORT_ENV = "PROTOSHIFT_HTTP_TRANSPORT"


def environment_proxy(base_url: str) -> str | None:
    """The proxy URL the environment names for `base_url` (`HTTPS_PROXY` for https, `HTTP_PROXY` for
    http, `ALL_PROXY` for either; none when `NO_PROXY` covers the host), read as the standard library
    reads it (upper or lower case)."""
    url = httpx.URL(base_url)
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy:
        return None
    host = url.host if url.port is None else f"{url.host}:{url.port}"
    if proxies.get("no") and urllib.request.proxy_bypass(host):  # POSIX: NO_PROXY from the environment
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def default_transport(base_url: str, *, connections: int | None = None) -> httpx.AsyncBaseTransport:
    """The transport for a backend at `base_url` with up to `connections` requests in flight."""
    size = connections or DEFAULT_CONNECTIONS
    proxy = environment_proxy(base_url)
    wants_httpx = os.environ.get(TRANSPORT_ENV, "").strip().lower() == "httpx"
    if wants_httpx or (proxy is not None and not proxy.startswith(("http://", "https://"))):
        return _httpx_transport(size, proxy)
    return AiohttpTransport(connections=size, proxy=proxy, tls=base_url.startswith("https:") or proxy is not None)


def _httpx_transport(size: int, proxy: str | None) -> httpx.AsyncBaseTransport:
    """httpx's own transport, in pools of a few connections (`cloud.pool`: httpcore's one pool slows
    down as it grows)."""
    from protoshift.cloud.pool import ShardedTransport

    ssl_context = httpx.create_ssl_context()  # one for all pools

    def pool(limits: httpx.Limits) -> httpx.AsyncBaseTransport:
        return httpx.AsyncHTTPTransport(limits=limits, verify=ssl_context, proxy=proxy)

    return ShardedTransport(size, make_pool=pool)


# -- aiohttp under httpx ---------------------------------------------------------------------------


def _proxy_and_credentials(proxy: str | None) -> tuple[str | None, dict[str, str] | None]:
    """The proxy URL without its `user:password@`, and those as the `Proxy-Authorization` header
    (httpx sends them so): on the CONNECT of an https request, on the request itself for http."""
    if proxy is None:
        return None, None
    url = httpx.URL(proxy)
    if not url.username:
        return proxy, None
    credentials = base64.b64encode(f"{url.username}:{url.password}".encode()).decode()
    return str(url.copy_with(username=None, password=None)), {"Proxy-Authorization": f"Basic {credentials}"}


@contextmanager
def _mapped_errors() -> Iterator[None]:
    """aiohttp's errors as the httpx errors they stand for (the client above classifies those)."""
    import aiohttp

    try:
        yield
    except httpx.TransportError:
        raise
    except aiohttp.ConnectionTimeoutError as exc:  # sock_connect, or waiting for the pool
        raise httpx.ConnectTimeout(str(exc) or "connect timed out") from exc
    except (TimeoutError, aiohttp.SocketTimeoutError, aiohttp.ServerTimeoutError) as exc:
        raise httpx.ReadTimeout(str(exc) or "read timed out") from exc
    except (aiohttp.ClientProxyConnectionError, aiohttp.ClientHttpProxyError) as exc:
        raise httpx.ProxyError(str(exc)) from exc
    except aiohttp.ClientConnectorError as exc:  # refused, DNS, TLS verification
        raise httpx.ConnectError(_connect_reason(exc)) from exc
    except aiohttp.ClientPayloadError as exc:  # a body cut short (chunked framing, content-length)
        # in plain words: aiohttp's own ("TransferEncodingError: 400, message='Not enough data...'")
        # reads like the provider's 400
        raise httpx.RemoteProtocolError("the provider closed the connection before its answer was complete") from exc
    except aiohttp.ClientResponseError as exc:  # an answer that is not HTTP
        raise httpx.RemoteProtocolError(str(exc)) from exc
    except aiohttp.InvalidURL as exc:
        raise httpx.UnsupportedProtocol(str(exc)) from exc
    except (aiohttp.ClientConnectionError, OSError) as exc:  # disconnected, reset
        raise httpx.ReadError(str(exc) or type(exc).__name__) from exc


def _connect_reason(exc: aiohttp.ClientConnectorError) -> str:
    """`[Errno 111] Connection refused`, as httpx's own transport words it, not aiohttp's `Cannot
    connect to host 127.0.0.1:9 ssl:default [Connect call failed ('127.0.0.1', 9)]`; TLS failures
    keep their words, a DNS failure its own text."""
    error = exc.os_error
    if isinstance(error, ssl.SSLError):
        return str(exc)
    if isinstance(error.errno, int) and error.errno > 0:
        return f"[Errno {error.errno}] {os.strerror(error.errno)}"
    return str(error.strerror or error)


class _Body(httpx.AsyncByteStream):
    """An aiohttp response body, read as each piece arrives (SSE: no buffering)."""

    __slots__ = ("_response",)

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        with _mapped_errors():
            while data := await content.readany():
                yield data

    async def aclose(self) -> None:
        response = self._response
        if response.content.is_eof():
            response.release()  # read to the end: the connection goes back to the pool
        else:
            response.close()  # left early (a consumer stopped, Ctrl-C): the connection is closed now


class AiohttpTransport(httpx.AsyncBaseTransport):
    """httpx requests sent through one `aiohttp.ClientSession` (created on first use, in the loop that
    uses it): up to `connections` connections, kept alive `KEEPALIVE_EXPIRY` seconds."""

    def __init__(self, *, connections: int = DEFAULT_CONNECTIONS, proxy: str | None = None, tls: bool = True) -> None:
        self._connections = connections
        self._proxy, self._proxy_headers = _proxy_and_credentials(proxy)
        # The same CA bundle httpx would use (certifi, or SSL_CERT_FILE/SSL_CERT_DIR); ~30 ms to load.
        self._ssl = httpx.create_ssl_context() if tls else True
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[str, yarl.URL] = {}  # a backend calls few URLs: parse each once
        self._timeouts: dict[tuple[float | None, float | None, float | None], aiohttp.ClientTimeout] = {}

    def _open(self) -> aiohttp.ClientSession:
        import aiohttp

        connector = aiohttp.TCPConnector(limit=self._connections, keepalive_timeout=KEEPALIVE_EXPIRY, ssl=self._ssl)
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # httpx's client keeps the cookies, as before
            auto_decompress=False,  # httpx decodes content-encoding itself
            timeout=aiohttp.ClientTimeout(total=None),
            trust_env=False,  # the proxy was chosen once, by default_transport
        )
        return self._session

    def _timeout(self, pool: float | None, connect: float | None, read: float | None) -> aiohttp.ClientTimeout:
        """httpx's limits as aiohttp's, made once per set of values (a backend uses one or two)."""
        key = (pool, connect, read)
        made = self._timeouts.get(key)
        if made is None:
            import aiohttp

            made = aiohttp.ClientTimeout(total=None, connect=pool, sock_connect=connect, sock_read=read)
            if len(self._timeouts) < 16:
                self._timeouts[key] = made
        return made

    def _url(self, url: httpx.URL) -> yarl.URL:
        import yarl

        text = str(url)
        parsed = self._urls.get(text)
        if parsed is None:
            parsed = yarl.URL(text, encoded=True)  # httpx has already percent-encoded it
            if len(self._urls) < 256:
                self._urls[text] = parsed
        return parsed

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            content: bytes | None = request.content
        except httpx.RequestNotRead:
            content = await request.aread()
        # As `headers.multi_items()` decodes them, less the property lookup per header.
        encoding = request.headers.encoding
        headers = [(key.decode(encoding), value.decode(encoding)) for key, value in request.headers.raw]
        timeout: dict[str, Any] = request.extensions.get("timeout", {})
        return await self.send(request.method, request.url, headers, content, timeout, request)

    async def send(
        self,
        method: str,
        url: httpx.URL,
        headers: Mapping[str, str] | list[tuple[str, str]],
        content: bytes | None,
        timeout: Mapping[str, float | None],
        request: httpx.Request | None = None,
    ) -> httpx.Response:
        """`handle_async_request` without the `httpx.Request`: `cloud.client.HTTPClient` sends through
        here when this is its transport (building the request object was 7% of `batch run`'s CPU).
        `timeout` is httpx's (`pool`, `connect`, `read`); the response's `request` is `request`."""
        session = self._session or self._open()
        if self._proxy_headers and url.scheme == "http":  # no tunnel: the proxy reads the request
            pairs = headers.items() if isinstance(headers, Mapping) else headers
            headers = [*pairs, *self._proxy_headers.items()]
        with _mapped_errors():
            response = await session.request(
                method,
                self._url(url),
                headers=headers,
                data=content or None,
                allow_redirects=False,
                proxy=self._proxy,
                proxy_headers=self._proxy_headers,
                timeout=self._timeout(timeout.get("pool"), timeout.get("connect"), timeout.get("read")),
            )
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode()
        if response.content.is_eof():  # the whole body came with the head (a JSON answer): no stream to wrap
            body = response.content.read_nowait()
            response.release()
            return httpx.Response(
                response.status, headers=response.raw_headers, content=body, request=request, extensions=extensions
            )
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_Body(response),
            request=request,
            extensions=extensions,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
