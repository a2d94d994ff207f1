"""A key's limits in the headers its clients read, on every answer as the providers' own APIs send them
(the surfaces pick the style: gateway/surfaces/chat.py, messages.py):

- OpenAI (Chat Completions, Responses): `x-ratelimit-limit-requests`, `x-ratelimit-remaining-requests`,
  `x-ratelimit-reset-requests` (a duration until the limit is whole again, as OpenAI writes it: `1s`,
  `6m0s`, `20ms`), and the same three for `-tokens`;
- Anthropic (Messages): `anthropic-ratelimit-requests-limit`, `-remaining`, `-reset` (an RFC 3339 time:
  when it is whole again), and the same for `anthropic-ratelimit-tokens-*`.

A 429 also carries `retry-after` (whole seconds) and `retry-after-ms`, which the official SDKs read
first (gate.py puts them on the failure).
"""

from __future__ import annotations

import math
import time

from protoshift.gateway.asgi import Headers
from protoshift.gateway.clients.limiter import RateState

__all__ = ["anthropic_headers", "go_duration", "openai_headers", "rfc3339"]


def go_duration(seconds: float) -> str:
    """A duration as OpenAI's headers and messages say it (Go's): `20ms`, `1.5s`, `6m0s`, `1h2m3s`."""
    seconds = max(seconds, 0.0)
    if seconds < 1:
        return f"{math.ceil(seconds * 1000)}ms"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{math.ceil(secs * 1000) / 1000:g}s"
    if hours:
        return f"{int(hours)}h{int(minutes)}m{text}"
    return f"{int(minutes)}m{text}" if minutes else text


def rfc3339(epoch: float) -> str:
    """`2026-12-03T14:24:00Z` (whole seconds, rounded up: the time it is whole again, not before)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(math.ceil(epoch)))


def openai_headers(state: RateState) -> Headers:
    headers: Headers = []
    for window, kind in ((state.requests, b"requests"), (state.tokens, b"tokens")):
        if window is not None:
            headers += [
                (b"x-ratelimit-limit-" + kind, str(window.limit).encode()),
                (b"x-ratelimit-remaining-" + kind, str(window.remaining).encode()),
                (b"x-ratelimit-reset-" + kind, go_duration(window.reset).encode()),
            ]
    return headers


def anthropic_headers(state: RateState, now: float | None = None) -> Headers:
    now = time.time() if now is None else now
    headers: Headers = []
    for window, kind in ((state.requests, b"requests"), (state.tokens, b"tokens")):
        if window is not None:
            prefix = b"anthropic-ratelimit-" + kind
            headers += [
                (prefix + b"-limit", str(window.limit).encode()),
                (prefix + b"-remaining", str(window.remaining).encode()),
                (prefix + b"-reset", rfc3339(now + window.reset).encode()),
            ]
    return headers
