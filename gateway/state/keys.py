"""Client keys and their limits in the shared Redis (`serve --state URL`): every replica sees the same keys,
and a key's requests, tokens and spend are counted once for all of them.

Keys in Redis (each script touches keys of one hash tag, as a cluster needs):

- `{protoshift:keys}:records` (name -> the key's record, JSON, with its SHA-256 digest; never the key),
  `{protoshift:keys}:digests` (digest -> name), `{protoshift:keys}:version` (counts the changes: a
  replica reloads the keys when it moves);
- per key, under `{protoshift:key:NAME}`: `:rpm` (GCRA's theoretical arrival time, ms, expiring once it
  is in the past), `:tpm` (the token bucket: its level and when it was counted), `:day:YYYY-MM-DD` and
  `:month:YYYY-MM` (requests, tokens in, tokens out, spend in nano-USD; expiring a day after their period).

`_LIMIT` is one script, one round trip per request: it adds what this replica's finished requests used
since its last call (their usage and the token bucket's correction), checks the budget, the requests
per minute and the tokens per minute on the server's clock (`TIME`), and takes the request's share only
when all three let it go. With `mode = settle` it only adds (a replica's periodic flush).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from protoshift.gateway.clients.limiter import PERIOD_MS, Decision, RateState, Reason, Window
from protoshift.gateway.clients.records import ClientKey, Period, Periods, Usage
from protoshift.gateway.state.connection import Script, SharedState

__all__ = ["RedisKeys"]

_TAG = "{protoshift:keys}"
_RECORDS, _DIGESTS, _VERSION = f"{_TAG}:records", f"{_TAG}:digests", f"{_TAG}:version"
_REASONS: dict[int, Reason] = {1: "rpm", 2: "tpm", 3: "budget"}
_KEEP_MS = 86_400_000  # usage outlives its period by a day

_ADD = Script("""
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('INCR', KEYS[3])
return 1
""")

_REMOVE = Script("""
local record = redis.call('HGET', KEYS[1], ARGV[1])
if not record then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], cjson.decode(record)['digest'])
redis.call('INCR', KEYS[3])
return 1
""")

_FIND = Script("""
local name = redis.call('HGET', KEYS[2], ARGV[1])
if not name then return false end
return redis.call('HGET', KEYS[1], name)
""")

# KEYS: rpm, tpm, day, month. ARGV: mode (admit|settle), rpm, tpm (0: none), estimate, budget (nano-USD, 0:
# none), the budget's period (day|month), then what finished requests used: requests, tokens in, tokens out,
# spend; the token bucket's correction; when the day's and the month's counts expire (ms).
# Returns: allowed (1|0), reason (0, 1 rpm, 2 tpm, 3 budget), retry after (ms), requests remaining (-1: no
# limit), requests' reset (ms), tokens remaining (-1: no limit), tokens' reset (ms), spend in the budget's period.
_LIMIT = Script("""
local mode = ARGV[1]
local rpm, tpm, estimate, budget = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local used = {tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])}
local correction = tonumber(ARGV[11])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local minute = 60000
if used[1] + used[2] + used[3] + used[4] > 0 then
  for i, key in ipairs({KEYS[3], KEYS[4]}) do
    redis.call('HINCRBY', key, 'requests', used[1])
    redis.call('HINCRBY', key, 'tokens_in', used[2])
    redis.call('HINCRBY', key, 'tokens_out', used[3])
    redis.call('HINCRBY', key, 'spend', used[4])
    redis.call('PEXPIREAT', key, ARGV[11 + i])
  end
end
local spent = 0
if budget > 0 then
  spent = tonumber(redis.call('HGET', ARGV[6] == 'day' and KEYS[3] or KEYS[4], 'spend') or '0')
end
local level
if tpm > 0 then
  local bucket = redis.call('HMGET', KEYS[2], 'level', 'at')
  level = tonumber(bucket[1]) or tpm
  local at = tonumber(bucket[2]) or now
  level = math.min(tpm, level + math.max(0, now - at) * tpm / minute)
  level = math.min(tpm, level - correction)
end
local reason, retry = 0, 0
local req_remaining, req_reset, new_tat = -1, 0, nil
local tok_remaining, tok_reset = -1, 0
if mode == 'admit' then
  if budget > 0 and spent >= budget then reason = 3 end
  if rpm > 0 then
    local step = minute / rpm
    local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
    if tat + step - now > minute + math.min(step / 2, 1) then
      if reason == 0 then reason = 1 end
      retry = math.max(retry, tat + step - now - minute)
      req_remaining, req_reset = 0, tat - now
    else
      new_tat = tat + step
      req_remaining = math.max(0, math.floor((minute - (new_tat - now)) / step + 1e-6))
      req_reset = new_tat - now
    end
  end
  if tpm > 0 and level <= 0 then
    if reason == 0 then reason = 2 end
    retry = math.max(retry, (1 - level) * minute / tpm)
  end
  if reason == 0 then
    if new_tat then
      redis.call('SET', KEYS[1], string.format('%.17g', new_tat), 'PX', math.ceil(new_tat - now) + 1000)
    end
    if tpm > 0 then level = level - estimate end
  end
end
if tpm > 0 then
  redis.call('HSET', KEYS[2], 'level', string.format('%.17g', level), 'at', string.format('%.17g', now))
  redis.call('PEXPIRE', KEYS[2], math.ceil((tpm - level) * minute / tpm) + minute)
  tok_remaining, tok_reset = math.max(0, math.floor(level)), (tpm - level) * minute / tpm
