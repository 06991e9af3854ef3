"""Reading a provider's stream with a clock on it: the first chunk may take as long as the call allows (a model
may think before it writes), after that a silence longer than the idle timeout is a stalled stream."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import TypeVar

import anyio

T = TypeVar("T")


class StreamSilence(Exception):
    """No chunk arrived in time; `first` tells whether the stream had started at all."""

    def __init__(self, first: bool) -> None:
        super().__init__("no chunk before the first-chunk timeout" if first else "stream went silent")
        self.first = first


async def guarded(chunks: AsyncIterator[T], *, first_timeout_s: float, idle_timeout_s: float) -> AsyncGenerator[T]:
    started = False
    while True:
        try:
            with anyio.fail_after(idle_timeout_s if started else first_timeout_s):
                chunk = await chunks.__anext__()
        except StopAsyncIteration:
            return
        except TimeoutError as exc:
            raise StreamSilence(first=not started) from exc
        started = True
        yield chunk  # outside the cancel scope: never yield inside one
