"""call_ai_async's policy: retries, Retry-After, deadlines, error mapping, sync fallback, concurrency limit."""

from __future__ import annotations

import random
import time
from email.utils import formatdate
from typing import Any

import anyio
import pytest

from junior_ai.ai.call import call_ai_async
from junior_ai.ai.registry import initialize_all_clients_async
from junior_ai.ai.retry import backoff_delay, parse_retry_after
from junior_ai.ai.simulator import Fault, Scenario, Simulator
from junior_ai.ai.types import GenerateRequest
from junior_ai.core.errors import (
    AuthError,
    BadRequestError,
    ContentBlockedError,
    MalformedResponseError,
    ProviderTimeoutError,
    RateLimitedError,
    UnavailableError,
)
from tests.conftest import config_of, gemini_ai, openai_ai
from tests.test_ai_clients import PROTOCOLS, MakeAI, one_ai

REQUEST = GenerateRequest.from_prompt("hello")


def test_retry_after_parses_seconds_milliseconds_and_http_dates() -> None:
    now = time.time()
    assert parse_retry_after({"Retry-After": "7"}) == 7.0
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({"retry-after": formatdate(now + 30, usegmt=True)}, now=now) == pytest.approx(30, abs=1)
    assert parse_retry_after({"retry-after": formatdate(now - 30, usegmt=True)}, now=now) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_backoff_is_full_jitter_under_a_growing_ceiling() -> None:
    rng = random.Random(7)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (10, 8.0)]:
        delays = [backoff_delay(attempt, rng=rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # spread over the whole range, not a fixed step


@pytest.mark.parametrize("make", PROTOCOLS)
async def test_429_with_retry_after_is_retried_after_the_wait_then_succeeds(sim: Simulator, make: MakeAI) -> None:
    sim.set_scenario("limited", Scenario(fault=Fault(kind="status", status=429, retry_after="1", times=1)))
    async with one_ai(sim, make, "limited") as registry:
        response = await call_ai_async(registry, "ai", REQUEST)
    assert response.attempts == 2
    first, second = sim.state.requests("limited")
    assert first.status == 429 and second.status == 200
    assert second.started - first.ended >= 0.95  # waited as told  # type: ignore[operator]


@pytest.mark.parametrize("make", PROTOCOLS)
async def test_retry_after_as_http_date_is_honoured(sim: Simulator, make: MakeAI) -> None:
    when = formatdate(time.time() + 2, usegmt=True)
    sim.set_scenario("dated", Scenario(fault=Fault(kind="status", status=429, retry_after=when, times=1)))
    async with one_ai(sim, make, "dated") as registry:
        response = await call_ai_async(registry, "ai", REQUEST)
    first, second = sim.state.requests("dated")
    assert response.attempts == 2
    assert second.started - first.ended >= 0.5  # type: ignore[operator]


@pytest.mark.parametrize("make", PROTOCOLS)
async def test_retry_after_longer_than_the_deadline_gives_up_at_once(sim: Simulator, make: MakeAI) -> None:
    sim.set_scenario("busy", Scenario(fault=Fault(kind="status", status=429, retry_after="120")))
    async with one_ai(sim, make, "busy") as registry:
        with anyio.fail_after(8), pytest.raises(RateLimitedError) as caught:  # waiting would take the whole 10 s
            await call_ai_async(registry, "ai", REQUEST, timeout_s=10)
    assert caught.value.retry_after_s == 120 and caught.value.status == "rate_limited"
    assert "retry after 120 s" in caught.value.message
    assert len(sim.state.requests("busy")) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
@pytest.mark.parametrize("make", PROTOCOLS)
async def test_server_errors_are_retried(sim: Simulator, make: MakeAI, status: int) -> None:
    sim.set_scenario("flaky", Scenario(fault=Fault(kind="status", status=status, times=2)))
    async with one_ai(sim, make, "flaky") as registry:
        response = await call_ai_async(registry, "ai", REQUEST, rng=random.Random(1))
    assert response.attempts == 3
    assert [r.status for r in sim.state.requests("flaky")] == [status, status, 200]


@pytest.mark.parametrize("make", PROTOCOLS)
async def test_persistent_server_error_stops_after_max_attempts(sim: Simulator, make: MakeAI) -> None:
    sim.set_scenario("down", Scenario(fault=Fault(kind="status", status=503)))
    async with one_ai(sim, make, "down") as registry:
        with pytest.raises(UnavailableError) as caught:
            await call_ai_async(registry, "ai", REQUEST, max_attempts=2, rng=random.Random(1))
    assert caught.value.attempts == 2 and caught.value.http_status == 503
    assert len(sim.state.requests("down")) == 2


@pytest.mark.parametrize(
    ("status", "error", "phrase"),
    [
        (401, AuthError, "check the API key for 'ai'"),
        (403, AuthError, "has access to model"),
        (400, BadRequestError, "check the arguments"),
        (404, BadRequestError, "does not know this model"),
    ],
)
@pytest.mark.parametrize("make", PROTOCOLS)
async def test_client_errors_are_not_retried(
    sim: Simulator, make: MakeAI, status: int, error: type[Exception], phrase: str
) -> None:
    sim.set_scenario("rejects", Scenario(fault=Fault(kind="status", status=status, message="nope")))
    async with one_ai(sim, make, "rejects") as registry:
        with pytest.raises(error) as caught:
            await call_ai_async(registry, "ai", REQUEST)
    assert phrase in str(caught.value) and "nope" in str(caught.value)
    assert len(sim.state.requests("rejects")) == 1


@pytest.mark.parametrize("make", PROTOCOLS)
async def test_hung_provider_times_out_at_the_deadline_and_the_request_is_closed(sim: Simulator, make: MakeAI) -> None:
    sim.set_scenario("hangs", Scenario(fault=Fault(kind="hang")))
    async with one_ai(sim, make, "hangs") as registry:
        started = anyio.current_time()
        with anyio.fail_after(8), pytest.raises(ProviderTimeoutError) as caught:  # the AI's own timeout is 10 s
            await call_ai_async(registry, "ai", REQUEST, timeout_s=0.5)
        assert anyio.current_time() - started >= 0.45  # it did wait for its deadline (a lower bound cannot flake)
    assert caught.value.status == "timeout" and "did not answer within 0.5 s" in caught.value.message
    assert await anyio.to_thread.run_sync(
        lambda: sim.state.wait_for(lambda s: s.requests("hangs")[0].outcome == "disconnected", 30)
    )


@pytest.mark.parametrize("make", PROTOCOLS)
async def test_malformed_body_is_retried_then_reported(sim: Simulator, make: MakeAI) -> None:
    sim.set_scenario("garbage", Scenario(fault=Fault(kind="malformed")))
    async with one_ai(sim, make, "garbage") as registry:
        with pytest.raises(MalformedResponseError) as caught:
            await call_ai_async(registry, "ai", REQUEST, max_attempts=2, rng=random.Random(1))
    assert caught.value.status == "error" and "could not be parsed" in caught.value.message
    assert len(sim.state.requests("garbage")) == 2


@pytest.mark.parametrize("make", PROTOCOLS)
async def test_connection_dropped_mid_body_is_retried(sim: Simulator, make: MakeAI) -> None:
    sim.set_scenario("dropper", Scenario(fault=Fault(kind="drop", times=1)))
    async with one_ai(sim, make, "dropper") as registry:
        response = await call_ai_async(registry, "ai", REQUEST, rng=random.Random(1))
    assert response.attempts == 2


@pytest.mark.parametrize("make", PROTOCOLS)
async def test_truncated_stream_is_detected_and_retried(sim: Simulator, make: MakeAI) -> None:
    sim.set_scenario("cut", Scenario(chunk_count=3, fault=Fault(kind="truncate", times=1)))
    async with one_ai(sim, make, "cut") as registry:
        response = await call_ai_async(registry, "ai", REQUEST, stream=True, rng=random.Random(1))
    assert response.attempts == 2 and response.finish_reason == "stop"
    assert [r.outcome for r in sim.state.requests("cut")] == ["fault", "completed"]


@pytest.mark.parametrize("kind", ["blocked", "empty"])
@pytest.mark.parametrize("make", PROTOCOLS)
async def test_safety_block_is_reported_as_blocked_without_retry(sim: Simulator, make: MakeAI, kind: str) -> None:
    sim.set_scenario("unsafe", Scenario(fault=Fault(kind=kind)))  # type: ignore[arg-type]
    async with one_ai(sim, make, "unsafe") as registry:
        with pytest.raises(ContentBlockedError) as caught:
            await call_ai_async(registry, "ai", REQUEST)
    assert caught.value.status == "blocked"
    assert len(sim.state.requests("unsafe")) == 1


async def test_connection_refused_is_unavailable_with_a_fix(sim: Simulator) -> None:
    dead = openai_ai(sim, "ai", "m", base_url="http://127.0.0.1:9/v1")
    registry = await initialize_all_clients_async(config_of(dead))
    try:
        with pytest.raises(UnavailableError) as caught:
            await call_ai_async(registry, "ai", REQUEST, max_attempts=2, rng=random.Random(1))
    finally:
        await registry.aclose()
    assert caught.value.attempts == 2
    assert "could not reach ai at http://127.0.0.1:9/v1" in caught.value.message and "base_url" in caught.value.message


@pytest.mark.parametrize("make", PROTOCOLS)
async def test_sync_fallback_serves_the_call_when_the_async_client_is_broken(sim: Simulator, make: MakeAI) -> None:
    async with one_ai(sim, make, "fallback") as registry:
        entry = registry.get("ai")
        client: Any = entry.client
        # Break only the async transport: close it under the client's feet.
        if make is openai_ai:
            await client._async.close()
        else:
            await client._client.aio.aclose()
        response = await call_ai_async(registry, "ai", REQUEST)
        assert entry.stats.sync_fallbacks == 1
    assert response.path == "sync_fallback" and response.text.startswith("[fallback]")
    assert len(sim.state.requests("fallback")) == 1


@pytest.mark.parametrize("make", PROTOCOLS)
async def test_sync_fallback_is_bounded_by_the_same_deadline(sim: Simulator, make: MakeAI) -> None:
    sim.set_scenario("fallback-hang", Scenario(fault=Fault(kind="hang")))
    async with one_ai(sim, make, "fallback-hang") as registry:
        client: Any = registry.get("ai").client
        if make is openai_ai:
            client._async = None
        else:
            client._async_ready = False
        with anyio.fail_after(8), pytest.raises(ProviderTimeoutError):  # the AI's own timeout is 10 s
            await call_ai_async(registry, "ai", REQUEST, timeout_s=0.5)
    # The worker thread's own HTTP timeout ends the hung request too: no thread is left behind.
    assert await anyio.to_thread.run_sync(
        lambda: sim.state.wait_for(lambda s: s.requests("fallback-hang")[0].outcome == "disconnected", 30)
    )


async def test_concurrency_limit_is_shared_by_every_caller(sim: Simulator) -> None:
    sim.set_scenario("limited-conc", Scenario(latency_s=0.1))
    registry = await initialize_all_clients_async(config_of(openai_ai(sim, "ai", "limited-conc", max_concurrency=3)))
    try:
        async with anyio.create_task_group() as tg:
            for _ in range(12):
                tg.start_soon(call_ai_async, registry, "ai", REQUEST)
    finally:
        await registry.aclose()
    assert len(sim.state.requests("limited-conc")) == 12
    assert sim.state.max_in_flight == 3


async def test_ai_that_failed_to_initialize_is_reported_and_others_work(sim: Simulator) -> None:
    def broken_factory(config: Any) -> Any:
        raise RuntimeError("no transport for you")

    from junior_ai.ai.registry import DEFAULT_FACTORIES

    factories = {**DEFAULT_FACTORIES, "gemini": broken_factory}
    registry = await initialize_all_clients_async(
        config_of(openai_ai(sim, "good", "m1"), gemini_ai(sim, "bad", "m2")), factories=factories
    )
    try:
        assert registry.ready_names() == ["good"]
        assert "no transport for you" in (registry.get("bad").init_error or "")
        with pytest.raises(UnavailableError, match="bad could not be initialized"):
            await call_ai_async(registry, "bad", REQUEST)
        assert (await call_ai_async(registry, "good", REQUEST)).text
    finally:
        await registry.aclose()
