"""Many prompts to one AI: bounded concurrency, every item accounted for, results as they complete.

`batch_generate_async` takes items (any iterable, consumed lazily, so 100,000 items need no more memory than
`max_concurrency` of them) and delivers one `ItemResult` per item as each finishes: `ok` or the failure's status,
never an exception that sinks the batch. Each call goes through `call_ai_async`, so the AI's retries, timeout,
concurrency limit, rpm limit and circuit breaker all apply. `map_generate_async` renders a template over items.

Oversize items are refused before sending when `max_input_tokens` is given: counted by Gemini's `countTokens`,
estimated (~4 characters a token) for OpenAI-compatible providers, whose APIs have no counting endpoint.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

import anyio
from anyio.abc import ObjectReceiveStream
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from pydantic import BaseModel, ConfigDict, computed_field

from junior_ai.ai.adaptive import ConcurrencyGovernor
from junior_ai.ai.call import call_ai_async
from junior_ai.ai.registry import AIRegistry
from junior_ai.ai.request_options import request_from_prompt
from junior_ai.ai.template import check_template, render
from junior_ai.ai.types import GenerateRequest
from junior_ai.core.errors import CallStatus, InvalidOutputError, ProviderError
from junior_ai.core.usage import TokenUsage


class ItemResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    index: int
    key: str
    ai: str
    status: CallStatus
    text: str | None = None
    error: str | None = None
    latency_ms: float = 0.0
    attempts: int = 0
    usage: TokenUsage | None = None
    cost_usd: float | None = None
    data: Any = None
    """With json_schema: the parsed answer, valid for the schema."""
    validation_errors: list[str] | None = None
    """With status invalid_output: the first ways the answer failed the schema (`text` is the raw answer)."""
    queue_wait_ms: float = 0.0
    """From the item being read to its call starting (waiting for a free worker)."""
    call_ms: float = 0.0
    """The call itself: the AI's own concurrency and rpm limits, retries and the answer."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cost_known(self) -> bool:
        """False when this item's cost is not known: its cost_usd is null, which is not zero."""
        return self.cost_usd is not None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class BatchItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    index: int
    prompt: str | None
    """None when the item could not be rendered (see `error`)."""
    error: str | None = None
    read_at: float = 0.0
    """`time.perf_counter()` when the item was read from the input (for `ItemResult.queue_wait_ms`)."""


def item_key(prompt: str, ai: str) -> str:
    """Identifies an item across runs: the same rendered prompt to the same AI is the same work."""
    return hashlib.sha256(f"{ai}\x00{prompt}".encode()).hexdigest()[:20]


def render_item(template: str, index: int, item: Any) -> BatchItem:
    try:
        return BatchItem(index=index, prompt=render(template, item), read_at=time.perf_counter())
    except KeyError as missing:
        return BatchItem(
            index=index,
            prompt=None,
            error=f"the item has no field {missing.args[0]!r} for the template's {{item.{missing.args[0]}}}",
        )


def render_items(template: str, items: Iterable[Any]) -> Iterable[BatchItem]:
    check_template(template)
    for index, item in enumerate(items):
        yield render_item(template, index, item)


async def render_items_async(template: str, items: AsyncIterable[Any]) -> AsyncIterator[BatchItem]:
    index = 0
    async for item in items:
        yield render_item(template, index, item)
        index += 1


async def count_input_tokens(registry: AIRegistry, ai: str, request: GenerateRequest) -> int:
    entry, _model = registry.entry_for(ai)
    await registry.wait_built([entry.name])
    counter = getattr(entry.client, "count_tokens", None)
    if counter is not None:
        try:
            return int(await counter(request))
        except ProviderError:
            pass  # fall back to the estimate rather than fail the item over a counting hiccup
    text = (request.system or "") + "".join(m.content for m in request.messages)
    return len(text) // 4 + 1


@asynccontextmanager
async def batch_generate_async(
    registry: AIRegistry,
    items: Iterable[BatchItem] | AsyncIterable[BatchItem],
    ai: str,
    *,
    system: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    json_schema: dict[str, Any] | None = None,
    reasoning_effort: str | None = None,
    max_concurrency: int | None = None,
    timeout_s: float | None = None,
    max_input_tokens: int | None = None,
    governor: ConcurrencyGovernor | None = None,
) -> AsyncIterator[BatchResults[ItemResult]]:
    """`async with batch_generate_async(...) as results: async for result in results: ...` — one result per item,
    in completion order. Leaving the block early cancels the calls in flight.

    `max_concurrency` (default: the AI's `max_concurrency`, never above it) is where the batch starts; a 429 from
    the provider halves it and successes grow it back (see `ConcurrencyGovernor`; pass one to read its report).

    A context manager rather than an async generator: the workers' task group must be entered and left by the
    caller's own task, which a generator abandoned mid-iteration cannot promise."""
    entry, _model = registry.entry_for(ai)
    if governor is None:
        governor = ConcurrencyGovernor(ai, requested=max_concurrency, ai_limit=entry.config.max_concurrency)
    workers = governor.limit
    send, receive = anyio.create_memory_object_stream[ItemResult](workers)
    options: dict[str, Any] = {
        "system": system,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "json_schema": json_schema,
        "reasoning_effort": reasoning_effort,
    }
    request_from_prompt("check", **options)  # an unsupported option fails the batch now, not every item
    # Workers take the next item straight from the (lazy) source: only what they hold is ever in memory. No
    # feeder task and queue in between: the hand-off cost a stream send and receive per item (profiled).
    source = _Source(items)

    async def work(results: MemoryObjectSendStream[ItemResult]) -> None:
        async with results:
            while (item := await source.next()) is not None:
                await governor.acquire()
                try:
                    result = await _one(registry, ai, item, options, timeout_s, max_input_tokens, governor)
                finally:
                    governor.release()
                if result.ok:
                    governor.on_success()
                # Mostly there is room (the buffer holds a result per worker).
                await hand_over(results, result)

    async with anyio.create_task_group() as tg:
        async with send:
            for _ in range(workers):
                tg.start_soon(work, send.clone())
        async with receive:
            yield BatchResults(receive)
        tg.cancel_scope.cancel()


