"""Per-AI health: a circuit breaker for failing AIs, and a request-rate limiter shared by every caller.

Breaker: after `threshold` consecutive failed calls of the retryable kind (rate limited, unavailable, timeout,
unparseable answers — each already retried inside the call), the AI is skipped with status `cooling_down` for
`cooldown_s`; then exactly one probe call is let through: success closes the breaker, failure re-opens it. The probe
flag is cleared however the probe ends; calls that were already in flight when the breaker opened are not the probe,
and their late outcomes change nothing. A 401/403
marks the AI `auth_error` until the server restarts with a corrected configuration: asking again cannot help.

Rate limiter: request starts are spaced at least 60/rpm seconds apart per AI, across all tool calls, so a
configured requests-per-minute is never exceeded in any window.

Both read time through a `Clock` (anyio's by default) so tests can drive cooldowns and spacing by hand instead of
sleeping and measuring wall time on a busy machine.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class CallTicket:
    """What `before_call` decided for one call: whether it is the half-open probe, and the breaker's epoch when it
    started (the epoch changes whenever the breaker opens or closes, so a late result can be told apart)."""

    epoch: int
    probe: bool


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
        self._epoch = 0

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

    def before_call(self) -> CallTicket:
        """Raise instead of calling an AI that is known not to work right now; else the call's ticket, which the
        caller hands back to exactly one of `record_success`, `record_failure` or `record_abandoned`."""
        if self.auth_failure is not None:
            raise AuthError(
                f"{self.auth_failure.message} (Not retried: {self.ai} rejected its key earlier; fix the key and "
                "restart the server.)",
                ai=self.ai,
                http_status=self.auth_failure.http_status,
                attempts=0,
            )
        if self.open_until is None:
            return CallTicket(self._epoch, probe=False)
        left = self.seconds_left()
        if left > 0 or self._probing:
            wait = "once the call testing it returns" if left <= 0 else f"in {max(left, 0.1):.0f} s"
            raise CoolingDownError(
                f"{self.ai} is cooling down after {self.consecutive_failures} failed calls in a row; it will be "
                f"tried again {wait}. Ask another AI meanwhile.",
                ai=self.ai,
                retry_after_s=round(max(left, 0.1), 1),
            )
        self._probing = True  # exactly one probe call after the cooldown; the others keep waiting
        return CallTicket(self._epoch, probe=True)

    def _stale(self, ticket: CallTicket) -> bool:
        # Started before the breaker last opened or closed (e.g. in flight when the cooldown ended): its outcome is
        # old news and must not be mistaken for the probe's.
        return not ticket.probe and ticket.epoch != self._epoch

    def record_success(self, ticket: CallTicket) -> None:
        if ticket.probe:
            self._probing = False
        elif self._stale(ticket):
            return
        if self.open_until is not None:
            self._epoch += 1
        self.consecutive_failures = 0
        self.open_until = None

    def record_failure(self, error: ProviderError, ticket: CallTicket) -> None:
        if ticket.probe:
            self._probing = False  # always cleared, whatever the failure: otherwise the AI is stuck probing
        if isinstance(error, AuthError) and error.key_rejected and error.http_status is not None:
            self.auth_failure = error
            return
        if isinstance(error, CoolingDownError) or (isinstance(error, RateLimitedError) and error.http_status is None):
            return  # raised by us (breaker, our rpm limit) without asking the AI: says nothing of its health
        if not (error.retryable or isinstance(error, ProviderTimeoutError)):
            return  # the caller's mistake (400, blocked) or our own bug, not the AI's health
        if self._stale(ticket):
            return
        self.consecutive_failures += 1
        if ticket.probe or self.consecutive_failures >= self.threshold:
            self.open_until = self.clock.now() + self.cooldown_s
            self._epoch += 1

    def record_abandoned(self, ticket: CallTicket) -> None:
        """The call ended without an answer or a provider failure (cancelled, or an exception of ours)."""
        if ticket.probe:
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
