"""Keys and where they may go: the secret wrapper, header redaction, scrubbing, base-URL checks.

Every line cloud/ gives out (events, error messages, reprs) passes through `redact_headers` or
`scrub`; a key may travel in clear text only to a loopback address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

import httpx

from protoshift.cloud.errors import InsecureTransportError, InvalidBaseURLError

__all__ = [
    "SECRET_HEADERS",
    "Secret",
    "check_transport",
    "is_loopback",
    "parse_base_url",
    "redact_headers",
    "safe_url",
    "scrub",
]

# Header names whose values are secrets: shown as `***` in every log and dry run.
SECRET_HEADERS = frozenset({"x-api-key", "authorization", "api-key", "proxy-authorization", "cookie"})

# Shorter strings are not scrubbed from text: replacing every "ab" would mangle messages and hide nothing.
_MIN_SCRUBBED = 4


class Secret:
    """A key that does not show itself in reprs, f-strings or tracebacks' locals."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers for display: a secret header keeps its auth scheme (`Bearer ***`), nothing of the key."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower() in SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value else ""
            out[name] = f"{scheme} ***" if scheme else "***"
        else:
            out[name] = value
    return out


def scrub(text: str, secret: Secret) -> str:
    """`text` with every occurrence of the secret replaced by `***`."""
    key = secret.reveal()
    return text.replace(key, "***") if len(key) >= _MIN_SCRUBBED else text


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and `localhost`."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def safe_url(url: httpx.URL) -> str:
    """A URL for display: no password."""
    if url.password:
        url = url.copy_with(password="***")
    return str(url)


def parse_base_url(raw: str, setting: str) -> httpx.URL:
    """A base URL as `http(s)://host[:port][/path]`, without a trailing slash. `setting` names where
    it came from (an environment variable), for the error."""
    try:
        url = httpx.URL(raw.strip())
    except (httpx.InvalidURL, TypeError) as exc:
        raise InvalidBaseURLError(f"bad base URL {raw!r}: {exc}", setting=setting) from None
    if url.scheme not in ("http", "https") or not url.host:
        raise InvalidBaseURLError(
            f"bad base URL {safe_url(url)!r}: expected http:// or https:// and a host", setting=setting
        )
    return url.copy_with(path=url.path.rstrip("/") or "/", query=None, fragment=None)


def check_transport(backend: str, url: httpx.URL, *, has_key: bool, allow_insecure: bool) -> None:
    """A key may cross plain http:// only to a loopback address (or when the caller allowed it)."""
    if has_key and url.scheme == "http" and not is_loopback(url.host) and not allow_insecure:
        raise InsecureTransportError(backend, url.host)
