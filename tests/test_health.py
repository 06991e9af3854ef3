"""Per-AI health: circuit breaker with cooldown and probe, sticky auth errors, and the rpm limiter."""

from __future__ import annotations

import itertools

import anyio
import pytest
from mcp.client.client import Client

from junior_ai.ai.call import call_ai_async
from junior_ai.ai.health import RateLimiter
from junior_ai.ai.registry import initialize_all_clients_async
from junior_ai.ai.simulator import Fault, Scenario, Simulator
from junior_ai.ai.types import GenerateRequest
from junior_ai.core.errors import AuthError, CoolingDownError, RateLimitedError, UnavailableError
from junior_ai.server.app import build_server
from tests.clock import ManualClock, drive_health_by
from tests.conftest import config_of, gemini_ai, openai_ai

REQUEST = GenerateRequest.from_prompt("hi")


async def test_breaker_opens_after_consecutive_failures_then_probes_and_closes(sim: Simulator) -> None:
    sim.set_scenario("flaky", Scenario(fault=Fault(kind="status", status=503, times=4)))
    config = config_of(openai_ai(sim, "ai", "flaky"), max_attempts=1, breaker_threshold=2, breaker_cooldown_s=0.5)
    registry = await initialize_all_clients_async(config)
    clock = ManualClock()
    drive_health_by(registry, clock)
    try:
        for _ in range(2):
            with pytest.raises(UnavailableError):
                await call_ai_async(registry, "ai", REQUEST)
        with pytest.raises(CoolingDownError) as caught:
            await call_ai_async(registry, "ai", REQUEST)
        assert caught.value.status == "cooling_down" and 0 < (caught.value.retry_after_s or 0) <= 0.5
        assert "tried again in" in caught.value.message
        assert len(sim.state.requests("flaky")) == 2  # the skipped call never reached the provider
        assert registry.get("ai").breaker.state == "cooling_down"
        clock.advance(0.49)
        with pytest.raises(CoolingDownError):  # not yet: the cooldown is 0.5 s
            await call_ai_async(registry, "ai", REQUEST)

        clock.advance(0.02)
        with pytest.raises(UnavailableError):  # the probe fails (3rd fault): cooldown again at once
            await call_ai_async(registry, "ai", REQUEST)
        with pytest.raises(CoolingDownError):
            await call_ai_async(registry, "ai", REQUEST)

        clock.advance(0.51)
        with pytest.raises(UnavailableError):  # 4th fault
            await call_ai_async(registry, "ai", REQUEST)
        clock.advance(0.51)
        response = await call_ai_async(registry, "ai", REQUEST)  # the probe succeeds: closed again
        assert response.text and registry.get("ai").breaker.state == "healthy"
    finally:
        await registry.aclose()


async def test_bad_requests_do_not_trip_the_breaker(sim: Simulator) -> None:
    sim.set_scenario("picky", Scenario(fault=Fault(kind="status", status=400)))
    config = config_of(openai_ai(sim, "ai", "picky"), breaker_threshold=1)
    registry = await initialize_all_clients_async(config)
    try:
        for _ in range(3):
            with pytest.raises(Exception, match="rejected the request"):
                await call_ai_async(registry, "ai", REQUEST)
        assert len(sim.state.requests("picky")) == 3 and registry.get("ai").breaker.state == "healthy"
    finally:
        await registry.aclose()


async def test_auth_failure_sticks_until_restart(sim: Simulator) -> None:
    sim.set_scenario("denied", Scenario(fault=Fault(kind="status", status=401, times=1)))
    registry = await initialize_all_clients_async(config_of(gemini_ai(sim, "ai", "denied")))
    try:
        with pytest.raises(AuthError):
            await call_ai_async(registry, "ai", REQUEST)
        with pytest.raises(AuthError, match="fix the key and restart the server") as caught:
            await call_ai_async(registry, "ai", REQUEST)
        assert caught.value.attempts == 0
        assert len(sim.state.requests("denied")) == 1
        assert registry.get("ai").breaker.state == "auth_error"
    finally:
        await registry.aclose()


async def test_rpm_limit_spaces_requests_across_callers(sim: Simulator) -> None:
    registry = await initialize_all_clients_async(config_of(openai_ai(sim, "ai", "spaced", rpm=600)))
    clock = ManualClock()
    drive_health_by(registry, clock)
    try:
        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(call_ai_async, registry, "ai", REQUEST)
    finally:
        await registry.aclose()
    # What the limiter granted (its own decisions), not arrival times at the simulator, which a busy machine skews.
    gaps = [b - a for a, b in itertools.pairwise(sorted(clock.wakeups))]
    assert len(clock.wakeups) == 5 and gaps == pytest.approx([0.1] * 4)  # 600 rpm = one request every 0.1 s
    assert len(sim.state.requests("spaced")) == 5


async def test_rpm_limiter_grants_each_caller_the_next_free_slot_and_never_a_burst() -> None:
    clock = ManualClock(start=100.0)
    limiter = RateLimiter("ai", 120, clock=clock)  # one start every 0.5 s
    grants = [await limiter.acquire(deadline=200.0) for _ in range(3)]
    assert grants == pytest.approx([100.0, 100.5, 101.0])
    clock.advance(10)  # idle for a while: the next caller goes at once, but the one after still waits its turn
    assert await limiter.acquire(deadline=200.0) == pytest.approx(111.0)
    assert await limiter.acquire(deadline=200.0) == pytest.approx(111.5)
    with pytest.raises(RateLimitedError):  # the next slot (112.0) is after this caller's deadline
        await limiter.acquire(deadline=111.9)


async def test_rpm_slot_after_the_deadline_fails_fast_as_rate_limited(sim: Simulator) -> None:
    registry = await initialize_all_clients_async(config_of(openai_ai(sim, "ai", "slow-rpm", rpm=6)))
    try:
        await call_ai_async(registry, "ai", REQUEST)
        # Waiting for the slot would take 10 s; the limiter refuses at once instead (fail_after only guards a hang).
        with anyio.fail_after(8), pytest.raises(RateLimitedError, match="held to 6 requests per minute") as caught:
            await call_ai_async(registry, "ai", REQUEST, timeout_s=2)
        assert (caught.value.retry_after_s or 0) > 9 and len(sim.state.requests("slow-rpm")) == 1
        assert registry.get("ai").breaker.state == "healthy"  # our own limit says nothing of the AI's health
    finally:
        await registry.aclose()


async def test_list_ais_shows_health_and_ask_many_reports_cooling_down(sim: Simulator) -> None:
    sim.set_scenario("down", Scenario(fault=Fault(kind="status", status=503)))
    config = config_of(
        openai_ai(sim, "down-ai", "down"),
        gemini_ai(sim, "up-ai", "up"),
        max_attempts=1,
        breaker_threshold=1,
        breaker_cooldown_s=60,
    )
    async with Client(build_server(config)) as client:
        await client.call_tool("ask_many", {"prompt": "x"})
        second = await client.call_tool("ask_many", {"prompt": "x"})
        listing = await client.call_tool("list_ais", {})
    statuses = {r["ai"]: r for r in (second.structured_content or {})["results"]}
    assert statuses["down-ai"]["status"] == "cooling_down" and statuses["down-ai"]["retry_after_s"] > 50
    assert statuses["up-ai"]["status"] == "ok"
    ais = {a["name"]: a for a in (listing.structured_content or {})["ais"]}
    assert ais["down-ai"]["health"] == "cooling_down" and ais["down-ai"]["cooldown_left_s"] > 50
    assert ais["up-ai"]["health"] == "healthy"
    assert len(sim.state.requests("down")) == 1
