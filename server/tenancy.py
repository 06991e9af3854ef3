"""Principals inside the server: whose call this is, what they may spend, and what they have used.

Every tool call runs inside `Tenancy.call(principal)`: a slot of the principal's concurrent-call limit is taken
(across replicas, through the state seam) as a lease this process renews while the call runs, so a replica that
dies mid-call frees its slots when their leases run out; with a daily budget, every provider call reserves its
estimated cost in the shared ledger before it is sent and settles to the actual cost after (`_Ledger`), so
concurrent calls cannot all pass the check on one stale total. Afterwards the call's usage is added to the
principal's usage and any kept results are written to the shared state. A call whose work goes on as a job
hands its slot, usage and kept results over to the job (`hand_over_call`): they are released, recorded and
written when the job ends, before its record says done.
Threads and kept results are handed out as views scoped to the principal.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import anyio
from mcp.server.mcpserver import Context

from junior_ai.core.config import PrincipalLimits, Settings
from junior_ai.core.log import get_logger
from junior_ai.core.principals import (
    CURRENT_SCOPE,
    LOCAL,
    BudgetExceededError,
    CallScope,
    add_note,
    budget_error,
    day_of,
)
from junior_ai.core.state import StateStore, StateUnavailableError
from junior_ai.core.usage import TokenUsage
from junior_ai.server.principal import principal_of_user
from junior_ai.tools.output_budget import ResultStore
from junior_ai.tools.results import ListAIsResult, PrincipalUsage
from junior_ai.tools.threads import ThreadStore

TOKEN_FIELDS = ("prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens", "reasoning_tokens")
# What list_ais shows a principal of its own use; timed_calls: the calls whose latency is in latency_ms.
ACTIVITY_FIELDS = ("latency_ms", "timed_calls", "sync_fallbacks", "invalid_outputs")
FIELDS = ("calls", "errors", "unknown_cost_calls", *TOKEN_FIELDS, "cost_usd", *ACTIVITY_FIELDS)
USAGE_TTL_S = 90 * 86_400

log = get_logger(__name__)


def principal_of(ctx: Context[Any, Any]) -> str:
    """The principal of the request a tool call came in (stdio: "local")."""
    request = ctx.request_context.request
    scope = getattr(request, "scope", None)
    return principal_of_user(scope.get("user")) if isinstance(scope, dict) else LOCAL


@dataclass(frozen=True)
class Usage:
    calls: int = 0
    errors: int = 0
    tokens: TokenUsage = field(default_factory=TokenUsage)
    cost_usd: float = 0.0
    unknown_cost_calls: int = 0
    mean_latency_ms: float | None = None
    sync_fallbacks: int = 0
    invalid_outputs: int = 0


@dataclass(frozen=True)
class CallViews:
    principal: str
    threads: ThreadStore
    results: ResultStore


def _p(principal: str) -> str:
    return quote(principal, safe="")


class LeaseKeeper:
    """Renews, every third of a lease, the leases this process holds (slots, budget reservations): a live call
    keeps them; a dead process stops renewing and they expire by themselves."""

    def __init__(self, state: StateStore, lease_s: float) -> None:
        self.state = state
        self.lease_s = lease_s
        self._held: dict[str, set[str]] = {}

    def hold(self, key: str, member: str) -> None:
        self._held.setdefault(key, set()).add(member)

    def drop(self, key: str, member: str) -> None:
        members = self._held.get(key)
        if members is not None:
            members.discard(member)
            if not members:
                del self._held[key]

    async def renew_once(self) -> None:
        for key, members in list(self._held.items()):
            try:
                await self.state.lease_renew(key, sorted(members), self.lease_s)
            except StateUnavailableError as error:  # the next round tries again; a lease may lapse meanwhile
                log.warning("lease_renewal_failed", error=str(error))

    async def run(self) -> None:
        while True:
            await anyio.sleep(self.lease_s / 3)
            await self.renew_once()


class _Ledger:
    """The principal's daily budget as `ai.call` uses it: reserve an estimate, then settle to the real cost."""

    def __init__(self, tenancy: Tenancy, scope: CallScope, usd_per_day: float) -> None:
        self._tenancy = tenancy
        self._scope = scope
        self._limit = usd_per_day
        self._spend_key = tenancy.spend_key(scope.principal, scope.now)
        self._key = f"reserved:{_p(scope.principal)}:{day_of(scope.now)}"

    async def reserve(self, estimate_usd: float) -> str:
        member = f"{secrets.token_hex(8)}|{estimate_usd!r}"
        keeper = self._tenancy.leases
        committed = await keeper.state.budget_reserve(
            self._spend_key, self._key, member, estimate_usd, self._limit, lease_s=keeper.lease_s
        )
        if committed is not None:
            raise budget_error(self._scope.principal, committed, self._limit, self._scope.now)
        keeper.hold(self._key, member)
        return member

    async def settle(self, reservation: str, cost_usd: float | None) -> None:
        keeper = self._tenancy.leases
        keeper.drop(self._key, reservation)
        await keeper.state.budget_settle(self._spend_key, self._key, reservation, cost_usd or 0.0, ttl_s=USAGE_TTL_S)


