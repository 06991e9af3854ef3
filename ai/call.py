"""call_ai_async: one AI call done properly — deadline, retries, Retry-After, concurrency limit, sync fallback."""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from functools import partial

import anyio
import anyio.to_thread

from junior_ai.ai.registry import AIEntry, AIRegistry
from junior_ai.ai.retry import backoff_delay
from junior_ai.ai.translate import timeout_error
from junior_ai.ai.types import AIResponse, GenerateRequest, StreamDelta, StreamEnd
from junior_ai.core.errors import AsyncPathBrokenError, ProviderError, RateLimitedError, UnavailableError
from junior_ai.core.log import get_logger
from junior_ai.core.principals import CURRENT_SCOPE, BudgetExceededError

log = get_logger(__name__)

DeltaCallback = Callable[[str], Awaitable[None]]
"""Receives each streamed piece of text. After a retry the answer starts again: see `on_retry`."""


async def call_ai_async(
    registry: AIRegistry,
    ai: str,
    request: GenerateRequest,
    *,
    timeout_s: float | None = None,
    max_attempts: int | None = None,
    stream: bool = False,
    idle_timeout_s: float | None = None,
    on_delta: DeltaCallback | None = None,
    on_retry: Callable[[], None] | None = None,
    rng: random.Random | None = None,
) -> AIResponse:
    """Ask one AI, within `timeout_s` in total (default: the AI's configured timeout), retries included.

    With `stream`, text arrives through `on_delta`; `on_retry` is called when an attempt is abandoned, so a
    listener can drop what that attempt streamed. `idle_timeout_s` cuts a stream that goes silent mid-answer.

    Retries 429, 5xx, connection errors, stalled streams and unparseable answers with full-jitter backoff,
    waiting exactly as long as `Retry-After` says when the provider says; gives up at once, rate-limited, if
    that is longer than the time left. Falls back to the sync client in a worker thread when the async path
    is broken. Raises a `ProviderError` (with `.attempts`) or `InvalidInputError` for an unknown AI.
    """
    target = registry.resolve(ai)  # `name`, `name:model` or an alias
    entry = registry.get(target.ai)
    if target.model is not None:
        request = request.model_copy(update={"model": target.model})
    ai = target.ai
    if entry.client is None:
        raise UnavailableError(
            f"{ai} could not be initialized ({entry.init_error}). Fix its entry in the configuration and "
            "restart; `junior-ai doctor` shows details.",
            ai=ai,
            attempts=0,
        )
    scope = CURRENT_SCOPE.get()
    if scope is not None:
        try:
            scope.check_budget()  # a principal over its daily budget is refused before anything is sent
        except BudgetExceededError as error:
            # As a per-AI failure, so a fan-out reports it in each AI's result instead of crashing.
            raise RateLimitedError(
                str(error), ai=ai, http_status=None, attempts=0, retry_after_s=error.retry_after_s
            ) from error
    if entry.shared is not None:
        await entry.shared.pull()  # a breaker opened by another replica holds here too
    on_delta = _guarded(ai, on_delta)
    on_retry = _guarded_retry(ai, on_retry)
    budget = timeout_s if timeout_s is not None else entry.config.timeout_s
    policy = _Policy(
        attempts=max_attempts if max_attempts is not None else registry.config.settings.max_attempts,
        base_delay_s=registry.config.settings.retry_base_delay_s,
        rng=rng,
    )
    registry.prices.prefetch(entry.config, request.model or entry.config.model)  # loads while the AI answers
    # Taken last before the try: whatever happens from here, the finally clause hands the ticket back.
    ticket = entry.breaker.before_call()  # a cooling-down or key-rejected AI is not even asked
    started = time.perf_counter()
    response: AIResponse | None = None
    failure: ProviderError | None = None
    try:
        with anyio.fail_after(budget):
            answer = await _with_retries(
                entry, request, anyio.current_time() + budget, policy, stream, idle_timeout_s, on_delta, on_retry
            )
        latency_ms = (time.perf_counter() - started) * 1000
        # Outside the call's timeout: an answer in hand is not lost to a slow first load of the price table.
        cost = await registry.prices.cost_async(
            entry.config,
            answer.usage,
            request.model or entry.config.model,
            answer.model,
            reported_usd=answer.reported_cost_usd,
        )
        response = answer.model_copy(
            update={
                "attempts": policy.attempt,
                "latency_ms": latency_ms,
                "cost_usd": cost.usd,
                "cost_source": cost.source,
            }
        )
    except TimeoutError as exc:
        failure = _deadline_error(entry, budget, policy.attempt)
        raise failure from exc
    except ProviderError as error:
        failure = error
        raise
    finally:
        counted = entry.breaker.consecutive_failures
        if response is not None:
            entry.breaker.record_success(ticket)
        elif failure is not None:
            entry.breaker.record_failure(failure, ticket)
        else:
            # Cancelled by the caller, or an exception of ours: neither an answer nor the AI's failure. The probe
            # flag must still be cleared, or the AI would stay "probing" until a restart.
            entry.breaker.record_abandoned(ticket)
        if response is not None or failure is not None:
            if entry.shared is not None:
                with anyio.CancelScope(shield=True):
                    await entry.shared.push(counted, ok=response is not None)
            if scope is not None:
                scope.record(
                    ai,
                    ok=response is not None,
                    usage=response.usage if response else None,
                    cost_usd=response.cost_usd if response else None,
                )
            entry.stats.record(
                ok=response is not None,
                latency_ms=(time.perf_counter() - started) * 1000,
                usage=response.usage if response else None,
                sync_fallback=bool(response and response.path == "sync_fallback"),
                cost=response.cost_usd if response else None,
            )
    return response


