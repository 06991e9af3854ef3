"""`JuniorAI.map`: a prompt template over items, built on `ai.batch.map_generate_async`.

Two ways to run it, the same results either way:

- `async for result in jr.map(...)` inside `async with JuniorAI.from_config() as jr`: the workers run in the
  instance's own task group, and this iterator only reads their results from a channel, so leaving the loop
  early (or dropping the iterator) is safe in any task; it cancels the calls in flight.
- `async with jr.map(...) as results: async for result in results`: the workers run in the caller's own task
  (no instance task group needed); leaving the block cancels them at once.

Items are read lazily (any iterable or async iterable). With `ordered=True`, results come in input order: an item
is only read while it is within `reorder_window` of the oldest unfinished one, so the reorder buffer never holds
more than `reorder_window` results, however slow one item is.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import ObjectReceiveStream, TaskGroup

from junior_ai.ai.batch import BatchResults, ItemResult, hand_over, map_generate_async
from junior_ai.ai.registry import AIRegistry
from junior_ai.api_types import MapProgress
from junior_ai.core.errors import InvalidInputError

if TYPE_CHECKING:
    from junior_ai.api import JuniorAI

ProgressCallback = Callable[[MapProgress], Awaitable[None] | None]
"""Called after every finished item; may be a plain function or a coroutine function."""


class _Window:
    """Admits item `index` only while it is fewer than `size` places past the oldest item not yet yielded."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.oldest = 0
        self._moved = anyio.Event()

    async def admit(self, index: int) -> None:
        while index >= self.oldest + self.size:
            await self._moved.wait()

    def advance(self, oldest: int) -> None:
        self.oldest = oldest
        self._moved.set()
        self._moved = anyio.Event()


class MapRun(AsyncIterator[ItemResult]):
    """The results of one `map`, one per item: see the module docstring for the two ways to consume them."""

    def __init__(
        self,
        jr: JuniorAI,
        template: str,
        items: Iterable[Any] | AsyncIterable[Any],
        *,
        ai: str,
        options: dict[str, Any],
        ordered: bool,
        reorder_window: int | None,
        progress: ProgressCallback | None,
        total: int | None,
    ) -> None:
        if not isinstance(template, str) or not template.strip():
            raise InvalidInputError("map needs a prompt template, e.g. 'Summarise: {item}'.")
        if not isinstance(items, Iterable | AsyncIterable) or isinstance(items, str | bytes):
            raise InvalidInputError(
                f"map needs an iterable or async iterable of items, got {type(items).__name__}; "
                "to map over one text, pass [text]."
            )
        concurrency = options.get("max_concurrency")
        if concurrency is not None and (not isinstance(concurrency, int) or concurrency < 1):
            raise InvalidInputError(f"max_concurrency must be a positive integer, got {concurrency!r}.")
        if reorder_window is not None and (not isinstance(reorder_window, int) or reorder_window < 1):
            raise InvalidInputError(f"reorder_window must be a positive integer, got {reorder_window!r}.")
        self._jr = jr
        # The generators below refer to the plan, never to this object: a cycle through this object would keep
        # it alive after a `break` until the cyclic garbage collector runs, and the calls in flight with it.
        self._plan = _Plan(
            template=template,
            items=items,
            ai=ai,
            options=options,
            ordered=ordered,
            window=_Window(reorder_window or max(64, 4 * (concurrency or 16))),
            progress=progress,
            total=total if total is not None else _length(items),
        )
        self._results: AsyncIterator[ItemResult] | None = None
        self._direct: AbstractAsyncContextManager[ObjectReceiveStream[ItemResult]] | None = None

    # --- `async for` directly: workers in the instance's task group ---

    def __aiter__(self) -> MapRun:
        return self

    async def __anext__(self) -> ItemResult:
        if self._results is None:
            self._results = _through_instance(self._jr.task_group(), await self._jr.registry(), self._plan)
        return await self._results.__anext__()

    async def aclose(self) -> None:
        """Stop: cancels the calls in flight. Also what leaving an `async for` early leads to."""
        results = self._results
        if results is not None and hasattr(results, "aclose"):
            await results.aclose()

    # --- `async with jr.map(...) as results`: workers in the caller's task ---

    async def __aenter__(self) -> AsyncIterator[ItemResult]:
        plan = self._plan
        registry = await self._jr.registry()
        self._direct = map_generate_async(registry, plan.template, plan.gated(), plan.ai, **plan.options)
        stream = await self._direct.__aenter__()
        self._results = plan.in_order(stream)
        return self._results

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._direct is not None:
            try:
                await self._direct.__aexit__(exc_type, exc, tb)
            except Exception as error:
                leaf = _unwrapped(error)
                if leaf is error:
                    raise
                raise leaf from None


