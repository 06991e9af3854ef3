"""`StateStore` in Redis (`settings.state_url: "redis://host:6379/0"`): the only module that talks to Redis.

Atomicity comes from Redis itself: single commands (INCRBYFLOAT, RPUSH, SET NX) or MULTI/EXEC pipelines for a
write plus its expiry, and Lua scripts where a decision reads and writes (`delete_if`, `reserve_slot`,
`lease_acquire`, `budget_reserve`). Time for the rate limiter and for call leases comes from Redis's `TIME`, so
replicas with skewed clocks still share one schedule and one idea of when a lease ends.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from junior_ai.core.redact import redact, register_url
from junior_ai.core.state import StateUnavailableError

PREFIX = "junior-ai:"
MAX_CONNECTIONS = 256
"""Per process (Redis serves ten thousand); a burst beyond it waits for a free connection (up to 30 s)."""
T = TypeVar("T")

_DELETE_IF = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# Each write and its expiry in one script (ARGV's last value: the expiry in ms, or "" for none).
_INCR = """
local value = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value
"""
_INCR_MANY = """
local expiry = ARGV[#KEYS + 1]
for i, key in ipairs(KEYS) do
  redis.call('INCRBYFLOAT', key, ARGV[i])
  if expiry ~= '' then redis.call('PEXPIRE', key, expiry) end
end
return #KEYS
"""
_APPEND = """
local length = redis.call('RPUSH', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return length
"""
# The index's expiry only ever grows: it lives as long as its longest-lived member (a key with no expiry gets one).
_ZADD = """
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] ~= '' and redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
"""

# ARGV[6] (or ''): the list's first item, pushed only when the list is absent (a header with its first item).
# ARGV[7] (or ''): the prefix of the trimmed members' own records, deleted in the same step. (Those keys are not in
# KEYS: a Redis Cluster would refuse the script, as it would any script here touching two principals' keys.)
_APPEND_INDEXED = """
if ARGV[6] ~= '' and redis.call('EXISTS', KEYS[1]) == 0 then redis.call('RPUSH', KEYS[1], ARGV[6]) end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
if ARGV[4] ~= '' then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
if excess <= 0 then return {} end
local removed = redis.call('ZRANGE', KEYS[2], 0, excess - 1)
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, excess - 1)
if ARGV[7] ~= '' then
  for _, member in ipairs(removed) do redis.call('DEL', ARGV[7] .. member) end
end
return removed
"""

_INDEX_TRIM = """
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[1])
if excess <= 0 then return {} end
local removed = redis.call('ZRANGE', KEYS[1], 0, excess - 1)
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, excess - 1)
return removed
"""

# Returns the wait in microseconds as a string (Lua numbers become integers in replies), or false when the slot
# lies beyond max_wait. The next free slot is kept for a while after it passes, then expires by itself.
_RESERVE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local max_wait = tonumber(ARGV[2])
local next_free = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, next_free)
if slot - now > max_wait then return false end
redis.call('SET', KEYS[1], string.format('%d', slot + interval), 'PX', math.max(1000, math.floor(interval / 500)))
return string.format('%d', slot - now)
"""

# Leases of calls in flight (max_concurrent_calls, budget reservations): a sorted set of members scored by when
# their lease ends (Redis's clock, in ms). Expired members are pruned before every decision; a refusal writes
# nothing, so a client retrying against a full set extends no one's lease.
_LEASE_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
"""
_LEASE_ACQUIRE = (
    _LEASE_NOW
    + """
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""
)
_LEASE_RENEW = (
    _LEASE_NOW
    + """
local lease = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + lease, ARGV[i]) end
if redis.call('ZCARD', KEYS[1]) > 0 then redis.call('PEXPIRE', KEYS[1], lease) end
return 1
"""
)
# KEYS: the lease set, the spend counter. ARGV: member ("id|amount"), amount, limit, lease (ms).
_BUDGET_RESERVE = (
    _LEASE_NOW
    + """
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
local reserved = 0
for _, member in ipairs(members) do reserved = reserved + tonumber(string.match(member, '|([^|]*)$')) end
local committed = tonumber(redis.call('GET', KEYS[2]) or '0') + reserved
local limit = tonumber(ARGV[3])
if committed >= limit or (#members > 0 and committed + tonumber(ARGV[2]) > limit) then
  return string.format('%.17g', committed)
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return false
"""
)
# KEYS: the lease set, the spend counter. ARGV: member, amount, the counter's expiry (ms).
_BUDGET_SETTLE = """
redis.call('ZREM', KEYS[1], ARGV[1])
if tonumber(ARGV[2]) ~= 0 then
  redis.call('INCRBYFLOAT', KEYS[2], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
return 1
"""


