"""One request's bookkeeping (`Exchange`), turned into its log line and metrics at the end."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from protoshift.gateway.clients.limiter import RateState
    from protoshift.gateway.clients.records import ClientKey
    from protoshift.gateway.surfaces.base import Surface
    from protoshift.translator.wire import JSON

__all__ = ["Exchange"]


@dataclass(slots=True)
class Exchange:
    """One request: its route, the surface whose words its answers take, and what happened to it."""

    route: str
    surface: Surface
    id: str = field(default_factory=lambda: "req_" + os.urandom(10).hex())
    started: float = field(default_factory=time.perf_counter)
    status: int = 200
    model: str | None = None
    stream: bool = False
    upstream_seconds: float | None = None
    tokens: tuple[int, int] = (0, 0)
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # a client key's request (gateway/clients/gate.py): the key, its tokens estimated up front, the answer's
    # usage (in the surface's API), what its limits said (for the rate-limit headers), whether it counts
    client: ClientKey | None = None
    estimate: int = 0
    usage: JSON | None = None
    rate: RateState | None = None
    counted: bool = False
    settled: bool = False  # what it used is counted (ClientKeys.settle: once)
    local_limit: bool = False  # its limits were counted in this process (no --state, or Redis away)

    def overhead_ms(self) -> float:
        """What protoshift itself took so far: the time since the request came, less the upstream's."""
        return (time.perf_counter() - self.started - (self.upstream_seconds or 0.0)) * 1000

    def entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"id": self.id, "route": self.route, "status": self.status}
        if self.client is not None:
            entry["key"] = self.client.name  # its name: never the key
        if self.model is not None:
            entry["model"] = self.model
            entry["stream"] = self.stream
            entry["prompt_tokens"], entry["completion_tokens"] = self.tokens
        if self.upstream_seconds is not None:
            entry["upstream_ms"] = round(self.upstream_seconds * 1000, 2)
        entry["total_ms"] = round((time.perf_counter() - self.started) * 1000, 2)
        if self.error is not None:
            entry["error"] = self.error
        entry.update(self.extra)
        return entry
