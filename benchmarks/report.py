"""Plain-text tables on stdout, and the same figures as JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .startup import StartupResults
from .streaming import StreamResults
from .timing import Stats, ratio
from .translation import RequestResults

TARGET_RATIO = 10.0  # at least 10x faster than LiteLLM
STARTUP_TARGET = 10.0  # `protoshift --help` within 10x a bare `python -c pass`


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=True)]
    lines = [
        "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths, strict=True)))
    ]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append(
            "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        )
    return "\n".join(lines)


def _verdict(ok: bool | None) -> str:
    return "n/a (LiteLLM not run)" if ok is None else ("MET" if ok else "MISSED")


def requests_text(res: RequestResults) -> str:
    sides = list(res.per_kind)
    headers = ["request kind"]
    for side in sides:
        headers += [f"{side} med", "p90"]
    baselines = [s for s in sides if s != "protoshift"]
    headers += [f"x {s.removeprefix('litellm ')}" for s in baselines]
    rows = []
    proto = res.per_kind.get("protoshift", {})
    for kind in res.kinds:
        row = [kind]
        for side in sides:
            st = res.per_kind[side].get(kind)
            row += [_fmt(st.median_us if st else None), _fmt(st.p90_us if st else None)]
        row += [_x(ratio(res.per_kind[s].get(kind), proto.get(kind))) for s in baselines]
        rows.append(row)
    row = ["ALL (pooled)"]
    for side in sides:
        row += [_fmt(res.overall[side].median_us), _fmt(res.overall[side].p90_us)]
    row += [_x(ratio(res.overall[s], res.overall.get("protoshift"))) for s in baselines]
    rows.append(row)
    out = [
        "Request translation: microseconds per call (median, p90); 'x' = LiteLLM median / protoshift median",
        _table(headers, rows),
    ]
    out += [f"  skipped {k}: {why}" for k, why in res.skipped.items()]
    if baselines:
        worst = {s: min_ratio(res, s) for s in baselines}
        out.append(
            "  target >= 10x per request (worst kind, vs the smaller baseline 'transform'): "
            + ", ".join(f"{s}: worst {_x(r[1])} ({r[0]})" for s, r in worst.items())
            + f" -> {_verdict(worst['litellm transform'][1] >= TARGET_RATIO)}"
        )
    return "\n".join(out)


def min_ratio(res: RequestResults, side: str) -> tuple[str, float]:
    proto = res.per_kind["protoshift"]
    pairs = [(k, ratio(res.per_kind[side].get(k), proto.get(k))) for k in res.kinds]
    kind, value = min(((k, r) for k, r in pairs if r is not None), key=lambda p: p[1])
    return kind, value


def streams_text(res: StreamResults) -> str:
    names = [*res.events, "all"]
    out = []
    titles = {
        "events": "(a) event dict -> chunk objects (anthropic_to_openai.Stream.feed | litellm chunk_parser), each event timed",
        "bytes": "(b) Anthropic SSE bytes -> OpenAI SSE bytes (decode + translate + encode), per stream / events",
        "wrapped": "(c) litellm chunk_parser + CustomStreamWrapper (what completion(stream=True) yields), per stream / events",
    }
    for mode, per_side in res.figures.items():
        sides = list(per_side)
        headers = ["stream (events)"]
        for side in sides:
            headers += [f"{side} med", "p90"]
        compare = mode != "wrapped" and "litellm" in per_side and "protoshift" in per_side
        if mode == "wrapped":
            headers += ["x vs protoshift (a)", "x vs protoshift (b)"]
        elif compare:
            headers.append("x")
        rows = []
        for name in names:
            label = f"{name} ({res.events[name]})" if name in res.events else "ALL (pooled)"
            row = [label]
            for side in sides:
                st = per_side[side][name]
                row += [_fmt(st.median_us, 2), _fmt(st.p90_us, 2)]
            if mode == "wrapped":
                row += [
                    _x(ratio(per_side["litellm"][name], res.figures[m]["protoshift"][name]))
                    for m in ("events", "bytes")
                ]
            elif compare:
                row.append(_x(ratio(per_side["litellm"][name], per_side["protoshift"][name])))
            rows.append(row)
        out += [titles[mode] + "; microseconds per event", _table(headers, rows), ""]
    if "litellm" in res.figures["events"]:
        worst = min(
            ratio(res.figures[m]["litellm"][n], res.figures[m]["protoshift"][n]) or 0.0
            for m in ("events", "bytes")
            for n in names
        )
        out.append(
            f"  target >= 10x per event (worst of (a) and (b)): {_x(worst)} -> {_verdict(worst >= TARGET_RATIO)}"
        )
    return "\n".join(out).rstrip()


def startup_text(res: StartupResults) -> str:
    base = res.median_ms.get("python -c pass")
    cold_base = res.median_ms.get("python -c pass (cold)")
    rows = []
    for name in res.commands:
        med, cold = res.median_ms.get(name), res.median_ms.get(name + " (cold)")
        rows.append(
            [
                name,
                _fmt(med),
                _fmt(res.p90_ms.get(name)),
                _x(med / base if med and base else None),
                _fmt(cold),
                _x(cold / cold_base if cold and cold_base else None),
            ]
        )
    out = [
        f"Start-up: wall milliseconds per process (venv interpreter and console script); warm = .pyc cached,"
        f" {res.runs} runs; cold = no .pyc (PYTHONDONTWRITEBYTECODE=1), {res.cold_runs} runs",
        _table(["command", "warm median ms", "p90 ms", "x bare python", "cold median ms", "x bare (cold)"], rows),
    ]
    out += [f"  FAILED {name}: {why}" for name, why in res.errors.items()]
    help_ms = res.median_ms.get("protoshift --help")
    if help_ms and base:
        out.append(
            f"  target: --help within 10x bare python (warm): {_x(help_ms / base)}"
            f" -> {_verdict(help_ms / base <= STARTUP_TARGET)}"
        )
    out += [
        "",
        f"-X importtime of `protoshift --help`, warm (total of top-level imports: {res.import_total_us / 1e3:.1f} ms)",
    ]
    rows = []
    for i in range(max(len(res.import_self), len(res.import_cumulative))):
        s = res.import_self[i] if i < len(res.import_self) else ("", 0)
        c = res.import_cumulative[i] if i < len(res.import_cumulative) else ("", 0)
        rows.append([s[0], _fmt(s[1] / 1e3, 2), c[0], _fmt(c[1] / 1e3, 2)])
    out.append(_table(["module (by self time)", "self ms", "top-level import", "cumulative ms"], rows))
    return "\n".join(out)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Stats):
        return value.as_dict()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: _jsonable(getattr(value, k)) for k in value.__dataclass_fields__}
    return value


def write_json(path: Path, figures: dict[str, Any]) -> None:
    path.write_text(json.dumps(_jsonable(figures), indent=2) + "\n")
