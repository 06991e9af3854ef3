"""Kept results reach the shared state (a real redis-server) whatever way a call ends, and each call's flush
writes that call's own texts: a URI handed out by one replica reads on another as soon as its call (or job) ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest

from junior_ai.core.config import Settings
from junior_ai.core.state import StateStore, open_state
from junior_ai.server.tenancy import Tenancy
from junior_ai.tools.output_budget import ResultStore
from junior_ai.tools.threads import ThreadStore
from tests.http_servers import redis_server


@asynccontextmanager
async def shared_state(tmp_path: Path) -> AsyncIterator[StateStore]:
    with redis_server(tmp_path) as redis:
        state = open_state(redis.url)
        try:
            yield state
        finally:
            await state.aclose()


def replica(state: StateStore) -> Tenancy:
    """One replica's tenancy: its own in-memory stores, the shared state."""
    threads = ThreadStore(ttl_s=60, max_threads=5, max_messages=10)
    return Tenancy(Settings(), state, threads, ResultStore(ttl_s=60, max_bytes=1_000_000, state=state))


class GatedState:
    """The real shared state, whose writes of one key wait until `release` is set (a slow round trip)."""

    shared = True

    def __init__(self, state: StateStore, slow_key: str) -> None:
        self.state = state
        self.slow_key = slow_key
        self.writing_slow = anyio.Event()
        self.release = anyio.Event()

    async def put(self, key: str, value: str, *, ttl_s: float | None = None) -> None:
        if self.slow_key in key:
            self.writing_slow.set()
            await self.release.wait()
        await self.state.put(key, value, ttl_s=ttl_s)

    async def get(self, key: str) -> str | None:
        return await self.state.get(key)


async def test_a_call_that_fails_after_keeping_a_result_still_writes_it_for_the_other_replicas(
    tmp_path: Path,
) -> None:
    async with shared_state(tmp_path) as state:
        one, two = replica(state), replica(state)
        with pytest.raises(RuntimeError, match="the tool failed"):
            async with one.call("alice") as views:
                views.results.put("r1", "answer", "full text " * 500)
                raise RuntimeError("the tool failed after trimming")
        assert await two.views("alice").results.get("r1", "answer") == "full text " * 500


async def test_a_calls_flush_returns_only_once_its_own_texts_are_written_while_another_call_is_flushing(
    tmp_path: Path,
) -> None:
    async with shared_state(tmp_path) as real:
        gated = GatedState(real, slow_key="slow")
        store = ResultStore(ttl_s=60, max_bytes=1_000_000, state=gated)  # type: ignore[arg-type]
        other_replica = ResultStore(ttl_s=60, max_bytes=1_000_000, state=real).scoped("alice")
        first, second = store.scoped("alice"), store.scoped("alice")
        first.put("slow", "answer", "the first call's text")
        second.put("fast", "answer", "the second call's text")
        async with anyio.create_task_group() as tg:
            tg.start_soon(first.flush)
            with anyio.fail_after(30):
                await gated.writing_slow.wait()  # the first call's flush is mid-write
            await second.flush()
            assert await other_replica.get("fast", "answer") == "the second call's text"
            gated.release.set()
        assert await other_replica.get("slow", "answer") == "the first call's text"
