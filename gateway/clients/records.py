"""A client key as it is stored, and the facts around it: its secret (made once, shown once), the digest
that is kept instead, its limits, and the periods (UTC days and months) its budget and usage count in.

Why SHA-256 and not a password hash (bcrypt, scrypt, argon2): a key is 32 random bytes (256 bits) made
here, not a word a person chose. A slow hash makes guessing a low-entropy password from a stolen
digest costly; nothing makes guessing 256 random bits feasible, slow or fast. A fast digest also lets
each request's key be found by one dictionary lookup, where a salted slow hash would cost every
request milliseconds of CPU and a comparison against every key.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "NANO",
    "PERIODS",
    "ClientKey",
    "Period",
    "Periods",
    "Usage",
    "check_name",
    "digest",
    "new_secret",
    "periods",
]

PREFIX = "ps-"  # a client key of this gateway (as `sk-` is OpenAI's): recognizable in a leak scan
SECRET_BYTES = 32
NANO = 1_000_000_000  # spend is counted in nano-USD: integers every store adds exactly
Period = Literal["day", "month"]
PERIODS: tuple[Period, ...] = ("day", "month")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def new_secret() -> str:
    """A new key: `ps-` and 43 URL-safe characters (256 random bits)."""
    return PREFIX + secrets.token_urlsafe(SECRET_BYTES)


def digest(secret: str | bytes) -> str:
    """What is stored of a key, and what a presented key is looked up by."""
    return hashlib.sha256(secret.encode() if isinstance(secret, str) else secret).hexdigest()


def check_name(name: str) -> str:
    """A key's name: letters, digits, `.`, `_`, `-`, at most 64 (it names the key in the metrics, the log
    and Redis keys). ValueError otherwise."""
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"{name!r}: a key's name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


@dataclass(frozen=True, slots=True)
class ClientKey:
    """A key: its name, its digest, and its limits (None: none of that kind)."""

    name: str
    digest: str
    rpm: int | None = None  # requests per minute
    tpm: int | None = None  # tokens (in + out) per minute
    budget: float | None = None  # USD per `period`: a soft cap
    period: Period | None = None
    models: tuple[str, ...] = ()  # fnmatch patterns of the models (after aliases) it may use; none: any
    created: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        check_name(self.name)
        for limit, what in ((self.rpm, "rpm"), (self.tpm, "tpm")):
            if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
                raise ValueError(f"{what} must be a whole number of at least 1")
        if self.budget is not None:
            if not (isinstance(self.budget, int | float) and 0 < self.budget < 1e9):
                raise ValueError("a budget is a positive number of USD")
            if self.period not in PERIODS:
                raise ValueError("a budget needs its period: day or month")
        elif self.period is not None:
            raise ValueError("a period is the period of a budget: give --budget too")

    @property
    def limited(self) -> bool:
        """It has a limit the limiter counts (requests, tokens or spend)."""
        return self.rpm is not None or self.tpm is not None or self.budget is not None

    @property
    def budget_nano(self) -> int:
        return round((self.budget or 0.0) * NANO)

    def allows(self, model: str) -> bool:
        return not self.models or any(fnmatch.fnmatchcase(model, pattern) for pattern in self.models)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "digest": self.digest,
            "rpm": self.rpm,
            "tpm": self.tpm,
            "budget": self.budget,
            "period": self.period,
            "models": list(self.models),
            "created": self.created,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClientKey:
        return cls(
            name=data["name"],
            digest=data["digest"],
            rpm=data.get("rpm"),
            tpm=data.get("tpm"),
            budget=data.get("budget"),
            period=data.get("period"),
            models=tuple(data.get("models") or ()),
            created=float(data.get("created") or 0.0),
        )

    def limits_text(self) -> str:
        """`rpm 60, tpm 10000, $5.00/day, models gpt-4.1*` (or `no limits`), for `keys list` and the log."""
        parts = []
        if self.rpm is not None:
            parts.append(f"rpm {self.rpm}")
        if self.tpm is not None:
            parts.append(f"tpm {self.tpm}")
        if self.budget is not None:
            parts.append(f"${self.budget:g}/{self.period}")
        if self.models:
            parts.append("models " + " ".join(self.models))
        return ", ".join(parts) or "no limits"


@dataclass(slots=True)
class Usage:
    """What a key used in one period (or what is still to be added to it)."""

    requests: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    spend_nano: int = 0

    def add(self, other: Usage) -> None:
        self.requests += other.requests
        self.tokens_in += other.tokens_in
        self.tokens_out += other.tokens_out
        self.spend_nano += other.spend_nano

    @property
    def spend(self) -> float:
        return self.spend_nano / NANO

    def __bool__(self) -> bool:
        return bool(self.requests or self.tokens_in or self.tokens_out or self.spend_nano)

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "spend": round(self.spend, 9),
        }


@dataclass(frozen=True, slots=True)
class Periods:
    """The UTC day and month `now` falls in: their ids (`2026-12-03`, `2026-12`), and when each ends (epoch s)."""

    day: str
    month: str
    day_end: float
    month_end: float

    def id(self, period: Period) -> str:
        return self.day if period == "day" else self.month

    def end(self, period: Period) -> float:
        return self.day_end if period == "day" else self.month_end


_today: list[Periods] = []  # the periods of this machine's clock, made once a day


def periods(now: float | None = None) -> Periods:
    """The periods of `now` (default: this machine's clock; a day's ids made once a day). The clocks of
    replicas agree to NTP's precision: a request in the last milliseconds of a day may count in either."""
    own_clock = now is None
    if now is None:
        now = time.time()
        if _today and _today[0].day_end - 86400 <= now < _today[0].day_end:
            return _today[0]
    day = dt.datetime.fromtimestamp(now, dt.UTC).date()
    next_day = day + dt.timedelta(days=1)
    next_month = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    found = Periods(
        day=day.isoformat(),
        month=day.strftime("%Y-%m"),
        day_end=_epoch(next_day),
        month_end=_epoch(next_month),
    )
    if own_clock:
        _today[:] = [found]
    return found


def _epoch(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()
