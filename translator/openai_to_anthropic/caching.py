"""Prompt-caching breakpoints: `cache_control` checked where the caller put it, and the body's
breakpoints made to fit Anthropic's rules once everything is placed.

Anthropic's rules (https://platform.claude.com/docs/en/build-with-claude/prompt-caching, read
2026-11-30): at most 4 breakpoints per request, the top-level (automatic) one included; the prompt is
read tools -> system -> messages, and when TTLs mix, a longer-lived breakpoint must come before every
shorter-lived one (1h before 5m).

What is done when a request breaks them (decided with the lead): the last 4 breakpoints in prompt
order are kept (the later a breakpoint, the longer the prefix it caches) and each one left out is a
"dropped" note with its path; then any 5-minute breakpoint that stands before a 1-hour one is raised
to 1h (an "approximated" note: it costs a 1h cache write, and nothing the caller asked to cache
expires sooner than asked).
"""

from __future__ import annotations

from typing import Any

from protoshift.translator.checks import want_object
from protoshift.translator.errors import TranslationError
from protoshift.translator.openai_to_anthropic.context import Context

MAX_BREAKPOINTS = 4
_TTLS = ("5m", "1h")


def cache_control(value: Any, path: str) -> dict[str, Any]:
    """A caller's `cache_control` (an Anthropic extra), checked as the API would check it."""
    cc = want_object(value, path)
    for key in cc:
        if key not in ("type", "ttl"):
            raise TranslationError(f"{path}.{key}", "unknown cache_control field (Anthropic takes type and ttl)")
    if cc.get("type") != "ephemeral":
        raise TranslationError(f"{path}.type", 'must be "ephemeral"')
    ttl = cc.get("ttl")
    if ttl is not None and ttl not in _TTLS:
        raise TranslationError(f"{path}.ttl", 'must be "5m" or "1h"')
    return cc


def fit_breakpoints(body: dict[str, Any], ctx: Context) -> None:
    """Anthropic's breakpoint limit and TTL order, applied to the finished body (see the module doc)."""
    points = ctx.breakpoints
    if len(points) <= MAX_BREAKPOINTS and not any(_ttl(holder) == "1h" for holder, _ in points):
        return
    ordered = _in_prompt_order(body, points)
    if len(ordered) <= MAX_BREAKPOINTS and not _ttls_out_of_order(ordered):
        return
    for holder, path in ordered[:-MAX_BREAKPOINTS]:
        del holder["cache_control"]
        ctx.renote(
            path,
            "dropped",
            f"Anthropic takes at most {MAX_BREAKPOINTS} cache breakpoints; the last {MAX_BREAKPOINTS} are kept",
        )
    kept = ordered[-MAX_BREAKPOINTS:]
    last_long = max((k for k, (holder, _) in enumerate(kept) if _ttl(holder) == "1h"), default=0)
    for holder, path in kept[:last_long]:
        if _ttl(holder) != "1h":
            holder["cache_control"] = {**holder["cache_control"], "ttl": "1h"}  # a new dict: never the caller's
            ctx.renote(
                path,
                "approximated",
                "ttl raised to 1h: Anthropic needs every 1h breakpoint before any 5m one (tools, system, messages)",
            )


def _ttl(holder: dict[str, Any]) -> str:
    return str(holder["cache_control"].get("ttl") or "5m")


def _ttls_out_of_order(ordered: list[tuple[dict[str, Any], str]]) -> bool:
    seen_short = False
    for holder, _ in ordered:
        if _ttl(holder) == "1h":
            if seen_short:
                return True
        else:
            seen_short = True
    return False


def _in_prompt_order(
    body: dict[str, Any], points: list[tuple[dict[str, Any], str]]
) -> list[tuple[dict[str, Any], str]]:
    """`points` sorted as Anthropic reads the prompt: tools, system, messages (and the blocks inside
    tool results), then the top-level automatic breakpoint, which goes on the last block."""
    position: dict[int, int] = {}
    for tool in body.get("tools", ()):
        position[id(tool)] = len(position)
    system = body.get("system")
    for block in system if isinstance(system, list) else ():
        position[id(block)] = len(position)
    for turn in body.get("messages", ()):
        for block in turn["content"]:
            position[id(block)] = len(position)
            if block.get("type") == "tool_result" and isinstance(block.get("content"), list):
                for inner in block["content"]:
                    position[id(inner)] = len(position)
    position[id(body)] = len(position)
    return sorted(points, key=lambda point: position.get(id(point[0]), len(position)))
