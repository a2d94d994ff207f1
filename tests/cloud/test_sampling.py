"""Models that refuse Anthropic's deprecated sampling parameters get the request again without them."""

from __future__ import annotations

from typing import Any

import pytest

from protoshift.cloud import CloudEvent, InvalidRequestError
from tests.cloud.cloud_helpers import (
    REQUEST,
    Script,
    anthropic,
    anthropic_error,
    chat_client,
    check_completion,
    collect,
    messages,
    ok,
    run,
    sse,
    sse_response,
    stream_events,
)

DEPRECATED = "`temperature` is deprecated for this model."
BOTH = "`temperature` and `top_p` cannot both be specified for this model. Please use only one."


def test_a_refused_temperature_is_dropped_with_a_note_and_the_request_sent_again() -> None:
    script = Script(anthropic_error(400, "invalid_request_error", DEPRECATED), ok("fine"))
    events: list[CloudEvent] = []
    completion = run(chat_client(script, events).create({**REQUEST, "temperature": 0.2}))
    assert check_completion(completion)["choices"][0]["message"]["content"] == "fine"
    first, second = script.bodies
    assert first["temperature"] == 0.2
    assert "temperature" not in second
    assert {k: v for k, v in first.items() if k != "temperature"} == second
    notes = [e.message for e in events if e.kind == "note"]
    assert len(notes) == 1 and notes[0].startswith("temperature: dropped: claude-test refuses it")


def test_temperature_and_top_p_together_keeps_temperature() -> None:
    script = Script(anthropic_error(400, "invalid_request_error", BOTH), ok())
    run(chat_client(script).create({**REQUEST, "temperature": 0.5, "top_p": 0.9}))
    assert script.bodies[1]["temperature"] == 0.5
    assert "top_p" not in script.bodies[1]


def test_streams_are_sent_again_too() -> None:
    script = Script(anthropic_error(400, "invalid_request_error", DEPRECATED), sse_response(sse(stream_events())))
    chunks = run(collect(chat_client(script).stream({**REQUEST, "temperature": 0.3})))
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == "Hello world"
    assert "temperature" not in script.bodies[1]


@pytest.mark.parametrize(
    "request_extra",
    [{}, {"temperature": 0.3}],  # no sampling parameter sent / a 400 about something else
)
def test_other_400s_are_raised_after_one_attempt(request_extra: dict[str, Any]) -> None:
    script = Script(anthropic_error(400, "invalid_request_error", "messages: text content blocks must be non-empty"))
    with pytest.raises(InvalidRequestError):
        run(chat_client(script).create({**REQUEST, **request_extra}))
    assert len(script.requests) == 1


def test_a_messages_client_of_anthropic_gets_the_refusal_as_it_came() -> None:
    """A pass-through sends what its caller wrote: nothing of it is the bridge's to take out again."""
    script = Script(anthropic_error(400, "invalid_request_error", DEPRECATED), ok())
    events: list[CloudEvent] = []
    body = {**REQUEST, "max_tokens": 100, "temperature": 0.2}
    with pytest.raises(InvalidRequestError, match="is deprecated for this model"):
        run(messages(anthropic(script, events)).create(body))
    assert len(script.requests) == 1 and script.bodies[0]["temperature"] == 0.2
    assert [e for e in events if e.kind == "note"] == []


ADAPTIVE_ONLY = (
    '"thinking.type.enabled" is not supported for this model. '
    'Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.'
)


def test_budgeted_thinking_refused_is_sent_again_as_adaptive_with_an_effort() -> None:
    script = Script(anthropic_error(400, "invalid_request_error", ADAPTIVE_ONLY), ok())
    events: list[CloudEvent] = []
    run(chat_client(script, events).create({**REQUEST, "reasoning_effort": "medium"}))
    first, second = script.bodies
    assert first["thinking"] == {"type": "enabled", "budget_tokens": 8192}
    assert second["thinking"] == {"type": "adaptive"}
    assert second["output_config"] == {"effort": "medium"}
    assert [e.message.split(":")[0] for e in events if e.kind == "note"] == ["reasoning_effort"]


def test_what_a_refusal_teaches_makes_the_next_bodies_right_the_first_time() -> None:
    """Issue 10: the adaptation is learned for the model, and the note says how to teach the table."""
    script = Script(anthropic_error(400, "invalid_request_error", DEPRECATED), ok("one"), ok("two"))
    events: list[CloudEvent] = []
    client = chat_client(script, events)
    run(client.create({**REQUEST, "temperature": 0.2}))
    run(client.create({**REQUEST, "temperature": 0.7}))
    assert len(script.requests) == 3  # one 400, then two answers: the second request was not refused
    assert "temperature" not in script.bodies[2]
    notes = [e.message for e in events if e.kind == "note"]
    assert '[models."claude-test"] sampling = "none"' in notes[0]
    assert any(n.startswith("temperature: dropped: claude-test takes no sampling parameters") for n in notes[1:])


def test_a_model_the_table_knows_is_sent_a_right_body_without_a_400() -> None:
    from protoshift.translator import DEFAULT_TABLE

    table = DEFAULT_TABLE.with_overrides({"claude-test": {"sampling": "none", "thinking": "adaptive"}})
    script = Script(ok())
    run(chat_client(script, models=table).create({**REQUEST, "temperature": 0.2, "reasoning_effort": "high"}))
    (body,) = script.bodies
    assert "temperature" not in body and body["thinking"] == {"type": "adaptive"}
    assert body["output_config"] == {"effort": "high"}
