"""Assembling one tool call's context: check every path, read every file once, build the parts every AI gets.

Nothing is read until every named path has passed the boundary; nothing is sent when any item is refused or a
limit is exceeded (the error lists every problem, or the largest items). The result is built once per tool
call and shared, unchanged, by every AI of a fan-out and every round of a consensus.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from junior_ai.ai.types import ContentPart, FilePart, TextPart
from junior_ai.core.errors import InvalidInputError
from junior_ai.tools.context.boundary import Boundary
from junior_ai.tools.context.gitdiff import git_diff
from junior_ai.tools.context.items import ContextItem, ContextKind, SkippedItem
from junior_ai.tools.context.kinds import image_tokens, pdf_text, pdf_tokens, sniff, text_tokens
from junior_ai.tools.context.walk import Found, walk

PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----")
"""A key's content, whatever the file is called: refused like a secret-looking name."""
MAX_LISTED_SKIPS = 100
"""Skipped files listed one by one; beyond this, one summary line (a vendored tree can skip thousands)."""


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int
    max_call_bytes: int
    max_chars: int
    """Text sent in all (prompt included): the 500,000-character cap of `tools.validation`."""


@dataclass(frozen=True)
class ContextBundle:
    parts: tuple[ContentPart, ...] = ()
    items: tuple[ContextItem, ...] = ()
    skipped: tuple[SkippedItem, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.parts


@dataclass
class _Candidate:
    shown: str
    resolved: str
    size: int
    explicit: bool


@dataclass
class _Plan:
    candidates: list[_Candidate] = field(default_factory=list)
    skipped: list[SkippedItem] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def add(self, candidate: _Candidate) -> None:
        if candidate.resolved not in self.seen:
            self.seen.add(candidate.resolved)
            self.candidates.append(candidate)


def assemble_context(
    files: Sequence[str] | None, diff: str | None, boundary: Boundary, limits: Limits, *, prompt_chars: int = 0
) -> ContextBundle:
    """Blocking (filesystem and git): run it in a worker thread. Raises `InvalidInputError`."""
    plan = _Plan()
    for given in files or ():
        try:
            _plan_path(given, boundary, limits, plan)
        except OSError as exc:  # a name too long, a permission denied on a parent folder...
            plan.problems.append(f"{given[:200]} cannot be accessed ({exc.strerror or type(exc).__name__}).")
    if plan.problems:
        raise _refused(plan.problems)
    _check_sizes(plan.candidates, limits)

    parts: list[ContentPart] = []
    items: list[ContextItem] = []
    read, chars = 0, prompt_chars
    for candidate in plan.candidates:
        before = len(items)
        _read_one(candidate, boundary, limits, parts, items, plan)
        if len(items) > before:
            read += items[-1].bytes
            chars += len(parts[-1].text) if isinstance(parts[-1], TextPart) else 0
        # A directory's files are measured as they are read: stop at the first limit passed (the check below
        # then refuses the call, naming the largest items), rather than reading a whole vendored tree first.
        if read > limits.max_call_bytes or chars > limits.max_chars:
            break
    if plan.problems:
        raise _refused(plan.problems)
    if diff is not None:
        found = git_diff(diff, boundary, limits.max_file_bytes)
        if PRIVATE_KEY.search(found.text.encode("utf-8")):
            raise InvalidInputError(
                f"nothing was sent: diff {found.spec!r} contains a private key block (-----BEGIN ... PRIVATE "
                "KEY-----). Take the key out of the change, or share the other files with `files`."
            )
        if boundary.secret_value_in(found.text):
            raise InvalidInputError(
                f"nothing was sent: diff {found.spec!r} contains one of the API keys Junior AI uses (a copy or link "
                "of its credentials file?). Take the key out of the change, or share the other files with `files`."
            )
        block = f"----- BEGIN git diff {found.spec} -----\n{found.text.rstrip()}\n----- END git diff {found.spec} -----"
        size = len(found.text.encode("utf-8"))
        parts.append(TextPart(text=block))
        items.append(
            ContextItem(path=f"git diff {found.spec}", kind="diff", bytes=size, tokens_estimate=text_tokens(len(block)))
        )
        plan.skipped.extend(SkippedItem(path=path, reason=reason) for path, reason in found.skipped)
    _check_total(parts, items, limits, prompt_chars)
    return ContextBundle(parts=tuple(parts), items=tuple(items), skipped=_listed(_unsent(plan.skipped, items)))


def _refused(problems: list[str]) -> InvalidInputError:
    head = "nothing was sent: " if len(problems) == 1 else f"nothing was sent ({len(problems)} problems): "
    return InvalidInputError(head + " ".join(problems))


def _plan_path(given: str, boundary: Boundary, limits: Limits, plan: _Plan) -> None:
    if not given or not given.strip() or "\0" in given:
        plan.problems.append(f"files has an empty or invalid path {given!r}.")
        return
    resolved = boundary.resolve(given)
    if boundary.root_of(resolved) is None:  # before looking: outside the roots, even existence is not ours to tell
        plan.problems.append(boundary.refusal(given, resolved) or f"{given} is outside the allowed roots.")
        return
    if not resolved.exists():
        start = "" if Path(given).expanduser().is_absolute() else f"; relative paths start at {boundary.roots[0]}"
        plan.problems.append(f"{given} does not exist (looked for {resolved}{start}).")
        return
    is_dir = resolved.is_dir()
    refusal = boundary.refusal(given, resolved, is_dir=is_dir)
    if refusal is not None:
        plan.problems.append(refusal)
        return
    if not is_dir:
        if not resolved.is_file():
            plan.problems.append(f"{given} is not a regular file.")
            return
        plan.add(_Candidate(boundary.display(resolved), str(resolved), resolved.stat().st_size, explicit=True))
        return
    _plan_directory(given, resolved, boundary, plan)


def _plan_directory(given: str, resolved: Path, boundary: Boundary, plan: _Plan) -> None:
    shown_base = boundary.display(resolved)
    prefix = "" if shown_base == "." else shown_base + "/"
    root = boundary.root_of(resolved)
    assert root is not None  # checked by the caller
    below_root = resolved.relative_to(root).as_posix()
    root_prefix = "" if below_root == "." else below_root + "/"
    sendable = 0
    skipped_before = len(plan.skipped)
    for found in walk(resolved):
        shown = prefix + found.relative
        if found.skipped is not None:
            plan.skipped.append(SkippedItem(path=shown, reason=found.skipped))
            continue
        reason = _left_out(found, root_prefix, boundary)
        if reason is not None:
            plan.skipped.append(SkippedItem(path=shown, reason=reason))
            continue
        if found.regular:  # the walk's file type (no stat needed); the size is checked as the file is read
            sendable += 1
            plan.add(_Candidate(shown, found.absolute, -1, explicit=False))
            continue
        target = os.path.realpath(found.absolute) if found.is_link else found.absolute
        try:
            status = os.stat(target)
        except OSError as exc:
            plan.skipped.append(SkippedItem(path=shown, reason=f"unreadable ({exc.strerror})"))
            continue
        if not stat.S_ISREG(status.st_mode):
            plan.skipped.append(SkippedItem(path=shown, reason="not a regular file (a FIFO, socket or device)"))
            continue
        size = status.st_size
        sendable += 1
        plan.add(_Candidate(shown, target, size, explicit=False))
    if not sendable:
        plan.problems.append(f"{given} holds no files that may be sent: {_why_none(plan.skipped[skipped_before:])}")


def _why_none(skipped: list[SkippedItem]) -> str:
    """The real reasons a folder gave nothing (a FIFO, a link leading out, a secret), or that it gave no entry."""
    if not skipped:
        return "it is empty, or everything in it is git-ignored."
    listed = "; ".join(f"{s.path}: {s.reason}" for s in skipped[:5])
    more = f"; and {len(skipped) - 5} more" if len(skipped) > 5 else ""
    return f"{listed}{more}."


def _left_out(found: Found, root_prefix: str, boundary: Boundary) -> str | None:
    """Why a file met in a directory is not sent, or None. Its directory is inside a root and resolved, so
    only a symlink can lead elsewhere."""
    reason = boundary.secret_reason_of(root_prefix + found.relative)
    if not found.is_link:
        if boundary.is_credentials_name(found.absolute):
            return "Junior AI's credentials file"
        return f"looks like a secret ({reason})" if reason else None
    target = Path(os.path.realpath(found.absolute))
    target_root = boundary.root_of(target)
    if target_root is None:
        return f"symlink to {target}, outside the allowed roots"
    if boundary.is_credentials_file(str(target)):
        return "Junior AI's credentials file"
    reason = reason or boundary.secret_reason(target, target_root)
    return f"looks like a secret ({reason})" if reason else None


def _check_sizes(candidates: list[_Candidate], limits: Limits) -> None:
    too_big = sorted((c for c in candidates if c.size > limits.max_file_bytes), key=lambda c: -c.size)
    if too_big:
        listed = ", ".join(f"{c.shown} ({c.size:,} bytes)" for c in too_big[:5])
        raise InvalidInputError(
            f"nothing was sent: {len(too_big)} file(s) exceed the {limits.max_file_bytes:,}-byte limit per file: "
            f"{listed}. Leave them out, pass a smaller part, or raise context_max_file_bytes in the settings."
        )
    total = sum(c.size for c in candidates)
    if total > limits.max_call_bytes:
        raise InvalidInputError(
            f"nothing was sent: the files come to {total:,} bytes, over the {limits.max_call_bytes:,}-byte limit "
            f"per call. Largest: {_largest((c.shown, c.size) for c in candidates)}. Pass fewer files or a "
            "narrower directory, or raise context_max_call_bytes in the settings."
        )


def _largest(sized: object) -> str:
    ranked = sorted(sized, key=lambda item: -item[1])[:5]  # type: ignore[call-overload]
    return ", ".join(f"{name} ({size:,})" for name, size in ranked)


def _read_one(
    candidate: _Candidate,
    boundary: Boundary,
    limits: Limits,
    parts: list[ContentPart],
    items: list[ContextItem],
    plan: _Plan,
) -> None:
    try:
        data, identity = _read_bytes(candidate.resolved, candidate.size, limits.max_file_bytes)
    except OSError as exc:
        if candidate.explicit:
            plan.problems.append(f"{candidate.shown} cannot be read ({exc.strerror}).")
        else:
            plan.skipped.append(SkippedItem(path=candidate.shown, reason=f"unreadable ({exc.strerror})"))
        return
    if boundary.is_credentials_identity(*identity):  # a hard link to it: another name, the same file
        if candidate.explicit:
            plan.problems.append(
                f"{candidate.shown} is Junior AI's credentials file (a hard link to it); it is never sent to an AI."
            )
        else:
            plan.skipped.append(SkippedItem(path=candidate.shown, reason="Junior AI's credentials file (a hard link)"))
        return
    if len(data) > limits.max_file_bytes:  # grew since it was measured
        plan.problems.append(f"{candidate.shown} is over the {limits.max_file_bytes:,}-byte limit per file.")
        return
    kind, mime = sniff(data)
    # `in` first: a plain substring scan is several times cheaper than the regex over every file (profiled).
    if kind == "text" and b"PRIVATE KEY" in data and PRIVATE_KEY.search(data) and not boundary.allows(candidate.shown):
        reason = "holds a private key block (-----BEGIN ... PRIVATE KEY-----)"
        if candidate.explicit:
            plan.problems.append(
                f"{candidate.shown} {reason}, so it is not sent. If it is safe to share (a test fixture), add a "
                f'pattern for it to "context_allow" in the settings.'
            )
        else:
            plan.skipped.append(SkippedItem(path=candidate.shown, reason=reason))
        return
    decoded = data.decode("utf-8") if kind == "text" else ""  # decoded once (sniff checked that it decodes)
    if decoded and boundary.secret_value_in(decoded):
        reason = "holds one of the API keys Junior AI uses"
        if candidate.explicit:
            plan.problems.append(f"{candidate.shown} {reason}, so it is not sent (take the key out to share it).")
        else:
            plan.skipped.append(SkippedItem(path=candidate.shown, reason=reason))
        return
    if kind == "text":
        block = numbered(candidate.shown, decoded)
        parts.append(TextPart(text=block))
        items.append(
            ContextItem(path=candidate.shown, kind="text", bytes=len(data), tokens_estimate=text_tokens(len(block)))
        )
    elif not candidate.explicit:
        plan.skipped.append(SkippedItem(path=candidate.shown, reason=f"{kind} file (pass images and PDFs by path)"))
    elif kind == "image":
        parts.append(FilePart(name=candidate.shown, mime_type=mime, data=data))
        items.append(
            ContextItem(path=candidate.shown, kind="image", bytes=len(data), tokens_estimate=image_tokens(data, mime))
        )
    elif kind == "pdf":
        text, pages = pdf_text(data)
        parts.append(FilePart(name=candidate.shown, mime_type=mime, data=data, text=text))
        items.append(
            ContextItem(path=candidate.shown, kind="pdf", bytes=len(data), tokens_estimate=pdf_tokens(pages, text))
        )
    else:
        plan.problems.append(
            f"{candidate.shown} is a binary file of a kind that cannot be sent (text, PNG, JPEG, WebP, GIF and PDF "
            "can)."
        )


def _item(path: str, kind: ContextKind, size: int, tokens: int) -> ContextItem:
    return ContextItem(path=path, kind=kind, bytes=size, tokens_estimate=tokens)


def _read_bytes(path: str, size: int, limit: int) -> tuple[bytes, tuple[int, int]]:
    """The file's bytes, read with a buffer of the size it was measured at (-1: not measured) rather than of
    `limit` bytes, which would cost more than the read; read on, to one byte past `limit`, while there is more.
    With them, the open file's (st_dev, st_ino): what it is, whatever name it was reached by."""
    # O_NONBLOCK: opening a FIFO that slipped in must not wait for a writer (regular files ignore the flag).
    # O_NOFOLLOW: `path` is resolved; a symlink put in its place since the check is refused, not followed.
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        status = os.fstat(fd)
        wanted = min(size, limit) + 1 if size >= 0 else 65_536
        data = os.read(fd, wanted)
        # A short read of a regular file is its end: no second read just to see nothing (a syscall per file).
        while wanted <= len(data) <= limit:
            more = os.read(fd, limit + 1 - len(data))
            if not more:
                break
            data += more
        return data, (status.st_dev, status.st_ino)
    finally:
        os.close(fd)


def numbered(shown: str, text: str) -> str:
    """A file as one block: its path, then each line with its number (so answers can cite lines)."""
    lines = text.splitlines()
    width = len(str(len(lines)))
    body = "\n".join([f"{n:>{width}}  " + line for n, line in enumerate(lines, 1)])
    return f"----- BEGIN {shown} ({len(lines)} lines) -----\n{body}\n----- END {shown} -----"


def _check_total(parts: list[ContentPart], items: list[ContextItem], limits: Limits, prompt_chars: int) -> None:
    chars = prompt_chars + sum(len(p.text) for p in parts if isinstance(p, TextPart))
    if chars > limits.max_chars:
        texts = ((i.path, i.tokens_estimate * 4) for i in items if i.kind in ("text", "diff"))
        raise InvalidInputError(
            f"nothing was sent: the prompt and the text context come to {chars:,} characters, over the "
            f"{limits.max_chars:,}-character limit per call. Largest items (characters): {_largest(texts)}. Pass "
            "fewer or smaller files, a narrower directory or diff, or split the work into several calls."
        )
    total = sum(i.bytes for i in items)
    if total > limits.max_call_bytes:
        raise InvalidInputError(
            f"nothing was sent: the context comes to {total:,} bytes, over the {limits.max_call_bytes:,}-byte limit "
            f"per call. Largest: {_largest((i.path, i.bytes) for i in items)}."
        )


def _unsent(skipped: list[SkippedItem], items: list[ContextItem]) -> list[SkippedItem]:
    """Each left-out path once, and none that was sent after all (named on its own, say)."""
    seen = {item.path for item in items}
    unique = []
    for item in skipped:
        if item.path not in seen:
            seen.add(item.path)
            unique.append(item)
    return unique


def _listed(skipped: list[SkippedItem]) -> tuple[SkippedItem, ...]:
    if len(skipped) <= MAX_LISTED_SKIPS:
        return tuple(skipped)
    rest = skipped[MAX_LISTED_SKIPS:]
    reasons: dict[str, int] = {}
    for item in rest:
        key = item.reason.split(" (")[0]
        reasons[key] = reasons.get(key, 0) + 1
    summary = ", ".join(f"{reason}: {count}" for reason, count in sorted(reasons.items()))
    return (*skipped[:MAX_LISTED_SKIPS], SkippedItem(path=f"... {len(rest)} more", reason=summary))
