"""The boundary: which files may leave the machine.

Allowed roots come from, in order: the MCP host's declared roots (protocol 2025-11-25; optional, never relied
on), `settings.allowed_paths`, the server's working directory. The filesystem root is never a root, nor is the
home directory itself unless the user named it in `allowed_paths`. Every path is resolved (symlinks, `..`)
before it is checked, so a link inside a root that points outside it is outside.

Secret-looking files are refused even inside the roots, unless `settings.context_allow` names a pattern that
matches them. The credentials file Junior AI itself reads is refused always.
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
    "*credentials*.json",
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
        return resolved in self._protected

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
            candidates, origin, home_ok = list(client_roots), "the MCP host's roots", False
        elif allowed_paths:
            candidates = [Path(p).expanduser() for p in allowed_paths]
            origin, home_ok = "settings.allowed_paths", True
        else:
            candidates, origin, home_ok = [cwd], "the server's working directory", False
        roots: list[Path] = []
        for candidate in candidates:
            root = Path(os.path.realpath(candidate))
            if root == Path(root.anchor):
                raise InvalidInputError(
                    f"files and diffs cannot be shared: the allowed root would be the filesystem root {root} "
                    f"(from {origin}). {HOW_TO_SET_ROOTS}"
                )
            if root == home and not home_ok:
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
        return cls(
            roots=tuple(roots),
            credentials_files=tuple(Path(os.path.realpath(p)) for p in protected),
            allow_patterns=tuple(allow_patterns),
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
        if resolved in self.credentials_files:
            return f"{given} is Junior AI's credentials file; it is never sent to an AI."
        reason = self.secret_reason(resolved, root, is_dir=is_dir)
        if reason is not None:
            return (
                f"{given} looks like a secret ({reason}), so it is not sent. If it is safe to share, add a "
                f'pattern for it to "context_allow" in the settings, e.g. "context_allow": ["{resolved.name}"].'
            )
        return None

    def secret_reason(self, resolved: Path, root: Path, *, is_dir: bool = False) -> str | None:
        """The secret pattern `resolved` matches (not lifted by `context_allow`), or None."""
        relative = resolved.relative_to(root).as_posix()
        if relative == ".":
            return None
        return self.secret_reason_of(relative + ("/" if is_dir else ""))

    def secret_reason_of(self, relative: str) -> str | None:
        """The same, for a path relative to its root (`/` separators; a trailing `/` for a directory)."""
        index = self._secret.matching(relative)
        if index is None or self._allowed.verdict(relative):
            return None
        return f"matches {SECRET_PATTERNS[index]}"
