"""Claude Code's requests through `protoshift serve` to OpenAI-compatible upstreams that refuse what real
ones refuse (issue 21): each refusal is read, the body sent once more without what was refused (or
reshaped), the answer reaches the client, and the model's fact is learned so that the next request
goes right the first time. Each upstream here is a fake on 127.0.0.1 holding bodies to one rule, in
the words of the server it stands for."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anthropic
import pytest

from tests.fakes import (
    FakeServer,
    Received,
    Reply,
    openai_completion,
    openai_error_reply,
    openai_stream_reply,
    openai_text_chunks,
)
from tests.oracles import assert_openai_body, validate_anthropic_message_closed

from .conftest import GatewayFactory, Running

USAGE = {"prompt_tokens": 30, "completion_tokens": 2}
Rule = Callable[[dict[str, Any]], str | None]  # the body -> the upstream's refusal, or None: taken

# What Claude Code sends on every turn, less the tools: adaptive thinking with an effort, its user id
# (a JSON string of ~150 characters), the billing header first in system, and since 2.1.154 a system
# message in the middle of the conversation.
USER_ID = json.dumps(
    {"device_id": "d" * 64, "account_uuid": "8f2c4b1e-3a5d-4e6f-9b7c-1d2e3f4a5b6c", "session_id": "s-4f1e9a"}
)
CLAUDE_CODE_TURN: dict[str, Any] = {
    "max_tokens": 8000,
    "system": [
        {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.197.a1b; cc_entrypoint=sdk-cli;"},
        {"type": "text", "text": "You are Claude Code."},
    ],
    "messages": [
        {"role": "user", "content": "List the files."},
        {"role": "assistant", "content": "Which directory?"},
        {"role": "system", "content": "Available agent types: general-purpose, Explore."},
        {"role": "user", "content": "This one."},
    ],
    "thinking": {"type": "adaptive"},
    "output_config": {"effort": "high"},
    "metadata": {"user_id": USER_ID},
}


def ollama_no_thinking(body: dict[str, Any]) -> str | None:
    if "reasoning_effort" in body:
        return f'"{body["model"]}" does not support thinking'
    return None


def openai_user_length(body: dict[str, Any]) -> str | None:
    user = body.get("user")
    if isinstance(user, str) and len(user) > 64:
        return (
            "Invalid 'user': string too long. Expected a string with maximum length 64, "
            f"but got a string with length {len(user)} instead."
        )
    return None


def qwen_system_first(body: dict[str, Any]) -> str | None:
    roles = [m["role"] for m in body["messages"]]
    if "system" in roles[roles.index("user") :] if "user" in roles else False:
        return "System message must be at the beginning."
    return None


def gemma_no_system(body: dict[str, Any]) -> str | None:
    if any(m["role"] == "system" for m in body["messages"]):
        return "System role not supported"
    return None


def no_stream_options(body: dict[str, Any]) -> str | None:
    if "stream_options" in body:
        return "Unrecognized request argument supplied: stream_options"
    return None


def no_user_field(body: dict[str, Any]) -> str | None:
    if "user" in body:
        return "[{'type': 'extra_forbidden', 'loc': ('body', 'user'), 'msg': 'Extra inputs are not permitted'}]"
    return None


class StrictUpstream:
    """A chat upstream holding every body to `rules` (a 400 in the rule's words for the first broken),
    answering the rest; it keeps every body it was sent."""

    def __init__(self, *rules: Rule, model: str = "qwen3-coder") -> None:
        self.rules = rules
        self.model = model
        self.bodies: list[dict[str, Any]] = []
        self.refused: list[str] = []

    def __call__(self, received: Received) -> Reply:
        body = received.json
        assert_openai_body(body)
        self.bodies.append(body)
        for rule in self.rules:
            refusal = rule(body)
            if refusal is not None:
                self.refused.append(refusal)
                return openai_error_reply(400, refusal, "invalid_request_error")
        if body.get("stream"):
            usage = USAGE if body.get("stream_options", {}).get("include_usage") else None
            return openai_stream_reply(openai_text_chunks(["Do", "ne."], usage=usage))
        return Reply(body=json.dumps(openai_completion("Done.", model=self.model)).encode())


def start(gateway: GatewayFactory, server: FakeServer, config: str = "") -> Running:
    gateway.monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    return gateway.start(config=config, flags={"backend": "openai"})


def ask(running: Running, model: str = "qwen3-coder", **overrides: Any) -> tuple[Any, str]:
    client = anthropic.Anthropic(base_url=running.url, api_key="unused", max_retries=0)
    raw = client.messages.with_raw_response.create(model=model, **{**CLAUDE_CODE_TURN, **overrides})
    message = raw.parse()
    validate_anthropic_message_closed(message.model_dump(exclude_unset=True))
    assert message.content[0].type == "text" and message.content[0].text == "Done."
    return message, raw.headers.get("x-protoshift-dropped", "")


@pytest.mark.parametrize(
    ("rule", "fixed", "dropped_path"),
    [
        (ollama_no_thinking, lambda body: "reasoning_effort" not in body, "thinking"),
        (no_stream_options, lambda body: "stream_options" not in body, "stream"),
        (no_user_field, lambda body: "user" not in body, "metadata.user_id"),
    ],
    ids=["ollama-thinking", "stream_options", "user-forbidden"],
)
def test_a_refused_field_is_left_out_once_and_learned(
    gateway: GatewayFactory, upstream: Any, rule: Rule, fixed: Callable[[dict[str, Any]], bool], dropped_path: str
) -> None:
    fake = StrictUpstream(rule)
    running = start(gateway, upstream(fake))
    stream = rule is no_stream_options
    if stream:
        client = anthropic.Anthropic(base_url=running.url, api_key="unused", max_retries=0)
        with client.messages.stream(model="qwen3-coder", **CLAUDE_CODE_TURN) as events:
            assert events.get_final_text() == "Done."
        # a chat upstream that takes no stream_options gives no usage chunk: the stream still ends right
    else:
        _, dropped = ask(running)
        assert dropped_path in dropped.split(", ")
    first, second = fake.bodies[:2]
    assert rule(first) is not None and rule(second) is None and fixed(second)
    fake.bodies.clear()
    if not stream:
        ask(running)  # learned: right the first time
        [again] = fake.bodies
        assert fixed(again)


def test_a_long_user_id_goes_hashed_and_openai_takes_it(gateway: GatewayFactory, upstream: Any) -> None:
    fake = StrictUpstream(openai_user_length)
    running = start(gateway, upstream(fake))
    ask(running, model="gpt-4.1")
    [body] = fake.bodies
    assert len(body["user"]) <= 64 and USER_ID not in json.dumps(body)
    ask(running, model="gpt-4.1")
    assert fake.bodies[1]["user"] == body["user"]  # stable: the same user is the same hash
    notes = running.wait_logged(2)[0]["notes"]
    assert any(note.startswith("metadata.user_id: approximated") for note in notes)


def test_a_mid_conversation_system_message_reaches_a_template_that_takes_one_only_first(
    gateway: GatewayFactory, upstream: Any
) -> None:
    fake = StrictUpstream(qwen_system_first)
    running = start(gateway, upstream(fake))
    ask(running)
    [body] = fake.bodies  # a reminder in the user's turn from the start: no refusal, nothing lost
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
    last = json.dumps(body["messages"][-1])
    assert "<system-reminder>" in last and "Available agent types" in last and "This one." in last
    assert "billing-header" not in json.dumps(body)  # dropped: it would defeat the prefix cache


def test_openai_takes_a_system_message_anywhere(gateway: GatewayFactory, upstream: Any) -> None:
    fake = StrictUpstream(ollama_no_thinking)  # gpt-4.1 does not reason: the table knows, nothing refused
    running = start(gateway, upstream(fake))
    ask(running, model="gpt-4.1")
    [body] = fake.bodies
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "system", "user"]


def test_a_template_with_no_system_role_gets_the_prompt_in_the_first_user_turn(
    gateway: GatewayFactory, upstream: Any
) -> None:
    fake = StrictUpstream(gemma_no_system, model="gemma3")
    running = start(gateway, upstream(fake))
    ask(running, model="gemma3", thinking={"type": "disabled"}, output_config={})
    first, second = fake.bodies
    assert gemma_no_system(first) is not None and gemma_no_system(second) is None
    assert second["messages"][0]["role"] == "user"
    assert "You are Claude Code." in json.dumps(second["messages"][0])
    notes = running.wait_logged(1)[0]["notes"]
    assert any(note.startswith("system: approximated: gemma3's chat template has no system role") for note in notes)
    fake.bodies.clear()
    ask(running, model="gemma3", thinking={"type": "disabled"}, output_config={})
    assert len(fake.bodies) == 1  # learned


def test_every_refusal_at_once_is_worked_through_then_learned(gateway: GatewayFactory, upstream: Any) -> None:
    """An upstream as strict as all of them: one resend per refusal, within the bound, then none."""
    fake = StrictUpstream(ollama_no_thinking, gemma_no_system, no_user_field, model="gemma3")
    running = start(gateway, upstream(fake))
    ask(running, model="gemma3")
    assert len(fake.refused) == 3 and len(fake.bodies) == 4
    fake.bodies.clear()
    ask(running, model="gemma3")
    assert len(fake.bodies) == 1


def test_the_config_says_it_first_and_no_refusal_is_needed(gateway: GatewayFactory, upstream: Any) -> None:
    fake = StrictUpstream(ollama_no_thinking, no_user_field)
    config = '[models."qwen3-coder"]\nthinking = "none"\nrefuses = ["user"]\n'
    running = start(gateway, upstream(fake), config)
    ask(running)
    assert fake.refused == [] and len(fake.bodies) == 1


def test_the_billing_header_is_kept_when_the_config_says_so(gateway: GatewayFactory, upstream: Any) -> None:
    fake = StrictUpstream()
    running = start(gateway, upstream(fake), "[openai]\nkeep_billing_header = true\n")
    ask(running)
    assert "x-anthropic-billing-header" in json.dumps(fake.bodies[0]["messages"][0])


def test_a_refusal_that_names_nothing_known_reaches_the_client(gateway: GatewayFactory, upstream: Any) -> None:
    fake = StrictUpstream(lambda body: "Context length exceeded: 40000 > 32768")
    running = start(gateway, upstream(fake))
    with pytest.raises(anthropic.BadRequestError, match="Context length exceeded"):
        ask(running)
    assert len(fake.bodies) == 1  # nothing to adapt: no resend
