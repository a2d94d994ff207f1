"""How a request in one API reaches a backend that speaks another (or the same one), and how the
backend's answers come back: one `Bridge` per (client API, backend API) pair, picked from one table.

N client APIs and M backend APIs cost N + M translator modules plus these bridges, never N x M
methods on every backend. The identity bridges (a pass-through) shape and check the request and give
the answers back as they came.

Each bridge has three steps, all pure:
- `request`: the caller's request -> an `Outbound` (the body in the backend's API, the notes of what
  translation did, the beta flags it needs, what the answer's mapping must know);
- `response`: the backend's whole answer -> the caller's;
- `stream`: a mapper from the backend's stream events to the caller's (`feed`, then `close`);
and, when the backend refuses a parameter the bridge put there (a model that does not take it),
`adapt`: the body to send instead, and what the refusal teaches about the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from protoshift.translator import anthropic_to_openai, chat_to_responses, openai_to_anthropic, responses_to_chat
from protoshift.translator.anthropic_to_openai.stream import NO_PARTS
from protoshift.translator.chat_compat import CHAT_ADAPTATIONS, adapt_to_chat_refusal, origins_for
from protoshift.translator.checks import check_json
from protoshift.translator.models import DEFAULT_TABLE, ModelTable
from protoshift.translator.openai_to_anthropic.body import translate as translate_chat_request
from protoshift.translator.openai_to_anthropic.compat import Adaptation, adapt_to_rejected_parameter
from protoshift.translator.report import Note, RequestTranslation
from protoshift.translator.responses_to_chat import ResponsesTranslation, SearchPolicy
from protoshift.translator.tables import DEFAULT_MAX_TOKENS, SAMPLING_FIELDS
from protoshift.translator.wire import API, CHAT, JSON, MESSAGES, RESPONSES

__all__ = ["BRIDGES", "Bridge", "Outbound", "Shaping", "StreamMapper", "bridge", "reaches"]


@dataclass(frozen=True, slots=True)
class Shaping:
    """How a backend wants the bodies it is sent: `model` replaces the request's (when set); `models`
    is the capability table bodies are fitted to; `strict` refuses what would be dropped or approximated;
    `default_model` is for a request that names none (only the offline mock has one)."""

    model: str | None = None
    models: ModelTable = DEFAULT_TABLE
    strict: bool = False
    default_max_tokens: int = DEFAULT_MAX_TOKENS
    default_model: str | None = None
    # Claude Code's billing header (its first system block) sent on to a chat upstream: by default it
    # is dropped, as its hash changes with every prompt and defeats the upstream's prefix caching.
    keep_billing_header: bool = False


@dataclass(slots=True)
class Outbound:
    """A request on its way to the backend."""

    body: JSON  # in the backend's API
    notes: list[Note] = field(default_factory=list)
    betas: list[str] = field(default_factory=list)  # `anthropic-beta` values the translated body needs
    include_usage: bool = False  # a Chat client asked for the usage chunk
    model: str = ""  # the model asked, for answers that do not name one
    # The body as the JSON bytes to send, when they are at hand (`batch run`'s spool keeps only these;
    # `body` is then empty until a resend needs it).
    encoded: bytes | None = None
    # What a Responses answer is made from besides the backend's (the request it echoes, its ToolMap,
    # its id): the request's translation.
    responses: ResponsesTranslation | None = None
    request: JSON | None = None  # the caller's request, as it came (a Responses answer echoes it)
    # Functions standing in for Anthropic's server tools (name -> family): their calls are answered
    # as the server tool's failure (anthropic_to_openai/builtin_tools.py).
    answered_here: Mapping[str, str] = field(default_factory=dict)
    carried: dict[str, str] | None = None  # filled with the reasoning carriers a stored answer keeps (Call.carried)


class StreamMapper(Protocol):
    def feed(self, event: JSON) -> list[JSON]: ...

    def close(self) -> list[JSON]: ...


class Bridge:
    """The identity: the backend speaks the client's API. Subclasses translate."""

    identity = True

    def __init__(self, client: API, backend: API) -> None:
        self.client = client
        self.backend = backend

    def request(
        self, request: Mapping[str, Any], *, stream: bool, shaping: Shaping, history: list[Any] | None = None
    ) -> Outbound:
        """`history`: the stored conversation a Responses request continues (`previous_response_id`)."""
        body = shaped(request, shaping, stream=stream, api=self.client)
        check_json(body)  # passed on untranslated: held to what every request is held to
        model = body.get("model")
        return Outbound(body, model=model if isinstance(model, str) else "")

    def count_body(self, request: Mapping[str, Any], shaping: Shaping) -> JSON:
        """The body whose input tokens a count is asked for (a count request carries no max_tokens)."""
        return self.request(request, stream=False, shaping=shaping).body

    def response(self, answer: JSON, outbound: Outbound) -> JSON:
        return answer

    def stream(self, outbound: Outbound) -> StreamMapper:
        return _Unchanged()

    # Resends after a refusal (the backend learns each): at most this many per call. None for a
    # pass-through: a client speaking the backend's own API gets its refusal as it came.
    max_adaptations = 0

    def adapt(self, body: JSON, refusal: str) -> Adaptation | None:
        """The body to send instead of `body`, which the model refused with the message `refusal`, for a
        parameter other models of its API take (translated there by this bridge); None: nothing fits."""
        return None


