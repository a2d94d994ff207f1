"""JSON schemas adapted for Anthropic structured outputs (`output_config.format`, strict tools).

The rules are those of Anthropic's own SDK, `anthropic.lib._parse._transform.transform_schema`
(anthropics/anthropic-sdk-python, src/anthropic/lib/_parse/_transform.py, anthropic 2.12), which the
tests use as the oracle: every object gets `additionalProperties: false`; `oneOf` becomes `anyOf`;
string formats the API lacks, `minItems` above 1 and every other keyword the API does not enforce
(numeric bounds, string lengths, patterns, ...) move into the description, where the model reads them.

What this adds to the SDK's rules: each change is a note with the JSON path of the keyword; a list
`type` (`["string", "null"]`, common in OpenAI strict schemas) becomes the equivalent `anyOf`, where
the SDK would fail (when no enum or const decides the values); and a schema that cannot be adapted (no type, an unknown type, not an object) is
refused with its path instead of raising a bare ValueError.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from protoshift.translator.checks import type_name
from protoshift.translator.errors import TranslationError
from protoshift.translator.openai_to_anthropic.context import Context, child

# The string formats Anthropic structured outputs enforce (SupportedStringFormats in the SDK).
SUPPORTED_STRING_FORMATS: frozenset[str] = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}
)
_SIMPLE_TYPES = frozenset({"boolean", "integer", "number", "null"})
_MOVED = "moved into the description: Anthropic structured outputs do not enforce it"


def adapt_schema(schema: Any, path: str, ctx: Context) -> dict[str, Any]:
    """`schema` as Anthropic structured outputs take it; a note for each change. The caller's schema
    is not modified. Raises TranslationError (with the path of the part) if it cannot be adapted."""
    return _adapt(schema, path, ctx)


def _is_primitive(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _adapt(schema: Any, path: str, ctx: Context) -> dict[str, Any]:
    if not isinstance(schema, dict):
        raise TranslationError(path, f"a JSON schema must be an object here, got {type_name(schema)}")
    rest = dict(schema)  # what no rule has taken yet: described at the end
    out: dict[str, Any] = {}
    # $defs first, so a root {"$ref": ..., "$defs": ...} keeps its definitions (as the SDK does).
    defs = rest.pop("$defs", None)
    if defs is not None:
        out["$defs"] = _defs(defs, path, ctx)
    ref = rest.pop("$ref", None)
    if ref is not None:
        return _ref(ref, rest, out, path, ctx)
    type_ = rest.pop("type", None)
    combinators = rest.pop("anyOf", None), rest.pop("oneOf", None), rest.pop("allOf", None)
    has_literals = ("enum" in rest or "const" in rest) and _literals(rest, out)
    if has_literals:
        type_ = None  # the values say it all (a list of types too: the values must also match it)
    elif isinstance(type_, list):
        return _type_list(type_, combinators, rest, out, path, ctx)
    _values(type_, combinators, has_literals, out, path, ctx)
    if "description" in rest or "title" in rest:
        _annotations(rest, out, path)
    keywords = _TYPE_KEYWORDS.get(type_) if isinstance(type_, str) else None
    if keywords is not None:
        keywords(rest, out, path, ctx)
    elif type_ is not None and (not isinstance(type_, str) or type_ not in _SIMPLE_TYPES):
        raise TranslationError(child(path, "type"), f"unknown JSON schema type {type_!r}")
    if rest:
        _describe(rest, out, path, ctx)
    return out


def _defs(defs: Any, path: str, ctx: Context) -> dict[str, Any]:
    defs_path = child(path, "$defs")
    if not isinstance(defs, dict):
        raise TranslationError(defs_path, f"expected an object, got {type_name(defs)}")
    return {name: _adapt(sub, child(defs_path, name), ctx) for name, sub in defs.items()}


def _ref(ref: Any, rest: dict[str, Any], out: dict[str, Any], path: str, ctx: Context) -> dict[str, Any]:
    """A $ref stands alone: the schema's other keywords are dropped ($defs excepted)."""
    out["$ref"] = ref
    for key, value in rest.items():
        if value is not None:
            ctx.note(child(path, key), "dropped", "Anthropic structured outputs take a $ref on its own")
    return out


def _literals(rest: dict[str, Any], out: dict[str, Any]) -> bool:
    """An enum of primitive values and a primitive const are kept; True if either was."""
    enum = rest.get("enum")
    if isinstance(enum, list) and enum and all(_is_primitive(value) for value in enum):
        out["enum"] = list(rest.pop("enum"))
    if "const" in rest and _is_primitive(rest["const"]):
        out["const"] = rest.pop("const")
    return "enum" in out or "const" in out


