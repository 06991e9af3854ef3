"""Directory expansion: every file under a directory that git would not ignore, in a stable (sorted) order.

`.gitignore` files are read at every level (and `.git/info/exclude` at the repository's top) with gitignore
semantics (`patterns.py`): the deepest file with a matching pattern decides, and an ignored directory is not
entered at all, as in git. `.gitignore` files above the directory, up to the repository's top, apply too. VCS
internals are never entered; symlinked directories are not followed (a link may lead anywhere, or round in a
loop). Paths are plain strings here: a walk meets thousands of files, and pathlib costs several times more.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from junior_ai.tools.context.patterns import PatternSet

VCS_DIRS = frozenset({".git", ".hg", ".svn", ".jj", ".bzr"})


@dataclass(frozen=True)
class Found:
    relative: str
    """Below the walked directory, with `/` separators."""
    absolute: str
    is_link: bool
    skipped: str | None = None
    regular: bool = False
    """A regular file, not a symlink (from the directory listing: known without a stat)."""
    """Set when the entry is left out before any reading (a VCS folder, a symlinked directory)."""


@dataclass(frozen=True)
class _Rules:
    base: str
    """The directory the .gitignore sits in, with a trailing separator."""
    patterns: PatternSet

    def verdict(self, absolute: str, is_dir: bool) -> bool | None:
        return self.patterns.verdict(absolute[len(self.base) :] + ("/" if is_dir else ""))


def _rules_in(directory: str, name: str = ".gitignore") -> _Rules | None:
    try:
        with open(os.path.join(directory, name), encoding="utf-8", errors="replace") as handle:
            patterns = PatternSet(handle.read().splitlines())
    except OSError:
        return None
    return _Rules(directory.rstrip(os.sep) + os.sep, patterns) if patterns else None


def _inherited(directory: Path) -> list[_Rules]:
    """Rules from the repository's top down to (not including) `directory`."""
    top = next((p for p in (directory, *directory.parents) if (p / ".git").exists()), None)
    rules: list[_Rules] = []
    if top is None:
        return rules
    exclude = _rules_in(str(top / ".git" / "info"), "exclude")
    if exclude is not None:
        rules.append(_Rules(str(top).rstrip(os.sep) + os.sep, exclude.patterns))
    if top != directory:
        chain = [p for p in reversed(directory.parents) if p == top or p.is_relative_to(top)]
        rules.extend(r for r in (_rules_in(str(p)) for p in chain) if r is not None)
    return rules


def _ignored(rules: list[_Rules], absolute: str, is_dir: bool) -> bool:
    for rule in reversed(rules):
        verdict = rule.verdict(absolute, is_dir)
        if verdict is not None:
            return verdict
    return False


def walk(directory: Path) -> Iterator[Found]:
    """Every file under `directory` (resolved) that is not git-ignored, sorted by path."""
    yield from _walk(str(directory), "", _inherited(directory))


def _walk(directory: str, prefix: str, rules: list[_Rules]) -> Iterator[Found]:
    own = _rules_in(directory)
    if own is not None:
        rules = [*rules, own]
    try:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        relative = prefix + entry.name
        try:
            is_link = entry.is_symlink()
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            continue
        if is_dir:
            if entry.name in VCS_DIRS:
                yield Found(relative, entry.path, is_link=False, skipped="version-control internals")
            elif not _ignored(rules, entry.path, is_dir=True):
                yield from _walk(entry.path, relative + "/", rules)
            continue
        if is_link and os.path.isdir(entry.path):
            if not _ignored(rules, entry.path, is_dir=True):
                reason = "symlinked directory (not followed; pass it by path)"
                yield Found(relative, entry.path, is_link=True, skipped=reason)
            continue
        if not _ignored(rules, entry.path, is_dir=False):
            regular = not is_link and entry.is_file(follow_symlinks=False)
            yield Found(relative, entry.path, is_link=is_link, regular=regular)