class _Unchanged:
    __slots__ = ()

    def feed(self, event: JSON) -> list[JSON]:
        return [event]

    def close(self) -> list[JSON]:
        return []


class ChatToMessages(Bridge):
    """An OpenAI Chat Completions client, an Anthropic Messages backend (Claude)."""

    identity = False

    def request(
        self, request: Mapping[str, Any], *, stream: bool, shaping: Shaping, history: list[Any] | None = None
    ) -> Outbound:
        openai_request = shaped(request, shaping, stream=stream, api=CHAT)
        return _outbound(openai_to_anthropic.request(openai_request, **_chat_options(shaping)))

    def request_checked(self, openai_request: JSON, shaping: Shaping) -> Outbound:
        """`request` for a shaped chat body made of a request checked already (`check_json`): not walked
        again (the Responses bridge's second leg)."""
        return _outbound(translate_chat_request(openai_request, checked=True, **_chat_options(shaping)))

    def response(self, answer: JSON, outbound: Outbound) -> JSON:
        return anthropic_to_openai.response(answer)

    max_adaptations = len(SAMPLING_FIELDS) + 1  # each takes out one sampling parameter, or budgeted thinking

    def adapt(self, body: JSON, refusal: str) -> Adaptation | None:
        return adapt_to_rejected_parameter(body, refusal)

    def stream(self, outbound: Outbound) -> StreamMapper:
        return anthropic_to_openai.Stream(include_usage=outbound.include_usage)


class MessagesToChat(Bridge):
    """An Anthropic Messages client (Claude Code, the anthropic SDKs), an OpenAI-compatible backend."""

    identity = False

    def request(
        self, request: Mapping[str, Any], *, stream: bool, shaping: Shaping, history: list[Any] | None = None
    ) -> Outbound:
        return self._translated(shaped(request, shaping, stream=stream, api=MESSAGES), shaping, None)

    def count_body(self, request: Mapping[str, Any], shaping: Shaping) -> JSON:
        anthropic_request = shaped(request, shaping, stream=False, api=MESSAGES)
        return self._translated(anthropic_request, shaping, 1).body

    def _translated(self, request: JSON, shaping: Shaping, default_max_tokens: int | None) -> Outbound:
        translation = anthropic_to_openai.request(
            request,
            strict=shaping.strict,
            models=shaping.models,
            default_max_tokens=default_max_tokens,
            keep_billing_header=shaping.keep_billing_header,
        )
        body = translation.body
        return Outbound(body, translation.notes, [], True, body["model"], answered_here=translation.answered_here)

    def response(self, answer: JSON, outbound: Outbound) -> JSON:
        return openai_to_anthropic.response(answer, model=outbound.model, answered_here=outbound.answered_here)

    max_adaptations = CHAT_ADAPTATIONS

    def adapt(self, body: JSON, refusal: str) -> Adaptation | None:
        return adapt_to_chat_refusal(body, refusal, origins_for(self.client))

    def stream(self, outbound: Outbound) -> StreamMapper:
        return openai_to_anthropic.Stream(model=outbound.model, answered_here=outbound.answered_here)


