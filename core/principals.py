"""Who is calling, and what one tool call of theirs has spent so far.

A principal is a token's name, an OAuth subject, or "local" (stdio, and unauthenticated loopback HTTP). The
server opens a `CallScope` around each tool call; `ai.call` consults it before every provider call (a principal
over its daily budget is refused before anything is sent) and records each call's usage into it.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from junior_ai.core.errors import JuniorAIError
from junior_ai.core.usage import TokenUsage

LOCAL = "local"


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

    @property
    def spent_usd(self) -> float:
        return self.spent_before_usd + sum(r.cost_usd or 0.0 for r in self.records)

    def check_budget(self) -> None:
        if self.usd_per_day is not None and self.spent_usd >= self.usd_per_day:
            reset = next_reset(self.now)
            raise BudgetExceededError(
                f"Budget exceeded: {self.principal} has spent ${self.spent_usd:.4f} of its ${self.usd_per_day:g} "
                f"per day; it resets at {reset:%Y-%m-%d %H:%M} UTC. Ask the server's admin to raise "
                f"settings.principals.{self.principal}.usd_per_day if you need more today.",
                retry_after_s=(reset - self.now).total_seconds(),
            )

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
