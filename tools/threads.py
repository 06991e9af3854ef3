"""Conversation threads: `thread_id` continues a multi-turn conversation with the same AI(s).

A thread belongs to one principal (a token's name, an OAuth subject, or "local") and holds one message history
per AI (as the caller named it: `gemini`, `openai:gpt-4o`, an alias). Another principal's thread id reads as
unknown. Threads expire `ttl_s` after their last turn; each history keeps its last `max_messages` messages; a
principal keeps at most `max_threads` (least recently used dropped).

Turns are appended, never rewritten: two servers sharing the same store (one `threads_db` SQLite file, or one
Redis through `settings.state_url`) never lose each other's turns. Where threads live:
- default: this process's memory (the state seam's in-process store);
- `settings.state_url`: the shared state (Redis), so every replica sees every thread;
- `settings.threads_db`: a SQLite file, so threads survive a restart (and several local processes share it).
A store that cannot be written is reported as an error before any provider is called (`touch`), so no answer is
paid for and then lost. (In the state seam a new thread is written with its first turn, one step instead of two:
the in-process store cannot fail, and with Redis every call reads the breaker's shared state before the provider
is asked, so an unreachable Redis still fails first.)
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar
from urllib.parse import quote

import anyio.to_thread
from pydantic import BaseModel, Field, PrivateAttr

from junior_ai.ai.types import Message
from junior_ai.core.errors import InvalidInputError
from junior_ai.core.private_files import touch_private
from junior_ai.core.state import InProcessState, StateStore, StateUnavailableError
from junior_ai.core.suggest import quoted

THREAD_URI = "junior://threads/{thread_id}"
LOCAL = "local"
T = TypeVar("T")


class Thread(BaseModel):
    id: str
    created_at: float
    updated_at: float
    histories: dict[str, list[Message]] = Field(default_factory=dict)
    _unsaved: bool = PrivateAttr(default=False)
    """New, and not in the store yet: the state seam writes a thread with its first turn."""

    def history(self, ai: str) -> tuple[Message, ...]:
        return tuple(self.histories.get(ai, ()))


class ThreadSummary(BaseModel):
    id: str
    uri: str
    ais: list[str]
    turns: int
    updated_at: float


@dataclass(frozen=True)
class Turn:
    ai: str
    prompt: str
    answer: str
    at: float


class _Backend(Protocol):
    header_with_first_turn: bool
    """`create` is left to the first `append` (or to `ThreadStore.keep`), which writes the thread with its turn."""

    async def create(self, principal: str, thread_id: str, now: float) -> None: ...

    async def load(self, principal: str, thread_id: str, since: float) -> tuple[float, float, list[Turn]] | None:
        """(created_at, updated_at, turns oldest first), or None when unknown, expired or another's."""
        ...

    async def append(self, principal: str, thread_id: str, created_at: float, turn: Turn) -> None: ...

    async def touch(self, principal: str, thread_id: str, created_at: float, now: float) -> None: ...

    async def listing(self, principal: str, since: float) -> list[str]: ...

    def close(self) -> None: ...


