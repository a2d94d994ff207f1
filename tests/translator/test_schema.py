"""Structured-output schemas adapted as Anthropic's own SDK adapts them (issue 10, section 3).

Oracle: `anthropic.lib._parse._transform.transform_schema`, the function the anthropic SDK runs on
every schema it sends as `output_config.format`. For every schema it can handle, protoshift's
adaptation must be exactly its result; each change is a note; what it cannot handle is refused.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from anthropic.lib._parse._transform import transform_schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protoshift.translator.errors import TranslationError
from protoshift.translator.openai_to_anthropic.context import Context
from protoshift.translator.openai_to_anthropic.schema import adapt_schema

from .helpers import fn_tool, notes_at, one_note, refused, req, translate, user

HI = user("hi")
ROOT = "response_format.json_schema.schema"


def adapt(schema: Any) -> tuple[dict[str, Any], Context]:
    ctx = Context("claude-sonnet-4-5", None)
    return adapt_schema(schema, ROOT, ctx), ctx


def json_schema_format(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": True}}


SCHEMAS: dict[str, dict[str, Any]] = {
    "openai-strict-object": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    },
    "open-object": {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}}}},
    "numeric-bounds": {
        "type": "object",
        "properties": {"score": {"type": "number", "minimum": 0, "maximum": 10, "description": "Score"}},
    },
    "string-constraints": {
        "type": "object",
        "properties": {
            "code": {"type": "string", "minLength": 2, "maxLength": 8, "pattern": "^[A-Z]+$"},
            "when": {"type": "string", "format": "date-time"},
            "site": {"type": "string", "format": "idn-hostname"},
        },
    },
    "array-min-items": {
        "type": "object",
        "properties": {
            "one": {"type": "array", "items": {"type": "integer"}, "minItems": 1},
            "three": {"type": "array", "items": {"type": "integer"}, "minItems": 3, "maxItems": 5},
        },
    },
    "oneof-and-defs": {
        "$defs": {"Cat": {"type": "object", "properties": {"meow": {"type": "boolean"}}}},
        "type": "object",
        "properties": {"pet": {"oneOf": [{"$ref": "#/$defs/Cat"}, {"type": "null"}]}},
    },
    "enum-and-const": {
        "type": "object",
        "properties": {"unit": {"type": "string", "enum": ["c", "f"]}, "kind": {"const": "weather"}},
    },
    "map-like": {"type": "object", "additionalProperties": {"type": "integer"}},
    "root-ref": {"$ref": "#/$defs/A", "$defs": {"A": {"type": "object", "properties": {}}}},
}


@pytest.mark.parametrize("schema", SCHEMAS.values(), ids=SCHEMAS)
def test_adaptation_is_exactly_what_the_anthropic_sdk_sends(schema: dict[str, Any]) -> None:
    before = copy.deepcopy(schema)
    adapted, _ = adapt(schema)
    assert adapted == transform_schema(copy.deepcopy(schema))
    assert schema == before, "the caller's schema is not modified"


def test_each_change_is_a_note_at_the_keyword_path() -> None:
    _, ctx = adapt(SCHEMAS["numeric-bounds"])
    by_path = {n.path: n.action for n in ctx.notes}
    assert by_path == {
        f"{ROOT}.additionalProperties": "defaulted",
        f"{ROOT}.properties.score.minimum": "approximated",
        f"{ROOT}.properties.score.maximum": "approximated",
    }
    _, ctx = adapt(SCHEMAS["map-like"])
    assert [(n.path, n.action) for n in ctx.notes] == [(f"{ROOT}.additionalProperties", "approximated")]
    _, ctx = adapt(SCHEMAS["oneof-and-defs"])
    assert (f"{ROOT}.properties.pet.oneOf", "approximated") in {(n.path, n.action) for n in ctx.notes}


def test_a_closed_object_needs_no_note() -> None:
    _, ctx = adapt(SCHEMAS["openai-strict-object"])
    assert ctx.notes == []


def test_property_names_that_are_not_identifiers_are_quoted_in_paths() -> None:
    _, ctx = adapt(
        {
            "type": "object",
            "properties": {"first name": {"type": "string", "maxLength": 3}},
            "additionalProperties": False,
        }
    )
    assert [n.path for n in ctx.notes] == [f'{ROOT}.properties["first name"].maxLength']


def test_a_type_list_becomes_the_equivalent_any_of() -> None:
    """OpenAI's strict mode spells optional fields ["string", "null"]; the SDK itself cannot take that."""
    schema = {
        "type": "object",
        "properties": {"nick": {"type": ["string", "null"], "maxLength": 5, "description": "Nickname"}},
        "required": ["nick"],
        "additionalProperties": False,
    }
    adapted, ctx = adapt(schema)
    expected = transform_schema(
        {
            **schema,
            "properties": {
                "nick": {"anyOf": [{"type": "string", "maxLength": 5}, {"type": "null"}], "description": "Nickname"}
            },
        }
    )
    assert adapted == expected
    assert [n.path for n in ctx.notes] == [f"{ROOT}.properties.nick.maxLength"]


