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
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from pydantic import BaseModel, ConfigDict, computed_field

from junior_ai.ai.call import call_ai_async
from junior_ai.ai.registry import AIRegistry
from junior_ai.ai.template import check_template, render
from junior_ai.ai.types import GenerateRequest
from junior_ai.core.errors import CallStatus, ProviderError
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


def item_key(prompt: str, ai: str) -> str:
    """Identifies an item across runs: the same rendered prompt to the same AI is the same work."""
    return hashlib.sha256(f"{ai}\x00{prompt}".encode()).hexdigest()[:20]


def render_items(template: str, items: Iterable[Any]) -> Iterable[BatchItem]:
    check_template(template)
    for index, item in enumerate(items):
        try:
            yield BatchItem(index=index, prompt=render(template, item))
        except KeyError as missing:
            yield BatchItem(
                index=index,
                prompt=None,
                error=f"the item has no field {missing.args[0]!r} for the template's {{item.{missing.args[0]}}}",
            )


async def count_input_tokens(registry: AIRegistry, ai: str, request: GenerateRequest) -> int:
    entry, _model = registry.entry_for(ai)
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
    items: Iterable[BatchItem],
    ai: str,
    *,
    system: str | None = None,
    json_schema: dict[str, Any] | None = None,
    max_concurrency: int | None = None,
    timeout_s: float | None = None,
    max_input_tokens: int | None = None,
) -> AsyncIterator[MemoryObjectReceiveStream[ItemResult]]:
    """`async with batch_generate_async(...) as results: async for result in results: ...` — one result per item,
    in completion order. Leaving the block early cancels the calls in flight.

    A context manager rather than an async generator: the workers' task group must be entered and left by the
    caller's own task, which a generator abandoned mid-iteration cannot promise."""
    entry, _model = registry.entry_for(ai)
    workers = max_concurrency or entry.config.max_concurrency
    send, receive = anyio.create_memory_object_stream[ItemResult](workers)
    queue_send, queue_receive = anyio.create_memory_object_stream[BatchItem](0)

    async def feed(out: MemoryObjectSendStream[BatchItem]) -> None:
        async with out:
            for item in items:  # lazily: only what the workers can take is ever in memory
                await out.send(item)

    async def work(jobs: MemoryObjectReceiveStream[BatchItem], results: MemoryObjectSendStream[ItemResult]) -> None:
        async with jobs, results:
            async for item in jobs:
                await results.send(await _one(registry, ai, item, system, json_schema, timeout_s, max_input_tokens))

    async with anyio.create_task_group() as tg:
        tg.start_soon(feed, queue_send)
        async with send:
            for _ in range(workers):
                tg.start_soon(work, queue_receive.clone(), send.clone())
        queue_receive.close()
        async with receive:
            yield receive
        tg.cancel_scope.cancel()


async def _one(
    registry: AIRegistry,
    ai: str,
    item: BatchItem,
    system: str | None,
    json_schema: dict[str, Any] | None,
    timeout_s: float | None,
    max_input_tokens: int | None,
) -> ItemResult:
    if item.prompt is None:
        return ItemResult(index=item.index, key="", ai=ai, status="bad_request", error=item.error)
    key = item_key(item.prompt, ai)
    request = GenerateRequest.from_prompt(item.prompt, system=system, json_schema=json_schema)
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
        response = await call_ai_async(registry, ai, request, timeout_s=timeout_s)
    except ProviderError as error:
        return ItemResult(
            index=item.index,
            key=key,
            ai=ai,
            status=error.status,
            error=error.message,
            attempts=error.attempts,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
    return ItemResult(
        index=item.index,
        key=key,
        ai=ai,
        status="ok",
        text=response.text,
        latency_ms=response.latency_ms,
        attempts=response.attempts,
        usage=response.usage,
        cost_usd=response.cost_usd,
    )


def map_generate_async(
    registry: AIRegistry, template: str, items: Iterable[Any], ai: str, **options: Any
) -> AbstractAsyncContextManager[MemoryObjectReceiveStream[ItemResult]]:
    """`batch_generate_async` over `template` rendered for each item (`{item}`, `{item.field}`)."""
    return batch_generate_async(registry, render_items(template, items), ai, **options)
