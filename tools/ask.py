"""ask_one and ask_many: one AI, or several at once.

Both stream from the providers: a stalled stream is cut by the idle timeout long before the deadline, progress
reports carry how much text has arrived, and an answer cut off by the deadline is returned as far as it got,
marked partial. Long answers are trimmed to the output budget, the full text kept as a resource.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import Any

from junior_ai.ai.call import call_ai_async
from junior_ai.ai.fanout import call_multiple_ais, resolve_ais
from junior_ai.ai.registry import AIRegistry
from junior_ai.ai.types import CallResult, GenerateRequest, failed_result, ok_result
from junior_ai.core.errors import InvalidOutputError, ProviderTimeoutError
from junior_ai.core.log import get_logger
from junior_ai.core.principals import add_note
from junior_ai.core.state import StateUnavailableError
from junior_ai.tools.arguments import AskManyArgs, AskOneArgs
from junior_ai.tools.context import ContextBundle, load_context, with_context
from junior_ai.tools.jobs import observe
from junior_ai.tools.output_budget import ResultStore, Trimmer
from junior_ai.tools.progress import FanOutProgress, TextProgress
from junior_ai.tools.results import (
    AskManyResult,
    AskOneResult,
    ProgressFn,
    total_cost,
    total_usage,
    unknown_cost_calls,
)
from junior_ai.tools.threads import Thread, ThreadStore
from junior_ai.tools.validation import check_json_schema, check_prompt

log = get_logger(__name__)


def build_request(args: AskOneArgs | AskManyArgs) -> GenerateRequest:
    return GenerateRequest.from_prompt(
        check_prompt(args.prompt),
        system=args.system or None,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        json_schema=check_json_schema(args.json_schema),
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
    args: AskOneArgs,
    *,
    progress: ProgressFn | None = None,
    store: ResultStore | None = None,
    threads: ThreadStore | None = None,
    roots: Sequence[Path] | None = None,
) -> AskOneResult:
    """Ask one AI. Raises `InvalidInputError` for bad arguments and `ProviderError` when the AI fails, except
    that an answer cut off by the deadline comes back as far as it got (status `timeout`, `partial` true), and a
    json_schema answer that failed validation twice comes back with status `invalid_output`, never `ok`."""
    ai, prompt = args.ai, args.prompt
    entry, model = registry.entry_for(ai)  # unknown names fail before any other work, listing the valid ones
    request, bundle = await _with_context(registry, args, roots)
    thread = await _thread(threads, args.thread_id)
    if thread is not None:
        request = request.model_copy(update={"messages": (*thread.history(ai), *request.messages)})
    settings = registry.config.settings
    budget = min(args.timeout_s or entry.config.timeout_s, args.deadline_s or settings.deadline_s)
    streamed = TextProgress(progress, ai)
    pieces: list[str] = []

    async def on_delta(piece: str) -> None:
        pieces.append(piece)
        observe.text(ai, piece)
        await streamed.text(piece)

    def on_retry() -> None:
        pieces.clear()
        observe.restart(ai)
        streamed.restart()

    observe.expect([ai])

    started = time.perf_counter()
    try:
        response = await call_ai_async(
            registry,
            ai,
            request,
            timeout_s=budget,
            stream=settings.stream,
            idle_timeout_s=settings.idle_timeout_s,
            on_delta=on_delta,
            on_retry=on_retry,
        )
    except InvalidOutputError as error:
        # Not a failure of the call: the answer is there, it just is not what the schema asked for.
        result = failed_result(ai, model, error, (time.perf_counter() - started) * 1000)
    except ProviderTimeoutError as error:
        if not pieces:
            raise
        text = "".join(pieces)
        result = CallResult(
            ai=ai,
            model=model,
            status="timeout",
            text=text,
            partial=True,
            latency_ms=(time.perf_counter() - started) * 1000,
            attempts=error.attempts,
            error=f"{error.message} The text is the {len(text)} characters it had written by then.",
        )
    else:
        result = ok_result(ai, response)
        if thread is not None and threads is not None:
            await _kept_in_thread(threads.add_turn(thread, ai, prompt, response.text), thread)
    if thread is not None and threads is not None:
        # No answer to add (cut short, invalid output): its id must still work.
        await _kept_in_thread(threads.keep(thread), thread)
    (trimmed,) = trim_results([result], registry, store)
    return AskOneResult(**trimmed.model_dump(), thread_id=thread.id if thread else None, **_reported(bundle))


async def _kept_in_thread(write: Awaitable[None], thread: Thread) -> None:
    """Store a thread write, best effort: the answers are paid for already, so a store that is gone (Redis lost
    mid-call) costs the thread, not the result; the caller is told with it."""
    try:
        await write
    except StateUnavailableError as error:
        log.warning("thread_write_failed", thread=thread.id, error=str(error))
        add_note(f"this answer could not be added to thread {thread.id}, so continuing it will not include it: {error}")


async def _with_context(
    registry: AIRegistry, args: AskOneArgs | AskManyArgs, roots: Sequence[Path] | None
) -> tuple[GenerateRequest, ContextBundle]:
    """The request with the call's context, read once here (after the cheap argument checks, before any AI)."""
    request = build_request(args)
    bundle = await load_context(
        registry.config, args.files, args.diff, client_roots=roots, prompt_chars=len(args.prompt)
    )
    return with_context(request, bundle, args.reasoning_effort), bundle


