"""Keep tool results under the host's output limit without losing anything.

Claude Code refuses MCP results over ~25k tokens, and every host pays for what a tool returns. Answers that do
not fit the budget are trimmed in the result, with a note naming where the full text is kept: a resource
`junior://results/{result_id}/{key}` the host can read. Kept texts expire after a TTL and are bounded in memory
(oldest evicted first).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

RESULT_URI = "junior://results/{result_id}/{key}"
CHARS_PER_TOKEN = 4
"""A conservative average for English text and JSON; budgets are approximate by nature."""
MIN_SHARE_CHARS = 1_000


@dataclass
class _Kept:
    text: str
    stored_at: float


class ResultStore:
    """Full texts of trimmed answers, by (result id, key); TTL-expired and bounded in total size."""

    def __init__(self, *, ttl_s: float, max_bytes: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._max_bytes = max_bytes
        self._clock = clock
        self._items: OrderedDict[tuple[str, str], _Kept] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @staticmethod
    def new_id() -> str:
        return secrets.token_hex(6)

    def put(self, result_id: str, key: str, text: str) -> str:
        size = len(text.encode())
        with self._lock:
            self._expire()
            old = self._items.pop((result_id, key), None)
            if old is not None:
                self._bytes -= len(old.text.encode())
            self._items[(result_id, key)] = _Kept(text, self._clock())
            self._bytes += size
            while self._bytes > self._max_bytes and len(self._items) > 1:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= len(evicted.text.encode())
        return RESULT_URI.format(result_id=result_id, key=key)

    def get(self, result_id: str, key: str) -> str | None:
        with self._lock:
            self._expire()
            kept = self._items.get((result_id, key))
            return kept.text if kept else None

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._items)

    def _expire(self) -> None:
        cutoff = self._clock() - self._ttl_s
        while self._items:
            key, kept = next(iter(self._items.items()))
            if kept.stored_at >= cutoff:
                break
            self._items.pop(key)
            self._bytes -= len(kept.text.encode())


class Trimmer:
    """Shares one result's character budget among its answers and trims those that do not fit."""

    def __init__(self, store: ResultStore, budget_tokens: int, pieces: int) -> None:
        self.store = store
        self.result_id = store.new_id()
        # The text rendering and the structured content both carry each answer, hence the halving; a fixed
        # allowance covers the rest of the result.
        budget_chars = max(0, budget_tokens * CHARS_PER_TOKEN // 2 - 2_000)
        self.share = max(MIN_SHARE_CHARS, budget_chars // max(1, pieces))

    def fit(self, key: str, text: str | None) -> tuple[str | None, str | None]:
        """(text to return, uri of the full text or None when it fit)."""
        if text is None or len(text) <= self.share:
            return text, None
        uri = self.store.put(self.result_id, key, text)
        kept = text[: self.share]
        note = f"\n\n[trimmed: {len(text) - self.share:,} of {len(text):,} characters; full text: {uri}]"
        return kept + note, uri
