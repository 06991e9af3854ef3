"""The one "did you mean" used by every error that names a wrong word next to the valid ones."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str], *, n: int = 1, cutoff: float = 0.6) -> str:
    """`" Did you mean 'gemini'?"` (or `'a' or 'b'` for n > 1) when a choice is close to `word`, else ""."""
    close = difflib.get_close_matches(word, list(choices), n=n, cutoff=cutoff)
    return f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
