"""Progress reporting that a host can trust: monotonic values, throttled token updates, and stage messages.

MCP requires each progress value to be larger than the last. For a fan-out the value is "AIs finished" plus
a fraction (< 1) that grows with the text still arriving from the others, so token updates between two
finishes never reach the next whole number and never go backwards.
"""

from __future__ import annotations

import time

from junior_ai.ai.types import CallResult
from junior_ai.tools.output_budget import CHARS_PER_TOKEN
from junior_ai.tools.results import ProgressFn

TOKEN_UPDATE_INTERVAL_S = 0.5


class FanOutProgress:
    def __init__(self, progress: ProgressFn | None, total: int) -> None:
        self._progress = progress
        self._total = total
        self._finished: set[str] = set()
        self._chars: dict[str, int] = {}
        self._last_value = -1.0
        self._last_token_update = 0.0

    def _value(self) -> float:
        in_flight = sum(chars for ai, chars in self._chars.items() if ai not in self._finished)
        tokens = in_flight / CHARS_PER_TOKEN
        return len(self._finished) + 0.99 * tokens / (tokens + 1_000)

    async def _send(self, message: str) -> None:
        value = self._value()
        if self._progress is None or value <= self._last_value:
            return
        self._last_value = value
        await self._progress(value, self._total, message)

    async def finished(self, result: CallResult, _done: int, _total: int) -> None:
        self._finished.add(result.ai)
        tokens = result.usage.completion_tokens if result.usage else None
        detail = f", {tokens} tokens" if tokens is not None else ""
        await self._send(f"{result.ai}: {result.status} ({result.latency_ms:.0f} ms{detail})")

    async def text(self, ai: str, chars: int) -> None:
        self._chars[ai] = chars
        now = time.monotonic()
        if now - self._last_token_update < TOKEN_UPDATE_INTERVAL_S:
            return
        self._last_token_update = now
        streaming = sum(chars for name, chars in self._chars.items() if name not in self._finished)
        await self._send(
            f"{len(self._finished)}/{self._total} done; ~{streaming // CHARS_PER_TOKEN} tokens arriving "
            f"from {sum(1 for n in self._chars if n not in self._finished)} AI(s)"
        )


class TextProgress:
    """For one AI: progress = tokens received so far (total unknown), throttled."""

    def __init__(self, progress: ProgressFn | None, ai: str) -> None:
        self._progress = progress
        self._ai = ai
        self.chars = 0
        self._last_tokens = 0
        self._last_update = 0.0

    def restart(self) -> None:
        self.chars = 0

    async def text(self, piece: str) -> None:
        self.chars += len(piece)
        now = time.monotonic()
        tokens = self.chars // CHARS_PER_TOKEN
        if self._progress is None or now - self._last_update < TOKEN_UPDATE_INTERVAL_S or tokens <= self._last_tokens:
            return
        self._last_update, self._last_tokens = now, tokens
        await self._progress(tokens, None, f"{self._ai}: ~{tokens} tokens received")
