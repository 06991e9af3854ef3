"""What the library API returns: `Answer` for one call, `MapProgress` for a running map. The fan-out, map and
consensus results are the same types the MCP tools return (`AskManyResult`, `ItemResult`, `ConsensusResult`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from junior_ai.ai.types import CallResult
from junior_ai.core.usage import TokenUsage


class Answer(BaseModel):
    """One AI's successful answer."""

    model_config = ConfigDict(frozen=True)

    ai: str
    model: str
    text: str
    data: Any = None
    """With `json_schema`: the parsed answer, validated against the schema."""
    usage: TokenUsage = TokenUsage()
    cost_usd: float | None = None
    """USD for this call when the model has a price configured; None otherwise."""
    latency_ms: float = 0.0
    attempts: int = 1
    finish_reason: str | None = None
    adaptations: list[str] = Field(default_factory=list)
    """Parameters sent differently than asked because the model requires it (see `ai/adapt.py`)."""

    @classmethod
    def from_result(cls, result: CallResult) -> Answer:
        return cls(
            ai=result.ai,
            model=result.model,
            text=result.text or "",
            data=result.data,
            usage=result.usage or TokenUsage(),
            cost_usd=result.cost_usd,
            latency_ms=result.latency_ms,
            attempts=result.attempts,
            finish_reason=result.finish_reason,
            adaptations=list(result.adaptations),
        )


@dataclass(frozen=True)
class MapProgress:
    """How far a `map` has got, passed to its `progress` callback after every item."""

    done: int
    failed: int
    total: int | None
    """None when the items' count is not known (a generator) and no `total=` was given."""
    elapsed_s: float
    rate_per_s: float
    eta_s: float | None
    """Seconds left at the current rate; None while the total or the rate is unknown."""

    @classmethod
    def at(cls, done: int, failed: int, total: int | None, elapsed_s: float) -> MapProgress:
        rate = done / elapsed_s if elapsed_s > 0 else 0.0
        eta = (total - done) / rate if total is not None and rate > 0 else None
        return cls(done=done, failed=failed, total=total, elapsed_s=elapsed_s, rate_per_s=rate, eta_s=eta)
