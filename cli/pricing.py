"""A cost as the command line shows it (the price table itself: cloud/pricing.py)."""

from __future__ import annotations

__all__ = ["format_cost"]


def format_cost(cost: float) -> str:
    """`$0.0012`: four decimals, the scale of one exchange; `<$0.0001` below that."""
    if cost and cost < 0.00005:
        return "<$0.0001"
    return f"${cost:.4f}"
