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
from junior_ai.ai.structured import Checked, check_answer, correction
from junior_ai.ai.translate import timeout_error
from junior_ai.ai.types import AIResponse, GenerateRequest, StreamDelta, StreamEnd
from junior_ai.core.errors import (
    AsyncPathBrokenError,
    BudgetExhaustedError,
    InvalidOutputError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitedError,
    UnavailableError,
)
from junior_ai.core.log import get_logger
from junior_ai.core.principals import CURRENT_SCOPE, BudgetExceededError, CallScope
from junior_ai.core.state import StateUnavailableError
from junior_ai.core.usage import TokenUsage

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
    on_attempt_failed: Callable[[ProviderError], None] | None = None,
) -> AIResponse:
    """Ask one AI, within `timeout_s` in total (default: the AI's configured timeout), retries included.

    With `stream`, text arrives through `on_delta`; `on_retry` is called when an attempt is abandoned, so a
    listener can drop what that attempt streamed. `idle_timeout_s` cuts a stream that goes silent mid-answer.

    Retries 429, 5xx, connection errors, stalled streams and unparseable answers with full-jitter backoff,
    waiting exactly as long as `Retry-After` says when the provider says; gives up at once, rate-limited, if
    that is longer than the time left. Falls back to the sync client in a worker thread when the async path
    is broken. Raises a `ProviderError` (with `.attempts`) or `InvalidInputError` for an unknown AI.
    `on_attempt_failed` sees every failed attempt, retried or not (a batch backs off on each 429 it sees).
    """
    entry, request, budget, policy = await prepare(registry, ai, request, timeout_s, max_attempts, rng)
    breaker, shared = entry.health(request.model)
    ai = entry.name
    scope = CURRENT_SCOPE.get()
    policy.on_failure = on_attempt_failed
    on_delta = _guarded(ai, on_delta)
    on_retry = _guarded_retry(ai, on_retry)
    reservation = await _reserve_budget(registry, entry, request, scope)
    # Taken last before the try: whatever happens from here, the finally clause hands the ticket back.
    try:
        ticket = breaker.before_call()  # a cooling-down or key-rejected AI is not even asked
    except BaseException:
        await _settle_budget(scope, reservation, None)
        raise
    started = time.perf_counter()
    response: AIResponse | None = None
    failure: ProviderError | None = None
    spent: list[AIResponse] = []
    streamed = False  # some text arrived: the call was billed even if it never finished

    async def counted_delta(text: str) -> None:
        nonlocal streamed
        streamed = True
        if on_delta is not None:
            await on_delta(text)

    checked: Checked | None = None
    try:
        with anyio.fail_after(budget):
            end = anyio.current_time() + budget
            answer = await _with_retries(entry, request, end, policy, stream, idle_timeout_s, counted_delta, on_retry)
            spent.append(answer)
            if request.json_schema is not None:
                checked = check_answer(answer.text, request.json_schema)
                if not checked.valid:
                    # Asked once more, showing the AI what was wrong; a second failure is the caller's to see.
                    log.info("invalid_output_retry", ai=ai, errors=checked.errors[:2])
                    if on_retry is not None:
                        on_retry()
                    again = Policy(attempts=policy.attempts, base_delay_s=policy.base_delay_s, rng=policy.rng)
                    retry_request = correction(request, answer.text, checked.errors)
                    answer = await _with_retries(
                        entry, retry_request, end, again, stream, idle_timeout_s, counted_delta, on_retry
                    )
                    spent.append(answer)
                    policy.attempt += again.attempt
                    checked = check_answer(answer.text, request.json_schema)
        latency_ms = (time.perf_counter() - started) * 1000
        usage = sum_usage(spent)
        # Outside the call's timeout: an answer in hand is not lost to a slow first load of the price table.
        cost = await registry.prices.cost_async(
            entry.config,
            usage if all(a.usage_known for a in spent) else None,  # no counts: not known, never free
            request.model or entry.config.model,
            answer.model,
            reported_usd=_sum_reported(spent),
        )
        if checked is not None and not checked.valid:
            invalid = InvalidOutputError(
                f"{ai}'s answer did not match the json_schema, also after being shown what was wrong: "
                f"{checked.errors[0]}. The raw text is in the result; simplify the schema or ask another AI.",
                ai=ai,
                text=answer.text,
                validation_errors=checked.errors,
                attempts=policy.attempt,
                model=answer.model,
            )
            invalid.usage, invalid.cost_usd, invalid.latency_ms = usage, cost.usd, latency_ms
            raise invalid
        response = answer.model_copy(
            update={
                "attempts": policy.attempt,
                "latency_ms": latency_ms,
                "cost_usd": cost.usd,
                "cost_source": cost.source,
                "usage": usage,
                "data": checked.data if checked is not None else None,
            }
        )
    except ProviderError as error:  # before TimeoutError: ProviderTimeoutError is one too, and is already ours
        failure = error
        raise
    except TimeoutError as exc:
        failure = deadline_error(entry, budget, policy.attempt)
        raise failure from exc
    except anyio.get_cancelled_exc_class():
        if streamed:  # the caller gave up mid-answer: text was billed, its cost is not known
            entry.stats.record_abandoned_partial()
        raise
    finally:
        counted = breaker.consecutive_failures
        imposed = failure is not None and caller_imposed_timeout(entry, budget, failure)
        if response is not None:
            breaker.record_success(ticket)
        elif failure is not None and not imposed:
            breaker.record_failure(failure, ticket)
        else:
            # Cancelled by the caller, an exception of ours, or a deadline the caller set shorter than the AI's
            # own: not the AI's failure. The probe flag must still be cleared, or the AI would stay "probing".
            breaker.record_abandoned(ticket)
        if response is not None or failure is not None:
            # what the tools keep as a partial answer: a timed-out stream that had said something
            partial = streamed and failure is not None and failure.status == "timeout"
            if isinstance(failure, InvalidOutputError):
                entry.stats.invalid_outputs += 1
            if shared is not None and not imposed:
                with anyio.CancelScope(shield=True):
                    await shared.push(counted, ok=response is not None)
            elapsed_ms = (time.perf_counter() - started) * 1000
            if scope is not None:
                scope.record(
                    ai,
                    ok=response is not None,
                    usage=response.usage if response else None,
                    cost_usd=response.cost_usd if response else None,
                    partial=partial,
                    latency_ms=elapsed_ms,
                    sync_fallback=bool(response and response.path == "sync_fallback"),
                    invalid_output=isinstance(failure, InvalidOutputError),
                )
            entry.stats.record(
                ok=response is not None,
                latency_ms=elapsed_ms,
                usage=response.usage if response else sum_usage(spent) if spent else None,
                sync_fallback=bool(response and response.path == "sync_fallback"),
                cost=response.cost_usd if response else None,
                partial=partial,
            )
        # The reservation becomes what the answer cost (a failure, or a cancelled stream: no known cost).
        await _settle_budget(scope, reservation, response.cost_usd if response else None)
    return response


