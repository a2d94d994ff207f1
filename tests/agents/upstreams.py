"""Fake model providers of each backend protocol, for agent clients through `protoshift serve`: a fake
Claude (Anthropic Messages) and a fake OpenAI-compatible Chat Completions server, on 127.0.0.1
(tests/fakes.py's `FakeServer`), scripted turn by turn in the same terms and answering each turn in
their own wire format, streamed as the real ones stream (or whole, when the request does not stream):

    script = [calls(Call("call_1", "exec_command", {"cmd": "echo hi > a.txt"})), text("Done.")]
    with ClaudeUpstream(script) as claude:        # or ChatUpstream(script)
        start the gateway in front of claude.url, with `[aliases] "gpt-5.5" = claude.model`
        claude.bodies       # the model requests it accepted, in order
        claude.violations   # what it refused (a test fails on any: `assert_clean`)

The model's tool calls are Anthropic `tool_use` blocks (`input_json_delta` fragments) on the one, chat
`tool_calls` (argument fragments) on the other. Turns: `text`, `calls` (several: parallel calls; with
`thinking` on Claude, a signed thinking block first), `rate_limited` (HTTP 429 with `retry-after`, in
the provider's words), `cut` (the stream closed after n events, with no end).

Every request is checked the way the real provider checks it, and refused (400 in its words; kept in
`violations`; not a turn) when it would be: the SDK's request types with unknown keys forbidden
(tests/oracles.py: `assert_anthropic_body` / `assert_openai_body`), the model the alias names, a tool
result without its call and a call without its result, `tool_choice` naming a tool not sent, tool names
outside the API's pattern; Claude: a `thinking` block whose signature is not one it issued, and, with
thinking on, a tool loop whose assistant turn does not start with its thinking block (what the API
answers when a client drops the thinking or sends it back unsigned).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Self

from tests.fakes import (
    FakeServer,
    Received,
    Reply,
    anthropic_error_reply,
    anthropic_message,
    anthropic_stream_events,
    openai_chunk,
    openai_completion,
    openai_data,
    openai_error_reply,
    openai_text_chunks,
    openai_tool_call_chunks,
    sse,
)
from tests.oracles import assert_anthropic_body, assert_openai_body

CLAUDE_MODEL = "claude-sonnet-4-6"  # a model that takes thinking (adaptive or a budget): the model table's row
CHAT_MODEL = "qwen3-coder:30b"
PROVIDER_KEY = "sk-ant-serve-Kq3Zt8WmY2pV"  # tests/serve/conftest.py gives the gateway this Anthropic key
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class Refused(Exception):
    """What the provider would refuse the request for (its message)."""


# ---- the script, in the same terms for both protocols --------------------------------------------------


@dataclass(frozen=True)
class Call:
    """A tool call the model makes: JSON arguments, streamed in `pieces` fragments."""

    call_id: str
    name: str
    arguments: dict[str, Any]
    pieces: int = 3

    @property
    def fragments(self) -> list[str]:
        raw = json.dumps(self.arguments)
        size = max(1, -(-len(raw) // self.pieces))
        return [raw[k : k + size] for k in range(0, len(raw), size)]


@dataclass(frozen=True)
class Turn:
    """One answer of the model. `texts` are the text deltas; `calls` its tool calls (in parallel when
    several); `thinking`, Claude's signed thinking before them (`signature` on the wire)."""

    texts: tuple[str, ...] = ()
    calls: tuple[Call, ...] = ()
    thinking: tuple[str, ...] = ()
    signature: str = ""
    # usage, as each provider says it (Claude: input_tokens without the cache reads; chat: with them)
    input_tokens: int = 1200
    cached_tokens: int = 0
    output_tokens: int = 30
    # failures
    status: int = 200  # 429: rate limited
    retry_after: str | None = None
    cut_after: int | None = None  # the stream closed after this many events (no end)


def text(answer: str, *, input_tokens: int = 1200, cached_tokens: int = 0, output_tokens: int = 30) -> Turn:
    pieces = [answer[k : k + 6] for k in range(0, len(answer), 6)] or [answer]
    return Turn(
        texts=tuple(pieces), input_tokens=input_tokens, cached_tokens=cached_tokens, output_tokens=output_tokens
    )


def calls(*made: Call, thinking: str = "", signature: str = "") -> Turn:
    pieces = tuple(thinking[k : k + 8] for k in range(0, len(thinking), 8))
    return Turn(calls=made, thinking=pieces, signature=signature)


