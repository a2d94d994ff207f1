"""Who may use the gateway, checked before any work:

- **Keys.** With server keys set, a request must carry one of them as a bearer token
  (`Authorization: Bearer KEY`, as the OpenAI SDK sends it) or as `x-api-key` (the Anthropic SDK's
  way), compared in constant time. These are the gateway's own keys: the provider's key stays in
  protoshift and goes to the provider only. A blank key is refused where it is given: it would mean
  "anyone". Client keys (`protoshift keys add`: gateway/clients) are checked beside them, each with its
  limits; once one exists every request must carry a key, and `/metrics` (every key's name and spend)
  takes a server key only.
- **Hosts.** A server answering without keys on loopback trusts that only this machine reaches it.
  A web page on a DNS-rebinding domain breaks that (the browser sends `Host: evil.example` to
  127.0.0.1), so such a server answers only the loopback names (and the names it is told to).
- **Browsers.** A web page the user opens can send requests to any address; those carry `Origin`.
  A request from an origin not allowed is refused, CORS headers and preflights are answered for the
  allowed ones only, and a POST must say `Content-Type: application/json` — the types a page may send
  without a preflight (text/plain, forms, none at all) are refused.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable, Sequence

from protoshift.gateway.asgi import Headers, Scope, header

__all__ = ["LOOPBACK_NAMES", "Browsers", "Hosts", "ServerKeys", "presented"]

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
# Read by clients from a cross-origin answer: the request ids, retry-after, the rate-limit headers.
_EXPOSED = (
    b"x-request-id, request-id, retry-after, retry-after-ms, x-should-retry, x-protoshift-token-count,"
    b" x-protoshift-overhead-ms, x-ratelimit-limit-requests, x-ratelimit-remaining-requests,"
    b" x-ratelimit-reset-requests, x-ratelimit-limit-tokens, x-ratelimit-remaining-tokens, x-ratelimit-reset-tokens,"
    b" anthropic-ratelimit-requests-limit, anthropic-ratelimit-requests-remaining, anthropic-ratelimit-requests-reset,"
    b" anthropic-ratelimit-tokens-limit, anthropic-ratelimit-tokens-remaining, anthropic-ratelimit-tokens-reset"
)
_PREFLIGHT_MAX_AGE = b"600"


class ServerKeys:
    def __init__(self, keys: Sequence[str]) -> None:
        if any(not key.strip() for key in keys):
            raise ValueError("a server key is empty or blank: it would let anyone in")
        self._keys = [key.encode() for key in keys]

    def __bool__(self) -> bool:
        return bool(self._keys)

    def allows(self, scope: Scope) -> bool:
        if not self._keys:
            return True
        token = presented(scope)
        return token is not None and self.matches(token)

    def matches(self, token: bytes) -> bool:
        matched = False
        for key in self._keys:  # every key compared, whichever matches: no timing hint of which
            matched |= hmac.compare_digest(token, key)
        return matched


def presented(scope: Scope) -> bytes | None:
    """The key a request carries: a bearer token (OpenAI's SDKs), else `x-api-key` (Anthropic's)."""
    authorization = header(scope, b"authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(b" ")
        return token.strip() if scheme.lower() == b"bearer" else None
    return header(scope, b"x-api-key")


class Hosts:
    """The `Host` names a request may carry (any port): None, any; else these, and any 127.x address."""

    _REMEMBERED = 64  # Host values decided: clients send the same one on every request

    def __init__(self, names: Iterable[str] | None) -> None:
        self.names = None if names is None else frozenset(_bare(name) for name in names)
        self._decided: dict[bytes, bool] = {}

    def allows(self, host: bytes | None) -> bool:
        if self.names is None or host is None:
            return True  # no Host (HTTP/1.0): not a browser's request, which always names its host
        decided = self._decided.get(host)
        if decided is None:
            name = _bare(host.decode("latin-1"))
            decided = name in self.names or (_is_loopback_ip(name) and "127.0.0.1" in self.names)
            if len(self._decided) < self._REMEMBERED:
                self._decided[host] = decided
        return decided


def _bare(host: str) -> str:
    """`Example.COM.:8080` -> `example.com`; `[::1]:8080` -> `::1`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def _is_loopback_ip(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class Browsers:
    """The web origins (`https://app.example`) whose pages may call the gateway; `*` allows any."""

    def __init__(self, origins: Iterable[str]) -> None:
        self.origins = frozenset(origin.rstrip("/").lower() for origin in origins)

    def allows(self, origin: bytes) -> bool:
        return "*" in self.origins or origin.decode("latin-1").rstrip("/").lower() in self.origins

    def headers(self, origin: bytes) -> Headers:
        """What an answer to an allowed origin carries."""
        return [
            (b"access-control-allow-origin", origin),
            (b"access-control-expose-headers", _EXPOSED),
            (b"vary", b"origin"),
        ]

    @staticmethod
    def preflight(allow: Sequence[str], scope: Scope) -> Headers:
        """What the answer to an allowed origin's preflight adds to `headers`: the methods the path
        takes, the headers asked."""
        asked = header(scope, b"access-control-request-headers") or b""
        return [
            (b"access-control-allow-methods", ", ".join(allow).encode()),
            (b"access-control-allow-headers", asked),
            (b"access-control-max-age", _PREFLIGHT_MAX_AGE),
        ]


def is_json(content_type: bytes | None) -> bool:
    """`application/json` (with parameters: `; charset=utf-8`), or an `application/*+json` type."""
    if content_type is None:
        return False
    kind = content_type.partition(b";")[0].strip().lower()
    return kind == b"application/json" or (kind.startswith(b"application/") and kind.endswith(b"+json"))
