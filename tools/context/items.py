"""What the result says about the context: every item that left the machine, and every file left out."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

ContextKind = Literal["text", "image", "pdf", "diff"]


class ContextItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    kind: ContextKind
    bytes: int
    tokens_estimate: int


class SkippedItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    reason: str
