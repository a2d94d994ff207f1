"""Type checks that fail with a TranslationError naming the JSON path (the translator's only validation)."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from protoshift.translator.errors import TranslationError


def type_name(value: object) -> str:
    """JSON's name for a Python value, for messages like `expected a string, got a number`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def thinking_kind(config: dict[str, Any]) -> str:
    """The `type` of an Anthropic `thinking` object whose every key belongs to that type (either
    direction reads one: an Anthropic request's, or one an OpenAI client passes on purpose)."""
    from protoshift.translator.tables import THINKING_FIELDS

    kind = config.get("type")
    if not isinstance(kind, str) or kind not in THINKING_FIELDS:
        raise TranslationError("thinking.type", f"expected {', '.join(repr(k) for k in THINKING_FIELDS)}")
    for key in config:
        if key not in THINKING_FIELDS[kind]:
            raise TranslationError(f"thinking.{key}", f"not a field of {kind} thinking")
    return kind


def want_object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TranslationError(path, f"expected an object, got {type_name(value)}")
    return value


def want_list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise TranslationError(path, f"expected an array, got {type_name(value)}")
    return value


def want_str(value: Any, path: str, *, nonempty: bool = False) -> str:
    if not isinstance(value, str):
        raise TranslationError(path, f"expected a string, got {type_name(value)}")
    if nonempty and not value:
        raise TranslationError(path, "must not be empty")
    return value


def want_bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise TranslationError(path, f"expected true or false, got {type_name(value)}")
    return value


def want_int(value: Any, path: str, *, minimum: int | None = None) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise TranslationError(path, f"expected an integer, got {type_name(value)}")
    if minimum is not None and value < minimum:
        raise TranslationError(path, f"must be at least {minimum}, got {value}")
    return value


def want_number(value: Any, path: str, low: float, high: float) -> float | int:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TranslationError(path, f"expected a number, got {type_name(value)}")
    if not low <= value <= high:  # also rejects NaN
        raise TranslationError(path, f"must be between {low:g} and {high:g}, got {value}")
    return value


# ---- plain JSON ----------------------------------------------------------------------------------

# What a value handed to the translator may hold, beyond JSON's grammar: the limits every input is
# held to (the CLI's parser reads them from here too). Nesting: deep enough for any real request
# (JSON schemas included), shallow enough that nothing recursive downstream hits Python's limit.
# Integers: far beyond any count, id or bound a request holds, and far below the 4,300 digits past
# which Python refuses to turn an integer into text.
MAX_DEPTH = 200
MAX_INT_DIGITS = 100
_INT_LIMIT = 10**MAX_INT_DIGITS


def check_json(value: Any, path: str = "$", depth: int = 0) -> bool:
    """Raise TranslationError (the JSON path, the reason) unless `value` is plain JSON: text that is
    valid Unicode (no lone surrogate), finite numbers, integers of at most MAX_INT_DIGITS digits,
    containers nested at most MAX_DEPTH deep, and nothing that is not JSON (a tuple is an array; a
    number, boolean or null key is one JSON writers turn into text).

    `depth`: how deep `value` sits in its document (0: it is the document), for a part checked on
    its own (`path` then names where it is). Returns True when `value` is made of JSON's own types
    only (dict with str keys, list, str, int, float, bool, None: what a JSON parser gives), False when
    it is plain JSON through others (a tuple, a number key, a str subclass)."""
    if _is_plain(value, depth):
        return True
    problem = _first_problem(value, path, depth)
    if problem is not None:
        raise TranslationError(*problem)
    return False


def check_json_but(document: dict[str, Any], key: str) -> None:
    """check_json(document) for all of it but the member `key` (which its reader checks part by part)."""
    if not _plain_but(document, key):
        check_json({name: value for name, value in document.items() if not (type(name) is str and name == key)})


def _plain_but(document: dict[str, Any], key: str) -> bool:
    try:
        for name, value in document.items():
            if type(name) is not str:
                return False  # the slow walk decides
            if name != key and not ((name.isascii() or _valid_unicode(name)) and _plain(value, 1)):
                return False
    except RecursionError:
        return False
    return True


def json_problem(value: Any, path: str = "$") -> tuple[str, str] | None:
    """`(path, reason)` of the first thing in `value` that is not plain JSON, or None."""
    return None if _is_plain(value) else _first_problem(value, path)


def is_plain_text(text: str) -> bool:
    """`text` is valid Unicode (no lone surrogate): check_json for one string, when the caller has
    already seen that it is a `str`."""
    return text.isascii() or _valid_unicode(text)


