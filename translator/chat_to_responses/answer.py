"""OpenAI chat.completion -> OpenAI Responses `response` object."""

from __future__ import annotations

from typing import Any

from protoshift.translator import reasoning_details
from protoshift.translator.chat_to_responses.common import call_id, echo, item_id, response_object, url_citations
from protoshift.translator.chat_to_responses.custom_input import custom_input
from protoshift.translator.chat_to_responses.web_search import search_items, wants_sources
from protoshift.translator.checks import check_json, type_name, want_list, want_object, want_str
from protoshift.translator.errors import TranslationError
from protoshift.translator.openai_checks import first_choice, message_text
from protoshift.translator.responses_to_chat.carry import encode_reasoning, thinking_blocks
from protoshift.translator.responses_to_chat.toolmap import ToolMap
from protoshift.translator.stamps import DEFAULT_STAMPS, Stamps
from protoshift.translator.tables import INCOMPLETE_REASONS, SERVICE_TIERS
from protoshift.translator.usage import chat_usage_to_responses
from protoshift.translator.wire import JSON, ChatCompletion, Response, ResponsesRequest

__all__ = ["response"]


def response(
    chat_completion: ChatCompletion,
    *,
    request: ResponsesRequest,
    tools: ToolMap,
    stamps: Stamps = DEFAULT_STAMPS,
    response_id: str | None = None,
    carried: dict[str, str] | None = None,
    checked: bool = False,
) -> Response:
    """Translate a chat.completion into the `response` object of the Responses `request` it answers.

    Output items in the order a Responses answer has them: a `reasoning` item (`reasoning_content`, or
    `reasoning` as vLLM, Ollama and OpenRouter name it) whose summary is that text (and, when the
    request's `include` asks for `reasoning.encrypted_content`, the same text carried for the next
    turn, or OpenRouter's `reasoning_details`, whole: carry.py); a `web_search_call` per search the
    upstream ran (web_search.py: Claude's, carried in `provider_specific_fields`); a `message` (its `output_text` with `url_citation` annotations, a `refusal` part for a
    refusal); then one item per tool call, in order, as the ToolMap says: a `function_call` (with its
    `namespace` for a namespace's function) or a `custom_tool_call` whose `input` is the raw text of
    the chat function's one string argument. `status` is `incomplete` for finish_reason `length`
    (`max_output_tokens`) and `content_filter`, else `completed`; `usage` is always whole.
    `request`: the Responses request (its fields are repeated, as the API does); `tools`: the
    translation's ToolMap; `response_id`: the translation's (else one from `stamps`); `carried`: where a
    stored answer keeps the carriers its client did not ask to see (item id -> encrypted_content).
    `checked`: the completion is one protoshift made of an answer it checked (the Claude bridge's first
    leg), not walked again. Only the first choice is read.
    """
    data = want_object(chat_completion, "$")
    if not checked:
        check_json(data)  # lone surrogates, NaN, huge integers, deep nesting: refused with their path
    choice, answer = first_choice(data)
    path = "choices[0].message"
    finish = choice.get("finish_reason")
    incomplete = INCOMPLETE_REASONS.get(finish) if isinstance(finish, str) else None
    status = "incomplete" if incomplete else "completed"
    req = request if isinstance(request, dict) else {}
    output = _output(answer, path, status, req, tools, stamps, carried)
    model = data.get("model")
    fields = echo(req)
    tier = data.get("service_tier")
    if isinstance(tier, str) and tier in SERVICE_TIERS:
        fields["service_tier"] = tier
    now = stamps.now()
    return response_object(
        fields,
        response_id=response_id or stamps.time_id("resp_"),
        created_at=now,
        model=model if isinstance(model, str) and model else _model(req),
        status=status,
        output=output,
        usage=chat_usage_to_responses(data.get("usage")),
        incomplete=incomplete,
        completed_at=None if incomplete else now,
    )


