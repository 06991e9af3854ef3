"""Every tool through a real in-memory MCP client session against the simulator."""

from __future__ import annotations

import json
from typing import Any

import anyio
import anyio.to_thread
import pytest
from mcp.client.client import Client
from mcp_types import CallToolResult

from junior_ai.ai.simulator import Fault, Scenario, Simulator
from junior_ai.ai.simulator.scenario import echo_reply
from junior_ai.core.config import JuniorConfig
from junior_ai.server.app import build_server
from tests.conftest import config_of, gemini_ai, openai_ai


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")  # type: ignore[union-attr]


async def call(config: JuniorConfig, tool: str, arguments: dict[str, Any], **kwargs: Any) -> CallToolResult:
    async with Client(build_server(config)) as client:
        return await client.call_tool(tool, arguments, **kwargs)


async def test_tools_are_listed_with_schemas_and_output_schemas(two_ais: JuniorConfig) -> None:
    async with Client(build_server(two_ais)) as client:
        listed = (await client.list_tools()).tools
        assert client.instructions and "second opinions" in client.instructions
    by_name = {tool.name: tool for tool in listed}
    assert set(by_name) == {"ask_one", "ask_many", "consensus", "debate", "ask_batch", "list_ais", "collect"}
    assert by_name["ask_one"].input_schema["required"] == ["ai", "prompt"]
    assert by_name["ask_many"].input_schema["required"] == ["prompt"]
    for tool in listed:
        assert tool.description
    for name in ("ask_one", "ask_many"):
        assert by_name[name].output_schema is not None
    for name in ("consensus", "debate", "ask_batch", "list_ais", "collect"):
        assert by_name[name].output_schema is None  # structured content, no schema re-sent every turn


async def test_ask_one_returns_text_and_structured_result(sim: Simulator, two_ais: JuniorConfig) -> None:
    result = await call(
        two_ais,
        "ask_one",
        {"ai": "gem", "prompt": "Why is the sky blue?", "system": "Be terse", "temperature": 0.1, "max_tokens": 50},
    )
    assert not result.is_error
    expected = echo_reply("gem-model", "Why is the sky blue?")
    assert expected in text_of(result)
    structured = result.structured_content or {}
    assert structured["status"] == "ok" and structured["text"] == expected and structured["ai"] == "gem"
    assert structured["usage"]["total_tokens"] > 0 and structured["path"] == "async"
    body = sim.state.requests("gem-model")[0].body
    assert body["generationConfig"]["temperature"] == 0.1 and body["generationConfig"]["maxOutputTokens"] == 50


async def test_ask_one_with_json_schema_returns_json(two_ais: JuniorConfig) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    result = await call(two_ais, "ask_one", {"ai": "oai", "prompt": "q", "json_schema": schema})
    assert json.loads((result.structured_content or {})["text"]) == {"answer": "simulated"}


async def test_ask_many_asks_every_enabled_ai_and_reports_progress_in_order(sim: Simulator) -> None:
    sim.set_scenario("fast", Scenario(latency_s=0.05))
    sim.set_scenario("slow", Scenario(latency_s=0.3))
    config = config_of(openai_ai(sim, "fast-ai", "fast"), gemini_ai(sim, "slow-ai", "slow"))
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    result = await call(config, "ask_many", {"prompt": "compare"}, progress_callback=on_progress)
    structured = result.structured_content or {}
    assert [r["ai"] for r in structured["results"]] == ["fast-ai", "slow-ai"]
    assert structured["ok_count"] == 2 and structured["partial"] is False
    finished = [(int(done), total, message) for done, total, message in progress if ": ok (" in (message or "")]
    assert [(done, total) for done, total, _ in finished] == [(1, 2), (2, 2)]
    assert finished[0][2].startswith("fast-ai: ok") and finished[1][2].startswith("slow-ai: ok")  # type: ignore[union-attr]
    values = [done for done, _, _ in progress]
    assert values == sorted(set(values))  # MCP requires every progress value to be larger than the last
    assert "2/2 AIs answered" in text_of(result)


async def test_ask_many_reports_each_ai_status_and_keeps_partial_results(sim: Simulator) -> None:
    sim.set_scenario("limited", Scenario(fault=Fault(kind="status", status=429, retry_after="300")))
    sim.set_scenario("sleepy", Scenario(latency_s=5))
    config = config_of(
        openai_ai(sim, "ok-ai", "fine"), gemini_ai(sim, "limited-ai", "limited"), openai_ai(sim, "slow-ai", "sleepy")
    )
    result = await call(config, "ask_many", {"prompt": "x", "deadline_s": 0.8})
    assert not result.is_error
    statuses = {r["ai"]: r for r in (result.structured_content or {})["results"]}
    assert statuses["ok-ai"]["status"] == "ok"
    assert statuses["limited-ai"]["status"] == "rate_limited" and statuses["limited-ai"]["retry_after_s"] == 300
    assert statuses["slow-ai"]["status"] == "running"  # still answering, as a job: collect has the rest
    assert (result.structured_content or {})["partial"] is True


async def test_ask_many_min_responses_and_named_ais(sim: Simulator) -> None:
    sim.set_scenario("quick", Scenario(latency_s=0.01))
    sim.set_scenario("glacial", Scenario(latency_s=10))
    config = config_of(
        openai_ai(sim, "quick-ai", "quick"), openai_ai(sim, "glacial-ai", "glacial"), gemini_ai(sim, "unused", "unused")
    )
    with anyio.fail_after(5):
        result = await call(config, "ask_many", {"prompt": "x", "ais": ["quick-ai", "glacial-ai"], "min_responses": 1})
    statuses = [(r["ai"], r["status"]) for r in (result.structured_content or {})["results"]]
    assert statuses == [("quick-ai", "ok"), ("glacial-ai", "cancelled")]
    assert sim.state.requests("unused") == []


