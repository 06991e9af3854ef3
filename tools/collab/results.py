"""Results of the collaborative tools (consensus, debate) and the JSON shapes the AIs are asked to answer in."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from junior_ai.core.errors import CallStatus
from junior_ai.core.usage import TokenUsage


def stance_schema(options: list[str] | None, *, critique: bool) -> dict[str, Any]:
    """The structure every consensus answer is asked for (and, in critique rounds, what changed)."""
    properties: dict[str, Any] = {
        "recommendation": {"type": "string", "description": "Your answer in one or two sentences."},
        "key_reasons": {"type": "array", "items": {"type": "string"}},
        "risks": {"type": "array", "items": {"type": "string"}},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    }
    required = ["recommendation", "key_reasons", "risks", "confidence"]
    if options:
        properties["option"] = {"type": "string", "enum": options}
        required.append("option")
    if critique:
        properties = {
            "critique": {"type": "string", "description": "What the other answers get right and wrong."},
            "changed": {"type": "boolean", "description": "True if your recommendation changed."},
            **properties,
        }
        required = ["critique", "changed", *required]
    return {"type": "object", "properties": properties, "required": required}


JUDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "answer": {"type": "string", "description": "The consensus recommendation."},
        "agreement": {"type": "string", "enum": ["unanimous", "majority", "split"]},
        "supporters": {"type": "array", "items": {"type": "string"}, "description": "AIs that support the answer."},
        "dissent": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"ai": {"type": "string"}, "point": {"type": "string"}},
                "required": ["ai", "point"],
            },
        },
        "risks": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["answer", "agreement", "supporters", "dissent", "risks"],
}


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


class ConsensusResult(BaseModel):
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
    cost_usd: float | None = None
    elapsed_ms: float


class SideSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    stance: str
    strongest_arguments: list[str]


class DebateResult(BaseModel):
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
    cost_usd: float | None = None
    elapsed_ms: float
