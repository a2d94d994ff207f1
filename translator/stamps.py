"""Where the translator's ids and clock come from, injectable.

An answer names ids the input did not give it (a `msg_` id for a completion without one, a `toolu_`
id for a tool call without one, a `chatcmpl-` id for a stream before its `message_start`) and a
`created` time (a chat.completion's and each of its chunks'). These are the only values of a
translation that are not a function of its input: `Stamps.fixed()` makes them one, so two runs of a
test, a fixture, a golden file give the same bytes; a gateway may pass its own clock (a coarse one,
read once a second).

Ids come from the OS's random source (`secrets`' SystemRandom, its `randbytes` bound once: what
`secrets.token_hex` calls through two more frames), so two forked workers never repeat each other's ids (a
seeded `random` would, after a fork), at a fifth of `uuid.uuid4().hex`'s time (0.32 µs vs 1.6 µs here). The hex lengths are uuid4's: 32 digits (`msg_`, `chatcmpl-`), 24 for `toolu_`; a
`resp_` id is OpenAI's length, 48, the first 12 the time (`time_id`).
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable

__all__ = ["DEFAULT_STAMPS", "Stamps"]


_random_bytes = secrets.SystemRandom().randbytes


def _random_hex(digits: int) -> str:
    return _random_bytes((digits + 1) // 2).hex()[:digits]


class Stamps:
    """`id(prefix, digits=32) -> prefix + digits hex digits`; `now() -> int` (Unix seconds).

    `random_hex(digits)` gives the digits of each id; `clock()` the time (`time.time` by default)."""

    __slots__ = ("_clock", "_random_hex")

    def __init__(
        self, *, random_hex: Callable[[int], str] = _random_hex, clock: Callable[[], float] = time.time
    ) -> None:
        self._random_hex = random_hex
        self._clock = clock

    def id(self, prefix: str, digits: int = 32) -> str:
        return prefix + self._random_hex(digits)

    def time_id(self, prefix: str, digits: int = 36) -> str:
        """`prefix` + the time in milliseconds (12 hex digits) + `digits` random ones: ids that sort by
        when they were made, as OpenAI's `resp_` ids begin with the time. A store keyed by them takes
        each new one at the end of its index: a response stored touches the index's last page, not a
        page anywhere in it (random ids made the SQLite store's write 25 µs a response, not 5)."""
        return f"{prefix}{int(self._clock() * 1000):012x}{self._random_hex(digits)}"

    def now(self) -> int:
        return int(self._clock())

    @classmethod
    def fixed(cls, *, now: int = 1_700_000_000, first: int = 1) -> Stamps:
        """Deterministic stamps, for tests: ids count up from `first`, zero-padded to their length
        (`msg_00000000000000000000000000000001`, then `...02`), and the clock stands at `now`.
        Each call starts a new count: one `Stamps.fixed()` per run gives the same ids each run."""
        counter = itertools.count(first)
        return cls(random_hex=lambda digits: f"{next(counter):0{digits}x}", clock=lambda: now)


DEFAULT_STAMPS = Stamps()
"""Random ids, the system clock."""