@dataclass
class _Policy:
    attempts: int
    base_delay_s: float
    rng: random.Random | None
    attempt: int = 0


async def _with_retries(
    entry: AIEntry,
    request: GenerateRequest,
    deadline: float,
    policy: _Policy,
    stream: bool,
    idle_timeout_s: float | None,
    on_delta: DeltaCallback | None,
    on_retry: Callable[[], None] | None,
) -> AIResponse:
    assert entry.client is not None
    ai = entry.name
    use_sync = not entry.client.async_ready
    while True:
        policy.attempt += 1
        await entry.rate.acquire(deadline)  # outside the try: our own limit is not retried
        try:
            remaining = max(0.001, deadline - anyio.current_time())
            if use_sync:
                return await _sync_attempt(entry, request, remaining)
            return await _async_attempt(entry, request, remaining, stream, idle_timeout_s or remaining, on_delta)
        except AsyncPathBrokenError as broken:
            log.warning("async_path_broken", ai=ai, error=broken.message, action="sync_fallback")
            use_sync = True
            if on_retry is not None:
                on_retry()
            policy.attempt -= 1  # the broken async path is not the provider's failure; do not spend an attempt
            continue
        except ProviderError as err:
            err.attempts = policy.attempt
            if not err.retryable or policy.attempt >= policy.attempts:
                raise
            left = deadline - anyio.current_time()
            asked = err.retry_after_s if isinstance(err, RateLimitedError) else None
            delay = (
                asked
                if asked is not None
                else backoff_delay(policy.attempt, rng=policy.rng, base_s=policy.base_delay_s)
            )
            if delay >= left:
                if asked is not None:
                    raise RateLimitedError(
                        f"rate limited by {ai}: it asks to wait {asked:.0f} s, more than the "
                        f"{max(left, 0):.0f} s left of this call; retry after {asked:.0f} s.",
                        ai=ai,
                        attempts=policy.attempt,
                        retry_after_s=asked,
                    ) from err
                raise
            log.info("retrying", ai=ai, attempt=policy.attempt, status=err.status, delay_s=round(delay, 3))
            if on_retry is not None:
                on_retry()  # text streamed by the failed attempt is void
            await anyio.sleep(delay)


def _guarded(ai: str, on_delta: DeltaCallback | None) -> DeltaCallback | None:
    """`on_delta` that can never sink the call: a listener's failure is logged (once per call) and the call goes on.
    The listener keeps receiving later pieces: it may be collecting the text as well as reporting progress."""
    if on_delta is None:
        return None
    listener = on_delta
    logged = False

    async def guarded(piece: str) -> None:
        nonlocal logged
        try:
            await listener(piece)
        except Exception as exc:
            if not logged:
                logged = True
                log.warning("on_delta_failed", ai=ai, error=f"{type(exc).__name__}: {exc}")

    return guarded


def _guarded_retry(ai: str, on_retry: Callable[[], None] | None) -> Callable[[], None] | None:
    if on_retry is None:
        return None
    listener = on_retry

    def guarded() -> None:
        try:
            listener()
        except Exception as exc:
            log.warning("on_retry_failed", ai=ai, error=f"{type(exc).__name__}: {exc}")

    return guarded


def _deadline_error(entry: AIEntry, budget: float, attempts: int) -> ProviderError:
    error = timeout_error(entry.config, budget)
    error.attempts = max(attempts, 1)
    return error


async def _async_attempt(
    entry: AIEntry,
    request: GenerateRequest,
    remaining: float,
    stream: bool,
    idle_timeout_s: float,
    on_delta: DeltaCallback | None,
) -> AIResponse:
    assert entry.client is not None
    async with entry.limiter:
        if not stream:
            return await entry.client.generate(request, timeout_s=remaining)
        started = time.perf_counter()
        pieces: list[str] = []
        end: StreamEnd | None = None
        async with aclosing(
            entry.client.stream(request, timeout_s=remaining, idle_timeout_s=min(idle_timeout_s, remaining))
        ) as events:
            async for event in events:
                if isinstance(event, StreamDelta):
                    pieces.append(event.text)
                    if on_delta is not None:
                        await on_delta(event.text)
                else:
                    end = event
        assert end is not None  # the client contract: a stream ends with StreamEnd or raises
        return AIResponse(
            text="".join(pieces),
            model=end.model,
            finish_reason=end.finish_reason,
            usage=end.usage,
            reported_cost_usd=end.reported_cost_usd,
            latency_ms=(time.perf_counter() - started) * 1000,
            adaptations=end.adaptations,
        )


async def _sync_attempt(entry: AIEntry, request: GenerateRequest, remaining: float) -> AIResponse:
    assert entry.client is not None
    async with entry.limiter:
        # The sync client carries `remaining` as its own HTTP timeout, so an abandoned thread ends by itself
        # and threads cannot pile up behind a hung provider.
        return await anyio.to_thread.run_sync(
            partial(entry.client.generate_sync, request, timeout_s=remaining), abandon_on_cancel=True
        )
