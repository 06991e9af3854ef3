"""The JSON shapes the AIs are asked to answer in during consensus and debate, as pydantic models.

One model gives both directions: `request_schema` is what the provider is asked to produce, and `read_answer`
parses what came back. AIs do not always comply (prose around the JSON, code fences, a string where a list was
asked for), so reading is lenient: lists accept a lone string, a confidence out of range is dropped, unknown
keys are ignored. An answer that is not JSON at all is the caller's to handle (consensus keeps it as a bare
recommendation).
"""

from __future__ import annotations

import re
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

M = TypeVar("M", bound=BaseModel)


def _as_str_list(value: Any) -> Any:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [str(item) for item in value if str(item).strip()]
    return value


class AnswerModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Stance(AnswerModel):
    """One AI's answer in a consensus round."""

    recommendation: str = Field(description="Your answer in one or two sentences.")
    key_reasons: list[str] = []
    risks: list[str] = []
    confidence: float | None = Field(default=None, ge=0, le=1)
    option: str | None = None

    _lists = field_validator("key_reasons", "risks", mode="before")(_as_str_list)

    @field_validator("confidence", mode="before")
    @classmethod
    def _confidence(cls, value: Any) -> Any:
        return value if isinstance(value, int | float) and 0 <= value <= 1 else None

    def quoted(self) -> str:
        """How other AIs and the judge see this answer (its critique and change flag are not theirs to read)."""
        return self.model_dump_json(include={"recommendation", "key_reasons", "risks", "confidence", "option"},
                                    exclude_none=True, indent=1)  # fmt: skip


class CritiquedStance(Stance):
    """An answer in a critique round: the critique of the others, and whether this AI changed its mind."""

    critique: str = Field(default="", description="What the other answers get right and wrong.")
    changed: bool = Field(default=False, description="True if your recommendation changed.")


class DissentPoint(AnswerModel):
    ai: str
    point: str


class ConsensusVerdict(AnswerModel):
    answer: str = Field(description="The consensus recommendation.")
    agreement: Literal["unanimous", "majority", "split"] | None = None
    supporters: list[str] = Field(default=[], description="AIs that support the answer.")
    dissent: list[DissentPoint] = []
    risks: list[str] = []

    _lists = field_validator("supporters", "risks", mode="before")(_as_str_list)

    @field_validator("agreement", mode="before")
    @classmethod
    def _agreement(cls, value: Any) -> Any:
        return value if value in {"unanimous", "majority", "split"} else None

    @field_validator("dissent", mode="before")
    @classmethod
    def _dissent(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return []
        return [d for d in value if isinstance(d, dict) and d.get("point")]


class DebateSide(AnswerModel):
    stance: str
    strongest_arguments: list[str] = []

    _lists = field_validator("strongest_arguments", mode="before")(_as_str_list)


class DebateVerdict(AnswerModel):
    sides: list[DebateSide] = []
    verdict: str = Field(default="", description="Which position is better supported, and why.")

    @field_validator("sides", mode="before")
    @classmethod
    def _sides(cls, value: Any) -> Any:
        return [s for s in value if isinstance(s, dict) and "stance" in s] if isinstance(value, list) else []


def request_schema(model: type[BaseModel], *, options: list[str] | None = None) -> dict[str, Any]:
    """The JSON Schema a provider is asked to answer in: every property required (the reading stays lenient),
    `option` restricted to `options` when there are options and left out when there are none."""
    schema = model.model_json_schema()
    properties: dict[str, Any] = {}
    for name, declared in schema["properties"].items():
        spec = {key: value for key, value in declared.items() if key not in {"title", "default"}}
        if "anyOf" in spec:  # `X | None`: ask for X
            spec = {**next(s for s in spec.pop("anyOf") if s.get("type") != "null"), **spec}
        properties[name] = spec
    properties.pop("option", None)
    if options:
        properties["option"] = {"type": "string", "enum": options}
    result: dict[str, Any] = {"type": "object", "properties": properties, "required": list(properties)}
    if "$defs" in schema:
        result["$defs"] = {
            name: {"type": "object", "properties": spec["properties"], "required": list(spec["properties"])}
            for name, spec in schema["$defs"].items()
        }
    return result


def read_answer(model: type[M], text: str | None) -> M | None:
    """The answer in `text` as `model`, tolerating code fences and prose around the JSON; None when no JSON
    object in it fits."""
    if not text:
        return None
    candidates = [text.strip()]
    fenced = re.search(r"```(?:json)?\s*(\{.*?\})\s*```", text, flags=re.DOTALL)
    if fenced:
        candidates.append(fenced.group(1))
    first, last = text.find("{"), text.rfind("}")
    if 0 <= first < last:
        candidates.append(text[first : last + 1])
    for candidate in candidates:
        try:
            return model.model_validate_json(candidate)
        except ValidationError:
            continue
    return None
