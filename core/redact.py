"""Keeps API keys out of every string that leaves the process (logs, errors, tool results).

Two nets: the exact key values we loaded (registered by the config loader), and patterns that look like
provider keys or auth headers, for keys an SDK echoes that we never saw (e.g. from the environment).
"""

from __future__ import annotations

import re
import threading

MASK = "[REDACTED]"

_KEY_PATTERNS = re.compile(
    r"""
    (?:sk-[A-Za-z0-9_\-]{12,})            # OpenAI, DeepSeek, OpenRouter (sk-or-...)
    | (?:xai-[A-Za-z0-9_\-]{12,})         # xAI
    | (?:AIza[0-9A-Za-z_\-]{20,})         # Google API keys
    | (?:(?<=[?&]key=)[^&\s"']+)          # ?key=... in URLs
    | (?:(?i:bearer)\s+[A-Za-z0-9._\-]{8,})  # Authorization: Bearer ...
    """,
    re.VERBOSE,
)


class SecretRegistry:
    """The set of secret strings to scrub; thread-safe, because SDK worker threads log too."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secret: str | None) -> None:
        # Very short values (e.g. "x" for a local Ollama) would mangle ordinary text and protect nothing.
        if secret and len(secret) >= 6:
            with self._lock:
                self._secrets.add(secret)

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return _KEY_PATTERNS.sub(MASK, text)


SECRETS = SecretRegistry()
"""Process-wide, deliberately: a key must be scrubbed from any log line, whichever component wrote it."""


def redact(text: str) -> str:
    """Return `text` with every known key and anything key-shaped replaced by [REDACTED]."""
    return SECRETS.redact(text)