class ThreadStore:
    """Threads of one principal (`scoped` gives another principal's view of the same store)."""

    def __init__(
        self,
        *,
        ttl_s: float,
        max_threads: int,
        max_messages: int,
        db_path: str | None = None,
        state: StateStore | None = None,
        clock: Callable[[], float] = time.time,
        principal: str = LOCAL,
        _backend: _Backend | None = None,
    ) -> None:
        self._ttl_s = ttl_s
        self._max_threads = max_threads
        self._max_messages = max_messages
        self._clock = clock
        self.principal = principal
        if _backend is not None:
            self._backend = _backend
        elif db_path and not (state is not None and state.shared):  # replicas: the shared state wins
            self._backend = _SqliteBackend(db_path, max_threads)
        else:
            self._backend = _StateBackend(state or InProcessState(clock=clock), ttl_s, max_threads, max_messages)

    def scoped(self, principal: str) -> ThreadStore:
        return ThreadStore(
            ttl_s=self._ttl_s,
            max_threads=self._max_threads,
            max_messages=self._max_messages,
            clock=self._clock,
            principal=principal,
            _backend=self._backend,
        )

    def close(self) -> None:
        self._backend.close()

    async def new(self) -> Thread:
        now = self._clock()
        thread = Thread(id=secrets.token_hex(8), created_at=now, updated_at=now)
        if self._backend.header_with_first_turn:
            thread._unsaved = True
        else:
            await self._backend.create(self.principal, thread.id, now)
        return thread

    async def keep(self, thread: Thread) -> None:
        """Make sure a thread whose id goes back to the caller exists, turn or not (every answer failed, or was
        cut short): written now if no turn wrote it. Nothing to do (no round trip) once a turn was added."""
        if thread._unsaved:
            await self._backend.create(self.principal, thread.id, thread.created_at)
            thread._unsaved = False

    async def get(self, thread_id: str) -> Thread:
        """The live thread, or an `InvalidInputError` saying it is unknown or expired (and what to do)."""
        found = await self._backend.load(self.principal, thread_id, self._clock() - self._ttl_s)
        if found is None:
            raise InvalidInputError(
                f"unknown or expired thread_id {quoted(thread_id)} (threads are kept {self._ttl_s:.0f} s after "
                "their last turn). Omit thread_id to start a new conversation."
            )
        created_at, updated_at, turns = found
        thread = Thread(id=thread_id, created_at=created_at, updated_at=updated_at)
        for turn in turns:
            self._extend(thread, turn)
        return thread

    async def touch(self, thread: Thread) -> None:
        """Write to the store now, so a store that cannot be written fails before the provider is called."""
        await self._backend.touch(self.principal, thread.id, thread.created_at, self._clock())

    async def add_turn(self, thread: Thread, ai: str, prompt: str, answer: str) -> None:
        turn = Turn(ai=ai, prompt=prompt, answer=answer, at=self._clock())
        await self._backend.append(self.principal, thread.id, thread.created_at, turn)
        thread._unsaved = False
        self._extend(thread, turn)

    async def summaries(self) -> list[ThreadSummary]:
        since = self._clock() - self._ttl_s
        summaries = []
        for thread_id in await self._backend.listing(self.principal, since):
            try:
                thread = await self.get(thread_id)
            except InvalidInputError:
                continue  # expired between the listing and the read
            summaries.append(
                ThreadSummary(
                    id=thread.id,
                    uri=THREAD_URI.format(thread_id=thread.id),
                    ais=sorted(thread.histories),
                    turns=sum(len(h) for h in thread.histories.values()) // 2,
                    updated_at=thread.updated_at,
                )
            )
        return summaries

    def _extend(self, thread: Thread, turn: Turn) -> None:
        history = thread.histories.setdefault(turn.ai, [])
        history.extend([Message(role="user", content=turn.prompt), Message(role="assistant", content=turn.answer)])
        del history[: max(0, len(history) - self._max_messages)]
        thread.updated_at = max(thread.updated_at, turn.at)


def _turn_json(turn: Turn) -> str:
    return json.dumps({"ai": turn.ai, "prompt": turn.prompt, "answer": turn.answer, "at": turn.at})


def _turn_of(data: str) -> Turn:
    raw = json.loads(data)
    return Turn(ai=raw["ai"], prompt=raw["prompt"], answer=raw["answer"], at=raw["at"])