def _output(
    answer: dict[str, Any],
    path: str,
    status: str,
    request: dict[str, Any],
    tools: ToolMap,
    stamps: Stamps,
    carried: dict[str, str] | None,
) -> list[JSON]:
    text = answer.get("content")
    if type(text) is str and _text_only(answer):  # most answers: their message item, what the rest would make
        return [_message_item(stamps, status, [_text_part(text, [])])]
    output: list[JSON] = []
    if (reasoning := _reasoning(answer, request, stamps, carried)) is not None:
        output.append(reasoning)
    output += search_items(answer.get("provider_specific_fields"), stamps, wants_sources(request))
    parts: list[JSON] = []
    text = message_text(answer.get("content"), f"{path}.content")
    refusal = answer.get("refusal")
    if text or not (refusal or answer.get("tool_calls") or answer.get("function_call")):
        parts.append(_text_part(text, url_citations(answer.get("annotations"))))
    if isinstance(refusal, str) and refusal:
        parts.append({"type": "refusal", "refusal": refusal})
    if parts:
        output.append(_message_item(stamps, status, parts))
    calls = answer.get("tool_calls")
    if calls:
        for k, call in enumerate(want_list(calls, f"{path}.tool_calls")):
            call_path = f"{path}.tool_calls[{k}]"
            output.append(_call(want_object(call, call_path), call_path, ".function", tools, stamps))
    elif isinstance(legacy := answer.get("function_call"), dict):
        output.append(_call({"function": legacy}, f"{path}.function_call", "", tools, stamps))
    return output


# A chat message of these keys alone holds no more than its text (or a refusal): no reasoning, no search, no call.
_SHORT_MESSAGE_KEYS = frozenset({"role", "content", "refusal"})
# What `_output` reads of a message besides its content: null (as OpenAI-compatible servers send most) is absent.
_READ_KEYS = (
    "refusal", "tool_calls", "function_call", "reasoning_content", "reasoning", "reasoning_details",
    "provider_specific_fields",
)  # fmt: skip


def _text_only(answer: dict[str, Any]) -> bool:
    """The message says nothing `_output` reads but its content: no refusal, reasoning, search or call, no
    annotation (the keys of Claude's answer made chat, or those `_output` reads all null or empty)."""
    if _SHORT_MESSAGE_KEYS.issuperset(answer):
        return answer.get("refusal") is None
    for key in _READ_KEYS:
        if answer.get(key) is not None:
            return False
    annotations = answer.get("annotations")
    return annotations is None or annotations == []


def _text_part(text: str, annotations: list[JSON]) -> JSON:
    return {"type": "output_text", "annotations": annotations, "logprobs": [], "text": text}


def _message_item(stamps: Stamps, status: str, parts: list[JSON]) -> JSON:
    return {"id": item_id(stamps, "msg_"), "type": "message", "status": status, "content": parts, "role": "assistant"}


def _reasoning(
    answer: dict[str, Any], request: dict[str, Any], stamps: Stamps, carried: dict[str, str] | None
) -> JSON | None:
    reasoning = answer.get("reasoning_content") or answer.get("reasoning")
    reasoning = reasoning if isinstance(reasoning, str) else ""
    details = reasoning_details.details(answer.get("reasoning_details"))  # OpenRouter's, given back verbatim
    if details and not reasoning:  # only there (an encrypted entry has no text: the item still carries it)
        reasoning = reasoning_details.readable(details)
    if not reasoning and not details:
        return None
    item: JSON = {
        "id": item_id(stamps, "rs_"),
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": reasoning}],
    }
    wanted = _wants_encrypted(request)
    if wanted or carried is not None:
        blob = encode_reasoning(reasoning, thinking_blocks(answer.get("thinking_blocks")), details)
        if wanted:
            item["encrypted_content"] = blob
        elif carried is not None:
            carried[item["id"]] = blob
    return item


def _wants_encrypted(request: dict[str, Any]) -> bool:
    include = request.get("include")
    return isinstance(include, list) and "reasoning.encrypted_content" in include


def _model(request: dict[str, Any]) -> str:
    model = request.get("model")
    return model if isinstance(model, str) else ""


def _call(call: dict[str, Any], path: str, function_path: str, tools: ToolMap, stamps: Stamps) -> JSON:
    function = want_object(call.get("function"), f"{path}{function_path}")
    name = want_str(function.get("name"), f"{path}{function_path}.name", nonempty=True)
    arguments = function.get("arguments")
    if arguments is not None and not isinstance(arguments, str | dict):
        raise TranslationError(f"{path}{function_path}.arguments", f"expected JSON text, got {type_name(arguments)}")
    ref = tools.resolve(name)
    item: JSON
    if ref.kind == "custom":
        item = {
            "id": item_id(stamps, "ctc_"),
            "type": "custom_tool_call",
            "call_id": call_id(call.get("id"), stamps),
            "input": custom_input(arguments),
            "name": ref.name,
        }
    else:
        if isinstance(arguments, dict):  # a server that sends the object itself
            from pydantic_core import to_json

            arguments = to_json(arguments).decode()
        item = {
            "id": item_id(stamps, "fc_"),
            "type": "function_call",
            "status": "completed",
            "arguments": arguments or "{}",
            "call_id": call_id(call.get("id"), stamps),
            "name": ref.name,
        }
    if ref.namespace is not None:
        item["namespace"] = ref.namespace
    return item