end
return {reason == 0 and 1 or 0, reason, math.ceil(retry), req_remaining, math.ceil(req_reset),
        tok_remaining, math.ceil(tok_reset), spent}
""")


def _tag(name: str) -> str:
    return "{protoshift:key:" + name + "}"


def _limit_keys(name: str, periods: Periods) -> tuple[str, str, str, str]:
    tag = _tag(name)
    return (f"{tag}:rpm", f"{tag}:tpm", f"{tag}:day:{periods.day}", f"{tag}:month:{periods.month}")


class RedisKeys:
    """The keys, their usage, and the limits counted for every replica at once. Each call goes through
    `state` (bounded; StateUnavailable when Redis does not answer)."""

    def __init__(self, state: SharedState) -> None:
        self.state = state

    @property
    def shown(self) -> str:
        return self.state.url.shown

    # -- the keys ---------------------------------------------------------------------------------

    async def version(self) -> str:
        found = await self.state.call(lambda redis: redis.get(_VERSION))
        return "0" if found is None else found.decode() if isinstance(found, bytes) else str(found)

    async def keys(self) -> list[ClientKey]:
        records = await self.state.call(lambda redis: redis.hgetall(_RECORDS))
        return sorted((ClientKey.from_json(json.loads(blob)) for blob in records.values()), key=lambda k: k.name)

    async def find(self, digest: str) -> ClientKey | None:
        blob = await self.state.call(lambda redis: _FIND(redis, (_RECORDS, _DIGESTS), (digest,)))
        return None if blob is None else ClientKey.from_json(json.loads(blob))  # type: ignore[arg-type]

    async def add(self, key: ClientKey) -> bool:
        """False when a key of that name exists."""
        record = json.dumps(key.to_json())
        added = await self.state.call(
            lambda redis: _ADD(redis, (_RECORDS, _DIGESTS, _VERSION), (key.name, key.digest, record))
        )
        if added:  # a new key of an old name starts at 0 (its secret is not out yet: nothing used it)
            await self.state.call(lambda redis: redis.delete(*self._counts(key.name)))
        return bool(added)

    async def remove(self, name: str) -> bool:
        removed = await self.state.call(lambda redis: _REMOVE(redis, (_RECORDS, _DIGESTS, _VERSION), (name,)))
        if removed:
            await self.state.call(lambda redis: redis.delete(*self._counts(name)))
        return bool(removed)

    def _counts(self, name: str) -> list[str]:
        """The key's limiter and this period's usage (older usage expires by itself)."""
        from protoshift.gateway.clients.records import periods

        return list(_limit_keys(name, periods()))

    # -- usage ------------------------------------------------------------------------------------

    async def usage(self, names: Iterable[str], current: Periods) -> dict[str, dict[Period, Usage]]:
        found: dict[str, dict[Period, Usage]] = {}
        for name in names:
            _, _, day, month = _limit_keys(name, current)
            found[name] = {"day": await self._usage(day), "month": await self._usage(month)}
        return found

    async def _usage(self, key: str) -> Usage:
        counts = await self.state.call(lambda redis: redis.hgetall(key))
        return Usage(*(int(counts.get(field, 0)) for field in _FIELDS))

    # -- the limits -------------------------------------------------------------------------------

    async def admit(
        self, key: ClientKey, estimate: int, current: Periods, used: Usage | None, correction: int
    ) -> Decision:
        """Whether `key` may send a request estimated at `estimate` tokens now, after adding what its
        finished requests used (`used`, `correction`): every replica's count, on the server's clock."""
        reply = await self._limit("admit", key, current, used, correction, estimate)
        allowed, reason, retry, req_left, req_reset, tok_left, tok_reset, spent = (int(x) for x in reply)
        state = RateState(
            Window(key.rpm, req_left, req_reset / 1000) if key.rpm is not None and req_left >= 0 else None,
            Window(key.tpm, tok_left, tok_reset / 1000) if key.tpm is not None and tok_left >= 0 else None,
        )
        return Decision(bool(allowed), _REASONS.get(reason), retry / 1000, state, spent)

    async def settle(self, key: ClientKey, current: Periods, used: Usage | None, correction: int) -> int:
        """Adds what finished requests used; the key's spend in its budget's period, after."""
        reply = await self._limit("settle", key, current, used, correction, 0)
        return int(reply[7])

    async def _limit(
        self, mode: str, key: ClientKey, current: Periods, used: Usage | None, correction: int, estimate: int
    ) -> list[Any]:
        used = used or Usage()
        args = (
            mode,
            key.rpm or 0,
            key.tpm or 0,
            estimate,
            key.budget_nano,
            key.period or "",
            used.requests,
            used.tokens_in,
            used.tokens_out,
            used.spend_nano,
            correction,
            math.ceil(current.day_end * 1000) + _KEEP_MS,
            math.ceil(current.month_end * 1000) + _KEEP_MS,
        )
        keys = _limit_keys(key.name, current)
        reply = await self.state.call(lambda redis: _LIMIT(redis, keys, args))
        assert isinstance(reply, list)
        return reply

    async def aclose(self) -> None:
        return None  # the connection is the gateway's (its SharedState), closed with it


_FIELDS = (b"requests", b"tokens_in", b"tokens_out", b"spend")
assert PERIOD_MS == 60_000.0  # the scripts' minute
