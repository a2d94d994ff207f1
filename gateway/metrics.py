"""`GET /metrics` in Prometheus' text format: requests by route and status, failures by kind, upstream
latency (a histogram), tokens in and out, requests in flight, each backend's breaker state, and per
client key and model (gateway/clients): requests, tokens, spend, and requests refused by a limit.

The series per client key are labelled with the key's name (never the key) and the model the request
went to; models come from requests, so past `CLIENT_SERIES` (key, model) pairs a new model counts as
`other`: a client sending made-up model names cannot grow the scrape without bound.

Each worker counts in memory. With several workers, each also writes its counts to a shared folder
once a second, and whichever worker answers a scrape adds the others' latest counts to its own, so a
scrape sees the whole server (at most a second behind for the other workers).
"""

from __future__ import annotations

import bisect
import contextlib
import json
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# Upstream latency buckets, seconds: a zero-latency fake answers in a millisecond; a long generation
# takes a minute.
BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
BREAKER_STATES = {"closed": 0, "half-open": 1, "open": 2}
CLIENT_SERIES = 1000  # (client key, model) pairs with series of their own; past it, the model is "other"


class Metrics:
    def __init__(self) -> None:
        self.requests: Counter[tuple[str, int]] = Counter()  # (route, status)
        self.errors: Counter[str] = Counter()  # kind
        self.tokens: Counter[str] = Counter()  # "in" | "out"
        self.latency_buckets = [0] * (len(BUCKETS) + 1)  # the last one is +Inf
        self.latency_sum = 0.0
        self.in_flight = 0
        self.state_failures: int | None = None  # calls to the shared state that failed; None: no shared state
        # per client key and model: requests, tokens in, tokens out, spend (USD); refused, by reason
        self.clients: dict[tuple[str, str], list[float]] = {}
        self.limited: Counter[tuple[str, str, str]] = Counter()
        self.changed = False

    def request(self, route: str, status: int) -> None:
        self.requests[(route, status)] += 1
        self.changed = True

    def error(self, kind: str) -> None:
        self.errors[kind] += 1

    def upstream(self, seconds: float) -> None:
        self.latency_buckets[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.latency_sum += seconds

    def _model(self, key: str, model: str) -> str:
        if (key, model) in self.clients or len(self.clients) < CLIENT_SERIES:
            return model
        return "other"

    def client(self, key: str, model: str, tokens_in: int, tokens_out: int, spend: float) -> None:
        """One answered request of a client key."""
        series = self.clients.setdefault((key, self._model(key, model)), [0, 0, 0, 0.0])
        series[0] += 1
        series[1] += tokens_in
        series[2] += tokens_out
        series[3] += spend

    def client_limited(self, key: str, model: str, reason: str) -> None:
        """A client key's request refused: rpm, tpm, budget, model (not one it may use), state (closed)."""
        self.limited[(key, self._model(key, model), reason)] += 1

    def add_tokens(self, counts: tuple[int, int]) -> tuple[int, int]:
        """Counts one answer's (input, output) tokens (translator.usage.token_counts); returns them."""
        self.tokens["in"] += counts[0]
        self.tokens["out"] += counts[1]
        return counts

    # -- sharing between workers -----------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": [[route, status, n] for (route, status), n in self.requests.items()],
            "errors": dict(self.errors),
            "tokens": dict(self.tokens),
            "latency_buckets": self.latency_buckets,
            "latency_sum": self.latency_sum,
            "in_flight": self.in_flight,
            "state_failures": self.state_failures,
            "clients": [[key, model, *series] for (key, model), series in self.clients.items()],
            "limited": [[key, model, reason, n] for (key, model, reason), n in self.limited.items()],
        }

    def add(self, snapshot: dict[str, Any]) -> None:
        for route, status, n in snapshot.get("requests", ()):
            self.requests[(str(route), int(status))] += int(n)
        self.errors.update({str(k): int(v) for k, v in snapshot.get("errors", {}).items()})
        self.tokens.update({str(k): int(v) for k, v in snapshot.get("tokens", {}).items()})
        for i, n in enumerate(snapshot.get("latency_buckets", ())[: len(self.latency_buckets)]):
            self.latency_buckets[i] += int(n)
        self.latency_sum += float(snapshot.get("latency_sum", 0.0))
        self.in_flight += int(snapshot.get("in_flight", 0))
        if (failures := snapshot.get("state_failures")) is not None:
            self.state_failures = (self.state_failures or 0) + int(failures)
        for key, model, *counts in snapshot.get("clients", ()):
            series = self.clients.setdefault((str(key), str(model)), [0, 0, 0, 0.0])
            for i, n in enumerate(counts[:4]):
                series[i] += n
        for key, model, reason, n in snapshot.get("limited", ()):
            self.limited[(str(key), str(model), str(reason))] += int(n)

    # -- the text format -------------------------------------------------------------------------

    def render(self, breakers: Iterable[tuple[str, str]] = ()) -> bytes:
        lines: list[str] = []
        metric = _Metric(lines)
        metric.head("protoshift_requests_total", "counter", "Requests answered, by route and HTTP status.")
        for (route, status), n in sorted(self.requests.items()):
            metric.sample("protoshift_requests_total", n, route=route, status=str(status))
        metric.head("protoshift_errors_total", "counter", "Failed requests, by kind of failure.")
        for kind, n in sorted(self.errors.items()):
            metric.sample("protoshift_errors_total", n, kind=kind)
        metric.head(
            "protoshift_upstream_seconds",
            "histogram",
            "Time the upstream took: to the whole answer, or to the first chunk of a stream.",
        )
        cumulative = 0
        for bound, n in zip((*BUCKETS, float("inf")), self.latency_buckets, strict=True):
            cumulative += n
            metric.sample("protoshift_upstream_seconds_bucket", cumulative, le=_le(bound))
        metric.sample("protoshift_upstream_seconds_sum", self.latency_sum)
        metric.sample("protoshift_upstream_seconds_count", cumulative)
        metric.head("protoshift_tokens_total", "counter", "Tokens, as the provider counted them.")
        for direction in ("in", "out"):
            metric.sample("protoshift_tokens_total", self.tokens[direction], direction=direction)
        metric.head("protoshift_in_flight", "gauge", "Requests being answered now.")
        metric.sample("protoshift_in_flight", self.in_flight)
        if self.state_failures is not None:
            metric.head(
                "protoshift_state_failures_total",
                "counter",
                "Calls to the shared state (Redis) that failed or timed out.",
            )
            metric.sample("protoshift_state_failures_total", self.state_failures)
        metric.head("protoshift_breaker_state", "gauge", "Circuit breaker per backend: 0 closed, 1 half-open, 2 open.")
        for backend, state in breakers:
            metric.sample("protoshift_breaker_state", BREAKER_STATES.get(state, 0), backend=backend)
        if self.clients or self.limited:
            self._render_clients(metric)
        return ("\n".join(lines) + "\n").encode()

    def _render_clients(self, metric: _Metric) -> None:
        rows = sorted(self.clients.items())
        metric.head("protoshift_client_requests_total", "counter", "Requests answered, per client key and model.")
        for (key, model), series in rows:
            metric.sample("protoshift_client_requests_total", series[0], key=key, model=model)
        metric.head("protoshift_client_tokens_total", "counter", "Tokens, per client key, model and direction.")
        for (key, model), series in rows:
            metric.sample("protoshift_client_tokens_total", series[1], key=key, model=model, direction="in")
            metric.sample("protoshift_client_tokens_total", series[2], key=key, model=model, direction="out")
        metric.head(
            "protoshift_client_spend_usd_total",
            "counter",
            "Spend in USD from the price table, per client key and model.",
        )
        for (key, model), series in rows:
            metric.sample("protoshift_client_spend_usd_total", round(series[3], 9), key=key, model=model)
        metric.head(
            "protoshift_client_limited_total",
            "counter",
            "Requests refused by a client key's limits, per key, model and reason (rpm, tpm, budget, model, state).",
        )
        for (key, model, reason), n in sorted(self.limited.items()):
            metric.sample("protoshift_client_limited_total", n, key=key, model=model, reason=reason)


class _Metric:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def head(self, name: str, kind: str, help_text: str) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")

    def sample(self, name: str, value: float, **labels: str) -> None:
        if labels:
            inner = ",".join(f'{key}="{_escape(value)}"' for key, value in labels.items())
            self.lines.append(f"{name}{{{inner}}} {_number(value)}")
        else:
            self.lines.append(f"{name} {_number(value)}")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


class SharedCounts:
    """The folder where the workers of one server leave their counts for each other."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.own = directory / f"metrics-{os.getpid()}.json"

    def publish(self, metrics: Metrics) -> None:
        tmp = self.own.with_suffix(".tmp")
        with contextlib.suppress(OSError):
            tmp.write_text(json.dumps(metrics.snapshot()))
            os.replace(tmp, self.own)

    def others(self) -> Iterable[dict[str, Any]]:
        try:
            files = [p for p in self.directory.glob("metrics-*.json") if p != self.own]
        except OSError:
            return []
        snapshots = []
        for path in files:
            with contextlib.suppress(OSError, ValueError):
                data = json.loads(path.read_text())
                if isinstance(data, dict):
                    snapshots.append(data)
        return snapshots
