"""What one client may ask of the gateway, with clear answers past each limit (413, 400, 431, 408,
429), so no client can hold a worker or its memory. The defaults here are the only ones: `serve`'s
options and their help read them."""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    max_body_bytes: int = 32 * MB  # a request body; past it, 413
    max_messages: int = 10_000  # items of one request's conversation; past it, 400
    max_header_bytes: int = 64 * 1024  # all request headers together; past it, 431
    max_in_flight: int = 512  # requests being answered at once (per worker); past it, 429
    body_timeout: float = 30.0  # seconds to receive a whole body; past it, 408
    ping_every: float = 5.0  # seconds a stream may be silent before its surface's ping (Anthropic's)
