"""What consensus and debate share: running a stage of calls within the deadline, progress, usage, budget,
and asking a judge with fallback to other healthy AIs."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from junior_ai.ai.call import call_ai_async
from junior_ai.ai.deadline import Deadline
from junior_ai.ai.fanout import call_multiple_ais
from junior_ai.ai.registry import AIRegistry
from junior_ai.ai.types import CallResult, GenerateRequest, failed_result, ok_result
from junior_ai.core.errors import ProviderError
from junior_ai.core.usage import TokenUsage
from junior_ai.tools.collab.budget import CostBudget, uncounted
from junior_ai.tools.collab.results import RoundEntry
from junior_ai.tools.context import ContextBundle, with_context
from junior_ai.tools.jobs import observe
from junior_ai.tools.output_budget import ResultStore, Trimmer
from junior_ai.tools.results import ProgressFn, total_cost, total_usage, unknown_cost_calls

MIN_STAGE_S = 1.0
"""A stage with less time than this left is not started: it could not finish."""
RETURN_MARGIN_S = 0.3
"""Kept back from the deadline so the result itself gets out in time."""


class CollabRun:
    """One run of a collaborative tool: its deadline, every call made, notes, progress and budget."""

    def __init__(
        self,
        registry: AIRegistry,
        deadline: Deadline,
        total_steps: int,
        progress: ProgressFn | None,
        max_cost_usd: float | None,
        *,
        context: ContextBundle | None = None,
        reasoning_effort: str | None = None,
    ) -> None:
        self.registry = registry
        self.context = context or ContextBundle()
        """Read once for the whole run: every stage and the judge get the same parts."""
        self.reasoning_effort = reasoning_effort
        self.deadline = deadline
        self.total_steps = total_steps
        self.progress = progress
        self.max_cost_usd = max_cost_usd
        self.budget = CostBudget(registry, max_cost_usd)
        self._said_uncounted = False
        self.calls: list[CallResult] = []
        self.notes: list[str] = []
        self.partial = False
        self.steps_done = 0
        self.started = time.perf_counter()

    def note(self, text: str, *, partial: bool = True) -> None:
        self.notes.append(text)
        self.partial = self.partial or partial

    async def stage_started(self, label: str) -> None:
        if self.progress is not None:
            await self.progress(self.steps_done, self.total_steps, f"stage: {label}")

    def time_for_stage(self, reserve_s: float) -> float:
        """Seconds this stage may use, keeping `reserve_s` for what must follow it."""
        return self.deadline.remaining() - reserve_s - RETURN_MARGIN_S

    def budget_allows(self, calls: Sequence[tuple[str, GenerateRequest]]) -> bool:
        """False when the planned `calls`, added to what was spent, would likely exceed `max_cost_usd`."""
        allowed = self.budget.allows(calls, self.calls)
        if not allowed and uncounted(self.calls) and not self._said_uncounted:
            self._said_uncounted = True
            self.note(
                f"{uncounted(self.calls)} answer(s) came without token counts, so their cost is unknown and "
                f"max_cost_usd={self.max_cost_usd} could no longer be kept: no further stage was run."
            )
        return allowed

    def note_overspend(self) -> None:
        """Say so when the spend ended above `max_cost_usd` (the providers' reported costs beat the estimate)."""
        over = self.budget.overspent(self.calls)
        if over is not None:
            self.note(
                f"spent ${over:.6f}, more than max_cost_usd={self.max_cost_usd}: the costs the providers reported "
                "came out above the estimate the stages were checked against."
            )

    async def stage(self, requests: Mapping[str, GenerateRequest], seconds: float, label: str) -> list[CallResult]:
        """Ask each AI its own request concurrently, within `seconds`; report progress per answer."""

        async def on_result(result: CallResult, _done: int, _total: int) -> None:
            observe.result(result)
            self.steps_done += 1
            if self.progress is not None:
                await self.progress(self.steps_done, self.total_steps, f"{label}: {result.ai} {result.status}")

        shared = {name: self.with_context(request) for name, request in requests.items()}
        results = await call_multiple_ais(self.registry, shared, deadline_s=seconds, on_result=on_result)
        self.calls.extend(results)
        return results

    async def ask_judge(
        self, preferred: str | None, fallbacks: Sequence[str], request: GenerateRequest
    ) -> tuple[str, CallResult] | None:
        """Ask the preferred judge, then each fallback in turn, until one answers within the deadline."""
        candidates = [name for name in dict.fromkeys([*(p for p in [preferred] if p), *fallbacks])]
        ready = [name for name in candidates if self.registry.entry_for(name)[0].ready]
        for index, name in enumerate(ready):
            entry, model = self.registry.entry_for(name)
            if not self.budget_allows([(name, request)]):  # a stand-in judge may cost more than the one planned
                self.note(f"judge {name} was skipped: it would exceed max_cost_usd={self.max_cost_usd}.")
                continue
            seconds = self.deadline.remaining() - RETURN_MARGIN_S
            if seconds < MIN_STAGE_S:
                self.note("no time was left for the synthesis; returning the answers as they stand")
                return None
            started = time.perf_counter()
            try:
                # Each AI's own timeout still bounds it when the deadline is far (a job continuing after it), and
                # while another candidate is left, time is kept back for it (up to its own timeout, at most half
                # of what is left): a judge that hangs must not take the synthesis down with it.
                timeout_s = min(seconds, entry.config.timeout_s)
                if index + 1 < len(ready):
                    following = self.registry.entry_for(ready[index + 1])[0].config.timeout_s
                    timeout_s = min(timeout_s, seconds - min(following, seconds / 2))
                response = await call_ai_async(self.registry, name, self.with_context(request), timeout_s=timeout_s)
            except ProviderError as error:
                self.calls.append(failed_result(name, model, error, (time.perf_counter() - started) * 1000))
                self.note(f"judge {name} failed ({error.status}); trying another AI", partial=False)
                continue
            result = ok_result(name, response)
            self.calls.append(result)
            observe.result(result)
            self.steps_done += 1
            if self.progress is not None:
                await self.progress(self.steps_done, self.total_steps, f"synthesis: {name} ok")
            return name, result
        self.note("every judge candidate failed; returning the answers without a synthesis")
        return None

    def with_context(self, request: GenerateRequest) -> GenerateRequest:
        return with_context(request, self.context, self.reasoning_effort)

    @property
    def usage(self) -> TokenUsage:
        return total_usage(self.calls)

    @property
    def cost_usd(self) -> float | None:
        return total_cost(self.calls)

    @property
    def unknown_cost_calls(self) -> int:
        return unknown_cost_calls(self.calls)

    @property
    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


def check_judge(registry: AIRegistry, judge: str | None) -> str | None:
    """The judge to prefer: the caller's (validated), else the configured one if it exists."""
    if judge is not None:
        registry.resolve(judge)
        return judge
    configured = registry.config.settings.judge  # an AI, `ai:model` or an alias: checked when the config loaded
    if configured is not None and registry.config.aliases.get(configured, configured).partition(":")[0] in (
        registry.names
    ):
        return configured
    return None


def trim_rounds(entries: list[RoundEntry], registry: AIRegistry, store: ResultStore | None) -> list[RoundEntry]:
    """Fit every round's text into the output budget; trimmed texts are kept whole in `store`."""
    if store is None:
        return entries
    trimmer = Trimmer(store, registry.config.settings.output_budget_tokens, len(entries))
    fitted = []
    for entry in entries:
        text, uri = trimmer.fit(f"{entry.ai}.round{entry.round}", entry.text)
        fitted.append(entry if uri is None else entry.model_copy(update={"text": text, "full_text_uri": uri}))
    return fitted
