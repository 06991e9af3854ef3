"""Benchmark plumbing: a simulator in its own process, stdio MCP sessions to real server processes, statistics.

The simulator runs in a separate process so its work does not share a GIL with the code being measured.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

ROOT = Path(__file__).resolve().parents[1]
FAKE_KEY = "sk-bench-not-a-real-key-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def simulator_process(scenarios: dict[str, dict[str, Any]]) -> Iterator[int]:
    """`python -m junior_ai.ai.simulator` on a free port with `scenarios`; yields the port."""
    port = free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(scenarios, handle)
    process = subprocess.Popen(
        [sys.executable, "-m", "junior_ai.ai.simulator", "--port", str(port), "--config", handle.name],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.02)
        else:
            raise RuntimeError("the simulator did not start")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        os.unlink(handle.name)


def credentials(
    port: int, ais: dict[str, tuple[str, str]], settings: dict[str, Any] | None = None, **extra: Any
) -> Path:
    """A credentials file: name → (provider, model), all pointing at the simulator on `port`."""
    entries: dict[str, Any] = {"settings": settings} if settings else {}
    for name, (provider, model) in ais.items():
        base = f"http://127.0.0.1:{port}" + ("/v1" if provider == "openai_compatible" else "")
        entries[name] = {"provider": provider, "model": model, "api_key": FAKE_KEY, "base_url": base, **extra}
    handle = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)  # noqa: SIM115 - removed by the caller's process end
    json.dump(entries, handle)
    handle.close()
    os.chmod(handle.name, 0o600)
    return Path(handle.name)


def server_params(command: list[str]) -> StdioServerParameters:
    env = {**os.environ, "JUNIOR_AI_LOG_LEVEL": "ERROR"}
    return StdioServerParameters(command=command[0], args=command[1:], env=env, cwd=str(ROOT))


def junior_command(credentials_path: Path) -> list[str]:
    return [sys.executable, "-m", "junior_ai", "--credentials", str(credentials_path), "serve"]


def echo_command() -> list[str]:
    return [sys.executable, str(ROOT / "benchmarks" / "echo_server.py")]


@asynccontextmanager
async def session(command: list[str]) -> AsyncIterator[Client]:
    async with Client(server_params(command), read_timeout_seconds=300) as client:
        yield client


def child_pids() -> list[int]:
    pids: list[int] = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        children = (task / "children").read_text().split()
        pids.extend(int(pid) for pid in children)
    return pids


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values)
