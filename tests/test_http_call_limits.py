"""Budgets and concurrent-call limits that hold under pressure, over real HTTP (issue 14, attack findings): calls in
flight at once cannot all pass the daily budget (each reserves its estimate first); background jobs and MCP tasks
are charged and limited like any call; a replica killed mid-call frees its slot once the lease runs out, and a
client retrying meanwhile extends nothing; SIGTERM lets calls in flight finish and gives their slots back."""

from __future__ import annotations

import json
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx2
import pytest
import uvicorn
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from sse_starlette.sse import AppStatus
from starlette.applications import Starlette

from junior_ai.ai.simulator import Simulator
from junior_ai.core.state import StateStore, open_state
from junior_ai.server.http_serve import _CleanExitServer, _RequestsInFlight
from junior_ai.server.task_client import TasksClient
from junior_ai.server.task_wire import CreateTaskResult
from tests.http_servers import junior_server, mcp_session, redis_server, write_config
from tests.test_http_auth import new_token_via_cli, simulated_ai
from tests.test_http_isolation import read_text
from tests.test_server_tools import text_of

PRICED = {"priced-model": {"input_per_million": 1_000_000, "output_per_million": 1_000_000}}
"""A dollar a token: any call costs more than a one-dollar budget."""


@contextmanager
def held(sim: Simulator, model: str) -> Iterator[None]:
    sim.state.hold(model)
    try:
        yield
    finally:
        sim.state.release(model)


@asynccontextmanager
async def shared_state(url: str) -> AsyncIterator[StateStore]:
    state = open_state(url)
    try:
        yield state
    finally:
        await state.aclose()


async def wait_in_flight(sim: Simulator, count: int) -> None:
    assert await anyio.to_thread.run_sync(lambda: sim.state.wait_for(lambda s: s.in_flight >= count, 60))


@pytest.mark.parametrize("with_redis", [False, True], ids=["in-process", "redis"])
async def test_concurrent_calls_cannot_all_pass_the_daily_budget_only_one_goes_over_it(
    sim: Simulator, tmp_path: Path, with_redis: bool
) -> None:
    calls = 6
    alice, alice_line = new_token_via_cli("alice")
    settings: dict[str, Any] = {
        "http_tokens": {"alice": alice_line},
        "prices": PRICED,
        "principals": {"alice": {"usd_per_day": 1}},
    }
    outcomes: list[Any] = []
    refused = anyio.Event()
    with ExitStack() as stack:
        if with_redis:
            settings["state_url"] = stack.enter_context(redis_server(tmp_path)).url
        config = write_config(tmp_path / "c.json", simulated_ai(sim, "priced-model"), settings)
        server = stack.enter_context(junior_server(config))
        stack.enter_context(held(sim, "priced-model"))
        async with mcp_session(server.url, alice) as client:

            async def ask(n: int) -> None:
                outcomes.append(await client.call_tool("ask_one", {"ai": "ai", "prompt": f"q{n}"}))
                if sum(1 for o in outcomes if o.is_error) == calls - 1:
                    refused.set()

            async with anyio.create_task_group() as tg:
                for n in range(calls):
                    tg.start_soon(ask, n)
                with anyio.fail_after(120):
                    await refused.wait()  # all but one refused while that one is still held at the provider
                await wait_in_flight(sim, 1)
                sim.state.release("priced-model")
    assert len(sim.state.requests()) == 1  # the documented bound: at most one call beyond what the budget allows
    errors = [text_of(o) for o in outcomes if o.is_error]
    assert len(errors) == calls - 1 and all("Budget exceeded" in e and "resets at" in e for e in errors)


