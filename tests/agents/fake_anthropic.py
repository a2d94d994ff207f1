"""A fake Anthropic Messages API on 127.0.0.1: real sockets, real SSE bytes, answering the way
api.anthropic.com does and refusing what it would refuse. Built to see what Claude Code sends
(capture_claude_code.py) and to run it against scripted turns (test_claude_code_fake.py).

    with FakeAnthropic([tool_uses(tool_use("Write", {...})), text("Done.")]) as api:
        point a client at api.url (ANTHROPIC_BASE_URL=http://127.0.0.1:PORT) with api.key
        api.turns      # the POST /v1/messages answered with a scripted turn, in order
        api.requests   # every request received, refused ones and the other routes included

Routes: `POST /v1/messages` (scripted turns), `POST /v1/messages/count_tokens` (an estimate, kept in
`counted`), `GET /v1/models` (`limit`, `after_id`, `before_id`; Anthropic's list shape) and
`GET /v1/models/{id}`, `HEAD /` and `GET /` (200, as the API's front answers). `?beta=true` (what the
TypeScript SDK adds to beta calls) is taken on every route.

The n-th accepted `POST /v1/messages` gets the n-th turn, a function of the request returning a `Reply`
(tests/fakes.py), built by the helpers here:

- `text(...)`, `tool_uses(...)` (one or several `tool_use` blocks: parallel calls), each optionally
  after a signed `thinking` block: the API's event order — `message_start`, `ping`, per block
  `content_block_start` / deltas (`text_delta`, `input_json_delta` in pieces, `thinking_delta` then
  `signature_delta`) / `content_block_stop`, `message_delta` (stop_reason, usage), `message_stop`.
  Every event is checked against the `anthropic` SDK's types first (tests/oracles.py). A request
  without `stream: true` gets the Message as JSON.
- `rate_limited(retry_after)`: HTTP 429 `rate_limit_error` with `retry-after` and the
  `anthropic-ratelimit-*` headers; `overloaded()`: HTTP 529 `overloaded_error`;
  `stream_error(turn, after=n)`: an `event: error` (overloaded) after n events, as the API sends
  when it fails mid-stream.
- `cut(turn, after=n)`: the stream with the connection closed after n events.
- `stall(turn, after=n, seconds=s, ping_every=p)`: silent after n events for s seconds (or until the
  fake closes), with an `event: ping` every p seconds when p is given, then the rest.

Refusals (not counted as turns; kept in `refusals`), in the API's error shape
`{"type": "error", "error": {"type", "message"}, "request_id"}` with a `request-id` header:
- an unknown path: 404 `not_found_error`; no key / another key (`x-api-key`, or
  `authorization: Bearer` for ANTHROPIC_AUTH_TOKEN): 401 `authentication_error`;
- no `anthropic-version`: 400; an `anthropic-beta` value the API does not know (`known_betas`): 400;
- a body that is not what the SDK's types say (the beta types when betas are sent; unknown keys
  refused at every level, blocks checked against their own TypedDict): 400 naming where
  (`messages.0.content.1.foo: Extra inputs are not permitted`);
- a `tool_use` with no `tool_result` in the next user message, a `tool_result` whose `tool_use` is not
  in the message before, duplicate tool names: 400 in the API's words;
- a `thinking` block whose signature is not the one this server issued for that text (a gateway
  must carry it back byte for byte): 400 ``Invalid `signature` in `thinking` block``.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
import traceback
import typing
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pydantic

from tests.fakes import FakeServer, Received, Reply, ScriptedFake, sse
from tests.oracles import (
    _force,
    assert_anthropic_event_sequence,
    validate_anthropic_message,
    validate_message_create_params,
)

API_KEY = "sk-ant-fake-anthropic-7Hq2Lw9"
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")

# The anthropic-beta values the fake takes: what the pinned Claude Code sends (fixtures/claude_code_*.json)
# and the published ones a gateway may add. The API refuses a value it does not know.
KNOWN_BETAS = frozenset({
    "advanced-tool-use-2025-11-20",
    "claude-code-20250219",
    "context-1m-2025-08-07",
    "context-management-2025-06-27",
    "effort-2025-11-24",
    "fine-grained-tool-streaming-2025-05-14",
    "interleaved-thinking-2025-05-14",
    "mid-conversation-system-2026-04-07",
    "mid-conversation-tool-changes-2026-07-01",
    "oauth-2025-04-20",
    "per-turn-control-2026-07-01",
    "prompt-caching-scope-2026-01-05",
    "redact-thinking-2026-02-12",
    "structured-outputs-2025-11-13",
    "thinking-display-updates-2026-08-18",
    "thinking-token-count-2026-05-13",
    "token-counting-2024-11-01",
    "token-efficient-tools-2025-02-19",
    "tool-search-tool-2025-10-19",
    "web-fetch-2025-09-10",
})  # fmt: skip

MODELS = (  # id, display name, line, context window, max output
    ("claude-opus-4-5-20251101", "Claude Opus 4.5", "opus", 200_000, 64_000),
    ("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", "sonnet", 1_000_000, 64_000),
    ("claude-haiku-4-5-20251001", "Claude Haiku 4.5", "haiku", 200_000, 64_000),
)

Turn = Callable[["TurnContext"], Reply]
# pydantic-core has panicked here when two threads first walked the same lazy validator at once
# (count_tokens calls come in parallel): one validation at a time.
_VALIDATING = threading.Lock()


# ---- the SDK's types as the oracle ------------------------------------------------------------------


@cache
def _beta_block_keys() -> dict[str, frozenset[str]]:
    """Block type -> the keys its beta request TypedDict allows (the unions let extra keys through)."""
    import anthropic.types.beta as beta

    keys: dict[str, frozenset[str]] = {}
    for name in dir(beta):
        cls = getattr(beta, name)
        if name.endswith("BlockParam") and isinstance(cls, type) and hasattr(cls, "__required_keys__"):
            hints = typing.get_type_hints(cls, include_extras=True)
            kind = hints.get("type")
            while typing.get_origin(kind) in (typing.Required, typing.NotRequired, typing.Annotated):
                kind = typing.get_args(kind)[0]
            if typing.get_origin(kind) is typing.Literal:
                for literal in typing.get_args(kind):
                    keys[literal] = keys.get(literal, frozenset()) | frozenset(hints)
    return keys


@cache
def _count_tokens_adapter() -> pydantic.TypeAdapter[Any]:
    from anthropic.types.beta.message_count_tokens_params import MessageCountTokensParams

    # A TypedDict takes no config of its own: a list of it does, and "forbid" then reaches every nested one.
    with warnings.catch_warnings():  # one member allows extra items; "forbid" does not apply to it
        warnings.simplefilter("ignore")
        return pydantic.TypeAdapter(list[MessageCountTokensParams], config=pydantic.ConfigDict(extra="forbid"))


@cache
def _model_adapter() -> pydantic.TypeAdapter[Any]:
    from anthropic.types import ModelInfo

    return pydantic.TypeAdapter(ModelInfo)


def check_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`events` if they are valid stream events (no unknown field) in the API's order; else AssertionError."""
    with _VALIDATING:
        assert_anthropic_event_sequence(events)
    return events