class _StateBackend:
    """Threads in the state seam: one append-only list per thread (a header with its creation time, then one
    item per turn) and a per-principal index scored by last activity (LRU order and expiry). A thread reaches
    the store with its first turn, header and turn in one atomic step (with Redis: one round trip per call, not
    two; and a call that failed leaves no empty thread to push a real one out of the principal's `max_threads`).
    Each later turn is one atomic step too, re-writing the header first if the thread expired meanwhile."""

    # A thread may name up to 50 AIs (ask_many's limit); only that many full histories are read back.
    MAX_AIS = 50
    header_with_first_turn = True

    def __init__(self, state: StateStore, ttl_s: float, max_threads: int, max_messages: int) -> None:
        self._state = state
        self._ttl_s = ttl_s
        self._max_threads = max_threads
        self._max_turns = max_messages // 2 * self.MAX_AIS

    @staticmethod
    def _key(principal: str, thread_id: str) -> str:
        return f"thread:{quote(principal, safe='')}:{quote(thread_id, safe='')}"

    @staticmethod
    def _index(principal: str) -> str:
        return f"threads:{quote(principal, safe='')}"

    async def create(self, principal: str, thread_id: str, now: float) -> None:
        await self._write(principal, thread_id, now, json.dumps({"created_at": now}), "")

    async def load(self, principal: str, thread_id: str, since: float) -> tuple[float, float, list[Turn]] | None:
        items = await self._state.items(self._key(principal, thread_id))
        if not items:
            return None
        created_at = float(json.loads(items[0])["created_at"])
        kept = [_turn_of(item) for item in items[1:]]
        updated_at = max([created_at, *(t.at for t in kept)])
        if updated_at < since:
            return None
        return created_at, updated_at, kept[-self._max_turns :]

    async def touch(self, principal: str, thread_id: str, created_at: float, now: float) -> None:
        await self._state.index_add(self._index(principal), thread_id, now, ttl_s=self._ttl_s)

    async def append(self, principal: str, thread_id: str, created_at: float, turn: Turn) -> None:
        await self._write(principal, thread_id, turn.at, _turn_json(turn), json.dumps({"created_at": created_at}))

    async def _write(self, principal: str, thread_id: str, now: float, item: str, header: str) -> None:
        evicted = await self._state.append_indexed(
            self._key(principal, thread_id),
            item,
            self._index(principal),
            thread_id,
            now,
            ttl_s=self._ttl_s,
            keep=self._max_threads,
            first=header,
            evict_prefix=self._key(principal, ""),  # the least recently used threads beyond max_threads go too
        )
        for stale in evicted:
            if quote(stale, safe="") != stale:  # (never for ids we make) its key is not the prefix + the id
                await self._state.delete(self._key(principal, stale))

    async def listing(self, principal: str, since: float) -> list[str]:
        return [member for member, _ in await self._state.index_members(self._index(principal), min_score=since)]

    def close(self) -> None:
        return None