@dataclass
class _CallHold:
    """What one tool call holds until it ends: its slot (if counted), its usage to record and its kept results
    still to write to the shared state."""

    tenancy: Tenancy
    scope: CallScope
    slot: tuple[str, str] | None
    results: ResultStore
    handed_over: bool = False
    finished: bool = False

    async def finish(self) -> None:
        """Write the kept results, record the usage and give the slot back, once, shielded from cancellation
        (also at shutdown). A job ends here before its record says done: its result URIs read on every replica
        by the time it can be collected."""
        if self.finished:
            return
        self.finished = True
        with anyio.CancelScope(shield=True):
            try:
                try:
                    await self.results.flush()
                except StateUnavailableError as error:  # the texts stay readable on this replica until they expire
                    log.warning("results_flush_failed", error=str(error))
                finally:
                    await self.tenancy.record(self.scope)
            except StateUnavailableError as error:  # the answers are out already: their usage is what is lost
                log.warning("usage_record_failed", principal=self.scope.principal, error=str(error))
            finally:
                if self.slot is not None:
                    key, member = self.slot
                    self.tenancy.leases.drop(key, member)
                    try:
                        await self.tenancy.state.lease_release(key, member)
                    except StateUnavailableError as error:  # its lease runs out by itself
                        log.warning("slot_release_failed", error=str(error))


_CURRENT_HOLD: ContextVar[_CallHold | None] = ContextVar("junior_ai_call_hold", default=None)


@dataclass
class HandOver:
    """A tool call's slot, usage and kept results, handed to the job its work goes on in: `done` when the job
    ends (before its record says done)."""

    hold: _CallHold | None

    async def done(self) -> None:
        if self.hold is not None:
            await self.hold.finish()

    def cancel(self) -> None:
        """The job never started: the call releases what it holds itself, as usual."""
        if self.hold is not None:
            self.hold.handed_over = False


def hand_over_call() -> HandOver:
    """Called by the tool call starting a job: from now on the job holds the call's slot and records its usage
    (usage is recorded, and the slot given back, when the job ends rather than when the call returns)."""
    hold = _CURRENT_HOLD.get()
    if hold is not None:
        hold.handed_over = True
    return HandOver(hold)


