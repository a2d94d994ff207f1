"""The official Node SDKs as clients of `protoshift serve` (issue 21: "the anthropic SDKs (Python and
TypeScript) as clients for the same matrix"; the OpenAI Node SDK with them), over both backend APIs:

    node + @anthropic-ai/sdk --(Messages)---------------------> protoshift serve --> FakeAnthropic
    node + openai            --(Chat Completions, Responses)--> (in a thread)    --> FakeChat("openai")

One Node process per SDK and backend runs every case in turn (a script written to the test's tmp folder,
node_sdks.py's `NodeRunner`): each case prints one JSON line, and the test asserts on those lines and on
what the fake upstream received. Per SDK:

- `create` (whole) and `stream` through the SDK's own stream helpers (`client.messages.stream(...)
  .finalMessage()`; `client.chat.completions.stream(...)` iterated, and `create({stream: true})` with
  `for await`; `client.responses.create({stream: true})`);
- `tools` / `tools_stream`: two parallel tool calls, answered, over two turns (the upstream gets back its
  own call ids);
- `count_tokens` (Anthropic), `models` (paged, in Anthropic's shape: the SDK sends `anthropic-version`;
  the OpenAI SDK's list in OpenAI's);
- `retry`: an upstream 429 with `retry-after: 1`, retried by the SDK itself (`maxRetries: 1`): serve, which
  retries by default, hands the 429 over at once to a client that retries itself (`x-stainless-retry-count`),
  so the upstream sees two requests a second apart;
- `error`: an upstream 400 raised as the SDK's `BadRequestError` (`status`, the error's type, the request
  id header serve answered with);
- `cut`: the upstream's stream closed midway: the SDK raises (a Responses stream ends with
  `response.failed`), nothing hangs;
- `abort`: the client aborts a stream midway (AbortController): serve drops the upstream call (the fake sees
  its connection close) and logs a 499.

The fake upstreams are dispatched by a `[case:NAME]` marker in the prompt (`Cases`): each case has its own
turns whatever order or retries the others took. Marked `agents` (not in the default run); the SDKs are
installed by the first test that needs them (npm; skipped with the reason when node/npm/the registry are
missing). Every Node run is bounded (`RUN_LIMIT`, and `CASE_LIMIT_MS` per case inside it); all traffic is
on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.agents import fake_anthropic as fa
from tests.agents import fake_chat as fc
from tests.agents.codex import Tripwire
from tests.agents.node_sdks import NodeRun, NodeRunner, NodeSDKsUnavailable, install_node_sdks
from tests.agents.upstreams import tool_results
from tests.fakes import Received, Reply
from tests.serve.conftest import PROVIDER_KEY, SERVER_KEY, GatewayFactory, Running

pytestmark = [pytest.mark.agents, pytest.mark.timeout(240)]  # a first test may install the SDKs (npm)

BACKENDS = ("anthropic", "openai")  # serve's --backend: the fake Anthropic, or a fake OpenAI-compatible server
CLAUDE_MODEL = "claude-sonnet-4-5-20250929"  # one of fake_anthropic.MODELS
CHAT_MODELS = ("gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano")  # the FakeChat("openai") serves these
RUN_LIMIT = 150.0  # s: a whole Node run (all its cases): ~3-10 s, at load 17 too
CASE_LIMIT_MS = 30_000  # one case inside it: a case that does not end is reported hung (a cut that hangs)
RETRY_AFTER = 1.0  # s: the upstream's 429 says so; the SDK must wait at least that
HELLO = "Hello from the fake upstream."
WEATHER = {"city": "Paris"}
TIME = {"timezone": "Europe/Paris"}
RESULTS = {"get_weather": "Sunny, 21 C", "get_time": "14:05"}  # what the scripts answer each tool with
AFTER_TOOLS = "Sunny and 21 C in Paris; it is 14:05 there."
CUT_TEXT = "one two three four five six"
TRICKLE = " ".join(f"w{i}" for i in range(400))  # 400 deltas 20 ms apart: 8 s unless the client leaves
TOO_LONG_CLAUDE = "prompt is too long: 210417 tokens > 200000 maximum"
TOO_LONG_CHAT = ("This model's maximum context length is 131072 tokens. However, your messages resulted in 140321 "
                 "tokens. Please reduce the length of the messages.")  # fmt: skip
MARKER = re.compile(r"\[case:([a-z_.]+)\]")


# ---- the fake upstream's side: a case's turns, in each backend's terms -----------------------------------


def _trickle(turn: Callable[[Any], Reply]) -> Callable[[Any], Reply]:
    def slow(ctx: Any) -> Reply:
        reply = turn(ctx)
        reply.event_delay = 0.02
        return reply

    return slow


def claude_turns() -> dict[str, list[fa.Turn]]:
    def too_long(ctx: fa.TurnContext) -> Reply:
        request_id = "req_400" + ctx.message_id[-20:]
        return Reply(status=400, body=fa.error_body("invalid_request_error", TOO_LONG_CLAUDE, request_id),
                     headers={"request-id": request_id})  # fmt: skip

    calls = fa.tool_uses(fa.tool_use("get_weather", WEATHER, id="toolu_01weather"),
                         fa.tool_use("get_time", TIME, id="toolu_01time"))  # fmt: skip
    return {
        "hello": [fa.text(HELLO)],
        "tools": [calls, fa.text(AFTER_TOOLS)],
        "retry": [fa.rate_limited(RETRY_AFTER), fa.text(HELLO)],
        "error": [too_long],
        "rate_limited": [fa.rate_limited(RETRY_AFTER)],
        "unavailable": [fa.overloaded()],  # 529 overloaded_error
        "cut": [fa.cut(fa.text(CUT_TEXT, chunks=6), after=5)],  # message_start, ping, block start, 2 deltas
        "abort": [_trickle(fa.text(TRICKLE, chunks=400))],
    }


def chat_turns() -> dict[str, list[fc.Turn]]:
    def too_long(ctx: fc.TurnContext) -> Reply:
        body = fc.error_body("openai", 400, TOO_LONG_CHAT, param="messages", code="context_length_exceeded")
        return Reply(status=400, body=body, headers={"x-request-id": "req_400" + ctx.completion_id[-12:]})

    calls = fc.tool_calls(fc.call("get_weather", WEATHER, id="call_weather"), fc.call("get_time", TIME, id="call_time"))
    return {
        "hello": [fc.text(HELLO)],
        "tools": [calls, fc.text(AFTER_TOOLS)],
        "retry": [fc.rate_limited(RETRY_AFTER), fc.text(HELLO)],
        "error": [too_long],
        "rate_limited": [fc.rate_limited(RETRY_AFTER)],
        "unavailable": [fc.server_error(503)],
        "cut": [fc.cut(fc.text(CUT_TEXT, chunks=6), after=3)],  # the role chunk, 2 deltas
        "abort": [_trickle(fc.text(TRICKLE, chunks=400))],
    }


def kind_of(case: str) -> str:
    """`responses.tools_stream` -> `tools`: which turns a case gets."""
    name = case.rsplit(".", 1)[-1]
    return {"create": "hello", "stream": "hello", "stream_raw": "hello", "tools_stream": "tools"}.get(name, name)


@dataclass
class Cases:
    """The fake's one turn for every request: the case named by the prompt's `[case:NAME]` marker picks its
    own script, in order (its n-th request gets its n-th turn)."""

    turns: dict[str, list[Any]]
    received: dict[str, list[tuple[float, Received]]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, ctx: Any) -> Reply:
        found = MARKER.search(json.dumps(ctx.body))
        assert found, "a model request without a [case:NAME] marker"
        case = found.group(1)
        with self.lock:
            seen = self.received[case]
            seen.append((time.monotonic(), ctx.received))
            script = self.turns[kind_of(case)]
            turn: Callable[[Any], Reply] = script[min(len(seen), len(script)) - 1]
        return turn(ctx)

    def bodies(self, case: str) -> list[dict[str, Any]]:
        return [received.json for _, received in self.received.get(case, [])]

    def times(self, case: str) -> list[float]:
        return [at for at, _ in self.received.get(case, [])]


# ---- the clients' side: one Node script per SDK -----------------------------------------------------------

PRELUDE = r"""
'use strict';
const fs = require('fs');
const path = require('path');
const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const load = (name) => require(path.join(config.modules, name));
const out = (line) => process.stdout.write(JSON.stringify(line) + '\n');
const since = (t0) => Math.round(performance.now() - t0);
const user = (name, text) => `[case:${name}] ${text}`;
const RESULTS = config.results;
process.on('unhandledRejection', (err) => out({ unhandled: facts(err) }));

