"""What the fuzz suite tried and found, summed over a test session and printed at its end (tests/fuzz/conftest.py):
inputs tried, tracebacks (an exception protoshift did not mean to raise), wrong exit codes. The tests fail on the
first of either; the counts are the figures the hardening issue asks for."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Tally:
    tried: Counter[str] = field(default_factory=Counter)  # per surface: "api" or "cli"
    tracebacks: int = 0
    wrong_exit_codes: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"tried": dict(self.tried), "tracebacks": self.tracebacks, "wrong_exit_codes": self.wrong_exit_codes}

    def add(self, data: dict[str, object]) -> None:
        """Another process's tally (a pytest-xdist worker's) into this one."""
        tried = data.get("tried")
        if isinstance(tried, dict):
            self.tried.update({str(k): int(v) for k, v in tried.items()})
        self.tracebacks += int(data.get("tracebacks", 0))  # type: ignore[call-overload]
        self.wrong_exit_codes += int(data.get("wrong_exit_codes", 0))  # type: ignore[call-overload]

    def line(self) -> str:
        per = ", ".join(f"{surface} {count:,}" for surface, count in sorted(self.tried.items()))
        total = sum(self.tried.values())
        return (
            f"fuzz: {total:,} hostile inputs tried ({per}); "
            f"{self.tracebacks} tracebacks, {self.wrong_exit_codes} wrong exit codes"
        )


TALLY = Tally()