class Tenancy:
    def __init__(self, settings: Settings, state: StateStore, threads: ThreadStore, results: ResultStore) -> None:
        self.settings = settings
        self.state = state
        self.threads = threads
        self.results = results
        self.leases = LeaseKeeper(state, settings.call_lease_s)
        self._known: set[str] = set()

    def limits(self, principal: str) -> PrincipalLimits:
        principals = self.settings.principals
        return principals.get(principal) or principals.get("*") or PrincipalLimits()

    def views(self, principal: str) -> CallViews:
        return CallViews(principal, self.threads.scoped(principal), self.results.scoped(principal))

    @asynccontextmanager
    async def call(self, principal: str, *, spends: bool = True) -> AsyncIterator[CallViews]:
        """Run one tool call as `principal`. `spends`: the tool may call providers (list_ais does not), so it is
        refused up front when the principal is over its budget or at its concurrent-call limit."""
        limits = self.limits(principal)
        now = datetime.now(UTC)
        slot: tuple[str, str] | None = None
        if spends and limits.max_concurrent_calls is not None:
            # A leased slot (renewed while the call runs): a replica that dies mid-call frees it within a lease.
            slot = (f"slots:{_p(principal)}", secrets.token_hex(8))
            if not await self.state.lease_acquire(
                slot[0], slot[1], limit=limits.max_concurrent_calls, lease_s=self.leases.lease_s
            ):
                raise BudgetExceededError(
                    f"Too many calls at once: {principal} may have {limits.max_concurrent_calls} tool calls in "
                    "flight (settings.principals max_concurrent_calls); wait for one to finish and try again.",
                    retry_after_s=None,
                )
            self.leases.hold(*slot)
        scope = CallScope(principal, usd_per_day=limits.usd_per_day, now=now)
        views = self.views(principal)
        hold = _CallHold(self, scope, slot, views.results)
        try:
            if spends and limits.usd_per_day is not None:
                scope.spent_before_usd = float(await self.state.get(self.spend_key(principal, now)) or 0.0)
                scope.check_budget()  # over budget: refused before any work
                scope.ledger = _Ledger(self, scope, limits.usd_per_day)
            token = CURRENT_SCOPE.set(scope)
            held = _CURRENT_HOLD.set(hold)
            try:
                yield views
                # An answer naming a URI the other replicas cannot read would fail there: when the store is lost
                # after the answers arrived (paid for already), the answer still goes back, and says so. A failed or
                # handed-over call's results are written by `finish` (by the job, when it ends).
                try:
                    await views.results.flush()
                except StateUnavailableError as error:
                    log.warning("results_flush_failed", principal=principal, error=str(error))
                    add_note(f"the full texts kept for this result are readable on this server only: {error}")
            finally:
                _CURRENT_HOLD.reset(held)
                CURRENT_SCOPE.reset(token)
        finally:
            if not hold.handed_over:  # else the job that took the call over finishes it
                await hold.finish()

    @staticmethod
    def spend_key(principal: str, now: datetime) -> str:
        return f"spend:{_p(principal)}:{day_of(now)}"

    async def record(self, scope: CallScope) -> None:
        if not scope.records:
            return
        p = _p(scope.principal)
        if scope.principal not in self._known:  # the index of principals (for the admin view), once per process
            await self.state.index_add("principals", scope.principal, scope.now.timestamp(), ttl_s=USAGE_TTL_S)
            self._known.add(scope.principal)
        amounts: dict[str, float] = {}
        spent = sum(r.cost_usd or 0.0 for r in scope.records)
        if spent and scope.ledger is None:  # with a budget, each provider call settled its cost already
            amounts[self.spend_key(scope.principal, scope.now)] = spent
        for record in scope.records:
            usage = record.usage or TokenUsage()
            for name, amount in (
                ("calls", 1),
                ("errors", 0 if record.ok else 1),
                ("unknown_cost_calls", 1 if (record.ok or record.partial) and record.cost_usd is None else 0),
                *((token, getattr(usage, token)) for token in TOKEN_FIELDS),
                ("cost_usd", record.cost_usd or 0.0),
                ("latency_ms", record.latency_ms or 0.0),
                ("timed_calls", 0 if record.latency_ms is None else 1),
                ("sync_fallbacks", 1 if record.sync_fallback else 0),
                ("invalid_outputs", 1 if record.invalid_output else 0),
            ):
                if amount:
                    key = f"usage:{p}:{_p(record.ai)}:{name}"
                    amounts[key] = amounts.get(key, 0.0) + amount
        # One round trip; usage keys live USAGE_TTL_S (the day's spend key only needs its day, but longer is harmless).
        await self.state.incr_many(amounts, ttl_s=USAGE_TTL_S)

    async def usage(self, principal: str, ais: Iterable[str]) -> dict[str, Usage]:
        p = _p(principal)
        found = {}
        for ai in ais:
            values = {name: float(await self.state.get(f"usage:{p}:{_p(ai)}:{name}") or 0) for name in FIELDS}
            found[ai] = Usage(
                calls=int(values["calls"]),
                errors=int(values["errors"]),
                tokens=TokenUsage(**{token: int(values[token]) for token in TOKEN_FIELDS}),
                cost_usd=round(values["cost_usd"], 10),
                unknown_cost_calls=int(values["unknown_cost_calls"]),
                mean_latency_ms=round(values["latency_ms"] / values["timed_calls"], 1)
                if values["timed_calls"]
                else None,
                sync_fallbacks=int(values["sync_fallbacks"]),
                invalid_outputs=int(values["invalid_outputs"]),
            )
        return found

    async def principals(self) -> list[str]:
        return [member for member, _ in await self.state.index_members("principals")]


