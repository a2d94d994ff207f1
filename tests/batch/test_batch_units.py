"""Unit tests: custom_id mapping, line parsing, result conversion, the sharded transport, results_url."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from protoshift.cloud.batches import MessageBatchesClient
from protoshift.cloud.pool import ShardedTransport
from protoshift.translator import TranslationError
from protoshift.translator.batch import CustomIdMap, parse_input_line, result_to_output

SAFE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def test_custom_id_map_is_safe_unique_and_reversible() -> None:
    ids = CustomIdMap()
    originals = ["a", "a b", "a_b", "é", "", "x" * 200, "y" * 64, "日本", "a/b", "a:b"]
    safe = [ids.add(o) if o else ids.add("empty") for o in originals]
    assert all(SAFE.match(s) for s in safe)
    assert len(set(safe)) == len(safe)
    assert [ids.original(s) for s in safe] == [o or "empty" for o in originals]
    assert ids.add("y" * 64) != "y" * 64  # already taken: a second id gets a new name
    assert CustomIdMap(ids.mapping).original(safe[1]) == "a b"


def test_a_safe_id_that_collides_with_a_mapped_one_is_mapped_too() -> None:
    ids = CustomIdMap()
    mapped = ids.add("a b")
    literal = ids.add(mapped)
    assert literal != mapped and ids.original(literal) == mapped and ids.original(mapped) == "a b"


@pytest.mark.parametrize(
    ("line", "path"),
    [
        ([], "$"),
        ({"custom_id": 3, "body": {}}, "custom_id"),
        ({"custom_id": "a", "method": "GET", "body": {"messages": []}}, "method"),
        ({"custom_id": "a", "url": "/v1/embeddings", "body": {"messages": []}}, "url"),
        ({"custom_id": "a", "body": "x"}, "body"),
        ({"model": "m"}, "messages"),
    ],
)
def test_parse_input_line_errors_name_the_field(line: object, path: str) -> None:
    with pytest.raises(TranslationError) as caught:
        parse_input_line(line, 7)
    assert caught.value.path == path


def test_errored_result_keeps_type_and_request_id() -> None:
    line = result_to_output(
        {
            "custom_id": "s",
            "result": {
                "type": "errored",
                "error": {
                    "type": "error",
                    "error": {"type": "overloaded_error", "message": "busy"},
                    "request_id": "r1",
                },
            },
        },
        CustomIdMap({"s": "orig"}),
        "batch_req_1",
    )
    assert line == {
        "id": "batch_req_1",
        "custom_id": "orig",
        "response": None,
        "error": {"code": "overloaded_error", "message": "busy (request r1)"},
    }


def test_sharded_transport_sends_to_the_least_loaded_pool() -> None:
    seen: list[int] = []
    release = asyncio.Event()

    def make_pool(limits: httpx.Limits) -> httpx.AsyncBaseTransport:
        index = len(pools)

        async def handler(request: httpx.Request) -> httpx.Response:
            seen.append(index)
            await release.wait()
            return httpx.Response(200, json={})

        pool = httpx.MockTransport(handler)
        pools.append(limits)
        return pool

    pools: list[httpx.Limits] = []

    async def main() -> None:
        transport = ShardedTransport(10, per_pool=4, make_pool=make_pool)
        assert transport.pools == 3 and pools[0].max_connections == 4
        async with httpx.AsyncClient(transport=transport) as client:
            tasks = [asyncio.create_task(client.get("http://x/")) for _ in range(6)]
            while len(seen) < 6:
                await asyncio.sleep(0)
            assert sorted(seen) == [0, 0, 1, 1, 2, 2]
            release.set()
            await asyncio.gather(*tasks)
            assert transport._in_flight == [0, 0, 0]

    asyncio.run(main())


def test_results_url_never_leaves_the_base_url_origin() -> None:
    client = MessageBatchesClient(api_key="k", base_url="https://proxy.example/", breaker=False)
    try:
        same = client.results_url({"results_url": "https://proxy.example/v1/messages/batches/b/results"})
        other = client.results_url({"results_url": "https://api.anthropic.com/v1/messages/batches/b/results"})
        assert same == other == "https://proxy.example/v1/messages/batches/b/results"
    finally:
        asyncio.run(client.aclose())
