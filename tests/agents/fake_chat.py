"""Strict fake OpenAI-compatible chat upstreams on 127.0.0.1: real sockets, real SSE bytes, each
refusing what its real counterpart refuses, in its own words. The upstreams `protoshift serve` is put in
front of when Claude Code is run through it (issue 21).

    with FakeChat("ollama", [tool_calls(call("Write", {...})), text("Done.")]) as upstream:
        a backend of kind openai at upstream.base_url (http://127.0.0.1:PORT/v1), model upstream.model
        upstream.turns      # the chat requests answered with a scripted turn, in order
        upstream.refusals   # what it refused, and why (kind, status, error body)

Kinds (`RULES`; each rule can be changed per test: `FakeChat("openai", script, user_max=128)`):

- "ollama" (its OpenAI-compatible /v1): a model that does not reason (`thinks=False`, the default) refuses
  `reasoning_effort` / `reasoning` / `think` with `400 "<model>" does not support thinking`; the chat
  template refuses a `system` message that is not the first (`System message must be at the beginning.`);
  otherwise lenient (unknown fields ignored, no key).
- "openai": a key (Bearer); `user` longer than 64 characters: `400 Invalid 'user': string too long...`;
  a top-level field the API does not have: `400 Unrecognized request argument supplied: X`;
  `reasoning_effort` for a model that does not reason (`thinks=False`), `max_tokens` / a temperature
  other than 1 for one that does; `stream_options` without `stream`; tool names outside
  `^[a-zA-Z0-9_-]{1,64}$`; a `strict: true` function whose schema has an object without
  `additionalProperties: false` or whose `required` does not list every property; a `tool` message
  that answers no call, a call with no `tool` message; `description_max` (off by default: the
  1024-character limit some OpenAI deployments put on function descriptions).
- "vllm" and "llamacpp": `stream_options` taken; `POST /tokenize` in each one's format (vLLM:
  `{"model", "messages" | "prompt", "tools"?}` -> `{"count", "max_model_len", "tokens", "token_strs"}`;
  llama.cpp: `{"content", "add_special"?, "with_pieces"?}` -> `{"tokens": [...]}`), counting with
  `count_tokens()` below; the chat template refuses a `system` message that is not the first.
- "reasoning" (DeepSeek/Qwen style): a key; every answer carries `reasoning_content`, and a request whose
  assistant message with tool calls lacks the `reasoning_content` given with those calls is refused:
  `400 The reasoning_content in the thinking mode must be passed back to the API.`

Every kind checks the body with tests/oracles.py's `assert_openai_body` (the openai SDK's
CompletionCreateParams, unknown keys forbidden) after its own checks, with the kind's documented
extensions taken out first (Ollama's `think`, vLLM's `chat_template_kwargs`, DeepSeek's `thinking`, ...):
a body that fails it is refused with 400 and kept in `refusals` with `oracle=True`.

Turns: `text(...)`, `tool_calls(call(...), ...)` (several: parallel calls), optionally with `reasoning`
(the "reasoning" kind adds one to every turn that has none), streamed as chat.completion.chunk
events (each checked with the SDK's ChatCompletionChunk; a usage chunk when `stream_options.include_usage`)
or answered as a ChatCompletion; `rate_limited(retry_after)` (429), `server_error(status)`,
`cut(turn, after=n)` (the connection closed after n events), `stall(turn, after=n, seconds=s)` (silent,
open). `GET /v1/models` lists `models` in the OpenAI shape.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import re
import threading
import traceback
import typing
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from tests.fakes import FakeServer, Received, Reply, ScriptedFake, openai_chunk, openai_data
from tests.oracles import assert_openai_body, validate_chunk, validate_completion

KINDS = ("ollama", "openai", "vllm", "llamacpp", "reasoning")
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Rules:
    """What one kind of upstream takes and refuses; `FakeChat(kind, script, **changes)` changes any."""

    model: str
    key: str | None = None  # None: no key asked for (local servers)
    thinks: bool = False  # the model reasons: takes reasoning parameters (and answers with reasoning_content)
    system_first: bool = False  # the chat template refuses a system message that is not the first
    user_max: int | None = None  # the longest `user` taken
    unknown_fields: bool = True  # takes top-level fields it does not have (ignored); False: refused
    strict_tools: bool = False  # checks tool names and `strict: true` schemas, as OpenAI does
    pairing: bool = False  # tool messages must answer calls and every call be answered, as OpenAI checks
    keeps_reasoning: bool = False  # an assistant message with tool calls must give back their reasoning_content
    description_max: int | None = None  # the longest function description taken
    tokenize: str | None = None  # "vllm" | "llamacpp": that server's POST /tokenize
    max_model_len: int = 32768
    extensions: frozenset[str] = frozenset()  # the kind's own top-level fields, outside the SDK's types
    models: tuple[str, ...] = ()  # other model names it serves besides `model`


RULES: dict[str, Rules] = {
    "ollama": Rules(model="qwen3-coder:30b", system_first=True,
                    extensions=frozenset({"think", "keep_alive", "options", "format"})),
    "openai": Rules(model="gpt-4.1", key="sk-fake-openai-Qz81xPw0", user_max=64, unknown_fields=False,
                    strict_tools=True, pairing=True),
    "vllm": Rules(model="Qwen/Qwen3-Coder-30B-A3B-Instruct", system_first=True, tokenize="vllm",
                  extensions=frozenset({"chat_template_kwargs", "top_k", "min_p", "repetition_penalty",
                                        "skip_special_tokens", "include_stop_str_in_output"})),
    "llamacpp": Rules(model="qwen3-coder-30b-a3b-q4_k_m.gguf", system_first=True, tokenize="llamacpp",
                      extensions=frozenset({"cache_prompt", "top_k", "min_p", "n_probs", "id_slot",
                                            "reasoning_format", "chat_template_kwargs"})),
    "reasoning": Rules(model="deepseek-v4-flash", key="sk-fake-deepseek-Lm40aZ7", thinks=True, pairing=True,
                       keeps_reasoning=True, extensions=frozenset({"thinking"})),
}  # fmt: skip

Turn = Callable[["TurnContext"], Reply]


# ---- the model's tokenizer (a stand-in, the same for every kind) ------------------------------------

_PIECES = re.compile(r"\w+|[^\w\s]|\s+")


def tokenize(text: str) -> list[int]:
    """Token ids of `text`: one per word, punctuation mark or run of spaces (stable across runs)."""
    return [zlib.crc32(piece.encode()) % 150_000 for piece in _PIECES.findall(text)]


def render(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> str:
    """The prompt a ChatML template makes of `messages` (and `tools`), with the generation prompt."""
    out = []
    if tools:
        out.append("<|im_start|>system\n# Tools\n" + json.dumps(tools, sort_keys=True) + "<|im_end|>\n")
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            content = "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
        calls = json.dumps(message["tool_calls"], sort_keys=True) if message.get("tool_calls") else ""
        out.append(f"<|im_start|>{message.get('role')}\n{content or ''}{calls}<|im_end|>\n")
    return "".join(out) + "<|im_start|>assistant\n"


def count_tokens(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> int:
    """What the vLLM fake's /tokenize answers for `messages` and `tools` (its `count`)."""
    return len(tokenize(render(messages, tools)))