# ---- request checks ---------------------------------------------------------------------------------


class Refused(Exception):
    def __init__(self, status: int, message: str, error_type: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status = status
        self.error = {"type": error_type, "message": message}


def _where(loc: Iterable[int | str]) -> str:
    """A pydantic location as the API names a field (`messages.0.content.1.foo`), without the union
    members pydantic names on the way."""
    parts = [str(p) for p in loc if isinstance(p, int) or not re.match(r"^[A-Z]|^(union|function-|json-or)", p)]
    return ".".join(parts)


def _check_schema(body: dict[str, Any], beta: bool) -> None:
    try:
        with _VALIDATING:
            validate_message_create_params(body, beta=beta)
    except pydantic.ValidationError as exc:
        errors = exc.errors()
        extra = [e for e in errors if e["type"] == "extra_forbidden"]
        error = (extra or errors)[0]
        raise Refused(400, f"{_where(error['loc'])}: {error['msg']}") from exc
    except AssertionError as exc:  # the sampling fields the oracle checks itself
        raise Refused(400, str(exc)) from exc
    keys = _beta_block_keys()
    for m, message in enumerate(body["messages"]):
        content = message.get("content")
        for b, block in enumerate(content if isinstance(content, list) else []):
            inner = block.get("content") if block.get("type") == "tool_result" else None
            nested = [(f"messages.{m}.content.{b}.content.{i}", x) for i, x in enumerate(inner or []) if
                      isinstance(inner, list)]  # fmt: skip
            for where, item in [(f"messages.{m}.content.{b}", block), *nested]:
                allowed = keys.get(item.get("type", ""), frozenset())
                for key in item:
                    if key not in allowed:
                        raise Refused(400, f"{where}.{key}: Extra inputs are not permitted")


def _check_conversation(body: dict[str, Any], signature_of: Callable[[str], str]) -> None:
    """What the API checks across messages: tool_use answered in the next user message, tool_result
    answering the message before, thinking signed by this server."""
    names = [tool.get("name") for tool in body.get("tools") or [] if "name" in tool]
    for n, name in enumerate(names):
        if not isinstance(name, str) or not TOOL_NAME.match(name):
            raise Refused(400, f"tools.{n}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise Refused(400, f"tools: Tool names must be unique. Duplicate: {', '.join(map(str, duplicates))}")
    # System-role messages (mid-conversation system, beta) sit between turns: the pairing skips them.
    turns = [(m, msg) for m, msg in enumerate(body["messages"]) if msg.get("role") != "system"]
    pending: list[str] = []
    pending_at: int | None = None
    for m, message in turns:
        blocks = message["content"] if isinstance(message["content"], list) else []
        if message["role"] == "user":
            answered = []
            for b, block in enumerate(blocks):
                if block.get("type") == "tool_result":
                    if block.get("tool_use_id") not in pending:
                        raise Refused(
                            400,
                            f"messages.{m}.content.{b}: unexpected `tool_use_id` found in `tool_result` blocks: "
                            f"{block.get('tool_use_id')}. Each `tool_result` block must have a corresponding "
                            "`tool_use` block in the previous message.",
                        )
                    answered.append(block["tool_use_id"])
            missing = [i for i in pending if i not in answered]
            if missing:
                raise Refused(
                    400,
                    f"messages.{pending_at}: `tool_use` ids were found without `tool_result` blocks immediately "
                    f"after: {', '.join(missing)}. Each `tool_use` block must have a corresponding `tool_result` "
                    "block in the next message.",
                )
            pending, pending_at = [], None
        else:
            pending = [block["id"] for block in blocks if block.get("type") == "tool_use"]
            pending_at = m
            for b, block in enumerate(blocks):
                if block.get("type") == "thinking" and block.get("signature") != signature_of(
                    block.get("thinking", "")
                ):
                    raise Refused(400, f"messages.{m}.content.{b}: Invalid `signature` in `thinking` block")
                if block.get("type") == "redacted_thinking" and not str(block.get("data", "")).startswith("Er"):
                    raise Refused(400, f"messages.{m}.content.{b}: Invalid `data` in `redacted_thinking` block")


# ---- building an answer -----------------------------------------------------------------------------


@dataclass
class Usage:
    input_tokens: int | None = None  # None: estimated from the request's size
    output_tokens: int | None = None  # None: estimated from the answer's size
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0


@dataclass
class TurnContext:
    """What a turn needs to answer one request."""

    received: Received
    message_id: str
    ids: Iterator[int]
    sign: Callable[[str], str]  # thinking text -> the signature this server issues for it
    released: threading.Event  # set when the fake closes: ends every stall()

    @property
    def body(self) -> dict[str, Any]:
        return self.received.json

    def next_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self.ids):02d}{self.message_id[-18:]}"


