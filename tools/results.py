"""What the tools return: structured results (the MCP output schemas) and their readable renderings."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from junior_ai.ai.types import CallResult, NullCostModel
from junior_ai.core.pricing import PriceSource
from junior_ai.core.usage import TokenUsage
from junior_ai.tools.context.items import SharedContext, SkippedContext

ProgressFn = Callable[[float, float | None, str | None], Awaitable[None]]
"""(done, total, message): what a tool reports as it goes; the server turns it into MCP progress."""


class AskOneResult(CallResult):
    thread_id: str | None = Field(default=None, description="Pass it back as thread_id to continue.")
    context: SharedContext = None
    context_skipped: SkippedContext = None
    job_id: str | None = None
    """Set when work was still going at the deadline: `collect` it (no schema description: tools/list size)."""
    poll_after_s: float | None = None


class AskManyResult(NullCostModel):
    model_config = ConfigDict(frozen=True)

    results: list[CallResult] = Field(description="One entry per AI asked, in the order asked.")
    elapsed_ms: float
    ok_count: int
    partial: bool = Field(description="True when some AI did not answer (deadline, failure or min_responses).")
    usage: TokenUsage = TokenUsage()
    cost_usd: float | None = Field(default=None, description="Sum of the calls whose cost is known.")
    unknown_cost_calls: int = Field(default=0, description="Answers whose cost is not known (left out of cost_usd).")
    thread_id: str | None = Field(default=None, description="Pass it back as thread_id to continue.")
    context: SharedContext = None
    context_skipped: SkippedContext = None
    job_id: str | None = None
    """Set when work was still going at the deadline: `collect` it (no schema description: tools/list size)."""
    poll_after_s: float | None = None


class PriceInfo(BaseModel):
    """What one AI's model costs, per million tokens, and where the figure comes from."""

    model_config = ConfigDict(frozen=True)

    input_per_million: float | None = None
    output_per_million: float | None = None
    source: PriceSource = Field(
        description="Where these figures come from: settings, table (genai-prices), local (free), unknown, or "
        "reported (no figures in advance: each call is billed at the cost the provider states)."
    )
    # In every result, but left out of the published output schema (it costs every host turn context).
    reported: SkipJsonSchema[bool] = False
    """True: each call is billed at the cost the provider states (OpenRouter); the figures here are then only the
    estimate budgets use."""
    # In every result, but left out of the published output schema (it costs every host turn context).
    provider: SkipJsonSchema[str | None] = None
    """The price table's provider id, when it was searched."""
    fix: SkipJsonSchema[str | None] = None
    """For an unknown price: the settings entry that would set it."""


class AIInfo(NullCostModel):
    model_config = ConfigDict(frozen=True)

    name: str
    provider: str
    model: str
    base_url: str | None = None
    enabled: bool
    initialized: bool
    init_error: str | None = None
    max_concurrency: int
    rpm: int | None = None
    timeout_s: float
    health: str = Field(default="healthy", description="healthy, cooling_down, probing or auth_error.")
    cooldown_left_s: float | None = None
    calls: int
    errors: int
    mean_latency_ms: float | None = None
    tokens: TokenUsage
    sync_fallbacks: int
    price: PriceInfo | None = None
    cost_usd: float | None = Field(
        default=None, description="Spent so far on calls whose cost is known; null when none is (not free)."
    )
    unknown_cost_calls: int = Field(default=0, description="Answered calls whose cost is not known.")
    invalid_outputs: SkipJsonSchema[int] = 0
    """json_schema answers that failed validation twice (in results; left out of the output schema)."""
    models: list[str] | None = Field(default=None, description="With models=true: what it offers.")
    models_source: str | None = Field(default=None, description="provider, cache or config.")


class PrincipalUsage(BaseModel):
    model_config = ConfigDict(frozen=True)

    calls: int
    errors: int
    tokens: TokenUsage
    cost_usd: float


class ListAIsResult(NullCostModel, BaseModel):  # BaseModel named for linters
    model_config = ConfigDict(frozen=True)
    null_kept = ("session_cost_usd",)

    ais: list[AIInfo]
    config_source: str | None = Field(default=None, description="The credentials file in use; none: environment.")
    config_error: str | None = None
    warnings: list[str] = []
    aliases: dict[str, str] = {}
    session_usage: TokenUsage = TokenUsage()
    session_cost_usd: float | None = None
    """The sum of the known costs; null when no call's cost is known."""
    session_unknown_cost_calls: int = 0
    principal: str | None = Field(default=None, description="Whose usage this is (over HTTP: the token's name).")
    principals: dict[str, PrincipalUsage] | None = Field(
        default=None, description="For the admin principal: every principal's usage."
    )
    total_usage: TokenUsage | None = Field(default=None, description="For the admin principal: all principals.")
    total_cost_usd: float | None = None


def total_usage(results: list[CallResult]) -> TokenUsage:
    total = TokenUsage()
    for result in results:
        if result.usage is not None:
            total = total + result.usage
    return total


def total_cost(results: list[CallResult]) -> float | None:
    """The sum of the known costs; None when no call's cost is known."""
    costs = [r.cost_usd for r in results if r.cost_usd is not None]
    return round(sum(costs), 10) if costs else None