async def test_a_budget_refused_item_says_budget_exceeded_with_the_reset_time_not_rate_limited(
    sim: Simulator, tmp_path: Path
) -> None:
    alice, alice_line = new_token_via_cli("alice")
    bob, bob_line = new_token_via_cli("bob")
    ais = {**simulated_ai(sim, "priced-model"), "other": simulated_ai(sim, "priced-model")["ai"]}
    settings = {
        "http_tokens": {"alice": alice_line, "bob": bob_line},
        "prices": PRICED,
        "principals": {"*": {"usd_per_day": 1}},
    }
    config = write_config(tmp_path / "c.json", ais, settings)
    with junior_server(config) as server:
        async with mcp_session(server.url, alice) as client:
            # Room for one call: the two AIs asked at once cannot both have it.
            many = await client.call_tool("ask_many", {"prompt": "both", "ais": ["ai", "other"]})
            over = await client.call_tool("ask_batch", {"template": "{item}", "items": ["x", "y"], "ai": "ai"})
        async with mcp_session(server.url, bob) as client:
            batch = await client.call_tool("ask_batch", {"template": "{item}", "items": ["a", "b", "c"], "ai": "ai"})
            batch_uri = (batch.structured_content or {})["results_uri"]
            items = [json.loads(line) for line in (await read_text(client, batch_uri)).splitlines()]
    results = sorted((many.structured_content or {})["results"], key=lambda r: r["status"])
    assert [r["status"] for r in results] == ["budget_exceeded", "ok"]
    refused = results[0]
    assert "Budget exceeded" in refused["error"] and "resets at" in refused["error"] and refused["retry_after_s"] > 0
    assert "budget_exceeded" in text_of(many)
    assert over.is_error and "Budget exceeded" in text_of(over)  # over budget now: refused before any item
    assert (batch.structured_content or {})["counts"] == {"budget_exceeded": 2, "ok": 1}
    assert "budget_exceeded 2" in text_of(batch)
    assert sorted(i["status"] for i in items) == ["budget_exceeded", "budget_exceeded", "ok"]
    assert all("resets at" in i["error"] for i in items if i["status"] == "budget_exceeded")
    assert len(sim.state.requests()) == 2  # one for alice, one for bob


async def test_a_background_job_is_charged_to_its_principal_and_holds_a_concurrent_call_slot(
    sim: Simulator, tmp_path: Path
) -> None:
    alice, alice_line = new_token_via_cli("alice")
    limits = {"usd_per_day": 1, "max_concurrent_calls": 1}
    settings = {"http_tokens": {"alice": alice_line}, "prices": PRICED, "principals": {"alice": limits}}
    config = write_config(tmp_path / "c.json", simulated_ai(sim, "priced-model"), settings)
    with junior_server(config) as server, held(sim, "priced-model"):
        async with mcp_session(server.url, alice) as client:
            started = await client.call_tool("ask_one", {"ai": "ai", "prompt": "job", "background": True})
            job_id = (started.structured_content or {})["job_id"]
            await wait_in_flight(sim, 1)
            while_running = await client.call_tool("ask_one", {"ai": "ai", "prompt": "beside the job"})
            sim.state.release("priced-model")
            collected = await client.call_tool("collect", {"job_id": job_id, "wait_s": 60})
            usage = await client.call_tool("list_ais", {})
            after = await client.call_tool("ask_one", {"ai": "ai", "prompt": "over budget now"})
    assert while_running.is_error and "Too many calls at once" in text_of(while_running)
    assert not collected.is_error
    mine = usage.structured_content or {}
    assert mine["ais"][0]["calls"] == 1 and mine["ais"][0]["cost_usd"] > 1  # the job's call, charged to alice
    assert after.is_error and "Budget exceeded" in text_of(after)
    assert [r.prompt for r in sim.state.requests()] == ["job"]


async def test_an_mcp_task_is_charged_to_its_principal_and_holds_a_concurrent_call_slot(
    sim: Simulator, tmp_path: Path
) -> None:
    alice, alice_line = new_token_via_cli("alice")
    limits = {"usd_per_day": 1, "max_concurrent_calls": 1}
    settings = {"http_tokens": {"alice": alice_line}, "prices": PRICED, "principals": {"alice": limits}}
    config = write_config(tmp_path / "c.json", simulated_ai(sim, "priced-model"), settings)
    with junior_server(config) as server, held(sim, "priced-model"):
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {alice}"}, timeout=httpx2.Timeout(120.0))
        tasks = Client(streamable_http_client(server.url, http_client=http), extensions=[TasksClient()])
        async with http, tasks as with_tasks, mcp_session(server.url, alice) as plain:
            created = await with_tasks.session.call_tool("ask_one", {"ai": "ai", "prompt": "task"}, allow_claimed=True)
            assert isinstance(created, CreateTaskResult)
            await wait_in_flight(sim, 1)
            while_running = await plain.call_tool("ask_one", {"ai": "ai", "prompt": "beside the task"})
            sim.state.release("priced-model")
            collected = await plain.call_tool("collect", {"job_id": created.task_id, "wait_s": 60})
            usage = await plain.call_tool("list_ais", {})
            after = await plain.call_tool("ask_one", {"ai": "ai", "prompt": "over budget now"})
    assert while_running.is_error and "Too many calls at once" in text_of(while_running)
    assert not collected.is_error
    mine = usage.structured_content or {}
    assert mine["ais"][0]["calls"] == 1 and mine["ais"][0]["cost_usd"] > 1
    assert after.is_error and "Budget exceeded" in text_of(after)


