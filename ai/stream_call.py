"""stream_ai_async: one AI's answer as it is written, pulled by the caller, under the policy of `call_ai_async`.

Pull, not push: each piece is read from the provider when the caller asks for the next one, so a slow consumer
slows the reading (the HTTP stream's own buffers are the only buffering) and no task runs behind the caller's
back. That is also what makes leaving early safe: closing the generator (or dropping it, which the event loop's
async-generator finalizer turns into a close) closes the provider request, and nothing in here holds a cancel
scope across a `yield`.

The same deadline (one budget for everything, retries included), retries, rpm limit, per-AI concurrency limit,
circuit breaker and idle timeout apply as for `call_ai_async`. A retry before the first piece is invisible. After
it, the text already handed out cannot be taken back: the failure is raised, unless `restart_ok` is set, in which
case the answer starts again from its beginning and `on_restart` is told first.
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing

import anyio

from junior_ai.ai.call import Policy, caller_imposed_timeout, deadline_error, prepare, retry_delay, sync_attempt
from junior_ai.ai.health import CallTicket, CircuitBreaker
from junior_ai.ai.registry import AIEntry, AIRegistry
from junior_ai.ai.types import AIResponse, GenerateRequest, StreamDelta, StreamEnd
from junior_ai.core.errors import AsyncPathBrokenError, InvalidInputError, ProviderError, UnavailableError
from junior_ai.core.log import get_logger

log = get_logger(__name__)


async def stream_ai_async(
    registry: AIRegistry,
    ai: str,
    request: GenerateRequest,
    *,
    timeout_s: float | None = None,
    idle_timeout_s: float | None = None,
    max_attempts: int | None = None,
    restart_ok: bool = False,
    on_restart: Callable[[], None] | None = None,
    rng: random.Random | None = None,
) -> AsyncGenerator[StreamDelta | AIResponse]:
    """Yields `StreamDelta`s as the text arrives, then one `AIResponse` for the whole answer (usage, cost,
    attempts, latency). Raises `InvalidInputError` before anything is sent, else a `ProviderError`."""
    if request.json_schema is not None:
        raise InvalidInputError("json_schema is not supported when streaming: use ask() to get validated data.")
    entry, request, budget, policy = await prepare(registry, ai, request, timeout_s, max_attempts, rng)
    deadline = anyio.current_time() + budget
    idle = idle_timeout_s if idle_timeout_s is not None else registry.config.settings.idle_timeout_s
    started = time.perf_counter()
    settled = False
    breaker = entry.health(request.model)[0]
    ticket = breaker.before_call()  # a cooling-down or key-rejected AI is not even asked
    try:
        try:
            attempts = _attempts(entry, request, deadline, policy, idle, restart_ok, on_restart)
            async with aclosing(attempts) as events:
                async for event in events:
                    if isinstance(event, AIResponse):
                        settled = True
                        yield await _settle(registry, entry, request, event, policy.attempt, started, breaker, ticket)
                    else:
                        yield event
        except TimeoutError as exc:
            if isinstance(exc, ProviderError):
                raise
            raise deadline_error(entry, budget, policy.attempt) from exc
    except ProviderError as failure:
        settled = True
        if caller_imposed_timeout(entry, budget, failure):
            breaker.record_abandoned(ticket)  # the caller's short deadline, not the AI's health
        else:
            breaker.record_failure(failure, ticket)
        entry.stats.record(ok=False, latency_ms=(time.perf_counter() - started) * 1000, usage=None, sync_fallback=False)
        raise
    finally:
        if not settled:
            breaker.record_abandoned(ticket)  # the caller left early or was cancelled: not the AI's failure


async def _settle(
    registry: AIRegistry,
    entry: AIEntry,
    request: GenerateRequest,
    answer: AIResponse,
    attempts: int,
    started: float,
    breaker: CircuitBreaker,
    ticket: CallTicket,
) -> AIResponse:
    latency = (time.perf_counter() - started) * 1000
    cost = await registry.prices.cost_async(
        entry.config,
        answer.usage if answer.usage_known else None,  # no counts: not known, never priced as free
        request.model or entry.config.model,
        answer.model,
        reported_usd=answer.reported_cost_usd,
    )
    breaker.record_success(ticket)
    entry.stats.record(
        ok=True, latency_ms=latency, usage=answer.usage, sync_fallback=answer.path == "sync_fallback", cost=cost.usd
    )
    return answer.model_copy(
        update={"attempts": attempts, "latency_ms": latency, "cost_usd": cost.usd, "cost_source": cost.source}
    )


async def _attempts(
    entry: AIEntry,
    request: GenerateRequest,
    deadline: float,
    policy: Policy,
    idle_timeout_s: float,
    restart_ok: bool,
    on_restart: Callable[[], None] | None,
) -> AsyncGenerator[StreamDelta | AIResponse]:
    assert entry.client is not None
    use_sync = not entry.client.async_ready
    delivered = False  # has any text of this answer been handed out?
    while True:
        policy.attempt += 1
        await entry.rate.acquire(deadline)
        borrower = object()  # the token is released by whichever task closes this generator
        with anyio.fail_after(max(0.0, deadline - anyio.current_time())):
            await entry.limiter.acquire_on_behalf_of(borrower)
        try:
            if delivered:
                delivered = False
                if on_restart is not None:
                    on_restart()
            if use_sync:
                answer = await sync_attempt(entry, request, max(0.001, deadline - anyio.current_time()))
                delivered = True
                yield StreamDelta(text=answer.text)
                yield answer
                return
            async with aclosing(_one_stream(entry, request, deadline, idle_timeout_s)) as events:
                async for event in events:
                    delivered = delivered or isinstance(event, StreamDelta)
                    yield event
            return
        except AsyncPathBrokenError as broken:
            if delivered and not restart_ok:
                raise UnavailableError(
                    f"{entry.name} failed mid-answer ({broken.message}).", ai=entry.name, attempts=policy.attempt
                ) from broken
            log.warning("async_path_broken", ai=entry.name, error=broken.message, action="sync_fallback")
            use_sync = True
            policy.attempt -= 1  # not the provider's failure
        except ProviderError as err:
            if delivered and not restart_ok:
                err.attempts = policy.attempt
                raise  # text already handed out cannot be taken back
            delay = retry_delay(err, policy, deadline, entry.name)
            await anyio.sleep(delay)
        finally:
            entry.limiter.release_on_behalf_of(borrower)


async def _one_stream(
    entry: AIEntry, request: GenerateRequest, deadline: float, idle_timeout_s: float
) -> AsyncGenerator[StreamDelta | AIResponse]:
    """One attempt: the client's stream read piece by piece, each read bounded by what is left of the deadline."""
    assert entry.client is not None
    started = time.perf_counter()
    remaining = max(0.001, deadline - anyio.current_time())
    events = entry.client.stream(request, timeout_s=remaining, idle_timeout_s=min(idle_timeout_s, remaining))
    pieces: list[str] = []
    end: StreamEnd | None = None
    try:
        while True:
            with anyio.fail_after(max(0.0, deadline - anyio.current_time())):
                try:
                    event = await events.__anext__()
                except StopAsyncIteration:
                    break
            if isinstance(event, StreamDelta):
                pieces.append(event.text)
                yield event  # outside the cancel scope: never yield inside one
            else:
                end = event
    finally:
        with anyio.CancelScope(shield=True):
            await events.aclose()  # closes the provider's HTTP stream at once
    assert end is not None  # the client contract: a stream ends with StreamEnd or raises
    yield AIResponse(
        text="".join(pieces),
        model=end.model,
        finish_reason=end.finish_reason,
        usage=end.usage,
        reported_cost_usd=end.reported_cost_usd,
        latency_ms=(time.perf_counter() - started) * 1000,
        adaptations=end.adaptations,
    )
