"""`diff`: a git revision spec turned into a diff, by the real `git`, in the repository of the first root.

- `HEAD`: uncommitted changes, staged and unstaged, against HEAD, plus untracked files that are not ignored;
- `staged`: what `git commit` would commit;
- `A...B` / `A..B`: the changes between two revisions (`main...HEAD`: this branch since it left main);
- anything else names one commit: its message and changes.

Only the part of the repository under the allowed root is diffed, and secret-looking files (see `boundary`) are
left out of the diff and listed as skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from junior_ai.core.errors import InvalidInputError
from junior_ai.tools.context.boundary import Boundary
from junior_ai.tools.context.kinds import sniff

_REVISION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./~^@{}:+-]{0,199}$")
_GIT_TIMEOUT_S = 60.0
_PLAIN = ("--no-color", "--no-ext-diff", "--no-textconv")
"""A repository's own config must not run programs for us: no external diff drivers, no textconv filters."""
_SAFE_CONFIG = (
    # Programs a repository's config could make git run while we only read: never ours to run.
    ("core.fsmonitor", "false"),
    ("diff.external", ""),
    ("log.showSignature", "false"),  # would run gpg.program on `git show`
    ("diff.submodule", "short"),  # `log` runs git inside each submodule, under the submodule's config
    # What the diff looks like is ours to say, not the repository's: the AI reads a standard unified diff.
    ("color.ui", "never"),
    ("core.quotepath", "off"),
    ("diff.noprefix", "false"),
    ("diff.mnemonicPrefix", "false"),
    ("diff.srcPrefix", "a/"),
    ("diff.dstPrefix", "b/"),
    ("diff.relative", "false"),
    ("diff.context", "3"),
    ("diff.interHunkContext", "0"),
    ("diff.suppressBlankEmpty", "false"),
    ("diff.orderFile", "/dev/null"),  # no order file (it could name a FIFO that never answers)
    ("log.date", "default"),
    ("i18n.logOutputEncoding", "UTF-8"),
)
"""Given as GIT_CONFIG_COUNT/KEY/VALUE (the command-line scope: above every config file, and any key or value
passes unmangled, which `-c name=value` does not promise)."""
_FILTER_VARIABLES = ("clean", "smudge", "process")


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
    neutral = _neutral_filters(root, spec)
    if spec == "HEAD":
        base = ["diff", "HEAD"]
    elif spec == "staged":
        base = ["diff", "--cached"]
    elif ".." in spec:
        base = ["diff", spec]
    else:
        _git(root, ["rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}"], spec)
        base = ["show", "--format=commit %H%nAuthor: %an%nDate: %ad%n%n%B", spec]
    names = [n for n in _git(root, [*_names_args(base), "-z", "--", "."], spec, neutral).split("\0") if n]
    top = Path(_git(root, ["rev-parse", "--show-toplevel"], spec).strip())
    skipped: list[tuple[str, str]] = []
    excluded: list[str] = []
    for name in names:
        reason = _secret(boundary, top / name)
        if reason is not None:
            skipped.append((name, reason))
            excluded.append(f":(exclude,top,literal){name}")
    # `git diff HEAD` runs each changed file's clean filter (named by .gitattributes, defined in the config):
    # with every defined filter emptied, the worktree's bytes are compared as they are.
    text = _git(root, [*base, *_PLAIN, "--", ".", *excluded], spec, neutral)
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
    if boundary.is_credentials_file(str(resolved)):  # its name, or a hard link to it
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


def _neutral_filters(root: Path, spec: str) -> tuple[tuple[str, str], ...]:
    """Overrides that empty every filter driver the configuration defines (git runs no filter whose command is
    empty). Attributes cannot be switched off for the worktree's `.gitattributes`, but a filter is only run
    when the config defines it, and the config (every file, includes too) is read here without running anything."""
    try:
        listing = _git(root, ["config", "-z", "--name-only", "--get-regexp", r"^filter\."], spec)
    except InvalidInputError:
        return ()  # git config exits 1 when nothing matches: no filters defined
    names = {
        key[len("filter.") : -len(variable) - 1]
        for key in listing.split("\0")
        for variable in (*_FILTER_VARIABLES, "required")
        if key.lower().startswith("filter.") and key.lower().endswith("." + variable)
    }
    overrides = [(f"filter.{name}.{variable}", "") for name in sorted(names) for variable in _FILTER_VARIABLES]
    return (*overrides, *((f"filter.{name}.required", "false") for name in sorted(names)))


def _environment(overrides: Sequence[tuple[str, str]]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GIT_EXTERNAL_DIFF", "GIT_DIFF_OPTS", "GIT_PAGER")}
    settings = [*_SAFE_CONFIG, *overrides]
    env["GIT_CONFIG_COUNT"] = str(len(settings))
    for index, (key, value) in enumerate(settings):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


def _git(cwd: Path, args: list[str], spec: str, overrides: Sequence[tuple[str, str]] = ()) -> str:
    git = shutil.which("git")
    if git is None:
        raise InvalidInputError(
            "diff needs git, which is not installed or not on PATH. Install git (e.g. apt install git) and retry, "
            "or pass the changed files with `files` instead."
        )
    try:
        done = subprocess.run(  # noqa: S603 - fixed executable, arguments are ours or a checked revision
            [git, "--no-pager", *args],
            cwd=cwd,
            env=_environment(overrides),
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