def unknown_cost_calls(results: list[CallResult]) -> int:
    """Calls that produced an answer (whole or partial) but whose cost is not known: they were billed, just not
    counted. A failed call produced nothing to bill."""
    return sum(1 for r in results if (r.ok or r.partial) and r.cost_usd is None)


def format_usd(usd: float) -> str:
    """Dollars with the precision a figure needs: '$1.25', '$0.004200', '$0.00003180' (never '$0.0000' for a
    cost that is not zero)."""
    if usd == 0:
        return "$0"
    if usd >= 0.01:
        return f"${usd:.4f}"
    return f"${usd:.{max(6, 3 - math.floor(math.log10(abs(usd))))}f}"


def render_cost(cost_usd: float | None, unknown: int) -> str:
    """'$0.001234', '$0.001234 + 2 calls of unknown cost', 'cost unknown (2 calls)' or ''."""
    known = format_usd(cost_usd) if cost_usd is not None else ""
    if not unknown:
        return known
    calls = f"{unknown} call{'s' if unknown != 1 else ''}"
    return f"{known} + {calls} of unknown cost" if known else f"cost unknown ({calls})"


def render_price(price: PriceInfo | None) -> str:
    if price is None:
        return ""
    if price.input_per_million is None or price.output_per_million is None:
        return f"price {price.source}" + (
            "" if price.source == "reported" or not price.reported else ", calls billed at the provider's reported cost"
        )
    billed = "; calls billed at the provider's reported cost" if price.reported else ""
    return f"${price.input_per_million:g}/${price.output_per_million:g} per M in/out ({price.source}{billed})"


def render_call(result: CallResult) -> str:
    head = f"## {result.ai} ({result.model}) — {result.status}, {result.latency_ms:.0f} ms"
    if result.cost_usd is not None:
        head += f", {format_usd(result.cost_usd)}"
    elif result.ok or result.partial:  # billed, at a price nobody knows: say so rather than show nothing
        head += ", cost unknown"
    if result.path == "sync_fallback":
        head += ", via sync fallback"
    if result.ok:
        return f"{head}\n\n{result.text}"
    return f"{head}\n\n{result.error}"


def render_ask_many(result: AskManyResult) -> str:
    cost = render_cost(result.cost_usd, result.unknown_cost_calls)
    lines = [
        f"{result.ok_count}/{len(result.results)} AIs answered in {result.elapsed_ms:.0f} ms"
        + (f"; {cost}." if cost else ".")
    ]
    lines.extend(render_call(r) for r in result.results)
    return "\n\n".join(lines)


def render_list_ais(result: ListAIsResult) -> str:
    if result.config_error:
        return f"Configuration error: {result.config_error}"
    if not result.ais:
        return (
            "No AI is configured. Create credentials.json (see credentials.example.json) or export a provider key "
            "such as OPENAI_API_KEY or GEMINI_API_KEY, then restart the server."
        )
    lines = [f"{len(result.ais)} AI(s) configured (from {result.config_source or 'environment'}):"]
    for ai in result.ais:
        state = "ready" if ai.initialized else f"NOT initialized: {ai.init_error}"
        if ai.health != "healthy":
            state += f", {ai.health}" + (f" ({ai.cooldown_left_s:.0f} s left)" if ai.cooldown_left_s else "")
        mean = f"{ai.mean_latency_ms:.0f} ms" if ai.mean_latency_ms is not None else "-"
        cost = render_cost(ai.cost_usd, ai.unknown_cost_calls)
        lines.append(
            f"- {ai.name}: {ai.provider} model {ai.model}, {state}; calls {ai.calls}, errors {ai.errors}, "
            f"mean latency {mean}, tokens {ai.tokens.total_tokens}"
            + (f", cost {cost}" if cost else "")
            + f", max concurrency {ai.max_concurrency}"
            + (f"; {render_price(ai.price)}" if ai.price else "")
        )
        if ai.price is not None and ai.price.fix:
            lines.append(f"  {ai.name}: price unknown; to count its cost add {ai.price.fix}")
    for ai in result.ais:
        if ai.models is not None:
            shown = ", ".join(ai.models[:40]) + (f", … ({len(ai.models)} in all)" if len(ai.models) > 40 else "")
            lines.append(f"  {ai.name} models ({ai.models_source}): {shown}")
    if result.aliases:
        lines.append("Aliases: " + ", ".join(f"{alias} → {target}" for alias, target in result.aliases.items()))
    session_cost = render_cost(result.session_cost_usd, result.session_unknown_cost_calls)
    lines.append(f"Session: {result.session_usage.total_tokens} tokens" + (f", {session_cost}" if session_cost else ""))
    if result.principals is not None:
        lines.append("Usage by principal (admin view):")
        lines.extend(
            f"- {name}: calls {u.calls}, errors {u.errors}, tokens {u.tokens.total_tokens}, cost ${u.cost_usd:.6f}"
            for name, u in sorted(result.principals.items())
        )
        if result.total_usage is not None:
            lines.append(f"All principals: {result.total_usage.total_tokens} tokens, ${result.total_cost_usd or 0:.6f}")
    lines.extend(f"warning: {w}" for w in result.warnings)
    return "\n".join(lines)
