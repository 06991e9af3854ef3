"""What one call costs in Redis round trips, counted on a real `redis-server` (its MONITOR stream) while a real
`junior-ai serve` replica answers over HTTP. Every round trip is a wake-up of Redis and of the replica, which is
what a busy machine charges most for; these counts are the budget the replica benchmark's ratio rests on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import redis.asyncio as aioredis

from junior_ai.ai.simulator import Simulator
from tests.http_servers import junior_server, mcp_session, redis_server, write_config
from tests.test_http_auth import simulated_ai

STOP = "junior-ai-test:end-of-call"


async def round_trips_during(url: str, action: Callable[[], Awaitable[object]]) -> list[str]:
    """The commands other clients sent to Redis while `action` ran, one per round trip: commands a Lua script ran
    inside one EVALSHA are left out (they cost no round trip of their own)."""
    watcher = aioredis.Redis.from_url(url, decode_responses=True)
    stopper = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        await stopper.ping()  # connected now, so its handshake is not among the commands counted
        async with watcher.monitor() as monitor:  # MONITOR is on once this returns
            await action()
            await stopper.get(STOP)  # after the HTTP answer, so every command of the call came before it
            commands = []
            while (seen := await monitor.next_command())["command"] != f"GET {STOP}":
                if seen["client_type"] != "lua":
                    commands.append(str(seen["command"]))
    finally:
        await watcher.aclose()
        await stopper.aclose()
    return commands


async def test_an_ask_one_without_a_thread_makes_three_redis_round_trips(sim: Simulator, tmp_path: Path) -> None:
    # The breaker's shared state read before the provider is asked; after the answer, the new thread with its
    # first turn (one script), and the principal's usage (one script). No job record (the call ended within its
    # deadline), no rpm schedule (no rpm set), no concurrency or budget counters (no principal limits).
    with redis_server(tmp_path) as redis:
        config = write_config(tmp_path / "c.json", simulated_ai(sim), {"state_url": redis.url})
        with junior_server(config) as server:
            async with mcp_session(server.url) as client:
                await client.call_tool("ask_one", {"ai": "ai", "prompt": "warm up"})  # scripts loaded, pool open

                async def ask() -> None:
                    result = await client.call_tool("ask_one", {"ai": "ai", "prompt": "count my round trips"})
                    assert not result.is_error

                commands = await round_trips_during(redis.url, ask)
    assert len(commands) <= 3, commands
    assert [c.split()[0] for c in commands] == ["GET", "EVALSHA", "EVALSHA"], commands
    assert not any("job" in c or "rpm:" in c or "inflight:" in c for c in commands), commands


async def test_a_new_thread_that_pushes_out_the_oldest_costs_no_extra_round_trip(
    sim: Simulator, tmp_path: Path
) -> None:
    # A busy principal is always at max_threads: every new conversation drops the least recently used one, and
    # that thread's record goes in the same script that writes the new one.
    with redis_server(tmp_path) as redis:
        config = write_config(tmp_path / "c.json", simulated_ai(sim), {"state_url": redis.url, "max_threads": 1})
        with junior_server(config) as server:
            async with mcp_session(server.url) as client:
                first = await client.call_tool("ask_one", {"ai": "ai", "prompt": "the oldest"})
                old_thread = (first.structured_content or {})["thread_id"]

                async def ask() -> None:
                    result = await client.call_tool("ask_one", {"ai": "ai", "prompt": "the newest"})
                    assert not result.is_error

                commands = await round_trips_during(redis.url, ask)
                gone = await client.call_tool("ask_one", {"ai": "ai", "prompt": "again", "thread_id": old_thread})
    assert [c.split()[0] for c in commands] == ["GET", "EVALSHA", "EVALSHA"], commands
    assert gone.is_error and "unknown or expired thread_id" in str(gone.content)


async def test_continuing_a_thread_adds_only_its_read_and_its_touch(sim: Simulator, tmp_path: Path) -> None:
    with redis_server(tmp_path) as redis:
        config = write_config(tmp_path / "c.json", simulated_ai(sim), {"state_url": redis.url})
        with junior_server(config) as server:
            async with mcp_session(server.url) as client:
                first = await client.call_tool("ask_one", {"ai": "ai", "prompt": "remember 7"})
                thread_id = (first.structured_content or {})["thread_id"]

                async def ask() -> None:
                    result = await client.call_tool("ask_one", {"ai": "ai", "prompt": "which?", "thread_id": thread_id})
                    assert not result.is_error

                commands = await round_trips_during(redis.url, ask)
    assert len(commands) <= 5, commands
    assert sum(1 for c in commands if f"thread:local:{thread_id}" in c) == 2, commands  # its read and its turn
