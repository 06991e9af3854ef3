"""list_models: what each AI offers, from the provider's listing (cached on disk) or the configured list."""

from __future__ import annotations

import anyio
from pydantic import BaseModel, ConfigDict

from junior_ai.ai.registry import AIRegistry
from junior_ai.ai.types import ModelListing


class ListModelsResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    ais: list[ModelListing]
    aliases: dict[str, str]


async def list_models(registry: AIRegistry, *, refresh: bool = False) -> ListModelsResult:
    names = registry.names
    registry.require_any()
    await registry.settle_within()
    listings: dict[str, ModelListing] = {}

    async def one(name: str) -> None:
        listings[name] = await registry.catalog.listing(registry.get(name), refresh=refresh)

    async with anyio.create_task_group() as tg:
        for name in names:
            tg.start_soon(one, name)
    return ListModelsResult(ais=[listings[name] for name in names], aliases=dict(registry.config.aliases))