// What a test can check of an error: its class, and what the SDK read from the answer.
function facts(err) {
  if (!err || typeof err !== 'object') return { name: typeof err, message: String(err) };
  const headers = err.headers && typeof err.headers.entries === 'function' ? Object.fromEntries(err.headers.entries()) : null;
  return {
    name: err.constructor && err.constructor.name, message: String(err.message), status: err.status ?? null,
    type: err.type ?? null, code: err.code ?? null, param: err.param ?? null, error: err.error ?? null,
    requestID: err.requestID ?? null, headers, cause: err.cause ? String(err.cause.message || err.cause) : null,
  };
}

// A case: its result (or what it raised) as one line, within a time limit (a case that does not end is
// reported `hung` and the next one runs).
async function run(name, body) {
  const t0 = performance.now();
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no end in ${config.caseLimitMs} ms`), { hung: true })),
      config.caseLimitMs);
  });
  try {
    const result = await Promise.race([body(), limit]);
    out({ case: name, ok: true, ms: since(t0), ...result });
  } catch (err) {
    out({ case: name, ok: false, ms: since(t0), hung: Boolean(err && err.hung), error: facts(err) });
  } finally {
    clearTimeout(timer);
  }
}

// What a call raised (null: it did not), for the cases that expect an error.
async function raised(promise) {
  try { await promise; return null; } catch (err) { return facts(err); }
}
"""

ANTHROPIC_SCRIPT = (
    PRELUDE
    + r"""
const sdk = load('@anthropic-ai/sdk');
const Anthropic = sdk.Anthropic || sdk.default;
const client = new Anthropic({ apiKey: config.apiKey, baseURL: config.baseURL, maxRetries: 0, timeout: 20000 });
const model = config.model;
const TOOLS = [
  { name: 'get_weather', description: 'The weather in a city.',
    input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
  { name: 'get_time', description: 'The time in a time zone.',
    input_schema: { type: 'object', properties: { timezone: { type: 'string' } }, required: ['timezone'] } },
];
const ask = (name, text) => [{ role: 'user', content: user(name, text) }];
const textOf = (m) => m.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
const summary = (m) => ({ id: m.id, type: m.type, role: m.role, model: m.model, text: textOf(m),
                          stop_reason: m.stop_reason, usage: m.usage, content: m.content });

async function toolRound(name, send) {
  const messages = ask(name, 'Weather and time in Paris?');
  const first = await send(messages);
  const uses = first.content.filter((b) => b.type === 'tool_use');
  messages.push({ role: 'assistant', content: first.content });
  messages.push({ role: 'user', content: uses.map((u) => ({ type: 'tool_result', tool_use_id: u.id, content: RESULTS[u.name] })) });
  const second = await send(messages);
  return { calls: uses.map((u) => [u.id, u.name, u.input]), first: summary(first), second: summary(second) };
}

async function main() {
  await run('create', async () =>
    summary(await client.messages.create({ model, max_tokens: 64, messages: ask('create', 'Say hello.') })));

  await run('stream', async () => {
    const stream = client.messages.stream({ model, max_tokens: 64, messages: ask('stream', 'Say hello.') });
    const deltas = [];
    const events = [];
    stream.on('text', (delta) => deltas.push(delta));
    stream.on('streamEvent', (event) => events.push(event.type));
    const final = await stream.finalMessage();
    return { ...summary(final), deltas, events };
  });

  await run('tools', () => toolRound('tools', (messages) =>
    client.messages.create({ model, max_tokens: 256, tools: TOOLS, messages })));
  await run('tools_stream', () => toolRound('tools_stream', (messages) =>
    client.messages.stream({ model, max_tokens: 256, tools: TOOLS, messages }).finalMessage()));

  await run('count_tokens', async () => {
    const { data, response } = await client.messages.countTokens({
      model, system: 'You are terse.', tools: TOOLS, messages: ask('count_tokens', 'How many tokens is this?'),
    }).withResponse();
    return { input_tokens: data.input_tokens, how: response.headers.get('x-protoshift-token-count'),
             requestID: response.headers.get('request-id') };
  });

  await run('models', async () => {
    const first = await client.models.list({ limit: 2 });
    const pages = [];
    for await (const page of first.iterPages()) {
      pages.push({ ids: page.data.map((m) => m.id), has_more: page.has_more, first_id: page.first_id, last_id: page.last_id });
    }
    const ids = [];
    for await (const model of client.models.list({ limit: 2 })) ids.push(model.id);
    return { pages, ids, sample: first.data[0] };
  });

  await run('retry', async () => {
    const { data, response } = await client.messages.create(
      { model, max_tokens: 64, messages: ask('retry', 'Say hello.') }, { maxRetries: 1 }).withResponse();
    return { ...summary(data), requestID: response.headers.get('request-id') };
  });

  await run('error', async () => ({
    raised: await raised(client.messages.create({ model, max_tokens: 64, messages: ask('error', 'A very long prompt.') })),
  }));

  await run('rate_limited', async () => ({  // the client's maxRetries is 0: raised at once
    raised: await raised(client.messages.create({ model, max_tokens: 64, messages: ask('rate_limited', 'Say hello.') })),
  }));

  await run('unavailable', async () => ({
    raised: await raised(client.messages.create({ model, max_tokens: 64, messages: ask('unavailable', 'Say hello.') })),
  }));

  await run('cut', async () => {
    const stream = client.messages.stream({ model, max_tokens: 64, messages: ask('cut', 'Count to six.') });
    const deltas = [];
    stream.on('text', (delta) => deltas.push(delta));
    return { raised: await raised(stream.finalMessage()), deltas };
  });

  await run('abort', async () => {
    const controller = new AbortController();
    const stream = client.messages.stream(
      { model, max_tokens: 2048, messages: ask('abort', 'Talk for a long time.') }, { signal: controller.signal });
    let got = '';
    stream.on('text', (delta) => {
      got += delta;
      if (got.length >= 12 && !controller.signal.aborted) controller.abort();
    });
    return { raised: await raised(stream.finalMessage()), got, aborted: controller.signal.aborted };
  });
}

main().then(() => process.exit(0), (err) => { out({ crashed: facts(err) }); process.exit(1); });
"""
)

OPENAI_SCRIPT = (
    PRELUDE
    + r"""
const sdk = load('openai');
const OpenAI = sdk.OpenAI || sdk.default;
const client = new OpenAI({ apiKey: config.apiKey, baseURL: config.baseURL + '/v1', maxRetries: 0, timeout: 20000 });
const model = config.model;
const SCHEMAS = {
  get_weather: ['The weather in a city.', { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }],
  get_time: ['The time in a time zone.', { type: 'object', properties: { timezone: { type: 'string' } }, required: ['timezone'] }],
};
const CHAT_TOOLS = Object.entries(SCHEMAS).map(([name, [description, parameters]]) =>
  ({ type: 'function', function: { name, description, parameters } }));
const RESPONSES_TOOLS = Object.entries(SCHEMAS).map(([name, [description, parameters]]) =>
  ({ type: 'function', name, description, parameters, strict: false }));

// ---- Chat Completions
const ask = (name, text) => [{ role: 'user', content: user(name, text) }];
const chat = (c) => ({ id: c.id, object: c.object, model: c.model, text: c.choices[0].message.content,
                       finish_reason: c.choices[0].finish_reason, usage: c.usage, message: c.choices[0].message });

async function chatTools(name, send, replay = false) {
  const messages = ask(name, 'Weather and time in Paris?');
  const first = await send(messages);
  const message = first.choices[0].message;
  const calls = message.tool_calls || [];
  // The message as it came (OpenAI's tool-calling guide), but for what the stream helper adds to it
  // (`parsed`: OpenAI's older models refuse it, openai-node issue 1161; its runTools strips it too)
  messages.push(replay ? { role: message.role, content: message.content, tool_calls: message.tool_calls } : message);
  for (const call of calls) messages.push({ role: 'tool', tool_call_id: call.id, content: RESULTS[call.function.name] });
  const second = await send(messages);
  return { calls: calls.map((c) => [c.id, c.function.name, JSON.parse(c.function.arguments)]),
           first: chat(first), second: chat(second) };
}

// ---- Responses
// `output_text` is the SDK's own addition to a whole answer; a streamed response is as the events said it
const outputText = (r) => r.output_text ?? r.output.filter((item) => item.type === 'message')
  .flatMap((item) => item.content).filter((part) => part.type === 'output_text').map((part) => part.text).join('');
const responseOf = (r) => ({ id: r.id, object: r.object, status: r.status, text: outputText(r), usage: r.usage,
                             output: r.output, error: r.error ?? null });
async function responsesStream(params, options) {
  const stream = await client.responses.create({ ...params, stream: true }, options);
  const events = [];
  let final = null;
  for await (const event of stream) {
    events.push(event.type);
    if (['response.completed', 'response.failed', 'response.incomplete'].includes(event.type)) final = event.response;
  }
  return { events, final };
}

async function responsesTools(name, send) {
  const input = [{ role: 'user', content: user(name, 'Weather and time in Paris?') }];
  const first = await send(input);
  const calls = first.output.filter((item) => item.type === 'function_call');
  input.push(...first.output);
  for (const call of calls) input.push({ type: 'function_call_output', call_id: call.call_id, output: RESULTS[call.name] });
  const second = await send(input);
  return { calls: calls.map((c) => [c.call_id, c.name, JSON.parse(c.arguments)]),
           first: responseOf(first), second: responseOf(second) };
}

async function main() {
  // ---- Chat Completions
  await run('chat.create', async () =>
    chat(await client.chat.completions.create({ model, messages: ask('chat.create', 'Say hello.') })));

  await run('chat.stream', async () => {  // the SDK's stream helper, iterated
    const runner = client.chat.completions.stream(
      { model, messages: ask('chat.stream', 'Say hello.'), stream_options: { include_usage: true } });
    const deltas = [];
    for await (const chunk of runner) for (const choice of chunk.choices) if (choice.delta.content) deltas.push(choice.delta.content);
    return { ...chat(await runner.finalChatCompletion()), deltas };
  });

  await run('chat.stream_raw', async () => {  // create({stream: true}) and for await
    const stream = await client.chat.completions.create({ model, messages: ask('chat.stream_raw', 'Say hello.'), stream: true });
    const deltas = [];
    let finish = null;
    for await (const chunk of stream) {
      for (const choice of chunk.choices) {
        if (choice.delta.content) deltas.push(choice.delta.content);
        finish = choice.finish_reason || finish;
      }
    }
    return { text: deltas.join(''), deltas, finish_reason: finish };
  });

  await run('chat.tools', () => chatTools('chat.tools', (messages) =>
    client.chat.completions.create({ model, messages, tools: CHAT_TOOLS })));
  await run('chat.tools_stream', () => chatTools('chat.tools_stream', (messages) =>
    client.chat.completions.stream({ model, messages, tools: CHAT_TOOLS }).finalChatCompletion(), true));

  await run('chat.models', async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    return { ids: models.map((m) => m.id), sample: models[0] };
  });

  await run('chat.retry', async () => {
    const { data, response } = await client.chat.completions.create(
      { model, messages: ask('chat.retry', 'Say hello.') }, { maxRetries: 1 }).withResponse();
    return { ...chat(data), requestID: response.headers.get('x-request-id') };
  });

  await run('chat.error', async () => ({
    raised: await raised(client.chat.completions.create({ model, messages: ask('chat.error', 'A very long prompt.') })),
  }));

  await run('chat.rate_limited', async () => ({  // the client's maxRetries is 0: raised at once
    raised: await raised(client.chat.completions.create({ model, messages: ask('chat.rate_limited', 'Say hello.') })),
  }));

  await run('chat.unavailable', async () => ({
    raised: await raised(client.chat.completions.create({ model, messages: ask('chat.unavailable', 'Say hello.') })),
  }));

  await run('chat.cut', async () => {
    const deltas = [];
    const stream = await client.chat.completions.create({ model, messages: ask('chat.cut', 'Count to six.'), stream: true });
    const failed = await raised((async () => {
      for await (const chunk of stream) for (const choice of chunk.choices) if (choice.delta.content) deltas.push(choice.delta.content);
    })());
    return { raised: failed, deltas };
  });

  await run('chat.abort', async () => {
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model, messages: ask('chat.abort', 'Talk for a long time.'), stream: true }, { signal: controller.signal });
    let got = '';
    const failed = await raised((async () => {
      for await (const chunk of stream) {
        for (const choice of chunk.choices) got += choice.delta.content || '';
        if (got.length >= 12 && !controller.signal.aborted) controller.abort();
      }
    })());
    return { raised: failed, got, aborted: controller.signal.aborted };
  });

  // ---- Responses
  await run('responses.create', async () =>
    responseOf(await client.responses.create({ model, input: user('responses.create', 'Say hello.') })));

  await run('responses.stream', async () => {
    const { events, final } = await responsesStream({ model, input: user('responses.stream', 'Say hello.') });
    return { events, ...responseOf(final) };
  });

  await run('responses.tools', () => responsesTools('responses.tools', (input) =>
    client.responses.create({ model, input, tools: RESPONSES_TOOLS })));
  await run('responses.tools_stream', () => responsesTools('responses.tools_stream', async (input) =>
    (await responsesStream({ model, input, tools: RESPONSES_TOOLS })).final));

  await run('responses.retry', async () => {
    const { data, response } = await client.responses.create(
      { model, input: user('responses.retry', 'Say hello.') }, { maxRetries: 1 }).withResponse();
    return { ...responseOf(data), requestID: response.headers.get('x-request-id') };
  });

  await run('responses.error', async () => ({
    raised: await raised(client.responses.create({ model, input: user('responses.error', 'A very long prompt.') })),
  }));

  await run('responses.rate_limited', async () => ({
    raised: await raised(client.responses.create({ model, input: user('responses.rate_limited', 'Say hello.') })),
  }));

  await run('responses.unavailable', async () => ({
    raised: await raised(client.responses.create({ model, input: user('responses.unavailable', 'Say hello.') })),
  }));

  await run('responses.cut', async () => {
    let got = null;
    const failed = await raised((async () => { got = await responsesStream({ model, input: user('responses.cut', 'Count to six.') }); })());
    return { raised: failed, events: got && got.events, final: got && got.final && responseOf(got.final) };
  });

  await run('responses.abort', async () => {
    const controller = new AbortController();
    const stream = await client.responses.create(
      { model, input: user('responses.abort', 'Talk for a long time.'), stream: true }, { signal: controller.signal });
    let got = '';
    const failed = await raised((async () => {
      for await (const event of stream) {
        if (event.type === 'response.output_text.delta') got += event.delta;
        if (got.length >= 12 && !controller.signal.aborted) controller.abort();
      }
    })());
    return { raised: failed, got, aborted: controller.signal.aborted };
  });
}

main().then(() => process.exit(0), (err) => { out({ crashed: facts(err) }); process.exit(1); });
"""
)


# ---- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def node_modules() -> Path:
    try:
        return install_node_sdks()
    except NodeSDKsUnavailable as exc:
        pytest.skip(f"the Node SDKs are not available, their tests are skipped: {exc}")


@dataclass
class Served:
    """serve in front of a fake upstream of one backend API, the fake's cases, and a Node runner."""

    backend: str
    upstream: fa.FakeAnthropic | fc.FakeChat
    cases: Cases
    running: Running
    node: NodeRunner

    @property
    def model(self) -> str:
        return CLAUDE_MODEL if self.backend == "anthropic" else CHAT_MODELS[0]

    @property
    def model_ids(self) -> list[str]:
        """What the upstream lists (serve lists it, with no alias configured)."""
        return [m[0] for m in fa.MODELS] if self.backend == "anthropic" else list(CHAT_MODELS)

    def run(self, script: str) -> NodeRun:
        config = {"baseURL": self.running.url, "apiKey": SERVER_KEY, "model": self.model, "results": RESULTS,
                  "caseLimitMs": CASE_LIMIT_MS}  # fmt: skip
        run = self.node.run(script, config, timeout=RUN_LIMIT)
        assert not run.timed_out, run.explain()
        return run

    def refusals(self) -> list[str]:
        if isinstance(self.upstream, fc.FakeChat):
            return [f"{r.received.path} {r.status} {r.message}" for r in self.upstream.refusals]
        return [f"{r.received.path} {r.status} {r.error['message']}" for r in self.upstream.refusals]

    def logged(self, route: str) -> list[dict[str, Any]]:
        return [entry for entry in self.running.requests_logged() if entry.get("route") == route]

    def wait_cut_by_client(self, case: str, timeout: float = 10.0) -> bool:
        """Whether the fake saw the connection of `case`'s request closed while it still streamed (it notices
        at its next write, 20 ms apart)."""
        assert self.upstream.server is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(MARKER.search(json.dumps(r.body)).group(1) == case  # type: ignore[union-attr]
                   for r in self.upstream.server.cut_by_client):  # fmt: skip
                return True
            time.sleep(0.02)
        return False


@pytest.fixture
def served(
    gateway: GatewayFactory, node_modules: Path, tmp_path: Path, tripwire: Tripwire
) -> Iterator[Callable[[str], Served]]:
    """`served(backend)`: the fake upstream of that backend API (every request dispatched by `Cases`), serve
    in front of it with its default retries (2) and a server key, and a Node runner. At the end: nothing
    refused but what serve learns from (a count's one `POST /tokenize` on a server that has none), no broken
    turn."""
    started: list[Served] = []
    with ExitStack() as stack:

        def start(backend: str) -> Served:
            upstream: fa.FakeAnthropic | fc.FakeChat
            flags = {"backend": backend, "max_retries": 2}
            if backend == "anthropic":
                cases = Cases(claude_turns())
                upstream = stack.enter_context(fa.FakeAnthropic([cases] * 64, key=PROVIDER_KEY))
                running = gateway.start(upstream.server, flags=flags, keys=[SERVER_KEY])
            else:
                cases = Cases(chat_turns())
                upstream = stack.enter_context(fc.FakeChat("openai", [cases] * 64, models=CHAT_MODELS[1:]))
                gateway.monkeypatch.setenv("OPENAI_BASE_URL", upstream.base_url)
                gateway.monkeypatch.setenv("OPENAI_API_KEY", upstream.key or "")
                running = gateway.start(flags=flags, keys=[SERVER_KEY])
            through = Served(backend, upstream, cases, running, NodeRunner(node_modules, tmp_path, tripwire))
            started.append(through)
            return through

        yield start
        for through in started:
            assert not through.upstream.broken, (
                f"a turn of the fake failed the SDK's checks:\n{through.upstream.broken[0]}"
            )
            unexpected = [r for r in through.refusals() if not r.startswith("/tokenize 404")]
            assert not unexpected, "the gateway sent what the upstream refuses:\n" + "\n".join(unexpected)


# ---- checking many cases at once -------------------------------------------------------------------------


class Checks:
    """Every case checked, each failure kept: the test fails once, naming all the cases that failed."""

    def __init__(self, run: NodeRun) -> None:
        self.run = run
        self.failed: list[str] = []
        self.checked: set[str] = set()

    @contextmanager
    def case(self, name: str) -> Iterator[dict[str, Any]]:
        self.checked.add(name)
        line = self.run.cases.get(name)
        try:
            assert line is not None, f"the script printed no line for {name}"
            assert not line.get("hung"), f"{name} did not end within {CASE_LIMIT_MS} ms: {line}"
            yield line
        except Exception as exc:  # an assertion, or a line without the field asked for (KeyError, TypeError)
            self.failed.append(f"{name}: {type(exc).__name__}: {exc}\n  line: {json.dumps(line)[:1500]}")

    def done(self) -> None:
        unchecked = sorted(set(self.run.cases) - self.checked)
        strays = [line for line in self.run.lines if "case" not in line]  # unhandled rejections, a crash
        assert self.run.returncode == 0, self.run.explain()
        assert not unchecked, f"cases printed but not checked: {unchecked}"
        assert not strays, f"the script printed more than its cases: {strays}"
        assert not self.failed, f"{len(self.failed)} case(s) failed:\n" + "\n".join(self.failed)


def check_streamed_upstream(served: Served, case: str) -> None:
    [body] = served.cases.bodies(case)
    assert body.get("stream") is True, f"{case}: the upstream request did not stream"


def check_tool_round(served: Served, case: str, calls: list[list[Any]]) -> None:
    """The SDK saw both calls of the first turn, in order, with their arguments; the second upstream request
    carries each result under the upstream's own call id."""
    assert [(name, args) for _, name, args in calls] == [("get_weather", WEATHER), ("get_time", TIME)]
    assert len({call_id for call_id, _, _ in calls}) == 2, calls
    first, second = served.cases.bodies(case)
    issued = ["toolu_01weather", "toolu_01time"] if served.backend == "anthropic" else ["call_weather", "call_time"]
    assert tool_results(second) == dict(zip(issued, RESULTS.values(), strict=True)), tool_results(second)
    assert "tools" in first and len(first["tools"]) == 2


def check_retry(served: Served, case: str, line: dict[str, Any], route: str) -> None:
    """The SDK waited the upstream's `retry-after` and asked once more; serve (retries on) handed the 429 over
    at once and did not retry itself: one attempt of its own per request the SDK made."""
    assert line["ok"], line
    assert line["text"] == HELLO
    assert line["ms"] >= RETRY_AFTER * 1000, f"the SDK did not wait retry-after: {line['ms']} ms"
    times = served.cases.times(case)
    assert len(times) == 2, f"the upstream saw {len(times)} requests (2: the SDK's first and its one retry)"
    assert times[1] - times[0] >= RETRY_AFTER - 0.05, times
    assert [r.headers.get("x-stainless-retry-count") for _, r in served.cases.received[case]] == ["0", "0"]
    entries = served.logged(route)
    ids = [entry["id"] for entry in entries]
    assert line["requestID"] in ids, (line["requestID"], ids)
    answered = ids.index(line["requestID"])
    assert answered > 0 and entries[answered - 1]["status"] == 429, "serve answered the SDK's first try with the 429"


def check_request_id(served: Served, route: str, status: int, request_id: str | None) -> None:
    """The request id header the SDK read is serve's id of that request."""
    assert request_id and request_id.startswith("req_"), request_id
    ids = [entry["id"] for entry in served.logged(route) if entry["status"] == status]
    assert request_id in ids, (request_id, ids)


def check_raised(served: Served, case: str, line: dict[str, Any], route: str, name: str, status: int) -> dict[str, Any]:
    """The SDK raised its own class for the status serve passed on, with serve's request id; serve asked the
    upstream once (a client that retries itself gets the status at once; a 400 is not retried anyway)."""
    raised = line["raised"]
    assert line["ok"] and raised, line
    assert (raised["name"], raised["status"]) == (name, status), raised
    check_request_id(served, route, status, raised["requestID"])
    assert len(served.cases.bodies(case)) == 1, "the upstream was asked more than once"
    return dict(raised)


def check_abort(served: Served, case: str, route: str) -> None:
    """The fake saw its connection closed while it streamed; serve logged the request as the client's leaving."""
    assert served.wait_cut_by_client(case), "the upstream call was not cancelled (the fake streamed on)"
    assert len(served.cases.bodies(case)) == 1
    deadline = time.monotonic() + 10
    while not [e for e in served.logged(route) if e["status"] == 499] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [e for e in served.logged(route) if e["status"] == 499], [e["status"] for e in served.logged(route)]


# ---- @anthropic-ai/sdk -> Messages ----------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS, ids=[f"over-{b}" for b in BACKENDS])
def test_the_anthropic_node_sdk(served: Callable[[str], Served], backend: str) -> None:
    through = served(backend)
    run = through.run(ANTHROPIC_SCRIPT)
    checks = Checks(run)
    route = "/v1/messages"

    with checks.case("create") as line:
        assert line["ok"], line
        assert (line["type"], line["role"], line["text"], line["stop_reason"]) == (
            "message",
            "assistant",
            HELLO,
            "end_turn",
        )
        assert line["usage"]["input_tokens"] > 0 and line["usage"]["output_tokens"] > 0
        [body] = through.cases.bodies("create")
        assert not body.get("stream") and body["model"] == through.model

    with checks.case("stream") as line:
        assert line["ok"], line
        assert line["text"] == HELLO and "".join(line["deltas"]) == HELLO and len(line["deltas"]) > 1
        assert line["stop_reason"] == "end_turn" and line["usage"]["output_tokens"] > 0
        assert line["events"][0] == "message_start" and line["events"][-1] == "message_stop"
        check_streamed_upstream(through, "stream")

    for case in ("tools", "tools_stream"):
        with checks.case(case) as line:
            assert line["ok"], line
            assert line["first"]["stop_reason"] == "tool_use"
            assert [b["type"] for b in line["first"]["content"]] == ["tool_use", "tool_use"]
            check_tool_round(through, case, line["calls"])
            assert (line["second"]["text"], line["second"]["stop_reason"]) == (AFTER_TOOLS, "end_turn")

    with checks.case("count_tokens") as line:
        assert line["ok"], line
        assert isinstance(line["input_tokens"], int) and line["input_tokens"] > 0
        assert line["requestID"] and line["requestID"].startswith("req_")
        if backend == "anthropic":  # the upstream's own count, passed on
            [counted] = through.upstream.counted  # type: ignore[union-attr]
            assert line["input_tokens"] == fa.estimate_tokens(counted.json)
            assert line["how"] == "exact"
        else:  # OpenAI's API cannot count: serve's estimate, and it says so
            assert line["how"] == "estimate"

    with checks.case("models") as line:
        assert line["ok"], line
        ids = through.model_ids
        assert sorted(line["ids"]) == sorted(ids) and len(line["ids"]) == len(ids), line["ids"]
        assert [len(page["ids"]) for page in line["pages"]] == [2, 1]  # paged by after_id, as Anthropic pages
        assert [page["has_more"] for page in line["pages"]] == [True, False]
        assert [i for page in line["pages"] for i in page["ids"]] == line["ids"]
        sample = line["sample"]
        assert sample["type"] == "model" and sample["id"] in ids and sample["display_name"] and sample["created_at"]

    with checks.case("retry") as line:
        check_retry(through, "retry", line, route)

    with checks.case("error") as line:
        raised = check_raised(through, "error", line, route, "BadRequestError", 400)
        assert raised["type"] == "invalid_request_error"  # the SDK's `type`: the body's error.type
        assert raised["error"]["type"] == "error" and raised["error"]["error"]["type"] == "invalid_request_error"
        assert raised["error"]["request_id"] == raised["requestID"]
        assert (TOO_LONG_CLAUDE if backend == "anthropic" else "maximum context length") in raised["message"]

    with checks.case("rate_limited") as line:
        raised = check_raised(through, "rate_limited", line, route, "RateLimitError", 429)
        assert raised["type"] == "rate_limit_error" and raised["error"]["error"]["type"] == "rate_limit_error"
        assert raised["headers"]["retry-after"] == "1"

    with checks.case("unavailable") as line:
        if backend == "anthropic":  # Claude's 529 overloaded_error, kept
            raised = check_raised(through, "unavailable", line, route, "OverloadedError", 529)
            assert raised["type"] == "overloaded_error"
        else:  # a chat server's 503
            raised = check_raised(through, "unavailable", line, route, "ServiceUnavailableError", 503)
            assert raised["type"] == "api_error"

    with checks.case("cut") as line:
        raised = line["raised"]
        assert line["ok"] and raised, line
        assert raised["name"] == "APIError" and raised["status"] is None, raised
        assert "".join(line["deltas"]) and CUT_TEXT.startswith("".join(line["deltas"]))
        check_streamed_upstream(through, "cut")

    with checks.case("abort") as line:
        assert line["ok"] and line["aborted"], line
        assert line["raised"] and line["raised"]["name"] == "APIUserAbortError", line["raised"]
        assert TRICKLE.startswith(line["got"]) and len(line["got"]) < len(TRICKLE)
        check_abort(through, "abort", route)

    checks.done()


# ---- openai -> Chat Completions and Responses -----------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS, ids=[f"over-{b}" for b in BACKENDS])
def test_the_openai_node_sdk(served: Callable[[str], Served], backend: str) -> None:
    through = served(backend)
    run = through.run(OPENAI_SCRIPT)
    checks = Checks(run)

    # ---- Chat Completions
    route = "/v1/chat/completions"
    with checks.case("chat.create") as line:
        assert line["ok"], line
        assert (line["object"], line["text"], line["finish_reason"]) == ("chat.completion", HELLO, "stop")
        assert line["usage"]["prompt_tokens"] > 0 and line["usage"]["completion_tokens"] > 0

    for case in ("chat.stream", "chat.stream_raw"):
        with checks.case(case) as line:
            assert line["ok"], line
            assert line["text"] == HELLO and "".join(line["deltas"]) == HELLO and len(line["deltas"]) > 1
            assert line["finish_reason"] == "stop"
            check_streamed_upstream(through, case)
    with checks.case("chat.stream") as line:
        assert line["usage"] and line["usage"]["completion_tokens"] > 0, "stream_options.include_usage"

    for case in ("chat.tools", "chat.tools_stream"):
        with checks.case(case) as line:
            assert line["ok"], line
            assert line["first"]["finish_reason"] == "tool_calls"
            check_tool_round(through, case, line["calls"])
            assert (line["second"]["text"], line["second"]["finish_reason"]) == (AFTER_TOOLS, "stop")

    with checks.case("chat.models") as line:
        assert line["ok"], line
        assert sorted(line["ids"]) == sorted(through.model_ids), line["ids"]
        assert line["sample"]["object"] == "model" and "owned_by" in line["sample"]  # OpenAI's shape

    with checks.case("chat.retry") as line:
        check_retry(through, "chat.retry", line, route)

    with checks.case("chat.error") as line:
        raised = check_raised(through, "chat.error", line, route, "BadRequestError", 400)
        assert raised["type"] == raised["error"]["type"] == "invalid_request_error"
        if backend == "openai":  # the upstream's own code and param, passed on
            assert (raised["code"], raised["param"]) == ("context_length_exceeded", "messages")

    with checks.case("chat.rate_limited") as line:
        raised = check_raised(through, "chat.rate_limited", line, route, "RateLimitError", 429)
        assert raised["error"]["type"] == "rate_limit_error" and raised["headers"]["retry-after"] == "1"
        if backend == "openai":
            assert raised["code"] == "rate_limit_exceeded"

    with checks.case("chat.unavailable") as line:
        check_raised(
            through, "chat.unavailable", line, route, "InternalServerError", 529 if backend == "anthropic" else 503
        )

    with checks.case("chat.cut") as line:
        raised = line["raised"]
        assert line["ok"] and raised, line
        assert raised["name"] == "APIError" and raised["status"] is None, raised
        assert "".join(line["deltas"]) and CUT_TEXT.startswith("".join(line["deltas"]))

    with checks.case("chat.abort") as line:
        assert line["ok"] and line["aborted"], line
        assert line["raised"] is None, "the SDK ends a stream its caller aborted quietly"
        assert TRICKLE.startswith(line["got"]) and len(line["got"]) < len(TRICKLE)
        check_abort(through, "chat.abort", route)

    # ---- Responses
    route = "/v1/responses"
    with checks.case("responses.create") as line:
        assert line["ok"], line
        assert (line["object"], line["status"], line["text"]) == ("response", "completed", HELLO)
        assert line["usage"]["input_tokens"] > 0 and line["usage"]["output_tokens"] > 0

    with checks.case("responses.stream") as line:
        assert line["ok"], line
        assert (line["status"], line["text"]) == ("completed", HELLO)
        events = line["events"]
        assert events[0] == "response.created" and events[-1] == "response.completed"
        assert events.count("response.output_text.delta") > 1
        check_streamed_upstream(through, "responses.stream")

    for case in ("responses.tools", "responses.tools_stream"):
        with checks.case(case) as line:
            assert line["ok"], line
            assert [item["type"] for item in line["first"]["output"]] == ["function_call", "function_call"]
            check_tool_round(through, case, line["calls"])
            assert (line["second"]["status"], line["second"]["text"]) == ("completed", AFTER_TOOLS)

    with checks.case("responses.retry") as line:
        check_retry(through, "responses.retry", line, route)

    with checks.case("responses.error") as line:
        raised = check_raised(through, "responses.error", line, route, "BadRequestError", 400)
        assert raised["error"]["type"] == "invalid_request_error" and raised["code"] == "context_length_exceeded"

    with checks.case("responses.rate_limited") as line:
        raised = check_raised(through, "responses.rate_limited", line, route, "RateLimitError", 429)
        assert raised["headers"]["retry-after"] == "1"

    with checks.case("responses.unavailable") as line:
        status = 529 if backend == "anthropic" else 503
        check_raised(through, "responses.unavailable", line, route, "InternalServerError", status)

    with checks.case("responses.cut") as line:
        # The Responses API says a stream failed with a `response.failed` event; the SDK hands it over and
        # ends the iteration (it raises only for an `error` field), as against OpenAI's own API.
        assert line["ok"] and line["raised"] is None, line
        assert line["events"][0] == "response.created" and line["events"][-1] == "response.failed"
        assert line["final"]["status"] == "failed" and line["final"]["error"]["message"]

    with checks.case("responses.abort") as line:
        assert line["ok"] and line["aborted"], line
        assert line["raised"] is None, "the SDK ends a stream its caller aborted quietly"
        assert TRICKLE.startswith(line["got"]) and len(line["got"]) < len(TRICKLE)
        check_abort(through, "responses.abort", route)

    checks.done()
