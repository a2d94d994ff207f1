"""The router alone: path patterns with parameters, sets of methods, HEAD with every GET, 405 vs 404."""

from __future__ import annotations

from typing import Any

from protoshift.gateway.routing import Match, NotAllowed, Route, Router


async def endpoint(*args: Any) -> None:
    return None


ROUTER = Router(
    [
        Route.of("/v1/chat/completions", {"POST"}, endpoint, dialect="chat"),
        Route.of("/v1/models", {"GET"}, endpoint),
        Route.of("/v1/models/{model:path}", {"GET"}, endpoint, name="/v1/models/{model}"),
        Route.of("/v1/responses/{id}", {"GET", "DELETE"}, endpoint),
        Route.of("/v1/responses/{id}/input_items", {"GET"}, endpoint),
    ]
)


def test_an_exact_path_matches_its_methods_only() -> None:
    found = ROUTER.match("POST", "/v1/chat/completions")
    assert isinstance(found, Match) and found.route.name == "/v1/chat/completions" and found.params == {}
    refused = ROUTER.match("GET", "/v1/chat/completions")
    assert refused == NotAllowed(("POST",), "chat")


def test_every_get_takes_head() -> None:
    assert isinstance(ROUTER.match("HEAD", "/v1/models"), Match)
    assert ROUTER.match("POST", "/v1/models") == NotAllowed(("GET", "HEAD"), None)


def test_parameters_are_one_segment_unless_a_path() -> None:
    found = ROUTER.match("GET", "/v1/responses/resp_123")
    assert isinstance(found, Match) and found.params == {"id": "resp_123"}
    nested = ROUTER.match("GET", "/v1/responses/resp_123/input_items")
    assert isinstance(nested, Match) and nested.params == {"id": "resp_123"}
    assert nested.route.pattern == "/v1/responses/{id}/input_items"
    model = ROUTER.match("GET", "/v1/models/meta-llama/Llama-3")
    assert isinstance(model, Match) and model.params == {"model": "meta-llama/Llama-3"}
    assert model.route.name == "/v1/models/{model}"


def test_a_pattern_path_with_another_method_lists_what_it_takes() -> None:
    assert ROUTER.match("POST", "/v1/responses/resp_1") == NotAllowed(("DELETE", "GET", "HEAD"), None)


def test_nothing_matches_is_none() -> None:
    assert ROUTER.match("GET", "/v2/models") is None
    assert ROUTER.match("GET", "/v1/responses/") is None  # an empty segment is no id
    assert ROUTER.match("GET", "/v1/chat/completions/extra") is None
