"""MCP Tasks (the `io.modelcontextprotocol/tasks` extension): a client that declares it gets long tools as tasks,
over the same jobs as `collect`."""

from __future__ import annotations

import anyio
import pytest
from mcp.client.client import Client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult

from junior_ai.ai.simulator import Simulator
from junior_ai.ai.simulator.scenario import echo_reply
from junior_ai.server.app import build_server
from junior_ai.server.task_client import TasksClient, cancel_task, get_task
from junior_ai.server.task_wire import TASKS_EXTENSION, CreateTaskResult
from tests.conftest import config_of, openai_ai
from tests.test_jobs import SLOW, wait_in_thread
from tests.test_server_tools import text_of


async def test_the_server_advertises_the_tasks_extension(sim: Simulator) -> None:
    async with Client(build_server(config_of(openai_ai(sim, "a", "m")))) as client:
        capabilities = client.server_capabilities
    assert capabilities is not None and capabilities.extensions is not None
    assert TASKS_EXTENSION in capabilities.extensions


async def test_a_client_speaking_tasks_gets_the_tools_result_through_its_task(sim: Simulator) -> None:
    config = config_of(openai_ai(sim, "slow", SLOW), job_poll_after_s=0.05)
    sim.state.hold(SLOW)
    with anyio.fail_after(30):
        results: list[CallToolResult] = []
        async with Client(build_server(config), extensions=[TasksClient()]) as client, anyio.create_task_group() as tg:

            async def call() -> None:
                results.append(await client.call_tool("ask_one", {"ai": "slow", "prompt": "deep"}))

            tg.start_soon(call)
            await wait_in_thread(sim, lambda s: len(s.requests(SLOW)) == 1)
            jobs = await client.read_resource("junior://jobs")
            sim.state.release(SLOW)
    (result,) = results
    assert not result.is_error, text_of(result)
    assert (result.structured_content or {})["text"] == echo_reply(SLOW, "deep")
    assert '"tool": "ask_one"' in str(jobs.contents[0])  # the task is a job like any other
    assert len(sim.state.requests(SLOW)) == 1


async def test_tasks_get_reports_working_and_tasks_cancel_closes_the_request(sim: Simulator) -> None:
    config = config_of(openai_ai(sim, "slow", SLOW))
    sim.state.hold(SLOW)
    with anyio.fail_after(30):
        async with Client(build_server(config), extensions=[TasksClient()]) as client:
            created = await client.session.call_tool("ask_one", {"ai": "slow", "prompt": "x"}, allow_claimed=True)
            assert isinstance(created, CreateTaskResult) and created.status == "working"
            task_id = created.task_id
            working = await get_task(client.session, task_id)
            await wait_in_thread(sim, lambda s: len(s.requests(SLOW)) == 1)
            await cancel_task(client.session, task_id)
            await wait_in_thread(sim, lambda s: s.requests(SLOW)[0].outcome == "disconnected")
            cancelled = await get_task(client.session, task_id)
    assert working.status == "working" and working.poll_interval_ms and working.ttl_ms
    assert cancelled.status == "cancelled" and cancelled.result is None


async def test_a_client_without_the_extension_gets_a_plain_result(sim: Simulator) -> None:
    async with Client(build_server(config_of(openai_ai(sim, "a", "quick")))) as client:
        result = await client.call_tool("ask_one", {"ai": "a", "prompt": "hi"})
    assert (result.structured_content or {})["status"] == "ok"


async def test_an_unknown_task_id_is_a_clear_protocol_error(sim: Simulator) -> None:
    async with Client(build_server(config_of(openai_ai(sim, "a", "quick"))), extensions=[TasksClient()]) as client:
        with pytest.raises(MCPError, match="no job 'job_nope'"):
            await get_task(client.session, "job_nope")


async def test_concurrent_task_calls_are_never_refused_for_the_background_job_limit(sim: Simulator) -> None:
    config = config_of(openai_ai(sim, "slow", SLOW), max_jobs_per_principal=1)
    sim.state.hold(SLOW)
    with anyio.fail_after(30):
        async with Client(build_server(config), extensions=[TasksClient()]) as client:
            created = [
                await client.session.call_tool("ask_one", {"ai": "slow", "prompt": f"p{i}"}, allow_claimed=True)
                for i in range(3)
            ]
            await wait_in_thread(sim, lambda s: len(s.requests(SLOW)) == 3)
            sim.state.release(SLOW)
    # three tasks with a limit of one background job: tasks are calls the host waits on, none is refused
    assert all(isinstance(task, CreateTaskResult) and task.status == "working" for task in created), created
