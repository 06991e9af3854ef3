"""The state seam: everything several server replicas must agree on goes through one `StateStore`.

Threads, kept results, per-principal usage and budgets, the per-AI request-rate limiter and the circuit
breaker's state are written through this protocol. `InProcessState` (the default) keeps them in this process;
`core.state_redis.RedisState` (`settings.state_url: "redis://..."`) keeps them in Redis so N replicas act as one
server. Nothing outside `core/state_redis.py` talks to Redis.

The contract every implementation keeps:
- keys are plain strings; values are strings (callers serialise, usually JSON);
- every write that takes `ttl_s` (seconds, None: no expiry) (re)sets the key's expiry; an expired key reads as
  absent;
- `incr`, `append`, `put_if_absent`, `delete_if` and `reserve_slot` are atomic across every process sharing the
  store: two replicas incrementing the same key never lose an increment, and only one of two `put_if_absent`
  calls on the same key wins (a lock or lease);
- an index is a set of members with a score (a time, usually): the per-principal list of threads or jobs;
- a lease set holds members (one per call in flight) that expire on their own unless renewed: a process that dies
  mid-call frees what it held once its leases run out; `lease_acquire` and `budget_reserve` prune expired members,
  decide and write atomically, and a refusal writes (and extends) nothing;
- `reserve_slot` and `now` use one clock shared by every process (Redis's own clock), so replicas whose clocks
  differ still space requests correctly.
A failing backend raises `StateUnavailableError` with what to check; callers report it and never call a
provider whose result they could not keep.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from junior_ai.core.errors import JuniorAIError


class StateUnavailableError(JuniorAIError):
    """The shared state (Redis, or the threads database) could not be read or written."""


@runtime_checkable
class StateStore(Protocol):
    shared: bool
    """True when other processes see this state (replicas can then run stateless HTTP)."""

    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, value: str, *, ttl_s: float | None = None) -> None: ...

    async def put_if_absent(self, key: str, value: str, *, ttl_s: float | None = None) -> bool:
        """Write only when `key` is absent; True when this call wrote it (took the lock or lease)."""
        ...

    async def delete(self, key: str) -> None: ...

    async def delete_if(self, key: str, value: str) -> bool:
        """Delete `key` only if it still holds `value` (release a lease that is still ours)."""
        ...

    async def incr(self, key: str, amount: float = 1.0, *, ttl_s: float | None = None) -> float:
        """Add `amount` (may be negative) and return the new value; an absent key counts as 0."""
        ...

    async def incr_many(self, amounts: Mapping[str, float], *, ttl_s: float | None = None) -> None:
        """`incr` of several keys in one round trip (atomic as a whole)."""
        ...

    async def append(self, key: str, value: str, *, ttl_s: float | None = None) -> int:
        """Append to the list at `key`; returns its new length."""
        ...

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
        """`append` to `key` and `index_add` `member` to `index` (both expiring after `ttl_s`), then trim the index
        to its `keep` highest-scored members, as one atomic step; returns the members trimmed away. (A record and
        its place in a per-principal index: a thread's turns, a job's events.) In the same step, when given:
        `first` is pushed before `value` if the list at `key` is absent (a record's header, written with its first
        item), and the record of each trimmed member, `evict_prefix + member`, is deleted."""
        ...

    async def items(self, key: str) -> list[str]:
        """The whole list at `key`, oldest first (empty when absent)."""
        ...

    async def index_add(self, index: str, member: str, score: float, *, ttl_s: float | None = None) -> None: ...

    async def index_members(self, index: str, *, min_score: float = -math.inf) -> list[tuple[str, float]]:
        """(member, score) with score >= min_score, lowest score first."""
        ...

    async def index_remove(self, index: str, member: str) -> None: ...

    async def index_trim(self, index: str, keep: int) -> list[str]:
        """Remove all but the `keep` highest-scored members; returns the removed ones."""
        ...

    async def reserve_slot(self, key: str, interval_s: float, max_wait_s: float) -> float | None:
        """Reserve the next start slot spaced `interval_s` after the previous one. Returns the seconds to wait for
        it, or None (and reserves nothing) when that is more than `max_wait_s`."""
        ...

    async def now(self) -> float:
        """Seconds since the epoch on the clock every sharer uses."""
        ...

    # --- leases of calls in flight (issue 14: max_concurrent_calls and daily budgets) ---

    async def lease_acquire(self, key: str, member: str, *, limit: int, lease_s: float) -> bool:
        """Add `member` to the lease set `key` for `lease_s`, unless `limit` unexpired members hold it already."""
        ...

    async def lease_renew(self, key: str, members: list[str], lease_s: float) -> None:
        """Extend the leases of those `members` still held (an expired one is not taken again)."""
        ...

    async def lease_release(self, key: str, member: str) -> None: ...

    async def budget_reserve(
        self, spend_key: str, key: str, member: str, amount: float, limit: float, *, lease_s: float
    ) -> float | None:
        """Reserve `amount` (encoded in `member` as "id|amount") in the lease set `key` when the counter at
        `spend_key` plus the unexpired reservations leave room: there must be something left, and while other
        reservations are held, room for this one too. None when reserved; else what is spent and committed."""
        ...

    async def budget_settle(self, spend_key: str, key: str, member: str, amount: float, *, ttl_s: float) -> None:
        """Drop the reservation `member` and add `amount` to `spend_key`, as one step."""
        ...

    async def aclose(self) -> None: ...


_Value = str | float | list[str] | dict[str, float]


@dataclass
class _Entry:
    value: _Value
    expires_at: float | None


@dataclass
class InProcessState:
    """The default: state in this process's memory, expiring lazily on access and in a periodic sweep so that
    keys nobody reads again (abandoned threads, idle principals) do not accumulate."""

    clock: Callable[[], float] = time.time
    shared: bool = False
    sweep_every: int = 1_000
    _data: dict[str, _Entry] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _writes: int = 0

    def _live(self, key: str) -> _Entry | None:
        entry = self._data.get(key)
        if entry is not None and entry.expires_at is not None and entry.expires_at <= self.clock():
            del self._data[key]
            return None
        return entry

    def _store(self, key: str, value: _Value, ttl_s: float | None) -> None:
        self._data[key] = _Entry(value, None if ttl_s is None else self.clock() + ttl_s)
        self._writes += 1
        if self._writes % self.sweep_every == 0:
            now = self.clock()
            for stale in [k for k, e in self._data.items() if e.expires_at is not None and e.expires_at <= now]:
                del self._data[stale]

    def __len__(self) -> int:
        return len(self._data)

    async def get(self, key: str) -> str | None:
        with self._lock:
            entry = self._live(key)
            if entry is not None and isinstance(entry.value, float):
                return repr(entry.value)  # a counter reads as its number, as in Redis
            return entry.value if entry is not None and isinstance(entry.value, str) else None

    async def put(self, key: str, value: str, *, ttl_s: float | None = None) -> None:
        with self._lock:
            self._store(key, value, ttl_s)

    async def put_if_absent(self, key: str, value: str, *, ttl_s: float | None = None) -> bool:
        with self._lock:
            if self._live(key) is not None:
                return False
            self._store(key, value, ttl_s)
            return True

    async def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    async def delete_if(self, key: str, value: str) -> bool:
        with self._lock:
            entry = self._live(key)
            if entry is None or entry.value != value:
                return False
            del self._data[key]
            return True

    async def incr(self, key: str, amount: float = 1.0, *, ttl_s: float | None = None) -> float:
        with self._lock:
            entry = self._live(key)
            current = entry.value if entry is not None and isinstance(entry.value, float) else 0.0
            self._store(key, current + amount, ttl_s)
            return current + amount

    async def incr_many(self, amounts: Mapping[str, float], *, ttl_s: float | None = None) -> None:
        for key, amount in amounts.items():
            await self.incr(key, amount, ttl_s=ttl_s)

    async def append(self, key: str, value: str, *, ttl_s: float | None = None) -> int:
        return self._append(key, value, ttl_s, "")

    def _append(self, key: str, value: str, ttl_s: float | None, first: str) -> int:
        with self._lock:
            entry = self._live(key)
            items = entry.value if entry is not None and isinstance(entry.value, list) else []
            if first and not items:
                items.append(first)
            items.append(value)
            self._store(key, items, ttl_s)
            return len(items)

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
        self._append(key, value, ttl_s, first)
        await self.index_add(index, member, score, ttl_s=ttl_s)
        removed = await self.index_trim(index, keep)
        if evict_prefix:
            for gone in removed:
                await self.delete(evict_prefix + gone)
        return removed

    async def items(self, key: str) -> list[str]:
        with self._lock:
            entry = self._live(key)
            return list(entry.value) if entry is not None and isinstance(entry.value, list) else []

    async def index_add(self, index: str, member: str, score: float, *, ttl_s: float | None = None) -> None:
        with self._lock:
            entry = self._live(index)
            members = entry.value if entry is not None and isinstance(entry.value, dict) else {}
            members[member] = score
            self._store(index, members, ttl_s)
            stored = self._data.get(index)  # as in Redis, the index's expiry only ever grows
            old_expiry = entry.expires_at if entry is not None else None
            if stored is not None and stored.expires_at is not None and old_expiry is not None:
                stored.expires_at = max(stored.expires_at, old_expiry)

    async def index_members(self, index: str, *, min_score: float = -math.inf) -> list[tuple[str, float]]:
        with self._lock:
            entry = self._live(index)
            members = entry.value if entry is not None and isinstance(entry.value, dict) else {}
            return sorted(((m, s) for m, s in members.items() if s >= min_score), key=lambda pair: pair[1])

    async def index_remove(self, index: str, member: str) -> None:
        with self._lock:
            entry = self._live(index)
            if entry is not None and isinstance(entry.value, dict):
                entry.value.pop(member, None)

    async def index_trim(self, index: str, keep: int) -> list[str]:
        with self._lock:
            entry = self._live(index)
            if entry is None or not isinstance(entry.value, dict) or len(entry.value) <= keep:
                return []
            members = entry.value
            removed = sorted(members, key=members.__getitem__)[: len(members) - keep]
            for member in removed:
                del members[member]
            return removed

    async def reserve_slot(self, key: str, interval_s: float, max_wait_s: float) -> float | None:
        with self._lock:
            now = self.clock()
            entry = self._live(key)
            next_free = entry.value if entry is not None and isinstance(entry.value, float) else 0.0
            slot = max(now, next_free)
            if slot - now > max_wait_s:
                return None
            self._store(key, slot + interval_s, max(interval_s, 1.0) * 2)
            return slot - now

    async def now(self) -> float:
        return self.clock()

    def _leases(self, key: str) -> dict[str, float]:
        """The live members of a lease set (expired ones dropped), created when absent. Call with the lock held."""
        entry = self._live(key)
        if entry is None or not isinstance(entry.value, dict):
            entry = _Entry({}, self.clock())  # gone at the next access unless a lease is added
            self._data[key] = entry
        members = entry.value
        assert isinstance(members, dict)
        now = self.clock()
        for gone in [m for m, until in members.items() if until <= now]:
            del members[gone]
        return members

    def _lease(self, key: str, members: dict[str, float], member: str, lease_s: float) -> None:
        """(Re)lease `member`; the set itself expires with its last lease, as in Redis."""
        until = self.clock() + lease_s
        members[member] = until
        entry = self._data[key]
        entry.expires_at = max(entry.expires_at or until, until)

    async def lease_acquire(self, key: str, member: str, *, limit: int, lease_s: float) -> bool:
        with self._lock:
            members = self._leases(key)
            if len(members) >= limit:
                return False
            self._lease(key, members, member, lease_s)
            return True

    async def lease_renew(self, key: str, members: list[str], lease_s: float) -> None:
        with self._lock:
            held = self._leases(key)
            for member in members:
                if member in held:
                    self._lease(key, held, member, lease_s)

    async def lease_release(self, key: str, member: str) -> None:
        with self._lock:
            self._leases(key).pop(member, None)

    async def budget_reserve(
        self, spend_key: str, key: str, member: str, amount: float, limit: float, *, lease_s: float
    ) -> float | None:
        with self._lock:
            held = self._leases(key)
            reserved = sum(float(m.rsplit("|", 1)[1]) for m in held)
            entry = self._live(spend_key)
            spent = entry.value if entry is not None and isinstance(entry.value, float) else 0.0
            committed = spent + reserved
            if committed >= limit or (held and committed + amount > limit):
                return committed
            self._lease(key, held, member, lease_s)
            return None

    async def budget_settle(self, spend_key: str, key: str, member: str, amount: float, *, ttl_s: float) -> None:
        with self._lock:
            self._leases(key).pop(member, None)
            if amount:
                entry = self._live(spend_key)
                current = entry.value if entry is not None and isinstance(entry.value, float) else 0.0
                self._store(spend_key, current + amount, ttl_s)

    async def aclose(self) -> None:
        return None


def open_state(url: str | None) -> StateStore:
    """The store for `settings.state_url`: in-process when None, Redis for redis:// and rediss:// URLs."""
    if not url:
        return InProcessState()
    from junior_ai.core.state_redis import RedisState

    return RedisState.from_url(url)
