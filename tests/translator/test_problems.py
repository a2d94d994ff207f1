"""openai_to_anthropic.request reports every problem of a request at once (issue 10, section 2)."""

from __future__ import annotations

from typing import Any

import pytest

from protoshift.translator import Problem, TranslationError, openai_to_anthropic

from .helpers import assistant, call, fn_tool, req, tool, translate, user

HI = user("hi")


def problems_of(request: Any, **kwargs: Any) -> TranslationError:
    with pytest.raises(TranslationError) as info:
        openai_to_anthropic.request(request, **kwargs)
    err = info.value
    assert err.problems, "a TranslationError always lists its problems"
    assert (err.path, err.reason) == (err.problems[0].path, err.problems[0].reason)
    for problem in err.problems:
        assert problem.path and problem.reason and "\n" not in problem.reason
    return err


def test_five_problems_give_five_errors_each_with_its_path() -> None:
    request = req(
        user([{"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}]),
        temperature=7,
        n=3,
        logprobs=True,
        tools=[fn_tool("bad name!")],
    )
    err = problems_of(request)
    assert [p.path for p in err.problems] == [
        "messages[0].content[0].type",
        "temperature",
        "n",
        "logprobs",
        "tools[0].function.name",
    ]
    assert str(err).startswith("messages[0].content[0].type: ")
    assert str(err).endswith("(and 4 more problems)")


def test_problems_come_in_request_order_whatever_order_they_are_found_in() -> None:
    request = {"tools": [fn_tool("x y")], "messages": [{"role": "robot", "content": "?"}], "model": 5}
    assert [p.path for p in problems_of(request).problems] == ["tools[0].function.name", "messages[0].role", "model"]


def test_several_bad_parts_and_messages_are_each_reported() -> None:
    request = req(
        user([{"type": "video_url"}, {"type": "text", "text": 3}, {"type": "text", "text": "fine"}]),
        {"role": "robot", "content": "x"},
        user([{"type": "image_url", "image_url": {"url": "ftp://x/a.png"}}]),
    )
    assert [p.path for p in problems_of(request).problems] == [
        "messages[0].content[0].type",
        "messages[0].content[1].text",
        "messages[1].role",
        "messages[2].content[0].image_url.url",
    ]


def test_a_bad_tool_call_does_not_also_make_its_result_a_problem() -> None:
    """The call failed on its arguments, but its id is known: its result is not 'unanswered'."""
    request = req(
        user("go"),
        assistant(None, tool_calls=[call("c1", arguments="{broken"), call("c2")]),
        tool("c1"),
        tool("c2"),
    )
    assert [p.path for p in problems_of(request).problems] == ["messages[1].tool_calls[0].function.arguments"]


def test_every_unanswered_call_is_named() -> None:
    request = req(user("go"), assistant(None, tool_calls=[call("c1"), call("c2")]), user("never mind"))
    assert [p.path for p in problems_of(request).problems] == [
        "messages[1].tool_calls[0]",
        "messages[1].tool_calls[1]",
    ]


def test_no_user_or_assistant_message_is_not_added_when_the_messages_failed() -> None:
    request = {"model": "m", "messages": [{"role": "robot", "content": "x"}]}
    assert [p.path for p in problems_of(request).problems] == ["messages[0].role"]


def test_strict_lists_every_lossy_field_not_only_the_first() -> None:
    request = req(user("hi", name="bob"), seed=1, temperature=1.5, brand_new=True)
    err = problems_of(request, strict=True)
    assert [p.path for p in err.problems] == ["messages[0].name", "seed", "temperature", "brand_new"]
    assert all("strict" in p.reason for p in err.problems)


def test_the_error_keeps_the_notes_and_explains_with_refused_rows() -> None:
    request = req(HI, seed=1, n=4, top_k=3)
    err = problems_of(request)
    assert {(n.path, n.action) for n in err.notes if n.path in ("seed", "top_k")} == {
        ("top_k", "kept"),
        ("seed", "dropped"),
    }
    rows = {row.path: row.action for row in err.explain(request)}
    assert rows["n"] == "refused" and rows["seed"] == "dropped" and rows["model"] == "mapped"
    assert set(request) <= set(rows)


def test_prefixed_moves_every_path_under_a_batch_body() -> None:
    err = problems_of(req(user([{"type": "video_url"}]), n=2))
    moved = err.prefixed("body")
    assert [p.path for p in moved.problems] == ["body.messages[0].content[0].type", "body.n"]
    assert moved.path == "body.messages[0].content[0].type"
    assert TranslationError("$", "not an object").prefixed("body").path == "body"


def test_a_single_problem_keeps_the_old_one_line_message() -> None:
    err = TranslationError("model", "is required")
    assert str(err) == "model: is required" and err.problems == [Problem("model", "is required")]


def test_a_valid_request_still_translates() -> None:
    translate(req(HI, tools=[fn_tool()], temperature=0.5))


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"thinking": {"type": {"x": 1}}}, "thinking.type"),
        ({"web_search_options": {"search_context_size": ["low"]}}, "web_search_options.search_context_size"),
        ({"tools": [{**fn_tool(), "allowed_callers": [{"direct": True}]}]}, "tools[0].allowed_callers[0]"),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"schema": {"type": {"a": 1}}}}},
            "response_format.json_schema.schema.type",
        ),
        (
            {"response_format": {"type": {"json_schema": 1}}},
            "response_format.type",
        ),
    ],
)
def test_objects_where_a_name_is_expected_are_refused_not_crashed_on(fields: dict[str, Any], path: str) -> None:
    assert problems_of(req(HI, **fields)).problems[0].path == path


def test_a_string_format_that_is_not_a_string_goes_to_the_description() -> None:
    schema = {
        "type": "object",
        "properties": {"d": {"type": "string", "format": ["date"]}},
        "additionalProperties": False,
    }
    result = translate(req(HI, response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}))
    assert "format" not in result.body["output_config"]["format"]["schema"]["properties"]["d"]
