"""A failing progress callback never sinks a call or a fan-out, and an exception that is neither the provider's
answer nor a broken transport (a bug, an SDK TypeError) is reported as a non-retryable `error`, logged with its
traceback, never served by the sync fallback and never counted against the AI's health."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest

from junior_ai.ai.call import call_ai_async
from junior_ai.ai.fanout import FanOut, call_multiple_ais
from junior_ai.ai.registry import initialize_all_clients_async
from junior_ai.ai.simulator import Simulator
from junior_ai.ai.types import GenerateRequest
from junior_ai.core.errors import UnexpectedClientError
from junior_ai.core.log import configure_logging
from tests.conftest import config_of, gemini_ai, openai_ai

PROTOCOLS = [openai_ai, gemini_ai]


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    configure_logging("INFO", stream=buffer, json=True)
    yield buffer
    configure_logging("INFO", json=True)


class Unserialisable:
    """Something no SDK can put on the wire: the SDK raises an exception that is not an API error."""


@pytest.mark.parametrize("make", PROTOCOLS)
async def test_an_unexpected_sdk_exception_is_a_logged_non_retryable_error_without_fallback(
    sim: Simulator, make: Any, log_output: io.StringIO
) -> None:
    registry = await initialize_all_clients_async(config_of(make(sim, "ai", "bug-model"), breaker_threshold=1))
    request = GenerateRequest(
        messages=GenerateRequest.from_prompt("hi").messages,
        json_schema={"type": "object", "properties": {"x": Unserialisable()}},
    )
    try:
        entry = registry.get("ai")
        for _ in range(2):
            with pytest.raises(UnexpectedClientError) as caught:
                await call_ai_async(registry, "ai", request)
            assert caught.value.status == "error" and caught.value.attempts == 1  # not retried
        assert entry.stats.sync_fallbacks == 0 and not sim.state.requests("bug-model")
        assert entry.breaker.state == "healthy"  # two "failures" with threshold 1: health untouched
        assert (await call_ai_async(registry, "ai", GenerateRequest.from_prompt("hi"))).text
    finally:
        await registry.aclose()
    logged = log_output.getvalue()
    assert "unexpected_client_error" in logged and "Traceback" in logged
    assert "async_path_broken" not in logged


@pytest.mark.parametrize("make", PROTOCOLS)
async def test_a_failing_text_callback_never_sinks_a_streaming_fan_out(sim: Simulator, make: Any) -> None:
    registry = await initialize_all_clients_async(config_of(make(sim, "a", "m1"), make(sim, "b", "m2")))
    seen: list[tuple[str, int]] = []

    async def on_text(ai: str, chars: int) -> None:
        seen.append((ai, chars))
        raise RuntimeError("progress channel closed")

    try:
        results = await call_multiple_ais(
            registry, GenerateRequest.from_prompt("hello there"), stream=True, on_text=on_text
        )
    finally:
        await registry.aclose()
    assert [r.status for r in results] == ["ok", "ok"]
    for result in results:
        counts = [chars for ai, chars in seen if ai == result.ai]
        assert counts == sorted(counts) and counts[-1] == len(result.text or "")  # cumulative, per AI


class Counted(str):
    """A text piece that counts how often its length is taken."""

    lengths_taken = 0

    def __len__(self) -> int:
        Counted.lengths_taken += 1
        return str.__len__(self)


async def test_the_per_delta_character_count_is_incremental_not_a_re_sum_of_all_text(registry: Any) -> None:
    counts: list[int] = []

    async def on_text(_ai: str, chars: int) -> None:
        counts.append(chars)

    fanout = FanOut(registry, {"oai": GenerateRequest.from_prompt("hi")}, None, True, None, None, on_text, None)
    sink = fanout.text_sink("oai")
    Counted.lengths_taken = 0
    for _ in range(1_000):
        await sink(Counted("ab"))
    assert counts[-1] == 2_000 and counts == list(range(2, 2_001, 2))
    assert Counted.lengths_taken <= 1_000  # one length per delta; a re-sum would take ~500,000
