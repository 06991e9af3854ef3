"""gitignore-style pattern sets, matched fast: a directory walk asks about every file it meets.

`pathspec` parses the patterns (gitignore semantics: `*`, `**`, anchoring, directory-only patterns). A set
without negations is then matched with one combined regular expression, which is what almost every set is; a
set with `!` patterns keeps pathspec's own last-match-wins check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pathspec


class PatternSet:
    def __init__(self, lines: Iterable[str]) -> None:
        self.spec = pathspec.GitIgnoreSpec.from_lines(lines)
        active = [p for p in self.spec.patterns if p.include is not None and p.regex is not None]
        self.negated = any(not p.include for p in active)
        sources = [p.regex.pattern.replace("(?P<ps_d>/)", "/") for p in active]  # type: ignore[union-attr]
        self._any = re.compile("|".join(f"(?:{s})" for s in sources)) if sources else None

    def __bool__(self) -> bool:
        return self._any is not None

    def verdict(self, relative: str) -> bool | None:
        """True: matched (ignored); False: re-included by a `!pattern`; None: no pattern speaks of it."""
        if self._any is None:
            return None
        if not self.negated:
            return True if self._any.match(relative) else None
        return self.spec.check_file(relative).include

    def matching(self, relative: str) -> int | None:
        """The index of the pattern that decides `relative`, when it is matched (for messages)."""
        if self._any is None or not self._any.match(relative):
            return None
        result = self.spec.check_file(relative)
        return result.index if result.include else None
