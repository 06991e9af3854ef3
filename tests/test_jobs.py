"""Continue-and-collect: a call past its deadline returns what it has plus a job id; `collect` gets the rest.

The simulator holds answers until the test releases them (no latencies guessed, no sleeps)."""

from __future__ import annotations

import json
from typing import Any

import anyio
import anyio.to_thread
from mcp.client.client import Client
from mcp_types import TextResourceContents

from junior_ai.ai.simulator import Simulator
from junior_ai.ai.simulator.scenario import Fault, Scenario, echo_reply
from junior_ai.server.app import build_server
from tests.conftest import OPENAI_KEY, config_of, gemini_ai, openai_ai
from tests.test_server_tools import text_of

SLOW = "slow-model"


async def wait_in_thread(sim: Simulator, predicate: Any) -> None:
    assert await anyio.to_thread.run_sync(sim.state.wait_for, predicate, 20.0)


async def test_a_call_past_its_deadline_returns_a_job_and_collect_returns_the_one_answer(sim: Simulator) -> None:
    sim.state.hold(SLOW)
    config = config_of(openai_ai(sim, "slow", SLOW))
    with anyio.fail_after(30):
        async with Client(build_server(config)) as client:
            first = await client.call_tool("ask_one", {"ai": "slow", "prompt": "think hard", "deadline_s": 1})
            partial = first.structured_content or {}
            assert not first.is_error
            assert partial["status"] == "running" and partial["job_id"].startswith("job_")
            assert partial["poll_after_s"] > 0
            assert "call the `collect` tool" in text_of(first) and partial["job_id"] in text_of(first)
            sim.state.release(SLOW)
            done = await client.call_tool("collect", {"job_id": partial["job_id"], "wait_s": 10})
    result = done.structured_content or {}
    assert not done.is_error, text_of(done)
    assert result["status"] == "ok" and result["text"] == echo_reply(SLOW, "think hard")
    assert len(sim.state.requests(SLOW)) == 1  # the answer collected is the request made: never asked twice


async def test_collect_of_a_job_still_running_reports_progress_and_says_to_call_again(sim: Simulator) -> None:
    sim.state.hold(SLOW)
    config = config_of(openai_ai(sim, "quick", "quick-model"), openai_ai(sim, "slow", SLOW))
    with anyio.fail_after(30):
        async with Client(build_server(config)) as client:
            first = await client.call_tool("ask_many", {"prompt": "go", "deadline_s": 1})
            job_id = (first.structured_content or {})["job_id"]
            snapshot = await client.call_tool("collect", {"job_id": job_id, "wait_s": 0})
            sim.state.release(SLOW)
    status = snapshot.structured_content or {}
    assert status["status"] == "running" and status["job_id"] == job_id
    assert [r["ai"] for r in status["arrived"]] == ["quick"] and status["done"] == 1 and status["total"] == 2
    assert "Still running" in text_of(snapshot) and "call the `collect` tool" in text_of(snapshot)


async def test_background_returns_a_job_id_at_once_and_collect_returns_the_tools_own_shape(sim: Simulator) -> None:
    sim.state.hold(SLOW)
    config = config_of(openai_ai(sim, "slow", SLOW), gemini_ai(sim, "other", SLOW))
    with anyio.fail_after(30):
        async with Client(build_server(config)) as client:
            first = await client.call_tool("ask_many", {"prompt": "go", "background": True})
            job_id = (first.structured_content or {})["job_id"]
            assert {r["status"] for r in (first.structured_content or {})["results"]} == {"running"}
            sim.state.release(SLOW)
            done = await client.call_tool("collect", {"job_id": job_id, "wait_s": 10})
    result = done.structured_content or {}
    assert result["ok_count"] == 2 and [r["status"] for r in result["results"]] == ["ok", "ok"]
    assert "2/2 AIs answered" in text_of(done)