def rate_limited(retry_after: str | None = "1") -> Turn:
    """HTTP 429 in the provider's words; `retry-after` as given (None: no header; the chat server's
    message still says "Please try again in 1s", as OpenAI's do)."""
    return Turn(status=429, retry_after=retry_after)


def too_long() -> Turn:
    """The provider's 400: the conversation is over the model's context window."""
    return Turn(status=400)


def cut(turn: Turn, *, after: int) -> Turn:
    return replace(turn, cut_after=after)


# ---- a provider --------------------------------------------------------------------------------------


@dataclass
class Upstream:
    """The n-th accepted model request gets the n-th turn of the script (the last one again past its end:
    a client that retries more than planned is seen in `bodies`, not hung)."""

    script: Sequence[Turn]
    model: str = ""
    bodies: list[dict[str, Any]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    server: FakeServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    backend = ""  # protoshift's --backend for it

    # -- lifecycle

    def __enter__(self) -> Self:
        self.server = FakeServer(self.respond).__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.__exit__(*exc)

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def assert_clean(self) -> None:
        assert not self.violations, "the gateway sent what the provider refuses:\n" + "\n".join(self.violations)
        assert self.server is not None
        # a failing responder is the fake's bug (a client cutting a stream is not: those are kept apart)
        failed = [error for error in self.server.errors if "BrokenPipe" not in error and "ConnectionReset" not in error]
        assert not failed, failed[0]

    # -- answering

    def respond(self, received: Received) -> Reply:
        try:
            self.check(received)
        except (AssertionError, ValueError, Refused) as exc:  # pydantic's ValidationError is a ValueError
            message = str(exc).strip() or type(exc).__name__
            with self._lock:
                self.violations.append(f"{received.method} {received.path}: {message}")
            return self.refusal(message)
        body = received.json
        with self._lock:
            self.bodies.append(body)
            turn = self.script[min(len(self.bodies), len(self.script)) - 1]
        if turn.status == 429:
            return self.rate_limit(turn)
        if turn.status != 200:
            return self.too_long()
        stream = body.get("stream") is True
        reply = self.streamed(turn, body) if stream else self.whole(turn)
        reply.cut_after = turn.cut_after if stream else None
        return reply

    def check(self, received: Received) -> None:
        raise NotImplementedError

    def refusal(self, message: str) -> Reply:
        raise NotImplementedError

    def rate_limit(self, turn: Turn) -> Reply:
        raise NotImplementedError

    def too_long(self) -> Reply:
        """The provider's 400 for a conversation over the model's context window."""
        raise NotImplementedError

    def streamed(self, turn: Turn, body: dict[str, Any]) -> Reply:
        raise NotImplementedError

    def whole(self, turn: Turn) -> Reply:
        raise NotImplementedError


# ---- Claude ------------------------------------------------------------------------------------------


class ClaudeUpstream(Upstream):
    backend = "anthropic"

    def __init__(self, script: Sequence[Turn], model: str = CLAUDE_MODEL) -> None:
        super().__init__(script, model)
        self.signatures: set[str] = set()  # issued: the only ones it takes back
        self.thought: dict[str, str] = {}  # tool_use id -> the signature of the thinking its turn began with

    def check(self, received: Received) -> None:
        if (received.method, received.path.split("?")[0]) != ("POST", "/v1/messages"):
            raise Refused(f"Not Found: {received.method} {received.path}")
        if received.headers.get("x-api-key") != PROVIDER_KEY:
            raise Refused("invalid x-api-key")
        if "anthropic-version" not in received.headers:
            raise Refused("anthropic-version: header is required")
        body = received.json
        betas = [b.strip() for b in received.headers.get("anthropic-beta", "").split(",") if b.strip()]
        assert_anthropic_body(body, betas)
        if body["model"] != self.model:
            raise Refused(f"model: {body['model']}")
        _check_tool_choice([t.get("name") for t in body.get("tools", [])], body.get("tool_choice"), "name")
        messages = body["messages"]
        for n, message in enumerate(messages):
            content = message["content"] if isinstance(message["content"], list) else []
            uses = [b["id"] for b in content if b["type"] == "tool_use"]
            results = [b["tool_use_id"] for b in content if b["type"] == "tool_result"]
            if message["role"] == "assistant":
                following = messages[n + 1]["content"] if n + 1 < len(messages) else []
                answered = {b.get("tool_use_id") for b in following if isinstance(b, dict)}
                if missing := [u for u in uses if u not in answered]:
                    raise Refused(
                        f"messages.{n + 1}: `tool_use` ids were found without `tool_result` blocks immediately "
                        f"after: {', '.join(missing)}. Each `tool_use` block must have a corresponding "
                        "`tool_result` block in the next message."
                    )
                for k, block in enumerate(content):
                    if block["type"] == "thinking" and block.get("signature") not in self.signatures:
                        raise Refused(f"messages.{n}.content.{k}: Invalid `signature` in `thinking` block")
            elif results:
                previous = messages[n - 1]["content"] if n else []
                asked = {b.get("id") for b in previous if isinstance(b, dict) and b.get("type") == "tool_use"}
                if unknown := [r for r in results if r not in asked]:
                    raise Refused(
                        f"messages.{n}.content.0: unexpected `tool_use_id` found in `tool_result` blocks: "
                        f"{', '.join(unknown)}. Each `tool_result` block must have a corresponding `tool_use` "
                        "block in the previous message."
                    )
                kinds = [b["type"] for b in content]
                if kinds[: len(results)] != ["tool_result"] * len(results):
                    raise Refused(f"messages.{n}: tool_result blocks must come first in the content")
        self._check_thinking_loop(messages, (body.get("thinking") or {}).get("type"))

    def _check_thinking_loop(self, messages: list[dict[str, Any]], thinking: Any) -> None:
        """The assistant turn of the tool loop a request continues (the last one, when the last user turn
        holds tool results) must start with its thinking block, as it was given: always with budgeted
        thinking (`enabled`: the model always thinks), and with `adaptive` thinking when the model
        thought in that turn (thinking is optional to it then). Thinking off: nothing is asked."""
        if thinking not in ("enabled", "adaptive") or len(messages) < 2:
            return
        last, turn = messages[-1]["content"], messages[-2]["content"]
        if not isinstance(last, list) or not any(b["type"] == "tool_result" for b in last):
            return
        n = len(messages) - 2
        blocks = turn if isinstance(turn, list) else [{"type": "text"}]
        thought = [self.thought.get(b.get("id", "")) for b in blocks if b["type"] == "tool_use"]
        if thinking == "adaptive" and not any(thought):
            return
        if blocks[0]["type"] not in ("thinking", "redacted_thinking"):
            raise Refused(
                f"messages.{n}.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
                f"`{blocks[0]['type']}`. When `thinking` is enabled, a final `assistant` message must start with a "
                "thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We "
                "recommend you include thinking blocks from previous turns. To avoid this requirement, "
                "disable `thinking`."
            )

    def refusal(self, message: str) -> Reply:
        return anthropic_error_reply(400, "invalid_request_error", message)

    def rate_limit(self, turn: Turn) -> Reply:
        message = "This request would exceed the rate limit for your organization of 30,000 input tokens per minute."
        headers = {"retry-after": turn.retry_after} if turn.retry_after is not None else {}
        return anthropic_error_reply(turn.status, "rate_limit_error", message, headers)

    def too_long(self) -> Reply:
        return anthropic_error_reply(400, "invalid_request_error", "prompt is too long: 210417 tokens > 200000 maximum")

    def _signature(self, turn: Turn) -> str:
        """The signature of the turn's thinking (none without thinking), remembered with its calls."""
        if not turn.thinking:
            return ""
        with self._lock:
            signature = turn.signature or f"EqQBCkgIAhABGAIiQ{len(self.signatures):04d}c2lnbmVk"
            self.signatures.add(signature)
            self.thought |= dict.fromkeys((c.call_id for c in turn.calls), signature)
        return signature

    def streamed(self, turn: Turn, body: dict[str, Any]) -> Reply:
        events = anthropic_stream_events(
            texts=turn.texts,
            tool_calls=[(c.call_id, c.name, c.fragments) for c in turn.calls],
            thinking=turn.thinking,
            signature=self._signature(turn),
            model=self.model,
        )
        return Reply(events=[self._usage(event, turn) for event in events], headers={"request-id": "req_fakeclaude"})

    @staticmethod
    def _usage(event: bytes, turn: Turn) -> bytes:
        """The turn's usage where Claude says it: message_start (input, cache reads apart), message_delta."""
        if not event.startswith((b"event: message_start", b"event: message_delta")):
            return event
        data = json.loads(event.split(b"data: ", 1)[1])
        if data["type"] == "message_start":
            data["message"]["usage"] = {
                "input_tokens": turn.input_tokens - turn.cached_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": turn.cached_tokens,
                "output_tokens": 1,
            }
        else:
            data["usage"] = {"output_tokens": turn.output_tokens}
        return sse(data)

    def whole(self, turn: Turn) -> Reply:
        blocks: list[dict[str, Any]] = []
        if turn.thinking:
            blocks.append({"type": "thinking", "thinking": "".join(turn.thinking), "signature": self._signature(turn)})
        if turn.texts:
            blocks.append({"type": "text", "text": "".join(turn.texts)})
        blocks += [{"type": "tool_use", "id": c.call_id, "name": c.name, "input": c.arguments} for c in turn.calls]
        stop = "tool_use" if turn.calls else "end_turn"
        usage = {
            "input_tokens": turn.input_tokens - turn.cached_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": turn.cached_tokens,
            "output_tokens": turn.output_tokens,
        }
        message = anthropic_message(blocks, stop_reason=stop, model=self.model, usage=usage)
        return Reply(body=json.dumps(message).encode(), headers={"request-id": "req_fakeclaude"})


# ---- an OpenAI-compatible chat server ----------------------------------------------------------------


class ChatUpstream(Upstream):
    backend = "openai"

    def __init__(self, script: Sequence[Turn], model: str = CHAT_MODEL) -> None:
        super().__init__(script, model)

    def check(self, received: Received) -> None:
        if (received.method, received.path.split("?")[0]) != ("POST", "/v1/chat/completions"):
            raise Refused(f"Invalid URL ({received.method} {received.path})")
        body = received.json
        assert_openai_body(body)
        if body["model"] != self.model:
            raise Refused(f"The model `{body['model']}` does not exist or you do not have access to it.")
        names = [t["function"]["name"] for t in body.get("tools", []) if t.get("type") == "function"]
        for k, name in enumerate(names):
            if not TOOL_NAME.fullmatch(name):
                raise Refused(f"Invalid 'tools[{k}].function.name': string does not match pattern.")
        choice = body.get("tool_choice")
        _check_tool_choice(names, choice.get("function") if isinstance(choice, dict) else choice, "name")
        open_calls: set[str] = set()
        for n, message in enumerate(body["messages"]):
            role = message["role"]
            if role == "tool":
                if message["tool_call_id"] not in open_calls:
                    raise Refused(
                        f"Invalid parameter: messages with role 'tool' must be a response to a preceeding message "
                        f"with 'tool_calls'. (messages[{n}])"
                    )
                open_calls.discard(message["tool_call_id"])
                continue
            if open_calls:
                raise Refused(
                    "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
                    f"'tool_call_id'. The following tool_call_ids did not have response messages: "
                    f"{', '.join(sorted(open_calls))}"
                )
            if role == "assistant":
                open_calls = {call["id"] for call in message.get("tool_calls") or []}
                if not open_calls and message.get("content") in (None, "", []):
                    raise Refused(f"Invalid value for 'messages[{n}].content': an assistant message needs content.")
        if open_calls:
            raise Refused(f"tool_call_ids without a response: {', '.join(sorted(open_calls))}")

    def refusal(self, message: str) -> Reply:
        return openai_error_reply(400, message, "invalid_request_error")

    def rate_limit(self, turn: Turn) -> Reply:
        seconds = turn.retry_after or "1"
        message = (
            f"Rate limit reached for {self.model} on tokens per min (TPM): Limit 30000, Used 29800, "
            f"Requested 1200. Please try again in {seconds}s."
        )
        body = {"error": {"message": message, "type": "tokens", "param": None, "code": "rate_limit_exceeded"}}
        headers = {"x-request-id": "req_fakechat"}
        if turn.retry_after is not None:
            headers["retry-after"] = turn.retry_after
        return Reply(status=turn.status, body=json.dumps(body).encode(), headers=headers)

    def too_long(self) -> Reply:
        message = (
            "This model's maximum context length is 131072 tokens. However, your messages resulted in 140321 "
            "tokens. Please reduce the length of the messages."
        )
        body = {"error": {"message": message, "type": "invalid_request_error", "param": "messages",
                          "code": "context_length_exceeded"}}  # fmt: skip
        return Reply(status=400, body=json.dumps(body).encode(), headers={"x-request-id": "req_fakechat"})

    def streamed(self, turn: Turn, body: dict[str, Any]) -> Reply:
        usage: dict[str, Any] = {
            "prompt_tokens": turn.input_tokens,
            "completion_tokens": turn.output_tokens,
            "prompt_tokens_details": {"cached_tokens": turn.cached_tokens},
        }
        options = body.get("stream_options") or {}
        wants_usage = options.get("include_usage") is True  # the usage chunk comes only when asked for
        if turn.calls:
            chunks = [
                openai_chunk({"role": "assistant", "content": None}, model=self.model),
                # thinking as DeepSeek, Qwen and vLLM's reasoning parsers stream it
                *(openai_chunk({"reasoning_content": piece}, model=self.model) for piece in turn.thinking),
                *openai_tool_call_chunks([(c.call_id, c.name, c.fragments) for c in turn.calls]),
                openai_chunk({}, "tool_calls", model=self.model),
            ]
            if wants_usage:
                chunks.append(openai_chunk(None, usage=usage, model=self.model))
        else:
            chunks = openai_text_chunks(turn.texts, usage=usage if wants_usage else None)
        for chunk in chunks:
            chunk["model"] = self.model
        events = [openai_data(chunk) for chunk in chunks] + [b"data: [DONE]\n\n"]
        return Reply(events=events, headers={"x-request-id": "req_fakechat"})

    def whole(self, turn: Turn) -> Reply:
        completion = openai_completion("".join(turn.texts), model=self.model)
        completion["usage"] = {
            "prompt_tokens": turn.input_tokens,
            "completion_tokens": turn.output_tokens,
            "total_tokens": turn.input_tokens + turn.output_tokens,
            "prompt_tokens_details": {"cached_tokens": turn.cached_tokens},
        }
        if turn.calls:
            tool_calls = [
                {
                    "id": c.call_id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
                }
                for c in turn.calls
            ]
            completion["choices"][0]["message"] = {"role": "assistant", "content": None, "tool_calls": tool_calls}
            completion["choices"][0]["finish_reason"] = "tool_calls"
        return Reply(body=json.dumps(completion).encode(), headers={"x-request-id": "req_fakechat"})


def _check_tool_choice(names: list[Any], choice: Any, key: str) -> None:
    if isinstance(choice, dict) and key in choice and choice[key] not in names:
        raise Refused(f"tool_choice names `{choice[key]}`, which is not in `tools`")


UPSTREAMS: dict[str, Callable[[Sequence[Turn]], Upstream]] = {"anthropic": ClaudeUpstream, "openai": ChatUpstream}
BACKENDS = list(UPSTREAMS)


# ---- reading what an upstream was sent, whatever its protocol ---------------------------------------


def call_id(backend: str, name: str) -> str:
    """A tool call id as each provider makes them."""
    return f"toolu_01{name}" if backend == "anthropic" else f"call_{name}"


def tool_results(body: dict[str, Any]) -> dict[str, str]:
    """call id -> the tool output an upstream request carries (Anthropic `tool_result` blocks, chat `tool` messages)."""
    found: dict[str, str] = {}
    for message in body["messages"]:
        content = message.get("content")
        if message["role"] == "tool":
            found[message["tool_call_id"]] = _text(content)
        elif isinstance(content, list):
            for block in content:
                if block.get("type") == "tool_result":
                    found[block["tool_use_id"]] = _text(block.get("content"))
    return found


def tool_calls(body: dict[str, Any]) -> list[list[tuple[str, str, Any]]]:
    """Per assistant message of an upstream request, its tool calls: (id, name, arguments as JSON)."""
    out = []
    for message in body["messages"]:
        if message["role"] != "assistant":
            continue
        if isinstance(message.get("content"), list):
            uses = [(b["id"], b["name"], b["input"]) for b in message["content"] if b.get("type") == "tool_use"]
        else:
            uses = [
                (c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
                for c in message.get("tool_calls") or []
            ]
        if uses:
            out.append(uses)
    return out


def tool_declared(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The JSON schema of the tool `name` as the upstream is sent it."""
    for tool in body.get("tools", []):
        if tool.get("name") == name:
            return dict(tool["input_schema"])
        if tool.get("type") == "function" and tool["function"]["name"] == name:
            return dict(tool["function"]["parameters"])
    raise AssertionError(f"no tool {name!r} sent upstream")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or [])


__all__ = [
    "BACKENDS",
    "CHAT_MODEL",
    "CLAUDE_MODEL",
    "UPSTREAMS",
    "Call",
    "ChatUpstream",
    "ClaudeUpstream",
    "Turn",
    "Upstream",
    "call_id",
    "calls",
    "cut",
    "rate_limited",
    "text",
    "too_long",
    "tool_calls",
    "tool_declared",
    "tool_results",
]
