"""Per-AI health shared by every replica: the breaker's state and the rpm limiter's schedule in the state seam.

The breaker's decisions stay in `ai.health.CircuitBreaker`; this module only mirrors its state. Failures seen by
any replica add to one shared count; when it reaches the threshold (or a probe fails) an "open" key is written
with the cooldown as its expiry, and every replica that sees the key cools the AI down for the time left. A
success anywhere clears both. The store's own expiry times the cooldown, so replicas need not agree on clocks.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING
from urllib.parse import quote

import anyio

from junior_ai.ai.health import CircuitBreaker
from junior_ai.core.state import StateStore

if TYPE_CHECKING:
    from junior_ai.ai.registry import AIRegistry


class SharedBreaker:
    def __init__(self, breaker: CircuitBreaker, state: StateStore) -> None:
        self.breaker = breaker
        self._state = state
        name = quote(breaker.ai, safe="")
        self._open_key = f"breaker:{name}:open"
        self._failures_key = f"breaker:{name}:failures"
        self._dirty = False  # this replica knows of failures not yet cleared in the shared state

    async def pull(self) -> None:
        """Adopt a cooldown another replica started (before this replica decides whether to call)."""
        raw = await self._state.get(self._open_key)
        breaker = self.breaker
        if raw is None or breaker.state in ("cooling_down", "auth_error"):
            return
        opened = json.loads(raw)
        left = max(0.1, min(breaker.cooldown_s, opened["until"] - time.time()))
        breaker.consecutive_failures = max(breaker.consecutive_failures, int(opened["failures"]))
        breaker.open_until = anyio.current_time() + left
        self._dirty = True

    async def push(self, failures_before: int, *, ok: bool) -> None:
        """Publish what the breaker just recorded: a success clears the shared state, a counted failure adds to
        the shared count and may open the breaker for every replica."""
        breaker = self.breaker
        if ok:
            if self._dirty or failures_before:
                await self._state.delete(self._open_key)
                await self._state.delete(self._failures_key)
                self._dirty = False
            return
        if breaker.consecutive_failures <= failures_before and breaker.state != "cooling_down":
            return  # not counted against the AI's health (our own limits, a caller's mistake)
        self._dirty = True
        total = int(await self._state.incr(self._failures_key, ttl_s=max(breaker.cooldown_s * 10, 600)))
        breaker.consecutive_failures = max(breaker.consecutive_failures, total)
        if breaker.state != "cooling_down" and total >= breaker.threshold:
            breaker.open_until = anyio.current_time() + breaker.cooldown_s
        if breaker.state == "cooling_down":
            opened = {"until": time.time() + breaker.seconds_left(), "failures": breaker.consecutive_failures}
            await self._state.put(self._open_key, json.dumps(opened), ttl_s=max(0.1, breaker.seconds_left()))


def share_health(registry: AIRegistry, state: StateStore) -> None:
    """Route every AI's breaker and rpm limiter of `registry` through `state` (done once, at start)."""
    if not state.shared:
        return
    for entry in registry:
        entry.shared = SharedBreaker(entry.breaker, state)
        entry.health_state = state  # per-model breakers made later are shared too
        entry.rate.state = state