@pytest.mark.parametrize(
    ("schema", "path"),
    [
        ({"type": "object", "properties": {"x": {}}}, f"{ROOT}.properties.x"),
        ({"type": "object", "properties": {"x": True}}, f"{ROOT}.properties.x"),
        ({"type": "object", "properties": {"x": {"type": "any"}}}, f"{ROOT}.properties.x.type"),
        ({"type": "object", "properties": []}, f"{ROOT}.properties"),
        ({"type": "object", "properties": {"x": {"type": []}}}, f"{ROOT}.properties.x.type"),
    ],
)
def test_a_schema_that_cannot_be_adapted_is_refused_with_its_path(schema: dict[str, Any], path: str) -> None:
    refused(req(HI, response_format=json_schema_format(schema)), path)


def test_response_format_sends_the_adapted_schema_and_notes_the_changes() -> None:
    result = translate(req(HI, response_format=json_schema_format(SCHEMAS["numeric-bounds"])))
    assert result.body["output_config"]["format"]["schema"] == transform_schema(SCHEMAS["numeric-bounds"])
    one_note(result, f"{ROOT}.properties.score.minimum", "approximated")


def test_strict_tools_are_adapted_and_other_tools_sent_as_they_are() -> None:
    params = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}}
    result = translate(req(HI, tools=[fn_tool("a", parameters=params, strict=True), fn_tool("b", parameters=params)]))
    strict_tool, plain_tool = result.body["tools"]
    assert strict_tool["strict"] is True
    assert strict_tool["input_schema"] == transform_schema(params)
    assert plain_tool["input_schema"] == params
    one_note(result, "tools[0].function.parameters.properties.n.minimum", "approximated")
    assert not notes_at(result, "tools[1].function.parameters.properties.n.minimum")


# ---- any schema the SDK can adapt, protoshift adapts the same way -------------------------------

KEYWORDS = st.sampled_from(["minimum", "maximum", "minLength", "maxLength", "pattern", "multipleOf", "default"])
LEAF = st.one_of(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["string", "integer", "number", "boolean", "null"])},
        optional={
            "description": st.text(max_size=5),
            "title": st.text(max_size=5),
            "format": st.sampled_from(["date", "email", "uri", "color", "idn-email"]),
        },
    ),
    st.fixed_dictionaries(
        {"enum": st.lists(st.one_of(st.text(max_size=3), st.integers(), st.none()), min_size=1, max_size=3)}
    ),
    st.fixed_dictionaries({"const": st.one_of(st.text(max_size=3), st.integers())}),
)


def _with_keywords(schema: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(lambda s, extra: {**s, **extra}, schema, st.dictionaries(KEYWORDS, st.integers(0, 9), max_size=2))


SCHEMA = st.recursive(
    _with_keywords(LEAF),
    lambda inner: st.one_of(
        st.fixed_dictionaries(
            {
                "type": st.just("object"),
                "properties": st.dictionaries(st.sampled_from(["a", "b", "c d"]), inner, max_size=3),
            },
            optional={
                "required": st.lists(st.sampled_from(["a", "b"]), unique=True),
                "additionalProperties": st.one_of(st.booleans(), inner),
            },
        ),
        st.fixed_dictionaries(
            {"type": st.just("array"), "items": inner},
            optional={"minItems": st.integers(0, 4), "maxItems": st.integers(1, 9)},
        ),
        st.fixed_dictionaries({"anyOf": st.lists(inner, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"oneOf": st.lists(inner, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"allOf": st.lists(inner, min_size=1, max_size=2)}),
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SCHEMA)
def test_any_schema_is_adapted_exactly_as_the_sdk_does(schema: dict[str, Any]) -> None:
    try:
        expected = transform_schema(copy.deepcopy(schema))
    except (ValueError, TypeError, AssertionError):  # the SDK cannot adapt it: protoshift refuses it
        with pytest.raises(TranslationError):
            adapt(schema)
        return
    adapted, ctx = adapt(schema)
    assert adapted == expected
    for note in ctx.notes:
        assert note.path.startswith(ROOT) and note.action in ("defaulted", "approximated", "dropped")
