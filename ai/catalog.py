"""Which models each AI offers: the provider's own listing, cached on disk with a TTL, else the configured list.

The cache file maps AI name → {base_url, fetched_at, models}; an entry for another base_url is ignored, so
pointing an AI elsewhere never serves the old listing.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread

from junior_ai.ai.translate import detail
from junior_ai.ai.types import ModelListing
from junior_ai.core.errors import ProviderError
from junior_ai.core.log import get_logger
from junior_ai.core.private_files import write_private_text
from junior_ai.core.redact import redact

if TYPE_CHECKING:
    from junior_ai.ai.registry import AIEntry

log = get_logger(__name__)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "junior-ai"


class ModelCatalog:
    def __init__(self, cache_dir: Path, ttl_s: float, clock: Callable[[], float] = time.time) -> None:
        self._path = cache_dir / "models.json"
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = anyio.Lock()
        self._parsed: tuple[tuple[int, int, int], dict[str, dict[str, object]]] | None = None

    def _read(self) -> dict[str, dict[str, object]]:
        """The cache file's contents, parsed again only when the file changed: `name:model` is checked against it
        on every call, so the hot path must not re-read and re-parse it each time."""
        try:
            status = self._path.stat()
            # The file is only ever replaced whole (new inode), so inode + mtime + size identify a version.
            stamp = (status.st_ino, status.st_mtime_ns, status.st_size)
        except OSError:
            return {}
        if self._parsed is not None and self._parsed[0] == stamp:
            return self._parsed[1]
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}
        parsed = data if isinstance(data, dict) else {}
        self._parsed = (stamp, parsed)
        return parsed

    def fresh(self, entry: AIEntry) -> ModelListing | None:
        """The cached listing for this AI if it is for the same endpoint and younger than the TTL."""
        cached = self._read().get(entry.name)
        if not isinstance(cached, dict) or cached.get("base_url") != _cache_url(entry.config.base_url):
            return None
        fetched = cached.get("fetched_at")
        models = cached.get("models")
        if not isinstance(fetched, int | float) or not isinstance(models, list):
            return None
        if self._clock() - fetched > self._ttl_s:
            return None
        return ModelListing(ai=entry.name, models=[str(m) for m in models], source="cache", fetched_at=fetched)

    async def listing(self, entry: AIEntry, *, refresh: bool = False) -> ModelListing:
        if not refresh and (cached := self.fresh(entry)) is not None:
            return cached
        configured = list(entry.config.allowed_models or (entry.config.model,))
        if entry.client is None:
            return ModelListing(
                ai=entry.name, models=configured, source="config", note=f"not initialized: {entry.unavailable_reason}"
            )
        try:
            with anyio.fail_after(min(entry.config.timeout_s, 20)):
                models = sorted(set(await entry.client.list_models()))
        except (ProviderError, TimeoutError) as error:
            reason = error.message if isinstance(error, ProviderError) else "the listing timed out"
            log.warning("model_listing_failed", ai=entry.name, error=reason)
            return ModelListing(
                ai=entry.name,
                models=configured,
                source="config",
                note=f"the provider could not list its models ({detail(reason)}); showing the configured ones",
            )
        fetched = self._clock()
        async with self._lock:
            await anyio.to_thread.run_sync(self._store, entry.name, entry.config.base_url, fetched, models)
        return ModelListing(ai=entry.name, models=models, source="provider", fetched_at=fetched)

    def _store(self, ai: str, base_url: str | None, fetched: float, models: list[str]) -> None:
        data = dict(self._read())  # a copy: the parsed cache must only change through a new file
        data[ai] = {"base_url": _cache_url(base_url), "fetched_at": fetched, "models": [redact(m) for m in models]}
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            write_private_text(self._path, json.dumps(data))  # atomic: a concurrent reader never sees half a file
        except OSError as error:
            log.warning("model_cache_write_failed", path=str(self._path), error=str(error))


def _cache_url(base_url: str | None) -> str | None:
    """The endpoint as the cache file records it: redacted (a password or `?key=` in the URL stays out of the
    file), still distinct per endpoint, so pointing an AI elsewhere never serves the old listing."""
    return redact(base_url) if base_url else base_url