async def test_list_ais_shows_health_and_running_totals(sim: Simulator, two_ais: JuniorConfig) -> None:
    sim.set_scenario("gem-model", Scenario(fault=Fault(kind="status", status=400)))
    async with Client(build_server(two_ais)) as client:
        await client.call_tool("ask_many", {"prompt": "x"})
        result = await client.call_tool("list_ais", {})
    ais = {ai["name"]: ai for ai in (result.structured_content or {})["ais"]}
    assert ais["oai"]["calls"] == 1 and ais["oai"]["errors"] == 0 and ais["oai"]["tokens"]["total_tokens"] > 0
    assert ais["gem"]["calls"] == 1 and ais["gem"]["errors"] == 1
    assert ais["oai"]["initialized"] is True and ais["oai"]["provider"] == "openai_compatible"
    assert ais["oai"]["mean_latency_ms"] > 0
    assert "oai: openai_compatible model oai-model, ready; calls 1" in text_of(result)


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("ask_one", {"ai": "gemni", "prompt": "x"}, "unknown AI 'gemni'. Did you mean 'gem'? Configured AIs: gem, oai"),
        ("ask_one", {"ai": "oai", "prompt": "   "}, "prompt is empty"),
        ("ask_one", {"ai": "oai", "prompt": ""}, "prompt: String should have at least 1 character"),
        ("ask_one", {"ai": "oai"}, "prompt: Field required"),
        (
            "ask_one",
            {"ai": "oai", "prompt": "x", "temperature": 3},
            "temperature: Input should be less than or equal to 2",
        ),
        (
            "ask_one",
            {"ai": "oai", "prompt": "x", "max_tokens": 0},
            "max_tokens: Input should be greater than or equal to 1",
        ),
        ("ask_one", {"ai": "oai", "prompt": "x", "timeout_s": -1}, "timeout_s: Input should be greater than 0"),
        (
            "ask_one",
            {"ai": "oai", "prompt": "x", "json_schema": {"type": "objekt"}},
            "json_schema is not a valid JSON Schema",
        ),
        ("ask_one", {"ai": "oai", "prompt": "x", "json_schema": {"type": "string"}}, "must describe an object"),
        (
            "ask_one",
            {"ai": "oai", "prompt": "x", "tempreature": 1},
            "Unknown argument 'tempreature'. Did you mean 'temperature'?",
        ),
        ("ask_many", {"prompt": "x", "ais": ["oai", "nope"]}, "unknown AI 'nope'"),
        ("ask_many", {"prompt": "x", "min_responses": 3}, "min_responses must be between 1 and 2"),
        ("ask_many", {"prompt": "x", "deadline_s": 0}, "deadline_s: Input should be greater than 0"),
    ],
)
async def test_bad_input_gives_an_actionable_tool_error(
    two_ais: JuniorConfig, tool: str, arguments: dict[str, Any], message: str
) -> None:
    result = await call(two_ais, tool, arguments)
    assert result.is_error
    assert message in text_of(result)
    assert "pydantic" not in text_of(result) and "Traceback" not in text_of(result)


async def test_provider_failure_in_ask_one_names_status_and_fix(sim: Simulator, two_ais: JuniorConfig) -> None:
    sim.set_scenario("oai-model", Scenario(fault=Fault(kind="status", status=429, retry_after="20")))
    result = await call(two_ais, "ask_one", {"ai": "oai", "prompt": "x", "timeout_s": 5})
    assert result.is_error
    assert "rate_limited from oai after 1 attempt(s)" in text_of(result)
    assert "retry after 20 s" in text_of(result)


async def test_server_without_any_ai_starts_and_explains_how_to_configure() -> None:
    async with Client(build_server(JuniorConfig())) as client:
        listing = await client.call_tool("list_ais", {})
        asked = await client.call_tool("ask_many", {"prompt": "x"})
    assert "No AI is configured" in text_of(listing)
    assert asked.is_error and "no AI is configured" in text_of(asked) and "credentials.json" in text_of(asked)


async def test_server_with_invalid_config_reports_it_from_every_tool() -> None:
    server = build_server(JuniorConfig(), config_error="credentials.json: AI 'openai': unknown field 'modle'.")
    async with Client(server) as client:
        asked = await client.call_tool("ask_one", {"ai": "openai", "prompt": "x"})
        listing = await client.call_tool("list_ais", {})
    assert asked.is_error and "configuration is invalid" in text_of(asked) and "'modle'" in text_of(asked)
    assert "unknown field 'modle'" in text_of(listing)


async def test_cancelling_a_tool_call_stops_the_provider_requests(sim: Simulator) -> None:
    sim.set_scenario("forever", Scenario(latency_s=60))
    config = config_of(openai_ai(sim, "a", "forever"), gemini_ai(sim, "b", "forever"))
    async with Client(build_server(config)) as client:
        async with anyio.create_task_group() as tg:
            tg.start_soon(client.call_tool, "ask_many", {"prompt": "x"})
            assert await anyio.to_thread.run_sync(lambda: sim.state.wait_for(lambda s: s.in_flight == 2, 30))
            tg.cancel_scope.cancel()
        closed = await anyio.to_thread.run_sync(
            lambda: sim.state.wait_for(
                lambda s: s.in_flight == 0 and all(r.outcome == "disconnected" for r in s.requests()), 5
            )
        )
        assert closed
        # The session still serves the next call.
        sim.set_scenario("forever", Scenario())
        after = await client.call_tool("ask_one", {"ai": "a", "prompt": "still there?"})
    assert not after.is_error