class _FreshConnectionPool(aioredis.BlockingConnectionPool):
    """A blocking pool that never hands out a connection the server has already closed. After a Redis restart
    (or failover) each pooled connection has seen the old server's FIN; redis-py would send the next command on it
    and fail. Such a connection is replaced before use instead. No command is ever retried: a command whose
    connection dies in flight may have run (an INCR, an append, a budget script), so that failure is reported."""

    async def ensure_connection(self, connection: Any) -> None:
        reader = getattr(connection, "_reader", None)
        if reader is not None and reader.at_eof():
            await connection.disconnect()
        await super().ensure_connection(connection)


def _ms(ttl_s: float | None) -> int | None:
    return None if ttl_s is None else max(1, math.ceil(ttl_s * 1000))


def _lease_ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


class RedisState:
    shared = True

    def __init__(self, client: aioredis.Redis, where: str) -> None:
        self._redis = client
        self._where = where  # names the setting, never the URL: clients must not learn hosts or passwords
        self._delete_if = client.register_script(_DELETE_IF)
        self._reserve = client.register_script(_RESERVE_SLOT)
        self._trim = client.register_script(_INDEX_TRIM)
        self._incr = client.register_script(_INCR)
        self._incr_many = client.register_script(_INCR_MANY)
        self._append = client.register_script(_APPEND)
        self._zadd = client.register_script(_ZADD)
        self._append_indexed = client.register_script(_APPEND_INDEXED)
        self._lease_acquire = client.register_script(_LEASE_ACQUIRE)
        self._lease_renew = client.register_script(_LEASE_RENEW)
        self._budget_reserve = client.register_script(_BUDGET_RESERVE)
        self._budget_settle = client.register_script(_BUDGET_SETTLE)

    @classmethod
    def from_url(cls, url: str) -> RedisState:
        register_url(url)  # userinfo (user and password) and every query value: all secrets
        try:
            parts = urlsplit(url)
            _ = parts.port  # a malformed host or port raises here, not deep inside redis-py
        except ValueError as error:
            raise StateUnavailableError(
                f"settings.state_url is not a valid URL ({redact(str(error))}); "
                'write it like "redis://:PASSWORD@host:6379/0" or "unix:///path/redis.sock".'
            ) from error
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise StateUnavailableError(
                f"settings.state_url must be a redis://, rediss:// or unix:// URL, not {redact(url)!r}."
            )
        # Clients never see where the store lives (host, port, socket path) nor any credential in the URL.
        where = "The shared state store (settings.state_url)"
        # A blocking pool: under a burst, a call waits for a free connection instead of failing.
        pool = _FreshConnectionPool.from_url(
            url, max_connections=MAX_CONNECTIONS, timeout=30, decode_responses=True, socket_timeout=10,
            socket_connect_timeout=5,
        )  # fmt: skip
        return cls(aioredis.Redis(connection_pool=pool), where)

    async def _do(self, operation: Awaitable[T]) -> T:
        try:
            return await operation
        except (RedisError, OSError) as error:
            raise StateUnavailableError(
                f"{self._where} is unreachable ({type(error).__name__}). "
                "Check that Redis is running and settings.state_url is right."
            ) from error

    async def ping(self) -> None:
        await self._do(self._redis.ping())

    async def get(self, key: str) -> str | None:
        value = await self._do(self._redis.get(PREFIX + key))
        return None if value is None else str(value)

    async def put(self, key: str, value: str, *, ttl_s: float | None = None) -> None:
        await self._do(self._redis.set(PREFIX + key, value, px=_ms(ttl_s)))

    async def put_if_absent(self, key: str, value: str, *, ttl_s: float | None = None) -> bool:
        return bool(await self._do(self._redis.set(PREFIX + key, value, px=_ms(ttl_s), nx=True)))

    async def delete(self, key: str) -> None:
        await self._do(self._redis.delete(PREFIX + key))

    async def delete_if(self, key: str, value: str) -> bool:
        return bool(await self._do(self._delete_if(keys=[PREFIX + key], args=[value])))

    async def _with_expiry(self, script: Any, key: str, value: Any, ttl_s: float | None) -> Any:
        # One EVALSHA: the write and its expiry atomically, cheaper than a MULTI/EXEC pipeline.
        return await self._do(script(keys=[PREFIX + key], args=[value, _ms(ttl_s) or ""]))

    async def incr(self, key: str, amount: float = 1.0, *, ttl_s: float | None = None) -> float:
        return float(await self._with_expiry(self._incr, key, amount, ttl_s))

    async def incr_many(self, amounts: Mapping[str, float], *, ttl_s: float | None = None) -> None:
        if amounts:
            keys = [PREFIX + key for key in amounts]
            await self._do(self._incr_many(keys=keys, args=[*amounts.values(), _ms(ttl_s) or ""]))

    async def append(self, key: str, value: str, *, ttl_s: float | None = None) -> int:
        return int(await self._with_expiry(self._append, key, value, ttl_s))

    async def append_indexed(
        self,
        key: str,
        value: str,
        index: str,
        member: str,
        score: float,
        *,
        ttl_s: float | None,
        keep: int,
        first: str = "",
        evict_prefix: str = "",
    ) -> list[str]:
        evict = PREFIX + evict_prefix if evict_prefix else ""
        args: list[str | float] = [value, score, member, _ms(ttl_s) or "", keep, first, evict]
        removed = await self._do(self._append_indexed(keys=[PREFIX + key, PREFIX + index], args=args))
        return [str(member) for member in removed or []]

    async def items(self, key: str) -> list[str]:
        values: list[str] = await self._do(self._redis.lrange(PREFIX + key, 0, -1))  # type: ignore[arg-type]
        return values

    async def index_add(self, index: str, member: str, score: float, *, ttl_s: float | None = None) -> None:
        await self._do(self._zadd(keys=[PREFIX + index], args=[score, member, _ms(ttl_s) or ""]))

    async def index_members(self, index: str, *, min_score: float = -math.inf) -> list[tuple[str, float]]:
        low = "-inf" if min_score == -math.inf else min_score
        pairs: Any = await self._do(self._redis.zrangebyscore(PREFIX + index, low, "+inf", withscores=True))
        return [(str(pair[0]), float(pair[1])) for pair in pairs]

    async def index_remove(self, index: str, member: str) -> None:
        await self._do(self._redis.zrem(PREFIX + index, member))

    async def index_trim(self, index: str, keep: int) -> list[str]:
        removed = await self._do(self._trim(keys=[PREFIX + index], args=[keep]))
        return [str(member) for member in removed or []]

    async def reserve_slot(self, key: str, interval_s: float, max_wait_s: float) -> float | None:
        interval_us = round(interval_s * 1_000_000)
        max_wait_us = round(max_wait_s * 1_000_000) if math.isfinite(max_wait_s) else 10**15
        waited = await self._do(self._reserve(keys=[PREFIX + key], args=[interval_us, max_wait_us]))
        return None if waited is None else int(waited) / 1_000_000

    async def now(self) -> float:
        reply: Any = await self._do(self._redis.time())
        return int(reply[0]) + int(reply[1]) / 1_000_000

    async def lease_acquire(self, key: str, member: str, *, limit: int, lease_s: float) -> bool:
        return bool(await self._do(self._lease_acquire(keys=[PREFIX + key], args=[member, limit, _lease_ms(lease_s)])))

    async def lease_renew(self, key: str, members: list[str], lease_s: float) -> None:
        if members:
            await self._do(self._lease_renew(keys=[PREFIX + key], args=[_lease_ms(lease_s), *members]))

    async def lease_release(self, key: str, member: str) -> None:
        await self._do(self._redis.zrem(PREFIX + key, member))

    async def budget_reserve(
        self, spend_key: str, key: str, member: str, amount: float, limit: float, *, lease_s: float
    ) -> float | None:
        refused = await self._do(
            self._budget_reserve(
                keys=[PREFIX + key, PREFIX + spend_key], args=[member, amount, limit, _lease_ms(lease_s)]
            )
        )
        return None if refused is None else float(refused)

    async def budget_settle(self, spend_key: str, key: str, member: str, amount: float, *, ttl_s: float) -> None:
        await self._do(
            self._budget_settle(keys=[PREFIX + key, PREFIX + spend_key], args=[member, amount, _lease_ms(ttl_s)])
        )

    async def aclose(self) -> None:
        await self._redis.aclose(close_connection_pool=True)
