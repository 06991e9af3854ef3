"""Context by reference: files, directories, git diffs, images and PDFs for the other AIs.

`load_context` is what a tool calls: it builds the boundary (`boundary.py`) from the host's roots and the
settings, then assembles the context (`assemble.py`) in a worker thread, once per tool call.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import cast, get_args

import anyio.to_thread

from junior_ai.ai.types import GenerateRequest
from junior_ai.core.config import JuniorConfig, ReasoningEffort
from junior_ai.core.errors import InvalidInputError
from junior_ai.tools.context.assemble import ContextBundle, Limits, assemble_context
from junior_ai.tools.context.boundary import Boundary
from junior_ai.tools.context.items import ContextItem, SkippedItem
from junior_ai.tools.validation import MAX_PROMPT_CHARS

MAX_FILES = 100
MAX_DIFF_SPEC = 200

__all__ = [
    "Boundary",
    "ContextBundle",
    "ContextItem",
    "SkippedItem",
    "boundary_for",
    "describe_context",
    "load_context",
    "with_context",
]


def boundary_for(config: JuniorConfig, client_roots: Sequence[Path] | None = None) -> Boundary:
    settings = config.settings
    return Boundary.build(
        client_roots=client_roots,
        allowed_paths=settings.allowed_paths,
        cwd=Path.cwd(),
        home=Path.home(),
        credentials_file=config.source,
        allow_patterns=settings.context_allow,
        secret_values=[ai.api_key.get_secret_value() for ai in config.ais if ai.api_key is not None],
    )


async def load_context(
    config: JuniorConfig,
    files: Sequence[str] | None,
    diff: str | None,
    *,
    client_roots: Sequence[Path] | None = None,
    prompt_chars: int = 0,
) -> ContextBundle:
    """The context for one tool call (empty when neither files nor diff are given). Raises `InvalidInputError`."""
    if not files and diff is None:
        return ContextBundle()
    if files is not None and len(files) > MAX_FILES:
        raise InvalidInputError(f"files lists {len(files)} paths; the limit is {MAX_FILES}. Pass a directory instead.")
    if diff is not None and len(diff) > MAX_DIFF_SPEC:
        raise InvalidInputError(f"diff is {len(diff)} characters; a revision spec is at most {MAX_DIFF_SPEC}.")
    boundary = boundary_for(config, client_roots)
    settings = config.settings
    limits = Limits(
        max_file_bytes=settings.context_max_file_bytes,
        max_call_bytes=settings.context_max_call_bytes,
        max_chars=MAX_PROMPT_CHARS,
    )
    run = partial(assemble_context, files, diff, boundary, limits, prompt_chars=prompt_chars)
    return await anyio.to_thread.run_sync(run)


def with_context(request: GenerateRequest, bundle: ContextBundle, effort: str | None) -> GenerateRequest:
    """`request` carrying the call's context and reasoning effort (the same parts object for every AI)."""
    if bundle.empty and effort is None:
        return request
    return request.model_copy(update={"context": bundle.parts, "reasoning_effort": as_effort(effort)})


def as_effort(value: str | None) -> ReasoningEffort | None:
    """An arguments model's checked `reasoning_effort` (a plain string in the schema) as the request's type."""
    if value is None:
        return None
    if value not in get_args(ReasoningEffort):
        raise InvalidInputError(f"reasoning_effort must be one of {', '.join(get_args(ReasoningEffort))}.")
    return cast(ReasoningEffort, value)


def describe_context(items: Sequence[ContextItem] | None, skipped: Sequence[SkippedItem] | None = None) -> str:
    """The readable account of what left the machine, for the text next to a structured result."""
    if not items and not skipped:
        return ""
    lines = []
    if items:
        total = sum(i.tokens_estimate for i in items)
        lines.append(f"Context sent ({len(items)} item(s), ~{total:,} tokens):")
        lines.extend(f"- {i.path} ({i.kind}, {i.bytes:,} bytes, ~{i.tokens_estimate:,} tokens)" for i in items)
    if skipped:
        lines.append(f"Not sent ({len(skipped)}):")
        lines.extend(f"- {s.path}: {s.reason}" for s in skipped)
    return "\n".join(lines) + "\n\n"
