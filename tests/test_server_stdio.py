"""The real `junior-ai serve` process over stdio: protocol-only stdout, logs on stderr, clean exits."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream

from junior_ai.ai.simulator import Scenario, Simulator
from tests.conftest import GEMINI_KEY, OPENAI_KEY

ROOT = Path(__file__).resolve().parents[1]


def write_credentials(sim: Simulator, path: Path) -> Path:
    path.write_text(
        json.dumps(
            {
                "oai": {
                    "provider": "openai_compatible",
                    "model": "stdio-oai",
                    "api_key": OPENAI_KEY,
                    "base_url": sim.openai_base_url,
                },
                "gem": {
                    "provider": "gemini",
                    "model": "stdio-gem",
                    "api_key": GEMINI_KEY,
                    "base_url": sim.gemini_base_url,
                },
            }
        ),
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


class RawSession:
    """Speaks JSON-RPC to the server by hand, so every byte it writes to stdout can be checked."""

    def __init__(self, process: Process) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self.stdin = process.stdin
        self.reader = BufferedByteReceiveStream(process.stdout)
        self.lines: list[dict[str, Any]] = []
        self._next_id = 0

    async def send(self, message: dict[str, Any]) -> None:
        await self.stdin.send((json.dumps(message) + "\n").encode())

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self._next_id += 1
        request_id = self._next_id
        await self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}})
        while True:
            line = await self.reader.receive_until(b"\n", 10_000_000)
            message = json.loads(line)  # a line that is not JSON fails the test here
            assert message.get("jsonrpc") == "2.0", message
            self.lines.append(message)
            if message.get("id") == request_id:
                return message


async def start_server(credentials: Path, log_level: str = "INFO") -> Process:
    env = {**os.environ, "JUNIOR_AI_LOG_LEVEL": log_level, "PYTHONUNBUFFERED": "1"}
    for variable in ("OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "JUNIOR_AI_CREDENTIALS"):
        env.pop(variable, None)
    return await anyio.open_process(
        [sys.executable, "-m", "junior_ai", "--credentials", str(credentials), "serve"],
        env=env,
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )


async def initialize(session: RawSession) -> None:
    reply = await session.request(
        "initialize",
        {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "raw-test", "version": "0"},
        },
    )
    assert reply["result"]["serverInfo"]["name"] == "junior-ai"
    await session.send({"jsonrpc": "2.0", "method": "notifications/initialized"})


async def read_all(stream: Any) -> bytes:
    chunks = []
    async for chunk in stream:
        chunks.append(chunk)
    return b"".join(chunks)


async def test_stdout_carries_only_json_rpc_and_stdin_eof_exits_cleanly(sim: Simulator, tmp_path: Path) -> None:
    sim.set_scenario("stdio-gem", Scenario(latency_s=0.1))
    process = await start_server(write_credentials(sim, tmp_path / "credentials.json"))
    async with process:
        session = RawSession(process)
        with anyio.fail_after(120):
            await initialize(session)
            tools = await session.request("tools/list")
            assert {t["name"] for t in tools["result"]["tools"]} == {
                "ask_one",
                "ask_many",
                "consensus",
                "debate",
                "ask_batch",
                "list_ais",
                "collect",
            }
            reply = await session.request(
                "tools/call", {"name": "ask_many", "arguments": {"prompt": "over stdio"}, "_meta": {"progressToken": 7}}
            )
        structured = reply["result"]["structuredContent"]
        assert [r["status"] for r in structured["results"]] == ["ok", "ok"]
        progress = [m["params"] for m in session.lines if m.get("method") == "notifications/progress"]
        values = [p["progress"] for p in progress]
        assert values == sorted(set(values)) and values[-1] == 2  # strictly increasing, ends at total
        finished = [p for p in progress if re.match(r"^\w+: ok \(", p["message"])]
        assert [(int(p["progress"]), p["total"]) for p in finished] == [(1, 2), (2, 2)]

        await process.stdin.aclose()  # type: ignore[union-attr]
        with anyio.fail_after(2):
            code = await process.wait()
        rest = await read_all(process.stdout)
        stderr = (await read_all(process.stderr)).decode()
    assert code == 0
    assert rest.strip() == b""  # nothing but protocol messages, and nothing after them
    events = [json.loads(line)["event"] for line in stderr.splitlines() if line.startswith("{")]
    assert "ai_clients_ready" in events and "ai_clients_closed" in events
    assert OPENAI_KEY not in stderr and GEMINI_KEY not in stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_signal_closes_every_client_and_exits_within_two_seconds(
    sim: Simulator, tmp_path: Path, signum: signal.Signals
) -> None:
    process = await start_server(write_credentials(sim, tmp_path / "credentials.json"))
    async with process:
        session = RawSession(process)
        with anyio.fail_after(120):
            await initialize(session)
        process.send_signal(signum)
        with anyio.fail_after(2):
            code = await process.wait()
        stderr = (await read_all(process.stderr)).decode()
    assert code == 0
    assert "ai_clients_closed" in stderr


async def test_a_job_still_running_at_shutdown_is_cancelled_and_its_request_closed(
    sim: Simulator, tmp_path: Path
) -> None:
    sim.state.hold("stdio-oai")
    process = await start_server(write_credentials(sim, tmp_path / "credentials.json"))
    async with process:
        session = RawSession(process)
        with anyio.fail_after(120):
            await initialize(session)
            reply = await session.request(
                "tools/call", {"name": "ask_one", "arguments": {"ai": "oai", "prompt": "long", "background": True}}
            )
            assert reply["result"]["structuredContent"]["job_id"]
            assert await anyio.to_thread.run_sync(sim.state.wait_for, lambda s: len(s.requests("stdio-oai")) == 1)
        await process.stdin.aclose()  # type: ignore[union-attr]
        with anyio.fail_after(10):
            code = await process.wait()
    assert code == 0
    assert await anyio.to_thread.run_sync(
        sim.state.wait_for, lambda s: s.requests("stdio-oai")[0].outcome == "disconnected"
    )


async def test_junior_ai_console_script_is_installed() -> None:
    result = await anyio.run_process([str(Path(sys.executable).parent / "junior-ai"), "--version"])
    assert result.stdout.decode().startswith("junior-ai ")