async def prepare(
    registry: AIRegistry,
    ai: str,
    request: GenerateRequest,
    timeout_s: float | None,
    max_attempts: int | None,
    rng: random.Random | None,
) -> tuple[AIEntry, GenerateRequest, float, Policy]:
    """What every call starts with: the AI resolved (`name`, `name:model` or an alias), the principal's budget
    and the breaker asked, the time budget and the retry policy. Raises `InvalidInputError`, or a
    `ProviderError` for an AI not to ask."""
    target = registry.resolve(ai)
    entry = registry.get(target.ai)
    if target.model is not None:
        request = request.model_copy(update={"model": target.model})
    await _wait_for_clients(registry, entry)
    if entry.client is None:
        raise UnavailableError(
            f"{entry.name} could not be initialized ({entry.init_error}). Fix its entry in the configuration and "
            "restart; `junior-ai doctor` shows details.",
            ai=entry.name,
            attempts=0,
        )
    scope = CURRENT_SCOPE.get()
    if scope is not None:
        try:
            scope.check_budget()  # a principal over its daily budget is refused before anything is sent
        except BudgetExceededError as error:
            # As a per-AI failure, so a fan-out reports it in each AI's result instead of crashing.
            raise BudgetExhaustedError(
                str(error), ai=entry.name, http_status=None, attempts=0, retry_after_s=error.retry_after_s
            ) from error
    shared = entry.health(request.model)[1]
    if shared is not None:
        await shared.pull()  # a breaker opened by another replica holds here too
    registry.prices.prefetch(entry.config, request.model or entry.config.model)  # loads while the AI answers
    budget = timeout_s if timeout_s is not None else entry.config.timeout_s
    policy = Policy(
        attempts=max_attempts if max_attempts is not None else registry.config.settings.max_attempts,
        base_delay_s=registry.config.settings.retry_base_delay_s,
        rng=rng,
    )
    return entry, request, budget, policy


