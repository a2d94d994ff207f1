"""A custom tool's raw input out of its chat function's JSON arguments, `{"input": "..."}`, as they
stream: decoded as the fragments come, so each `custom_tool_call_input.delta` carries raw text.

Why decode as it comes rather than hold the arguments to the end: a patch is the longest thing a
coding agent's model writes, and a client shows it (or its progress) while it streams; holding it
would leave the stream silent for its whole length. Why not pass the JSON fragments on: the client
takes `delta` as the raw text (Codex and the SDK concatenate the deltas into `input`), so escapes must
be undone.

The arguments are read as `{`, `"input"`, `:`, `"` (whitespace between), then a JSON string decoded
piece by piece: an escape cut between two fragments (`\\`, `\\u00`, the two halves of a surrogate
pair) waits for the rest. Anything else — another key first, the raw text itself (a model that ignores
the schema), a JSON string alone — is held to the end and read whole (`finish`): the object's `input`
string, or its one string value, or the JSON string, or else the arguments as they are. Every
fragment and the end together give what the whole arguments give (`custom_input`), whatever the split
(the property tests check it byte for byte; an object that names `input` twice aside). A piece is
decoded by pydantic-core's JSON parser, so the cost per fragment stays near a function call's. A lone surrogate (`\\ud800` not followed by its pair) becomes U+FFFD:
what cannot be written as UTF-8 cannot reach a client.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from protoshift.translator.tables import CUSTOM_TOOL_ARGUMENT

__all__ = ["CustomInput", "custom_input"]

# The tokens before the value, whitespace allowed before each.
_TOKENS = ("{", f'"{CUSTOM_TOOL_ARGUMENT}"', ":", '"')
_WHITESPACE = " \t\r\n"
_SPECIAL = re.compile(r'["\\]')
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_LONE = re.compile("[\ud800-\udfff]")

_PREFIX, _STRING, _AFTER, _WHOLE = 0, 1, 2, 3


class CustomInput:
    """Feed the argument fragments (`feed` -> the raw text they add), then `finish()` (-> the rest);
    `value` is the whole input."""

    __slots__ = ("_offset", "_pending", "_raw", "_state", "_text", "_token")

    def __init__(self) -> None:
        self._state = _PREFIX
        self._token = 0  # which of _TOKENS is being read
        self._offset = 0  # how far into it
        self._raw: list[str] = []  # every fragment (read whole when the shape is not the expected one)
        self._text: list[str] = []  # the decoded input so far
        self._pending = ""  # an escape cut at the end of a fragment (or half a surrogate pair)

    @property
    def value(self) -> str:
        return "".join(self._text)

    @property
    def closed(self) -> bool:
        """The input string has ended (what follows it does not change the input)."""
        return self._state == _AFTER

    def feed(self, fragment: str) -> str:
        if not fragment:
            return ""
        state = self._state
        if state == _STRING:
            return self._decode(fragment)
        if state != _AFTER:
            self._raw.append(fragment)  # kept while it may have to be read whole
        if state == _PREFIX:
            rest = self._prefix(fragment)
            if rest is not None:
                return self._decode(rest)
        return ""

    def finish(self) -> str:
        """The end of the arguments: the input not given out yet (all of it, when it was held)."""
        if self._state in (_PREFIX, _WHOLE):
            self._state = _AFTER
            text = _fix(_whole("".join(self._raw)))
            self._text = [text]
            return text
        out = ""
        if _HIGH.match(self._pending):  # cut after the first half of a pair
            out = "\ufffd"
            self._text.append(out)
        self._pending = ""
        self._state = _AFTER
        return out

    # ---- the shape ---------------------------------------------------------------------------

    def _prefix(self, fragment: str) -> str | None:
        """Read the tokens before the value; the rest of `fragment` once they are read, else None."""
        token, offset = self._token, self._offset
        for k, char in enumerate(fragment):
            if offset == 0 and char in _WHITESPACE:
                continue
            if char != _TOKENS[token][offset]:
                self._state = _WHOLE
                return None
            offset += 1
            if offset == len(_TOKENS[token]):
                token, offset = token + 1, 0
                if token == len(_TOKENS):
                    self._state = _STRING
                    return fragment[k + 1 :]
        self._token, self._offset = token, offset
        return None

    # ---- the string --------------------------------------------------------------------------

    def _decode(self, fragment: str) -> str:
        """The raw text of the string's next piece. The piece up to the closing quote, or up to the end
        less an escape cut short (or the first half of a surrogate pair, which waits for its second),
        is decoded whole: by pydantic-core's JSON parser, or, for what it refuses (a lone surrogate, an
        invalid escape, a raw control character: a model's, not JSON's), by `_lenient`."""
        text = self._pending + fragment if self._pending else fragment
        self._pending = ""
        if '"' in text:
            end = _RUN.match(text).end()  # type: ignore[union-attr]  # the pattern matches the empty string
        else:  # no quote, so no end of the string: only a backslash that ends the text can stop the run
            end = len(text)
            if end and text[-1] == "\\" and _unescaped(text, end - 1):
                end -= 1
        if end < len(text) and text[end] == '"':
            self._state = _AFTER
            body = text[:end]
        else:
            cut = _cut(text, end)
            body, self._pending = text[:cut], text[cut:]
        if not body:
            return ""
        if "\\" not in body:
            decoded = body  # nothing escaped: the text is itself (a raw control character too, as _lenient keeps it)
        else:
            try:
                decoded = _json_string('"' + body + '"')
            except ValueError:
                decoded = _lenient(body)
        self._text.append(decoded)
        return decoded


# A JSON string's body up to its closing quote: plain characters and escape pairs (a backslash and
# the character it escapes); it stops at an unescaped quote or at a backslash that ends the text.
_RUN = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)
# What may end a piece and must wait for the next: a \\u escape without its four digits, and before it
# (or at the end) a whole one that is the first half of a surrogate pair.
_HIGH = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}")
_PARTIAL_END = re.compile(r"\\u[0-9a-fA-F]{0,3}$")
_HIGH_END = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}$")


def _cut(text: str, end: int) -> int:
    """Where the piece of `text` that can be decoded now ends (`end`: where its run of characters and
    escapes stops, before a backslash that ends the text)."""
    cut = end
    if "\\u" not in text[max(end - 12, 0) : end]:
        return cut  # no \\u escape near the end: nothing cut short
    for tail in (_PARTIAL_END, _HIGH_END):
        found = tail.search(text, max(cut - 6, 0), cut)
        if found is not None and _unescaped(text, found.start()):
            cut = found.start()
    return cut


def _unescaped(text: str, at: int) -> bool:
    """The backslash at `at` starts an escape (it is not the second half of an escaped backslash)."""
    before = at
    while before > 0 and text[before - 1] == "\\":
        before -= 1
    return (at - before) % 2 == 0


@functools.cache
def _from_json() -> Callable[..., Any]:
    from pydantic_core import from_json  # imported on first use: start-up time

    return from_json


def _json_string(quoted: str) -> str:
    value = _from_json()(quoted)
    assert isinstance(value, str)
    return value


def _lenient(body: str) -> str:
    """A whole piece of a JSON string that JSON's parser refuses, read as a model meant it: an invalid
    escape is kept as written, a raw control character as it is, a lone surrogate becomes U+FFFD."""
    out: list[str] = []
    at = 0
    high = ""
    while at < len(body):
        found = _SPECIAL.search(body, at)
        stop = len(body) if found is None else found.start()
        if stop > at:
            if high:
                out.append("\ufffd")
                high = ""
            out.append(body[at:stop])
        if found is None:
            break
        at, high = _escape(body, stop, high, out)
    if high:
        out.append("\ufffd")
    return "".join(out)


def _escape(body: str, at: int, high: str, out: list[str]) -> tuple[int, str]:
    """The escape at `at` into `out` (a high surrogate waits in `high` for its pair); where the body goes on."""
    char = body[at + 1 : at + 2]
    if char != "u":
        if high:
            out.append("\ufffd")
        out.append(_ESCAPES.get(char, "\\" + char))  # an invalid escape is kept as it was written
        return at + 2, ""
    digits = body[at + 2 : at + 6]
    if len(digits) < 4 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        if high:
            out.append("\ufffd")
        out.append("\\u")
        return at + 2, ""
    code = int(digits, 16)
    if 0xD800 <= code <= 0xDBFF:
        if high:
            out.append("\ufffd")
        return at + 6, chr(code)
    if 0xDC00 <= code <= 0xDFFF:
        out.append((high + chr(code)).encode("utf-16", "surrogatepass").decode("utf-16") if high else "\ufffd")
        return at + 6, ""
    if high:
        out.append("\ufffd")
    out.append(chr(code))
    return at + 6, ""


def custom_input(arguments: Any) -> str:
    """The raw input in a whole chat arguments value (a string; a server may send the object itself)."""
    if isinstance(arguments, dict):
        return _fix(_from_value(arguments, ""))
    if not isinstance(arguments, str):
        return ""
    try:  # whole JSON: its parser, in a fraction of the decoder's time; the same input
        return _fix(_from_value(_from_json()(arguments), arguments))
    except ValueError:
        pass
    decoder = CustomInput()
    decoder.feed(arguments)
    decoder.finish()
    return decoder.value


def _whole(raw: str) -> str:
    """Arguments that did not start `{"input": "`: the input they hold, or themselves."""
    from pydantic_core import from_json  # imported on first use: start-up time

    try:
        value = from_json(raw)
    except ValueError:
        return raw  # not JSON: the model wrote the raw text itself
    return _from_value(value, raw)


def _from_value(value: Any, raw: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        text = value.get(CUSTOM_TOOL_ARGUMENT)
        if isinstance(text, str):
            return text
        strings = [v for v in value.values() if isinstance(v, str)]
        if len(value) == 1 and len(strings) == 1:
            return strings[0]
    return raw


def _fix(text: str) -> str:
    return _LONE.sub("\ufffd", text) if not text.isascii() else text