class ResponsesToChat(Bridge):
    """An OpenAI Responses client (Codex, the Agents SDK), an OpenAI-compatible Chat Completions backend."""

    identity = False
    signed_thinking = False  # a chat upstream takes Claude's thinking as text (reasoning_content)
    web_search: SearchPolicy = "drop"  # a chat upstream does not search: the tool is dropped, said in a note

    def request(
        self, request: Mapping[str, Any], *, stream: bool, shaping: Shaping, history: list[Any] | None = None
    ) -> Outbound:
        body, translation = self._to_chat(request, stream, shaping, history)
        chat = translation.body
        return Outbound(chat, translation.notes, [], True, chat["model"], responses=translation, request=body)

    def _to_chat(
        self, request: Mapping[str, Any], stream: bool, shaping: Shaping, history: list[Any] | None
    ) -> tuple[JSON, ResponsesTranslation]:
        """The request shaped, and its translation to chat."""
        body = shaped(request, shaping, stream=stream, api=RESPONSES)
        translation = responses_to_chat.request(
            body,
            strict=shaping.strict,
            models=shaping.models,
            history=history,
            web_search=self.web_search,
            signed_thinking=self.signed_thinking,
        )
        return body, translation

    def response(self, answer: JSON, outbound: Outbound) -> JSON:
        return self._to_responses(answer, outbound, checked=False)

    def _to_responses(self, answer: JSON, outbound: Outbound, *, checked: bool) -> JSON:
        t = _responses(outbound)
        return chat_to_responses.response(
            answer,
            request=outbound.request or {},
            tools=t.tools,
            response_id=t.response_id,
            carried=outbound.carried,
            checked=checked,
        )

    def stream(self, outbound: Outbound) -> StreamMapper:
        t = _responses(outbound)
        return chat_to_responses.Stream(
            request=outbound.request or {}, tools=t.tools, response_id=t.response_id, carried=outbound.carried
        )

    max_adaptations = CHAT_ADAPTATIONS

    def adapt(self, body: JSON, refusal: str) -> Adaptation | None:
        return adapt_to_chat_refusal(body, refusal, origins_for(self.client))


class ResponsesToMessages(ResponsesToChat):
    """An OpenAI Responses client, an Anthropic Messages backend (Claude): through Chat Completions, where
    nothing is lost that either side has (Claude's signed thinking travels as `thinking_blocks`; a web
    search tool as `web_search_options`, Claude's searches back as `provider_specific_fields`)."""

    signed_thinking = True
    web_search: SearchPolicy = "carry"  # Claude searches: Anthropic's web search tool
    max_adaptations = ChatToMessages.max_adaptations

    def request(
        self, request: Mapping[str, Any], *, stream: bool, shaping: Shaping, history: list[Any] | None = None
    ) -> Outbound:
        first_leg = replace(shaping, model=None) if shaping.model else shaping  # the model is set on the way to Claude
        body, to_chat = self._to_chat(request, stream, first_leg, history)
        # The chat body is made of the checked request (and of thinking blocks checked as they were read). It
        # is shaped already (its model the request's, its stream the call's) unless the backend sets the model.
        chat = shaped(to_chat.body, shaping, stream=stream, api=CHAT) if shaping.model else to_chat.body
        to_claude = _CHAT_TO_MESSAGES.request_checked(chat, shaping)
        if to_claude.notes:
            to_claude.notes = [*to_chat.notes, *(_on_the_way(note) for note in to_claude.notes)]
        else:
            to_claude.notes = to_chat.notes
        to_claude.responses, to_claude.request = to_chat, body
        return to_claude

    def response(self, answer: JSON, outbound: Outbound) -> JSON:
        # the chat completion the first leg makes of the answer it checked is not walked again
        return self._to_responses(anthropic_to_openai.response(answer), outbound, checked=True)

    def stream(self, outbound: Outbound) -> StreamMapper:
        to_chat = anthropic_to_openai.Stream(include_usage=True)
        to_responses = super().stream(outbound)
        assert isinstance(to_responses, chat_to_responses.Stream)
        return _ClaudeToResponses(to_chat, to_responses)

    def adapt(self, body: JSON, refusal: str) -> Adaptation | None:
        return adapt_to_rejected_parameter(body, refusal)