@dataclass
class ToolUse:
    name: str
    input: dict[str, Any]
    id: str | None = None


def tool_use(name: str, input: dict[str, Any], *, id: str | None = None) -> ToolUse:
    """A `tool_use` block: Claude Code's `Write` ({"file_path", "content"}), `Bash` ({"command"}), ..."""
    return ToolUse(name, input, id)


def _pieces(text: str, n: int) -> list[str]:
    if not text:
        return []
    size = max(1, -(-len(text) // max(1, n)))
    return [text[i : i + size] for i in range(0, len(text), size)]


def estimate_tokens(body: dict[str, Any]) -> int:
    """About 4 characters a token over what the model reads: system, messages, tools."""
    return max(1, len(json.dumps([body.get("system"), body.get("messages"), body.get("tools")])) // 4)


class _Message:
    """The blocks of one answer, as stream events (checked against the SDK) or as the Message object."""

    def __init__(self, ctx: TurnContext, usage: Usage) -> None:
        self.ctx = ctx
        self.usage = usage
        self.blocks: list[dict[str, Any]] = []
        self.deltas: list[list[dict[str, Any]]] = []

    def thinking(self, thought: str, chunks: int) -> None:
        signature = self.ctx.sign(thought)
        self.blocks.append({"type": "thinking", "thinking": thought, "signature": signature})
        deltas = [{"type": "thinking_delta", "thinking": p} for p in _pieces(thought, chunks)]
        self.deltas.append([*deltas, {"type": "signature_delta", "signature": signature}])

    def text(self, answer: str, chunks: int) -> None:
        self.blocks.append({"type": "text", "text": answer})
        self.deltas.append([{"type": "text_delta", "text": p} for p in _pieces(answer, chunks)])

    def tool_use(self, use: ToolUse, chunks: int) -> None:
        call_id = use.id or self.ctx.next_id("toolu")
        self.blocks.append({"type": "tool_use", "id": call_id, "name": use.name, "input": use.input})
        arguments = json.dumps(use.input)
        self.deltas.append([{"type": "input_json_delta", "partial_json": p} for p in _pieces(arguments, chunks)])

    @property
    def stop_reason(self) -> str:
        return "tool_use" if any(b["type"] == "tool_use" for b in self.blocks) else "end_turn"

    def usage_object(self, output: bool) -> dict[str, Any]:
        u = self.usage
        input_tokens = u.input_tokens if u.input_tokens is not None else estimate_tokens(self.ctx.body)
        output_tokens = u.output_tokens if u.output_tokens is not None else max(1, len(json.dumps(self.blocks)) // 4)
        return {
            "input_tokens": input_tokens,
            "cache_creation_input_tokens": u.cache_creation_input_tokens,
            "cache_read_input_tokens": u.cache_read_input_tokens,
            "output_tokens": output_tokens if output else 1,
            "service_tier": "standard",
        }

    def message(self, *, done: bool) -> dict[str, Any]:
        return {
            "id": self.ctx.message_id,
            "type": "message",
            "role": "assistant",
            "model": self.ctx.body.get("model"),
            "content": list(self.blocks) if done else [],
            "stop_reason": self.stop_reason if done else None,
            "stop_sequence": None,
            "usage": self.usage_object(output=done),
        }

    def events(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = [
            {"type": "message_start", "message": self.message(done=False)},
            {"type": "ping"},
        ]
        for index, (block, deltas) in enumerate(zip(self.blocks, self.deltas, strict=True)):
            start = {"tool_use": {**block, "input": {}}, "text": {"type": "text", "text": ""},
                     "thinking": {"type": "thinking", "thinking": "", "signature": ""}}[block["type"]]  # fmt: skip
            events.append({"type": "content_block_start", "index": index, "content_block": start})
            events += [{"type": "content_block_delta", "index": index, "delta": delta} for delta in deltas]
            events.append({"type": "content_block_stop", "index": index})
        usage = self.usage_object(output=True)
        events.append({
            "type": "message_delta",
            "delta": {"stop_reason": self.stop_reason, "stop_sequence": None},
            "usage": {k: usage[k] for k in ("input_tokens", "cache_creation_input_tokens",
                                            "cache_read_input_tokens", "output_tokens")},
        })  # fmt: skip
        events.append({"type": "message_stop"})
        return check_events(events)


def _reply(ctx: TurnContext, message: _Message) -> Reply:
    headers = {"request-id": "req_" + ctx.message_id[-24:], "anthropic-organization-id": "fake-org"}
    if not ctx.body.get("stream"):
        whole = message.message(done=True)
        with _VALIDATING:
            validate_anthropic_message(whole)
        return Reply(body=json.dumps(whole).encode(), headers=headers)
    return Reply(events=[sse(event) for event in message.events()], headers=headers)


def text(answer: str, *, thinking: str | None = None, chunks: int = 3, usage: Usage | None = None) -> Turn:
    """A turn that answers `answer` (in `chunks` deltas), after a signed thinking block when `thinking` is given."""

    def turn(ctx: TurnContext) -> Reply:
        message = _Message(ctx, usage or Usage())
        if thinking is not None:
            message.thinking(thinking, chunks)
        message.text(answer, chunks)
        return _reply(ctx, message)

    return turn


def tool_uses(
    *uses: ToolUse, text: str | None = None, thinking: str | None = None, chunks: int = 3, usage: Usage | None = None
) -> Turn:
    """A turn that calls tools: one or several `tool_use` blocks (several: parallel calls), optionally
    after a signed thinking block and a text block."""

    def turn(ctx: TurnContext) -> Reply:
        message = _Message(ctx, usage or Usage())
        if thinking is not None:
            message.thinking(thinking, chunks)
        if text is not None:
            message.text(text, chunks)
        for use in uses:
            message.tool_use(use, chunks)
        return _reply(ctx, message)

    return turn


def error_body(error_type: str, message: str, request_id: str) -> bytes:
    return json.dumps({"type": "error", "error": {"type": error_type, "message": message},
                       "request_id": request_id}).encode()  # fmt: skip


def rate_limited(retry_after: float = 1.0, *, message: str = "Number of request tokens has exceeded your per-minute "
                 "rate limit (https://docs.claude.com/en/api/rate-limits); see the response headers for current "
                 "usage. Please reduce the prompt length or the maximum tokens requested, or try again later. You may "
                 "also contact sales at https://claude.com/contact-sales to discuss your options for a rate limit "
                 "increase.") -> Turn:  # fmt: skip
    """HTTP 429 as the API sends it: `retry-after` (whole seconds), the anthropic-ratelimit headers."""

    def turn(ctx: TurnContext) -> Reply:
        request_id = "req_429" + ctx.message_id[-20:]
        headers = {
            "retry-after": str(max(0, round(retry_after))),
            "request-id": request_id,
            "x-should-retry": "true",
            "anthropic-ratelimit-input-tokens-limit": "30000",
            "anthropic-ratelimit-input-tokens-remaining": "0",
            "anthropic-ratelimit-input-tokens-reset": "2026-01-01T00:00:01Z",
        }
        return Reply(status=429, body=error_body("rate_limit_error", message, request_id), headers=headers)

    return turn


def overloaded() -> Turn:
    """HTTP 529 `overloaded_error`."""

    def turn(ctx: TurnContext) -> Reply:
        request_id = "req_529" + ctx.message_id[-20:]
        return Reply(status=529, body=error_body("overloaded_error", "Overloaded", request_id),
                     headers={"request-id": request_id, "x-should-retry": "true"})  # fmt: skip

    return turn


def stream_error(turn: Turn, *, after: int, error_type: str = "overloaded_error", message: str = "Overloaded") -> Turn:
    """`turn`'s stream ending after `after` events in `event: error`, as the API ends a stream it cannot finish."""

    def failing(ctx: TurnContext) -> Reply:
        if not ctx.body.get("stream"):  # the same failure, for a request that did not ask for a stream
            return Reply(status=529, body=error_body(error_type, message, "req_529" + ctx.message_id[-20:]))
        reply = turn(ctx)
        assert reply.events is not None and 0 < after < len(reply.events), "stream_error() needs a longer stream"
        error = {"type": "error", "error": {"type": error_type, "message": message},
                 "request_id": reply.headers.get("request-id")}  # fmt: skip
        reply.events = [*reply.events[:after], sse(error)]
        return reply

    return failing


def cut(turn: Turn, *, after: int) -> Turn:
    """`turn`'s stream with the connection closed after `after` events: no `message_stop`, no end."""

    def cut_turn(ctx: TurnContext) -> Reply:
        if not ctx.body.get("stream"):  # the status line and headers, then the connection closes: no body
            return Reply(events=[], cut_after=0, headers={"content-type": "application/json"})
        reply = turn(ctx)
        assert reply.events is not None and after < len(reply.events), "cut() needs a streamed turn longer than `after`"
        reply.cut_after = after
        return reply

    return cut_turn


def stall(turn: Turn, *, after: int, seconds: float | None = None, ping_every: float | None = None) -> Turn:
    """`turn`'s stream, silent after `after` events for `seconds` (None: until the fake closes), with an
    `event: ping` every `ping_every` seconds meanwhile when given (the API's keep-alive), then the rest."""

    def stalled(ctx: TurnContext) -> Reply:
        reply = turn(ctx)
        if reply.events is None:  # not streamed: the silence comes before the status line, with no ping
            if seconds is None:
                reply.hold, reply.hold_at = ctx.released, 0
            else:
                reply.delay = seconds
            return reply
        assert reply.events is not None and 0 < after < len(reply.events), "stall() needs a longer stream"
        if seconds is None and ping_every is None:
            reply.hold, reply.hold_at = ctx.released, after
            return reply
        total = seconds if seconds is not None else 3600.0
        gaps = [ping_every] * int(total / ping_every + 1e-9) if ping_every else []
        rest = total - sum(gaps)
        pings = [sse({"type": "ping"})] * len(gaps)
        reply.events = [*reply.events[:after], *pings, *reply.events[after:]]
        reply.pauses = {after + k: gap for k, gap in enumerate(gaps)}
        if rest > 0:
            reply.pauses[after + len(gaps)] = rest
        reply.wake = ctx.released
        return reply

    return stalled


# ---- the server -------------------------------------------------------------------------------------


@dataclass
class Refusal:
    received: Received
    status: int
    error: dict[str, Any]


@dataclass
class FakeAnthropic(ScriptedFake):
    """A scripted fake of the Messages API; use as a context manager (the socket is open inside)."""

    script: Iterable[Turn]
    key: str = API_KEY
    models: tuple[tuple[str, str, str, int, int], ...] = MODELS
    known_betas: frozenset[str] = KNOWN_BETAS
    turns: list[Received] = field(default_factory=list)  # the POST /v1/messages answered with a scripted turn
    counted: list[Received] = field(default_factory=list)  # the count_tokens requests answered
    refusals: list[Refusal] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)  # ends every stall() at close
    broken: list[str] = field(default_factory=list)  # tracebacks of turns that failed the SDK's checks

    def __post_init__(self) -> None:
        self._script = list(self.script)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.server = FakeServer(self._respond)

    def sign(self, thinking: str) -> str:
        """The signature this server issues for a thinking text (opaque base64, shaped like the API's)."""
        digest = hashlib.sha256(f"fake-anthropic:{thinking}".encode()).digest()
        return "Eq" + base64.b64encode(digest * 3).decode()

    def _respond(self, received: Received) -> Reply:
        request_id = f"req_fake{next(self._ids):06d}"
        try:
            return self._answer(received)
        except Refused as refused:
            with self._lock:
                self.refusals.append(Refusal(received, refused.status, refused.error))
            body = {"type": "error", "error": refused.error, "request_id": request_id}
            return Reply(status=refused.status, body=json.dumps(body).encode(), headers={"request-id": request_id})
        except Exception:  # a turn that would send what the SDK refuses (or a bug here): the test's fault, said so
            with self._lock:
                self.broken.append(traceback.format_exc())
            message = "the fake's turn is broken: see FakeAnthropic.broken"
            return Reply(status=500, body=error_body("api_error", message, request_id),
                         headers={"request-id": request_id, "x-should-retry": "false"})  # fmt: skip

    def _answer(self, received: Received) -> Reply:
        url = urlsplit(received.path)
        path, query = url.path.rstrip("/") or "/", parse_qs(url.query)
        method = received.method
        if path in ("/", "/api/hello") and method in ("GET", "HEAD"):  # the front's health answers (a preconnect)
            return Reply(body=b"{}")
        routes = {("POST", "/v1/messages"), ("POST", "/v1/messages/count_tokens"), ("GET", "/v1/models")}
        model_route = re.fullmatch(r"/v1/models/([A-Za-z0-9._:@-]+)", path)
        if (method, path) not in routes and not (method == "GET" and model_route):
            raise Refused(404, "Not Found", "not_found_error")
        self._check_headers(received.headers)
        if method == "GET":
            return self._models(query, model_route.group(1) if model_route else None)
        body = received.body
        if not isinstance(body, dict):
            raise Refused(400, "There was an issue with your request body: it is not a JSON object")
        betas = [b.strip() for b in received.headers.get("anthropic-beta", "").split(",") if b.strip()]
        if path == "/v1/messages/count_tokens":
            return self._count(received, body)
        _check_schema(body, bool(betas))
        _check_conversation(body, self.sign)
        with self._lock:
            n = len(self.turns)
            if n >= len(self._script):  # a 400: a client retries a 5xx, and a missing turn is the test's to see
                raise Refused(400, f"the fake's script has {len(self._script)} turns; this is request {n + 1}")
            self.turns.append(received)
            turn = self._script[n]
            message_id = f"msg_{n + 1:02d}{hashlib.sha256(str(n).encode()).hexdigest()[:22]}"
        return turn(TurnContext(received, message_id, itertools.count(1), self.sign, self.released))

    def _check_headers(self, headers: dict[str, str]) -> None:
        key = headers.get("x-api-key")
        bearer = headers.get("authorization", "")
        given = key if key is not None else (bearer[7:].strip() if bearer.startswith("Bearer ") else None)
        if not given:
            raise Refused(401, "x-api-key header is required", "authentication_error")
        if given != self.key:
            raise Refused(401, "invalid x-api-key", "authentication_error")
        if not headers.get("anthropic-version"):
            raise Refused(400, "anthropic-version: header is required")
        for beta in (b.strip() for b in headers.get("anthropic-beta", "").split(",")):
            if beta and beta not in self.known_betas:
                raise Refused(
                    400,
                    f"Unexpected value(s) `{beta}` for the `anthropic-beta` header. Please consult our documentation "
                    "at docs.claude.com or try again without the header.",
                )

    def _count(self, received: Received, body: dict[str, Any]) -> Reply:
        try:
            with _VALIDATING:
                _force(_count_tokens_adapter().validate_python([body]))  # lazy iterables validate when walked
        except pydantic.ValidationError as exc:
            error = exc.errors()[0]
            raise Refused(400, f"{_where(error['loc'][1:])}: {error['msg']}") from exc
        with self._lock:
            self.counted.append(received)
        return Reply(body=json.dumps({"input_tokens": estimate_tokens(body)}).encode())

    def _models(self, query: dict[str, list[str]], one: str | None) -> Reply:
        infos = [
            {"type": "model", "id": model_id, "display_name": name, "created_at": "2025-09-29T00:00:00Z",
             "lifecycle": "active", "line": line, "max_input_tokens": window, "max_tokens": output}
            for model_id, name, line, window, output in self.models
        ]  # fmt: skip
        with _VALIDATING:
            for info in infos:
                _model_adapter().validate_python(info)
        if one is not None:
            found = [info for info in infos if info["id"] == one]
            if not found:
                raise Refused(404, f"model: {one}", "not_found_error")
            return Reply(body=json.dumps(found[0]).encode())
        ids = [info["id"] for info in infos]
        start, stop = 0, len(infos)
        if query.get("after_id"):
            start = ids.index(query["after_id"][0]) + 1 if query["after_id"][0] in ids else len(ids)
        if query.get("before_id"):
            stop = ids.index(query["before_id"][0]) if query["before_id"][0] in ids else 0
        limit = int(query.get("limit", ["20"])[0])
        if not 1 <= limit <= 1000:
            raise Refused(400, "limit: Input should be less than or equal to 1000")
        page = infos[start:stop][:limit]
        body = {"data": page, "has_more": start + len(page) < stop,
                "first_id": page[0]["id"] if page else None, "last_id": page[-1]["id"] if page else None}  # fmt: skip
        return Reply(body=json.dumps(body).encode())
