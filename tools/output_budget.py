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
from dataclasses import dataclass, field
from urllib.parse import quote

from junior_ai.core.state import StateStore

RESULT_URI = "junior://results/{result_id}/{key}"
CHARS_PER_TOKEN = 4
"""A conservative average for English text and JSON; budgets are approximate by nature."""
MIN_SHARE_CHARS = 1_000


@dataclass
class _Kept:
    text: str
    stored_at: float


@dataclass
class _Backing:
    """What every principal's view of one store shares."""

    items: OrderedDict[tuple[str, str, str], _Kept] = field(default_factory=OrderedDict)
    size: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class ResultStore:
    """Full texts of trimmed answers (and batch results), by (principal, result id, key); TTL-expired and bounded
    in total size. Another principal's result id reads as absent.

    `put` is synchronous (trimming happens inside plain functions); with a shared `state` (Redis) each put is
    also queued, and `flush` writes the queue there, so the server flushes before it answers (and a job before
    its record says done) and a URI handed out by one replica reads on every other. The queue is this view's
    own (`scoped` gives each tool call one): a flush returns only once this call's texts are written, never
    while another call's flush is still writing them."""

    def __init__(
        self,
        *,
        ttl_s: float,
        max_bytes: int,
        clock: Callable[[], float] = time.monotonic,
        state: StateStore | None = None,
        principal: str = "local",
        _backing: _Backing | None = None,
    ) -> None:
        self._ttl_s = ttl_s
        self._max_bytes = max_bytes
        self._clock = clock
        self._state = state if state is not None and state.shared else None
        self.principal = principal
        self._backing = _backing or _Backing()
        self._pending: list[tuple[str, str]] = []

    def scoped(self, principal: str) -> ResultStore:
        return ResultStore(
            ttl_s=self._ttl_s,
            max_bytes=self._max_bytes,
            clock=self._clock,
            state=self._state,
            principal=principal,
            _backing=self._backing,
        )

    @staticmethod
    def new_id() -> str:
        return secrets.token_hex(6)

    def _state_key(self, result_id: str, key: str) -> str:
        return f"result:{quote(self.principal, safe='')}:{quote(result_id, safe='')}:{quote(key, safe='')}"

    def put(self, result_id: str, key: str, text: str) -> str:
        size = len(text.encode())
        backing = self._backing
        with backing.lock:
            self._expire()
            old = backing.items.pop((self.principal, result_id, key), None)
            if old is not None:
                backing.size -= len(old.text.encode())
            backing.items[(self.principal, result_id, key)] = _Kept(text, self._clock())
            backing.size += size
            while backing.size > self._max_bytes and len(backing.items) > 1:
                _, evicted = backing.items.popitem(last=False)
                backing.size -= len(evicted.text.encode())
            if self._state is not None:
                self._pending.append((self._state_key(result_id, key), text))
        # The key is percent-encoded: keys hold AI labels such as `openai:vendor/model`, and a raw `/` would make
        # the URI unreadable (it would not match the template).
        return RESULT_URI.format(result_id=result_id, key=quote(key, safe=""))

    async def flush(self) -> None:
        """Write what `put` queued to the shared state (nothing to do without one)."""
        if self._state is None:
            return
        with self._backing.lock:
            pending, self._pending = self._pending, []
        for state_key, text in pending:
            await self._state.put(state_key, text, ttl_s=self._ttl_s)

    async def get(self, result_id: str, key: str) -> str | None:
        with self._backing.lock:
            self._expire()
            kept = self._backing.items.get((self.principal, result_id, key))
        if kept is not None:
            return kept.text
        if self._state is not None:
            return await self._state.get(self._state_key(result_id, key))
        return None

    def __len__(self) -> int:
        with self._backing.lock:
            self._expire()
            return len(self._backing.items)

    def _expire(self) -> None:
        cutoff = self._clock() - self._ttl_s
        items = self._backing.items
        while items:
            key, kept = next(iter(items.items()))
            if kept.stored_at >= cutoff:
                break
            items.pop(key)
            self._backing.size -= len(kept.text.encode())


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
