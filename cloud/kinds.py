"""One record per kind of backend: its name, the API it speaks, whether it has Message Batches, the
model it asks when the caller names none, its default base URL, and where its key and base URL come
from. The backends, the factory (cloud.registry), the CLI and the gateway read these records; nothing
else spells a backend's name, variables or defaults, nor decides anything from a backend's name.

A leaf: it imports nothing of protoshift's at run time, so the CLI can read it at start-up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from protoshift.translator.wire import API

__all__ = ["BACKENDS", "BACKEND_NAMES", "DEFAULT_BACKEND", "BackendKind"]


@dataclass(frozen=True, slots=True)
class BackendKind:
    name: str
    factory: str  # "module:Class", the class that speaks to it (imported when one is made: cloud.registry)
    api: API  # the API it speaks: "messages" (Anthropic Messages), "chat" (OpenAI Chat Completions), "responses"
    default_model: str
    default_base_url: str
    key_env: str | None  # None: the backend takes no key
    base_url_env: str | None
    billed: bool = True  # False: answers cost nothing (the offline mock), whatever model they name
    message_batches: bool = False  # it has Anthropic's Message Batches API (`protoshift batch submit`...)

    def key_from_env(self) -> str | None:
        return _env(self.key_env)

    def base_url_from_env(self) -> str | None:
        return _env(self.base_url_env)

    def connection(self, api_key: str | None, base_url: str | None, options: dict[str, Any]) -> dict[str, Any]:
        """`options` for a client of this kind: the key given, else the environment's (and then
        `key_source` names the variable, for errors about the key); the base URL given, else the
        environment's, else the default. A kind that takes no key gets neither."""
        if self.key_env is None:
            return {k: v for k, v in options.items() if k not in ("api_key", "base_url", "key_source")}
        if api_key is None:
            api_key = self.key_from_env()
            options = {"key_source": self.key_env, **options}
        return {
            **options,
            "api_key": api_key,
            "base_url": base_url or self.base_url_from_env() or self.default_base_url,
        }


def _env(name: str | None) -> str | None:
    """An environment variable's value; unset and empty are both None."""
    if name is None:
        return None
    return os.environ.get(name) or None


BACKENDS: Mapping[str, BackendKind] = {
    kind.name: kind
    for kind in (
        BackendKind(
            "anthropic",
            "protoshift.cloud.anthropic:AnthropicBackend",
            "messages",
            default_model="claude-sonnet-5-5",
            default_base_url="https://api.anthropic.com",
            key_env="ANTHROPIC_API_KEY",
            base_url_env="ANTHROPIC_BASE_URL",
            message_batches=True,
        ),
        BackendKind(
            "openai",
            "protoshift.cloud.openai:OpenAIBackend",
            "chat",
            default_model="gpt-4o-mini",
            default_base_url="https://api.openai.com/v1",
            key_env="OPENAI_API_KEY",
            base_url_env="OPENAI_BASE_URL",
        ),
        # OpenAI's Responses API as it is (POST {base_url}/responses): Responses clients only (Codex, the
        # Agents SDK), nothing translated; OpenAI keeps their conversations (`store`, `previous_response_id`).
        BackendKind(
            "openai-responses",
            "protoshift.cloud.openai_responses:OpenAIResponsesBackend",
            "responses",
            default_model="gpt-4o-mini",
            default_base_url="https://api.openai.com/v1",
            key_env="OPENAI_API_KEY",
            base_url_env="OPENAI_BASE_URL",
        ),
        BackendKind(
            "mock",
            "protoshift.cloud.mock:MockBackend",
            "messages",
            default_model="claude-mock-1",
            default_base_url="https://mock.protoshift.invalid",
            key_env=None,
            base_url_env=None,
            billed=False,
        ),
    )
}
BACKEND_NAMES: tuple[str, ...] = tuple(BACKENDS)
DEFAULT_BACKEND = "anthropic"  # the backend when neither a flag, the environment nor the config file names one
