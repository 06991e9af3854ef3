"""`reasoning_effort` (minimal | low | medium | high) in each provider's terms.

OpenAI-compatible APIs take the word itself. Gemini takes a thinking configuration: Gemini 3 and later a
`thinking_level` (the same four words), Gemini 2.x a `thinking_budget` in tokens. The 2.5 budgets follow the
documented ranges: Flash and Flash-Lite may switch thinking off (0), Pro thinks at least 128 tokens; the top
budget is each family's maximum.
"""

from __future__ import annotations

from google.genai import types as gtypes

from junior_ai.core.config import ReasoningEffort

_BUDGETS: dict[ReasoningEffort, int] = {"minimal": 0, "low": 1_024, "medium": 8_192, "high": 24_576}
_PRO_BUDGETS: dict[ReasoningEffort, int] = {"minimal": 128, "low": 1_024, "medium": 8_192, "high": 32_768}
_LEVELS: dict[ReasoningEffort, gtypes.ThinkingLevel] = {
    "minimal": gtypes.ThinkingLevel.MINIMAL,
    "low": gtypes.ThinkingLevel.LOW,
    "medium": gtypes.ThinkingLevel.MEDIUM,
    "high": gtypes.ThinkingLevel.HIGH,
}


def gemini_thinking(model: str, effort: ReasoningEffort) -> gtypes.ThinkingConfig:
    name = model.lower().removeprefix("models/")
    if name.startswith(("gemini-1", "gemini-2")):
        budgets = _PRO_BUDGETS if "pro" in name else _BUDGETS
        return gtypes.ThinkingConfig(thinking_budget=budgets[effort])
    return gtypes.ThinkingConfig(thinking_level=_LEVELS[effort])
