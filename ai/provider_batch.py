"""Jobs too big or too cheap to run live: hand them to the provider's own batch engine (OpenAI `/v1/files` +
`/v1/batches`; Gemini batch mode), poll with backoff, and turn the answers into the same `ItemResult`s as a live
batch. A job can be resumed by its id after a restart: nothing is submitted twice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import anyio

from junior_ai.ai.base import AIClient
from junior_ai.ai.batch import BatchItem, ItemResult, item_key
from junior_ai.ai.registry import AIRegistry
from junior_ai.ai.types import BatchOutcome, BatchPoll, GenerateRequest
from junior_ai.core.errors import UnavailableError
from junior_ai.core.log import get_logger

log = get_logger(__name__)

POLL_INITIAL_S = 2.0
POLL_MAX_S = 60.0


async def run_provider_batch(
    registry: AIRegistry,
    ai: str,
    items: Sequence[BatchItem],
    *,
    system: str | None = None,
    job_id: str | None = None,
    on_submitted: Callable[[str], Awaitable[None]] | None = None,
    on_poll: Callable[[str], Awaitable[None]] | None = None,
    poll_initial_s: float = POLL_INITIAL_S,
    poll_max_s: float = POLL_MAX_S,
) -> list[ItemResult]:
    """Submit `items` as one provider batch job (or, with `job_id`, pick up a job submitted earlier), wait for it,
    and return one result per item."""
    entry, model = registry.entry_for(ai)
    await registry.wait_built([entry.name])
    if entry.client is None:
        raise UnavailableError(f"{ai} could not be initialized ({entry.init_error}).", ai=ai, attempts=0)
    results, keyed = _split_unrenderable(items, ai)
    if not keyed:
        return results
    if job_id is None:
        job_id = await _submit(entry.client, ai, model, keyed, system)
        if on_submitted is not None:
            await on_submitted(job_id)
    poll = await _wait_for(entry.client, job_id, on_poll, poll_initial_s, poll_max_s)
    if poll.error is not None:
        results.extend(
            ItemResult(index=item.index, key=key, ai=ai, status="error", error=f"{poll.error} (job {job_id})")
            for key, same in keyed.items()
            for item in same
        )
    else:
        answered = {outcome.key: outcome for outcome in await entry.client.batch_results(job_id)}
        await registry.prices.rate_async(entry.config, model)  # loads the price table off the event loop
        results.extend(
            _result_of(registry, ai, model, job_id, key, item, answered.get(key))
            for key, same in keyed.items()
            for item in same
        )
    return sorted(results, key=lambda r: r.index)


def _split_unrenderable(items: Sequence[BatchItem], ai: str) -> tuple[list[ItemResult], dict[str, list[BatchItem]]]:
    """Items whose template could not be rendered (already failed), and the rest grouped by their key: items with
    the same prompt are the same work, submitted once (a job's ids must be unique) and answered for each."""
    failed: list[ItemResult] = []
    keyed: dict[str, list[BatchItem]] = {}
    for item in items:
        if item.prompt is None:
            failed.append(ItemResult(index=item.index, key="", ai=ai, status="bad_request", error=item.error))
        else:
            keyed.setdefault(item_key(item.prompt, ai), []).append(item)
    return failed, keyed


async def _submit(client: AIClient, ai: str, model: str, keyed: dict[str, list[BatchItem]], system: str | None) -> str:
    requests = [
        (key, GenerateRequest.from_prompt(same[0].prompt or "", system=system, model=model))
        for key, same in keyed.items()
    ]
    job_id = await client.submit_batch(requests)
    log.info("provider_batch_submitted", ai=ai, job_id=job_id, items=len(requests))
    return job_id


async def _wait_for(
    client: AIClient,
    job_id: str,
    on_poll: Callable[[str], Awaitable[None]] | None,
    poll_initial_s: float,
    poll_max_s: float,
) -> BatchPoll:
    """Poll until the job is done, the delay doubling from `poll_initial_s` up to `poll_max_s`."""
    delay = poll_initial_s
    while True:
        poll = await client.poll_batch(job_id)
        if on_poll is not None:
            await on_poll(poll.state)
        if poll.done:
            return poll
        await anyio.sleep(delay)
        delay = min(poll_max_s, delay * 2)


def _result_of(
    registry: AIRegistry,
    ai: str,
    model: str,
    job_id: str,
    key: str,
    item: BatchItem,
    outcome: BatchOutcome | None,
) -> ItemResult:
    if outcome is None:
        error = f"job {job_id} returned no answer for this item"
        return ItemResult(index=item.index, key=key, ai=ai, status="error", error=error)
    if outcome.error is not None:
        return ItemResult(index=item.index, key=key, ai=ai, status="error", error=outcome.error)
    return ItemResult(
        index=item.index,
        key=key,
        ai=ai,
        status="ok",
        text=outcome.text,
        usage=outcome.usage,
        cost_usd=registry.prices.cost(registry.entry_for(ai)[0].config, outcome.usage, model, batch=True).usd,
    )
