"""The circuit breaker guards against a failing provider, not a hurried or unlucky caller: a deadline a caller set
shorter than the AI's own does not count toward it, and one bad model named by `name:model` cools down that model
only, never the AI's default model for everyone (on one server and across replicas sharing Redis)."""

from __future__ import annotations

from pathlib import Path

import pytest

from junior_ai.ai.call import call_ai_async
from junior_ai.ai.registry import initialize_all_clients_async
from junior_ai.ai.simulator import Fault, ReplyRule, Scenario, Simulator
from junior_ai.ai.stream_call import stream_ai_async
from junior_ai.ai.types import GenerateRequest
from junior_ai.core.errors import CoolingDownError, ProviderTimeoutError, UnavailableError
from tests.conftest import config_of, openai_ai
from tests.http_servers import mcp_session
from tests.test_http_auth import new_token_via_cli, simulated_ai
from tests.test_http_replicas import two_replicas
from tests.test_server_tools import text_of

SLOW = Scenario(rules=(ReplyRule(contains="take your time", reply="late", delay_s=600),))
"""Answers at once, except prompts saying "take your time", which it holds far beyond any short deadline."""


async def test_calls_timed_out_by_the_callers_own_short_deadline_do_not_cool_the_ai_down_for_others(
    sim: Simulator,
) -> None:
    sim.set_scenario("model", SLOW)
    config = config_of(openai_ai(sim, "ai", "model"), max_attempts=1, breaker_threshold=2, breaker_cooldown_s=600)
    registry = await initialize_all_clients_async(config)
    try:
        for _ in range(6):  # "alice", with a deadline of her own far below the AI's 10 s
            with pytest.raises(ProviderTimeoutError):
                await call_ai_async(registry, "ai", GenerateRequest.from_prompt("take your time"), timeout_s=0.05)
        answer = await call_ai_async(registry, "ai", GenerateRequest.from_prompt("bob's question"))
        assert answer.text and registry.get("ai").breaker.state == "healthy"
        assert registry.get("ai").breaker.consecutive_failures == 0
    finally:
        await registry.aclose()


async def test_streamed_calls_cut_by_the_callers_own_short_deadline_do_not_count_either(sim: Simulator) -> None:
    sim.set_scenario("model", SLOW)
    config = config_of(openai_ai(sim, "ai", "model"), max_attempts=1, breaker_threshold=2, breaker_cooldown_s=600)
    registry = await initialize_all_clients_async(config)
    try:
        for _ in range(3):
            with pytest.raises(ProviderTimeoutError):
                hurried = GenerateRequest.from_prompt("take your time")
                async for _piece in stream_ai_async(registry, "ai", hurried, timeout_s=0.05):
                    pass
        assert registry.get("ai").breaker.state == "healthy"
        assert (await call_ai_async(registry, "ai", GenerateRequest.from_prompt("bob's question"))).text
    finally:
        await registry.aclose()


async def test_timeouts_under_the_ais_own_configured_deadline_still_open_the_breaker(sim: Simulator) -> None:
    sim.set_scenario("hung", Scenario(fault=Fault(kind="hang")))
    config = config_of(openai_ai(sim, "ai", "hung", timeout_s=0.05), max_attempts=1, breaker_threshold=2)
    registry = await initialize_all_clients_async(config)
    try:
        for _ in range(2):
            with pytest.raises(ProviderTimeoutError):
                await call_ai_async(registry, "ai", GenerateRequest.from_prompt("x"))
        with pytest.raises(CoolingDownError):
            await call_ai_async(registry, "ai", GenerateRequest.from_prompt("x"))
    finally:
        await registry.aclose()


async def test_a_failing_named_model_cools_down_only_itself_not_the_ais_default_model(sim: Simulator) -> None:
    sim.set_scenario("broken-model", Scenario(fault=Fault(kind="status", status=500)))
    config = config_of(openai_ai(sim, "ai", "good-model"), max_attempts=1, breaker_threshold=2, breaker_cooldown_s=600)
    registry = await initialize_all_clients_async(config)
    request = GenerateRequest.from_prompt("x")
    try:
        for _ in range(5):
            with pytest.raises((UnavailableError, CoolingDownError)):
                await call_ai_async(registry, "ai:broken-model", request)
        with pytest.raises(CoolingDownError) as caught:
            await call_ai_async(registry, "ai:broken-model", request)
        assert "ai:broken-model is cooling down" in caught.value.message
        assert len(sim.state.requests("broken-model")) == 2  # cooled down after the threshold: not asked again
        answer = await call_ai_async(registry, "ai", request)  # the default model is untouched
        assert answer.text and registry.get("ai").breaker.state == "healthy"
        assert (await call_ai_async(registry, "ai:good-model", request)).text  # naming the default is the default
    finally:
        await registry.aclose()


async def test_across_replicas_one_principals_short_deadlines_and_bad_model_leave_the_ai_to_another(
    sim: Simulator, tmp_path: Path
) -> None:
    sim.set_scenario("model", SLOW)
    sim.set_scenario("broken-model", Scenario(fault=Fault(kind="status", status=500)))
    alice, alice_line = new_token_via_cli("alice")
    bob, bob_line = new_token_via_cli("bob")
    settings = {
        "http_tokens": {"alice": alice_line, "bob": bob_line},
        "breaker_threshold": 2,
        "breaker_cooldown_s": 600,
        "max_attempts": 1,
    }
    with two_replicas(tmp_path, simulated_ai(sim, "model"), settings) as (one, two, _redis):
        async with mcp_session(one.url, alice) as attacker:
            for _ in range(5):
                hurried = {"ai": "ai", "prompt": "take your time", "timeout_s": 0.05}
                assert "timeout" in text_of(await attacker.call_tool("ask_one", hurried))
            for _ in range(2):
                await attacker.call_tool("ask_one", {"ai": "ai:broken-model", "prompt": "x"})
        async with mcp_session(two.url, alice) as attacker_on_two:
            cooled = await attacker_on_two.call_tool("ask_one", {"ai": "ai:broken-model", "prompt": "x"})
        async with mcp_session(two.url, bob) as other:
            answered = await other.call_tool("ask_one", {"ai": "ai", "prompt": "bob's question"})
    assert "cooling down" in text_of(cooled)  # the bad model is held back, on every replica
    assert not answered.is_error, text_of(answered)
    assert len(sim.state.requests("broken-model")) == 2
