"""One record per kind of backend: its name, how to build it, where its key and base URL come from,
and the model it asks when the caller names none. The factory, the CLI's settings and its option
help all read these records; nothing else spells a backend's name, variables or defaults.

This module imports nothing heavy (the factories import their backends when called), so the CLI can
read it at start-up.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from protoshift.cloud.backend import Backend

__all__ = ["BACKENDS", "BACKEND_NAMES", "BackendKind", "backend_kind", "create_backend"]

Protocol = Literal["anthropic", "openai"]


@dataclass(frozen=True, slots=True)
class BackendKind:
    name: str
    speaks: Protocol  # the wire protocol: Anthropic Messages, or OpenAI Chat Completions
    default_model: str
    default_base_url: str
    key_env: str | None  # None: the backend takes no key
    base_url_env: str | None
    build: Callable[..., Backend]
    billed: bool = True  # False: answers cost nothing (the offline mock), whatever model they name

    def key_from_env(self) -> str | None:
        return _env(self.key_env)

    def base_url_from_env(self) -> str | None:
        return _env(self.base_url_env)


def _env(name: str | None) -> str | None:
    """An environment variable's value; unset and empty are both None."""
    if name is None:
        return None
    return os.environ.get(name) or None


def _anthropic(**options: Any) -> Backend:
    from protoshift.cloud.anthropic import AnthropicBackend

    return AnthropicBackend(**options)


def _openai(**options: Any) -> Backend:
    from protoshift.cloud.openai import OpenAIBackend

    return OpenAIBackend(**options)


def _mock(**options: Any) -> Backend:
    from protoshift.cloud.mock import MockBackend

    return MockBackend(**options)


BACKENDS: Mapping[str, BackendKind] = {
    kind.name: kind
    for kind in (
        BackendKind(
            "anthropic",
            "anthropic",
            default_model="claude-sonnet-4-5",
            default_base_url="https://api.anthropic.com",
            key_env="ANTHROPIC_API_KEY",
            base_url_env="ANTHROPIC_BASE_URL",
            build=_anthropic,
        ),
        BackendKind(
            "openai",
            "openai",
            default_model="gpt-4o-mini",
            default_base_url="https://api.openai.com/v1",
            key_env="OPENAI_API_KEY",
            base_url_env="OPENAI_BASE_URL",
            build=_openai,
        ),
        BackendKind(
            "mock",
            "anthropic",
            default_model="claude-mock-1",
            default_base_url="https://mock.protoshift.invalid",
            key_env=None,
            base_url_env=None,
            build=_mock,
            billed=False,
        ),
    )
}
BACKEND_NAMES: tuple[str, ...] = tuple(BACKENDS)


def backend_kind(name: str) -> BackendKind:
    kind = BACKENDS.get(name)
    if kind is None:
        from protoshift.cloud.errors import UnknownBackendError  # errors' imports cost start-up time

        raise UnknownBackendError(name, BACKEND_NAMES)
    return kind


def create_backend(name: str, **options: Any) -> Backend:
    """`create_backend("anthropic"|"openai"|"mock", api_key=..., base_url=..., model=..., timeout=...,
    max_retries=..., breaker=..., transport=..., on_event=..., allow_insecure=...)`.

    `api_key` and `base_url` default to the backend's environment variables, then its defaults; the
    mock takes neither. Unknown name: `UnknownBackendError` (a `ConfigurationError`)."""
    kind = backend_kind(name)
    if kind.key_env is not None:
        if options.get("api_key") is None:
            options["api_key"] = kind.key_from_env()
            options.setdefault("key_source", kind.key_env)
        options["base_url"] = options.get("base_url") or kind.base_url_from_env() or kind.default_base_url
    else:
        options.pop("api_key", None)
        options.pop("base_url", None)
    return kind.build(**options)
