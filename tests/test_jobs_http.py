"""Jobs over real Streamable HTTP: they live at server level, so a host that disconnects and comes back (a new
session) still collects them; `junior-ai collect` attaches to one from the terminal."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest
import uvicorn
from mcp.client.client import Client
from mcp_types import CallToolResult, TextResourceContents

from junior_ai.ai.simulator import Simulator
from junior_ai.ai.simulator.scenario import echo_reply
from junior_ai.ai.simulator.server import bind_loopback
from junior_ai.core.config import JuniorConfig
from junior_ai.server.app import build_server
from junior_ai.server.collect_cli import run_collect
from junior_ai.server.task_client import TasksClient
from tests.conftest import config_of, openai_ai
from tests.test_jobs import SLOW, wait_in_thread
from tests.test_server_tools import text_of


@asynccontextmanager
async def http_server(config: JuniorConfig) -> AsyncIterator[str]:
    """The real server behind uvicorn on a loopback port, for the duration of the block; yields its MCP URL."""
    sock = bind_loopback()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(build_server(config).streamable_http_app(), log_level="warning"))
    async with anyio.create_task_group() as tg:
        # The socket listens already: a client connecting before uvicorn has started waits in its backlog.
        tg.start_soon(lambda: server.serve(sockets=[sock]))
        try:
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            server.should_exit = True


async def test_a_job_started_in_one_session_is_collected_from_another(sim: Simulator) -> None:
    sim.state.hold(SLOW)
    config = config_of(openai_ai(sim, "slow", SLOW))
    with anyio.fail_after(60):
        async with http_server(config) as url:
            async with Client(url) as first:
                started = await first.call_tool("ask_one", {"ai": "slow", "prompt": "later", "deadline_s": 0.5})
            job_id = (started.structured_content or {})["job_id"]
            await wait_in_thread(sim, lambda s: len(s.requests(SLOW)) == 1)
            sim.state.release(SLOW)
            async with Client(url) as second:  # the host reconnected: a new session
                done = await second.call_tool("collect", {"job_id": job_id, "wait_s": 20})
    assert not done.is_error, text_of(done)
    assert (done.structured_content or {})["text"] == echo_reply(SLOW, "later")
    assert len(sim.state.requests(SLOW)) == 1


async def test_the_collect_command_shows_progress_then_prints_the_result(
    sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.state.hold(SLOW)
    config = config_of(openai_ai(sim, "slow", SLOW))
    with anyio.fail_after(60):
        async with http_server(config) as url:
            async with Client(url) as client:
                started = await client.call_tool("ask_one", {"ai": "slow", "prompt": "cli", "background": True})
            job_id = (started.structured_content or {})["job_id"]
            async with anyio.create_task_group() as tg:
                codes: list[int] = []

                async def attach() -> None:
                    codes.append(await run_collect(url, job_id, wait_s=0.2, cancel=False))

                tg.start_soon(attach)
                err = ""
                while f"job {job_id}: running" not in err:  # a progress line came: the command is attached
                    # A poll interval while reading captured output (no timing is asserted).
                    await anyio.sleep(0.01)
                    err += capsys.readouterr().err
                sim.state.release(SLOW)
            unknown = await run_collect(url, "job_nope", wait_s=0, cancel=False)
    out, err = capsys.readouterr()
    assert codes == [0] and echo_reply(SLOW, "cli") in out
    assert unknown == 1 and "no job 'job_nope'" in err


async def test_a_tasks_client_over_http_gets_the_result_through_its_task(sim: Simulator) -> None:
    sim.state.hold(SLOW)
    config = config_of(openai_ai(sim, "slow", SLOW), job_poll_after_s=0.05)
    results: list[CallToolResult] = []
    with anyio.fail_after(60):
        async with (
            http_server(config) as url,
            Client(url, extensions=[TasksClient()]) as client,
            anyio.create_task_group() as tg,
        ):

            async def call() -> None:
                results.append(await client.call_tool("ask_one", {"ai": "slow", "prompt": "over http"}))

            tg.start_soon(call)
            await wait_in_thread(sim, lambda s: len(s.requests(SLOW)) == 1)
            sim.state.release(SLOW)
    (result,) = results
    assert not result.is_error, text_of(result)
    assert (result.structured_content or {})["text"] == echo_reply(SLOW, "over http")


async def test_the_collect_command_against_no_server_says_what_to_check(capsys: pytest.CaptureFixture[str]) -> None:
    sock = bind_loopback()
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    code = await run_collect(f"http://127.0.0.1:{port}/mcp", "job_x", wait_s=0, cancel=False)
    err = capsys.readouterr().err
    assert code == 2 and "cannot talk to" in err and "--url" in err and "Traceback" not in err


LOST_CLIENT = """
import sys, anyio
from mcp.client.client import Client

async def main() -> None:
    async with Client(sys.argv[1]) as client:
        await client.call_tool("ask_one", {"ai": "slow", "prompt": "lost", "deadline_s": 60})

anyio.run(main)
"""


async def test_a_host_whose_connection_dies_mid_call_can_collect_the_job_after_reconnecting(sim: Simulator) -> None:
    sim.state.hold(SLOW)
    config = config_of(openai_ai(sim, "slow", SLOW))
    with anyio.fail_after(60):
        async with http_server(config) as url:
            host = await anyio.open_process([sys.executable, "-c", LOST_CLIENT, url])
            await wait_in_thread(sim, lambda s: len(s.requests(SLOW)) == 1)
            host.kill()  # SIGKILL: no cancel notification, the connection just dies
            await host.wait()
            async with Client(url) as second:  # the host is back: a new session
                job = None
                while job is None or not job["detached"]:  # until the server has noticed the lost connection
                    listed = await second.read_resource("junior://jobs")
                    (content,) = listed.contents
                    assert isinstance(content, TextResourceContents)
                    jobs = json.loads(content.text)["jobs"]
                    assert jobs, "the job was dropped with the connection"
                    (job,) = jobs
                    assert job["status"] == "running", job
                sim.state.release(SLOW)
                done = await second.call_tool("collect", {"job_id": job["job_id"], "wait_s": 20})
    assert not done.is_error, text_of(done)
    assert (done.structured_content or {})["text"] == echo_reply(SLOW, "lost")
    assert [r.outcome for r in sim.state.requests(SLOW)] != ["disconnected"] and len(sim.state.requests(SLOW)) == 1


async def test_over_http_a_cancel_notification_still_cancels_the_job(sim: Simulator) -> None:
    sim.state.hold(SLOW)
    config = config_of(openai_ai(sim, "slow", SLOW, timeout_s=600))  # only the cancel can close the request
    with anyio.fail_after(60):
        # The 2025 session protocol, where `notifications/cancelled` is the cancel (a disconnect is not).
        async with http_server(config) as url, Client(url, mode="legacy") as client:
            async with anyio.create_task_group() as tg:
                tg.start_soon(client.call_tool, "ask_one", {"ai": "slow", "prompt": "x", "deadline_s": 60})
                await wait_in_thread(sim, lambda s: len(s.requests(SLOW)) == 1)
                tg.cancel_scope.cancel()
            await wait_in_thread(sim, lambda s: s.requests(SLOW)[0].outcome == "disconnected")
            listed = await client.read_resource("junior://jobs")
        sim.state.release(SLOW)
    (content,) = listed.contents
    assert isinstance(content, TextResourceContents) and json.loads(content.text) == {"jobs": []}
