"""Keys and where they may go: the secret wrapper, key checks, header redaction, scrubbing, base-URL checks.

Every line cloud/ gives out (events, error messages, reprs) passes through `redact_headers` or
`scrub`; a key may travel in clear text only to a loopback address. A key is checked before it is
used (`check_key`): one with a line break, a space or a character outside ASCII never reaches a
header, where the HTTP library would refuse it and print it in its error.
"""

from __future__ import annotations

import ipaddress
import json
import unicodedata
from collections.abc import Mapping
from urllib.parse import quote, quote_plus

import httpx

from protoshift.cloud.errors import InsecureTransportError, InvalidBaseURLError, InvalidKeyError

__all__ = [
    "SECRET_HEADERS",
    "Secret",
    "check_key",
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

    __slots__ = ("_forms", "_value")

    def __init__(self, value: str) -> None:
        self._value = value
        self._forms: tuple[str, ...] | None = None

    def reveal(self) -> str:
        return self._value

    @property
    def forms(self) -> tuple[str, ...]:
        """The key as it may appear in text: as is, stripped, and escaped the ways libraries print
        it (repr, JSON, percent-encoding, a bytes repr), longest first; none shorter than 4."""
        if self._forms is None:
            key = self._value
            found = {
                key,
                key.strip(),
                repr(key)[1:-1],
                json.dumps(key)[1:-1],
                json.dumps(key, ensure_ascii=False)[1:-1],
                quote(key, safe=""),
                quote_plus(key),
                repr(key.encode("utf-8", "backslashreplace"))[2:-1],
            }
            self._forms = tuple(sorted((f for f in found if len(f) >= _MIN_SCRUBBED), key=len, reverse=True))
        return self._forms

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


# Auth schemes shown before `***` when a header is exactly `<scheme> <one token>`.
_AUTH_SCHEMES = frozenset({"bearer", "basic"})
_SCHEMED_HEADERS = frozenset({"authorization", "proxy-authorization"})


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers for display, secrets as `***`. Only a well-formed `Authorization: Bearer <token>` keeps
    its scheme (`Bearer ***`); any other value of a secret header (`x-api-key` always, a malformed
    authorization) shows nothing at all: a key with a space in it must not lend its first word."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower not in SECRET_HEADERS:
            out[name] = value
            continue
        scheme, space, token = value.partition(" ")
        well_formed = space and token and _is_key_text(token) and scheme.lower() in _AUTH_SCHEMES
        out[name] = f"{scheme} ***" if lower in _SCHEMED_HEADERS and well_formed else "***"
    return out


def scrub(text: str, secret: Secret) -> str:
    """`text` with every occurrence of the secret, in any of its printed forms, replaced by `***`."""
    for form in secret.forms:
        if form in text:
            text = text.replace(form, "***")
    return text


def _is_key_text(text: str) -> bool:
    """Printable ASCII without spaces: all a key (or a token) may hold."""
    return text.isascii() and text.isprintable() and " " not in text


def check_key(key: str, *, backend: str, setting: str) -> None:
    """Raise `InvalidKeyError` when `key` holds anything a header value cannot carry as a key: a
    control character, whitespace, or a character outside ASCII. `setting` says where it came from."""
    if _is_key_text(key):
        return
    for at, char in enumerate(key):
        if not (char.isascii() and char.isprintable() and char != " "):
            place = "at its end" if at == len(key) - 1 else ("at its start" if at == 0 else "inside it")
            raise InvalidKeyError(backend, setting, _character(char), place)


_NAMED = {"\r": "a carriage return", "\n": "a line feed", "\t": "a tab", " ": "a space"}


def _character(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = f"U+{ord(char):04X}"
    if char.isspace():
        return f"whitespace ({code})"
    if unicodedata.category(char) == "Cc":
        return f"a control character ({code})"
    return f"a character outside ASCII ({code})"


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and `localhost` itself. Not `*.localhost`: such a name is looked up like any
    other, and whatever answers it would get the key in clear text."""
    host = host.strip("[]").lower()
    if host == "localhost":
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
