"""Talking to providers over HTTP: backends, retries, circuit breaker, fallback.

Every backend takes and gives OpenAI Chat Completions format:
`await backend.complete(request) -> chat.completion`, `backend.stream(request) -> async iterator
of chat.completion.chunk`, `backend.prepare(request) -> PreparedRequest` (for `--dry-run`),
`await backend.aclose()` (or `async with`). What happens along the way (retries, fallbacks,
translation notes, the `-v` trace) comes out as `CloudEvent`s through `on_event`; cloud/ prints
nothing. Errors: `BackendError` (exit 1) and `ConfigurationError` (exit 2), both `CloudError`
with an `exit_code`; `translator.TranslationError` (exit 2) passes through unchanged.
"""

from __future__ import annotations

from protoshift.cloud.anthropic import AnthropicBackend, create_anthropic_backend
from protoshift.cloud.base import Backend, PreparedRequest
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
    InsecureTransportError,
    InvalidRequestError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeout,
    ResponseFormatError,
    ServerError,
    StreamInterruptedError,
)
from protoshift.cloud.events import CloudEvent, EventKind, EventSink
from protoshift.cloud.fallback import FallbackBackend
from protoshift.cloud.mock import MockBackend
from protoshift.cloud.openai import OpenAIBackend, create_openai_backend
from protoshift.cloud.pool import ShardedTransport
from protoshift.cloud.registry import BACKEND_NAMES, create_backend
from protoshift.cloud.retry import RetryPolicy

__all__ = [
    "BACKEND_NAMES",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AnthropicBackend",
    "AuthenticationError",
    "Backend",
    "BackendError",
    "CircuitBreaker",
    "CircuitOpenError",
    "CloudError",
    "CloudEvent",
    "ConfigurationError",
    "ConflictError",
    "EventKind",
    "EventSink",
    "FallbackBackend",
    "FileStore",
    "InsecureTransportError",
    "InvalidRequestError",
    "MemoryStore",
    "MessageBatchesClient",
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
    "create_anthropic_backend",
    "create_backend",
    "create_batches_client",
    "create_openai_backend",
    "default_state_dir",
]