async def live_slots(state: StateStore, principal: str) -> list[tuple[str, float]]:
    """The slot leases Redis holds for `principal` (member, lease end in ms), expired ones left out."""
    now_ms = await state.now() * 1000
    return [(m, until) for m, until in await state.index_members(f"slots:{principal}") if until > now_ms]


async def test_a_slot_held_by_a_killed_replica_frees_when_its_lease_runs_out_and_refusals_extend_nothing(
    sim: Simulator, tmp_path: Path
) -> None:
    lease_s = 5.0
    alice, alice_line = new_token_via_cli("alice")
    settings = {
        "http_tokens": {"alice": alice_line},
        "principals": {"alice": {"max_concurrent_calls": 1}},
        "call_lease_s": lease_s,
    }
    with redis_server(tmp_path) as redis, held(sim, "slow-model"):
        config = write_config(
            tmp_path / "c.json", {**simulated_ai(sim, "slow-model")}, {**settings, "state_url": redis.url}
        )
        async with shared_state(redis.url) as state:
            with junior_server(config) as survivor, junior_server(config) as doomed:
                async with anyio.create_task_group() as tg:

                    async def call_on_doomed() -> None:
                        try:
                            async with mcp_session(doomed.url, alice) as client:
                                await client.call_tool("ask_one", {"ai": "ai", "prompt": "dies mid-call"})
                        except Exception:  # the server is killed under it: no answer is expected
                            pass

                    tg.start_soon(call_on_doomed)
                    await wait_in_flight(sim, 1)
                    doomed.process.send_signal(signal.SIGKILL)
                    await anyio.to_thread.run_sync(doomed.process.wait)
                    tg.cancel_scope.cancel()  # its connection is gone with the process
                before = await live_slots(state, "alice")
                async with mcp_session(survivor.url, alice) as client:
                    refused = [await client.call_tool("ask_one", {"ai": "ai", "prompt": "retry"}) for _ in range(3)]
                    assert await live_slots(state, "alice") == before  # refusals extended no lease
                    # Wait for the dead call's lease to end on Redis's clock (bounded: the lease is 5 s).
                    for _ in range(20):
                        left = max(until for _, until in before) / 1000 - await state.now()
                        if left < 0:
                            break
                        await anyio.sleep(left + 0.05)
                    sim.state.release("slow-model")
                    again = await client.call_tool("ask_one", {"ai": "ai", "prompt": "after the lease"})
                left_over = await live_slots(state, "alice")
    assert len(before) == 1 and before[0][1] > 0
    assert all(r.is_error and "Too many calls at once" in text_of(r) for r in refused)
    assert not again.is_error and left_over == []


@pytest.mark.parametrize("with_redis", [False, True], ids=["in-process", "redis"])
async def test_sigterm_lets_two_streamed_calls_in_flight_finish_exits_0_and_gives_their_slots_back(
    sim: Simulator, tmp_path: Path, with_redis: bool
) -> None:
    """The attack's case: two calls answered over SSE event streams (the SDK's default for a tool call) are in
    flight when SIGTERM arrives; both answers reach the client, nothing is cut or cancelled, and exit is 0. (How
    soon sse_starlette would have cut them depends on its half-second poll: the next test pins that down.)"""
    alice, alice_line = new_token_via_cli("alice")
    settings: dict[str, Any] = {
        "http_tokens": {"alice": alice_line},
        "principals": {"alice": {"max_concurrent_calls": 2}},
    }
    answers: dict[int, Any] = {}
    with ExitStack() as stack:
        redis = stack.enter_context(redis_server(tmp_path)) if with_redis else None
        if redis is not None:
            settings["state_url"] = redis.url
        config = write_config(tmp_path / "c.json", simulated_ai(sim, "slow-model"), settings)
        stack.enter_context(held(sim, "slow-model"))
        with junior_server(config) as server:
            async with mcp_session(server.url, alice) as client, anyio.create_task_group() as tg:

                async def call(n: int) -> None:
                    answers[n] = await client.call_tool("ask_one", {"ai": "ai", "prompt": f"finish me {n}"})

                await client.list_tools()  # the client checks results against the tools' schemas: read them now
                tg.start_soon(call, 1)
                tg.start_soon(call, 2)
                await wait_in_flight(sim, 2)
                server.process.send_signal(signal.SIGTERM)
                draining = await anyio.to_thread.run_sync(server.wait_for_line, '"http_draining"')
                sim.state.release("slow-model")  # the answers arrive after the signal
            code = await anyio.to_thread.run_sync(server.process.wait)
        if redis is not None:
            async with shared_state(redis.url) as state:
                assert await live_slots(state, "alice") == []
    assert '"requests_in_flight": 2' in draining
    for n in (1, 2):
        assert not answers[n].is_error, text_of(answers[n])
        assert (answers[n].structured_content or {})["status"] == "ok"
    assert code == 0
    log = "\n".join(server.lines)
    assert "Traceback" not in log and "connection_lost" not in log and "cancelled" not in log


