"""Talking to providers over HTTP: backends, retries, circuit breaker, fallback.

Every backend takes and gives OpenAI Chat Completions format:
`await backend.complete(request) -> chat.completion`, `backend.stream(request) -> async iterator
of chat.completion.chunk`, `backend.prepare(request) -> PreparedRequest` (for `--dry-run`),
`await backend.aclose()` (or `async with`); and, beside it, Anthropic Messages format:
`await backend.create_message(body, betas=...) -> message`, `backend.stream_message(body) -> async
iterator of events`, `await backend.count_tokens(body) -> {"input_tokens", "exact"}`. What happens along the way (retries, fallbacks,
translation notes, the `-v` trace) comes out as `CloudEvent`s through `on_event`; cloud/ prints
nothing and knows no terminal. Errors carry facts (cloud.errors): `ConfigurationError` (nothing
was sent), `BackendError` (the provider or the network failed), `FallbackExceptionGroup` (every
backend of a chain failed); `translator.TranslationError` (bad input) passes through unchanged.

The names below are loaded on first use: `from protoshift.cloud.kinds import BACKENDS` costs
no httpx import (the CLI reads the backend records at start-up).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from protoshift.cloud.anthropic import AnthropicBackend, create_anthropic_backend
    from protoshift.cloud.backend import Backend, PreparedRequest
    from protoshift.cloud.batches import MessageBatchesClient, create_batches_client
    from protoshift.cloud.breaker import CircuitBreaker, FileStore, MemoryStore, default_state_dir
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
    from protoshift.cloud.fallback import FallbackBackend
    from protoshift.cloud.kinds import BACKEND_NAMES, BACKENDS, BackendKind
    from protoshift.cloud.mock import MockBackend
    from protoshift.cloud.openai import OpenAIBackend, create_openai_backend
    from protoshift.cloud.pool import ShardedTransport
    from protoshift.cloud.registry import create_backend
    from protoshift.cloud.retry import RetryPolicy

# The module that defines each public name (tests check this against the imports above).
_MODULES: dict[str, tuple[str, ...]] = {
    "anthropic": (
        "AnthropicBackend",
        "create_anthropic_backend",
    ),
    "backend": (
        "Backend",
        "PreparedRequest",
    ),
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
    "fallback": ("FallbackBackend",),
    "mock": ("MockBackend",),
    "openai": (
        "OpenAIBackend",
        "create_openai_backend",
    ),
    "pool": ("ShardedTransport",),
    "kinds": ("BACKEND_NAMES", "BACKENDS", "BackendKind"),
    "registry": ("create_backend",),
    "retry": ("RetryPolicy",),
}
_WHERE = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "BACKENDS",
    "BACKEND_NAMES",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AnthropicBackend",
    "AuthenticationError",
    "Backend",
    "BackendError",
    "BackendKind",
    "CircuitBreaker",
    "CircuitOpenError",
    "CloudError",
    "CloudEvent",
    "ConfigurationError",
    "ConflictError",
    "EventKind",
    "EventSink",
    "FallbackBackend",
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
    "UnknownBackendError",
    "create_anthropic_backend",
    "create_backend",
    "create_batches_client",
    "create_openai_backend",
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
