"""Hostile HTTP requests for `protoshift serve`'s surfaces, built on tests/fuzz/strategies.py's hostile values.

A body is a valid request of the surface (its seeds) mutated as strategies.mutated does, plus unknown keys
at any depth, written as a careless program writes JSON (NaN, `\\ud800` escapes, huge integers), sometimes
mangled, with a duplicated key, or replaced by something that is almost JSON, nested 10,000 deep, or over
the body limit. A stored-response request has a hostile id and query string."""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from protoshift.translator import openai_to_anthropic
from tests.fuzz.serve_harness import FUZZ_BODY_LIMIT
from tests.fuzz.strategies import HOSTILE, json_text, mangled_text, mutated, paths, request_seeds
from tests.translator.codex_fixtures import codex_request

CHAT_SEEDS = request_seeds()
MESSAGES_SEEDS = [openai_to_anthropic.request(seed).body for seed in CHAT_SEEDS[:12]]
COUNT_SEEDS = [{k: v for k, v in seed.items() if k not in ("max_tokens", "stream")} for seed in MESSAGES_SEEDS]
RESPONSES_SEEDS: list[dict[str, Any]] = [
    codex_request(),
    {"model": "m", "input": "hi"},
    {"model": "m", "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}], "store": True},
    {"model": "m", "input": "hi", "instructions": "be brief", "max_output_tokens": 64, "temperature": 0.5,
     "tools": [{"type": "function", "name": "f", "parameters": {"type": "object", "properties": {}}}],
     "tool_choice": "auto", "reasoning": {"effort": "low", "summary": "auto"}, "metadata": {"k": "v"}},
]  # fmt: skip
SEEDS = {
    "/v1/chat/completions": CHAT_SEEDS,
    "/v1/messages": MESSAGES_SEEDS,
    "/v1/messages/count_tokens": COUNT_SEEDS,
    "/v1/responses": RESPONSES_SEEDS,
}
GOOD = {path: seeds[0] if path != "/v1/responses" else RESPONSES_SEEDS[1] for path, seeds in SEEDS.items()}

UNKNOWN_KEY = st.one_of(st.text(max_size=8), st.sampled_from(["__proto__", "x-unknown", "$ref", "constructor"]))


@st.composite
def with_unknown_keys(draw: st.DrawFn, value: Any) -> Any:
    """`value` with an unknown key (and a hostile value) added to one to three of its objects."""
    root = copy.deepcopy(value)
    objects = [p for p in paths(root) if isinstance(_at(root, p), dict)]
    for _ in range(draw(st.integers(1, 3)) if objects else 0):
        _at(root, draw(st.sampled_from(objects)))[draw(UNKNOWN_KEY)] = draw(HOSTILE)
    return root


def _at(root: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        root = root[step]
    return root


def _stream_flag(value: Any, stream: bool) -> Any:
    if stream and isinstance(value, dict):
        value["stream"] = True
    return value


@st.composite
def json_body(draw: st.DrawFn, path: str) -> bytes:
    """A mutated request of the surface as JSON text (its `stream` sometimes set), as a careless client sends it."""
    seeds = SEEDS[path]
    value = draw(st.one_of(mutated(seeds), st.sampled_from(seeds).flatmap(with_unknown_keys)))
    value = _stream_flag(value, path != "/v1/messages/count_tokens" and draw(st.booleans()))
    text = json_text(value)
    how = draw(st.sampled_from(["as is", "as is", "mangled", "duplicate key"]))
    if how == "mangled":
        return draw(mangled_text(text))
    if how == "duplicate key" and text.startswith("{") and len(text) > 2:
        key = draw(st.sampled_from(["model", "messages", "input", "stream", "max_tokens", "tools"]))
        return ("{" + json_text(key) + ": " + json_text(draw(HOSTILE)) + ", " + text[1:]).encode(
            "utf-8", "surrogatepass"
        )
    return text.encode("utf-8", "surrogatepass")


def _deep(depth: int, kind: str) -> bytes:
    opening, closing = ('{"a":', "}") if kind == "dict" else ("[", "]")
    return f'{{"model": "m", "messages": {opening * depth}1{closing * depth}}}'.encode()


ALMOST_JSON: list[bytes] = [
    b"", b" ", b"null", b"[]", b"0", b'"text"', b"{", b"}", b"{}", b'{"model": "m",}', b"{'model': 'm'}",
    b'{"model": NaN}', b'{"max_tokens": Infinity}', b'{"temperature": -Infinity}', b'{"model": "m"} trailing',
    b'{"model": "\\ud800"}', b'{"model": "m", "messages": [{"role": "user", "content": "\\udfff\\ud800"}]}',
    b'{"model": "\\u0000"}', b"\xef\xbb\xbf{}", b"\xff\xfe{\x00}\x00", b'{"a": "\xed\xa0\x80"}',
    b'{"max_tokens": ' + b"9" * 1000 + b"}", b'{"max_tokens": -' + b"1" * 1000 + b"}",
    b'{"max_tokens": 1e999999}', b'{"max_tokens": 1' + b"0" * 1000 + b".5}",
    b'{"model": "m", "model": 5}', b'{"stream": true, "stream": "yes"}',
]  # fmt: skip


@st.composite
def raw_body(draw: st.DrawFn, path: str) -> bytes:
    """Bodies that are not a mutated request: almost JSON, deep, huge (the limit crossed, or nearly)."""
    kind = draw(st.sampled_from(["almost", "deep", "huge string", "huge array", "digits", "surrogate"]))
    seed = copy.deepcopy(GOOD[path])
    if kind == "almost":
        return draw(st.sampled_from(ALMOST_JSON))
    if kind == "deep":
        return _deep(draw(st.sampled_from([1_000, 10_000, 100_000])), draw(st.sampled_from(["list", "dict"])))
    if kind == "huge string":
        size = draw(st.sampled_from([FUZZ_BODY_LIMIT - 200, FUZZ_BODY_LIMIT, FUZZ_BODY_LIMIT + 1, 4 * FUZZ_BODY_LIMIT]))
        seed["model" if draw(st.booleans()) else "x_huge"] = "a" * size
        return json_text(seed).encode()
    if kind == "huge array":
        items_field = "input" if path == "/v1/responses" else "messages"
        seed[items_field] = [{"role": "user", "content": "x"}] * draw(st.sampled_from([9_999, 10_001, 20_000]))
        return json_text(seed).encode()
    if kind == "digits":
        field = draw(st.sampled_from(["max_tokens", "temperature", "model", "max_output_tokens", "n", "top_k"]))
        seed[field] = 10 ** draw(st.sampled_from([999, 1000, 4300, 5000]))
        return json_text(seed).encode()
    field = draw(st.sampled_from(["model", "x_unknown", "user", "instructions", "system"]))
    seed[field] = "\ud800" + draw(st.text(max_size=4))
    return json_text(seed).encode("utf-8", "surrogatepass")


JSON_TYPE = [(b"content-type", b"application/json")]
CONTENT_TYPES: list[list[tuple[bytes, bytes]]] = [
    [], [(b"content-type", b"text/plain")], [(b"content-type", b"application/x-www-form-urlencoded")],
    [(b"content-type", b"APPLICATION/JSON; charset=UTF-8")], [(b"content-type", b"application/json;charset=latin-1")],
    [(b"content-type", b"application/jsonp")], [(b"content-type", b"multipart/form-data; boundary=x")],
    [(b"content-type", b"application/json\x00")], [(b"content-type", b"")], [(b"content-type", b"\xff\xfe")],
    [(b"content-type", b"text/plain"), (b"content-type", b"application/json")],
    [(b"content-type", b"application/json"), (b"content-encoding", b"gzip")],
]  # fmt: skip


@st.composite
def post(draw: st.DrawFn) -> tuple[str, bytes, list[tuple[bytes, bytes]], bool]:
    """(path, body, headers, content-length said) of a hostile POST to one of the surfaces."""
    path = draw(st.sampled_from(list(SEEDS)))
    body = draw(st.one_of(json_body(path), json_body(path), json_body(path), raw_body(path)))
    headers = JSON_TYPE if draw(st.integers(0, 9)) else draw(st.sampled_from(CONTENT_TYPES))
    if path.startswith("/v1/messages"):
        headers = [*headers, (b"anthropic-version", b"2023-06-01")]
    return path, body, headers, draw(st.integers(0, 5)) > 0


# -- stored responses: hostile ids and query strings --------------------------------------------------------

ID_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", ".", "..", "../../etc/passwd", "%00", "%", "%zz", "a/b", "resp_", "null", "-1", "\x00"]),
    st.builds(lambda s: s * 3000, st.sampled_from(["a", "é", "%2F"])),
    st.builds(lambda a, s: a + s, st.text(max_size=6), st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)),
)
QUERY_VALUE = st.one_of(
    st.sampled_from(["", "0", "1", "100", "101", "-1", "1e3", "NaN", "asc", "desc", "ASC", "²", "١", "１", "9" * 400]),
    st.text(max_size=10),
)
QUERY_KEY = st.sampled_from(["limit", "order", "after", "before", "include", "include[]", "stream", "x", ""])