def _is_plain(value: Any, depth: int = 0) -> bool:
    """The fast check, without paths: every request and answer goes through it. False also means
    "not sure" (a tuple, a number as a key, a stack too deep already): the slow walk then decides."""
    try:
        return _plain(value, depth)
    except RecursionError:  # called from deep in someone's stack: the slow walk is iterative
        return False


def _plain(item: Any, depth: int) -> bool:  # noqa: C901  (inlined: it is the hot path)
    # Recursive, strings checked in their container's loop: a third faster than a level-by-level walk
    # on the benchmark corpus (most of a request is small objects of short strings). Depth is bounded
    # by MAX_DEPTH, far below Python's recursion limit.
    kind = type(item)
    if kind is str:
        return item.isascii() or _valid_unicode(item)
    if kind is dict:
        if depth >= MAX_DEPTH:
            return False
        depth += 1
        for key, child in item.items():
            if type(key) is not str or not (key.isascii() or _valid_unicode(key)):
                return False
            if type(child) is str:
                if not child.isascii() and not _valid_unicode(child):
                    return False
            elif not _plain(child, depth):
                return False
        return True
    if kind is list:
        if depth >= MAX_DEPTH:
            return False
        depth += 1
        for child in item:
            if type(child) is str:
                if not child.isascii() and not _valid_unicode(child):
                    return False
            elif not _plain(child, depth):
                return False
        return True
    if kind is int:
        return bool(-_INT_LIMIT < item < _INT_LIMIT)
    if kind is float:
        return bool(item - item == 0)  # not NaN, not an infinity
    return item is None or kind is bool


def _valid_unicode(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _first_problem(value: Any, root: str, depth: int = 0) -> tuple[str, str] | None:
    """The slow walk, depth first with paths, for a value the fast check refused (or could not judge)."""
    stack: list[tuple[Any, str, int]] = [(value, root, depth)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, dict | list | tuple):
            if depth >= MAX_DEPTH:
                return _shortened(path), f"nested deeper than {MAX_DEPTH} levels"
            children: list[tuple[Any, str, int]] = []
            if isinstance(item, dict):
                for key, child in item.items():
                    child_path = _member(path, key)
                    problem = _scalar_problem(key)  # JSON writers turn number, boolean and null keys into text
                    if problem is not None:
                        return child_path, f"the key {problem}"
                    children.append((child, child_path, depth + 1))
            else:
                children = [(child, f"{'' if path == '$' else path}[{k}]", depth + 1) for k, child in enumerate(item)]
            stack.extend(reversed(children))  # the first problem in document order
        else:
            problem = _scalar_problem(item)
            if problem is not None:
                return path, problem
    return None


def _scalar_problem(item: Any) -> str | None:
    if isinstance(item, str):
        return (
            None
            if _valid_unicode(item)
            else f"contains a lone surrogate ({_surrogate(item)}), which is not valid Unicode"
        )
    if isinstance(item, bool) or item is None:
        return None
    if isinstance(item, int):
        return None if -_INT_LIMIT < item < _INT_LIMIT else f"is an integer of more than {MAX_INT_DIGITS} digits"
    if isinstance(item, float):
        if math.isnan(item):
            return "NaN is not a JSON number"
        if item - item == 0:
            return None
        return f"{'-' if item < 0 else ''}Infinity is not a JSON number (nor is a number too large for a float)"
    return f"is a Python {type(item).__name__}, not a JSON value"


def printable(text: str) -> str:
    """`text` as valid Unicode: a lone surrogate becomes the six characters of its escape (`\\ud800`),
    so a message that quotes it (a key, a file name from the command line) can be printed and written
    as JSON."""
    if text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode()


_PLAIN_KEY = re.compile(r"[\w$\\-]+")  # a lone surrogate shows as its escape (printable)


def _member(path: str, key: Any) -> str:
    name = printable(key) if isinstance(key, str) else repr(key)  # a path never carries a surrogate itself
    # "", a newline, "a.b", ":": quoted, so that the path reads one way, on one line
    if isinstance(key, str) and not _PLAIN_KEY.fullmatch(name):
        name = json.dumps(name, ensure_ascii=False)
    return name if path == "$" else f"{path}.{name}"


def _shortened(path: str, keep: int = 60) -> str:
    """A path through deep nesting, cut in the middle: its start says where, its length is no news."""
    return path if len(path) <= 2 * keep else f"{path[:keep]}…{path[-keep:]}"


def _surrogate(text: str) -> str:
    for char in text:
        if 0xD800 <= ord(char) <= 0xDFFF:
            return f"\\u{ord(char):04x}"
    return "?"
