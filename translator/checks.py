"""Type checks that fail with a TranslationError naming the JSON path (the translator's only validation)."""

from __future__ import annotations

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
