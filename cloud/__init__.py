"""Talking to providers over HTTP: backends, retries, circuit breaker, fallback.

A backend speaks its provider's own API (`create_backend(name).api`: "messages" or "chat"); a
client speaks yours, whatever the backend speaks: `client = create_client(name, api="chat")`, then
`await client.create(request)`, `client.stream(request)` (an async iterator of the API's chunks or
events), `await client.count_tokens(request)`, `client.prepare(request)` (for `--dry-run`),
`await client.aclose()`; `client_for(api, [(backend, model), ...])` chains backends with fallback.
What happens along the way (retries, fallbacks, translation notes, the `-v` trace) comes out as
`CloudEvent`s through `on_event`; cloud/ prints nothing and knows no terminal. Errors carry facts (cloud.errors): `ConfigurationError` (nothing
was sent), `BackendError` (the provider or the network failed), `FallbackExceptionGroup` (every
backend of a chain failed); `translator.TranslationError` (bad input) passes through unchanged.

The names below are loaded on first use: `from protoshift.cloud.kinds import BACKENDS` costs
no httpx import (the CLI reads the backend records at start-up).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from protoshift.cloud.aliases import Aliases, Target
    from protoshift.cloud.anthropic import AnthropicBackend
    from protoshift.cloud.backend import Backend, Call, Client, PreparedRequest, TokenCount
    from protoshift.cloud.batches import MessageBatchesClient, create_batches_client
    from protoshift.cloud.breaker import CircuitBreaker, FileStore, MemoryStore, default_state_dir
    from protoshift.cloud.bridged import Bridged
    from protoshift.cloud.chain import client_for
    from protoshift.cloud.errors import (
        APIConnectionError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BackendError,
        CircuitOpenError,
        CloudError,
        ConfigurationError,
        ConflictError,
        FallbackExceptionGroup,
        InsecureTransportError,
        InvalidBaseURLError,
        InvalidKeyError,
        InvalidRequestError,
        MissingKeyError,
        NotFoundError,
        OverloadedError,
        PermissionDeniedError,
        RateLimitError,
        RequestTimeout,
        ResponseFormatError,
        ServerError,
        StreamInterruptedError,
        UnknownBackendError,
    )
    from protoshift.cloud.events import CloudEvent, EventKind, EventSink
    from protoshift.cloud.fallback import FallbackClient
    from protoshift.cloud.kinds import BACKEND_NAMES, BACKENDS, BackendKind
    from protoshift.cloud.mock import MockBackend
    from protoshift.cloud.openai import OpenAIBackend
    from protoshift.cloud.pool import ShardedTransport
    from protoshift.cloud.registry import create_backend, create_client
    from protoshift.cloud.retry import RetryPolicy

# The module that defines each public name (tests check this against the imports above).
_MODULES: dict[str, tuple[str, ...]] = {
    "aliases": ("Aliases", "Target"),
    "anthropic": ("AnthropicBackend",),
    "backend": (
        "Backend",
        "Call",
        "Client",
        "PreparedRequest",
        "TokenCount",
    ),
    "bridged": ("Bridged",),
    "chain": ("client_for",),
    "batches": (
        "MessageBatchesClient",
        "create_batches_client",
    ),
    "breaker": (
        "CircuitBreaker",
        "FileStore",
        "MemoryStore",
        "default_state_dir",
    ),
    "errors": (
        "APIConnectionError",
        "APIStatusError",
        "APITimeoutError",
        "AuthenticationError",
        "BackendError",
        "CircuitOpenError",
        "CloudError",
        "ConfigurationError",
        "ConflictError",
        "FallbackExceptionGroup",
        "InsecureTransportError",
        "InvalidBaseURLError",
        "InvalidKeyError",
        "InvalidRequestError",
        "MissingKeyError",
        "NotFoundError",
        "OverloadedError",
        "PermissionDeniedError",
        "RateLimitError",
        "RequestTimeout",
        "ResponseFormatError",
        "ServerError",
        "StreamInterruptedError",
        "UnknownBackendError",
    ),
    "events": (
        "CloudEvent",
        "EventKind",
        "EventSink",
    ),
    "fallback": ("FallbackClient",),
    "mock": ("MockBackend",),
    "openai": ("OpenAIBackend",),
    "pool": ("ShardedTransport",),
    "kinds": ("BACKEND_NAMES", "BACKENDS", "BackendKind"),
    "registry": ("create_backend", "create_client"),
    "retry": ("RetryPolicy",),
}
_WHERE = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "BACKENDS",
    "BACKEND_NAMES",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "Aliases",
    "AnthropicBackend",
    "AuthenticationError",
    "Backend",
    "BackendError",
    "BackendKind",
    "Bridged",
    "Call",
    "CircuitBreaker",
    "CircuitOpenError",
    "Client",
    "CloudError",
    "CloudEvent",
    "ConfigurationError",
    "ConflictError",
    "EventKind",
    "EventSink",
    "FallbackClient",
    "FallbackExceptionGroup",
    "FileStore",
    "InsecureTransportError",
    "InvalidBaseURLError",
    "InvalidKeyError",
    "InvalidRequestError",
    "MemoryStore",
    "MessageBatchesClient",
    "MissingKeyError",
    "MockBackend",
    "NotFoundError",
    "OpenAIBackend",
    "OverloadedError",
    "PermissionDeniedError",
    "PreparedRequest",
    "RateLimitError",
    "RequestTimeout",
    "ResponseFormatError",
    "RetryPolicy",
    "ServerError",
    "ShardedTransport",
    "StreamInterruptedError",
    "Target",
    "TokenCount",
    "UnknownBackendError",
    "client_for",
    "create_backend",
    "create_batches_client",
    "create_client",
    "default_state_dir",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
