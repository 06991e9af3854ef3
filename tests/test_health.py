"""Per-AI health: circuit breaker with cooldown and probe, sticky auth errors, and the rpm limiter."""

from __future__ import annotations

import itertools
import time

import anyio
import pytest
from mcp.client.client import Client

from junior_ai.ai.call import call_ai_async
from junior_ai.ai.registry import initialize_all_clients_async
from junior_ai.ai.simulator import Fault, Scenario, Simulator
from junior_ai.ai.types import GenerateRequest
from junior_ai.core.errors import AuthError, CoolingDownError, RateLimitedError, UnavailableError
from junior_ai.server.app import build_server
from tests.conftest import config_of, gemini_ai, openai_ai

REQUEST = GenerateRequest.from_prompt("hi")


async def test_breaker_opens_after_consecutive_failures_then_probes_and_closes(sim: Simulator) -> None:
    sim.set_scenario("flaky", Scenario(fault=Fault(kind="status", status=503, times=4)))
    config = config_of(openai_ai(sim, "ai", "flaky"), max_attempts=1, breaker_threshold=2, breaker_cooldown_s=0.5)
    registry = await initialize_all_clients_async(config)
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

        await anyio.sleep(0.55)
        with pytest.raises(UnavailableError):  # the probe fails (3rd fault): cooldown again at once
            await call_ai_async(registry, "ai", REQUEST)
        with pytest.raises(CoolingDownError):
            await call_ai_async(registry, "ai", REQUEST)

        await anyio.sleep(0.55)
        with pytest.raises(UnavailableError):  # 4th fault
            await call_ai_async(registry, "ai", REQUEST)
        await anyio.sleep(0.55)
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
    try:
        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(call_ai_async, registry, "ai", REQUEST)
    finally:
        await registry.aclose()
    starts = sorted(r.started for r in sim.state.requests("spaced"))
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(starts) == 5 and min(gaps) >= 0.09  # 600 rpm = one request every 0.1 s


async def test_rpm_slot_after_the_deadline_fails_fast_as_rate_limited(sim: Simulator) -> None:
    registry = await initialize_all_clients_async(config_of(openai_ai(sim, "ai", "slow-rpm", rpm=6)))
    try:
        await call_ai_async(registry, "ai", REQUEST)
        started = time.perf_counter()
        with pytest.raises(RateLimitedError, match="held to 6 requests per minute") as caught:
            await call_ai_async(registry, "ai", REQUEST, timeout_s=2)
        assert time.perf_counter() - started < 0.5 and (caught.value.retry_after_s or 0) > 9
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
