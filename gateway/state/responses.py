"""Stored responses in the shared Redis: a conversation stored through one replica continues
(`previous_response_id`) through any other, with the local store's expiry and size cap.

Keys (one hash tag, so that on a cluster they all live in one slot and one script can touch them):
`{protoshift:responses}:item:ID` (the stored response, expiring by itself), `...:index` (a sorted set
of ids by the time they were stored: the oldest go first past the size cap), `...:sizes` (id -> bytes)
and `...:bytes` (their sum). A put is one script: the item written, then what expired or no longer
fits removed.

When the shared state does not answer, the local store (the SQLite file, or memory) takes the put and
is read after Redis: nothing a client stored is lost, and it is found again on this replica. The store
fails open whatever `--state-fail` says: refusing to keep a conversation protects nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic_core import from_json, to_json

from protoshift.gateway.state.connection import Script, SharedState, StateUnavailable
from protoshift.gateway.store import DEFAULT_EXPIRY, DEFAULT_MAX_BYTES, ResponseStore, StoredResponse

__all__ = ["RedisResponseStore"]

_PREFIX = "{protoshift:responses}"
_INDEX, _SIZES, _BYTES = f"{_PREFIX}:index", f"{_PREFIX}:sizes", f"{_PREFIX}:bytes"

# KEYS: item, index, sizes, bytes. ARGV: id, blob, expiry (ms), max bytes, the item keys' prefix. The time is
# the server's: every replica's puts age alike.
_PUT = Script("""
local id, blob, expiry, cap, prefix = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function drop(old)
  local size = tonumber(redis.call('HGET', KEYS[3], old) or '0')
  redis.call('HDEL', KEYS[3], old)
  redis.call('ZREM', KEYS[2], old)
  redis.call('DEL', prefix .. old)
  redis.call('DECRBY', KEYS[4], size)
end
drop(id)
for _, old in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - expiry)) do drop(old) end
redis.call('SET', KEYS[1], blob, 'PX', expiry)
redis.call('ZADD', KEYS[2], now, id)
redis.call('HSET', KEYS[3], id, #blob)
local total = redis.call('INCRBY', KEYS[4], #blob)
while total > cap and redis.call('ZCARD', KEYS[2]) > 1 do
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  if oldest == id then break end
  drop(oldest)
  total = tonumber(redis.call('GET', KEYS[4]))
end
return total
""")

_DELETE = Script("""
local size = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('DECRBY', KEYS[4], size)
return redis.call('DEL', KEYS[1])
""")


class RedisResponseStore:
    """A `ResponseStore` in the shared state, the local one under it for when the shared one is away."""

    def __init__(
        self,
        state: SharedState,
        local: ResponseStore,
        *,
        expiry: float = DEFAULT_EXPIRY,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.state = state
        self.local = local
        self.expiry = expiry
        self.max_bytes = max_bytes

    @property
    def on_event(self) -> Callable[[str, str], None]:
        return self.local.on_event

    @on_event.setter
    def on_event(self, report: Callable[[str, str], None]) -> None:
        self.local.on_event = report

    async def get(self, response_id: str) -> StoredResponse | None:
        try:
            blob = await self.state.call(lambda redis: redis.get(_item(response_id)))
        except StateUnavailable:
            blob = None
        if blob is None:
            return await self.local.get(response_id)  # stored here while Redis was away, or nowhere
        data: dict[str, Any] = from_json(blob)
        return StoredResponse(response_id, data["response"], data["input_items"], data["output_items"])

    async def put(self, stored: StoredResponse) -> None:
        blob = to_json(
            {"response": stored.response, "input_items": stored.input_items, "output_items": stored.output_items}
        )
        expiry_ms = int(self.expiry * 1000)

        keys = (_item(stored.id), _INDEX, _SIZES, _BYTES)
        args = (stored.id, blob, expiry_ms, self.max_bytes, f"{_PREFIX}:item:")
        try:
            await self.state.call(lambda redis: _PUT(redis, keys, args))
        except StateUnavailable:
            await self.local.put(stored)

    async def delete(self, response_id: str) -> bool:
        deleted = await self.local.delete(response_id)
        try:
            keys = (_item(response_id), _INDEX, _SIZES, _BYTES)
            found = await self.state.call(lambda redis: _DELETE(redis, keys, (response_id,)))
        except StateUnavailable:
            return deleted
        return bool(found) or deleted

    async def aclose(self) -> None:
        await self.local.aclose()


def _item(response_id: str) -> str:
    return f"{_PREFIX}:item:{response_id}"
