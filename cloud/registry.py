"""Backends by name, as the CLI's `--backend` and `--fallback BACKEND[:MODEL]` give them: each made by
the class its record (cloud.kinds) names, imported then, with its key and base URL from the
environment unless given.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from protoshift.cloud.errors import UnknownBackendError
from protoshift.cloud.kinds import BACKEND_NAMES, BACKENDS, BackendKind

if TYPE_CHECKING:
    from protoshift.cloud.backend import Backend, Client
    from protoshift.translator.wire import API

__all__ = ["BACKENDS", "BACKEND_NAMES", "BackendKind", "backend_kind", "create_backend", "create_client"]


def backend_kind(name: str) -> BackendKind:
    kind = BACKENDS.get(name)
    if kind is None:
        raise UnknownBackendError(name, BACKEND_NAMES)
    return kind


def create_backend(name: str, **options: Any) -> Backend:
    """`create_backend("anthropic"|"openai"|"mock", api_key=..., base_url=..., model=..., timeout=...,
    max_retries=..., breaker=..., transport=..., on_event=..., allow_insecure=...)`.

    `api_key` and `base_url` default to the backend's environment variables, then its defaults; the
    mock takes neither. Unknown name: `UnknownBackendError` (a `ConfigurationError`). The backend
    speaks its own API (`backend.api`); `create_client` gives one that speaks yours."""
    kind = backend_kind(name)
    api_key, base_url = options.pop("api_key", None), options.pop("base_url", None)
    module, _, cls = kind.factory.partition(":")
    factory: Callable[..., Backend] = getattr(importlib.import_module(module), cls)
    return factory(**kind.connection(api_key, base_url, options))


def create_client(name: str, api: API = "chat", **options: Any) -> Client:
    """A client of backend `name` that speaks `api` ("chat": OpenAI Chat Completions, the default;
    "messages": Anthropic Messages), whatever the backend speaks: `await client.create(request)`,
    `client.stream(request)`. Options as `create_backend` takes them."""
    from protoshift.cloud.chain import client_for

    return client_for(api, [(create_backend(name, **options), None)], on_event=options.get("on_event"))