def encode_id(text: str, raw: bool) -> str:
    """An id as a client puts it in a path: percent-encoded (a lone surrogate as the bytes a careless encoder
    writes), or as given (a raw `/`, `%`, `..` kept)."""
    if raw:
        return "".join(c if 0x21 <= ord(c) < 0x7F else quote(c.encode("utf-8", "surrogatepass")) for c in text)
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


@st.composite
def query(draw: st.DrawFn) -> str:
    pairs = draw(st.lists(st.tuples(QUERY_KEY, QUERY_VALUE), max_size=4))
    encoded = "&".join(f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in pairs)
    if draw(st.integers(0, 4)) == 0:  # bytes a client sent unencoded (httptools passes them on)
        encoded += "&" + draw(st.sampled_from(["limit=\xb2", "limit=\xb9", "order=\xe9", "after=\xff", "&&==", "%"]))
    return encoded


@st.composite
def stored_request(draw: st.DrawFn, known: list[str]) -> tuple[str, str]:
    """(method, target) of a request for a stored response: a hostile id, or a known one with a hostile query."""
    method = draw(st.sampled_from(["GET", "GET", "DELETE"]))
    given = draw(st.one_of(ID_TEXT, st.sampled_from(known))) if known else draw(ID_TEXT)
    target = "/v1/responses/" + encode_id(given, draw(st.booleans()))
    if draw(st.booleans()):
        target += "/input_items"
        method = "GET"
    q = draw(query())
    return method, target + ("?" + q if q else "")