async def test_sigterm_lets_a_background_job_finish_before_the_server_exits(sim: Simulator, tmp_path: Path) -> None:
    """The lifespan's exit cancels the jobs still running: the drain waits for them first (within the grace)."""
    alice, alice_line = new_token_via_cli("alice")
    config = write_config(tmp_path / "c.json", simulated_ai(sim, "slow-model"), {"http_tokens": {"alice": alice_line}})
    with held(sim, "slow-model"), junior_server(config) as server:
        async with mcp_session(server.url, alice) as client:
            started = await client.call_tool("ask_one", {"ai": "ai", "prompt": "later", "background": True})
            await wait_in_flight(sim, 1)
        server.process.send_signal(signal.SIGTERM)
        waiting = await anyio.to_thread.run_sync(server.wait_for_line, '"http_draining_jobs"')
        sim.state.release("slow-model")
        code = await anyio.to_thread.run_sync(server.process.wait)
    assert (started.structured_content or {}).get("job_id"), text_of(started)
    assert '"jobs": 1' in waiting
    finished = [line for line in server.lines if '"job_finished"' in line]
    assert len(finished) == 1 and '"status": "completed"' in finished[0], finished
    assert code == 0


async def test_a_second_sigterm_cuts_the_drain_and_still_closes_every_client(sim: Simulator, tmp_path: Path) -> None:
    alice, alice_line = new_token_via_cli("alice")
    settings = {"http_tokens": {"alice": alice_line}, "shutdown_grace_s": 3_600}  # only the second signal ends it
    config = write_config(tmp_path / "c.json", simulated_ai(sim, "slow-model"), settings)
    answer: dict[str, Any] = {}
    with held(sim, "slow-model"), junior_server(config) as server:
        async with mcp_session(server.url, alice) as client, anyio.create_task_group() as tg:

            async def call() -> None:
                try:
                    answer["result"] = await client.call_tool("ask_one", {"ai": "ai", "prompt": "never answered"})
                except Exception as error:  # the stream is cut: what the client sees is up to the SDK
                    answer["error"] = error

            await client.list_tools()
            tg.start_soon(call)
            await wait_in_flight(sim, 1)
            server.process.send_signal(signal.SIGTERM)
            await anyio.to_thread.run_sync(server.wait_for_line, '"http_draining"')
            server.process.send_signal(signal.SIGTERM)
            with anyio.fail_after(120):  # the hour of grace is not waited for
                code = await anyio.to_thread.run_sync(server.process.wait)
    assert code == 0
    assert "result" not in answer or answer["result"].is_error
    assert any('"ai_clients_closed"' in line for line in server.lines)  # the lifespan still ran
    # (The cut request is cancelled by uvicorn, which logs the CancelledError with its traceback: not ours.)


def test_a_signal_leaves_sse_event_streams_open_for_the_drain() -> None:
    """sse_starlette hooks uvicorn's exit and closes every event stream (each a tool call's answer) as soon as its
    watcher sees the signal. The server's own signal handling keeps both of its triggers off until the drain ends:
    its flag, and its fallback that reads uvicorn's `should_exit`."""
    requests = _RequestsInFlight(Starlette())
    server = _CleanExitServer(uvicorn.Config(requests, lifespan="off"), requests, None)
    try:
        server.handle_exit(signal.SIGTERM, None)
        assert server.should_exit and not server.force_exit and not server.cut_short
        assert AppStatus.should_exit is False
        assert AppStatus.enable_automatic_graceful_drain is False
        server.handle_exit(signal.SIGTERM, None)  # a second signal cuts what is left
        assert server.cut_short and AppStatus.should_exit is False
    finally:
        AppStatus.should_exit = False
        AppStatus.enable_automatic_graceful_drain = True