async def test_cancel_stops_the_job_and_closes_its_provider_request(sim: Simulator) -> None:
    sim.state.hold(SLOW)
    config = config_of(gemini_ai(sim, "slow", SLOW))
    with anyio.fail_after(30):
        async with Client(build_server(config)) as client:
            first = await client.call_tool("ask_one", {"ai": "slow", "prompt": "x", "background": True})
            job_id = (first.structured_content or {})["job_id"]
            await wait_in_thread(sim, lambda s: len(s.requests(SLOW)) == 1)
            cancelled = await client.call_tool("collect", {"job_id": job_id, "cancel": True})
            await wait_in_thread(sim, lambda s: s.requests(SLOW)[0].outcome == "disconnected")
            again = await client.call_tool("collect", {"job_id": job_id, "wait_s": 0})
    assert (cancelled.structured_content or {})["status"] == "cancelled"
    assert (again.structured_content or {})["status"] == "cancelled"
    assert len(sim.state.requests(SLOW)) == 1


async def test_an_unknown_job_id_is_a_clear_error(sim: Simulator) -> None:
    config = config_of(openai_ai(sim, "a", "quick-model"))
    async with Client(build_server(config)) as client:
        result = await client.call_tool("collect", {"job_id": "job_doesnotexist"})
    assert result.is_error
    assert "no job 'job_doesnotexist'" in text_of(result) and "junior://jobs" in text_of(result)


async def test_jobs_over_the_limit_are_refused_with_what_to_do(sim: Simulator) -> None:
    sim.state.hold(SLOW)
    config = config_of(openai_ai(sim, "slow", SLOW), max_jobs_per_principal=1)
    with anyio.fail_after(30):
        async with Client(build_server(config)) as client:
            first = await client.call_tool("ask_one", {"ai": "slow", "prompt": "x", "background": True})
            second = await client.call_tool("ask_one", {"ai": "slow", "prompt": "y", "background": True})
            sim.state.release(SLOW)
            await client.call_tool("collect", {"job_id": (first.structured_content or {})["job_id"], "wait_s": 10})
            third = await client.call_tool("ask_one", {"ai": "slow", "prompt": "z"})
    assert not first.is_error
    assert second.is_error and "limit is 1" in text_of(second) and "collect" in text_of(second)
    assert not third.is_error  # a collected job frees its slot
    assert [r.prompt for r in sim.state.requests(SLOW)] == ["x", "z"]


async def test_cancelling_a_job_frees_its_slot_at_once(sim: Simulator) -> None:
    sim.state.hold(SLOW)
    config = config_of(openai_ai(sim, "slow", SLOW), max_jobs_per_principal=1)
    with anyio.fail_after(30):
        async with Client(build_server(config)) as client:
            first = await client.call_tool("ask_one", {"ai": "slow", "prompt": "x", "background": True})
            cancelled = await client.call_tool(
                "collect", {"job_id": (first.structured_content or {})["job_id"], "cancel": True}
            )
            second = await client.call_tool("ask_one", {"ai": "slow", "prompt": "y", "background": True})
            sim.state.release(SLOW)
    assert (cancelled.structured_content or {})["status"] == "cancelled"
    assert not second.is_error, text_of(second)  # no second collect needed to free the slot


async def test_a_job_reaching_its_run_limit_keeps_the_answers_it_already_has(sim: Simulator) -> None:
    sim.state.hold("hang-model")
    config = config_of(openai_ai(sim, "fast", "quick-model"), openai_ai(sim, "hang", "hang-model"), job_ttl_s=2)
    with anyio.fail_after(30):
        async with Client(build_server(config)) as client:
            first = await client.call_tool("ask_many", {"prompt": "go", "background": True})
            done = await client.call_tool(
                "collect", {"job_id": (first.structured_content or {})["job_id"], "wait_s": 20}
            )
            sim.state.release("hang-model")
    result = done.structured_content or {}
    assert not done.is_error, text_of(done)
    statuses = {r["ai"]: r["status"] for r in result["results"]}  # ask_many's own shape, not a bare "expired"
    assert statuses == {"fast": "ok", "hang": "timeout"} and result["ok_count"] == 1
    assert echo_reply("quick-model", "go") in text_of(done)


