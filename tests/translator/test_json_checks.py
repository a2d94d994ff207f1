"""`check_json`: what is not plain JSON is named by its path, whatever it is and however it came in."""

from __future__ import annotations

import json
from typing import Any

import pytest

from protoshift.translator import TranslationError
from protoshift.translator.checks import MAX_DEPTH, MAX_INT_DIGITS, check_json, json_problem


def nested(levels: int, inner: Any = None) -> Any:
    value: Any = [] if inner is None else inner
    for _ in range(levels - (1 if inner is None else 0)):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("value", "path", "reason"),
    [
        ({"a": [1, {"b": "x\ud800"}]}, "a[1].b", "lone surrogate (\\ud800)"),
        ({"ok": "😀", "bad": "\udfff"}, "bad", "lone surrogate (\\udfff)"),
        ({"k\udc00": 1}, "k\\udc00", "the key contains a lone surrogate"),
        ({(1, 2): "x"}, "(1, 2)", "the key is a Python tuple, not a JSON value"),
        ([float("nan")], "[0]", "NaN is not a JSON number"),
        ({"t": float("inf")}, "t", "Infinity is not a JSON number"),
        ({"t": [float("-inf")]}, "t[0]", "-Infinity is not a JSON number"),
        ({"n": 10**MAX_INT_DIGITS}, "n", f"is an integer of more than {MAX_INT_DIGITS} digits"),
        ({"n": -(10**5000)}, "n", f"more than {MAX_INT_DIGITS} digits"),
        ({"s": {1, 2}}, "s", "is a Python set, not a JSON value"),
        ({"b": b"bytes"}, "b", "is a Python bytes, not a JSON value"),
        # a key that is not a plain name is quoted: the error stays one line, the path reads one way
        ({"\n": float("nan")}, '"\\n"', "NaN is not a JSON number"),
        ({"a": {"b.c": float("nan")}}, 'a."b.c"', "NaN is not a JSON number"),
        ({"": [float("nan")]}, '""[0]', "NaN is not a JSON number"),
        ({"ü-é_$": float("nan")}, "ü-é_$", "NaN is not a JSON number"),
    ],
)
def test_each_kind_of_problem_is_named_with_its_path(value: Any, path: str, reason: str) -> None:
    with pytest.raises(TranslationError) as info:
        check_json(value)
    assert info.value.path == path
    assert reason in info.value.reason
    json.dumps(str(info.value)).encode()  # the message itself is always printable


def test_nesting_is_limited_and_the_limit_itself_is_fine() -> None:
    assert json_problem(nested(MAX_DEPTH)) is None
    assert json_problem({"deep": nested(MAX_DEPTH - 1)}) is None
    path, reason = json_problem({"deep": nested(MAX_DEPTH)}) or ("", "")
    assert path.startswith("deep[0][0]") and "…" in path and len(path) < 200
    assert reason == f"nested deeper than {MAX_DEPTH} levels"
    # much deeper than Python's recursion limit: still a clean answer
    assert json_problem(nested(100_000)) is not None


def test_a_cycle_is_deep_nesting_not_a_hang() -> None:
    loop: list[Any] = []
    loop.append(loop)
    problem = json_problem(loop)
    assert problem is not None and problem[1] == f"nested deeper than {MAX_DEPTH} levels"


def test_plain_json_passes_and_the_first_problem_in_document_order_is_reported() -> None:
    plain = {"model": "m", "messages": [{"role": "user", "content": "héllo 😀"}], "n": 10**99, "t": 0.5, "x": None}
    check_json(plain)
    check_json((1, "tuple", True))  # what json.dumps writes as an array
    check_json({1: "x", None: "y"})  # keys JSON writers turn into text
    assert json_problem({"a": ["fine", float("nan")], "b": "\ud800"}) == ("a[1]", "NaN is not a JSON number")


def test_a_root_path_prefixes_every_path() -> None:
    assert json_problem({"x": float("nan")}, "$") == ("x", "NaN is not a JSON number")
    assert json_problem(float("nan"), "usage") == ("usage", "NaN is not a JSON number")


def test_the_answer_is_the_same_from_deep_in_a_callers_stack() -> None:
    """The fast check recurses (MAX_DEPTH frames at most); called with little stack left, it hands
    over to the iterative walk instead of failing."""
    import sys

    deepest_fine = {"deep": nested(MAX_DEPTH - 1)}
    too_deep = {"deep": nested(MAX_DEPTH)}
    bad_deep_inside = {"deep": nested(MAX_DEPTH - 2, inner=["x\ud800"])}

    def at_depth(frames_left: int) -> tuple[Any, ...]:
        if frames_left > 0:
            return at_depth(frames_left - 1)
        return json_problem(deepest_fine), json_problem(too_deep), json_problem(bad_deep_inside)

    shallow = at_depth(0)
    assert shallow[0] is None and shallow[1] is not None and shallow[2] is not None
    depth_now = len(__import__("inspect").stack(0))
    near_the_limit = sys.getrecursionlimit() - depth_now - 60  # fewer frames left than MAX_DEPTH
    assert at_depth(near_the_limit) == shallow