async def _through_instance(group: TaskGroup, registry: AIRegistry, plan: _Plan) -> AsyncIterator[ItemResult]:
    """Workers in the instance's task group; this generator only reads their results from a channel."""
    # A result per worker fits in the channel: the forwarding task passes results on without waiting for the
    # consumer to take each one (an unbuffered channel cost jr.map ~25% of its throughput against a hand-written
    # loop: the workers' results queued behind one loop pass per item, profiled).
    send, receive = anyio.create_memory_object_stream[ItemResult | Exception](plan.buffer)
    scope = anyio.CancelScope()

    async def run() -> None:
        with scope:
            async with send:
                try:
                    async with map_generate_async(
                        registry, plan.template, plan.gated(), plan.ai, **plan.options
                    ) as results:
                        async for result in results:
                            await hand_over(send, result)
                except Exception as error:  # handed to the consumer, never left to sink the task group
                    await send.send(_unwrapped(error))

    group.start_soon(run)
    try:
        async with receive:
            async for result in plan.in_order(BatchResults(receive)):
                yield result
    finally:
        scope.cancel()


@dataclass
class _Plan:
    """What one map does: the input gating, the ordering and the progress, shared by both ways of running."""

    template: str
    items: Iterable[Any] | AsyncIterable[Any]
    ai: str
    options: dict[str, Any]
    ordered: bool
    window: _Window
    progress: ProgressCallback | None
    total: int | None

    @property
    def buffer(self) -> int:
        """Results the hand-over to the consumer holds: one per worker."""
        concurrency = self.options.get("max_concurrency")
        return concurrency if isinstance(concurrency, int) else 16

    def gated(self) -> Iterable[Any] | AsyncIterable[Any]:
        """The items as the workers read them. Unordered plain items go as they are: the workers take a plain
        iterable without an async generator's lock and loop passes per item (profiled)."""
        if not self.ordered and not isinstance(self.items, AsyncIterable):
            return self.items
        return self._admitted()

    async def _admitted(self) -> AsyncIterator[Any]:
        index = 0
        if isinstance(self.items, AsyncIterable):
            async for item in self.items:
                if self.ordered:
                    await self.window.admit(index)
                yield item
                index += 1
        else:
            for item in self.items:
                if self.ordered:
                    await self.window.admit(index)
                yield item
                index += 1

    async def in_order(self, results: AsyncIterable[ItemResult | Exception]) -> AsyncIterator[ItemResult]:
        started = time.perf_counter()
        done = failed = 0
        waiting: dict[int, ItemResult] = {}
        next_index = 0
        async for result in results:
            if isinstance(result, Exception):
                raise result
            done += 1
            failed += not result.ok
            if self.progress is not None:
                await self._report(MapProgress.at(done, failed, self.total, time.perf_counter() - started))
            if not self.ordered:
                yield result
                continue
            waiting[result.index] = result
            while next_index in waiting:
                ready = waiting.pop(next_index)
                next_index += 1
                self.window.advance(next_index)
                yield ready

    async def _report(self, progress: MapProgress) -> None:
        assert self.progress is not None
        outcome = self.progress(progress)
        if inspect.isawaitable(outcome):
            await outcome


def _unwrapped(error: Exception) -> Exception:
    """The one error inside the task groups' exception groups: the caller's own exception (say, from their item
    generator) comes out as itself, not wrapped twice."""
    while isinstance(error, ExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


def _length(items: object) -> int | None:
    try:
        return len(items)  # type: ignore[arg-type]
    except TypeError:
        return None