async def test_the_jobs_resource_lists_only_uncollected_jobs_newest_first_and_says_how_many_more(
    sim: Simulator, monkeypatch: Any
) -> None:
    from junior_ai.server import collect as collect_module

    monkeypatch.setattr(collect_module, "JOBS_LISTED", 2)
    config = config_of(openai_ai(sim, "a", "quick-model"))
    with anyio.fail_after(30):
        async with Client(build_server(config)) as client:
            ids = []
            for i in range(4):
                started = await client.call_tool("ask_one", {"ai": "a", "prompt": f"p{i}", "background": True})
                ids.append((started.structured_content or {})["job_id"])
            await client.call_tool("collect", {"job_id": ids[3], "wait_s": 10})
            listed = await client.read_resource("junior://jobs")
    (content,) = listed.contents
    assert isinstance(content, TextResourceContents)
    listing = json.loads(content.text)
    assert [job["job_id"] for job in listing["jobs"]] == [ids[2], ids[1]]  # ids[3] was collected: not listed
    assert listing["not_listed"] == 1 and "1 older jobs not listed" in listing["note"]


async def test_the_jobs_resource_lists_running_jobs(sim: Simulator) -> None:
    sim.state.hold(SLOW)
    config = config_of(openai_ai(sim, "slow", SLOW))
    with anyio.fail_after(30):
        async with Client(build_server(config)) as client:
            first = await client.call_tool("ask_one", {"ai": "slow", "prompt": "x", "background": True})
            listed = await client.read_resource("junior://jobs")
            sim.state.release(SLOW)
    (content,) = listed.contents
    assert isinstance(content, TextResourceContents)
    assert (first.structured_content or {})["job_id"] in content.text and '"status":"running"' in content.text.replace(
        " ", ""
    )


async def test_a_consensus_whose_critique_outlives_the_deadline_finishes_and_collect_has_the_synthesis(
    sim: Simulator,
) -> None:
    critique = "reviewing each other's answers"
    models = ["m1", "m2", "m3"]
    for model in models:
        sim.state.hold(model, critique)
    config = config_of(*(openai_ai(sim, f"ai{i}", model) for i, model in enumerate(models, 1)))
    with anyio.fail_after(30):
        async with Client(build_server(config)) as client:
            first = await client.call_tool("consensus", {"question": "Which?", "rounds": 1, "deadline_s": 1})
            status = first.structured_content or {}
            assert status["status"] == "running" and len(status["arrived"]) == 3  # round 0 came in time
            for model in models:
                sim.state.release(model, critique)
            done = await client.call_tool("collect", {"job_id": status["job_id"], "wait_s": 20})
    result = done.structured_content or {}
    assert not done.is_error, text_of(done)
    assert result["judge"] in {"ai1", "ai2", "ai3"} and result["answer"]
    assert result["critique_rounds_run"] == 1 and result["partial"] is False
    critiques = [r for r in sim.state.requests() if critique in r.full_text]
    assert len(critiques) == 3


async def test_the_host_cancelling_a_call_cancels_its_job(sim: Simulator) -> None:
    sim.state.hold(SLOW)
    config = config_of(openai_ai(sim, "slow", SLOW, timeout_s=600))  # only the cancel can close the request
    with anyio.fail_after(30):
        async with Client(build_server(config)) as client:
            async with anyio.create_task_group() as tg:
                tg.start_soon(client.call_tool, "ask_one", {"ai": "slow", "prompt": "x", "deadline_s": 60})
                await wait_in_thread(sim, lambda s: len(s.requests(SLOW)) == 1)
                tg.cancel_scope.cancel()
            await wait_in_thread(sim, lambda s: s.requests(SLOW)[0].outcome == "disconnected")
            listed = await client.read_resource("junior://jobs")
    (content,) = listed.contents
    assert isinstance(content, TextResourceContents) and '"running"' not in content.text


