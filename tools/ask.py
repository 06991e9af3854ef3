"""ask_one and ask_many: one AI, or several at once.

Both stream from the providers: a stalled stream is cut by the idle timeout long before the deadline, progress
reports carry how much text has arrived, and an answer cut off by the deadline is returned as far as it got,
marked partial. Long answers are trimmed to the output budget, the full text kept as a resource.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ai.call import call_ai_async
from ai.fanout import call_multiple_ais
from ai.registry import AIRegistry
from ai.types import CallResult, GenerateRequest, ok_result
from core.errors import ProviderTimeoutError
from tools.output_budget import ResultStore, Trimmer
from tools.progress import FanOutProgress, TextProgress
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


def trim_results(results: list[CallResult], registry: AIRegistry, store: ResultStore | None) -> list[CallResult]:
    if store is None:
        return results
    trimmer = Trimmer(store, registry.config.settings.output_budget_tokens, len(results))
    trimmed = []
    for result in results:
        text, uri = trimmer.fit(result.ai, result.text)
        trimmed.append(result if uri is None else result.model_copy(update={"text": text, "full_text_uri": uri}))
    return trimmed


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
    deadline_s: float | None = None,
    progress: ProgressFn | None = None,
    store: ResultStore | None = None,
) -> CallResult:
    """Ask one AI. Raises `InvalidInputError` for bad arguments and `ProviderError` when the AI fails, except
    that an answer cut off by the deadline comes back as far as it got (status `timeout`, `partial` true)."""
    entry = registry.get(ai)  # unknown names fail before any other work, listing the valid ones
    request = build_request(
        prompt, system=system, temperature=temperature, max_tokens=max_tokens, json_schema=json_schema
    )
    settings = registry.config.settings
    budget = min(timeout_s or entry.config.timeout_s, deadline_s or settings.deadline_s)
    streamed = TextProgress(progress, ai)
    pieces: list[str] = []

    async def on_delta(piece: str) -> None:
        pieces.append(piece)
        await streamed.text(piece)

    def on_retry() -> None:
        pieces.clear()
        streamed.restart()

    started = time.perf_counter()
    try:
        response = await call_ai_async(
            registry,
            ai,
            request,
            timeout_s=budget,
            stream=True,
            idle_timeout_s=settings.idle_timeout_s,
            on_delta=on_delta,
            on_retry=on_retry,
        )
    except ProviderTimeoutError as error:
        if not pieces:
            raise
        text = "".join(pieces)
        result = CallResult(
            ai=ai,
            model=request.model or entry.config.model,
            status="timeout",
            text=text,
            partial=True,
            latency_ms=(time.perf_counter() - started) * 1000,
            attempts=error.attempts,
            error=f"{error.message} The text is the {len(text)} characters it had written by then.",
        )
    else:
        result = ok_result(ai, response)
    return trim_results([result], registry, store)[0]


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
    store: ResultStore | None = None,
) -> AskManyResult:
    """Ask several AIs concurrently (all ready ones when `ais` is empty); every AI gets a result entry."""
    request = build_request(
        prompt, system=system, temperature=temperature, max_tokens=max_tokens, json_schema=json_schema
    )
    settings = registry.config.settings
    started = time.perf_counter()
    expected = len(ais) if ais else len(registry.ready_names())
    tracker = FanOutProgress(progress, expected)
    results = await call_multiple_ais(
        registry,
        request,
        ais,
        timeout_s=timeout_s,
        deadline_s=deadline_s if deadline_s is not None else settings.deadline_s,
        min_responses=min_responses,
        stream=True,
        idle_timeout_s=settings.idle_timeout_s,
        on_result=tracker.finished,
        on_text=tracker.text,
    )
    ok_count = sum(r.ok for r in results)
    return AskManyResult(
        results=trim_results(results, registry, store),
        elapsed_ms=(time.perf_counter() - started) * 1000,
        ok_count=ok_count,
        partial=ok_count < len(results),
        usage=total_usage(results),
        cost_usd=total_cost(results),
    )
