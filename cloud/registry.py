"""Backends by name, as the CLI's `--backend` and `--fallback BACKEND[:MODEL]` give them: the factory
of each kind. The facts of each kind (names, variables, defaults) are in cloud.kinds, which the
backends read too; this module imports the backends, and none of them imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from protoshift.cloud.anthropic import AnthropicBackend
from protoshift.cloud.errors import UnknownBackendError
from protoshift.cloud.kinds import BACKEND_NAMES, BACKENDS, BackendKind
from protoshift.cloud.mock import MockBackend
from protoshift.cloud.openai import OpenAIBackend

if TYPE_CHECKING:
    from protoshift.cloud.backend import Backend

__all__ = ["BACKENDS", "BACKEND_NAMES", "BackendKind", "backend_kind", "create_backend"]

_FACTORIES: Mapping[str, Callable[..., Backend]] = {
    "anthropic": AnthropicBackend,
    "openai": OpenAIBackend,
    "mock": MockBackend,
}


def backend_kind(name: str) -> BackendKind:
    kind = BACKENDS.get(name)
    if kind is None:
        raise UnknownBackendError(name, BACKEND_NAMES)
    return kind


def create_backend(name: str, **options: Any) -> Backend:
    """`create_backend("anthropic"|"openai"|"mock", api_key=..., base_url=..., model=..., timeout=...,
    max_retries=..., breaker=..., transport=..., on_event=..., allow_insecure=...)`.

    `api_key` and `base_url` default to the backend's environment variables, then its defaults; the
    mock takes neither. Unknown name: `UnknownBackendError` (a `ConfigurationError`)."""
    kind = backend_kind(name)
    api_key, base_url = options.pop("api_key", None), options.pop("base_url", None)
    return _FACTORIES[name](**kind.connection(api_key, base_url, options))
