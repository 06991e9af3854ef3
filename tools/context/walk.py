"""Directory expansion: every file under a directory that git would not ignore, in a stable (sorted) order.

`.gitignore` files are read at every level (and `.git/info/exclude` at the repository's top) with `pathspec`'s
gitignore semantics: the deepest file with a matching pattern decides, and an ignored directory is not entered
at all, as in git. `.gitignore` files above the directory, up to the repository's top, apply too. VCS internals
are never entered; symlinked directories are not followed (a link may lead anywhere, or round in a loop).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pathspec

VCS_DIRS = frozenset({".git", ".hg", ".svn", ".jj", ".bzr"})


@dataclass(frozen=True)
class Found:
    path: Path
    """As reached inside the directory (not resolved): what the file is called."""
    is_link: bool
    skipped: str | None = None
    """Set when the entry is left out before any reading (a VCS folder, a symlinked directory)."""


@dataclass(frozen=True)
class _Rules:
    base: Path
    spec: pathspec.GitIgnoreSpec

    def verdict(self, path: Path, is_dir: bool) -> bool | None:
        """True: ignored; False: re-included by a `!pattern`; None: no pattern here speaks of it."""
        relative = path.relative_to(self.base).as_posix() + ("/" if is_dir else "")
        return self.spec.check_file(relative).include


def _rules_in(directory: Path, name: str = ".gitignore") -> _Rules | None:
    try:
        lines = (directory / name).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    spec = pathspec.GitIgnoreSpec.from_lines(lines)
    return _Rules(directory, spec) if spec.patterns else None


def _inherited(directory: Path) -> list[_Rules]:
    """Rules from the repository's top down to (not including) `directory`."""
    top = next((p for p in (directory, *directory.parents) if (p / ".git").exists()), None)
    if top is None or top == directory:
        chain: list[Path] = []
    else:
        chain = [p for p in reversed(directory.parents) if p == top or p.is_relative_to(top)]
    rules: list[_Rules] = []
    if top is not None:
        exclude = _rules_in(top / ".git" / "info", "exclude")
        if exclude is not None:
            rules.append(_Rules(top, exclude.spec))
    rules.extend(r for r in (_rules_in(p) for p in chain) if r is not None)
    # Rules of ancestors must still judge `directory` itself: a caller naming an ignored folder gets nothing.
    return rules


def _ignored(rules: list[_Rules], path: Path, is_dir: bool) -> bool:
    for rule in reversed(rules):
        verdict = rule.verdict(path, is_dir)
        if verdict is not None:
            return verdict
    return False


def walk(directory: Path) -> Iterator[Found]:
    """Every file under `directory` that is not git-ignored, sorted by path."""
    rules = _inherited(directory)
    yield from _walk(directory, rules)


def _walk(directory: Path, rules: list[_Rules]) -> Iterator[Found]:
    own = _rules_in(directory)
    if own is not None:
        rules = [*rules, own]
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        path = Path(entry.path)
        is_link = entry.is_symlink()
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            continue
        if is_dir:
            if entry.name in VCS_DIRS:
                yield Found(path, is_link=False, skipped="version-control internals")
            elif not _ignored(rules, path, is_dir=True):
                yield from _walk(path, rules)
            continue
        if is_link and os.path.isdir(path):
            if not _ignored(rules, path, is_dir=True):
                yield Found(path, is_link=True, skipped="symlinked directory (not followed; pass it by path)")
            continue
        if not _ignored(rules, path, is_dir=False):
            yield Found(path, is_link=is_link)