def _known_cost(used: Usage) -> float | None:
    """Issue 16: null, not 0, when none of the answers had a known cost (failed calls cost nothing to count)."""
    priced = used.calls - used.errors - used.unknown_cost_calls
    return used.cost_usd if used.cost_usd or priced > 0 else None


async def with_principal_usage(
    result: ListAIsResult, tenancy: Tenancy, principal: str, ais: list[str]
) -> ListAIsResult:
    """`list_ais` as `principal` sees it: its own figures per AI (calls, errors, tokens, cost, latency), never
    the process-wide ones that mix in other principals' activity; the admin principal also sees everyone's
    totals. The server's configuration warnings are for its operator (they name the file and principals): shown
    to "local" (stdio, the operator's own machine) and the admin only."""
    mine = await tenancy.usage(principal, ais)
    rows = []
    for info in result.ais:
        used = mine.get(info.name, Usage())
        rows.append(
            info.model_copy(
                update={
                    "calls": used.calls,
                    "errors": used.errors,
                    "tokens": used.tokens,
                    "cost_usd": _known_cost(used),
                    "unknown_cost_calls": used.unknown_cost_calls,
                    "mean_latency_ms": used.mean_latency_ms,
                    "sync_fallbacks": used.sync_fallbacks,
                    "invalid_outputs": used.invalid_outputs,
                }
            )
        )
    update: dict[str, Any] = {
        "ais": rows,
        "principal": principal,
        "session_usage": sum((u.tokens for u in mine.values()), TokenUsage()),
        "session_cost_usd": (
            round(sum(u.cost_usd for u in mine.values()), 10)
            if any(_known_cost(u) is not None for u in mine.values())
            else None
        ),
        "session_unknown_cost_calls": sum(u.unknown_cost_calls for u in mine.values()),
    }
    admin = tenancy.settings.admin_principal is not None and principal == tenancy.settings.admin_principal
    if not admin and principal != LOCAL:
        update["warnings"] = []
    if admin:
        everyone: dict[str, PrincipalUsage] = {}
        for name in await tenancy.principals():
            used_by = (await tenancy.usage(name, ais)).values()
            everyone[name] = PrincipalUsage(
                calls=sum(u.calls for u in used_by),
                errors=sum(u.errors for u in used_by),
                tokens=sum((u.tokens for u in used_by), TokenUsage()),
                cost_usd=round(sum(u.cost_usd for u in used_by), 6),
            )
        update |= {
            "principals": everyone,
            "total_usage": sum((u.tokens for u in everyone.values()), TokenUsage()),
            "total_cost_usd": round(sum(u.cost_usd for u in everyone.values()), 6),
        }
    return result.model_copy(update=update)
