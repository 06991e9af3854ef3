"""Who is calling, and what one tool call of theirs has spent so far.

A principal is a token's name, an OAuth subject, or "local" (stdio, and unauthenticated loopback HTTP). The
server opens a `CallScope` around each tool call; `ai.call` consults it before every provider call (a principal
over its daily budget is refused before anything is sent) and records each call's usage into it.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from junior_ai.core.errors import JuniorAIError
from junior_ai.core.usage import TokenUsage

LOCAL = "local"
OAUTH_PREFIX = "oauth:"
"""Every OAuth subject's principal is `oauth:<sub>`: no token name can contain ":", so an identity provider's
subject can never be a static token's principal (nor "local", nor an admin named by a token, nor "*")."""


class BudgetExceededError(JuniorAIError):
    """A principal's budget (USD per day, concurrent calls) is used up; `retry_after_s`: until it frees up."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def next_reset(now: datetime) -> datetime:
    """Daily budgets reset at midnight UTC."""
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def day_of(now: datetime) -> str:
    return now.strftime("%Y-%m-%d")


def budget_error(principal: str, spent_usd: float, usd_per_day: float, now: datetime) -> BudgetExceededError:
    reset = next_reset(now)
    return BudgetExceededError(
        f"Budget exceeded: {principal} has spent or committed ${spent_usd:.4f} of its ${usd_per_day:g} per day; it "
        f"resets at {reset:%Y-%m-%d %H:%M} UTC. Ask the server's admin to raise "
        f"settings.principals.{principal}.usd_per_day if you need more today.",
        retry_after_s=(reset - now).total_seconds(),
    )


class BudgetLedger(Protocol):
    """The principal's daily spend, shared by every call in flight (and every replica): a provider call reserves
    its estimated cost before it is sent and settles to the actual cost after, so concurrent calls cannot all
    pass the budget check on the same stale total."""

    async def reserve(self, estimate_usd: float) -> str:
        """Reserve `estimate_usd`; the reservation's id. Raises `BudgetExceededError` when it does not fit."""
        ...

    async def settle(self, reservation: str, cost_usd: float | None) -> None:
        """Replace the reservation by what the call cost (None: not known, counted as nothing)."""
        ...


@dataclass(frozen=True)
class CallRecord:
    ai: str
    ok: bool
    usage: TokenUsage | None
    cost_usd: float | None
    partial: bool = False
    """A failed call that had streamed text the tools keep (billed, at an unknown cost)."""
    # list_ais shows a principal only its own figures (issue 14): these mirror AIStats, per principal.
    latency_ms: float | None = None
    sync_fallback: bool = False
    invalid_output: bool = False


@dataclass
class CallScope:
    principal: str
    usd_per_day: float | None = None
    spent_before_usd: float = 0.0
    """Spent today before this tool call started (read from the shared ledger)."""
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    records: list[CallRecord] = field(default_factory=list)
    ledger: BudgetLedger | None = None
    """Set when the principal has a daily budget: provider calls reserve and settle through it."""
    notes: list[str] = field(default_factory=list)
    """What went wrong after the answers arrived (a thread or kept result not stored): told with the result."""

    @property
    def spent_usd(self) -> float:
        return self.spent_before_usd + sum(r.cost_usd or 0.0 for r in self.records)

    def check_budget(self) -> None:
        if self.usd_per_day is not None and self.spent_usd >= self.usd_per_day:
            raise budget_error(self.principal, self.spent_usd, self.usd_per_day, self.now)

    def record(
        self,
        ai: str,
        *,
        ok: bool,
        usage: TokenUsage | None,
        cost_usd: float | None,
        partial: bool = False,
        latency_ms: float | None = None,
        sync_fallback: bool = False,
        invalid_output: bool = False,
    ) -> None:
        self.records.append(CallRecord(ai, ok, usage, cost_usd, partial, latency_ms, sync_fallback, invalid_output))


CURRENT_SCOPE: ContextVar[CallScope | None] = ContextVar("junior_ai_call_scope", default=None)


def add_note(note: str) -> None:
    """Tell the current tool call's caller `note` with its result (outside a tool call: nobody to tell)."""
    scope = CURRENT_SCOPE.get()
    if scope is not None and note not in scope.notes:
        scope.notes.append(note)
