"""The real server process under abuse: cancellation, garbage on stdin, and 1,000 concurrent calls."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from junior_ai.ai.simulator import Scenario, Simulator
from tests.conftest import GEMINI_KEY, OPENAI_KEY
from tests.test_server_stdio import ROOT, RawSession, initialize, start_server, write_credentials


async def read_until(session: RawSession, request_id: int) -> list[dict[str, Any]]:
    seen = []
    while True:
        line = await session.reader.receive_until(b"\n", 10_000_000)
        message = json.loads(line)
        seen.append(message)
        if message.get("id") == request_id:
            return seen


async def test_cancelled_call_closes_provider_requests_and_gets_no_late_response(
    sim: Simulator, tmp_path: Path
) -> None:
    sim.set_scenario("stdio-oai", Scenario(latency_s=60))
    sim.set_scenario("stdio-gem", Scenario(latency_s=60))
    process = await start_server(write_credentials(sim, tmp_path / "credentials.json"))
    async with process:
        session = RawSession(process)
        with anyio.fail_after(120):
            await initialize(session)
            await session.send(
                {
                    "jsonrpc": "2.0",
                    "id": 41,
                    "method": "tools/call",
                    "params": {"name": "ask_many", "arguments": {"prompt": "slow"}},
                }
            )
            assert await anyio.to_thread.run_sync(lambda: sim.state.wait_for(lambda s: s.in_flight == 2, 120))
            await session.send(
                {
                    "jsonrpc": "2.0",
                    "method": "notifications/cancelled",
                    "params": {"requestId": 41, "reason": "user pressed stop"},
                }
            )
            closed = await anyio.to_thread.run_sync(
                lambda: sim.state.wait_for(
                    lambda s: s.in_flight == 0 and all(r.outcome == "disconnected" for r in s.requests()), 60
                )
            )
            assert closed
            sim.set_scenario("stdio-oai", Scenario())
            await session.send(
                {
                    "jsonrpc": "2.0",
                    "id": 42,
                    "method": "tools/call",
                    "params": {"name": "ask_one", "arguments": {"ai": "oai", "prompt": "after"}},
                }
            )
            seen = await read_until(session, 42)
        assert all(message.get("id") != 41 for message in seen)  # no late response for the cancelled call
        assert "isError" not in seen[-1]["result"] or seen[-1]["result"]["isError"] is False
        await process.stdin.aclose()  # type: ignore[union-attr]
        with anyio.fail_after(5):
            assert await process.wait() == 0


async def test_garbage_on_stdin_gets_protocol_errors_and_the_server_keeps_serving(
    sim: Simulator, tmp_path: Path
) -> None:
    process = await start_server(write_credentials(sim, tmp_path / "credentials.json"))
    async with process:
        session = RawSession(process)
        with anyio.fail_after(60):
            await initialize(session)
            await session.stdin.send(b"this is not json at all\n")
            await session.stdin.send(b'{"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": \n')
            await session.stdin.send(b"\xff\xfe\x00 binary junk\n")
            unknown = await session.request("no/such/method")
            assert unknown["error"]["code"] == -32601
            huge = "x" * 3_000_000
            oversize = await session.request(
                "tools/call", {"name": "ask_one", "arguments": {"ai": "oai", "prompt": huge}}
            )
            assert oversize["result"]["isError"] is True
            assert "limit is 500,000" in oversize["result"]["content"][0]["text"]
            bad_params = await session.request("tools/call", {"name": 42})
            assert "error" in bad_params or bad_params["result"]["isError"]
            works = await session.request(
                "tools/call", {"name": "ask_one", "arguments": {"ai": "gem", "prompt": "still ok?"}}
            )
        assert works["result"]["structuredContent"]["status"] == "ok"
        for line in session.lines:  # every reply, error or not, was a well-formed JSON-RPC message
            assert line["jsonrpc"] == "2.0" and ("result" in line or "error" in line or "method" in line)
        await process.stdin.aclose()  # type: ignore[union-attr]
        with anyio.fail_after(5):
            assert await process.wait() == 0


def child_rss_mb(parent: int) -> dict[int, float]:
    sizes: dict[int, float] = {}
    for task in Path(f"/proc/{parent}/task").iterdir():
        for pid in (task / "children").read_text().split():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    sizes[int(pid)] = int(line.split()[1]) / 1024
    return sizes


@pytest.mark.slow
async def test_a_thousand_concurrent_calls_over_one_session(
    sim: Simulator, tmp_path: Path, record_property: Any
) -> None:
    sim.set_scenario("load-model", Scenario(latency_s=0.05))
    credentials = tmp_path / "credentials.json"
    credentials.write_text(
        json.dumps(
            {
                "load": {
                    "provider": "openai_compatible",
                    "model": "load-model",
                    "api_key": OPENAI_KEY,
                    "base_url": sim.openai_base_url,
                    "max_concurrency": 40,
                    "timeout_s": 120,
                },
                "gem": {"provider": "gemini", "model": "idle", "api_key": GEMINI_KEY, "base_url": sim.gemini_base_url},
            }
        )
    )
    credentials.chmod(0o600)
    env = {**os.environ, "JUNIOR_AI_LOG_LEVEL": "INFO"}
    params = StdioServerParameters(
        command=sys.executable,
        env=env,
        cwd=str(ROOT),
        args=["-m", "junior_ai", "--credentials", str(credentials), "serve"],
    )
    answers: dict[int, str] = {}
    errors: list[str] = []
    with tempfile.TemporaryFile("w+") as stderr:
        async with Client(stdio_client(params, errlog=stderr), read_timeout_seconds=120) as client:

            async def one(index: int) -> None:
                result = await client.call_tool("ask_one", {"ai": "load", "prompt": f"request number {index}"})
                if result.is_error:
                    errors.append(str(result.content))
                else:
                    answers[index] = (result.structured_content or {})["text"]

            with anyio.fail_after(120):
                async with anyio.create_task_group() as tg:
                    for index in range(1000):
                        tg.start_soon(one, index)
            rss = max(child_rss_mb(os.getpid()).values())
        stderr.seek(0)
        logs = stderr.read()
    record_property("server_peak_rss_mb", round(rss, 1))
    assert errors == []
    assert len(answers) == 1000
    for index, text in answers.items():  # each response matches its own request
        assert text.endswith(f"request number {index}"), (index, text)
    assert sim.state.max_in_flight <= 40 and len(sim.state.requests("load-model")) == 1000
    assert OPENAI_KEY not in logs and GEMINI_KEY not in logs
    assert OPENAI_KEY not in json.dumps(answers)
