"""`max_cost_usd` for the multi-stage tools: refuse up front when an AI's price is unknown (a budget that cannot
count is no budget), then, before each stage, estimate what it would cost and stop before it would go over.

A stage's estimate is, per call, its prompt (about four characters a token, system text and schema included) at
the AI's input price, plus as many output tokens as that AI used on average so far in this run (before its first
answer: the request's `max_tokens`, else `FIRST_ANSWER_TOKENS`) at its output price.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from junior_ai.ai.registry import AIRegistry
from junior_ai.ai.types import CallResult, GenerateRequest
from junior_ai.core.errors import InvalidInputError
from junior_ai.core.pricing import settings_entry
from junior_ai.core.redact import redact

FIRST_ANSWER_TOKENS = 600
"""Output assumed for an AI's first answer in a run: a structured stance is a few hundred tokens."""


class CostBudget:
    """Checks planned calls against `max_cost_usd`; with no limit every check passes."""

    def __init__(self, registry: AIRegistry, max_cost_usd: float | None) -> None:
        self.registry = registry
        self.max_cost_usd = max_cost_usd

    async def require_known_prices(self, targets: Sequence[str]) -> None:
        """Raise an `InvalidInputError` naming the first AI whose price is not known in advance and the
        `settings.prices` entry that would fix it. Also loads the price table, off the event loop."""
        if self.max_cost_usd is None:
            return
        for target in dict.fromkeys(targets):
            entry, model = self.registry.entry_for(target)
            rate = await self.registry.prices.rate_async(entry.config, model)
            if not rate.known:
                why = (
                    "its provider reports each call's cost only after the call"
                    if rate.source == "reported"
                    else "its price is not known"
                )
                raise InvalidInputError(
                    f"max_cost_usd={self.max_cost_usd} cannot be kept: {target} (model {redact(model)!r}) is in play "
                    f"and {why}, so the spend could not be bounded. Fix: add {settings_entry(model)} to the "
                    f"configuration, or leave {target} out (ais=[...]), or drop max_cost_usd."
                )

    def priced(self, target: str) -> bool:
        """Whether a call to `target` can be estimated (always true without a limit)."""
        if self.max_cost_usd is None:
            return True
        entry, model = self.registry.entry_for(target)
        return self.registry.prices.rate(entry.config, model).known

    def estimate(self, calls: Sequence[tuple[str, GenerateRequest]], so_far: Sequence[CallResult]) -> float:
        """USD the planned `calls` would likely cost, judged by their prompts and each AI's answers `so_far`."""
        total = 0.0
        for target, request in calls:
            entry, model = self.registry.entry_for(target)
            answered = [r.usage.completion_tokens for r in so_far if r.ai == target and r.ok and r.usage is not None]
            output = round(sum(answered) / len(answered)) if answered else (request.max_tokens or FIRST_ANSWER_TOKENS)
            cost = self.registry.prices.estimate(entry.config, request.model or model, prompt_tokens(request), output)
            total += cost or 0.0  # only priced AIs get this far: require_known_prices ran first
        return total

    def allows(self, calls: Sequence[tuple[str, GenerateRequest]], so_far: Sequence[CallResult]) -> bool:
        if self.max_cost_usd is None:
            return True
        if uncounted(so_far):  # billed, but by how much nobody knows: the limit can no longer be kept
            return False
        return spent(so_far) + self.estimate(calls, so_far) <= self.max_cost_usd

    def overspent(self, so_far: Sequence[CallResult]) -> float | None:
        """What was spent, when it is more than `max_cost_usd` (a reported cost beat the estimate); else None."""
        if self.max_cost_usd is None or spent(so_far) <= self.max_cost_usd:
            return None
        return spent(so_far)


def spent(so_far: Sequence[CallResult]) -> float:
    return sum(r.cost_usd for r in so_far if r.cost_usd is not None)


def uncounted(so_far: Sequence[CallResult]) -> int:
    """Calls that produced an answer (billed) whose cost is not known, e.g. the provider sent no token counts."""
    return sum(1 for r in so_far if (r.ok or r.partial) and r.cost_usd is None)


def prompt_tokens(request: GenerateRequest) -> int:
    """About four characters a token, for everything the request sends."""
    characters = len(request.system or "") + sum(len(m.content) for m in request.messages)
    if request.json_schema is not None:
        characters += len(json.dumps(request.json_schema))
    return max(1, characters // 4)
