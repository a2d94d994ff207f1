"""A Responses `web_search` (or `web_search_preview`) tool -> Chat Completions' `web_search_options`, for a
chat leg that searches (the way to Claude: openai_to_anthropic makes them Anthropic's web search tool).

Chat's options have a context size and a user location; what they lack is said in a note: a domain filter
(the search is not limited), a cached-only search (Codex's `external_web_access: false`), image results.
"""

from __future__ import annotations

from typing import Any

from protoshift.translator.checks import want_bool, want_list, want_object, want_str
from protoshift.translator.errors import TranslationError
from protoshift.translator.openai_to_anthropic.context import Context
from protoshift.translator.tables import RESPONSES_LOCATION_KEYS, WEB_SEARCH_FILTER_KEYS, WEB_SEARCH_TOOL_KEYS

__all__ = ["web_search_options"]

_SIZES = ("low", "medium", "high")


def web_search_options(tool: dict[str, Any], path: str, ctx: Context) -> dict[str, Any]:
    """The chat `web_search_options` of the web search tool at `path`."""
    if not WEB_SEARCH_TOOL_KEYS.issuperset(tool):
        ctx.unknown_keys(tool, WEB_SEARCH_TOOL_KEYS, path)
    options: dict[str, Any] = {}
    if (size := tool.get("search_context_size")) is not None:
        if size not in _SIZES:
            raise TranslationError(f"{path}.search_context_size", f'expected "low", "medium" or "high", got {size!r}')
        options["search_context_size"] = size
    if (location := tool.get("user_location")) is not None:
        options["user_location"] = _location(
            want_object(location, f"{path}.user_location"), f"{path}.user_location", ctx
        )
    if (filters := tool.get("filters")) is not None:
        _filters(want_object(filters, f"{path}.filters"), f"{path}.filters", ctx)
    access = tool.get("external_web_access")
    if access is not None and not want_bool(access, f"{path}.external_web_access"):
        ctx.note(
            f"{path}.external_web_access", "approximated", "the search has no cached-only mode: it reads the live web"
        )
    if (kinds := tool.get("search_content_types")) is not None:
        kinds = [
            want_str(kind, f"{path}.search_content_types[{k}]")
            for k, kind in enumerate(want_list(kinds, f"{path}.search_content_types"))
        ]
        if set(kinds) - {"text"}:
            ctx.note(f"{path}.search_content_types", "approximated", "the search finds web pages (text) only")
    return options


def _location(location: dict[str, Any], path: str, ctx: Context) -> dict[str, Any]:
    """Responses' flat location -> chat's `{"type": "approximate", "approximate": {...}}`."""
    if not RESPONSES_LOCATION_KEYS.issuperset(location):
        ctx.unknown_keys(location, RESPONSES_LOCATION_KEYS, path)
    if location.get("type", "approximate") != "approximate":
        raise TranslationError(f"{path}.type", f'expected "approximate", got {location.get("type")!r}')
    where = {
        key: want_str(location[key], f"{path}.{key}")
        for key in ("city", "country", "region", "timezone")
        if location.get(key) is not None
    }
    return {"type": "approximate", "approximate": where}


def _filters(filters: dict[str, Any], path: str, ctx: Context) -> None:
    if not WEB_SEARCH_FILTER_KEYS.issuperset(filters):
        ctx.unknown_keys(filters, WEB_SEARCH_FILTER_KEYS, path)
    domains = filters.get("allowed_domains")
    if domains is None:
        return
    domains = [
        want_str(d, f"{path}.allowed_domains[{k}]") for k, d in enumerate(want_list(domains, f"{path}.allowed_domains"))
    ]
    if domains:
        reason = "chat's web_search_options have no domain filter: the search is not limited to these domains"
        ctx.note(f"{path}.allowed_domains", "dropped", reason)
