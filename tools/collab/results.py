"""Results of the collaborative tools (consensus, debate): what the host receives."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from junior_ai.ai.types import NullCostModel
from junior_ai.core.errors import CallStatus
from junior_ai.core.usage import TokenUsage
from junior_ai.tools.context.items import SharedContext, SkippedContext


class Dissent(BaseModel):
    model_config = ConfigDict(frozen=True)

    ai: str
    point: str


class RoundEntry(BaseModel):
    """One AI's contribution to one round."""

    model_config = ConfigDict(frozen=True)

    round: int = Field(description="0 = independent answers; 1.. = critique rounds (debate: 1.. = turns).")
    ai: str
    status: CallStatus
    text: str | None = None
    recommendation: str | None = None
    option: str | None = None
    changed: bool | None = None
    stance: str | None = None
    error: str | None = None
    full_text_uri: str | None = None


class ConsensusResult(NullCostModel, BaseModel):  # BaseModel named for linters
    model_config = ConfigDict(frozen=True)

    question: str
    answer: str | None = Field(default=None, description="The synthesised recommendation, if one was possible.")
    agreement: str = Field(description="unanimous / majority / split with counts, or unknown.")
    dissent: list[Dissent] = []
    risks: list[str] = []
    votes: dict[str, int] | None = Field(default=None, description="Final votes per option, when options were given.")
    rounds: list[RoundEntry]
    judge: str | None = None
    critique_rounds_run: int = 0
    stopped_early: bool = False
    partial: bool = Field(description="True when a stage was cut short (deadline, failures, budget).")
    notes: list[str] = []
    usage: TokenUsage = TokenUsage()
    cost_usd: float | None = Field(default=None, description="Sum of the calls whose cost is known.")
    unknown_cost_calls: int = Field(default=0, description="Answers whose cost is not known (left out of cost_usd).")
    elapsed_ms: float
    context: SharedContext = None
    context_skipped: SkippedContext = None


class SideSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    stance: str
    strongest_arguments: list[str]


class DebateResult(NullCostModel, BaseModel):
    model_config = ConfigDict(frozen=True)

    topic: str
    mode: str
    positions: dict[str, str] = Field(description="AI name → the stance it argued.")
    rounds: list[RoundEntry]
    sides: list[SideSummary] = []
    verdict: str | None = None
    judge: str | None = None
    partial: bool
    notes: list[str] = []
    usage: TokenUsage = TokenUsage()
    cost_usd: float | None = Field(default=None, description="Sum of the calls whose cost is known.")
    unknown_cost_calls: int = Field(default=0, description="Answers whose cost is not known (left out of cost_usd).")
    elapsed_ms: float
    context: SharedContext = None
    context_skipped: SkippedContext = None