# ---- refusals, in each kind's words --------------------------------------------------------------------


class Refused(Exception):
    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code


def error_body(kind: str, status: int, message: str, param: str | None = None, code: str | None = None) -> bytes:
    """The error object each kind answers with (from their servers' code and captured answers)."""
    if kind == "vllm":
        error: dict[str, Any] = {"message": message, "type": "BadRequestError" if status < 500 else "InternalServerError",
                                 "param": param, "code": status}  # fmt: skip
    elif kind == "llamacpp":
        error = {"code": status, "message": message,
                 "type": "invalid_request_error" if status < 500 else "server_error"}  # fmt: skip
    elif kind == "reasoning":
        error = {"message": message, "type": "invalid_request_error" if status < 500 else "api_error",
                 "param": param, "code": code or ("invalid_request_error" if status < 500 else None)}  # fmt: skip
    else:  # openai, and ollama's OpenAI-compatible layer (openai/openai.go)
        error = {"message": message, "type": "invalid_request_error" if status < 500 else "api_error",
                 "param": param, "code": code}  # fmt: skip
    return json.dumps({"error": error}).encode()


@cache
def _openai_fields() -> frozenset[str]:
    from openai.types.chat.completion_create_params import CompletionCreateParamsBase

    return frozenset(typing.get_type_hints(CompletionCreateParamsBase)) | {"stream"}


