"""How many calls a batch keeps in flight: as many as asked, never more than the AI's configured limit, halved when
the provider answers 429 and grown back one at a time as calls succeed (additive increase, multiplicative decrease,
as TCP does with its congestion window).

The governor also says what holds it where it is, so a user who asked for 20 and sees 16, or 4, knows why.
"""

from __future__ import annotations

import anyio
from pydantic import BaseModel, ConfigDict, Field

from junior_ai.core.errors import ProviderError, RateLimitedError


class ConcurrencyReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    ai: str
    effective: int = Field(description="Calls in flight allowed at the end of the run.")
    lowest: int = Field(description="The lowest it went (after 429s).")
    limit: int = Field(description="The most this run may use: the request, capped by the AI's max_concurrency.")
    capped_by: str = Field(description="What set `effective`: the request, the AI's limit, or 429 back-off.")
    rate_limited: int = Field(default=0, description="429 answers seen (each halves the concurrency).")


class ConcurrencyGovernor:
    """A gate on calls in flight whose size follows the provider's rate-limit answers.

    A plain counter rather than an `anyio.CapacityLimiter`: the common case (room to spare) then costs no await
    and no bookkeeping per call, which a batch of zero-latency calls notices (profiled). A gate that shrinks below
    the calls already in flight lets them finish and admits no new one until they are under the new size."""

    def __init__(self, ai: str, *, requested: int | None, ai_limit: int) -> None:
        self.ai = ai
        self.ai_limit = ai_limit
        self.requested = requested
        self.limit = min(requested, ai_limit) if requested else ai_limit
        self.effective = self.limit
        self.in_flight = 0
        self.lowest = self.limit
        self.rate_limited = 0
        self._successes = 0
        self._room: anyio.Event | None = None

    async def acquire(self) -> None:
        while self.in_flight >= self.effective:
            if self._room is None:
                self._room = anyio.Event()
            await self._room.wait()
        self.in_flight += 1

    def release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        if self._room is not None:
            self._room.set()
            self._room = None

    def on_attempt_failed(self, error: ProviderError) -> None:
        # Only the provider's own 429 (it has an HTTP status): our rpm limit refusing a slot says nothing of the
        # provider's capacity.
        if isinstance(error, RateLimitedError) and error.http_status is not None:
            self.rate_limited += 1
            self._successes = 0
            self.effective = max(1, self.effective // 2)
            self.lowest = min(self.lowest, self.effective)

    def on_success(self) -> None:
        if self.effective >= self.limit:
            return
        self._successes += 1
        if self._successes >= self.effective:  # about one round of calls at this size went well: one more
            self._successes = 0
            self.effective += 1
            self._wake()

    def capped_by(self) -> str:
        if self.effective < self.limit:
            return f"backing off after {self.rate_limited} rate-limit answer(s) (429) from {self.ai}"
        if self.requested and self.requested > self.ai_limit:
            return f"{self.ai}'s max_concurrency of {self.ai_limit} (asked for {self.requested})"
        if self.requested:
            return "the requested max_concurrency"
        return f"{self.ai}'s max_concurrency"

    def brief(self) -> str:
        """For a progress line: 'concurrency 8/16 (backing off after 429)'."""
        text = f"concurrency {self.effective}/{self.limit}"
        return text + (" (backing off after 429)" if self.effective < self.limit else "")

    def report(self) -> ConcurrencyReport:
        return ConcurrencyReport(
            ai=self.ai,
            effective=self.effective,
            lowest=self.lowest,
            limit=self.limit,
            capped_by=self.capped_by(),
            rate_limited=self.rate_limited,
        )
