"""Round trips (hypothesis): an Anthropic request translated to OpenAI (anthropic_to_openai.request) and back
(openai_to_anthropic.request) keeps its meaning; whatever cannot make the trip is in the first translation's report.

The meaning compared: the system text, each turn's role, text, images, documents, tool calls (id, name, input)
and tool results (id, content) in order, the tools (name, description, schema), the tool choice, stop
sequences, sampling, the output limit and the user id. What OpenAI's shape cannot carry — the order of text
and tool calls inside one assistant turn (text comes first), thinking and its signature, redacted thinking,
`is_error`, cache breakpoints, `top_k` — is taken out of the original before the comparison, and each
occurrence must have a note with its path. Also: every translation never crashes and gives a valid OpenAI body.
"""

from __future__ import annotations

import base64
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protoshift.translator import TranslationError, anthropic_to_openai, openai_to_anthropic
from tests.oracles import assert_anthropic_body, assert_openai_body, validate_message_create_params

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MODEL = "local-model"  # unknown to the model table on both sides: nothing is reshaped for a model

TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20).filter(
    lambda s: s.strip() != ""
)
IDENT = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_-]{0,15}", fullmatch=True)
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
PDF = base64.b64encode(b"%PDF-1.4 fake").decode()
CACHE = st.none() | st.just({"type": "ephemeral"})


def with_cache(block: dict[str, Any], cache: dict[str, Any] | None) -> dict[str, Any]:
    return block if cache is None else {**block, "cache_control": cache}


@st.composite
def text_block(draw: st.DrawFn) -> dict[str, Any]:
    return with_cache({"type": "text", "text": draw(TEXT)}, draw(CACHE))


@st.composite
def user_block(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["text", "text", "image64", "imageurl", "pdf"]))
    if kind == "text":
        return draw(text_block())
    if kind == "image64":
        return {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
    if kind == "imageurl":
        return {"type": "image", "source": {"type": "url", "url": f"https://example.com/{draw(IDENT)}.jpg"}}
    return {
        "type": "document",
        "title": draw(IDENT) + ".pdf",
        "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
    }


JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(IDENT, inner, max_size=3),
    max_leaves=6,
)


@st.composite
def conversation(draw: st.DrawFn) -> tuple[list[dict[str, Any]], set[str]]:
    """Alternating turns, ending with a user turn; tool calls always answered in the next user turn."""
    messages: list[dict[str, Any]] = []
    tools_used: set[str] = set()
    first = draw(st.lists(user_block(), min_size=1, max_size=3))
    messages.append({"role": "user", "content": draw(TEXT) if draw(st.booleans()) else first})
    for _ in range(draw(st.integers(0, 3))):
        blocks: list[dict[str, Any]] = []
        if draw(st.booleans()):
            blocks.append({"type": "thinking", "thinking": draw(TEXT), "signature": "sig" + draw(IDENT)})
        if draw(st.integers(0, 5)) == 0:
            blocks.append({"type": "redacted_thinking", "data": draw(IDENT)})
        blocks += [draw(text_block()) for _ in range(draw(st.integers(0, 2)))]
        calls = []
        for k in range(draw(st.integers(0, 3))):
            name = draw(st.sampled_from(["get_weather", "search", "read_file"]))
            call_id = f"toolu_{len(messages)}_{k}"
            calls.append(call_id)
            tools_used.add(name)
            blocks.append({"type": "tool_use", "id": call_id, "name": name,
                           "input": draw(st.dictionaries(IDENT, JSON_VALUE, max_size=3))})  # fmt: skip
        if not any(b["type"] in ("text", "tool_use") for b in blocks):
            blocks.append(draw(text_block()))
        messages.append({"role": "assistant", "content": blocks})
        answer: list[dict[str, Any]] = []
        for call_id in calls:
            content: Any = draw(st.one_of(TEXT, st.lists(text_block(), min_size=1, max_size=2)))
            result = {"type": "tool_result", "tool_use_id": call_id, "content": content}
            if draw(st.integers(0, 3)) == 0:
                result["is_error"] = True
            answer.append(with_cache(result, draw(CACHE)))
        answer += draw(st.lists(user_block(), min_size=0 if calls else 1, max_size=2))
        messages.append({"role": "user", "content": answer})
    return messages, tools_used


SCHEMAS = {
    "get_weather": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "search": {"type": "object", "properties": {"q": {"type": "string"}, "n": {"type": "integer"}}},
    "read_file": {"type": "object", "properties": {"path": {"type": "string"}}},
}


