"""list_ais: every configured AI, whether it works, and what it has done so far."""

from __future__ import annotations

from junior_ai.ai.registry import AIRegistry
from junior_ai.core.config import AIConfig
from junior_ai.core.pricing import billed_by, settings_entry
from junior_ai.core.redact import redact
from junior_ai.core.usage import TokenUsage
from junior_ai.tools.arguments import ListAIsArgs
from junior_ai.tools.model_listing import list_models
from junior_ai.tools.results import AIInfo, ListAIsResult, PriceInfo


async def price_info(registry: AIRegistry, ai: AIConfig) -> PriceInfo:
    """The AI's configured model's price and its source; for an unknown one, the settings entry that fixes it."""
    rate = await registry.prices.rate_async(ai, ai.model)
    return PriceInfo(
        input_per_million=rate.input_per_million,
        output_per_million=rate.output_per_million,
        source=rate.source,
        reported=billed_by(ai, rate) == "reported",
        provider=rate.provider,
        fix=None if rate.known else settings_entry(ai.model),
    )


async def list_ais(registry: AIRegistry, args: ListAIsArgs) -> ListAIsResult:
    await registry.settle_within()  # each AI as it is, not "starting", unless its SDK load hangs
    models, refresh = args.models, args.refresh
    prices = {ai.name: await price_info(registry, ai) for ai in registry.config.ais}
    infos = [
        AIInfo(
            name=entry.name,
            provider=entry.config.provider,
            model=redact(entry.config.model),  # a key pasted into "model" is not shown back
            base_url=redact(entry.config.base_url) if entry.config.base_url else None,
            enabled=entry.config.enabled,
            initialized=entry.ready,
            init_error=entry.unavailable_reason,
            max_concurrency=entry.config.max_concurrency,
            rpm=entry.config.rpm,
            timeout_s=entry.config.timeout_s,
            health=entry.breaker.state,
            cooldown_left_s=round(entry.breaker.seconds_left(), 1) or None,
            calls=entry.stats.calls,
            errors=entry.stats.errors,
            mean_latency_ms=entry.stats.mean_latency_ms,
            tokens=entry.stats.tokens,
            sync_fallbacks=entry.stats.sync_fallbacks,
            price=prices.get(entry.name),
            cost_usd=round(entry.stats.cost_usd, 10) if entry.stats.known_cost_calls else None,
            unknown_cost_calls=entry.stats.unknown_cost_calls,
            invalid_outputs=entry.stats.invalid_outputs,
        )
        for entry in registry
    ]
    # Disabled AIs are configured too: show them, so a user can see why one is not being asked.
    listed = {info.name for info in infos}
    for ai in registry.config.ais:
        if ai.name not in listed:
            infos.append(
                AIInfo(
                    name=ai.name,
                    provider=ai.provider,
                    model=redact(ai.model),
                    base_url=redact(ai.base_url) if ai.base_url else None,
                    enabled=False,
                    initialized=False,
                    init_error="disabled in the configuration",
                    max_concurrency=ai.max_concurrency,
                    timeout_s=ai.timeout_s,
                    calls=0,
                    errors=0,
                    mean_latency_ms=None,
                    tokens=TokenUsage(),
                    sync_fallbacks=0,
                    price=prices.get(ai.name),
                )
            )
    if models and registry.names:
        listings = {listing.ai: listing for listing in (await list_models(registry, refresh=refresh)).ais}
        infos = [
            info.model_copy(update={"models": listings[info.name].models, "models_source": listings[info.name].source})
            if info.name in listings
            else info
            for info in infos
        ]
    return ListAIsResult(
        aliases=dict(registry.config.aliases),
        ais=infos,
        config_source=registry.config.source,
        config_error=registry.config_error,
        warnings=list(registry.config.warnings),
        session_usage=sum((info.tokens for info in infos), TokenUsage()),
        session_cost_usd=_known_total([info.cost_usd for info in infos]),
        session_unknown_cost_calls=sum(info.unknown_cost_calls for info in infos),
    )


def _known_total(costs: list[float | None]) -> float | None:
    known = [cost for cost in costs if cost is not None]
    return round(sum(known), 10) if known else None
