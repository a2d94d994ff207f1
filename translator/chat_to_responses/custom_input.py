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
fragment and the end together give what the whole arguments give, whatever the split (the property
tests check it byte for byte). A lone surrogate (`\\ud800` not followed by its pair) becomes U+FFFD:
what cannot be written as UTF-8 cannot reach a client.
"""

from __future__ import annotations

import re
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

    __slots__ = ("_high", "_offset", "_pending", "_raw", "_state", "_text", "_token")

    def __init__(self) -> None:
        self._state = _PREFIX
        self._token = 0  # which of _TOKENS is being read
        self._offset = 0  # how far into it
        self._raw: list[str] = []  # every fragment (read whole when the shape is not the expected one)
        self._text: list[str] = []  # the decoded input so far
        self._pending = ""  # an escape cut at the end of a fragment
        self._high = ""  # a high surrogate waiting for its low half

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
        if self._high:  # cut after the first half of a pair
            out = "\ufffd"
            self._text.append(out)
            self._high = ""
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
        if self._pending:
            fragment = self._pending + fragment
            self._pending = ""
        out: list[str] = []
        at = 0
        end = len(fragment)
        while at < end:
            found = _SPECIAL.search(fragment, at)
            if found is None:
                self._plain(fragment[at:], out)
                break
            start = found.start()
            if start > at:
                self._plain(fragment[at:start], out)
            if fragment[start] == '"':
                self._state = _AFTER
                self._flush_high(out)
                break
            at = self._escape(fragment, start, out)
            if at < 0:  # cut: the rest waits for the next fragment
                self._pending = fragment[start:]
                break
        text = "".join(out)
        if text:
            self._text.append(text)
        return text

    def _plain(self, text: str, out: list[str]) -> None:
        self._flush_high(out)
        out.append(text)

    def _flush_high(self, out: list[str]) -> None:
        if self._high:
            out.append("\ufffd")
            self._high = ""

    def _escape(self, text: str, at: int, out: list[str]) -> int:
        """The escape at `at` (a backslash) into `out`; where the text goes on, or -1 when it is cut."""
        if at + 1 >= len(text):
            return -1
        char = text[at + 1]
        if char != "u":
            self._flush_high(out)
            out.append(_ESCAPES.get(char, "\\" + char))  # an invalid escape is kept as it was written
            return at + 2
        digits = text[at + 2 : at + 6]
        if len(digits) < 4:
            return -1 if all(c in "0123456789abcdefABCDEF" for c in digits) else self._bad_u(text, at, out)
        try:
            code = int(digits, 16)
        except ValueError:
            return self._bad_u(text, at, out)
        if 0xD800 <= code <= 0xDBFF:
            self._flush_high(out)
            self._high = chr(code)
        elif 0xDC00 <= code <= 0xDFFF:
            if self._high:
                out.append((self._high + chr(code)).encode("utf-16", "surrogatepass").decode("utf-16"))
                self._high = ""
            else:
                out.append("\ufffd")
        else:
            self._flush_high(out)
            out.append(chr(code))
        return at + 6

    def _bad_u(self, text: str, at: int, out: list[str]) -> int:
        self._flush_high(out)
        out.append("\\u")
        return at + 2


def custom_input(arguments: Any) -> str:
    """The raw input in a whole chat arguments value (a string; a server may send the object itself)."""
    if isinstance(arguments, dict):
        return _fix(_from_value(arguments, ""))
    decoder = CustomInput()
    decoder.feed(arguments if isinstance(arguments, str) else "")
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