def _values(
    type_: Any, combinators: tuple[Any, Any, Any], has_literals: bool, out: dict[str, Any], path: str, ctx: Context
) -> None:
    """Which values the schema takes: any of its variants (oneOf sent as anyOf), all of them, or its
    type, unless an enum or a const already says."""
    any_of, one_of, all_of = combinators
    if isinstance(any_of, list):
        out["anyOf"] = [_adapt(variant, f"{child(path, 'anyOf')}[{k}]", ctx) for k, variant in enumerate(any_of)]
    elif isinstance(one_of, list):
        out["anyOf"] = [_adapt(variant, f"{child(path, 'oneOf')}[{k}]", ctx) for k, variant in enumerate(one_of)]
        ctx.note(child(path, "oneOf"), "approximated", "sent as anyOf: Anthropic structured outputs have no oneOf")
    elif isinstance(all_of, list):
        out["allOf"] = [_adapt(variant, f"{child(path, 'allOf')}[{k}]", ctx) for k, variant in enumerate(all_of)]
    elif not has_literals:
        if type_ is None:
            raise TranslationError(
                path,
                "cannot be adapted for Anthropic structured outputs: a schema needs a type, anyOf, oneOf, allOf,"
                " a const or a non-empty enum of strings, numbers, booleans or null",
            )
        out["type"] = type_


def _annotations(rest: dict[str, Any], out: dict[str, Any], path: str) -> None:
    description = rest.pop("description", None)
    if description is not None:
        if not isinstance(description, str):
            raise TranslationError(child(path, "description"), f"expected a string, got {type_name(description)}")
        out["description"] = description
    title = rest.pop("title", None)
    if title is not None:
        out["title"] = title


def _string(rest: dict[str, Any], out: dict[str, Any], path: str, ctx: Context) -> None:
    fmt = rest.pop("format", None)
    if isinstance(fmt, str) and fmt in SUPPORTED_STRING_FORMATS:
        out["format"] = fmt
    elif fmt:
        rest["format"] = fmt  # left over: goes to the description


def _array(rest: dict[str, Any], out: dict[str, Any], path: str, ctx: Context) -> None:
    items = rest.pop("items", None)
    if items is not None:
        out["items"] = _adapt(items, child(path, "items"), ctx)
    min_items = rest.pop("minItems", None)
    if min_items in (0, 1) and not isinstance(min_items, bool):
        out["minItems"] = min_items
    elif min_items is not None:
        rest["minItems"] = min_items


def _describe(rest: dict[str, Any], out: dict[str, Any], path: str, ctx: Context) -> None:
    """Keywords no rule took are appended to the description, where the model reads them."""
    described = out.get("description")
    out["description"] = (
        (described + "\n\n" if described is not None else "")
        + "{"
        + ", ".join(f"{key}: {value}" for key, value in rest.items())
        + "}"
    )
    for key in rest:
        ctx.note(child(path, key), "approximated", _MOVED)


def _object(rest: dict[str, Any], out: dict[str, Any], path: str, ctx: Context) -> None:
    properties = rest.pop("properties", {})
    if not isinstance(properties, dict):
        raise TranslationError(child(path, "properties"), f"expected an object, got {type_name(properties)}")
    props_path = child(path, "properties")
    out["properties"] = {key: _adapt(sub, child(props_path, key), ctx) for key, sub in properties.items()}
    additional = rest.pop("additionalProperties", None)
    out["additionalProperties"] = False
    if additional is None:
        ctx.note(
            child(path, "additionalProperties"),
            "defaulted",
            "false: Anthropic structured outputs need every object closed",
        )
    elif additional is not False:
        ctx.note(
            child(path, "additionalProperties"),
            "approximated",
            "set to false: Anthropic structured outputs need every object closed (no other keys are produced)",
        )
    required = rest.pop("required", None)
    if required is not None:
        out["required"] = list(required) if isinstance(required, list) else required


def _type_list(
    types: list[Any],
    combinators: tuple[Any, Any, Any],
    rest: dict[str, Any],
    out: dict[str, Any],
    path: str,
    ctx: Context,
) -> dict[str, Any]:
    """`{"type": ["string", "null"], ...}` -> `{"anyOf": [{"type": "string", ...}, {"type": "null"}]}`:
    the same values, in the form the rules above handle. Keywords go to the non-null variants (whose
    notes keep this schema's path); description and title stay outside."""
    if any(combinator is not None for combinator in combinators):
        raise TranslationError(child(path, "type"), "a list of types beside anyOf, oneOf or allOf cannot be adapted")
    if not types or not all(isinstance(t, str) for t in types):
        raise TranslationError(child(path, "type"), "expected a type name or a non-empty list of type names")
    outer = {key: rest.pop(key) for key in ("description", "title") if key in rest}
    if len(types) == 1:
        return {**out, **_adapt({"type": types[0], **rest, **outer}, path, ctx)}
    variants = [_adapt({"type": t, **(rest if t != "null" else {})}, path, ctx) for t in types]
    result = {**out, "anyOf": variants}
    if "description" in outer:
        if not isinstance(outer["description"], str):
            raise TranslationError(
                child(path, "description"), f"expected a string, got {type_name(outer['description'])}"
            )
        result["description"] = outer["description"]
    if outer.get("title") is not None:
        result["title"] = outer["title"]
    return result


# The keywords of these types have rules of their own; the other types' go to the description.
_TYPE_KEYWORDS: dict[str, Callable[[dict[str, Any], dict[str, Any], str, Context], None]] = {
    "object": _object,
    "string": _string,
    "array": _array,
}