def _reported(bundle: ContextBundle) -> dict[str, Any]:
    return {"context": list(bundle.items) or None, "context_skipped": list(bundle.skipped) or None}


async def _thread(threads: ThreadStore | None, thread_id: str | None) -> Thread | None:
    """The thread to continue (or a new one); None when threads are off."""
    if threads is None:
        return None
    if not thread_id:
        return await threads.new()
    thread = await threads.get(thread_id)
    await threads.touch(thread)  # a store that cannot be written fails here, before the provider is paid
    return thread


async def ask_many(
    registry: AIRegistry,
    args: AskManyArgs,
    *,
    progress: ProgressFn | None = None,
    store: ResultStore | None = None,
    threads: ThreadStore | None = None,
    roots: Sequence[Path] | None = None,
) -> AskManyResult:
    """Ask several AIs concurrently (all ready ones when `ais` is omitted); every AI gets a result entry."""
    prompt = args.prompt
    settings = registry.config.settings
    started = time.perf_counter()
    labels = await resolve_ais(registry, args.ais)
    request, bundle = await _with_context(registry, args, roots)
    thread = await _thread(threads, args.thread_id)
    requests = {
        label: request.model_copy(update={"messages": (*thread.history(label), *request.messages)})
        if thread is not None
        else request
        for label in labels
    }
    tracker = FanOutProgress(progress, len(labels))
    observe.expect(labels)

    async def on_result(result: CallResult, done: int, total: int) -> None:
        observe.result(result)
        await tracker.finished(result, done, total)

    async def on_delta(ai: str, piece: str) -> None:
        observe.text(ai, piece)

    results = await call_multiple_ais(
        registry,
        requests,
        None,
        timeout_s=args.timeout_s,
        deadline_s=args.deadline_s if args.deadline_s is not None else settings.deadline_s,
        min_responses=args.min_responses,
        stream=settings.stream,
        idle_timeout_s=settings.idle_timeout_s,
        on_result=on_result,
        on_text=tracker.text,
        on_delta=on_delta,
    )
    if thread is not None and threads is not None:
        for result in results:
            if result.ok and result.text is not None:
                await _kept_in_thread(threads.add_turn(thread, result.ai, prompt, result.text), thread)
        await _kept_in_thread(threads.keep(thread), thread)  # every AI failed: its id must still work
    ok_count = sum(r.ok for r in results)
    return AskManyResult(
        thread_id=thread.id if thread else None,
        results=trim_results(results, registry, store),
        elapsed_ms=(time.perf_counter() - started) * 1000,
        ok_count=ok_count,
        partial=ok_count < len(results),
        usage=total_usage(results),
        cost_usd=total_cost(results),
        unknown_cost_calls=unknown_cost_calls(results),
        **_reported(bundle),
    )
