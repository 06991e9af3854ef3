"""ask_batch: one template over many items, on one or several AIs — a compact summary plus every item's result as a
JSON-lines resource. Items the deadline cut off are reported as not done, never silently dropped."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import anyio
from pydantic import BaseModel, ConfigDict, Field

from junior_ai.ai.adaptive import ConcurrencyGovernor, ConcurrencyReport
from junior_ai.ai.batch import ItemResult, map_generate_async
from junior_ai.ai.fanout import resolve_ais
from junior_ai.ai.registry import AIRegistry
from junior_ai.ai.template import check_template
from junior_ai.core.errors import InvalidInputError
from junior_ai.core.usage import TokenUsage
from junior_ai.tools.arguments import AskBatchArgs
from junior_ai.tools.output_budget import ResultStore
from junior_ai.tools.results import ProgressFn, render_cost
from junior_ai.tools.validation import check_json_schema

MAX_ITEMS = 10_000


class BatchSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    total: int = Field(description="Items x AIs.")
    counts: dict[str, int] = Field(description="Results by status; not_done: cut off by the deadline.")
    usage: TokenUsage
    cost_usd: float | None = Field(default=None, description="Sum of the items whose cost is known.")
    unknown_cost_calls: int = Field(default=0, description="Answered items whose cost is not known.")
    elapsed_ms: float
    results_uri: str | None = Field(default=None, description="JSON lines: every item's result.")
    failures: list[ItemResult] = Field(default_factory=list, description="The first few failed items.")
    concurrency: list[ConcurrencyReport] = Field(
        default_factory=list, description="Per AI: calls in flight at the end, its limit, and what set it."
    )


def check_batch(template: str, items: Sequence[Any]) -> None:
    check_template(template)
    if not items:
        raise InvalidInputError("items is empty: pass the list of items to run the template over.")
    if len(items) > MAX_ITEMS:
        raise InvalidInputError(
            f"{len(items):,} items is over the {MAX_ITEMS:,} a tool call takes; use `junior-ai batch` for big jobs."
        )


async def ask_batch(
    registry: AIRegistry,
    args: AskBatchArgs,
    *,
    progress: ProgressFn | None = None,
    store: ResultStore | None = None,
) -> BatchSummary:
    template, items, ai, ais, json_schema = args.template, args.items, args.ai, args.ais, args.json_schema
    max_concurrency, deadline_s = args.max_concurrency, args.deadline_s
    check_batch(template, items)
    check_json_schema(json_schema)
    if ai is None and ais is None:
        # Every item on every AI multiplies the cost by the number of AIs: that must be asked for by name.
        registry.require_any()
        raise InvalidInputError(
            "name the AI to run the items on: ai='<name>' (or ais=[...] to run every item on several). "
            f"Configured AIs: {', '.join(registry.names)}."
        )
    if ai is not None and ais is not None:
        raise InvalidInputError("give either ai (one AI) or ais (several), not both.")
    targets = await resolve_ais(registry, [ai] if ai is not None else ais)
    governors = {
        target: ConcurrencyGovernor(
            target, requested=max_concurrency, ai_limit=registry.entry_for(target)[0].config.max_concurrency
        )
        for target in targets
    }
    total = len(items) * len(targets)
    results: dict[tuple[str, int], ItemResult] = {}
    started = time.perf_counter()
    last_report = 0.0

    async def report(result: ItemResult) -> None:
        nonlocal last_report
        results[(result.ai, result.index)] = result
        done = len(results)
        now = time.perf_counter()
        if progress is None or (now - last_report < 0.25 and done < total):
            return
        last_report = now
        rate = done / max(now - started, 1e-6)
        eta = (total - done) / rate if rate else 0.0
        concurrency = "; ".join(g.brief() for g in governors.values())
        await progress(done, total, f"{done}/{total} done, {rate:.1f}/s, {concurrency}, ETA {eta:.0f} s")

    async def run(target: str) -> None:
        async with map_generate_async(
            registry,
            template,
            items,
            target,
            system=args.system,
            temperature=args.temperature,
            max_tokens=args.max_tokens,
            json_schema=json_schema,
            reasoning_effort=args.reasoning_effort,
            max_concurrency=max_concurrency,
            governor=governors[target],
        ) as finished:
            async for result in finished:
                await report(result)

    deadline = deadline_s if deadline_s is not None else registry.config.settings.deadline_s
    with anyio.move_on_after(deadline):
        async with anyio.create_task_group() as tg:
            for target in targets:
                tg.start_soon(run, target)

    everything = [
        results.get((target, index))
        or ItemResult(
            index=index,
            key="",
            ai=target,
            status="cancelled",
            error=f"not done: the deadline of {deadline} s came first",
        )
        for target in targets
        for index in range(len(items))
    ]
    counts = Counter("not_done" if r.status == "cancelled" else r.status for r in everything)
    usage = sum((r.usage for r in everything if r.usage), TokenUsage())
    costs = [r.cost_usd for r in everything if r.cost_usd is not None]
    uri = None
    if store is not None:
        lines = "\n".join(r.model_dump_json(exclude_none=True) for r in everything) + "\n"
        uri = store.put(store.new_id(), "results.jsonl", lines)
    return BatchSummary(
        total=total,
        counts=dict(sorted(counts.items())),
        usage=usage,
        cost_usd=round(sum(costs), 10) if costs else None,
        unknown_cost_calls=sum(1 for r in everything if r.ok and r.cost_usd is None),
        elapsed_ms=(time.perf_counter() - started) * 1000,
        results_uri=uri,
        failures=[r for r in everything if not r.ok][:5],
        concurrency=[g.report() for g in governors.values()],
    )


def render_batch(summary: BatchSummary) -> str:
    counts = ", ".join(f"{status} {count}" for status, count in summary.counts.items())
    lines = [
        f"Batch of {summary.total}: {counts} in {summary.elapsed_ms / 1000:.1f} s; "
        f"{summary.usage.total_tokens} tokens"
        + (f", {cost}" if (cost := render_cost(summary.cost_usd, summary.unknown_cost_calls)) else "")
    ]
    lines.extend(
        f"Concurrency on {c.ai}: {c.effective} at the end (lowest {c.lowest}, limit {c.limit}), set by {c.capped_by}"
        for c in summary.concurrency
    )
    if summary.results_uri:
        lines.append(f"Every item's result (JSON lines): {summary.results_uri}")
    lines.extend(f"- item {f.index} on {f.ai}: {f.status}: {f.error}" for f in summary.failures)
    return "\n".join(lines)
