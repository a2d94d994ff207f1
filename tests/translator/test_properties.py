"""Property tests: the SSE decoder under any byte split, openai_to_anthropic.request under any input."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from protoshift.translator import TranslationError, openai_to_anthropic
from protoshift.translator.openai_to_anthropic.context import UNKNOWN_KEY as UNKNOWN
from protoshift.translator.openai_to_anthropic.context import child
from protoshift.translator.report import LOSSY_ACTIONS
from protoshift.translator.sse import ServerSentEvent, SSEDecoder
from protoshift.translator.tables import (
    APPROXIMATE_LOCATION_KEYS,
    CALL_FUNCTION_KEYS,
    DROPPED_FIELDS,
    FILE_KEYS,
    FUNCTION_KEYS,
    FUNCTION_TOOL_KEYS,
    IMAGE_URL_KEYS,
    JSON_SCHEMA_FORMAT_KEYS,
    MAPPED_FIELDS,
    MESSAGE_KEYS,
    NAMED_TOOL_CHOICE_FUNCTION_KEYS,
    NAMED_TOOL_CHOICE_KEYS,
    PART_KEYS,
    REJECTED_FIELDS,
    RESPONSE_FORMAT_KEYS,
    STREAM_OPTIONS_KEYS,
    TOOL_CALL_KEYS,
    USER_LOCATION_KEYS,
    WEB_SEARCH_OPTIONS_KEYS,
)
from tests.oracles import assert_anthropic_body

SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---- SSE: any split of the bytes gives the same events ------------------------------------------

LINE_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12)
ITEM = st.tuples(st.sampled_from(["data", "data", "comment", "event", "id"]), LINE_TEXT)
EOL = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def sse_streams(draw: st.DrawFn) -> tuple[bytes, list[ServerSentEvent]]:
    """A stream with random line-end styles, comments and unicode, and the events it must give."""
    out = ["\ufeff"] if draw(st.booleans()) else []

    def eol() -> str:
        end = draw(EOL)
        # CR then LF is one CRLF line end in any stream: after a CR, a lone LF cannot start a new one.
        return "\r\n" if end == "\n" and out and out[-1].endswith("\r") else end

    expected: list[ServerSentEvent] = []
    last_id: str | None = None
    blocks = draw(st.lists(st.lists(ITEM, max_size=5), max_size=6))
    for n, items in enumerate(blocks):
        data: list[str] = []
        event = ""
        for kind, value in items:
            if kind == "comment":
                out.append(":" + value)
            else:
                out.append(f"{kind}: {value}")
                if kind == "data":
                    data.append(value)
                elif kind == "event":
                    event = value
                elif "\0" not in value:
                    last_id = value
            out.append(eol())
        is_last = n == len(blocks) - 1
        ending = draw(st.sampled_from(["blank", "blank", "none"])) if is_last else "blank"
        if ending == "blank":
            out.append(eol())
        if data:
            expected.append(ServerSentEvent("\n".join(data), event or "message", last_id))
    return "".join(out).encode(), expected


def _decode(pieces: list[bytes]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for piece in pieces:
        events.extend(decoder.feed(piece))
    return events + decoder.close()


@SETTINGS
@given(sse_streams(), st.lists(st.integers(min_value=0, max_value=10_000), max_size=12))
def test_any_split_of_the_bytes_gives_the_same_events(
    stream: tuple[bytes, list[ServerSentEvent]], cuts: list[int]
) -> None:
    data, expected = stream
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    assert _decode([data]) == expected
    assert _decode(pieces) == expected
    assert _decode([data[i : i + 1] for i in range(len(data))]) == expected


# ---- openai_to_anthropic.request: a valid body or a TranslationError, nothing else ------------------------

SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=200_000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
)
JSONISH = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
OPENAI_KEYS = [
    "model", "messages", "role", "content", "type", "text", "tool_calls", "tool_call_id", "function", "name",
    "arguments", "tools", "tool_choice", "max_tokens", "stop", "temperature", "image_url", "url", "stream",
]  # fmt: skip
KEYED_JSON = st.recursive(
    SCALAR,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(OPENAI_KEYS) | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=20,
)

TEXTS = st.one_of(st.sampled_from(["", " ", "\n\t", "hello", "trailing  ", "{"]), st.text(max_size=12))
IDS = st.sampled_from(["c1", "c2", "call.3/x", "toolu_01A", "call_legacy_0", ""])
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()
PDF = base64.b64encode(b"%PDF-1.4 fake").decode()
CACHE = st.one_of(
    st.just({"type": "ephemeral"}),
    st.just({"type": "ephemeral", "ttl": "1h"}),
    st.just({"type": "ephemeral", "ttl": "1d"}),
    st.just({"type": "ephemeral", "extra": 1}),
    SCALAR,
)
IMAGE_URLS = st.sampled_from(
    [
        f"data:image/png;base64,{PNG}",
        f"data:IMAGE/JPEG;base64,{PNG}",
        "data:image/bmp;base64,Qk0=",
        "data:image/png,notbase64",
        "data:image/png;base64,",
        "https://example.com/a.png",
        "http://x",
        "ftp://x",
        "",
    ]
)
FILE_DATA = st.sampled_from(
    [
        f"data:application/pdf;base64,{PDF}",
        PDF,
        "data:text/plain;base64," + base64.b64encode("héllo".encode()).decode(),
        "data:text/plain;base64,////",
        "data:text/plain;base64,",
        "data:application/zip;base64,UEsDBA==",
        "not base64 at all",
    ]
)


def mostly(valid: st.SearchStrategy[Any], bad: st.SearchStrategy[Any] | None = None) -> st.SearchStrategy[Any]:
    """`valid` about nine times in ten, `bad` (a wrong-typed scalar by default) otherwise.

    (`st.one_of` would pick each branch about as often, whatever their number.)"""
    wrong = SCALAR if bad is None else bad
    return st.sampled_from([True] * 9 + [False]).flatmap(lambda ok: valid if ok else wrong)


def opt(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


PART = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": TEXTS | SCALAR}, optional={"cache_control": CACHE}),
    st.fixed_dictionaries(
        {
            "type": st.just("image_url"),
            "image_url": st.one_of(
                IMAGE_URLS, opt(url=IMAGE_URLS | SCALAR, detail=st.sampled_from(["auto", "low", "high"]) | SCALAR)
            ),
        },
        optional={"cache_control": CACHE},
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("file"),
            "file": opt(file_data=FILE_DATA | SCALAR, file_id=st.just("file-1"), filename=TEXTS | SCALAR),
        },
        optional={"cache_control": CACHE},
    ),
    st.fixed_dictionaries({"type": st.sampled_from(["refusal"]), "refusal": TEXTS | SCALAR}),
    st.fixed_dictionaries({"type": st.sampled_from(["input_audio", "video", "image", "tool_result"])}),
    SCALAR,
)
CONTENT = st.one_of(TEXTS, st.lists(PART, max_size=4), SCALAR)
ARGUMENTS = st.one_of(
    st.sampled_from(['{"city": "Paris"}', "", "{", "[1]", "null", '{"a": {"b": [1, 2]}}']), SCALAR, st.just({"k": 1})
)
TOOL_CALL = st.one_of(
    st.fixed_dictionaries(
        {
            "id": IDS | SCALAR,
            "function": st.fixed_dictionaries(
                {"name": st.sampled_from(["get_weather", "f", ""]) | SCALAR}, optional={"arguments": ARGUMENTS}
            ),
        },
        optional={"type": st.sampled_from(["function", "custom"])},
    ),
    SCALAR,
)
THINKING_BLOCK = st.one_of(
    st.fixed_dictionaries({"type": st.just("thinking"), "thinking": TEXTS | SCALAR, "signature": TEXTS | SCALAR}),
    st.fixed_dictionaries({"type": st.just("redacted_thinking"), "data": TEXTS | SCALAR}),
    st.fixed_dictionaries({"type": SCALAR}),
)
MESSAGE = st.one_of(
    st.fixed_dictionaries({"role": st.just("user"), "content": CONTENT}, optional={"name": TEXTS | SCALAR}),
    st.fixed_dictionaries({"role": st.sampled_from(["system", "developer"]), "content": CONTENT}),
    st.fixed_dictionaries(
        {"role": st.just("assistant")},
        optional={
            "content": CONTENT,
            "tool_calls": st.lists(TOOL_CALL, max_size=3) | SCALAR,
            "thinking_blocks": st.lists(THINKING_BLOCK, max_size=2) | SCALAR,
            "reasoning_content": TEXTS,
            "function_call": st.fixed_dictionaries(
                {"name": st.sampled_from(["f", "g"]) | SCALAR}, optional={"arguments": ARGUMENTS}
            )
            | SCALAR,
            "audio": st.just({"id": "a1"}),
        },
    ),
    st.fixed_dictionaries({"role": st.just("tool"), "tool_call_id": IDS | SCALAR}, optional={"content": CONTENT}),
    st.fixed_dictionaries(
        {"role": st.just("function"), "name": st.sampled_from(["f", "g"]) | SCALAR}, optional={"content": CONTENT}
    ),
    st.fixed_dictionaries({"role": st.sampled_from(["robot", ""]) | SCALAR, "content": CONTENT}),
    SCALAR,
)
SCHEMA: st.SearchStrategy[Any] = st.one_of(
    st.just({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    st.just({"properties": {}}),
    st.just({"type": "string"}),
    st.just({"type": "object", "additionalProperties": False}),
    SCALAR,
)
TOOL_DEF = st.one_of(
    st.fixed_dictionaries(
        {
            "type": st.just("function"),
            "function": opt(
                name=st.sampled_from(["get_weather", "f", "bad name", ""]) | SCALAR,
                description=TEXTS | SCALAR,
                parameters=SCHEMA,
                strict=st.booleans() | SCALAR,
            ),
        },
        optional={"cache_control": CACHE},
    ),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["web_search_20250305", "custom", "allowed_tools"]), "name": st.just("web_search")}
    ),
    SCALAR,
)
TOOL_CHOICE = st.one_of(
    st.sampled_from(["auto", "none", "required", "any"]),
    st.fixed_dictionaries(
        {
            "type": st.just("function"),
            "function": st.fixed_dictionaries({"name": st.sampled_from(["get_weather", "nope"]) | SCALAR}),
        }
    ),
    st.just({"type": "allowed_tools", "allowed_tools": {}}),
    SCALAR,
)
RESPONSE_FORMAT = st.one_of(
    st.just({"type": "text"}),
    st.just({"type": "json_object"}),
    st.fixed_dictionaries(
        {
            "type": st.just("json_schema"),
            "json_schema": opt(name=TEXTS, schema=SCHEMA, description=TEXTS, strict=st.booleans()),
        }
    ),
    st.fixed_dictionaries({"type": SCALAR}),
    SCALAR,
)
THINKING = st.one_of(
    st.fixed_dictionaries({"type": st.just("enabled"), "budget_tokens": st.integers(0, 40_000) | SCALAR}),
    st.just({"type": "disabled"}),
    st.just({"type": "adaptive"}),
    st.just({"type": "adaptive", "display": "summarized"}),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["enabled", "disabled", "adaptive"]), "budget_tokens": st.just(2048), "extra": SCALAR}
    ),
    st.fixed_dictionaries({"type": SCALAR}),
    SCALAR,
)
NUMBER = st.one_of(st.floats(min_value=-1, max_value=3), st.integers(-1, 3), SCALAR)
PARAMS = opt(
    max_tokens=st.integers(-1, 100_000) | SCALAR,
    max_completion_tokens=st.integers(-1, 100_000) | SCALAR,
    temperature=NUMBER,
    top_p=NUMBER,
    top_k=st.integers(-1, 500) | SCALAR,
    stop=st.one_of(TEXTS, st.lists(TEXTS | SCALAR, max_size=4), SCALAR),
    user=TEXTS | SCALAR,
    safety_identifier=TEXTS | SCALAR,
    stream=st.booleans() | SCALAR,
    stream_options=opt(include_usage=st.booleans() | SCALAR) | SCALAR,
    reasoning_effort=st.sampled_from(["none", "minimal", "low", "medium", "high", "xhigh", "max"]) | SCALAR,
    response_format=RESPONSE_FORMAT,
    tools=st.lists(TOOL_DEF, max_size=3) | SCALAR,
    functions=st.lists(opt(name=st.sampled_from(["f", "g"]) | SCALAR, parameters=SCHEMA), max_size=2) | SCALAR,
    tool_choice=TOOL_CHOICE,
    function_call=st.sampled_from(["auto", "none"])
    | st.fixed_dictionaries({"name": st.sampled_from(["f", "x"])})
    | SCALAR,
    parallel_tool_calls=st.booleans() | SCALAR,
    thinking=THINKING,
    cache_control=CACHE,
    n=st.integers(0, 3) | SCALAR,
    logprobs=st.booleans() | SCALAR,
    top_logprobs=st.integers(-1, 5) | SCALAR,
    modalities=st.lists(st.sampled_from(["text", "audio"]), max_size=2) | SCALAR,
    audio=SCALAR,
    seed=SCALAR,
    metadata=JSONISH,
    logit_bias=JSONISH,
    web_search_options=st.just({}) | st.none(),
    something_new=JSONISH,
)


@st.composite
def near_valid_requests(draw: st.DrawFn) -> dict[str, Any]:
    request: dict[str, Any] = {
        "model": draw(mostly(st.sampled_from(["claude-sonnet-4-5", "gpt-4o"]))),
        "messages": draw(mostly(st.lists(MESSAGE, max_size=7))),
    }
    request.update(draw(PARAMS))
    return request


def check_never_crashes(request: Any, strict: bool) -> None:
    try:
        result = openai_to_anthropic.request(request, strict=strict)
    except TranslationError as err:
        event("refused")
        assert isinstance(err.path, str) and err.path
        assert isinstance(err.reason, str) and err.reason and "\n" not in err.reason
        return
    event("translated")
    assert_anthropic_body(result.body, result.betas)  # SDK type, closed blocks, no empty text, alternating roles
    assert all(n.action in {"dropped", "approximated", "kept", "defaulted"} for n in result.notes)
    if strict:
        assert not [n for n in result.notes if n.action in LOSSY_ACTIONS]
    if isinstance(request, dict):
        rows = result.explain(request)
        assert {r.path for r in rows} >= set(request)


@SETTINGS
@given(
    st.one_of(JSONISH, KEYED_JSON, st.builds(lambda m: {"model": "claude-x", "messages": m}, KEYED_JSON)), st.booleans()
)
def test_request_on_wild_input_gives_a_body_or_a_translation_error(request: Any, strict: bool) -> None:
    check_never_crashes(request, strict)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(near_valid_requests(), st.booleans())
def test_request_on_near_valid_input_gives_a_body_or_a_translation_error(request: dict[str, Any], strict: bool) -> None:
    check_never_crashes(request, strict)


# ---- mostly valid requests: deep paths get exercised, not only the first check --------------------


GOOD_TEXT = st.one_of(st.sampled_from(["hello", "trailing  ", "{", "  lead"]), st.text(min_size=1, max_size=12))
GOOD_PART = st.one_of(
    *[st.fixed_dictionaries({"type": st.just("text"), "text": GOOD_TEXT})] * 3,
    st.fixed_dictionaries({"type": st.just("text"), "text": TEXTS}, optional={"cache_control": CACHE}),
    st.fixed_dictionaries(
        {
            "type": st.just("image_url"),
            "image_url": opt(url=IMAGE_URLS, detail=st.sampled_from(["auto", "low", "high"])),
        }
    ),
    st.fixed_dictionaries({"type": st.just("file"), "file": opt(file_data=FILE_DATA, filename=TEXTS)}),
)
GOOD_CONTENT = mostly(st.one_of(GOOD_TEXT, TEXTS, st.lists(GOOD_PART, max_size=3)), CONTENT)
CALL_IDS = st.sampled_from(["call_a", "call.b/1", "toolu_01C", "call d", "call_legacy_0", "x"])


@st.composite
def conversations(draw: st.DrawFn) -> list[Any]:
    """Turns in plausible order: calls mostly answered (in any order, user text may come between)."""
    messages: list[Any] = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["user", "user", "system", "assistant", "calls", "calls", "legacy", "junk"]))
        if kind == "user":
            messages.append(
                draw(
                    st.fixed_dictionaries(
                        {"role": st.just("user"), "content": GOOD_CONTENT}, optional={"name": GOOD_TEXT}
                    )
                )
            )
        elif kind == "system":
            messages.append({"role": draw(st.sampled_from(["system", "developer"])), "content": draw(GOOD_CONTENT)})
        elif kind == "assistant":
            messages.append(
                draw(
                    st.fixed_dictionaries(
                        {
                            "role": st.just("assistant"),
                            "content": mostly(
                                st.one_of(
                                    GOOD_TEXT,
                                    TEXTS,
                                    st.lists(
                                        st.fixed_dictionaries({"type": st.just("text"), "text": TEXTS}), max_size=2
                                    ),
                                )
                            ),
                        },
                        optional={"thinking_blocks": st.lists(THINKING_BLOCK, max_size=2), "reasoning_content": TEXTS},
                    )
                )
            )
        elif kind == "calls":
            ids = draw(st.lists(CALL_IDS, min_size=1, max_size=3, unique=True))
            calls = [
                {
                    "id": i,
                    "type": "function",
                    "function": {
                        "name": draw(st.sampled_from(["get_weather", "f"])),
                        "arguments": draw(
                            mostly(
                                st.sampled_from(['{"city": "Paris"}', "", "{}", '{"a": [1, {"b": null}]}']), ARGUMENTS
                            )
                        ),
                    },
                }
                for i in ids
            ]
            messages.append({"role": "assistant", "content": draw(st.one_of(st.none(), TEXTS)), "tool_calls": calls})
            answered = draw(mostly(st.permutations(ids), st.lists(CALL_IDS, max_size=3)))
            for n, i in enumerate(answered):
                if n and draw(st.integers(0, 4)) == 0:
                    messages.append({"role": "user", "content": draw(GOOD_TEXT)})
                messages.append(
                    {
                        "role": "tool",
                        "tool_call_id": i,
                        "content": draw(mostly(st.one_of(GOOD_TEXT, TEXTS, st.lists(GOOD_PART, max_size=2)))),
                    }
                )
        elif kind == "legacy":
            name = draw(st.sampled_from(["f", "g"]))
            messages.append(
                {"role": "assistant", "content": None, "function_call": {"name": name, "arguments": draw(ARGUMENTS)}}
            )
            messages.append({"role": "function", "name": draw(mostly(st.just(name))), "content": draw(TEXTS)})
        else:
            messages.append(draw(MESSAGE))
    return messages


GOOD_PARAMS: dict[str, st.SearchStrategy[Any]] = {
    "max_tokens": mostly(st.integers(1, 100_000)),
    "max_completion_tokens": mostly(st.integers(1, 100_000)),
    "temperature": mostly(st.floats(0, 2)),
    "top_p": mostly(st.floats(0, 1)),
    "top_k": mostly(st.integers(0, 500)),
    "stop": mostly(st.one_of(GOOD_TEXT, st.lists(TEXTS, max_size=4))),
    "user": mostly(GOOD_TEXT),
    "stream": mostly(st.booleans()),
    "stream_options": mostly(opt(include_usage=st.booleans())),
    "reasoning_effort": mostly(st.sampled_from(["none", "minimal", "low", "medium", "high"])),
    "response_format": mostly(
        st.sampled_from(
            [
                {"type": "text"},
                {"type": "json_object"},
                {
                    "type": "json_schema",
                    "json_schema": {
                        "name": "x",
                        "schema": {"type": "object", "properties": {"n": {"type": "integer"}}},
                    },
                },
            ]
        )
    ),
    "tools": mostly(
        st.lists(
            st.fixed_dictionaries(
                {
                    "type": st.just("function"),
                    "function": opt(
                        name=st.sampled_from(["get_weather", "f", "g"]), description=TEXTS, parameters=SCHEMA
                    ),
                },
                optional={"cache_control": CACHE},
            ),
            max_size=3,
        )
    ),
    "tool_choice": mostly(
        st.sampled_from(["auto", "none", "required", {"type": "function", "function": {"name": "get_weather"}}])
    ),
    "parallel_tool_calls": mostly(st.booleans()),
    "thinking": THINKING,
    "cache_control": CACHE,
    "n": mostly(st.just(1), st.integers(0, 3)),
    "logprobs": mostly(st.just(False), st.booleans()),
    "modalities": mostly(st.just(["text"])),
    "seed": SCALAR,
    "metadata": JSONISH,
    "service_tier": SCALAR,
    "something_new": JSONISH,
}


@st.composite
def mostly_valid_requests(draw: st.DrawFn) -> dict[str, Any]:
    request: dict[str, Any] = {"model": draw(mostly(st.just("claude-sonnet-4-5"))), "messages": draw(conversations())}
    for key in draw(st.lists(st.sampled_from(list(GOOD_PARAMS)), max_size=6, unique=True)):
        request[key] = draw(GOOD_PARAMS[key])
    return request


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mostly_valid_requests(), st.booleans())
def test_request_on_mostly_valid_input_gives_a_body_or_a_translation_error(
    request: dict[str, Any], strict: bool
) -> None:
    check_never_crashes(request, strict)


# ---- unknown keys at every level: each one is in the report, with its path (issue 10) -------------

_KNOWN_KEY_NAMES = {
    key
    for table in (
        *MESSAGE_KEYS.values(), *PART_KEYS.values(), IMAGE_URL_KEYS, FILE_KEYS, TOOL_CALL_KEYS, CALL_FUNCTION_KEYS,
        FUNCTION_TOOL_KEYS, FUNCTION_KEYS, NAMED_TOOL_CHOICE_KEYS, NAMED_TOOL_CHOICE_FUNCTION_KEYS,
        *RESPONSE_FORMAT_KEYS.values(), JSON_SCHEMA_FORMAT_KEYS, STREAM_OPTIONS_KEYS, WEB_SEARCH_OPTIONS_KEYS,
        USER_LOCATION_KEYS, APPROXIMATE_LOCATION_KEYS,
    )
    for key in table
} | set(MAPPED_FIELDS) | set(DROPPED_FIELDS) | set(REJECTED_FIELDS) | {"top_k", "thinking", "cache_control"}  # fmt: skip
UNKNOWN_KEY = st.text(alphabet="abcxyz_-. 9", min_size=1, max_size=8).filter(lambda k: k not in _KNOWN_KEY_NAMES)
UNKNOWN_VALUE = st.one_of(st.booleans(), st.integers(), st.text(max_size=4), st.just({"nested": [1]}), st.just([None]))


@st.composite
def valid_requests_with_their_objects(draw: st.DrawFn) -> tuple[dict[str, Any], list[tuple[dict[str, Any], str]]]:
    """A request that translates, using every kind of object of the request schema, and every
    object in it with its JSON path (the places an unknown key can go)."""
    objects: list[tuple[dict[str, Any], str]] = []

    def obj(value: dict[str, Any], path: str) -> dict[str, Any]:
        objects.append((value, path))
        return value

    image = obj({"url": f"data:image/png;base64,{PNG}", "detail": "auto"}, "messages[1].content[1].image_url")
    file = obj({"file_data": f"data:application/pdf;base64,{PDF}", "filename": "a.pdf"}, "messages[1].content[2].file")
    arguments = obj({"name": "get_weather", "arguments": '{"city": "Oslo"}'}, "messages[2].tool_calls[0].function")
    tool_call = obj({"id": "c1", "type": "function", "function": arguments}, "messages[2].tool_calls[0]")
    messages = [
        obj({"role": draw(st.sampled_from(["system", "developer"])), "content": "rules"}, "messages[0]"),
        obj(
            {
                "role": "user",
                "content": [
                    obj({"type": "text", "text": "look"}, "messages[1].content[0]"),
                    obj({"type": "image_url", "image_url": image}, "messages[1].content[1]"),
                    obj({"type": "file", "file": file}, "messages[1].content[2]"),
                ],
            },
            "messages[1]",
        ),
        obj({"role": "assistant", "content": "checking", "tool_calls": [tool_call]}, "messages[2]"),
        obj({"role": "tool", "tool_call_id": "c1", "content": "4C"}, "messages[3]"),
        obj(
            {"role": "user", "content": [obj({"type": "text", "text": "thanks"}, "messages[4].content[0]")]},
            "messages[4]",
        ),
    ]
    function = obj({"name": "get_weather", "parameters": {"type": "object"}}, "tools[0].function")
    request = obj(
        {
            "model": draw(st.sampled_from(["claude-sonnet-4-5", "claude-future-1", "claude-opus-4-7"])),
            "messages": messages,
            "tools": [obj({"type": "function", "function": function}, "tools[0]")],
            "tool_choice": obj(
                {"type": "function", "function": obj({"name": "get_weather"}, "tool_choice.function")}, "tool_choice"
            ),
            "stream": True,
            "stream_options": obj({"include_usage": True}, "stream_options"),
            "web_search_options": obj(
                {
                    "user_location": obj(
                        {
                            "type": "approximate",
                            "approximate": obj({"city": "Oslo"}, "web_search_options.user_location.approximate"),
                        },
                        "web_search_options.user_location",
                    )
                },
                "web_search_options",
            ),
        },
        "$",
    )
    if draw(st.booleans()):  # response_format needs a request without a forced tool choice... it has none here
        del request["tool_choice"]
        request["response_format"] = obj(
            {
                "type": "json_schema",
                "json_schema": obj(
                    {"name": "x", "schema": {"type": "object", "properties": {}, "additionalProperties": False}},
                    "response_format.json_schema",
                ),
            },
            "response_format",
        )
        objects[:] = [(o, p) for o, p in objects if not p.startswith("tool_choice")]
    return request, objects


@SETTINGS
@given(valid_requests_with_their_objects(), st.data())
def test_an_unknown_key_anywhere_is_a_dropped_note_with_its_path(
    case: tuple[dict[str, Any], list[tuple[dict[str, Any], str]]], data: st.DataObject
) -> None:
    request, objects = case
    chosen = data.draw(st.lists(st.sampled_from(objects), min_size=1, max_size=5, unique_by=lambda o: o[1]))
    expected: set[str] = set()
    for target, path in chosen:
        key = data.draw(UNKNOWN_KEY)
        target[key] = data.draw(UNKNOWN_VALUE)
        expected.add(child(path, key))
    result = openai_to_anthropic.request(request)
    assert_anthropic_body(result.body, result.betas)
    unknown = {n.path for n in result.notes if n.action == "dropped" and n.reason == UNKNOWN}
    assert unknown == expected
    with pytest.raises(TranslationError) as info:
        openai_to_anthropic.request(request, strict=True)
    assert expected <= {p.path for p in info.value.problems}
    explained = {row.path for row in result.explain(request)}
    assert expected <= explained