T = TypeVar("T")


async def hand_over(send: MemoryObjectSendStream[T], item: T) -> None:
    """`send`, without the pass through the event loop that anyio's `send` makes even when the buffer has room
    (a pass per item held batch workers up, profiled)."""
    try:
        send.send_nowait(item)
    except anyio.WouldBlock:
        await send.send(item)


class BatchResults(ObjectReceiveStream[T]):
    """The results as they finish (`async for result in results`). A result already waiting is handed over at
    once: anyio's memory stream passes through the event loop on every receive, so a consumer that writes each
    result fell a loop pass behind per item, filled the buffer and held the workers up (profiled)."""

    def __init__(self, stream: MemoryObjectReceiveStream[T]) -> None:
        self._stream = stream

    def receive_nowait(self) -> T:
        return self._stream.receive_nowait()

    async def receive(self) -> T:
        try:
            return self._stream.receive_nowait()
        except anyio.WouldBlock:
            return await self._stream.receive()

    async def aclose(self) -> None:
        await self._stream.aclose()


class _Source:
    """The items, handed to whichever worker is free next: pulled lazily, one at a time (no queue between the
    input and the workers, so nothing is read before a worker can take it)."""

    def __init__(self, items: Iterable[BatchItem] | AsyncIterable[BatchItem]) -> None:
        self._async = aiter(items) if isinstance(items, AsyncIterable) else None
        self._sync = iter(items) if not isinstance(items, AsyncIterable) else None
        self._lock = anyio.Lock()
        self._done = False

    async def next(self) -> BatchItem | None:
        if self._sync is not None:
            return next(self._sync, None)
        assert self._async is not None
        async with self._lock:  # an async generator must not be advanced by two tasks at once
            if self._done:
                return None
            try:
                return await anext(self._async)
            except StopAsyncIteration:
                self._done = True
                return None


async def _one(
    registry: AIRegistry,
    ai: str,
    item: BatchItem,
    options: dict[str, Any],
    timeout_s: float | None,
    max_input_tokens: int | None,
    governor: ConcurrencyGovernor,
) -> ItemResult:
    if item.prompt is None:
        return ItemResult(index=item.index, key="", ai=ai, status="bad_request", error=item.error)
    key = item_key(item.prompt, ai)
    request = request_from_prompt(item.prompt, **options)
    waited_ms = (time.perf_counter() - item.read_at) * 1000 if item.read_at else 0.0
    if max_input_tokens is not None:
        tokens = await count_input_tokens(registry, ai, request)
        if tokens > max_input_tokens:
            return ItemResult(
                index=item.index,
                key=key,
                ai=ai,
                status="bad_request",
                error=f"item is {tokens:,} input tokens, over the limit of {max_input_tokens:,}: not sent. "
                "Shorten or split it.",
            )
    started = time.perf_counter()
    try:
        response = await call_ai_async(
            registry, ai, request, timeout_s=timeout_s, on_attempt_failed=governor.on_attempt_failed
        )
    except ProviderError as error:
        call_ms = (time.perf_counter() - started) * 1000
        invalid = error if isinstance(error, InvalidOutputError) else None
        return ItemResult(
            index=item.index,
            key=key,
            ai=ai,
            status=error.status,
            error=error.message,
            attempts=error.attempts,
            latency_ms=waited_ms + call_ms,
            queue_wait_ms=waited_ms,
            call_ms=call_ms,
            text=invalid.text if invalid else None,
            validation_errors=invalid.validation_errors if invalid else None,
            usage=invalid.usage if invalid else None,
            cost_usd=invalid.cost_usd if invalid else None,
        )
    return ItemResult(
        index=item.index,
        key=key,
        ai=ai,
        status="ok",
        text=response.text,
        data=response.data,
        latency_ms=waited_ms + response.latency_ms,
        queue_wait_ms=waited_ms,
        call_ms=response.latency_ms,
        attempts=response.attempts,
        usage=response.usage,
        cost_usd=response.cost_usd,
    )


def map_generate_async(
    registry: AIRegistry, template: str, items: Iterable[Any] | AsyncIterable[Any], ai: str, **options: Any
) -> AbstractAsyncContextManager[BatchResults[ItemResult]]:
    """`batch_generate_async` over `template` rendered for each item (`{item}`, `{item.field}`); the items may
    be any iterable or async iterable, read lazily."""
    rendered = (
        render_items_async(template, items) if isinstance(items, AsyncIterable) else render_items(template, items)
    )
    return batch_generate_async(registry, rendered, ai, **options)