async def test_with_continue_off_the_deadline_cuts_the_work_as_before(sim: Simulator) -> None:
    sim.set_scenario("writer", Scenario(chunk_count=20, chunk_delay_s=0.2))
    config = config_of(openai_ai(sim, "w", "writer"), continue_after_deadline=False)
    async with Client(build_server(config)) as client:
        result = await client.call_tool("ask_one", {"ai": "w", "prompt": "x", "deadline_s": 1})
    structured = result.structured_content or {}
    assert structured["status"] == "timeout" and "job_id" not in structured


async def test_collect_never_waits_past_the_deadline_whatever_wait_s_asks(sim: Simulator) -> None:
    sim.state.hold(SLOW)
    config = config_of(openai_ai(sim, "slow", SLOW), deadline_s=0.3)
    with anyio.fail_after(30):
        async with Client(build_server(config)) as client:
            first = await client.call_tool("ask_one", {"ai": "slow", "prompt": "x", "background": True})
            later = await client.call_tool(
                "collect", {"job_id": (first.structured_content or {})["job_id"], "wait_s": 3600}
            )
            sim.state.release(SLOW)
    assert (later.structured_content or {})["status"] == "running"  # back at the 0.3 s cap, not after an hour


async def test_the_host_is_told_about_collect_in_the_instructions_and_the_long_prompts(sim: Simulator) -> None:
    async with Client(build_server(config_of(openai_ai(sim, "a", "m")))) as client:
        instructions = client.instructions or ""
        consensus = await client.get_prompt("consensus", {"question": "q"})
        debate = await client.get_prompt("debate", {"topic": "t"})
    assert "collect" in instructions and "job_id" in instructions and "background" in instructions
    for prompt in (consensus, debate):
        text = str(prompt.messages[0].content)
        assert "collect tool" in text and "job_id" in text


async def test_a_job_that_failed_is_collected_as_the_tools_own_error(sim: Simulator) -> None:
    sim.set_scenario("locked", Scenario(fault=Fault(kind="status", status=401, message="API key not valid")))
    config = config_of(openai_ai(sim, "locked", "locked"))
    async with Client(build_server(config)) as client:
        first = await client.call_tool("ask_one", {"ai": "locked", "prompt": "x", "background": True})
        failed = await client.call_tool("collect", {"job_id": (first.structured_content or {})["job_id"], "wait_s": 10})
    assert failed.is_error and "auth_error from locked" in text_of(failed)
    assert OPENAI_KEY not in text_of(failed)


async def test_a_call_past_its_deadline_at_the_job_limit_stops_and_says_why(sim: Simulator) -> None:
    sim.state.hold(SLOW)
    config = config_of(openai_ai(sim, "slow", SLOW), max_jobs_per_principal=1)
    with anyio.fail_after(30):
        async with Client(build_server(config)) as client:
            await client.call_tool("ask_one", {"ai": "slow", "prompt": "one", "background": True})
            second = await client.call_tool("ask_one", {"ai": "slow", "prompt": "two", "deadline_s": 0.5})
            await wait_in_thread(
                sim, lambda s: [r.outcome for r in s.requests(SLOW) if r.prompt == "two"] == ["disconnected"]
            )
            sim.state.release(SLOW)
    result = second.structured_content or {}  # ask_one's own shape, the answer marked cancelled, with the reason
    assert result["status"] == "cancelled" and "limit is 1" in result["error"] and "job_id" not in result
    assert "stopped at the deadline" in text_of(second)
    assert text_of(second).count("limit is 1") == 1 and "0 ms" not in text_of(
        second
    )  # the reason once, no fake latency