class _SqliteBackend:
    """Threads in a SQLite file: one row per thread and one per turn, written in their own transactions, so
    processes sharing the file interleave their turns instead of overwriting each other's."""

    header_with_first_turn = False  # its row is written at once: a file that cannot be written fails before a call
    SCHEMA = (
        "CREATE TABLE IF NOT EXISTS thread_meta (id TEXT PRIMARY KEY, principal TEXT NOT NULL, "
        "created_at REAL NOT NULL, updated_at REAL NOT NULL)",
        "CREATE TABLE IF NOT EXISTS thread_turns (seq INTEGER PRIMARY KEY AUTOINCREMENT, thread_id TEXT NOT NULL, "
        "ai TEXT NOT NULL, prompt TEXT NOT NULL, answer TEXT NOT NULL, at REAL NOT NULL)",
        "CREATE INDEX IF NOT EXISTS thread_turns_by_thread ON thread_turns (thread_id, seq)",
    )

    def __init__(self, path: str, max_threads: int) -> None:
        self._path = path
        self._max_threads = max_threads
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _fail(self, error: Exception) -> StateUnavailableError:
        return StateUnavailableError(
            f"The threads database {self._path!r} cannot be used ({error}). Point settings.threads_db at a "
            "writable SQLite file, or remove the setting to keep threads in memory."
        )

    def _connection(self) -> sqlite3.Connection:
        # Opened on first use, not at start: a bad path is reported by the tools, it does not stop the server.
        if self._db is None:
            if self._path != ":memory:" and not os.path.exists(self._path):
                touch_private(self._path)  # conversations are private: a new database is owner-only (0600)
            db = sqlite3.connect(self._path, timeout=30, check_same_thread=False, isolation_level=None)
            try:
                db.execute("PRAGMA busy_timeout = 30000")
                for statement in self.SCHEMA:
                    db.execute(statement)
                self._import_old_rows(db)
            except BaseException:
                db.close()
                raise
            self._db = db
        return self._db

    @staticmethod
    def _import_old_rows(db: sqlite3.Connection) -> None:
        """Threads written by earlier versions (one JSON document per thread) become rows of the new tables."""
        columns = [row[1] for row in db.execute("PRAGMA table_info(threads)")]
        if "data" not in columns:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            for (data,) in db.execute("SELECT data FROM threads").fetchall():
                old = Thread.model_validate_json(data)
                db.execute(
                    "INSERT OR IGNORE INTO thread_meta VALUES (?, ?, ?, ?)",
                    (old.id, LOCAL, old.created_at, old.updated_at),
                )
                for ai, history in old.histories.items():
                    for ask, answer in zip(history[::2], history[1::2], strict=False):
                        db.execute(
                            "INSERT INTO thread_turns (thread_id, ai, prompt, answer, at) VALUES (?, ?, ?, ?, ?)",
                            (old.id, ai, ask.content, answer.content, old.updated_at),
                        )
            db.execute("DROP TABLE threads")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    async def _run(self, function: Callable[..., T], *args: object) -> T:
        def locked() -> T:
            with self._lock:
                try:
                    return function(self._connection(), *args)
                except (sqlite3.Error, OSError) as error:
                    raise self._fail(error) from error

        return await anyio.to_thread.run_sync(locked)

    async def create(self, principal: str, thread_id: str, now: float) -> None:
        def insert(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("INSERT INTO thread_meta VALUES (?, ?, ?, ?)", (thread_id, principal, now, now))
                # Beyond max_threads the principal's least recently used threads go (with their turns).
                db.execute(
                    "DELETE FROM thread_turns WHERE thread_id IN (SELECT id FROM thread_meta WHERE principal = ? "
                    "ORDER BY updated_at DESC LIMIT -1 OFFSET ?)",
                    (principal, self._max_threads),
                )
                db.execute(
                    "DELETE FROM thread_meta WHERE id IN (SELECT id FROM thread_meta WHERE principal = ? "
                    "ORDER BY updated_at DESC LIMIT -1 OFFSET ?)",
                    (principal, self._max_threads),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

        await self._run(insert)

    async def load(self, principal: str, thread_id: str, since: float) -> tuple[float, float, list[Turn]] | None:
        def select(db: sqlite3.Connection) -> tuple[float, float, list[Turn]] | None:
            meta = db.execute(
                "SELECT created_at, updated_at FROM thread_meta WHERE id = ? AND principal = ? AND updated_at >= ?",
                (thread_id, principal, since),
            ).fetchone()
            if meta is None:
                return None
            rows = db.execute(
                "SELECT ai, prompt, answer, at FROM thread_turns WHERE thread_id = ? ORDER BY seq", (thread_id,)
            ).fetchall()
            return meta[0], meta[1], [Turn(*row) for row in rows]

        return await self._run(select)

    async def touch(self, principal: str, thread_id: str, created_at: float, now: float) -> None:
        def update(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE thread_meta SET updated_at = max(updated_at, ?) WHERE id = ? AND principal = ?",
                (now, thread_id, principal),
            )

        await self._run(update)

    async def append(self, principal: str, thread_id: str, created_at: float, turn: Turn) -> None:
        def insert(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(
                    "INSERT INTO thread_turns (thread_id, ai, prompt, answer, at) VALUES (?, ?, ?, ?, ?)",
                    (thread_id, turn.ai, turn.prompt, turn.answer, turn.at),
                )
                db.execute(
                    "UPDATE thread_meta SET updated_at = max(updated_at, ?) WHERE id = ? AND principal = ?",
                    (turn.at, thread_id, principal),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

        await self._run(insert)

    async def listing(self, principal: str, since: float) -> list[str]:
        def select(db: sqlite3.Connection) -> list[str]:
            # Expired threads are deleted here, in their own transaction: the file does not grow forever.
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(
                    "DELETE FROM thread_turns WHERE thread_id IN (SELECT id FROM thread_meta WHERE updated_at < ?)",
                    (since,),
                )
                db.execute("DELETE FROM thread_meta WHERE updated_at < ?", (since,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            rows = db.execute(
                "SELECT id FROM thread_meta WHERE principal = ? ORDER BY updated_at", (principal,)
            ).fetchall()
            return [row[0] for row in rows]

        return await self._run(select)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
