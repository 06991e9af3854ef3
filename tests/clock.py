"""A clock the test drives by hand, for the breaker's cooldowns and the rpm limiter's spacing.

It starts at anyio's current time, so deadlines computed by `call_ai_async` (on anyio's clock) and the component's
own view of time agree. `sleep(s)` does not wait: it moves the clock to the sleeper's wake-up time, records it,
and yields once, so concurrent sleepers wake in their order and the test reads what the component decided.
"""

from __future__ import annotations

import anyio
import anyio.lowlevel

from junior_ai.ai.health import CircuitBreaker, RateLimiter
from junior_ai.ai.registry import AIRegistry


class ManualClock:
    def __init__(self, start: float | None = None) -> None:
        self.time = anyio.current_time() if start is None else start
        self.wakeups: list[float] = []

    def now(self) -> float:
        return self.time

    def advance(self, seconds: float) -> None:
        self.time += seconds

    async def sleep(self, seconds: float) -> None:
        wake = self.time + max(seconds, 0.0)
        self.time = max(self.time, wake)
        self.wakeups.append(wake)
        await anyio.lowlevel.checkpoint()


def drive_health_by(registry: AIRegistry, clock: ManualClock) -> None:
    """Give every AI of `registry` a breaker and an rpm limiter that read `clock` (same settings as built)."""
    for entry in registry:
        entry.breaker = CircuitBreaker(
            entry.name, threshold=entry.breaker.threshold, cooldown_s=entry.breaker.cooldown_s, clock=clock
        )
        rate = RateLimiter(entry.name, entry.config.rpm, clock=clock)
        rate.state = entry.rate.state  # shared (replica) state, if the registry was given one
        entry.rate = rate
