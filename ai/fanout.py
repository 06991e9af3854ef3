"""call_multiple_ais: ask several AIs at once; wall time ≈ the slowest one, never the sum."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

import anyio

from junior_ai.ai.call import call_ai_async
from junior_ai.ai.registry import AIRegistry
from junior_ai.ai.translate import detail
from junior_ai.ai.types import CallResult, GenerateRequest, failed_result, ok_result
from junior_ai.core.errors import InvalidInputError, ProviderError
from junior_ai.core.log import get_logger

log = get_logger(__name__)

ResultCallback = Callable[[CallResult, int, int], Awaitable[None]]
"""Called as each AI finishes with (its result, how many have finished, how many were asked)."""
TextCallback = Callable[[str, int], Awaitable[None]]
"""With streaming: called as text arrives with (AI name, characters received from it so far)."""
DeltaCallback = Callable[[str, str], Awaitable[None]]
"""With streaming: called with (AI name, piece of text) as each piece arrives (a job's snapshot keeps them)."""


async def resolve_ais(registry: AIRegistry, ais: Sequence[str] | None) -> list[str]:
    """The AIs a fan-out asks: the named ones (validated, deduplicated, in order) or every usable AI: ready, or
    still starting (each call waits for its own AI's clients, within its own timeout; a build that fails
    meanwhile shows as that AI's failed result)."""
    registry.require_any()
    if ais is not None and len(ais) == 0:
        # An empty list is a mistake (a host that filtered every AI out), not a request for all of them.
        raise InvalidInputError(
            f"ais is empty: name at least one AI, or omit `ais` for all. Configured AIs: {', '.join(registry.names)}."
        )
    if ais is None:
        ready = registry.usable_names()
        if not ready:
            failed = "; ".join(f"{e.name}: {e.init_error}" for e in registry)
            raise InvalidInputError(f"no AI could be initialized ({failed}). Run `junior-ai doctor` for fixes.")
        return ready
    names: list[str] = []
    for name in ais:
        registry.resolve(name)  # raises with the valid choices
        if name not in names:
            names.append(name)
    return names


async def call_multiple_ais(
    registry: AIRegistry,
    request: GenerateRequest | Mapping[str, GenerateRequest],
    ais: Sequence[str] | None = None,
    *,
    timeout_s: float | None = None,
    deadline_s: float | None = None,
    min_responses: int | None = None,
    stream: bool = False,
    idle_timeout_s: float | None = None,
    on_result: ResultCallback | None = None,
    on_text: TextCallback | None = None,
    on_delta: DeltaCallback | None = None,
) -> list[CallResult]:
    """Ask every AI in `ais` concurrently; return one `CallResult` per AI, in the order asked.

    `request` is the same for every AI, or a mapping from AI name to its own request (then `ais` is its keys).

    `timeout_s` bounds each call (retries included); `deadline_s` bounds the whole fan-out: whatever has
    not answered by then is reported as `timeout`, and the answers that did arrive are kept. With
    `min_responses`, the fan-out returns as soon as that many AIs answered `ok`, and the rest are cancelled
    (status `cancelled`). Cancelling the caller cancels every in-flight request.

    With `stream`, answers stream from the providers: a stalled stream is cut after `idle_timeout_s`, `on_text`
    hears how much has arrived, and an AI cut off by the deadline keeps the text it had written so far (its
    status stays `timeout`, and `partial` is true).
    """
    names, requests = await plan_fanout(registry, request, ais, min_responses)
    fanout = FanOut(registry, requests, timeout_s, stream, idle_timeout_s, on_result, on_text, min_responses)
    fanout.on_delta = on_delta
    with anyio.move_on_after(deadline_s) as deadline_scope:
        async with anyio.create_task_group() as tg:
            for name in names:
                tg.start_soon(fanout.ask, name, tg.cancel_scope)
    elapsed_ms = (time.perf_counter() - fanout.started) * 1000
    for name in names:
        if name not in fanout.results:
            fanout.results[name] = fanout.unfinished(
                name, elapsed_ms, deadline_s if deadline_scope.cancelled_caught else None
            )
    return [fanout.results[name] for name in names]


async def plan_fanout(
    registry: AIRegistry,
    request: GenerateRequest | Mapping[str, GenerateRequest],
    ais: Sequence[str] | None,
    min_responses: int | None,
) -> tuple[list[str], Mapping[str, GenerateRequest]]:
    """Which AIs to ask, and each one's request (the same request, or one per AI)."""
    if isinstance(request, Mapping):
        # One request per AI (e.g. a critique prompt that shows each AI the others' answers but not its own).
        names = await resolve_ais(registry, list(request)) if request else []  # nobody left to ask: nothing to do
        requests: Mapping[str, GenerateRequest] = request
    else:
        names = await resolve_ais(registry, ais)
        requests = dict.fromkeys(names, request)
    if min_responses is not None and not 1 <= min_responses <= len(names):
        raise InvalidInputError(f"min_responses must be between 1 and {len(names)} (the number of AIs asked).")
    return names, requests


class FanOut:
    """One fan-out in flight: each AI's text so far, the results as they finish, and the callbacks."""

    def __init__(
        self,
        registry: AIRegistry,
        requests: Mapping[str, GenerateRequest],
        timeout_s: float | None,
        stream: bool,
        idle_timeout_s: float | None,
        on_result: ResultCallback | None,
        on_text: TextCallback | None,
        min_responses: int | None,
    ) -> None:
        self.registry = registry
        self.requests = requests
        self.timeout_s = timeout_s
        self.stream = stream
        self.idle_timeout_s = idle_timeout_s
        self.on_result = on_result
        self.on_text = on_text
        self.on_delta: DeltaCallback | None = None
        self.min_responses = min_responses
        self.results: dict[str, CallResult] = {}
        self.received: dict[str, list[str]] = {name: [] for name in requests}
        self.chars: dict[str, int] = dict.fromkeys(requests, 0)  # kept as we go: a re-sum per delta is quadratic
        self.started = time.perf_counter()

    def text_sink(self, name: str) -> Callable[[str], Awaitable[None]]:
        async def sink(piece: str) -> None:
            self.received[name].append(piece)
            self.chars[name] += len(piece)
            if self.on_delta is not None:  # the streaming API's own consumer, not a progress report: unguarded
                await self.on_delta(name, piece)
            if self.on_text is not None:
                try:
                    await self.on_text(name, self.chars[name])
                except Exception as exc:  # a progress hiccup must not sink the answer
                    log.warning("on_text_failed", ai=name, error=detail(exc))

        return sink

    def restart(self, name: str) -> Callable[[], None]:
        def clear() -> None:
            self.received[name].clear()
            self.chars[name] = 0

        return clear

    async def ask(self, name: str, scope: anyio.CancelScope) -> None:
        result = await _one(
            self.registry,
            name,
            self.requests[name],
            self.timeout_s,
            self.stream,
            self.idle_timeout_s,
            self.text_sink(name) if self.stream else None,
            self.restart(name),
        )
        so_far = "".join(self.received[name])
        if result.status == "timeout" and so_far:
            # A stream cut off (stalled, or out of time) still said something: keep it, marked partial.
            result = result.model_copy(update={"text": so_far, "partial": True})
        self.results[name] = result
        if self.on_result is not None:
            try:
                await self.on_result(result, len(self.results), len(self.requests))
            except Exception as exc:  # a progress hiccup must not sink the answers
                log.warning("on_result_failed", ai=name, error=detail(exc))
        if self.min_responses is not None and sum(r.ok for r in self.results.values()) >= self.min_responses:
            scope.cancel()

    def unfinished(self, name: str, elapsed_ms: float, deadline_s: float | None) -> CallResult:
        """The result of an AI that never finished: cut off by the deadline (with what it had written so far),
        or cancelled because `min_responses` AIs had already answered."""
        model = self.requests[name].model or self.registry.entry_for(name)[1]
        if deadline_s is None:
            return CallResult(
                ai=name,
                model=model,
                status="cancelled",
                latency_ms=elapsed_ms,
                error=f"not needed: {self.min_responses} AI(s) had already answered (min_responses).",
            )
        so_far = "".join(self.received[name])
        return CallResult(
            ai=name,
            model=model,
            status="timeout",
            latency_ms=elapsed_ms,
            text=so_far or None,
            partial=bool(so_far),
            error=f"{name} had not finished when the overall deadline of {deadline_s} s was reached"
            + (f"; the text is the {len(so_far)} characters it had written by then." if so_far else "."),
        )


async def _one(
    registry: AIRegistry,
    name: str,
    request: GenerateRequest,
    timeout_s: float | None,
    stream: bool,
    idle_timeout_s: float | None,
    on_delta: Callable[[str], Awaitable[None]] | None,
    on_retry: Callable[[], None],
) -> CallResult:
    model = request.model or registry.entry_for(name)[1]
    started = time.perf_counter()
    try:
        response = await call_ai_async(
            registry,
            name,
            request,
            timeout_s=timeout_s,
            stream=stream,
            idle_timeout_s=idle_timeout_s,
            on_delta=on_delta,
            on_retry=on_retry,
        )
    except ProviderError as err:
        return failed_result(name, model, err, (time.perf_counter() - started) * 1000)
    return ok_result(name, response)
