"""translator.model_objects: one entry of a model list, read from and written in either API."""

from __future__ import annotations

from typing import Any

import pytest
from anthropic.types import ModelInfo as AnthropicModel
from openai.types import Model as OpenAIModel

from protoshift.translator.model_objects import ModelInfo

CLAUDE = {
    "type": "model",
    "id": "claude-sonnet-4-5-20250929",
    "display_name": "Claude Sonnet 4.5",
    "created_at": "2025-09-29T00:00:00Z",
    "lifecycle": "active",
    "max_input_tokens": 1_000_000,
    "max_tokens": 64_000,
}
GPT = {"id": "gpt-4o", "object": "model", "created": 1715367049, "owned_by": "system"}


def test_an_openai_model_object_goes_through_unchanged() -> None:
    info = ModelInfo.from_chat(GPT)
    assert info == ModelInfo("gpt-4o", created=1715367049, owned_by="system")
    assert info.to_chat() == GPT
    OpenAIModel.model_validate(info.to_chat())


def test_an_anthropic_model_object_as_openai_lists_it() -> None:
    info = ModelInfo.from_messages(CLAUDE, owned_by="anthropic")
    assert info is not None
    assert info.to_chat() == {
        "id": "claude-sonnet-4-5-20250929",
        "object": "model",
        "created": 1759104000,
        "owned_by": "anthropic",
    }
    assert info.to_messages() == CLAUDE  # and back, display name and all


def test_an_openai_model_object_as_anthropic_lists_it() -> None:
    info = ModelInfo.from_chat(GPT)
    assert info is not None
    listed = info.to_messages()
    assert listed == {
        "type": "model",
        "id": "gpt-4o",
        "display_name": "gpt-4o",
        "created_at": "2024-05-10T18:50:49Z",
        "lifecycle": "active",
    }
    AnthropicModel.model_validate(listed)


@pytest.mark.parametrize("entry", [None, "gpt-4o", [], {}, {"id": 7}, {"id": None, "object": "model"}])
def test_an_entry_without_a_string_id_is_no_model(entry: Any) -> None:
    assert ModelInfo.from_chat(entry) is None
    assert ModelInfo.from_messages(entry) is None


def test_what_a_server_left_out_or_got_wrong_reads_as_the_defaults() -> None:
    assert ModelInfo.from_chat({"id": "m"}, owned_by="ollama") == ModelInfo("m", owned_by="ollama")
    assert ModelInfo.from_chat({"id": "m", "created": True, "owned_by": 3}, owned_by="x") == ModelInfo(
        "m", owned_by="x"
    )
    assert ModelInfo.from_chat({"id": "m", "owned_by": ""}, owned_by="x") == ModelInfo("m", owned_by="")  # said: kept
    assert ModelInfo.from_messages({"id": "m", "created_at": "yesterday", "display_name": 5}) == ModelInfo("m")
    naive = ModelInfo.from_messages({"id": "m", "created_at": "2025-01-01T00:00:00"})
    assert naive is not None and naive.created == 1735689600  # no zone: UTC, wherever this runs


@pytest.mark.parametrize(("created", "when"), [(-5, "1970-01-01T00:00:00Z"), (10**15, "1970-01-01T00:00:00Z")])
def test_a_time_no_date_can_hold_is_the_epoch(created: int, when: str) -> None:
    assert ModelInfo("m", created=created).to_messages()["created_at"] == when