class _Composed:
    """One stream mapper after another: each event of the first's output fed to the second."""

    __slots__ = ("_first", "_second")

    def __init__(self, first: StreamMapper, second: StreamMapper) -> None:
        self._first = first
        self._second = second

    def feed(self, event: JSON) -> list[JSON]:
        return [out for item in self._first.feed(event) for out in self._second.feed(item)]

    def close(self) -> list[JSON]:
        out = [out for item in self._first.close() for out in self._second.feed(item)]
        return [*out, *self._second.close()]


class _ClaudeToResponses(_Composed):
    """Claude's stream -> chat chunks -> Responses events; each text, thinking or tool input delta (most of a
    stream) handed on as its text, without the chat chunk the first would make and the second take apart,
    whenever the second is in the middle of that kind of item (the same events: `delta_parts` and
    `feed_delta` say when)."""

    __slots__ = ()
    _first: anthropic_to_openai.Stream
    _second: chat_to_responses.Stream

    def feed(self, event: JSON) -> list[JSON]:
        if type(event) is dict and event.get("type") == "content_block_delta":
            parts = self._first.delta_parts(event)
            if parts is not None:
                if parts is NO_PARTS:
                    return []
                events = self._second.feed_delta(*parts)
                return events if events is not None else self._second.feed(self._first.delta_chunk(*parts))
        return super().feed(event)


def _chat_options(shaping: Shaping) -> dict[str, Any]:
    return {"default_max_tokens": shaping.default_max_tokens, "strict": shaping.strict, "models": shaping.models}


def _outbound(translation: RequestTranslation) -> Outbound:
    body = translation.body
    return Outbound(body, translation.notes, translation.betas, translation.include_usage, body["model"])


def _responses(outbound: Outbound) -> ResponsesTranslation:
    assert outbound.responses is not None, "a Responses answer needs its request's translation"
    return outbound.responses


def _on_the_way(note: Note) -> Note:
    """A note of the second leg (Chat Completions -> Anthropic): its path is one of the chat body's."""
    return Note(f"(as chat) {note.path}", note.action, note.reason)


_CHAT_TO_MESSAGES = ChatToMessages(CHAT, MESSAGES)

BRIDGES: Mapping[tuple[API, API], Bridge] = {
    (CHAT, CHAT): Bridge(CHAT, CHAT),
    (MESSAGES, MESSAGES): Bridge(MESSAGES, MESSAGES),
    (CHAT, MESSAGES): _CHAT_TO_MESSAGES,
    (MESSAGES, CHAT): MessagesToChat(MESSAGES, CHAT),
    (RESPONSES, CHAT): ResponsesToChat(RESPONSES, CHAT),
    (RESPONSES, MESSAGES): ResponsesToMessages(RESPONSES, MESSAGES),
    (RESPONSES, RESPONSES): Bridge(RESPONSES, RESPONSES),
    # No bridge from Chat Completions or Messages to a backend that speaks only Responses (OpenAI's
    # /v1/responses): such a backend serves Responses clients alone (cloud.chain says so, by name).
}


def bridge(client: API, backend: API) -> Bridge:
    """The bridge from a client speaking `client` to a backend speaking `backend` (KeyError: none;
    `reaches` asks first)."""
    return BRIDGES[(client, backend)]


def reaches(client: API, backend: API) -> bool:
    """Whether a client speaking `client` can reach a backend speaking `backend`."""
    return (client, backend) in BRIDGES


# Fields that go only with a stream, per API: dropped from a request answered whole.
_STREAM_ONLY: Mapping[API, tuple[str, ...]] = {CHAT: ("stream_options",), MESSAGES: (), RESPONSES: ("stream_options",)}


def shaped(request: Mapping[str, Any], shaping: Shaping, *, stream: bool, api: API) -> JSON:
    """The caller's request as a backend is sent it: the backend's `model` override applied (or its
    default model, when the request names none), and `stream` set or removed to match the call, with
    the fields that only go with a stream."""
    body = dict(request)
    if shaping.model:
        body["model"] = shaping.model
    elif shaping.default_model and not body.get("model"):
        body["model"] = shaping.default_model
    if stream:
        body["stream"] = True
    else:
        body.pop("stream", None)
        for key in _STREAM_ONLY[api]:
            body.pop(key, None)
    return body
