"""The breaker's half-open probe, decided on an injected clock: exactly one call is the probe, its flag is cleared
however it ends, and calls that were in flight when the breaker opened are never mistaken for it."""

from __future__ import annotations

import pytest

from junior_ai.ai.call import call_ai_async
from junior_ai.ai.health import CircuitBreaker
from junior_ai.ai.registry import initialize_all_clients_async
from junior_ai.ai.simulator import Fault, Scenario, Simulator
from junior_ai.ai.types import GenerateRequest
from junior_ai.core.errors import CoolingDownError, UnavailableError
from tests.conftest import config_of, openai_ai

REQUEST = GenerateRequest.from_prompt("hi")


class FakeClock:
    def __init__(self) -> None:
        self.time = 1_000.0

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.time += seconds


def failure() -> UnavailableError:
    return UnavailableError("down", ai="ai", http_status=503)


def opened(clock: FakeClock) -> CircuitBreaker:
    breaker = CircuitBreaker("ai", threshold=2, cooldown_s=30, clock=clock)
    for _ in range(2):
        breaker.record_failure(failure(), breaker.before_call())
    assert breaker.state == "cooling_down"
    return breaker


def test_exactly_one_call_is_the_probe_once_the_cooldown_ends() -> None:
    clock = FakeClock()
    breaker = opened(clock)
    with pytest.raises(CoolingDownError):
        breaker.before_call()
    clock.time += 30
    probe = breaker.before_call()
    assert probe.probe
    for _ in range(3):
        with pytest.raises(CoolingDownError, match="once the call testing it returns"):
            breaker.before_call()
    breaker.record_success(probe)
    assert breaker.state == "healthy" and not breaker.before_call().probe


def test_a_call_in_flight_when_the_cooldown_ends_is_not_mistaken_for_the_probe() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("ai", threshold=2, cooldown_s=30, clock=clock)
    in_flight = breaker.before_call()  # started while healthy, answers late
    for _ in range(2):
        breaker.record_failure(failure(), breaker.before_call())
    clock.time += 30
    probe = breaker.before_call()
    breaker.record_failure(failure(), in_flight)  # the old call fails after the probe started
    assert breaker.state == "probing"  # not re-opened by old news...
    with pytest.raises(CoolingDownError):
        breaker.before_call()  # ...and the probe is still the only call let through
    breaker.record_success(probe)
    assert breaker.state == "healthy"


def test_a_late_success_of_an_old_call_does_not_end_the_cooldown() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("ai", threshold=1, cooldown_s=30, clock=clock)
    in_flight = breaker.before_call()
    breaker.record_failure(failure(), breaker.before_call())
    breaker.record_success(in_flight)
    assert breaker.state == "cooling_down"


@pytest.mark.parametrize("ending", ["abandoned", "bug", "failure"])
def test_the_probe_flag_is_cleared_however_the_probe_ends(ending: str) -> None:
    clock = FakeClock()
    breaker = opened(clock)
    clock.time += 30
    probe = breaker.before_call()
    if ending == "abandoned":
        breaker.record_abandoned(probe)
        assert breaker.before_call().probe  # the next call is the new probe, not "tried again in 0 s"
    elif ending == "bug":
        from junior_ai.core.errors import UnexpectedClientError

        breaker.record_failure(UnexpectedClientError("TypeError", ai="ai"), probe)
        assert breaker.before_call().probe
    else:
        breaker.record_failure(failure(), probe)
        assert breaker.state == "cooling_down"
        clock.time += 30
        assert breaker.before_call().probe


async def test_a_probe_whose_progress_callback_raises_still_closes_the_breaker(sim: Simulator) -> None:
    sim.set_scenario("recovering", Scenario(fault=Fault(kind="status", status=503, times=1)))
    config = config_of(openai_ai(sim, "ai", "recovering"), max_attempts=1, breaker_threshold=1)
    registry = await initialize_all_clients_async(config)
    clock = FakeClock()
    entry = registry.get("ai")
    entry.breaker = CircuitBreaker("ai", threshold=1, cooldown_s=30, clock=clock)
    try:
        with pytest.raises(UnavailableError):
            await call_ai_async(registry, "ai", REQUEST)
        clock.time += 30

        async def broken_progress(_piece: str) -> None:
            raise RuntimeError("the host went away mid-progress")

        response = await call_ai_async(registry, "ai", REQUEST, stream=True, on_delta=broken_progress)
        assert response.text  # the answer survived its listener
        assert entry.breaker.state == "healthy"
        assert (await call_ai_async(registry, "ai", REQUEST)).text  # not stuck "probing"
    finally:
        await registry.aclose()
