"""Routes as data, one list: a path pattern with parameters (`/v1/models/{model:path}`), the set of
methods it takes, its endpoint. What HTTP (RFC 9110) asks of a router, answered here once:

- a path that matches with another method is a `405` carrying `Allow`;
- every route that takes `GET` takes `HEAD` (the server sends the head without the body);
- a path no route matches is a `404`.

Exact paths are one dict lookup (the hot routes); patterns are tried in order after them.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Endpoint", "Match", "NotAllowed", "Route", "Router"]

# `endpoint(gateway, exchange, scope, receive, send)`; the router only hands it back.
Endpoint = Callable[..., Awaitable[Any]]
# Whose error shape a route answers in: a surface's, or (None) the one the request's headers ask for.
Dialect = Literal["chat", "messages"] | None

_PARAM = re.compile(r"\{([a-z_][a-z0-9_]*)(:path)?\}")


@dataclass(frozen=True, slots=True)
class Route:
    pattern: str  # "/v1/models/{model:path}": `{name}` is one path segment, `{name:path}` the rest of the path
    methods: frozenset[str]
    endpoint: Endpoint
    name: str = ""  # how the log and the metrics name it (default: the pattern)
    auth: bool = True  # False: answered without a key (health checks, the one-line description)
    admin: bool = False  # True: a server key only, once client keys are in use (the metrics name every key)
    dialect: Dialect = None

    @classmethod
    def of(cls, pattern: str, methods: Iterable[str], endpoint: Endpoint, **options: Any) -> Route:
        allowed = set(methods)
        if "GET" in allowed:
            allowed.add("HEAD")
        return cls(pattern, frozenset(allowed), endpoint, options.pop("name", "") or pattern, **options)


@dataclass(frozen=True, slots=True)
class Match:
    route: Route
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NotAllowed:
    """The path exists, not with this method: `allow` lists the methods it takes."""

    allow: tuple[str, ...]
    dialect: Dialect


class Router:
    def __init__(self, routes: Iterable[Route]) -> None:
        self._exact: dict[str, list[Route]] = {}
        self._patterns: list[tuple[re.Pattern[str], Route]] = []
        for route in routes:
            if _PARAM.search(route.pattern):
                self._patterns.append((_compile(route.pattern), route))
            else:
                self._exact.setdefault(route.pattern, []).append(route)

    def match(self, method: str, path: str) -> Match | NotAllowed | None:
        """The route for `method` on `path` and its parameters; `NotAllowed` when only other methods
        take the path; None when nothing does."""
        candidates = self._exact.get(path)
        if candidates is not None:
            for route in candidates:
                if method in route.methods:
                    return Match(route)
            return _not_allowed(candidates)
        matched: list[Route] = []
        for regex, route in self._patterns:
            found = regex.fullmatch(path)
            if found is not None:
                if method in route.methods:
                    return Match(route, found.groupdict())
                matched.append(route)
        return _not_allowed(matched) if matched else None


def _not_allowed(routes: list[Route]) -> NotAllowed:
    allow = sorted({method for route in routes for method in route.methods})
    return NotAllowed(tuple(allow), routes[0].dialect)


def _compile(pattern: str) -> re.Pattern[str]:
    regex, end = "", 0
    for param in _PARAM.finditer(pattern):
        regex += re.escape(pattern[end : param.start()])
        regex += f"(?P<{param.group(1)}>{'.+' if param.group(2) else '[^/]+'})"
        end = param.end()
    return re.compile(regex + re.escape(pattern[end:]))
