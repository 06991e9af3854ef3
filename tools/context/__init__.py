"""Context by reference: files, directories, git diffs, images and PDFs for the other AIs.

`load_context` is what a tool calls: it builds the boundary (`boundary.py`) from the host's roots and the
settings, then assembles the context (`assemble.py`) in a worker thread, once per tool call.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

import anyio.to_thread

from junior_ai.core.config import JuniorConfig
from junior_ai.tools.context.assemble import ContextBundle, Limits, assemble_context
from junior_ai.tools.context.boundary import Boundary
from junior_ai.tools.context.items import ContextItem, SkippedItem
from junior_ai.tools.validation import MAX_PROMPT_CHARS

__all__ = ["Boundary", "ContextBundle", "ContextItem", "SkippedItem", "boundary_for", "load_context"]


def boundary_for(config: JuniorConfig, client_roots: Sequence[Path] | None = None) -> Boundary:
    settings = config.settings
    return Boundary.build(
        client_roots=client_roots,
        allowed_paths=settings.allowed_paths,
        cwd=Path.cwd(),
        home=Path.home(),
        credentials_file=config.source,
        allow_patterns=settings.context_allow,
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
    boundary = boundary_for(config, client_roots)
    settings = config.settings
    limits = Limits(
        max_file_bytes=settings.context_max_file_bytes,
        max_call_bytes=settings.context_max_call_bytes,
        max_chars=MAX_PROMPT_CHARS,
    )
    run = partial(assemble_context, files, diff, boundary, limits, prompt_chars=prompt_chars)
    return await anyio.to_thread.run_sync(run)
