"""protoshift's gateway: an ASGI application that speaks the LLM APIs (OpenAI Chat Completions,
Anthropic Messages) to its clients and carries each request to a backend through protoshift.cloud.

It imports nothing of protoshift.cli: a Python program can build it from a plain config object and
mount it in its own ASGI server; `protoshift serve` only parses flags and config, builds it and runs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from protoshift.gateway.app import build_app
    from protoshift.gateway.config import GatewayConfig
    from protoshift.gateway.core import Gateway
    from protoshift.gateway.limits import Limits

__all__ = ["Gateway", "GatewayConfig", "Limits", "build_app"]

_WHERE = {
    "Gateway": "protoshift.gateway.core",
    "build_app": "protoshift.gateway.app",
    "GatewayConfig": "protoshift.gateway.config",
    "Limits": "protoshift.gateway.limits",
}


def __getattr__(name: str) -> Any:
    """The public names, imported on first use: `protoshift serve --help` reads the limits' defaults
    without loading the app (and httpx, and the translator)."""
    import importlib

    if name not in _WHERE:
        raise AttributeError(f"module 'protoshift.gateway' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
