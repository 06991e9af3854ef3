"""`diff`: a git revision spec turned into a diff, by the real `git`, in the repository of the first root.

- `HEAD`: uncommitted changes, staged and unstaged, against HEAD, plus untracked files that are not ignored;
- `staged`: what `git commit` would commit;
- `A...B` / `A..B`: the changes between two revisions (`main...HEAD`: this branch since it left main);
- anything else names one commit: its message and changes.

Only the part of the repository under the allowed root is diffed, and secret-looking files (see `boundary`) are
left out of the diff and listed as skipped.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from junior_ai.core.errors import InvalidInputError
from junior_ai.tools.context.boundary import Boundary
from junior_ai.tools.context.kinds import sniff

_REVISION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./~^@{}:+-]{0,199}$")
_GIT_TIMEOUT_S = 60.0
_PLAIN = ("--no-color", "--no-ext-diff", "--no-textconv")
"""A repository's own config must not run programs for us: no external diff drivers, no textconv filters."""
_SAFE_CONFIG = ("-c", "core.fsmonitor=false", "-c", "color.ui=never")
"""core.fsmonitor in a repository's config names a program git runs on diff and ls-files: never ours to run."""


@dataclass(frozen=True)
class Diff:
    spec: str
    text: str
    skipped: tuple[tuple[str, str], ...]
    """(path, reason) of changed files left out."""


def git_diff(spec: str, boundary: Boundary, max_bytes: int) -> Diff:
    spec = spec.strip()
    if not spec:
        raise InvalidInputError(
            'diff is empty. Pass "HEAD" (uncommitted changes), "staged", "main...HEAD" or a commit.'
        )
    root = boundary.roots[0]
    if spec != "staged" and not all(_REVISION.match(part) for part in re.split(r"\.{2,3}", spec)):
        raise InvalidInputError(
            f'diff {spec!r} is not a revision spec. Use "HEAD" (uncommitted changes), "staged", "main...HEAD" '
            "or a commit id."
        )
    _git(root, ["rev-parse", "--show-toplevel"], spec)  # a clear error when this is not a repository
    if spec == "HEAD":
        base = ["diff", "HEAD"]
    elif spec == "staged":
        base = ["diff", "--cached"]
    elif ".." in spec:
        base = ["diff", spec]
    else:
        _git(root, ["rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}"], spec)
        base = ["show", "--format=commit %H%nAuthor: %an%nDate: %ad%n%n%B", spec]
    names = [n for n in _git(root, [*_names_args(base), "-z", "--", "."], spec).split("\0") if n]
    top = Path(_git(root, ["rev-parse", "--show-toplevel"], spec).strip())
    skipped: list[tuple[str, str]] = []
    excluded: list[str] = []
    for name in names:
        reason = _secret(boundary, top / name)
        if reason is not None:
            skipped.append((name, reason))
            excluded.append(f":(exclude,top,literal){name}")
    text = _git(root, ["-c", "core.quotepath=off", *base, *_PLAIN, "--", ".", *excluded], spec)
    if spec == "HEAD":
        text += _untracked(root, boundary, skipped, max_bytes)
    if not text.strip():
        raise InvalidInputError(f"diff {spec!r} is empty in {root}: there are no changes to show. Nothing was sent.")
    return Diff(spec=spec, text=text, skipped=tuple(skipped))


def _names_args(base: list[str]) -> list[str]:
    if base[0] == "show":
        return ["show", "--format=", "--name-only", base[-1]]
    return [*base, "--name-only"]


def _secret(boundary: Boundary, path: Path) -> str | None:
    resolved = Path(path)
    root = boundary.root_of(resolved)
    if root is None:
        return "outside the allowed roots"
    if resolved in boundary.credentials_files:
        return "Junior AI's credentials file"
    reason = boundary.secret_reason(resolved, root)
    return f"looks like a secret ({reason})" if reason else None


def _untracked(root: Path, boundary: Boundary, skipped: list[tuple[str, str]], max_bytes: int) -> str:
    """New files git does not track yet (and does not ignore), as additions."""
    listing = _git(root, ["ls-files", "--others", "--exclude-standard", "-z", "--", "."], "HEAD")
    blocks = []
    for name in sorted(n for n in listing.split("\0") if n):
        path = root / name
        reason = _secret(boundary, Path(path.resolve()))
        if reason is not None:
            skipped.append((name, reason))
            continue
        try:
            if path.stat().st_size > max_bytes:
                skipped.append((name, f"untracked file over the {max_bytes:,}-byte file limit"))
                continue
            data = path.read_bytes()
        except OSError as exc:
            skipped.append((name, f"unreadable ({exc.strerror})"))
            continue
        if sniff(data)[0] != "text":
            skipped.append((name, "untracked binary file"))
            continue
        lines = data.decode("utf-8").splitlines()
        added = "".join(f"+{line}\n" for line in lines)
        blocks.append(
            f"diff --git a/{name} b/{name}\nnew file (untracked)\n--- /dev/null\n+++ b/{name}\n"
            f"@@ -0,0 +1,{len(lines)} @@\n{added}"
        )
    return "".join(blocks)


def _git(cwd: Path, args: list[str], spec: str) -> str:
    git = shutil.which("git")
    if git is None:
        raise InvalidInputError(
            "diff needs git, which is not installed or not on PATH. Install git (e.g. apt install git) and retry, "
            "or pass the changed files with `files` instead."
        )
    try:
        done = subprocess.run(  # noqa: S603 - fixed executable, arguments are ours or a checked revision
            [git, *_SAFE_CONFIG, *args],
            cwd=cwd,
            capture_output=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise InvalidInputError(f"git took longer than {_GIT_TIMEOUT_S:.0f} s for diff {spec!r} in {cwd}.") from None
    error = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode != 0:
        if "not a git repository" in error.lower():
            raise InvalidInputError(
                f"diff needs a git repository, but {cwd} (the first allowed root) is not in one. Pass files "
                "instead, or set allowed_paths / start the server inside the repository."
            )
        if args[:2] == ["rev-parse", "--verify"] or "unknown revision" in error or "bad revision" in error:
            raise InvalidInputError(
                f'diff {spec!r}: git does not know this revision in {cwd}. Use "HEAD", "staged", '
                '"main...HEAD" or a commit id (git log --oneline shows them).'
            )
        raise InvalidInputError(f"git failed for diff {spec!r} in {cwd}: {error[:300]}")
    return done.stdout.decode("utf-8", "replace")
