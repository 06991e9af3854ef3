"""call_multiple_ais: concurrency, partial results at the deadline, min_responses, cancellation, cleanup."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.to_thread
import pytest

from junior_ai.ai.fanout import call_multiple_ais
from junior_ai.ai.registry import AIRegistry, cleanup_async_ai_clients, initialize_all_clients_async
from junior_ai.ai.simulator import Fault, Scenario, Simulator
from junior_ai.ai.types import CallResult, GenerateRequest
from junior_ai.core.config import JuniorConfig
from junior_ai.core.errors import InvalidInputError, NoAIConfiguredError
from tests.conftest import config_of, gemini_ai, openai_ai

REQUEST = GenerateRequest.from_prompt("fan out")


def three_ais(sim: Simulator, latencies: tuple[float, float, float] = (0.3, 0.6, 0.9)) -> JuniorConfig:
    for name, latency in zip(("a-model", "b-model", "c-model"), latencies, strict=True):
        sim.set_scenario(name, Scenario(latency_s=latency))
    return config_of(openai_ai(sim, "a", "a-model"), gemini_ai(sim, "b", "b-model"), openai_ai(sim, "c", "c-model"))


async def test_fan_out_asks_every_ai_at_once_not_one_after_another(sim: Simulator) -> None:
    # Each AI holds its answer until all three requests are in flight together: asked one after another, the first
    # would wait for the others forever (and time out), so three answers prove the calls overlapped.
    for model in ("a-model", "b-model", "c-model"):
        sim.set_scenario(model, Scenario(hold_until_in_flight=3))
    config = config_of(openai_ai(sim, "a", "a-model"), gemini_ai(sim, "b", "b-model"), openai_ai(sim, "c", "c-model"))
    registry = await initialize_all_clients_async(config)
    try:
        with anyio.fail_after(60):
            results = await call_multiple_ais(registry, REQUEST)
    finally:
        await registry.aclose()
    assert [r.status for r in results] == ["ok", "ok", "ok"]
    assert [r.ai for r in results] == ["a", "b", "c"]
    assert sim.state.max_in_flight == 3
    assert all(r.text and r.usage and r.path == "async" for r in results)


async def test_deadline_keeps_the_answers_that_arrived(sim: Simulator) -> None:
    config = three_ais(sim, (0.1, 0.2, 0.0))
    sim.set_scenario("c-model", Scenario(fault=Fault(kind="hang")))  # never answers: only the deadline ends it
    registry = await initialize_all_clients_async(config)
    try:
        with anyio.fail_after(60):
            results = await call_multiple_ais(registry, REQUEST, deadline_s=0.6)
    finally:
        await registry.aclose()
    assert [r.status for r in results] == ["ok", "ok", "timeout"]
    assert "overall deadline of 0.6 s" in (results[2].error or "")
    assert await anyio.to_thread.run_sync(
        lambda: sim.state.wait_for(lambda s: s.requests("c-model")[0].outcome == "disconnected", 30)
    )


async def test_min_responses_returns_early_and_cancels_the_rest(sim: Simulator) -> None:
    config = three_ais(sim, (0.1, 0.2, 0.0))
    sim.set_scenario("c-model", Scenario(fault=Fault(kind="hang")))  # without min_responses: c's 10 s timeout
    registry = await initialize_all_clients_async(config)
    try:
        with anyio.fail_after(60):
            results = await call_multiple_ais(registry, REQUEST, min_responses=2, deadline_s=3600)
    finally:
        await registry.aclose()
    assert [r.status for r in results] == ["ok", "ok", "cancelled"]
    assert "min_responses" in (results[2].error or "")


async def test_min_responses_out_of_range_is_rejected(sim: Simulator) -> None:
    registry = await initialize_all_clients_async(three_ais(sim))
    try:
        with pytest.raises(InvalidInputError, match="min_responses must be between 1 and 3"):
            await call_multiple_ais(registry, REQUEST, min_responses=4)
    finally:
        await registry.aclose()


async def test_a_failing_ai_does_not_affect_the_others(sim: Simulator) -> None:
    sim.set_scenario("bad-model", Scenario(fault=Fault(kind="status", status=401)))
    config = config_of(openai_ai(sim, "good", "good-model"), gemini_ai(sim, "bad", "bad-model"))
    registry = await initialize_all_clients_async(config)
    try:
        results = await call_multiple_ais(registry, REQUEST)
    finally:
        await registry.aclose()
    by_ai = {r.ai: r for r in results}
    assert by_ai["good"].status == "ok"
    assert by_ai["bad"].status == "auth_error" and by_ai["bad"].attempts == 1


async def test_callback_fires_as_each_ai_finishes_in_finishing_order(sim: Simulator) -> None:
    registry = await initialize_all_clients_async(three_ais(sim, (0.6, 0.0, 0.3)))
    seen: list[tuple[str, int, int]] = []

    async def on_result(result: CallResult, done: int, total: int) -> None:
        seen.append((result.ai, done, total))

    try:
        await call_multiple_ais(registry, REQUEST, on_result=on_result)
    finally:
        await registry.aclose()
    assert seen == [("b", 1, 3), ("c", 2, 3), ("a", 3, 3)]


async def test_unknown_ai_is_rejected_with_the_valid_names(registry: AIRegistry) -> None:
    with pytest.raises(InvalidInputError, match=r"unknown AI 'oaj'\. Did you mean 'oai'\? Configured AIs: gem, oai"):
        await call_multiple_ais(registry, REQUEST, ["oaj"])


async def test_no_ai_configured_names_every_way_to_configure_one() -> None:
    registry = await initialize_all_clients_async(JuniorConfig())
    with pytest.raises(NoAIConfiguredError, match=r"credentials\.json.*OPENAI_API_KEY.*JUNIOR_AI_CREDENTIALS"):
        await call_multiple_ais(registry, REQUEST)


async def test_cancelling_the_caller_closes_every_in_flight_request(sim: Simulator) -> None:
    registry = await initialize_all_clients_async(three_ais(sim, (10.0, 10.0, 10.0)))
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(call_multiple_ais, registry, REQUEST)
            assert await anyio.to_thread.run_sync(lambda: sim.state.wait_for(lambda s: s.in_flight == 3, 30))
            tg.cancel_scope.cancel()
        closed = await anyio.to_thread.run_sync(
            lambda: sim.state.wait_for(
                lambda s: all(r.outcome == "disconnected" for r in s.requests()) and s.in_flight == 0, 5
            )
        )
    finally:
        await registry.aclose()
    assert closed
    assert all(entry.stats.calls == 0 for entry in registry)  # abandoned calls are not counted as failures


async def test_cleanup_closes_every_client_once_and_twice_is_harmless(sim: Simulator) -> None:
    registry = await initialize_all_clients_async(three_ais(sim))
    closes: dict[str, int] = {}
    for entry in registry:
        client: Any = entry.client
        original = client.aclose

        async def counted(name: str = entry.name, original: Any = original) -> None:
            closes[name] = closes.get(name, 0) + 1
            await original()

        client.aclose = counted
    await cleanup_async_ai_clients(registry)
    await cleanup_async_ai_clients(registry)
    assert closes == {"a": 1, "b": 1, "c": 1}
    # Both transports of every SDK client are really closed.
    for entry in registry:
        client = entry.client
        if entry.config.provider == "openai_compatible":
            assert client._async.is_closed() and client._sync.is_closed()  # type: ignore[union-attr]
        else:
            api = client._client._api_client  # type: ignore[union-attr]
            assert api._async_httpx_client.is_closed and api._httpx_client.is_closed