def _reasoning_asked(body: dict[str, Any]) -> str | None:
    """The reasoning parameter the request sets (to something other than off), if any."""
    if body.get("reasoning_effort") not in (None, "none"):
        return "reasoning_effort"
    reasoning = body.get("reasoning")
    if (isinstance(reasoning, dict) and reasoning.get("effort") not in (None, "none")) or reasoning is True:
        return "reasoning"
    if body.get("think") not in (None, False, "none"):
        return "think"
    return None


def _check_strict_schema(name: str, schema: Any, where: str) -> None:
    """OpenAI's two rules for a `strict: true` function, on every object of its schema."""

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if not isinstance(node, dict):
            return
        context = f"context=({', '.join(repr(p) for p in path)})"
        if node.get("type") == "object" or "properties" in node:
            if node.get("additionalProperties") is not False:
                raise Refused(400, f"Invalid schema for function '{name}': In {context}, 'additionalProperties' is "
                              "required to be supplied and to be false.", param=where,
                              code="invalid_function_parameters")  # fmt: skip
            properties = node.get("properties") or {}
            missing = [p for p in properties if p not in (node.get("required") or [])]
            if missing:
                raise Refused(400, f"Invalid schema for function '{name}': In {context}, 'required' is required to "
                              "be supplied and to be an array including every key in properties. Missing "
                              f"'{missing[0]}'.", param=where, code="invalid_function_parameters")  # fmt: skip
            for key, sub in properties.items():
                walk(sub, (*path, "properties", key))
        for key in ("items", "additionalProperties"):
            walk(node.get(key), (*path, key))
        for key in ("anyOf", "allOf", "oneOf"):
            for n, sub in enumerate(node.get(key) or []):
                walk(sub, (*path, key, str(n)))
        for key in ("$defs", "definitions"):
            for name_, sub in (node.get(key) or {}).items():
                walk(sub, (*path, key, name_))

    walk(schema, ())


# ---- answers ---------------------------------------------------------------------------------------------


@dataclass
class Call:
    name: str
    arguments: str
    id: str | None = None


def call(name: str, arguments: dict[str, Any] | str, *, id: str | None = None) -> Call:
    return Call(name, arguments if isinstance(arguments, str) else json.dumps(arguments), id)


@dataclass
class TurnContext:
    received: Received
    completion_id: str
    ids: Iterator[int]
    kind: str
    rules: Rules
    default_reasoning: str | None  # the "reasoning" kind's, for a turn that gives none
    remember: Callable[[str, str], None]  # tool call id, reasoning -> kept (keeps_reasoning)
    released: threading.Event

    @property
    def body(self) -> dict[str, Any]:
        return self.received.json

    def next_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self.ids):02d}{self.completion_id[-12:]}"


