"""Backends by name, as the CLI's `--backend` and `--fallback BACKEND[:MODEL]` give them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from protoshift.cloud.anthropic import create_anthropic_backend
from protoshift.cloud.base import Backend
from protoshift.cloud.errors import ConfigurationError
from protoshift.cloud.mock import MockBackend
from protoshift.cloud.openai import create_openai_backend

__all__ = ["BACKEND_NAMES", "create_backend"]


def _create_mock(**options: Any) -> Backend:
    return MockBackend(**options)


_FACTORIES: dict[str, Callable[..., Backend]] = {
    "anthropic": create_anthropic_backend,
    "openai": create_openai_backend,
    "mock": _create_mock,
}
BACKEND_NAMES: tuple[str, ...] = tuple(_FACTORIES)


def create_backend(name: str, **options: Any) -> Backend:
    """`create_backend("anthropic"|"openai"|"mock", api_key=..., base_url=..., model=..., timeout=...,
    max_retries=..., breaker=..., transport=..., on_event=..., allow_insecure=...)`.
    The mock ignores `api_key` and `base_url`. Unknown name: `ConfigurationError`."""
    factory = _FACTORIES.get(name)
    if factory is None:
        raise ConfigurationError(f"unknown backend {name!r} — use one of: {', '.join(BACKEND_NAMES)}")
    return factory(**options)
