"""The boundary: which files may leave the machine.

Allowed roots come from, in order: the MCP host's declared roots (protocol 2025-11-25; optional, never relied
on), `settings.allowed_paths`, the server's working directory. The filesystem root and the home directory
itself are never a root, wherever they come from. Every path is resolved (symlinks, `..`) before it is checked,
so a link inside a root that points outside it is outside.

Secret-looking files are refused even inside the roots, unless `settings.context_allow` names a pattern that
matches them. The credentials file Junior AI itself reads is refused always, by name and by identity (device and
inode: a hard link to it has another name but is the same file), and so is anything under `.git/`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from junior_ai.core.errors import InvalidInputError
from junior_ai.tools.context.patterns import PatternSet

SECRET_PATTERNS = (
    ".env*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".netrc",
    ".npmrc",
    ".pypirc",
    ".git-credentials",
    ".htpasswd",
    ".pgpass",
    "*credentials*.json",
    "**/.aws/credentials",
    "*aws_credentials*",
    "**/.docker/config.json",
    "**/.kube/config",
    ".ssh/",
    ".gnupg/",
    ".git/",
)
"""gitignore-style: a pattern without a slash matches a name at any depth; `.git/` covers everything under it."""

HOW_TO_SET_ROOTS = (
    'Set "allowed_paths" in the "settings" of your credentials file to the project folders you want to share, '
    'e.g. "settings": {"allowed_paths": ["~/code/my-project"]}, or start the server in the project directory.'
)


@dataclass(frozen=True)
class Boundary:
    """The allowed roots (resolved) and the rules for what inside them may be sent."""

    roots: tuple[Path, ...]
    credentials_files: tuple[Path, ...] = ()
    allow_patterns: tuple[str, ...] = ()
    credentials_ids: frozenset[tuple[int, int]] = frozenset()
    """(st_dev, st_ino) of each credentials file that exists: a hard link has its own name but this identity."""
    secret_values: tuple[str, ...] = ()
    """The API keys loaded: text holding one is never sent, whatever file it comes from."""
    _secret: PatternSet = field(init=False, repr=False, compare=False)
    _allowed: PatternSet = field(init=False, repr=False, compare=False)
    _protected: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_secret", PatternSet(SECRET_PATTERNS))
        object.__setattr__(self, "_allowed", PatternSet(self.allow_patterns))
        object.__setattr__(self, "_protected", frozenset(str(p) for p in self.credentials_files))

    def allows(self, relative: str) -> bool:
        """True when `settings.context_allow` names `relative` (a path as shown, `/` separators)."""
        return bool(self._allowed.verdict(relative))

    def is_credentials_file(self, resolved: str) -> bool:
        """By resolved name, or by identity for a hard link (one `stat`)."""
        if resolved in self._protected:
            return True
        if not self.credentials_ids:
            return False
        try:
            status = os.stat(resolved)
        except OSError:
            return False
        return self.is_credentials_identity(status.st_dev, status.st_ino)

    def is_credentials_name(self, resolved: str) -> bool:
        """By resolved name only (a directory walk checks identity as it reads, from the open file)."""
        return resolved in self._protected

    def is_credentials_identity(self, device: int, inode: int) -> bool:
        return (device, inode) in self.credentials_ids

    def secret_value_in(self, text: str) -> bool:
        return bool(self.secret_values) and any(value in text for value in self.secret_values)

    @classmethod
    def build(
        cls,
        *,
        client_roots: Sequence[Path] | None,
        allowed_paths: Sequence[str] | None,
        cwd: Path,
        home: Path,
        credentials_file: str | None = None,
        allow_patterns: Sequence[str] = (),
        secret_values: Sequence[str] = (),
    ) -> Boundary:
        """Apply the documented order. Raises `InvalidInputError` when the roots would expose too much."""
        home = Path(os.path.realpath(home))
        # A host's roots that are too broad (the filesystem root, the home directory) or gone are not used; when
        # none is left, the settings decide, as if the host had declared none.
        client_roots = [
            root
            for root in client_roots or ()
            if (resolved := Path(os.path.realpath(root))) not in (home, Path(resolved.anchor)) and resolved.is_dir()
        ]
        if client_roots:
            candidates, origin = list(client_roots), "the MCP host's roots"
        elif allowed_paths:
            if any(not str(p).strip() for p in allowed_paths):
                raise InvalidInputError(
                    "files and diffs cannot be shared: settings.allowed_paths holds an empty path (it would mean "
                    f"wherever the server was started). {HOW_TO_SET_ROOTS}"
                )
            candidates, origin = [Path(p).expanduser() for p in allowed_paths], "settings.allowed_paths"
        else:
            candidates, origin = [cwd], "the server's working directory"
        roots: list[Path] = []
        for candidate in candidates:
            root = Path(os.path.realpath(candidate))
            if root == Path(root.anchor):
                raise InvalidInputError(
                    f"files and diffs cannot be shared: the allowed root would be the filesystem root {root} "
                    f"(from {origin}). {HOW_TO_SET_ROOTS}"
                )
            if root == home:  # even when listed: ~/.aws, ~/.config, shell histories... are not a project
                raise InvalidInputError(
                    f"files and diffs cannot be shared: the allowed root would be your home directory {root} "
                    f"(from {origin}), which holds keys and secrets. {HOW_TO_SET_ROOTS}"
                )
            if not root.is_dir():
                raise InvalidInputError(
                    f"allowed root {candidate} (from {origin}) is not a directory. {HOW_TO_SET_ROOTS}"
                )
            if root not in roots:
                roots.append(root)
        protected = [home / ".config" / "junior-ai" / "credentials.json"]
        if credentials_file:
            protected.append(Path(os.path.realpath(Path(credentials_file).expanduser())))
        resolved_protected = tuple(Path(os.path.realpath(p)) for p in protected)
        identities = set()
        for path in resolved_protected:
            try:
                status = path.stat()
            except OSError:
                continue
            identities.add((status.st_dev, status.st_ino))
        return cls(
            roots=tuple(roots),
            credentials_files=resolved_protected,
            allow_patterns=tuple(allow_patterns),
            credentials_ids=frozenset(identities),
            secret_values=tuple(v for v in secret_values if v and len(v) >= 6),
        )

    def resolve(self, given: str) -> Path:
        """`given` (absolute, `~`, or relative to the first root) with symlinks and `..` resolved."""
        path = Path(given).expanduser()
        if not path.is_absolute():
            path = self.roots[0] / path
        return Path(os.path.realpath(path))

    def root_of(self, resolved: Path) -> Path | None:
        return next((root for root in self.roots if resolved == root or resolved.is_relative_to(root)), None)

    def display(self, resolved: Path) -> str:
        """How a path is shown in results and context headers: relative to the first root when inside it."""
        root = self.roots[0]
        if resolved.is_relative_to(root):
            return resolved.relative_to(root).as_posix() or "."
        return resolved.as_posix()

    def refusal(self, given: str, resolved: Path, *, is_dir: bool = False) -> str | None:
        """Why `resolved` may not be sent, or None when it may."""
        root = self.root_of(resolved)
        if root is None:
            roots = ", ".join(str(r) for r in self.roots)
            via = f" (it resolves to {resolved})" if str(resolved) != given else ""
            return f"{given}{via} is outside the allowed roots ({roots}). {HOW_TO_SET_ROOTS}"
        if not is_dir and self.is_credentials_file(str(resolved)):
            return f"{given} is Junior AI's credentials file; it is never sent to an AI, under any name."
        reason = self.secret_reason(resolved, root, is_dir=is_dir)
        if reason is None:
            return None
        relative = resolved.relative_to(root).as_posix()
        if _never_allowed(relative + ("/" if is_dir else "")):
            return f"{given} is inside a .git folder (repository internals are never sent; use `diff` for changes)."
        # Anchored to this one path: a bare name ("config") would unlock every file so named, anywhere.
        return (
            f"{given} looks like a secret ({reason}), so it is not sent. If it is safe to share, add this one path "
            f'to "context_allow" in the settings: "context_allow": ["/{relative}"].'
        )

    def secret_reason(self, resolved: Path, root: Path, *, is_dir: bool = False) -> str | None:
        """The secret pattern `resolved` matches (not lifted by `context_allow`), or None."""
        relative = resolved.relative_to(root).as_posix()
        if relative == ".":
            return None
        return self.secret_reason_of(relative + ("/" if is_dir else ""))

    def secret_reason_of(self, relative: str) -> str | None:
        """The same, for a path relative to its root (`/` separators; a trailing `/` for a directory)."""
        index = self._secret.matching(relative)
        if index is None:
            return None
        if _never_allowed(relative):
            return "under .git/"
        if self._allowed.verdict(relative):
            return None
        return f"matches {SECRET_PATTERNS[index]}"


def _never_allowed(relative: str) -> bool:
    """Inside a `.git` folder at any depth (a submodule's too), or the folder itself: `context_allow` cannot
    lift this, since a repository's internals hold its config (remote URLs with tokens)."""
    return ".git" in relative.rstrip("/").split("/")