def _pieces(text: str, n: int) -> list[str]:
    size = max(1, -(-len(text) // max(1, n)))
    return [text[i : i + size] for i in range(0, len(text), size)] if text else []


def _answer(ctx: TurnContext, content: str | None, calls: Iterable[Call], reasoning: str | None, chunks: int) -> Reply:
    calls = list(calls)
    reasoning = reasoning if reasoning is not None else ctx.default_reasoning
    named = [(c.id or ctx.next_id("call"), c) for c in calls]
    if reasoning is not None and ctx.rules.keeps_reasoning:
        for call_id, _ in named:
            ctx.remember(call_id, reasoning)
    finish = "tool_calls" if calls else "stop"
    prompt = count_tokens(ctx.body.get("messages") or [], ctx.body.get("tools"))
    completion = max(1, len(tokenize((reasoning or "") + (content or "") + "".join(c.arguments for c in calls))))
    usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    model = str(ctx.body.get("model"))
    headers = {"x-request-id": "req_" + ctx.completion_id[-16:]}
    if not ctx.body.get("stream"):
        message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
        if reasoning is not None:
            message["reasoning_content"] = reasoning
        if calls:
            message["tool_calls"] = [{"id": call_id, "type": "function",
                                      "function": {"name": c.name, "arguments": c.arguments}} for call_id, c in named]  # fmt: skip
        completion_obj = {"id": ctx.completion_id, "object": "chat.completion", "created": 1_767_225_600,
                          "model": model, "choices": [{"index": 0, "message": message, "logprobs": None,
                                                       "finish_reason": finish}], "usage": usage}  # fmt: skip
        validate_completion(completion_obj)
        return Reply(body=json.dumps(completion_obj).encode(), headers=headers)
    chunks_out = [openai_chunk({"role": "assistant", "content": ""}, model=model, chunk_id=ctx.completion_id)]
    chunks_out += [openai_chunk({"reasoning_content": p}, model=model, chunk_id=ctx.completion_id)
                   for p in _pieces(reasoning or "", chunks)]  # fmt: skip
    chunks_out += [openai_chunk({"content": p}, model=model, chunk_id=ctx.completion_id)
                   for p in _pieces(content or "", chunks)]  # fmt: skip
    for index, (call_id, c) in enumerate(named):
        for k, piece in enumerate(_pieces(c.arguments, chunks) or [""]):
            entry: dict[str, Any] = {"index": index, "function": {"arguments": piece}}
            if k == 0:
                entry |= {"id": call_id, "type": "function"}
                entry["function"]["name"] = c.name
            chunks_out.append(openai_chunk({"tool_calls": [entry]}, model=model, chunk_id=ctx.completion_id))
    chunks_out.append(openai_chunk({}, finish, model=model, chunk_id=ctx.completion_id))
    if (ctx.body.get("stream_options") or {}).get("include_usage"):
        chunks_out.append(openai_chunk(None, usage=usage, model=model, chunk_id=ctx.completion_id))
    for chunk in chunks_out:
        validate_chunk(chunk)
    return Reply(events=[openai_data(c) for c in chunks_out] + [b"data: [DONE]\n\n"], headers=headers)


def text(answer: str, *, reasoning: str | None = None, chunks: int = 3) -> Turn:
    return lambda ctx: _answer(ctx, answer, [], reasoning, chunks)


def tool_calls(*calls: Call, text: str | None = None, reasoning: str | None = None, chunks: int = 3) -> Turn:
    """A turn that calls tools: one or several (several: parallel calls in one answer)."""
    return lambda ctx: _answer(ctx, text, calls, reasoning, chunks)


def rate_limited(retry_after: float = 1.0) -> Turn:
    def turn(ctx: TurnContext) -> Reply:
        said = (f"Rate limit reached for {ctx.body.get('model')} on requests per min (RPM): Limit 3, Used 3, "
                f"Requested 1. Please try again in {retry_after:g}s.")  # fmt: skip
        return Reply(status=429, body=error_body(ctx.kind, 429, said, code="rate_limit_exceeded"),
                     headers={"retry-after": f"{retry_after:g}", "x-request-id": "req_429"})  # fmt: skip

    return turn


def server_error(status: int = 500) -> Turn:
    return lambda ctx: Reply(status=status, body=error_body(ctx.kind, status, "The server had an error."))


def cut(turn: Turn, *, after: int) -> Turn:
    """`turn`'s stream with the connection closed after `after` events: no finish_reason, no [DONE]."""

    def cut_turn(ctx: TurnContext) -> Reply:
        reply = turn(ctx)
        if reply.events is None:  # not streamed: the headers, then the connection closes
            return Reply(events=[], cut_after=0, headers={"content-type": "application/json"})
        assert after < len(reply.events), "cut() needs a streamed turn longer than `after`"
        reply.cut_after = after
        return reply

    return cut_turn


def stall(turn: Turn, *, after: int, seconds: float | None = None) -> Turn:
    """`turn`'s stream, silent after `after` events for `seconds` (None: until the fake closes), then the rest.
    (An OpenAI-compatible server sends nothing while the model thinks: no keep-alive of its own.)"""

    def stalled(ctx: TurnContext) -> Reply:
        reply = turn(ctx)
        if seconds is None:
            reply.hold, reply.hold_at = ctx.released, (after if reply.events is not None else 0)
        elif reply.events is None:
            reply.delay = seconds
        else:
            reply.pauses, reply.wake = {after: seconds}, ctx.released
        return reply

    return stalled


# ---- the server ---------------------------------------------------------------------------------------


@dataclass
class Refusal:
    received: Received
    status: int
    message: str
    oracle: bool = False  # failed tests/oracles.py's check (protoshift sent what no OpenAI-compatible API takes)


class FakeChat(ScriptedFake):
    """One upstream of a kind (see the module docstring); use as a context manager."""

    def __init__(self, kind: str, script: Iterable[Turn] = (), **changes: Any) -> None:
        assert kind in KINDS, kind
        self.kind = kind
        self.rules = dataclasses.replace(RULES[kind], **changes)
        self._script = list(script)
        self.turns: list[Received] = []
        self.tokenized: list[Received] = []
        self.refusals: list[Refusal] = []
        self.broken: list[str] = []
        self.released = threading.Event()
        self.reasoning_given: dict[str, str] = {}  # tool call id -> the reasoning_content given with it
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.server = FakeServer(self._respond)

    @property
    def model(self) -> str:
        return self.rules.model

    @property
    def key(self) -> str | None:
        return self.rules.key

    def _respond(self, received: Received) -> Reply:
        try:
            return self._answer(received)
        except Refused as refused:
            oracle = refused.code == "oracle"
            with self._lock:
                self.refusals.append(Refusal(received, refused.status, refused.message, oracle))
            code = None if oracle else refused.code
            return Reply(status=refused.status, body=error_body(self.kind, refused.status, refused.message,
                                                                refused.param, code))  # fmt: skip
        except Exception:  # a turn that would send what the SDK refuses (or a bug here): the test's fault
            with self._lock:
                self.broken.append(traceback.format_exc())
            return Reply(status=500, body=error_body(self.kind, 500, "the fake is broken: see FakeChat.broken"))

    def _answer(self, received: Received) -> Reply:
        path = urlsplit(received.path).path.rstrip("/")
        self._check_key(received.headers)
        if received.method == "GET" and path in ("/v1/models", "/models"):
            return self._models()
        if received.method == "POST" and path == "/tokenize" and self.rules.tokenize:
            return self._tokenize(received)
        if received.method != "POST" or path not in ("/v1/chat/completions", "/chat/completions"):
            raise Refused(404, f"Invalid URL ({received.method} {path})")
        body = received.body
        if not isinstance(body, dict):
            raise Refused(400, "We could not parse the JSON body of your request.")
        self._check(body)
        with self._lock:
            n = len(self.turns)
            if n >= len(self._script):  # 400, not 5xx: nobody retries it, and the test sees the missing turn
                raise Refused(400, f"the fake's script has {len(self._script)} turns; this is request {n + 1}")
            self.turns.append(received)
            turn = self._script[n]
            completion_id = f"chatcmpl-{n + 1:02d}{hashlib.sha256(str(n).encode()).hexdigest()[:20]}"
        default = f"Thinking about step {n + 1}." if self.kind == "reasoning" else None
        ctx = TurnContext(received, completion_id, itertools.count(1), self.kind, self.rules, default,
                          self._remember, self.released)  # fmt: skip
        return turn(ctx)

    def _remember(self, call_id: str, reasoning: str) -> None:
        with self._lock:
            self.reasoning_given[call_id] = reasoning

    def _check_key(self, headers: dict[str, str]) -> None:
        if self.rules.key is None:
            return
        auth = headers.get("authorization", "")
        given = auth[7:].strip() if auth.startswith("Bearer ") else ""
        if not given:
            raise Refused(401, "You didn't provide an API key. You need to provide your API key in an Authorization "
                          "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")  # fmt: skip
        if given != self.rules.key:
            raise Refused(401, f"Incorrect API key provided: {given[:3]}****{given[-4:]}.", code="invalid_api_key")

    def _check(self, body: dict[str, Any]) -> None:
        rules, model = self.rules, body.get("model")
        if model not in (rules.model, *rules.models) and self.kind != "llamacpp":  # llama.cpp serves any name
            said = {"ollama": f'model "{model}" not found, try pulling it first'}.get(
                self.kind, f"The model `{model}` does not exist or you do not have access to it.")  # fmt: skip
            raise Refused(404, said, code="model_not_found")
        if not rules.unknown_fields:
            for name in body:
                if name not in _openai_fields():
                    raise Refused(400, f"Unrecognized request argument supplied: {name}")
        asked = _reasoning_asked(body)
        if asked and not rules.thinks:
            if self.kind == "openai":
                raise Refused(400, f"Unsupported parameter: '{asked}' is not supported with this model.",
                              param=asked, code="unsupported_parameter")  # fmt: skip
            if self.kind == "ollama":
                raise Refused(400, f'"{model}" does not support thinking')
        if self.kind == "openai" and rules.thinks:
            if "max_tokens" in body:
                raise Refused(400, "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                              "'max_completion_tokens' instead.", param="max_tokens", code="unsupported_parameter")  # fmt: skip
            if body.get("temperature") not in (None, 1):
                raise Refused(400, f"Unsupported value: 'temperature' does not support {body['temperature']} with "
                              "this model. Only the default (1) value is supported.", param="temperature",
                              code="unsupported_value")  # fmt: skip
        if rules.user_max is not None and isinstance(body.get("user"), str) and len(body["user"]) > rules.user_max:
            raise Refused(400, f"Invalid 'user': string too long. Expected a string with maximum length "
                          f"{rules.user_max}, but got a string with length {len(body['user'])} instead.",
                          param="user", code="string_above_max_length")  # fmt: skip
        if self.kind == "openai" and body.get("stream_options") is not None and not body.get("stream"):
            raise Refused(400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                          param="stream_options", code="invalid_value")  # fmt: skip
        self._check_tools(body.get("tools") or [])
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise Refused(400, "[] is too short - 'messages'", param="messages")
        if rules.system_first:
            for n, message in enumerate(messages):
                if n and isinstance(message, dict) and message.get("role") == "system":
                    said = "System message must be at the beginning."
                    if self.kind == "llamacpp":  # llama-server wraps the Jinja exception
                        said = f"Jinja Exception: {said}"
                    raise Refused(400, said)
        if rules.pairing:
            self._check_pairing(messages)
        if rules.keeps_reasoning:
            self._check_reasoning(messages)
        try:
            assert_openai_body({k: v for k, v in body.items() if k not in rules.extensions})
        except Exception as exc:  # pydantic's ValidationError, or the oracle's own AssertionError
            raise Refused(400, f"not a valid OpenAI chat body (tests/oracles.py): {exc}", code="oracle") from exc

    def _check_tools(self, tools: list[Any]) -> None:
        if not self.rules.strict_tools and self.rules.description_max is None:
            return
        if len(tools) > 128:
            raise Refused(400, f"Invalid 'tools': array too long. Expected an array with maximum length 128, but got "
                          f"an array with length {len(tools)} instead.", param="tools", code="array_above_max_length")  # fmt: skip
        for n, tool in enumerate(tools):
            function = tool.get("function") if isinstance(tool, dict) else None
            if not isinstance(function, dict):
                continue  # the oracle says what is wrong with it
            name = function.get("name", "")
            if self.rules.strict_tools and not (isinstance(name, str) and TOOL_NAME.match(name)):
                raise Refused(400, f"Invalid 'tools[{n}].function.name': string does not match pattern. Expected a "
                              "string that matches the pattern '^[a-zA-Z0-9_-]+$'.", param=f"tools[{n}].function.name",
                              code="invalid_value")  # fmt: skip
            description = function.get("description")
            limit = self.rules.description_max
            if limit is not None and isinstance(description, str) and len(description) > limit:
                raise Refused(400, f"Invalid 'tools[{n}].function.description': string too long. Expected a string "
                              f"with maximum length {limit}, but got a string with length {len(description)} instead.",
                              param=f"tools[{n}].function.description", code="string_above_max_length")  # fmt: skip
            if self.rules.strict_tools and function.get("strict") is True:
                _check_strict_schema(name, function.get("parameters"), f"tools[{n}].function.parameters")

    def _check_pairing(self, messages: list[Any]) -> None:
        """OpenAI's (and DeepSeek's) checks: each tool message answers a call of the assistant message
        before it; each call is answered before the next non-tool message."""
        pending: list[str] = []
        for message in messages:
            role = message.get("role") if isinstance(message, dict) else None
            if role == "tool":
                if message.get("tool_call_id") not in pending:
                    raise Refused(400, "Invalid parameter: messages with role 'tool' must be a response to a "
                                  "preceeding message with 'tool_calls'.", param="messages.[].role")  # fmt: skip
                pending.remove(message["tool_call_id"])
                continue
            if pending:
                raise Refused(400, "An assistant message with 'tool_calls' must be followed by tool messages "
                              "responding to each 'tool_call_id'. The following tool_call_ids did not have response "
                              f"messages: {', '.join(pending)}", param="messages.[].role")  # fmt: skip
            if role == "assistant":
                pending = [c.get("id") for c in message.get("tool_calls") or [] if isinstance(c, dict)]
        if pending:
            raise Refused(400, "An assistant message with 'tool_calls' must be followed by tool messages responding "
                          f"to each 'tool_call_id'. The following tool_call_ids did not have response messages: "
                          f"{', '.join(pending)}", param="messages.[].role")  # fmt: skip

    def _check_reasoning(self, messages: list[Any]) -> None:
        for message in messages:
            if not (isinstance(message, dict) and message.get("role") == "assistant" and message.get("tool_calls")):
                continue
            given = {self.reasoning_given.get(c.get("id")) for c in message["tool_calls"] if isinstance(c, dict)}
            given.discard(None)
            if given and message.get("reasoning_content") not in given:
                raise Refused(400, "The `reasoning_content` in the thinking mode must be passed back to the API.")

    def _models(self) -> Reply:
        data = []
        for name in (self.rules.model, *self.rules.models):
            entry: dict[str, Any] = {"id": name, "object": "model", "created": 1_767_225_600,
                                     "owned_by": {"ollama": "library", "vllm": "vllm", "llamacpp": "llamacpp",
                                                  "reasoning": "deepseek"}.get(self.kind, "system")}  # fmt: skip
            if self.kind == "vllm":
                entry["max_model_len"] = self.rules.max_model_len
            data.append(entry)
        return Reply(body=json.dumps({"object": "list", "data": data}).encode())

    def _tokenize(self, received: Received) -> Reply:
        body = received.body
        if not isinstance(body, dict):
            raise Refused(400, "the body is not a JSON object")
        if self.rules.tokenize == "llamacpp":
            content = body.get("content")
            if not isinstance(content, str):
                raise Refused(400, '"content" must be provided')
            tokens = tokenize(content)
            with self._lock:
                self.tokenized.append(received)
            if body.get("with_pieces"):
                pieces = _PIECES.findall(content)
                return Reply(body=json.dumps({"tokens": [{"id": t, "piece": p} for t, p in zip(tokens, pieces,
                                                                                           strict=True)]}).encode())  # fmt: skip
            return Reply(body=json.dumps({"tokens": tokens}).encode())
        # vLLM: TokenizeChatRequest {"model", "messages", "tools"?, ...} or TokenizeCompletionRequest {"model", "prompt"}
        if "messages" in body:
            messages = body["messages"]
            if not isinstance(messages, list):
                raise Refused(400, "messages: Input should be a valid list")
            tokens = tokenize(render(messages, body.get("tools")))
        elif isinstance(body.get("prompt"), str):
            tokens = tokenize(body["prompt"])
        else:
            raise Refused(400, "Field required: prompt or messages")
        if body.get("model") not in (None, self.rules.model, *self.rules.models):
            raise Refused(404, f"The model `{body.get('model')}` does not exist.")
        with self._lock:
            self.tokenized.append(received)
        answer = {"count": len(tokens), "max_model_len": self.rules.max_model_len, "tokens": tokens, "token_strs": None}
        return Reply(body=json.dumps(answer).encode())
