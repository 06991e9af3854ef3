"""The one "did you mean" used by every error that names a wrong word next to the valid ones."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str], *, n: int = 1, cutoff: float = 0.6) -> str:
    """`" Did you mean 'gemini'?"` (or `'a' or 'b'` for n > 1) when a choice is close to `word`, else ""."""
    if len(word) > 200:  # no real name is this long, and difflib's cost grows with the product of the lengths
        return ""
    close = difflib.get_close_matches(word, list(choices), n=n, cutoff=cutoff)
    return f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


MAX_QUOTED_CHARS = 60


def quoted(word: str, limit: int = MAX_QUOTED_CHARS) -> str:
    """`word` as an error quotes it: repr'd, and cut short (with its length) past `limit` characters, so an
    "unknown ..." error never echoes a 400,000-character value back to a host's context."""
    if len(word) <= limit:
        return repr(word)
    return f"{word[:limit]!r}... ({len(word):,} characters)"