RESERVED_OUTPUT_TOKENS = 1_000
"""Output tokens a call's budget reservation assumes when the request sets no max_tokens."""


async def _reserve_budget(
    registry: AIRegistry, entry: AIEntry, request: GenerateRequest, scope: CallScope | None
) -> str | None:
    """With a daily budget, reserve this call's likely cost before it is sent (its prompt at about four characters
    a token, plus max_tokens of output, at the model's price; nothing when the price is not known)."""
    if scope is None or scope.ledger is None:
        return None
    model = request.model or entry.config.model
    rate = await registry.prices.rate_async(entry.config, model)  # loads the price table off the event loop
    characters = len(request.system or "") + sum(len(m.content) for m in request.messages)
    output = request.max_tokens or RESERVED_OUTPUT_TOKENS
    estimate = 0.0
    if rate.input_per_million is not None and rate.output_per_million is not None:
        estimate = (max(1, characters // 4) * rate.input_per_million + output * rate.output_per_million) / 1e6
    try:
        return await scope.ledger.reserve(estimate)
    except BudgetExceededError as error:
        raise BudgetExhaustedError(
            str(error), ai=entry.name, http_status=None, attempts=0, retry_after_s=error.retry_after_s
        ) from error


async def _settle_budget(scope: CallScope | None, reservation: str | None, cost_usd: float | None) -> None:
    if scope is not None and scope.ledger is not None and reservation is not None:
        with anyio.CancelScope(shield=True):
            try:
                await scope.ledger.settle(reservation, cost_usd)
            except StateUnavailableError as error:  # the answer is in hand; the reservation's lease runs out
                log.warning("budget_settle_failed", error=str(error))


def sum_usage(responses: list[AIResponse]) -> TokenUsage:
    if len(responses) == 1:
        return responses[0].usage  # the common case: no new model per call
    total = TokenUsage()
    for response in responses:
        total = total + response.usage
    return total


def _sum_reported(responses: list[AIResponse]) -> float | None:
    """The provider's own cost figure for every answer paid for, when it gave one for each."""
    figures = [response.reported_cost_usd for response in responses]
    return sum(f for f in figures if f is not None) if all(f is not None for f in figures) else None


async def _wait_for_clients(registry: AIRegistry, entry: AIEntry) -> None:
    """Wait for this AI's clients, and only this AI's (a call never waits for another provider's SDK to load), for
    at most the AI's configured `timeout_s`. The wait is not taken from the call's own time or deadline: those
    are for the provider's answer."""
    if entry.built.is_set():
        return  # the common case, without a timer and a checkpoint per call (a batch of cheap calls notices)
    budget = entry.config.timeout_s
    with anyio.move_on_after(budget):
        await registry.wait_built([entry.name])
    if entry.state == "starting":
        raise ProviderTimeoutError(
            f"{entry.name} was still starting after {budget:.1f} s: its SDK has not finished loading (a slow disk "
            "or a broken installation). Try again shortly; `junior-ai doctor` checks the installation.",
            ai=entry.name,
            attempts=0,
        )


@dataclass
class Policy:
    attempts: int
    base_delay_s: float
    rng: random.Random | None
    on_failure: Callable[[ProviderError], None] | None = None
    attempt: int = 0


async def _with_retries(
    entry: AIEntry,
    request: GenerateRequest,
    deadline: float,
    policy: Policy,
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
                return await sync_attempt(entry, request, remaining)
            return await _async_attempt(entry, request, remaining, stream, idle_timeout_s or remaining, on_delta)
        except AsyncPathBrokenError as broken:
            log.warning("async_path_broken", ai=ai, error=broken.message, action="sync_fallback")
            use_sync = True
            if on_retry is not None:
                on_retry()
            policy.attempt -= 1  # the broken async path is not the provider's failure; do not spend an attempt
            continue
        except ProviderError as err:
            delay = retry_delay(err, policy, deadline, ai)
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


def retry_delay(err: ProviderError, policy: Policy, deadline: float, ai: str) -> float:
    """How long to wait before the next attempt after `err`; raises (`err`, or rate limited when the provider
    asks for more time than is left) when there should be no next attempt. Must be called in `except`."""
    err.attempts = policy.attempt
    if policy.on_failure is not None:
        policy.on_failure(err)
    if not err.retryable or policy.attempt >= policy.attempts:
        raise err
    left = deadline - anyio.current_time()
    asked = err.retry_after_s if isinstance(err, RateLimitedError) else None
    delay = asked if asked is not None else backoff_delay(policy.attempt, rng=policy.rng, base_s=policy.base_delay_s)
    if delay >= left:
        if asked is not None:
            raise RateLimitedError(
                f"rate limited by {ai}: it asks to wait {asked:.0f} s, more than the "
                f"{max(left, 0):.0f} s left of this call; retry after {asked:.0f} s.",
                ai=ai,
                attempts=policy.attempt,
                retry_after_s=asked,
            ) from err
        raise err
    log.info("retrying", ai=ai, attempt=policy.attempt, status=err.status, delay_s=round(delay, 3))
    return delay


def caller_imposed_timeout(entry: AIEntry, budget: float, failure: ProviderError) -> bool:
    """A timeout under a deadline the caller set shorter than the AI's configured `timeout_s`: it says the
    caller was in a hurry, not that the AI is unwell, so it must not count toward the (shared) breaker; else any
    one principal could cool an AI down for everyone with `timeout_s=0.05`."""
    return failure.status == "timeout" and budget < entry.config.timeout_s


def deadline_error(entry: AIEntry, budget: float, attempts: int) -> ProviderError:
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
    async with _Slot(entry.limiter):
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
            usage_known=end.usage_known,
            reported_cost_usd=end.reported_cost_usd,
            latency_ms=(time.perf_counter() - started) * 1000,
            adaptations=end.adaptations,
        )


class _Slot:
    """`async with limiter`, minus the pass through the event loop anyio's `acquire` makes even when a slot is
    free: one more loop iteration per call, which a batch of fast calls notices (profiled). Waits as usual when
    the AI is at its limit."""

    __slots__ = ("_limiter",)

    def __init__(self, limiter: anyio.CapacityLimiter) -> None:
        self._limiter = limiter

    async def __aenter__(self) -> None:
        try:
            self._limiter.acquire_nowait()
        except anyio.WouldBlock:
            await self._limiter.acquire()

    async def __aexit__(self, *_exc: object) -> None:
        self._limiter.release()


async def sync_attempt(entry: AIEntry, request: GenerateRequest, remaining: float) -> AIResponse:
    assert entry.client is not None
    async with entry.limiter:
        # The sync client carries `remaining` as its own HTTP timeout, so an abandoned thread ends by itself
        # and threads cannot pile up behind a hung provider.
        return await anyio.to_thread.run_sync(
            partial(entry.client.generate_sync, request, timeout_s=remaining), abandon_on_cancel=True
        )