@st.composite
def anthropic_requests(draw: st.DrawFn) -> dict[str, Any]:
    messages, used = draw(conversation())
    request: dict[str, Any] = {"model": MODEL, "max_tokens": draw(st.integers(1, 100_000)), "messages": messages}
    if draw(st.booleans()):
        request["system"] = draw(TEXT) if draw(st.booleans()) else draw(st.lists(text_block(), min_size=1, max_size=3))
    names = sorted(used | set(draw(st.sets(st.sampled_from(sorted(SCHEMAS)), max_size=2))))
    if names:
        request["tools"] = [{"name": n, "description": f"{n} tool", "input_schema": SCHEMAS[n]} for n in names]
        choice: dict[str, Any] = draw(
            st.sampled_from([{"type": "auto"}, {"type": "any"}, {"type": "none"}, {"type": "tool", "name": names[0]}])
        )
        if choice["type"] != "none" and draw(st.booleans()):
            choice["disable_parallel_tool_use"] = True
        if draw(st.booleans()):
            request["tool_choice"] = choice
    if draw(st.booleans()):
        request["stop_sequences"] = draw(st.lists(TEXT, min_size=1, max_size=3))
    if draw(st.booleans()):
        request["temperature"] = draw(st.sampled_from([0, 0.3, 0.7, 1]))
    if draw(st.booleans()):
        request["top_p"] = draw(st.sampled_from([0.5, 0.9]))
    if draw(st.integers(0, 4)) == 0:
        request["top_k"] = draw(st.integers(1, 100))
    if draw(st.booleans()):
        request["metadata"] = {"user_id": draw(IDENT)}
    return request


# ---- the meaning of an Anthropic body ----------------------------------------------------------------


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    return [b["text"] for b in content]


def meaning(body: dict[str, Any]) -> dict[str, Any]:
    system = body.get("system")
    turns = []
    for message in body["messages"]:
        content = message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        text = "".join(b["text"] for b in blocks if b["type"] == "text")
        items: list[Any] = [("text", text)] if text else []
        for block in blocks:
            match block["type"]:
                case "image" | "document":
                    items.append((block["type"], block["source"].get("data") or block["source"].get("url")))
                case "tool_use":
                    items.append(("tool_use", block["id"], block["name"], block["input"]))
                case "tool_result":
                    items.append(("tool_result", block["tool_use_id"], "".join(_texts(block.get("content", "")))))
        turns.append((message["role"], items))
    choice = body.get("tool_choice")
    return {
        "system": "".join(_texts(system)) if system else "",
        "turns": turns,
        "tools": [(t["name"], t.get("description"), t["input_schema"]) for t in body.get("tools", [])],
        "tool_choice": choice,
        "stop": body.get("stop_sequences"),
        "temperature": body.get("temperature"),
        "top_p": body.get("top_p"),
        "max_tokens": body["max_tokens"],
        "user": (body.get("metadata") or {}).get("user_id"),
    }


def _strip_lossy(request: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The request without what OpenAI's shape cannot carry, and the paths that must have a note."""
    expect: list[str] = []
    stripped = {k: v for k, v in request.items() if k != "top_k"}
    if "top_k" in request:
        expect.append("top_k")
    system = request.get("system")
    if isinstance(system, list):
        expect += [f"system[{j}].cache_control" for j, b in enumerate(system) if "cache_control" in b]
    messages = []
    for i, message in enumerate(request["messages"]):
        content = message["content"]
        if isinstance(content, str):
            messages.append(message)
            continue
        kept = []
        for j, block in enumerate(content):
            path = f"messages[{i}].content[{j}]"
            if "cache_control" in block:
                expect.append(f"{path}.cache_control")
            if block["type"] == "tool_result":
                if block.get("is_error"):
                    expect.append(f"{path}.is_error")
                if isinstance(block["content"], list):
                    expect += [f"{path}.content[{k}].cache_control" for k, b in enumerate(block["content"])
                               if "cache_control" in b]  # fmt: skip
            if block["type"] in ("thinking", "redacted_thinking"):
                expect.append(path if block["type"] == "redacted_thinking" else "")
                continue
            kept.append(block)
        # OpenAI puts an assistant turn's text before its tool calls
        if message["role"] == "assistant":
            kept = [b for b in kept if b["type"] == "text"] + [b for b in kept if b["type"] != "text"]
        messages.append({**message, "content": kept})
    stripped["messages"] = messages
    return stripped, [p for p in expect if p]


@SETTINGS
@given(anthropic_requests())
def test_a_request_survives_the_round_trip_or_says_what_did_not(request: dict[str, Any]) -> None:
    validate_message_create_params(request)
    there = anthropic_to_openai.request(request)
    assert_openai_body(there.body)
    back = openai_to_anthropic.request(there.body, default_max_tokens=request["max_tokens"])
    assert_anthropic_body(back.body, back.betas)
    stripped, must_be_noted = _strip_lossy(request)
    expected = meaning(stripped)
    got = meaning(back.body)
    if expected["tool_choice"] is None and "tools" not in request:
        got["tool_choice"] = None
    assert got == expected
    noted = {note.path for note in there.notes}
    missing = [path for path in must_be_noted if path not in noted]
    assert not missing, f"lost without a note: {missing}"
    # thinking never survives (no signature on the OpenAI side): each assistant turn that had it says so
    for i, message in enumerate(request["messages"]):
        if message["role"] == "assistant" and any(b.get("type") == "thinking" for b in message["content"]):
            assert any(n.path.startswith(f"messages[{i}].content[") for n in there.notes)


@SETTINGS
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=20,
    )
)
def test_any_input_gives_a_valid_body_or_a_translation_error(value: Any) -> None:
    base = {"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    for candidate in (value, {**base, "messages": value}, {**base, "tools": value}, {**base, "system": value},
                      {**base, "messages": [{"role": "user", "content": value}]}):  # fmt: skip
        try:
            translation = anthropic_to_openai.request(candidate)
        except TranslationError as exc:
            assert exc.problems and all(p.path and p.reason for p in exc.problems)
        else:
            assert_openai_body(translation.body)
