"""Principals over real HTTP: each sees only its own threads, kept answers and batch results (another's id reads
exactly like an unknown one); budgets and concurrent-call limits hold before a provider is called; sessions are
capped per principal and closed when idle."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx2
import pytest
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from junior_ai.ai.simulator import Scenario, Simulator
from junior_ai.server.task_client import TasksClient, cancel_task, get_task
from junior_ai.server.task_wire import CreateTaskResult
from tests.http_servers import junior_server, mcp_session, write_config
from tests.test_http_auth import INITIALIZE, MCP_HEADERS, new_token_via_cli, simulated_ai
from tests.test_server_tools import text_of

RESULT = re.compile(r"junior://results/[0-9a-f]+/[^\s\]\"]+")


async def read_error(client: Client, uri: str) -> str:
    with pytest.raises(Exception) as caught:
        await client.read_resource(uri)
    return str(caught.value)


async def read_text(client: Client, uri: str) -> str:
    result = await client.read_resource(uri)
    return result.contents[0].text  # type: ignore[union-attr]


async def test_one_principal_never_sees_or_continues_another_principals_threads_answers_or_batches(
    sim: Simulator, tmp_path: Path
) -> None:
    sim.set_scenario("long-model", Scenario(replies=("L" * 20_000,)))
    alice, alice_line = new_token_via_cli("alice")
    bob, bob_line = new_token_via_cli("bob")
    settings = {"http_tokens": {"alice": alice_line, "bob": bob_line}, "output_budget_tokens": 1_000}
    config = write_config(tmp_path / "c.json", simulated_ai(sim, "long-model"), settings)
    with junior_server(config) as server:
        async with mcp_session(server.url, alice) as as_alice:
            first = await as_alice.call_tool("ask_one", {"ai": "ai", "prompt": "secret plans"})
            thread_id = (first.structured_content or {})["thread_id"]
            answer_uri = RESULT.search(text_of(first))
            batch = await as_alice.call_tool("ask_batch", {"template": "{item}", "items": ["x", "y"], "ai": "ai"})
            batch_uri = (batch.structured_content or {})["results_uri"]
            assert answer_uri is not None and batch_uri
            assert await read_text(as_alice, answer_uri.group(0)) == "L" * 20_000
            assert '"ok"' in await read_text(as_alice, batch_uri) or "L" in await read_text(as_alice, batch_uri)
            alice_threads = await read_text(as_alice, "junior://threads")
        requests_before = len(sim.state.requests())
        async with mcp_session(server.url, bob) as as_bob:
            continued = await as_bob.call_tool("ask_one", {"ai": "ai", "prompt": "x", "thread_id": thread_id})
            guessed = await as_bob.call_tool("ask_one", {"ai": "ai", "prompt": "x", "thread_id": "0123456789abcdef"})
            bob_threads = await read_text(as_bob, "junior://threads")
            thread_read = await read_error(as_bob, f"junior://threads/{thread_id}")
            thread_guess = await read_error(as_bob, "junior://threads/0123456789abcdef")
            answer_read = await read_error(as_bob, answer_uri.group(0))
            answer_guess = await read_error(as_bob, answer_uri.group(0).replace("/results/", "/results/f"))
            batch_read = await read_error(as_bob, batch_uri)
    assert thread_id in alice_threads and thread_id not in bob_threads and bob_threads == "[]"
    # Another principal's id behaves exactly like an unknown one: same error, no existence oracle.
    assert continued.is_error and guessed.is_error
    assert text_of(continued).replace(thread_id, "ID") == text_of(guessed).replace("0123456789abcdef", "ID")
    assert thread_read.replace(thread_id, "ID") == thread_guess.replace("0123456789abcdef", "ID")
    answer_id = answer_uri.group(0).split("/")[3]
    assert answer_read.replace(answer_id, "ID") == answer_guess.replace("f" + answer_id, "ID")
    assert "No kept answer" in batch_read
    assert len(sim.state.requests()) == requests_before  # bob's refused continuation never reached the provider


async def test_a_principal_over_its_daily_budget_is_refused_before_the_provider_with_the_reset_time(
    sim: Simulator, tmp_path: Path
) -> None:
    alice, alice_line = new_token_via_cli("alice")
    bob, bob_line = new_token_via_cli("bob")
    settings: dict[str, Any] = {
        "http_tokens": {"alice": alice_line, "bob": bob_line},
        "prices": {"priced-model": {"input_per_million": 1_000_000, "output_per_million": 1_000_000}},
        "principals": {"alice": {"usd_per_day": 1}},
        "admin_principal": "bob",
    }
    config = write_config(tmp_path / "c.json", simulated_ai(sim, "priced-model"), settings)
    with junior_server(config) as server:
        async with mcp_session(server.url, alice) as as_alice:
            spent = await as_alice.call_tool("ask_one", {"ai": "ai", "prompt": "first"})
            refused = await as_alice.call_tool("ask_one", {"ai": "ai", "prompt": "second"})
            mine = await as_alice.call_tool("list_ais", {})
        async with mcp_session(server.url, bob) as as_bob:
            unlimited = await as_bob.call_tool("ask_one", {"ai": "ai", "prompt": "bob asks"})
            admin = await as_bob.call_tool("list_ais", {})
    assert not spent.is_error and (spent.structured_content or {})["cost_usd"] > 1
    assert refused.is_error and "Budget exceeded" in text_of(refused)
    assert re.search(r"resets at \d{4}-\d\d-\d\d 00:00 UTC", text_of(refused))
    assert [r.prompt for r in sim.state.requests()] == ["first", "bob asks"]  # "second" never sent
    assert not unlimited.is_error
    alice_view = mine.structured_content or {}
    assert alice_view["principal"] == "alice" and alice_view["ais"][0]["calls"] == 1
    assert "principals" not in alice_view  # only the admin sees everyone
    admin_view = admin.structured_content or {}
    assert set(admin_view["principals"]) == {"alice", "bob"} and admin_view["ais"][0]["calls"] == 1
    assert admin_view["total_cost_usd"] == pytest.approx(
        admin_view["principals"]["alice"]["cost_usd"] + admin_view["principals"]["bob"]["cost_usd"]
    )


async def test_max_concurrent_calls_refuses_the_call_beyond_the_limit_while_one_is_in_flight(
    sim: Simulator, tmp_path: Path
) -> None:
    sim.set_scenario("slow-model", Scenario(latency_s=2.0))
    alice, alice_line = new_token_via_cli("alice")
    settings = {"http_tokens": {"alice": alice_line}, "principals": {"alice": {"max_concurrent_calls": 1}}}
    config = write_config(tmp_path / "c.json", simulated_ai(sim, "slow-model"), settings)
    outcomes: dict[str, Any] = {}
    with junior_server(config) as server:
        async with mcp_session(server.url, alice) as first, mcp_session(server.url, alice) as second:

            async def slow() -> None:
                outcomes["slow"] = await first.call_tool("ask_one", {"ai": "ai", "prompt": "slow"})

            async with anyio.create_task_group() as tg:
                tg.start_soon(slow)
                assert await anyio.to_thread.run_sync(lambda: sim.state.wait_for(lambda s: s.in_flight >= 1, 60))
                outcomes["second"] = await second.call_tool("ask_one", {"ai": "ai", "prompt": "too many"})
            outcomes["after"] = await second.call_tool("ask_one", {"ai": "ai", "prompt": "after"})
    assert not outcomes["slow"].is_error
    assert outcomes["second"].is_error and "Too many calls at once" in text_of(outcomes["second"])
    assert not outcomes["after"].is_error  # the slot is given back when a call ends
    assert "too many" not in [r.prompt for r in sim.state.requests()]


async def test_sessions_are_capped_per_principal_and_an_idle_one_is_closed(tmp_path: Path) -> None:
    alice, alice_line = new_token_via_cli("alice")
    bob, bob_line = new_token_via_cli("bob")
    settings = {
        "http_tokens": {"alice": alice_line, "bob": bob_line},
        "max_sessions_per_principal": 3,
        "session_idle_timeout_s": 1,
    }
    config = write_config(tmp_path / "c.json", {}, settings)
    with junior_server(config) as server:
        async with httpx2.AsyncClient() as http:

            async def initialize(token: str) -> httpx2.Response:
                return await http.post(
                    server.url, json=INITIALIZE, headers=MCP_HEADERS | {"Authorization": f"Bearer {token}"}
                )

            opened = [await initialize(alice) for _ in range(3)]
            refused = await initialize(alice)
            other = await initialize(bob)
            assert [r.status_code for r in opened] == [200, 200, 200]
            assert refused.status_code == 503 and other.status_code == 200
            # The abandoned sessions time out (the server says so), and then alice may open sessions again.
            for response in opened:
                await anyio.to_thread.run_sync(
                    server.wait_for_line, f'"session": "{response.headers["mcp-session-id"]}"'
                )
            assert (await initialize(alice)).status_code == 200


async def test_one_principals_jobs_are_invisible_to_another_and_cannot_be_collected_or_cancelled_by_it(
    sim: Simulator, tmp_path: Path
) -> None:
    sim.state.hold("job-model")
    alice, alice_line = new_token_via_cli("alice")
    bob, bob_line = new_token_via_cli("bob")
    config = write_config(
        tmp_path / "c.json", simulated_ai(sim, "job-model"), {"http_tokens": {"alice": alice_line, "bob": bob_line}}
    )
    try:
        with junior_server(config) as server:
            async with mcp_session(server.url, alice) as as_alice:
                started = await as_alice.call_tool("ask_one", {"ai": "ai", "prompt": "alice's", "background": True})
                job_id = (started.structured_content or {})["job_id"]
                async with mcp_session(server.url, bob) as as_bob:
                    bob_jobs = await read_text(as_bob, "junior://jobs")
                    collected = await as_bob.call_tool("collect", {"job_id": job_id, "wait_s": 0})
                    cancelled = await as_bob.call_tool("collect", {"job_id": job_id, "cancel": True})
                    guessed = await as_bob.call_tool("collect", {"job_id": "job_guessed", "wait_s": 0})
                alice_jobs = await read_text(as_alice, "junior://jobs")
                sim.state.release("job-model")
                mine = await as_alice.call_tool("collect", {"job_id": job_id, "wait_s": 20})
    finally:
        sim.state.release("job-model")
    assert job_id in alice_jobs and job_id not in bob_jobs and json.loads(bob_jobs) == {"jobs": []}
    assert collected.is_error and cancelled.is_error and guessed.is_error
    # another principal's job id behaves exactly like an unknown one, and bob's cancel did not stop it
    assert text_of(collected).replace(job_id, "ID") == text_of(guessed).replace("job_guessed", "ID")
    assert not mine.is_error and (mine.structured_content or {})["status"] == "ok"
    assert [r.outcome for r in sim.state.requests("job-model")] != ["disconnected"]


async def test_another_principals_task_id_reads_like_an_unknown_one_and_cannot_be_cancelled(
    sim: Simulator, tmp_path: Path
) -> None:
    sim.state.hold("task-model")
    alice, alice_line = new_token_via_cli("alice")
    bob, bob_line = new_token_via_cli("bob")
    config = write_config(
        tmp_path / "c.json", simulated_ai(sim, "task-model"), {"http_tokens": {"alice": alice_line, "bob": bob_line}}
    )

    def tasks_session(url: str, token: str) -> Any:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(120.0))
        return http, Client(streamable_http_client(url, http_client=http), extensions=[TasksClient()])

    try:
        with junior_server(config) as server:
            alice_http, alice_client = tasks_session(server.url, alice)
            bob_http, bob_client = tasks_session(server.url, bob)
            async with alice_http, alice_client as as_alice, bob_http, bob_client as as_bob:
                created = await as_alice.session.call_tool("ask_one", {"ai": "ai", "prompt": "p"}, allow_claimed=True)
                assert isinstance(created, CreateTaskResult)
                with pytest.raises(MCPError) as foreign:
                    await get_task(as_bob.session, created.task_id)
                with pytest.raises(MCPError) as unknown:
                    await get_task(as_bob.session, "job_guessed")
                with pytest.raises(MCPError):
                    await cancel_task(as_bob.session, created.task_id)
                still = await get_task(as_alice.session, created.task_id)
                sim.state.release("task-model")
    finally:
        sim.state.release("task-model")
    assert str(foreign.value).replace(created.task_id, "ID") == str(unknown.value).replace("job_guessed", "ID")
    assert still.status == "working"  # bob's cancel did not touch alice's task
