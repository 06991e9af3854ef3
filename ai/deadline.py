"""A fixed point in time shared by the stages of one tool call, and how much of it each stage may still use."""

from __future__ import annotations

import anyio


class Deadline:
    """A fixed point in time, and how much of it each stage may still use."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = anyio.current_time() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - anyio.current_time())
