"""Both real SDKs against the simulator: answers, streaming, structured output, idle timeout, cancellation."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.to_thread
import pytest

from junior_ai.ai.call import call_ai_async
from junior_ai.ai.registry import AIRegistry, initialize_all_clients_async
from junior_ai.ai.simulator import Fault, Scenario, Simulator
from junior_ai.ai.simulator.scenario import echo_reply
from junior_ai.ai.types import GenerateRequest, Message, StreamDelta, StreamEnd
from junior_ai.core.config import AIConfig
from junior_ai.core.errors import IdleTimeoutError
from tests.conftest import config_of, gemini_ai, openai_ai

MakeAI = Callable[..., AIConfig]
PROTOCOLS = [pytest.param(openai_ai, id="openai"), pytest.param(gemini_ai, id="gemini")]


@asynccontextmanager
async def one_ai(sim: Simulator, make: MakeAI, model: str, **overrides: Any) -> AsyncIterator[AIRegistry]:
    registry = await initialize_all_clients_async(config_of(make(sim, "ai", model, **overrides)))
    try:
        yield registry
    finally:
        await registry.aclose()


@pytest.mark.parametrize("make", PROTOCOLS)
async def test_answer_carries_text_model_usage_and_path(sim: Simulator, make: MakeAI) -> None:
    async with one_ai(sim, make, "plain") as registry:
        response = await call_ai_async(
            registry, "ai", GenerateRequest.from_prompt("What is 2+2?", system="Be brief.", temperature=0.2)
        )
    assert response.text == echo_reply("plain", "What is 2+2?")
    assert response.model == "plain" and response.path == "async" and response.attempts == 1
    assert response.finish_reason == "stop"
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens > 0
    (record,) = sim.state.requests("plain")
    body = json.dumps(record.body)
    assert "Be brief." in body and "What is 2+2?" in body


@pytest.mark.parametrize("make", PROTOCOLS)
async def test_conversation_history_reaches_the_provider_in_order(sim: Simulator, make: MakeAI) -> None:
    request = GenerateRequest(
        messages=(
            Message(role="user", content="first question"),
            Message(role="assistant", content="first answer"),
            Message(role="user", content="follow-up"),
        )
    )
    async with one_ai(sim, make, "history") as registry:
        await call_ai_async(registry, "ai", request)
    body = json.dumps(sim.state.requests("history")[0].body)
    assert body.index("first question") < body.index("first answer") < body.index("follow-up")


@pytest.mark.parametrize("make", PROTOCOLS)
async def test_structured_output_sends_the_schema_and_returns_json(sim: Simulator, make: MakeAI) -> None:
    schema = {
        "type": "object",
        "properties": {"verdict": {"type": "string", "enum": ["yes", "no"]}, "confidence": {"type": "number"}},
        "required": ["verdict"],
    }
    async with one_ai(sim, make, "structured") as registry:
        response = await call_ai_async(registry, "ai", GenerateRequest.from_prompt("Is it?", json_schema=schema))
    assert json.loads(response.text) == {"verdict": "yes", "confidence": 1.0}
    body = sim.state.requests("structured")[0].body
    if make is openai_ai:
        assert body["response_format"]["json_schema"]["schema"] == schema
    else:
        assert body["generationConfig"]["responseMimeType"] == "application/json"
        assert body["generationConfig"]["responseJsonSchema"] == schema


@pytest.mark.parametrize("make", PROTOCOLS)
async def test_stream_delivers_chunks_before_the_stream_ends(sim: Simulator, make: MakeAI) -> None:
    sim.set_scenario("streamer", Scenario(chunk_count=4, chunk_delay_s=0.05))
    async with one_ai(sim, make, "streamer") as registry:
        entry = registry.get("ai")
        assert entry.client is not None
        events = []
        unfinished_at_first_chunk = None
        async for event in entry.client.stream(GenerateRequest.from_prompt("stream me"), timeout_s=5, idle_timeout_s=5):
            if isinstance(event, StreamDelta) and unfinished_at_first_chunk is None:
                (record,) = sim.state.requests("streamer")
                unfinished_at_first_chunk = record.outcome == "pending"
            events.append(event)
    assert unfinished_at_first_chunk is True
    deltas = [e for e in events if isinstance(e, StreamDelta)]
    assert len(deltas) == 4 and isinstance(events[-1], StreamEnd)
    assert "".join(d.text for d in deltas) == echo_reply("streamer", "stream me")
    assert events[-1].usage.total_tokens > 0
    assert sim.state.requests("streamer")[0].outcome == "completed"


@pytest.mark.parametrize("make", PROTOCOLS)
async def test_streamed_call_reports_each_delta_and_the_full_text(sim: Simulator, make: MakeAI) -> None:
    sim.set_scenario("streamed", Scenario(chunk_count=3))
    seen: list[str] = []

    async def on_delta(text: str) -> None:
        seen.append(text)

    async with one_ai(sim, make, "streamed") as registry:
        response = await call_ai_async(registry, "ai", GenerateRequest.from_prompt("x"), stream=True, on_delta=on_delta)
    assert len(seen) == 3 and "".join(seen) == response.text == echo_reply("streamed", "x")


@pytest.mark.parametrize("make", PROTOCOLS)
async def test_stalled_stream_hits_the_idle_timeout_long_before_the_deadline(sim: Simulator, make: MakeAI) -> None:
    sim.set_scenario("staller", Scenario(chunk_count=3, fault=Fault(kind="stall")))
    async with one_ai(sim, make, "staller") as registry:
        with anyio.fail_after(5):
            with pytest.raises(IdleTimeoutError) as caught:
                await call_ai_async(
                    registry,
                    "ai",
                    GenerateRequest.from_prompt("x"),
                    timeout_s=30,
                    stream=True,
                    idle_timeout_s=0.3,
                    max_attempts=2,
                )
    assert caught.value.status == "timeout" and caught.value.attempts == 2
    records = sim.state.requests("staller")
    assert len(records) == 2 and all(r.chunks_sent == 1 for r in records)
    assert await anyio.to_thread.run_sync(
        lambda: sim.state.wait_for(lambda s: all(r.outcome == "disconnected" for r in s.requests("staller")), 30)
    )


@pytest.mark.parametrize("make", PROTOCOLS)
async def test_cancelling_mid_stream_closes_the_connection(sim: Simulator, make: MakeAI) -> None:
    sim.set_scenario("slowstream", Scenario(chunk_count=50, chunk_delay_s=0.1))
    async with one_ai(sim, make, "slowstream") as registry:
        entry = registry.get("ai")
        assert entry.client is not None
        got_first = anyio.Event()

        async def consume() -> None:
            async for event in entry.client.stream(  # type: ignore[union-attr]
                GenerateRequest.from_prompt("long"), timeout_s=30, idle_timeout_s=5
            ):
                if isinstance(event, StreamDelta):
                    got_first.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            with anyio.fail_after(5):
                await got_first.wait()
            tg.cancel_scope.cancel()

        closed = await anyio.to_thread.run_sync(
            lambda: sim.state.wait_for(lambda s: s.requests("slowstream")[0].outcome == "disconnected", 30)
        )
    assert closed
    assert sim.state.requests("slowstream")[0].chunks_sent < 50
