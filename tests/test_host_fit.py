"""Host fit: deadlines return partial answers, output stays in budget (full text as a resource), stalls are
caught by the idle timeout, progress carries tokens, and the tool list stays small and valid."""

from __future__ import annotations

import json
from typing import Any

import anyio
import jsonschema
import pytest
from mcp.client.client import Client
from mcp_types import CallToolResult

from junior_ai.ai.simulator import Fault, Scenario, Simulator
from junior_ai.ai.simulator.scenario import echo_reply
from junior_ai.server.app import build_server
from junior_ai.tools.output_budget import ResultStore
from tests.conftest import config_of, gemini_ai, openai_ai
from tests.test_server_tools import text_of

SLOW_STREAM = Scenario(chunk_count=20, chunk_delay_s=0.2)


async def test_ask_one_at_the_deadline_returns_the_partial_answer(sim: Simulator) -> None:
    sim.set_scenario("slow-writer", SLOW_STREAM)
    config = config_of(gemini_ai(sim, "writer", "slow-writer"), continue_after_deadline=False)
    with anyio.fail_after(60):  # guards a hang only; the status below says whether the deadline cut the answer
        async with Client(build_server(config)) as client:
            result = await client.call_tool("ask_one", {"ai": "writer", "prompt": "write a lot", "deadline_s": 1.0})
    structured = result.structured_content or {}
    assert not result.is_error
    assert structured["status"] == "timeout" and structured["partial"] is True
    full = echo_reply("slow-writer", "write a lot")
    assert 0 < len(structured["text"]) < len(full) and full.startswith(structured["text"])
    assert "characters it had written by then" in structured["error"]


async def test_ask_many_deadline_keeps_partial_text_of_the_slow_ai(sim: Simulator) -> None:
    # The writer sends its first piece and then stalls, so what comes back is decided by the deadline alone; the
    # deadline is long enough for the quick AI and that first piece on a busy machine (1 s was not, under load).
    sim.set_scenario("slow-writer", Scenario(chunk_count=20, fault=Fault(kind="stall")))
    config = config_of(openai_ai(sim, "quick", "quick-model"), openai_ai(sim, "writer", "slow-writer"))
    async with Client(build_server(config)) as client:
        result = await client.call_tool("ask_many", {"prompt": "go", "deadline_s": 6.0})
    by_ai = {r["ai"]: r for r in (result.structured_content or {})["results"]}
    assert by_ai["quick"]["status"] == "ok"
    # The writer goes on as a job (see test_jobs.py); what it had written by the deadline comes back now.
    assert by_ai["writer"]["status"] == "running" and by_ai["writer"]["partial"] is True
    assert (result.structured_content or {})["job_id"]
    assert echo_reply("slow-writer", "go").startswith(by_ai["writer"]["text"])


async def test_long_answers_are_trimmed_and_readable_in_full_as_resources(sim: Simulator) -> None:
    long_answer = "".join(f"line {i}: " + "x" * 90 + "\n" for i in range(3000))  # ~300k characters
    sim.set_scenario("verbose", Scenario(replies=(long_answer,), chunk_count=30))
    config = config_of(openai_ai(sim, "a", "verbose"), gemini_ai(sim, "b", "verbose"), output_budget_tokens=10_000)
    async with Client(build_server(config)) as client:
        result = await client.call_tool("ask_many", {"prompt": "tell me everything"})
        structured = result.structured_content or {}
        size = len(json.dumps(structured)) + len(text_of(result))
        uris = [r["full_text_uri"] for r in structured["results"]]
        assert all(uri.startswith("junior://results/") for uri in uris)
        contents = await client.read_resource(uris[1])
    assert size < 10_000 * 4  # within the budget (~4 characters a token)
    assert "[trimmed: " in structured["results"][0]["text"] and uris[0] in structured["results"][0]["text"]
    assert contents.contents[0].text == long_answer  # type: ignore[union-attr]


async def test_unknown_or_expired_result_resource_says_so(two_ais: Any) -> None:
    async with Client(build_server(two_ais)) as client:
        with pytest.raises(Exception, match=r"expired .* or was evicted"):
            await client.read_resource("junior://results/abcdef012345/oai")


async def test_result_store_expires_and_evicts_oldest_first() -> None:
    now = [0.0]
    store = ResultStore(ttl_s=10, max_bytes=2_000, clock=lambda: now[0])
    store.put("r1", "a", "x" * 900)
    store.put("r2", "a", "y" * 900)
    store.put("r3", "a", "z" * 900)  # over 2,000 bytes: the oldest goes
    assert await store.get("r1", "a") is None and await store.get("r2", "a") == "y" * 900
    now[0] = 11
    assert await store.get("r2", "a") is None and len(store) == 0


async def test_a_stalled_stream_is_cut_by_the_idle_timeout_well_before_the_deadline(sim: Simulator) -> None:
    sim.set_scenario("stalls", Scenario(chunk_count=3, fault=Fault(kind="stall")))
    config = config_of(openai_ai(sim, "staller", "stalls", timeout_s=30), idle_timeout_s=0.3, max_attempts=2)
    with anyio.fail_after(25):  # less than the 30 s timeout: the idle timeout cut it
        async with Client(build_server(config)) as client:
            result = await client.call_tool("ask_one", {"ai": "staller", "prompt": "x"})
    structured = result.structured_content or {}
    assert structured["status"] == "timeout" and structured["partial"] is True  # the first chunk survives
    assert "stopped sending for 0.3 s" in structured["error"]
    assert len(sim.state.requests("stalls")) == 2


async def test_ask_one_progress_reports_tokens_as_they_arrive(sim: Simulator) -> None:
    sim.set_scenario("paced", Scenario(replies=("word " * 400,), chunk_count=6, chunk_delay_s=0.3))
    config = config_of(gemini_ai(sim, "paced-ai", "paced"))
    seen: list[tuple[float, str]] = []

    async def progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, message or ""))

    async with Client(build_server(config)) as client:
        with anyio.fail_after(10):
            await client.call_tool("ask_one", {"ai": "paced-ai", "prompt": "x"}, progress_callback=progress)
    assert len(seen) >= 2
    assert all("tokens received" in message for _, message in seen)
    values = [value for value, _ in seen]
    assert values == sorted(set(values))


async def test_tools_list_is_small_and_every_result_matches_its_output_schema(sim: Simulator) -> None:
    sim.set_scenario("gem-model", Scenario(fault=Fault(kind="status", status=503)))
    config = config_of(openai_ai(sim, "oai", "oai-model"), gemini_ai(sim, "gem", "gem-model"), max_attempts=1)
    async with Client(build_server(config)) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        calls: dict[str, CallToolResult] = {
            "ask_one": await client.call_tool("ask_one", {"ai": "oai", "prompt": "x"}),
            "ask_many": await client.call_tool("ask_many", {"prompt": "x"}),
            "list_ais": await client.call_tool("list_ais", {}),
            "consensus": await client.call_tool("consensus", {"question": "x", "ais": ["oai"]}),
            "debate": await client.call_tool("debate", {"topic": "x", "ais": ["oai", "gem"], "rounds": 1}),
        }
    wire = json.dumps(
        [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools.values()], separators=(",", ":")
    )
    assert len(wire) < 10_000  # ~2,500 tokens at ~4 characters a token
    assert '"title"' not in wire
    for name, result in calls.items():
        assert not result.is_error, (name, text_of(result))
        assert result.structured_content  # every tool returns structured content
        if tools[name].output_schema is not None:
            jsonschema.validate(result.structured_content, tools[name].output_schema)
