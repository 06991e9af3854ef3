"""Conversation threads: `thread_id` continues a multi-turn conversation with the same AI(s).

A thread holds one message history per AI (as the caller named it: `gemini`, `openai:gpt-4o`, an alias).
Threads live in memory with a TTL and a bound on their number (least recently used evicted) and on each
history's length (oldest turns dropped). With `threads_db` set they are also written to a SQLite file, so a
host restart does not lose them.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

import anyio.to_thread
from pydantic import BaseModel, Field

from junior_ai.ai.types import Message
from junior_ai.core.errors import InvalidInputError

THREAD_URI = "junior://threads/{thread_id}"
T = TypeVar("T")


class Thread(BaseModel):
    id: str
    created_at: float
    updated_at: float
    histories: dict[str, list[Message]] = Field(default_factory=dict)

    def history(self, ai: str) -> tuple[Message, ...]:
        return tuple(self.histories.get(ai, ()))


class ThreadSummary(BaseModel):
    id: str
    uri: str
    ais: list[str]
    turns: int
    updated_at: float


class ThreadStore:
    def __init__(
        self,
        *,
        ttl_s: float,
        max_threads: int,
        max_messages: int,
        db_path: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ttl_s = ttl_s
        self._max_threads = max_threads
        self._max_messages = max_messages
        self._clock = clock
        self._threads: OrderedDict[str, Thread] = OrderedDict()
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if db_path:
            self._db = sqlite3.connect(db_path, check_same_thread=False)
            self._db.execute("CREATE TABLE IF NOT EXISTS threads (id TEXT PRIMARY KEY, updated_at REAL, data TEXT)")
            self._db.commit()

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def new(self) -> Thread:
        now = self._clock()
        thread = Thread(id=secrets.token_hex(8), created_at=now, updated_at=now)
        with self._lock:
            self._threads[thread.id] = thread
            self._evict()
        return thread

    async def get(self, thread_id: str) -> Thread:
        """The live thread, or an `InvalidInputError` saying it is unknown or expired (and what to do)."""
        thread = await self._run(self._lookup, thread_id)
        if thread is None:
            raise InvalidInputError(
                f"unknown or expired thread_id {thread_id!r} (threads are kept {self._ttl_s:.0f} s after their last "
                "turn). Omit thread_id to start a new conversation."
            )
        return thread

    async def add_turn(self, thread: Thread, ai: str, prompt: str, answer: str) -> None:
        await self._run(self._add_turn, thread, ai, prompt, answer)

    async def _run(self, function: Callable[..., T], *args: object) -> T:
        # SQLite does disk I/O: keep it off the event loop. In memory there is nothing to wait for, and a thread
        # hop per call would cost more than the work.
        if self._db is None:
            return function(*args)
        return await anyio.to_thread.run_sync(function, *args)

    def summaries(self) -> list[ThreadSummary]:
        with self._lock:
            self._expire()
            threads = list(self._threads.values())
        return [
            ThreadSummary(
                id=t.id,
                uri=THREAD_URI.format(thread_id=t.id),
                ais=sorted(t.histories),
                turns=sum(len(h) for h in t.histories.values()) // 2,
                updated_at=t.updated_at,
            )
            for t in threads
        ]

    def _lookup(self, thread_id: str) -> Thread | None:
        with self._lock:
            self._expire()
            thread = self._threads.get(thread_id)
            if thread is None and self._db is not None:
                row = self._db.execute("SELECT data FROM threads WHERE id = ?", (thread_id,)).fetchone()
                if row is not None:
                    thread = Thread.model_validate(json.loads(row[0]))
                    if self._clock() - thread.updated_at > self._ttl_s:
                        return None
                    self._threads[thread_id] = thread
                    self._evict()
            if thread is not None:
                self._threads.move_to_end(thread_id)
            return thread

    def _add_turn(self, thread: Thread, ai: str, prompt: str, answer: str) -> None:
        with self._lock:
            history = thread.histories.setdefault(ai, [])
            history.extend([Message(role="user", content=prompt), Message(role="assistant", content=answer)])
            del history[: max(0, len(history) - self._max_messages)]
            thread.updated_at = self._clock()
            self._threads[thread.id] = thread
            self._threads.move_to_end(thread.id)
            if self._db is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO threads (id, updated_at, data) VALUES (?, ?, ?)",
                    (thread.id, thread.updated_at, thread.model_dump_json()),
                )
                self._db.commit()

    def _expire(self) -> None:
        cutoff = self._clock() - self._ttl_s
        for thread_id in [t.id for t in self._threads.values() if t.updated_at < cutoff]:
            del self._threads[thread_id]
        if self._db is not None:
            self._db.execute("DELETE FROM threads WHERE updated_at < ?", (cutoff,))
            self._db.commit()

    def _evict(self) -> None:
        while len(self._threads) > self._max_threads:
            self._threads.popitem(last=False)
