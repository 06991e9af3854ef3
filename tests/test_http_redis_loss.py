"""Redis going away under a running replica (issue 14, attack round 2), against real `redis-server` processes: a
restart costs no call (stale pooled connections are replaced before use), an answer already paid for comes back
with a note when Redis dies before it could be kept, and the per-principal job index expires like every other key.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import redis.asyncio as aioredis

from junior_ai.ai.simulator import Simulator
from junior_ai.core.state_redis import PREFIX, RedisState
from junior_ai.tools.jobs.model import JobRecord
from junior_ai.tools.jobs.shared_store import SharedStateJobStore
from tests.http_servers import junior_server, mcp_session, redis_server, write_config
from tests.test_http_auth import new_token_via_cli, simulated_ai
from tests.test_http_call_limits import held, wait_in_flight
from tests.test_http_edges import free_port
from tests.test_server_tools import text_of


async def test_the_first_call_after_redis_restarts_succeeds_on_every_replica(sim: Simulator, tmp_path: Path) -> None:
    alice, alice_line = new_token_via_cli("alice")
    settings: dict[str, Any] = {"http_tokens": {"alice": alice_line}, "principals": {"alice": {"usd_per_day": 5}}}
    port = free_port()
    first = redis_server(tmp_path, tcp_port=port)
    redis = first.__enter__()
    stopped = False
    try:
        settings["state_url"] = redis.url
        config = write_config(tmp_path / "c.json", simulated_ai(sim, "m"), settings)
        with junior_server(config) as one, junior_server(config) as two:
            answers = []
            async with mcp_session(one.url, alice) as a, mcp_session(two.url, alice) as b:
                answers += [await a.call_tool("ask_one", {"ai": "ai", "prompt": "before"})]
                answers += [await b.call_tool("ask_one", {"ai": "ai", "prompt": "before"})]
                first.__exit__(None, None, None)  # Redis stops: every pooled connection of both replicas is stale
                stopped = True
                with redis_server(tmp_path, tcp_port=port):  # and comes back on the same port
                    answers += [await a.call_tool("ask_one", {"ai": "ai", "prompt": "after the restart"})]
                    answers += [await b.call_tool("ask_one", {"ai": "ai", "prompt": "after the restart"})]
    finally:
        if not stopped:
            first.__exit__(None, None, None)
    for result in answers:
        assert not result.is_error, text_of(result)
        assert (result.structured_content or {})["status"] == "ok"


async def test_an_answer_paid_for_comes_back_with_a_note_when_redis_dies_before_it_is_kept(
    sim: Simulator, tmp_path: Path
) -> None:
    carol, carol_line = new_token_via_cli("carol")
    settings: dict[str, Any] = {
        "http_tokens": {"carol": carol_line},
        "principals": {"carol": {"usd_per_day": 5, "max_concurrent_calls": 2}},
    }
    answer: dict[str, Any] = {}
    with redis_server(tmp_path) as redis:
        settings["state_url"] = redis.url
        config = write_config(tmp_path / "c.json", simulated_ai(sim, "slow-model"), settings)
        with junior_server(config) as server, held(sim, "slow-model"):
            async with mcp_session(server.url, carol) as client, anyio.create_task_group() as tg:

                async def call() -> None:
                    answer["result"] = await client.call_tool("ask_one", {"ai": "ai", "prompt": "worth keeping"})

                await client.list_tools()
                tg.start_soon(call)
                await wait_in_flight(sim, 1)
                redis.process.send_signal(signal.SIGKILL)  # gone mid-call, its data with it
                await anyio.to_thread.run_sync(redis.process.wait)
                sim.state.release("slow-model")  # the provider answers (and bills) after that
    result = answer["result"]
    text = text_of(result)
    assert not result.is_error, text
    assert (result.structured_content or {})["status"] == "ok"
    assert (result.structured_content or {})["text"] in text
    thread_id = (result.structured_content or {})["thread_id"]
    assert f"note: this answer could not be added to thread {thread_id}" in text
    assert "shared state store (settings.state_url) is unreachable" in text
    assert "redis.sock" not in text  # where the store lives is not told


async def test_the_job_index_of_a_principal_expires_with_its_longest_lived_job(tmp_path: Path) -> None:
    with redis_server(tmp_path) as redis:
        state = RedisState.from_url(redis.url)
        raw = aioredis.Redis.from_url(redis.url)
        try:
            store = SharedStateJobStore(state)
            now = time.time()

            def record(job_id: str, keep_s: float) -> JobRecord:
                return JobRecord(
                    id=job_id, principal="alice", tool="ask_one", created_at=now, updated_at=now,
                    expires_at=now + keep_s, owner="o", lease_until=now + 30, detached=True,
                )  # fmt: skip

            await store.put(record("long", 3_600))
            after_long = await raw.pttl(PREFIX + "jobs:alice")
            await store.put(record("short", 60))  # a shorter-lived job does not shorten the index
            after_short = await raw.pttl(PREFIX + "jobs:alice")
            await store.put(record("longer", 7_200))
            after_longer = await raw.pttl(PREFIX + "jobs:alice")
        finally:
            await raw.aclose()
            await state.aclose()
    assert 3_000_000 < after_long <= 3_600_000
    assert 3_000_000 < after_short <= after_long
    assert 7_000_000 < after_longer <= 7_200_000
