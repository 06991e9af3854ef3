"""The per-request options every entry point shares (tools, batch, map, the library), in one place.

`reasoning_effort` is passed on only when the installed request type has it (it arrives with the reasoning
work); asking for it before then is a clear error rather than a silently ignored option.
"""

from __future__ import annotations

from typing import Any

from junior_ai.ai.types import GenerateRequest
from junior_ai.core.errors import InvalidInputError


def request_from_prompt(
    prompt: str,
    *,
    system: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    json_schema: dict[str, Any] | None = None,
    reasoning_effort: str | None = None,
) -> GenerateRequest:
    options: dict[str, Any] = {
        "system": system or None,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "json_schema": json_schema,
    }
    if reasoning_effort is not None:
        if "reasoning_effort" not in GenerateRequest.model_fields:
            raise InvalidInputError(
                "reasoning_effort is not supported by this version of Junior AI; leave it out, or upgrade."
            )
        options["reasoning_effort"] = reasoning_effort
    return GenerateRequest.from_prompt(prompt, **options)
