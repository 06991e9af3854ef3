"""Keeps secrets out of every string that leaves the process (logs, errors, tool results, files we write).

Two nets: the exact secret values we loaded (registered by the config loader: api keys, URL userinfo and query
values, header values — see `register_url` and `register_config_secrets`), and patterns that look like provider
keys, auth headers or credentials inside URLs, for secrets an SDK echoes that we never saw (e.g. from the
environment). Everything Junior AI prints, logs, returns or writes goes through `redact` / `redact_data`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

MASK = "[REDACTED]"

_KEY_PATTERNS = re.compile(
    r"""
    (?:sk-[A-Za-z0-9_\-]{12,})            # OpenAI, DeepSeek, OpenRouter (sk-or-...)
    | (?:xai-[A-Za-z0-9_\-]{12,})         # xAI
    | (?:AIza[0-9A-Za-z_\-]{20,})         # Google API keys
    | (?:(?P<query>[?&](?i:key|token|api_key|apikey|access_token|password|secret|sig|signature)=)[^&\s"'#]+)
    | (?:(?P<scheme>://)(?:[^/\s@:"']*:)?[^/\s@"']+(?=@[^/\s@"']+))  # userinfo: scheme://user:password@host
    | (?:(?i:bearer)\s+[A-Za-z0-9._\-]{8,})  # Authorization: Bearer ...
    """,
    re.VERBOSE,
)


def _may_match(text: str) -> bool:
    """False when no key pattern can match: each needs one of these pieces. The pattern tries six alternatives at
    every character (~30 µs for one batch result line); these checks take about a microsecond."""
    return "sk-" in text or "xai-" in text or "AIza" in text or "=" in text or "://" in text or "bearer" in text.lower()


def _mask(match: re.Match[str]) -> str:
    # Keep the `?key=` / `://` the match started with, so the text still reads as a URL.
    return (match.group("query") or match.group("scheme") or "") + MASK


class SecretRegistry:
    """The set of secret strings to scrub; thread-safe, because SDK worker threads log too."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._ordered: list[str] = []
        self._lock = threading.Lock()

    def add(self, secret: str | None) -> None:
        # Very short values (e.g. "x" for a local Ollama) would mangle ordinary text and protect nothing.
        if secret and len(secret) >= 6:
            with self._lock:
                if secret not in self._secrets:
                    self._secrets.add(secret)
                    self._ordered = sorted(self._secrets, key=len, reverse=True)

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = self._ordered
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return _KEY_PATTERNS.sub(_mask, text) if _may_match(text) else text


SECRETS = SecretRegistry()
"""Process-wide, deliberately: a key must be scrubbed from any log line, whichever component wrote it."""


def redact(text: str) -> str:
    """Return `text` with every known secret and anything key-shaped replaced by [REDACTED]."""
    return SECRETS.redact(text)


def redact_data(value: Any) -> Any:
    """`redact` applied to every string inside JSON-like data (dict keys included), returning a new structure."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {redact(k) if isinstance(k, str) else k: redact_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v) for v in value]
    return value


def _both_forms(secret: str) -> list[str]:
    """A URL part as written and decoded: logs and errors may show either."""
    return [secret, unquote(secret)]


def register_url(url: str | None) -> None:
    """Register the secret-bearing parts of a URL: its userinfo (user and password) and every query value."""
    if not url:
        return
    try:
        parts = urlsplit(url)
        username, password = parts.username, parts.password
    except ValueError:
        SECRETS.add(url)  # not even parseable as a URL: keep the whole value out of sight
        return
    if "@" in parts.netloc:
        userinfo = parts.netloc.rpartition("@")[0]
        for form in (userinfo, username, password):
            for secret in _both_forms(form or ""):
                SECRETS.add(secret)
    for _name, query_value in parse_qsl(parts.query, keep_blank_values=False):
        for secret in _both_forms(query_value):
            SECRETS.add(secret)
    raw_query = parts.query
    for pair in raw_query.split("&") if raw_query else ():
        SECRETS.add(pair.partition("=")[2])


def register_config_secrets(entry: Mapping[str, Any]) -> None:
    """Register every secret-bearing value of one AI's configuration entry, as written (before validation, so
    an entry that fails validation cannot leak through its error message either)."""
    api_key = entry.get("api_key")
    if isinstance(api_key, str):
        SECRETS.add(api_key)
    base_url = entry.get("base_url")
    if isinstance(base_url, str):
        register_url(base_url)
    headers = entry.get("headers")
    if isinstance(headers, Mapping):
        for header_value in headers.values():
            if isinstance(header_value, str):
                SECRETS.add(header_value)
                SECRETS.add(header_value.partition(" ")[2])  # "Bearer <token>": the token alone too
