"""ask_one and ask_many: one AI, or several at once."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ai.call import DeltaCallback, call_ai_async
from ai.fanout import call_multiple_ais
from ai.registry import AIRegistry
from ai.types import CallResult, GenerateRequest, ok_result
from tools.results import AskManyResult, ProgressFn, total_cost, total_usage
from tools.validation import check_json_schema, check_prompt


def build_request(
    prompt: str,
    *,
    system: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    json_schema: dict[str, Any] | None = None,
) -> GenerateRequest:
    return GenerateRequest.from_prompt(
        check_prompt(prompt),
        system=system or None,
        temperature=temperature,
        max_tokens=max_tokens,
        json_schema=check_json_schema(json_schema),
    )


async def ask_one(
    registry: AIRegistry,
    *,
    ai: str,
    prompt: str,
    system: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    json_schema: dict[str, Any] | None = None,
    timeout_s: float | None = None,
    on_delta: DeltaCallback | None = None,
) -> CallResult:
    """Ask one AI. Raises `InvalidInputError` for bad arguments and `ProviderError` when the AI fails."""
    registry.get(ai)  # unknown names fail before any other work, listing the valid ones
    request = build_request(
        prompt, system=system, temperature=temperature, max_tokens=max_tokens, json_schema=json_schema
    )
    response = await call_ai_async(
        registry, ai, request, timeout_s=timeout_s, stream=on_delta is not None, on_delta=on_delta
    )
    return ok_result(ai, response)


async def ask_many(
    registry: AIRegistry,
    *,
    prompt: str,
    ais: Sequence[str] | None = None,
    system: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    json_schema: dict[str, Any] | None = None,
    timeout_s: float | None = None,
    deadline_s: float | None = None,
    min_responses: int | None = None,
    progress: ProgressFn | None = None,
) -> AskManyResult:
    """Ask several AIs concurrently (all ready ones when `ais` is empty); every AI gets a result entry."""
    request = build_request(
        prompt, system=system, temperature=temperature, max_tokens=max_tokens, json_schema=json_schema
    )
    started = time.perf_counter()

    async def report(result: CallResult, done: int, total: int) -> None:
        if progress is not None:
            await progress(done, total, f"{result.ai}: {result.status} ({result.latency_ms:.0f} ms)")

    deadline = deadline_s if deadline_s is not None else registry.config.settings.deadline_s
    results = await call_multiple_ais(
        registry,
        request,
        ais,
        timeout_s=timeout_s,
        deadline_s=deadline,
        min_responses=min_responses,
        on_result=report,
    )
    ok_count = sum(r.ok for r in results)
    return AskManyResult(
        results=results,
        elapsed_ms=(time.perf_counter() - started) * 1000,
        ok_count=ok_count,
        partial=ok_count < len(results),
        usage=total_usage(results),
        cost_usd=total_cost(results),
    )
