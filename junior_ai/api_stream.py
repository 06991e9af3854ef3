"""`JuniorAI.stream`'s iterator: text pieces out, the whole `Answer` kept for after the loop.

It wraps a pull-based event generator (`ai.stream_call.stream_ai_async`): nothing is read from the provider until
the consumer asks for the next piece. Leaving the loop early drops this object, and with it the generator; the
event loop's async-generator finalizer then closes it, which closes the provider's HTTP stream. `aclose()` (or
`async with jr.stream(...) as pieces`) does the same deterministically.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from types import TracebackType
from typing import Any

from junior_ai.ai.types import AIResponse, StreamDelta
from junior_ai.api_types import Answer


class RestartCounter:
    """Counts restarts and tells the caller's callback. A separate object, not a method of the stream: the event
    generator must not refer back to the stream, or the two would form a cycle that only the cyclic garbage
    collector frees, and leaving a loop early would no longer close the provider request at once."""

    def __init__(self, on_restart: Callable[[], None] | None) -> None:
        self.count = 0
        self._on_restart = on_restart

    def __call__(self) -> None:
        self.count += 1
        if self._on_restart is not None:
            self._on_restart()


class AnswerStream(AsyncIterator[str]):
    """`async for piece in stream` yields `str`; afterwards `stream.answer` is the whole `Answer`."""

    def __init__(self, ai: str, restarts: RestartCounter) -> None:
        self.ai = ai
        self.answer: Answer | None = None
        """Set when the stream has finished: the full text, usage, cost, latency, attempts."""
        self._restarts = restarts
        self._events: AsyncGenerator[Any] | None = None

    @property
    def restarts(self) -> int:
        """With `restart_ok=True`: how many times the answer started again after a failure mid-answer."""
        return self._restarts.count

    def attach(self, events: AsyncGenerator[Any]) -> None:
        self._events = events

    def __aiter__(self) -> AnswerStream:
        return self

    async def __anext__(self) -> str:
        assert self._events is not None
        while True:
            event = await self._events.__anext__()
            if isinstance(event, StreamDelta):
                if event.text:
                    return event.text
                continue
            if isinstance(event, AIResponse):
                self.answer = Answer(
                    ai=self.ai,
                    model=event.model,
                    text=event.text,
                    usage=event.usage,
                    cost_usd=event.cost_usd,
                    latency_ms=event.latency_ms,
                    attempts=event.attempts,
                    finish_reason=event.finish_reason,
                    adaptations=list(event.adaptations),
                )

    async def aclose(self) -> None:
        """Stop reading and close the provider request; calling it again does nothing."""
        if self._events is not None:
            await self._events.aclose()

    async def __aenter__(self) -> AnswerStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
