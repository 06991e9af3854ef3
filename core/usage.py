"""Token usage per call and running totals per AI."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import SkipJsonSchema


class TokenUsage(BaseModel):
    """What one call (or a sum of calls) consumed, as the provider reported it.

    `completion_tokens` is every output token billed, reasoning included (Gemini reports its thinking apart from
    the answer; we add it in so the two providers mean the same thing). `cached_tokens` is the part of
    `prompt_tokens` read from the provider's prompt cache (billed cheaper) and `reasoning_tokens` the part of
    `completion_tokens` spent thinking.
    """

    model_config = ConfigDict(frozen=True)

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    # In every result, but left out of the published output schemas: each tool's schema costs host context.
    cached_tokens: SkipJsonSchema[int] = 0
    reasoning_tokens: SkipJsonSchema[int] = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )


@dataclass
class AIStats:
    """Running totals for one AI over the life of the process (what `list_ais` reports)."""

    calls: int = 0
    errors: int = 0
    total_latency_ms: float = 0.0
    tokens: TokenUsage = field(default_factory=TokenUsage)
    sync_fallbacks: int = 0
    cost_usd: float = 0.0
    """The sum of the calls whose cost is known."""
    known_cost_calls: int = 0
    unknown_cost_calls: int = 0
    """Answers (whole, or cut off after some text) whose cost could not be worked out: `cost_usd` leaves them
    out, it is not their price."""
    invalid_outputs: int = 0
    """Structured answers (json_schema) that failed validation even after the corrective retry."""

    def record(
        self,
        *,
        ok: bool,
        latency_ms: float,
        usage: TokenUsage | None,
        sync_fallback: bool,
        cost: float | None = None,
        partial: bool = False,
    ) -> None:
        """`partial`: a failed call that had streamed some text first (billed, at a cost nobody reported)."""
        self.calls += 1
        if not ok:
            self.errors += 1
        self.total_latency_ms += latency_ms
        if usage is not None:
            self.tokens = self.tokens + usage
        if sync_fallback:
            self.sync_fallbacks += 1
        if cost is not None:
            self.cost_usd += cost
            self.known_cost_calls += 1
        elif ok or partial:
            self.unknown_cost_calls += 1

    def record_abandoned_partial(self) -> None:
        """A call given up on (the caller's deadline) after it had streamed some text: billed, cost unknown."""
        self.unknown_cost_calls += 1

    @property
    def mean_latency_ms(self) -> float | None:
        return round(self.total_latency_ms / self.calls, 1) if self.calls else None
