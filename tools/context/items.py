"""What the result says about the context: every item that left the machine, and every file left out."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import SkipJsonSchema

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


# Result fields: in the structured result, but left out of the published output schemas. Those admit any extra
# property, the text rendering lists the context anyway, and a host re-reads `tools/list` on every turn.
SharedContext = SkipJsonSchema[list[ContextItem] | None]
"""Every item that left the machine: path, kind (text | image | pdf | diff), bytes, tokens_estimate."""
SkippedContext = SkipJsonSchema[list[SkippedItem] | None]
"""Files a directory or diff held that were not sent, and why."""
