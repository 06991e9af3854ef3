"""Two `junior-ai serve` replicas sharing one real `redis-server` act as one server: threads, kept answers, usage,
the rpm limit and the breaker are shared; HTTP is stateless, so any replica answers any request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx2

from junior_ai.ai.simulator import Fault, Scenario, Simulator
from tests.http_servers import ServerProcess, junior_server, mcp_session, redis_server, write_config
from tests.test_http_auth import new_token_via_cli, simulated_ai
from tests.test_http_isolation import RESULT, read_error, read_text
from tests.test_server_tools import text_of


@contextmanager
def two_replicas(
    tmp_path: Path, ais: dict[str, Any], settings: dict[str, Any]
) -> Iterator[tuple[ServerProcess, ServerProcess, Any]]:
    with ExitStack() as stack:
        redis = stack.enter_context(redis_server(tmp_path))
        config = write_config(tmp_path / "c.json", ais, {**settings, "state_url": redis.url})
        first = stack.enter_context(junior_server(config))
        second = stack.enter_context(junior_server(config))
        yield first, second, redis


async def test_a_thread_started_on_one_replica_continues_on_the_other_and_its_results_read_anywhere(
    sim: Simulator, tmp_path: Path
) -> None:
    sim.set_scenario("shared-model", Scenario(replies=("S" * 8_000,)))
    alice, alice_line = new_token_via_cli("alice")
    bob, bob_line = new_token_via_cli("bob")
    settings = {"http_tokens": {"alice": alice_line, "bob": bob_line}, "output_budget_tokens": 1_000}
    with two_replicas(tmp_path, simulated_ai(sim, "shared-model"), settings) as (one, two, _redis):
        assert one.events("http_serving")[0]["stateless"] is True
        async with mcp_session(one.url, alice) as on_one:
            first = await on_one.call_tool("ask_one", {"ai": "ai", "prompt": "remember the number 42"})
        thread_id = (first.structured_content or {})["thread_id"]
        uri = RESULT.search(text_of(first))
        assert uri is not None
        async with mcp_session(two.url, alice) as on_two:
            again = await on_two.call_tool("ask_one", {"ai": "ai", "prompt": "which number?", "thread_id": thread_id})
            full = await read_text(on_two, uri.group(0))
            listed = await read_text(on_two, "junior://threads")
            usage = await on_two.call_tool("list_ais", {})
        async with mcp_session(two.url, bob) as bob_on_two:
            bob_reads = await read_error(bob_on_two, uri.group(0))
    assert not again.is_error and full == "S" * 8_000 and thread_id in listed
    second_request = sim.state.requests("shared-model")[1].body
    assert second_request["messages"][0]["content"] == "remember the number 42"
    assert (usage.structured_content or {})["ais"][0]["calls"] == 2  # one call on each replica, one ledger
    assert "No kept answer" in bob_reads


async def test_an_rpm_limit_is_shared_by_the_replicas_not_multiplied(sim: Simulator, tmp_path: Path) -> None:
    with two_replicas(tmp_path, simulated_ai(sim, "limited-model", rpm=1), {}) as (one, two, _redis):
        async with mcp_session(one.url) as on_one:
            allowed = await on_one.call_tool("ask_one", {"ai": "ai", "prompt": "first"})
        async with mcp_session(two.url) as on_two:
            limited = await on_two.call_tool("ask_one", {"ai": "ai", "prompt": "second", "timeout_s": 5})
    assert not allowed.is_error
    assert limited.is_error and "1 requests per minute" in text_of(limited) and "every replica" in text_of(limited)
    assert [r.prompt for r in sim.state.requests()] == ["first"]


async def test_a_breaker_opened_by_failures_on_the_other_replica_cools_the_ai_down_on_both(
    sim: Simulator, tmp_path: Path
) -> None:
    sim.set_scenario("failing-model", Scenario(fault=Fault(kind="status", status=503)))
    settings = {"breaker_threshold": 2, "breaker_cooldown_s": 600, "max_attempts": 1}
    with two_replicas(tmp_path, simulated_ai(sim, "failing-model"), settings) as (one, two, _redis):
        async with mcp_session(one.url) as on_one, mcp_session(two.url) as on_two:
            failed_on_one = await on_one.call_tool("ask_one", {"ai": "ai", "prompt": "one"})
            failed_on_two = await on_two.call_tool("ask_one", {"ai": "ai", "prompt": "two"})  # the 2nd failure
            skipped_on_one = await on_one.call_tool("ask_one", {"ai": "ai", "prompt": "three"})
            skipped_on_two = await on_two.call_tool("ask_one", {"ai": "ai", "prompt": "four"})
    assert "unavailable" in text_of(failed_on_one) and "unavailable" in text_of(failed_on_two)
    for skipped in (skipped_on_one, skipped_on_two):
        assert skipped.is_error and "cooling down" in text_of(skipped)
    assert [r.prompt for r in sim.state.requests()] == ["one", "two"]  # the cooled-down AI was not asked


async def test_a_replica_whose_redis_is_gone_reports_it_and_fails_its_health_check(
    sim: Simulator, tmp_path: Path
) -> None:
    with two_replicas(tmp_path, simulated_ai(sim), {}) as (one, _two, redis):
        redis.process.terminate()
        redis.process.wait(timeout=30)
        async with mcp_session(one.url) as on_one:
            result = await on_one.call_tool("ask_one", {"ai": "ai", "prompt": "x"})
        async with httpx2.AsyncClient() as http:
            health = await http.get(f"http://127.0.0.1:{one.port}/healthz")
        assert one.process.poll() is None  # the replica is still up
    assert result.is_error and "shared state" in text_of(result) and "Redis" in text_of(result)
    assert health.status_code == 503 and health.text == "unavailable"
    assert sim.state.requests() == []  # nothing paid for that could not be kept


async def test_a_job_started_on_one_replica_is_collected_on_the_other_and_its_work_runs_once(
    sim: Simulator, tmp_path: Path
) -> None:
    sim.state.hold("job-model")
    try:
        with two_replicas(tmp_path, simulated_ai(sim, "job-model"), {}) as (one, two, _redis):
            async with mcp_session(one.url) as on_one:
                started = await on_one.call_tool("ask_one", {"ai": "ai", "prompt": "long one", "deadline_s": 0.5})
            job_id = (started.structured_content or {})["job_id"]
            async with mcp_session(two.url) as on_two:
                listed = await read_text(on_two, "junior://jobs")
                sim.state.release("job-model")
                done = await on_two.call_tool("collect", {"job_id": job_id, "wait_s": 30})
    finally:
        sim.state.release("job-model")
    assert job_id in listed
    assert not done.is_error, text_of(done)
    assert (done.structured_content or {})["status"] == "ok" and "long one" in text_of(done)
    assert len(sim.state.requests("job-model")) == 1  # run by replica one only, never again by replica two


async def test_a_background_jobs_trimmed_answer_reads_in_full_on_the_replica_that_collected_it(
    sim: Simulator, tmp_path: Path
) -> None:
    # The job keeps its full answer after the call that started it returned; no other call comes after it on
    # replica one, so only the job itself can have written the text to Redis before its record said done.
    sim.set_scenario("long-model", Scenario(replies=("L" * 8_000,)))
    with two_replicas(tmp_path, simulated_ai(sim, "long-model"), {"output_budget_tokens": 1_000}) as (one, two, _r):
        async with mcp_session(one.url) as on_one:
            started = await on_one.call_tool("ask_one", {"ai": "ai", "prompt": "long answer", "background": True})
        job_id = (started.structured_content or {})["job_id"]
        async with mcp_session(two.url) as on_two:
            done = await on_two.call_tool("collect", {"job_id": job_id, "wait_s": 60})
            uri = RESULT.search(text_of(done))
            assert uri is not None, text_of(done)
            full = await read_text(on_two, uri.group(0))
    assert not done.is_error, text_of(done)
    assert full == "L" * 8_000
