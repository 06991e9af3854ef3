"""What the tools return: structured results (the MCP output schemas) and their readable renderings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pydantic import BaseModel, ConfigDict, Field

from junior_ai.ai.types import CallResult
from junior_ai.core.usage import TokenUsage

ProgressFn = Callable[[float, float | None, str | None], Awaitable[None]]
"""(done, total, message): what a tool reports as it goes; the server turns it into MCP progress."""


class AskOneResult(CallResult):
    thread_id: str | None = Field(default=None, description="Pass it back as thread_id to continue.")


class AskManyResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    results: list[CallResult] = Field(description="One entry per AI asked, in the order asked.")
    elapsed_ms: float
    ok_count: int
    partial: bool = Field(description="True when some AI did not answer (deadline, failure or min_responses).")
    usage: TokenUsage = TokenUsage()
    cost_usd: float | None = None
    thread_id: str | None = Field(default=None, description="Pass it back as thread_id to continue.")


class AIInfo(BaseModel):
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
    cost_usd: float = Field(description="Spent so far; 0 unless prices are configured.")
    models: list[str] | None = Field(default=None, description="With models=true: what it offers.")
    models_source: str | None = Field(default=None, description="provider, cache or config.")


class ListAIsResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    ais: list[AIInfo]
    config_source: str | None = Field(default=None, description="The credentials file in use; none: environment.")
    config_error: str | None = None
    warnings: list[str] = []
    aliases: dict[str, str] = {}
    session_usage: TokenUsage = TokenUsage()
    session_cost_usd: float = 0.0


def total_usage(results: list[CallResult]) -> TokenUsage:
    total = TokenUsage()
    for result in results:
        if result.usage is not None:
            total = total + result.usage
    return total


def total_cost(results: list[CallResult]) -> float | None:
    costs = [r.cost_usd for r in results if r.cost_usd is not None]
    return round(sum(costs), 6) if costs else None


def render_call(result: CallResult) -> str:
    head = f"## {result.ai} ({result.model}) — {result.status}, {result.latency_ms:.0f} ms"
    if result.path == "sync_fallback":
        head += ", via sync fallback"
    if result.ok:
        return f"{head}\n\n{result.text}"
    return f"{head}\n\n{result.error}"


def render_ask_many(result: AskManyResult) -> str:
    lines = [f"{result.ok_count}/{len(result.results)} AIs answered in {result.elapsed_ms:.0f} ms."]
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
        lines.append(
            f"- {ai.name}: {ai.provider} model {ai.model}, {state}; calls {ai.calls}, errors {ai.errors}, "
            f"mean latency {mean}, tokens {ai.tokens.total_tokens}"
            + (f", cost ${ai.cost_usd:.6f}" if ai.cost_usd else "")
            + f", max concurrency {ai.max_concurrency}"
        )
    for ai in result.ais:
        if ai.models is not None:
            shown = ", ".join(ai.models[:40]) + (f", … ({len(ai.models)} in all)" if len(ai.models) > 40 else "")
            lines.append(f"  {ai.name} models ({ai.models_source}): {shown}")
    if result.aliases:
        lines.append("Aliases: " + ", ".join(f"{alias} → {target}" for alias, target in result.aliases.items()))
    lines.append(
        f"Session: {result.session_usage.total_tokens} tokens"
        + (f", ${result.session_cost_usd:.6f}" if result.session_cost_usd else "")
    )
    lines.extend(f"warning: {w}" for w in result.warnings)
    return "\n".join(lines)
