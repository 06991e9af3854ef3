"""Per-AI health: a circuit breaker for failing AIs, and a request-rate limiter shared by every caller.

Breaker: after `threshold` consecutive failed calls of the retryable kind (rate limited, unavailable, timeout,
unparseable answers — each already retried inside the call), the AI is skipped with status `cooling_down` for
`cooldown_s`; then one probe call is let through: success closes the breaker, failure re-opens it. A 401/403
marks the AI `auth_error` until the server restarts with a corrected configuration: asking again cannot help.

Rate limiter: request starts are spaced at least 60/rpm seconds apart per AI, across all tool calls, so a
configured requests-per-minute is never exceeded in any window.

Both read time through a `Clock` (anyio's by default) so tests can drive cooldowns and spacing by hand instead of
sleeping and measuring wall time on a busy machine.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import quote

import anyio

from junior_ai.core.errors import AuthError, CoolingDownError, ProviderError, ProviderTimeoutError, RateLimitedError
from junior_ai.core.state import StateStore


class Clock(Protocol):
    """Where the breaker and the limiter get the time; `now()` is on anyio's clock (the one deadlines use)."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class AnyioClock:
    def now(self) -> float:
        return anyio.current_time()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


ANYIO_CLOCK = AnyioClock()


class CircuitBreaker:
    def __init__(self, ai: str, *, threshold: int, cooldown_s: float, clock: Clock = ANYIO_CLOCK) -> None:
        self.ai = ai
        self.clock = clock
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self.consecutive_failures = 0
        self.open_until: float | None = None
        self.auth_failure: AuthError | None = None
        self._probing = False

    @property
    def state(self) -> str:
        if self.auth_failure is not None:
            return "auth_error"
        if self.open_until is None:
            return "healthy"
        return "cooling_down" if self.clock.now() < self.open_until else "probing"

    def seconds_left(self) -> float:
        if self.open_until is None:
            return 0.0
        return max(0.0, self.open_until - self.clock.now())

    def before_call(self) -> None:
        """Raise instead of calling an AI that is known not to work right now."""
        if self.auth_failure is not None:
            raise AuthError(
                f"{self.auth_failure.message} (Not retried: {self.ai} rejected its key earlier; fix the key and "
                "restart the server.)",
                ai=self.ai,
                http_status=self.auth_failure.http_status,
                attempts=0,
            )
        if self.open_until is None:
            return
        left = self.seconds_left()
        if left > 0 or self._probing:
            raise CoolingDownError(
                f"{self.ai} is cooling down after {self.consecutive_failures} failed calls in a row; it will be "
                f"tried again in {max(left, 0.1):.0f} s. Ask another AI meanwhile.",
                ai=self.ai,
                retry_after_s=round(max(left, 0.1), 1),
            )
        self._probing = True  # one probe call after the cooldown; the others keep waiting

    def record_success(self) -> None:
        self.consecutive_failures = 0
        self.open_until = None
        self._probing = False

    def record_failure(self, error: ProviderError) -> None:
        was_probe, self._probing = self._probing, False
        if isinstance(error, AuthError) and error.http_status in (401, 403):
            self.auth_failure = error
            return
        if isinstance(error, CoolingDownError) or (isinstance(error, RateLimitedError) and error.http_status is None):
            return  # raised by us (breaker, our rpm limit) without asking the AI: says nothing of its health
        if not (error.retryable or isinstance(error, ProviderTimeoutError)):
            return  # the caller's mistake (400, blocked), not the AI's health
        self.consecutive_failures += 1
        if was_probe or self.consecutive_failures >= self.threshold:
            self.open_until = self.clock.now() + self.cooldown_s

    def record_abandoned(self) -> None:
        self._probing = False


class RateLimiter:
    """Spaces request starts at least `60 / rpm` seconds apart (no bursts)."""

    def __init__(self, ai: str, rpm: int | None, *, clock: Clock = ANYIO_CLOCK) -> None:
        self.ai = ai
        self.clock = clock
        self.interval = 60.0 / rpm if rpm else 0.0
        self._next_slot = 0.0
        self.state: StateStore | None = None
        """Shared state (set for replicas): the schedule lives there, so N replicas share one rpm."""

    async def acquire(self, deadline: float) -> float:
        """Wait for this request's slot; give up at once (rate limited) if it comes after `deadline`. Returns the
        start time granted (the limiter's own decision, which tests check instead of arrival times)."""
        now = self.clock.now()
        if not self.interval:
            return now
        if self.state is not None:
            wait = await self.state.reserve_slot(f"rpm:{quote(self.ai, safe='')}", self.interval, deadline - now)
            if wait is None:
                raise RateLimitedError(
                    f"{self.ai} is held to {60 / self.interval:.0f} requests per minute (its rpm setting, shared by "
                    "every replica); the next free slot is after this call's deadline.",
                    ai=self.ai,
                    http_status=None,
                    retry_after_s=round(self.interval, 1),
                )
            await self.clock.sleep(wait)
            return now + wait
        slot = max(now, self._next_slot)
        if slot > deadline:
            raise RateLimitedError(
                f"{self.ai} is held to {60 / self.interval:.0f} requests per minute (its rpm setting); the next "
                f"free slot is in {slot - now:.1f} s, after this call's deadline.",
                ai=self.ai,
                http_status=None,
                retry_after_s=round(slot - now, 1),
            )
        self._next_slot = slot + self.interval
        await self.clock.sleep(slot - now)
        return slot
