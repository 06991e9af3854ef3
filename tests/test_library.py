"""The library API: JuniorAI's ask, ask_many, stream, map and consensus against the simulator, with real SDKs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest

from junior_ai import (
    Answer,
    ConfigError,
    InvalidInputError,
    InvalidOutputError,
    JuniorAI,
    MapProgress,
    ProviderTimeoutError,
    RateLimitedError,
    UnavailableError,
)
from junior_ai.ai.simulator import Fault, ReplyRule, Scenario, Simulator
from junior_ai.core.config import JuniorConfig
from tests.conftest import GEMINI_KEY, OPENAI_KEY, config_of, gemini_ai, openai_ai

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "score": {"type": "integer"}},
    "required": ["answer", "score"],
    "additionalProperties": False,
}


async def test_ask_returns_text_usage_cost_and_latency(sim: Simulator) -> None:
    config = config_of(
        openai_ai(sim, "oai", "priced-model"),
        prices={"priced-model": {"input_per_million": 1.0, "output_per_million": 2.0}},
    )
    async with JuniorAI.from_config(config) as jr:
        answer = await jr.ask("oai", "Explain this regex", temperature=0.1)
    assert isinstance(answer, Answer)
    assert answer.text.startswith("[priced-model] reply to")
    assert answer.usage.total_tokens > 0 and answer.latency_ms > 0
    assert answer.cost_usd is not None and answer.cost_usd > 0
    assert sim.state.requests("priced-model")[0].body["temperature"] == 0.1


async def test_from_config_takes_a_dict_a_path_or_fails_with_the_fix(sim: Simulator, tmp_path: Path) -> None:
    entries = {
        "oai": {"provider": "openai_compatible", "base_url": sim.openai_base_url, "model": "m", "api_key": OPENAI_KEY}
    }
    async with JuniorAI.from_config(entries) as jr:
        assert (await jr.ask("oai", "hi")).model == "m"
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    async with JuniorAI.from_config(path) as jr:
        assert jr.ais == ["oai"]
    with pytest.raises(ConfigError, match="does not exist"):
        JuniorAI.from_config(tmp_path / "missing.json")
    with pytest.raises(ConfigError, match="unknown field 'modle'"):
        JuniorAI.from_config({"oai": {"provider": "openai_compatible", "base_url": sim.openai_base_url, "modle": "m"}})
    with pytest.raises(InvalidInputError):
        JuniorAI.from_config(42)  # type: ignore[arg-type]


async def test_errors_are_also_the_python_exceptions_code_already_catches(
    sim: Simulator, two_ais: JuniorConfig
) -> None:
    sim.set_scenario("slow-model", Scenario(latency_s=30))
    sim.set_scenario("limited", Scenario(fault=Fault(kind="status", status=429, retry_after="120")))
    config = config_of(
        openai_ai(sim, "oai", "oai-model"), openai_ai(sim, "slow", "slow-model"), openai_ai(sim, "lim", "limited")
    )
    async with JuniorAI.from_config(config) as jr:
        with pytest.raises(ValueError, match="unknown AI 'nope'"):
            await jr.ask("nope", "hi")
        with pytest.raises(ValueError, match="prompt is empty"):
            await jr.ask("oai", "  ")
        with pytest.raises(TimeoutError) as timed_out:
            await jr.ask("slow", "hi", timeout_s=0.5)
        assert isinstance(timed_out.value, ProviderTimeoutError)
        with pytest.raises(RateLimitedError) as limited:
            await jr.ask("lim", "hi")
        assert limited.value.retry_after_s == 120


# --- structured output ---


async def test_a_valid_structured_answer_carries_the_parsed_data(registry_config: JuniorConfig) -> None:
    async with JuniorAI.from_config(registry_config) as jr:
        for ai in ("oai", "gem"):
            answer = await jr.ask(ai, "Rate this", json_schema=SCHEMA)
            assert answer.data == {"answer": "simulated", "score": 1}
            assert json.loads(answer.text) == answer.data


async def test_an_invalid_answer_is_asked_again_once_with_the_validation_error(sim: Simulator) -> None:
    sim.set_scenario("shaky", Scenario(replies=("Sure! Here it is: {oops", '{"answer": "fixed", "score": 3}')))
    async with JuniorAI.from_config(config_of(openai_ai(sim, "oai", "shaky"))) as jr:
        answer = await jr.ask("oai", "Rate this", json_schema=SCHEMA)
    assert answer.data == {"answer": "fixed", "score": 3}
    assert answer.attempts == 2
    _first, second = sim.state.requests("shaky")
    follow_up = second.body["messages"][-1]["content"]
    assert "not JSON" in follow_up and second.body["messages"][-2]["content"] == "Sure! Here it is: {oops"
    assert answer.usage.total_tokens > 0


@pytest.mark.parametrize("provider", ["openai", "gemini"])
async def test_an_answer_invalid_twice_is_invalid_output_never_ok(sim: Simulator, provider: str) -> None:
    sim.set_scenario("wrong", Scenario(replies=('{"answer": 5}',)))
    ai = openai_ai(sim, "x", "wrong") if provider == "openai" else gemini_ai(sim, "x", "wrong")
    async with JuniorAI.from_config(config_of(ai)) as jr:
        with pytest.raises(InvalidOutputError) as caught:
            await jr.ask("x", "Rate this", json_schema=SCHEMA)
        assert caught.value.status == "invalid_output"
        assert caught.value.text == '{"answer": 5}'
        assert any("/answer" in error for error in caught.value.validation_errors)
        assert any("'score' is a required property" in error for error in caught.value.validation_errors)
        many = await jr.ask_many("Rate this", ais=["x"], json_schema=SCHEMA)
        (result,) = many.results
        assert result.status == "invalid_output" and not result.ok and result.data is None
        assert result.text == '{"answer": 5}' and result.validation_errors
        registry = await jr.registry()
        (entry,) = list(registry)
        assert entry.stats.invalid_outputs == 2
    assert len(sim.state.requests("wrong")) == 4  # each call: the answer and one corrective retry


async def test_strict_mode_is_used_when_the_schema_allows_it_and_noted_when_not(sim: Simulator) -> None:
    loose = {"type": "object", "properties": {"answer": {"type": "string"}}}
    async with JuniorAI.from_config(config_of(openai_ai(sim, "oai", "m"))) as jr:
        strict_answer = await jr.ask("oai", "a", json_schema=SCHEMA)
        loose_answer = await jr.ask("oai", "b", json_schema=loose)
    strict_request, loose_request = sim.state.requests("m")
    assert strict_request.body["response_format"]["json_schema"]["strict"] is True
    assert loose_request.body["response_format"]["json_schema"]["strict"] is False
    assert strict_answer.adaptations == []
    assert any("without strict mode" in note and "additionalProperties" in note for note in loose_answer.adaptations)


async def test_a_provider_rejecting_json_schema_gets_json_object_and_the_schema_in_the_prompt(sim: Simulator) -> None:
    sim.set_scenario("old-server", Scenario(rejects=("json_schema",)))
    async with JuniorAI.from_config(config_of(openai_ai(sim, "local", "old-server"))) as jr:
        answer = await jr.ask("local", "Rate this", system="Be brief.", json_schema=SCHEMA)
        again = await jr.ask("local", "Rate that", json_schema=SCHEMA)
    assert answer.data == {"answer": "simulated", "score": 1} and again.data == answer.data
    assert any("json_object" in note for note in answer.adaptations)
    rejected, accepted, remembered = sim.state.requests("old-server")
    assert rejected.status == 400
    assert accepted.body["response_format"] == {"type": "json_object"}
    system = accepted.body["messages"][0]
    assert system["role"] == "system" and system["content"].startswith("Be brief.")
    assert '"score"' in system["content"]
    assert remembered.body["response_format"] == {"type": "json_object"}  # learned once per model


async def test_mcp_ask_one_reports_invalid_output_as_a_result_not_ok(sim: Simulator) -> None:
    from junior_ai.ai.registry import cleanup_async_ai_clients, initialize_all_clients_async
    from junior_ai.tools.arguments import AskOneArgs
    from junior_ai.tools.ask import ask_one

    sim.set_scenario("prose", Scenario(replies=("Sure! ... {oops",)))
    registry = await initialize_all_clients_async(config_of(openai_ai(sim, "oai", "prose")))
    try:
        result = await ask_one(registry, AskOneArgs(ai="oai", prompt="Rate this", json_schema=SCHEMA))
    finally:
        await cleanup_async_ai_clients(registry)
    assert result.status == "invalid_output" and result.text == "Sure! ... {oops"
    assert result.validation_errors and "not JSON" in result.validation_errors[0]


async def test_gemini_safety_settings_from_the_configuration_reach_the_request(sim: Simulator) -> None:
    entries = {
        "gem": {
            "provider": "gemini",
            "base_url": sim.gemini_base_url,
            "model": "gm",
            "api_key": GEMINI_KEY,
            "safety_settings": [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "BLOCK_ONLY_HIGH"}],
        }
    }
    async with JuniorAI.from_config(entries) as jr:
        await jr.ask("gem", "Extract the fields")
    (request,) = sim.state.requests("gm")
    assert request.body["safetySettings"] == [
        {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "BLOCK_ONLY_HIGH"}
    ]


# --- ask_many, consensus ---


async def test_ask_many_keeps_every_ai_and_one_failure_does_not_sink_the_rest(sim: Simulator) -> None:
    sim.set_scenario("down", Scenario(fault=Fault(kind="status", status=401)))
    config = config_of(openai_ai(sim, "oai", "m1"), gemini_ai(sim, "gem", "m2"), openai_ai(sim, "bad", "down"))
    async with JuniorAI.from_config(config) as jr:
        many = await jr.ask_many("Review this plan", deadline_s=30)
    assert [r.ai for r in many.results] == ["bad", "gem", "oai"] or {r.ai for r in many.results} == {
        "oai",
        "gem",
        "bad",
    }
    statuses = {r.ai: r.status for r in many.results}
    assert statuses == {"oai": "ok", "gem": "ok", "bad": "auth_error"}
    assert many.ok_count == 2


async def test_consensus_through_the_library(registry_config: JuniorConfig) -> None:
    async with JuniorAI.from_config(registry_config) as jr:
        verdict = await jr.consensus("Postgres or SQLite?", options=["Postgres", "SQLite"], rounds=0)
    assert verdict.answer


@pytest.fixture
def registry_config(two_ais: JuniorConfig) -> JuniorConfig:
    return two_ais


# --- stream ---


async def test_stream_yields_the_text_as_it_arrives_and_the_whole_answer_after(sim: Simulator) -> None:
    sim.set_scenario("chunky", Scenario(replies=("one two three four five six",), chunk_count=6))
    async with JuniorAI.from_config(config_of(openai_ai(sim, "oai", "chunky"), gemini_ai(sim, "gem", "chunky"))) as jr:
        for ai in ("oai", "gem"):
            stream = jr.stream(ai, "Write a haiku")
            pieces = [piece async for piece in stream]
            assert len(pieces) >= 3 and "".join(pieces) == "one two three four five six"
            assert stream.answer is not None and stream.answer.text == "".join(pieces)
            assert stream.answer.usage.total_tokens > 0 and stream.answer.attempts == 1


async def test_a_failure_before_the_first_piece_is_retried_invisibly(sim: Simulator) -> None:
    sim.set_scenario("flaky", Scenario(replies=("all good",), fault=Fault(kind="status", status=503, times=1)))
    async with JuniorAI.from_config(config_of(openai_ai(sim, "oai", "flaky"), retry_base_delay_s=0)) as jr:
        stream = jr.stream("oai", "hi")
        assert "".join([piece async for piece in stream]) == "all good"
    assert stream.answer is not None and stream.answer.attempts == 2 and stream.restarts == 0


async def test_a_failure_after_the_first_piece_raises_unless_restart_ok(sim: Simulator) -> None:
    sim.set_scenario("cut", Scenario(replies=("a b c d e f",), chunk_count=6, fault=Fault(kind="truncate", times=1)))
    config = config_of(openai_ai(sim, "oai", "cut"), retry_base_delay_s=0)
    async with JuniorAI.from_config(config) as jr:
        seen: list[str] = []
        with pytest.raises(Exception) as caught:
            async for piece in jr.stream("oai", "hi"):
                seen.append(piece)
        assert seen and caught.value.__class__.__name__ in {"MalformedResponseError", "UnavailableError"}
        sim.set_scenario(
            "cut", Scenario(replies=("a b c d e f",), chunk_count=6, fault=Fault(kind="truncate", times=1))
        )
        restarts: list[int] = []
        stream = jr.stream("oai", "hi", restart_ok=True, on_restart=lambda: restarts.append(1))
        pieces = [piece async for piece in stream]
    assert stream.restarts == 1 and restarts == [1]
    assert "".join(pieces).endswith("a b c d e f")
    assert stream.answer is not None and stream.answer.text == "a b c d e f"


async def test_leaving_a_stream_early_closes_the_provider_request(sim: Simulator) -> None:
    sim.set_scenario("long", Scenario(replies=("word " * 2000,), chunk_count=400, chunk_delay_s=0.01))
    async with JuniorAI.from_config(config_of(openai_ai(sim, "oai", "long"))) as jr:
        async for _piece in jr.stream("oai", "Write a lot"):
            break
        closed = await anyio.to_thread.run_sync(
            lambda: sim.state.wait_for(lambda s: s.requests("long")[0].outcome == "disconnected", timeout=30)
        )
        (record,) = sim.state.requests("long")
    assert closed and record.chunks_sent < 400


async def test_a_slow_consumer_slows_the_reading_instead_of_buffering_everything(sim: Simulator) -> None:
    chunks = 3000
    sim.set_scenario("huge", Scenario(replies=("x" * 4096 * chunks,), chunk_count=chunks))
    async with JuniorAI.from_config(config_of(openai_ai(sim, "oai", "huge", timeout_s=300))) as jr:
        stream = jr.stream("oai", "Write a lot")
        first = await stream.__anext__()
        assert first
        # The consumer holds off: the simulator can only send what the socket buffers take, far from all 12 MB.
        all_sent = await anyio.to_thread.run_sync(
            lambda: sim.state.wait_for(lambda s: s.requests("huge")[0].chunks_sent >= chunks, timeout=2)
        )
        assert not all_sent
        rest = [piece async for piece in stream]
    assert len(first) + sum(len(p) for p in rest) == 4096 * chunks


async def test_stream_respects_the_breaker_and_reports_unavailable(sim: Simulator) -> None:
    sim.set_scenario("dead", Scenario(fault=Fault(kind="status", status=503)))
    config = config_of(openai_ai(sim, "oai", "dead"), retry_base_delay_s=0, max_attempts=1, breaker_threshold=1)
    async with JuniorAI.from_config(config) as jr:
        with pytest.raises(UnavailableError):
            async for _ in jr.stream("oai", "hi"):
                pass
        with pytest.raises(RateLimitedError) as cooling:  # CoolingDownError is a RateLimitedError
            async for _ in jr.stream("oai", "hi"):
                pass
    assert cooling.value.status == "cooling_down"
    assert len(sim.state.requests("dead")) == 1


# --- map ---


async def test_map_over_a_lazy_generator_in_input_order_with_progress(sim: Simulator) -> None:
    sim.set_scenario("m", Scenario(jitter_s=0.02))
    progress: list[MapProgress] = []
    read: list[int] = []

    def items() -> Any:
        for i in range(40):
            read.append(i)
            yield {"name": f"item-{i}"}

    async with JuniorAI.from_config(config_of(openai_ai(sim, "oai", "m", max_concurrency=8))) as jr:
        results = [
            r
            async for r in jr.map(
                "Summarise: {item.name}",
                items(),
                ai="oai",
                max_concurrency=8,
                ordered=True,
                total=40,
                progress=progress.append,
            )
        ]
    assert [r.index for r in results] == list(range(40))
    assert all(r.ok and f"item-{r.index}" in (r.text or "") for r in results)
    assert all(r.key and r.usage is not None and r.call_ms > 0 and r.queue_wait_ms >= 0 for r in results)
    assert [p.done for p in progress] == list(range(1, 41))
    assert progress[-1].total == 40 and progress[-1].eta_s == 0 and progress[-1].rate_per_s > 0


async def test_map_takes_an_async_iterable_and_structured_output(sim: Simulator) -> None:
    async def items() -> Any:
        for i in range(5):
            yield f"text {i}"

    async with (
        JuniorAI.from_config(config_of(gemini_ai(sim, "gem", "g"))) as jr,
        jr.map("Extract from: {item}", items(), ai="gem", json_schema=SCHEMA, system="Be exact.") as results,
    ):
        collected = [r async for r in results]
    assert sorted(r.index for r in collected) == list(range(5))
    assert all(r.data == {"answer": "simulated", "score": 1} for r in collected)
    assert all(
        request.body["systemInstruction"]["parts"][0]["text"] == "Be exact." for request in sim.state.requests("g")
    )


async def test_ordered_map_reads_no_further_ahead_than_its_reorder_window(sim: Simulator) -> None:
    sim.set_scenario("slow-first", Scenario(rules=(ReplyRule(contains="item 0!", reply="late", delay_s=3600),)))
    read: list[int] = []
    nine_done = anyio.Event()

    def items() -> Any:
        i = 0
        while True:  # endless: only the window bounds what is read
            read.append(i)
            yield f"item {i}!"
            i += 1

    def on_progress(progress: MapProgress) -> None:
        if progress.done == 9:  # items 1-9 answered, item 0 still out: the window is full
            nine_done.set()

    config = config_of(openai_ai(sim, "oai", "slow-first", max_concurrency=4, timeout_s=600))
    async with JuniorAI.from_config(config) as jr:
        run = jr.map(
            "{item}", items(), ai="oai", max_concurrency=4, ordered=True, reorder_window=10, progress=on_progress
        )
        async with run as results, anyio.create_task_group() as tg:

            async def consume() -> None:
                async for _ in results:
                    pass

            tg.start_soon(consume)
            with anyio.fail_after(60):
                await nine_done.wait()
            read_while_stuck = len(read)
            tg.cancel_scope.cancel()
    assert read_while_stuck <= 10 + 1  # the window, plus the one item the reader holds at the gate


async def test_leaving_a_map_early_cancels_the_calls_in_flight(sim: Simulator) -> None:
    sim.set_scenario("hang", Scenario(rules=(ReplyRule(contains="stuck", reply="x", delay_s=3600),)))
    async with JuniorAI.from_config(config_of(openai_ai(sim, "oai", "hang", max_concurrency=4, timeout_s=600))) as jr:
        async for result in jr.map("{item}", ["fine", "stuck 1", "stuck 2"], ai="oai", max_concurrency=4):
            assert result.index == 0
            break
        gone = await anyio.to_thread.run_sync(
            lambda: sim.state.wait_for(
                lambda s: len(s.requests("hang")) == 3 and all(r.outcome != "pending" for r in s.requests("hang")),
                timeout=30,
            )
        )
    assert gone


async def test_map_refuses_bad_input_clearly(sim: Simulator) -> None:
    async with JuniorAI.from_config(config_of(openai_ai(sim, "oai", "m"))) as jr:
        with pytest.raises(InvalidInputError, match="iterable"):
            jr.map("{item}", 42, ai="oai")  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError, match="max_concurrency"):
            jr.map("{item}", [1], ai="oai", max_concurrency=0)
        with pytest.raises(InvalidInputError, match="unknown AI"):
            async for _ in jr.map("{item}", [1], ai="nope"):
                pass


async def test_an_item_source_that_fails_midway_raises_its_own_error(sim: Simulator) -> None:
    class Broken(Exception):
        pass

    def items() -> Any:
        yield "one"
        yield "two"
        raise Broken("the input file went away")

    async with JuniorAI.from_config(config_of(openai_ai(sim, "oai", "m"))) as jr:
        seen: list[int] = []
        with pytest.raises(Broken):
            async for result in jr.map("{item}", items(), ai="oai", max_concurrency=1):
                seen.append(result.index)
        with pytest.raises(Broken):
            async with jr.map("{item}", items(), ai="oai") as results:
                async for _ in results:
                    pass
        assert (await jr.ask("oai", "still fine")).text  # the instance survives


async def test_unsupported_or_bad_options_fail_before_anything_is_sent(sim: Simulator) -> None:
    async with JuniorAI.from_config(config_of(openai_ai(sim, "oai", "m"))) as jr:
        with pytest.raises(InvalidInputError, match="json_schema"):
            jr.map("{item}", [1], ai="oai", json_schema={"type": "array"})
        with pytest.raises(InvalidInputError, match="temperature"):
            await jr.ask("oai", "hi", temperature=7)
        from junior_ai.ai.types import GenerateRequest

        if "reasoning_effort" not in GenerateRequest.model_fields:
            with pytest.raises(InvalidInputError, match="reasoning_effort"):
                await jr.ask("oai", "hi", reasoning_effort="high")
            with pytest.raises(InvalidInputError, match="reasoning_effort"):
                jr.map("{item}", [1], ai="oai", reasoning_effort="high")
    assert sim.state.requests("m") == []


async def test_a_closed_instance_says_so(sim: Simulator) -> None:
    jr = JuniorAI.from_config(config_of(openai_ai(sim, "oai", "m")))
    assert (await jr.ask("oai", "hi")).text
    await jr.aclose()
    await jr.aclose()
    with pytest.raises(InvalidInputError, match="closed"):
        await jr.ask("oai", "hi")


async def test_streams_share_the_ais_concurrency_limit(sim: Simulator) -> None:
    sim.set_scenario("one-at-a-time", Scenario(replies=("a b c",), chunk_count=3, latency_s=0.05))
    config = config_of(openai_ai(sim, "oai", "one-at-a-time", max_concurrency=1))
    texts: list[str] = []
    async with JuniorAI.from_config(config) as jr:

        async def read() -> None:
            texts.append("".join([piece async for piece in jr.stream("oai", "hi")]))

        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(read)
    assert texts == ["a b c"] * 3
    assert sim.state.max_in_flight == 1


async def test_a_stalled_stream_is_cut_by_the_idle_timeout_and_restarted_when_allowed(sim: Simulator) -> None:
    sim.set_scenario("stall", Scenario(replies=("a b c d",), chunk_count=4, fault=Fault(kind="stall", times=1)))
    config = config_of(openai_ai(sim, "oai", "stall", timeout_s=120), retry_base_delay_s=0)
    async with JuniorAI.from_config(config) as jr:
        with pytest.raises(TimeoutError):  # IdleTimeoutError, after text was handed out
            async for _ in jr.stream("oai", "hi", idle_timeout_s=0.2):
                pass
        sim.set_scenario("stall", Scenario(replies=("a b c d",), chunk_count=4, fault=Fault(kind="stall", times=1)))
        stream = jr.stream("oai", "hi", idle_timeout_s=0.2, restart_ok=True)
        pieces = [piece async for piece in stream]
    assert stream.restarts == 1 and stream.answer is not None and stream.answer.text == "a b c d"
    assert "".join(pieces).endswith("a b c d")


async def test_a_stream_is_held_to_its_deadline(sim: Simulator) -> None:
    sim.set_scenario("slow", Scenario(latency_s=3600))
    async with JuniorAI.from_config(config_of(openai_ai(sim, "oai", "slow"))) as jr:
        with pytest.raises(ProviderTimeoutError, match=r"did not answer within 0\.3"):
            async for _ in jr.stream("oai", "hi", timeout_s=0.3):
                pass


async def test_a_safety_category_the_sdk_does_not_know_is_reported_at_start_up(sim: Simulator) -> None:
    entries = {
        "gem": {
            "provider": "gemini",
            "base_url": sim.gemini_base_url,
            "model": "gm",
            "api_key": GEMINI_KEY,
            "safety_settings": [{"category": "HARM_CATEGORY_NOT_REAL", "threshold": "BLOCK_NONE"}],
        }
    }
    async with JuniorAI.from_config(entries) as jr:
        (entry,) = list(await jr.registry())
        assert "HARM_CATEGORY_NOT_REAL" in (entry.init_error or "")
        with pytest.raises(UnavailableError, match="could not be initialized"):
            await jr.ask("gem", "hi")
    assert sim.state.requests("gm") == []


async def test_files_diff_and_reasoning_effort_pass_through_like_the_tools(sim: Simulator, tmp_path: Path) -> None:
    shared = tmp_path / "notes.py"
    shared.write_text("def answer() -> int:\n    return 42\n", encoding="utf-8")
    config = config_of(openai_ai(sim, "oai", "m"), allowed_paths=[str(tmp_path)])
    async with JuniorAI.from_config(config) as jr:
        await jr.ask("oai", "Review this", files=[str(shared)], reasoning_effort="high")
        stream = jr.stream("oai", "Think hard", reasoning_effort="low")
        assert "".join([piece async for piece in stream])
        results = [r async for r in jr.map("{item}", ["x"], ai="oai", reasoning_effort="medium")]
        assert results[0].ok
        with pytest.raises(InvalidInputError, match="reasoning_effort"):
            await jr.ask("oai", "hi", reasoning_effort="extreme")
    first, second, third = sim.state.requests("m")
    assert "return 42" in json.dumps(first.body) and first.body["reasoning_effort"] == "high"
    assert second.body["reasoning_effort"] == "low" and third.body["reasoning_effort"] == "medium"


async def test_unordered_map_over_an_endless_generator_reads_only_what_its_workers_take(sim: Simulator) -> None:
    sim.set_scenario("stuck-all", Scenario(rules=(ReplyRule(contains="item", reply="late", delay_s=3600),)))
    read: list[int] = []

    def items() -> Any:
        i = 0
        while True:  # endless: only the workers bound what is read
            read.append(i)
            yield f"item {i}"
            i += 1

    config = config_of(openai_ai(sim, "oai", "stuck-all", max_concurrency=4, timeout_s=600))
    async with JuniorAI.from_config(config) as jr:
        run = jr.map("{item}", items(), ai="oai", max_concurrency=4)
        async with run as results, anyio.create_task_group() as tg:

            async def consume() -> None:
                async for _ in results:
                    pass

            tg.start_soon(consume)
            sent = await anyio.to_thread.run_sync(
                lambda: sim.state.wait_for(lambda s: len(s.requests("stuck-all")) == 4, timeout=30)
            )
            read_while_stuck = len(read)
            tg.cancel_scope.cancel()
    assert sent
    assert read_while_stuck <= 4 + 1  # one item per worker, plus the one the next free worker would take


async def test_a_failing_plain_item_generator_surfaces_its_own_error_from_map(sim: Simulator) -> None:
    def items() -> Any:
        yield "one"
        raise LookupError("the items ran dry badly")

    async with JuniorAI.from_config(config_of(openai_ai(sim, "oai", "ok"))) as jr:
        with pytest.raises(LookupError, match="ran dry badly"):
            async for _ in jr.map("{item}", items(), ai="oai"):
                pass
