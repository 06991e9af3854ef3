"""HTTP deployment benchmarks: `--only replicas` (Redis-shared replicas vs one plain replica) and `--only sessions`
(a flood of abandoned sessions). Real `junior-ai serve --transport streamable-http` processes, a real
`redis-server`, the provider simulator in its own process."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import redis.asyncio as aioredis
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client

from benchmarks.harness import ROOT, credentials, median, peak_rss_mb

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "b", "version": "1"}},
}


@contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    sock = directory / "redis.sock"
    process = subprocess.Popen(
        [binary, "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no", "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if sock.exists():
                with socket.socket(socket.AF_UNIX) as probe:
                    if probe.connect_ex(str(sock)) == 0:
                        break
            time.sleep(0.02)
        else:
            raise RuntimeError("redis-server did not start")
        yield f"unix://{sock}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def http_server(config: Path, log: Path) -> Iterator[tuple[int, int]]:
    """`junior-ai serve --transport streamable-http --port 0`; yields (port, pid)."""
    env = {**os.environ, "JUNIOR_AI_LOG_LEVEL": "INFO"}
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "junior_ai", "--credentials", str(config), "serve", "--transport",
             "streamable-http", "--port", "0"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=out,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        port = 0
        while not port and time.monotonic() < deadline:
            for line in log.read_text().splitlines():
                if '"http_serving"' in line:
                    port = int(json.loads(line)["port"])
            time.sleep(0.05)
        if not port:
            raise RuntimeError("junior-ai serve did not start: " + log.read_text()[-2000:])
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


@asynccontextmanager
async def http_session(port: int) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(timeout=httpx2.Timeout(300.0), limits=httpx2.Limits(max_connections=200)) as http,
        Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)) as client,
    ):
        yield client


async def p50_ask_one(plain: int, one: int, two: tuple[int, int], calls: int) -> tuple[float, float, float]:
    """Median ask_one latency over HTTP for (one plain replica, one Redis replica, two Redis replicas taking turns).
    The three are measured interleaved, call by call, so a machine busy with other work slows all three alike, and
    the order within each round rotates, so none of them is always the one that runs right after another."""
    async with (
        http_session(plain) as on_plain,
        http_session(one) as on_one,
        http_session(two[0]) as on_first,
        http_session(two[1]) as on_second,
    ):
        for _ in range(10):  # connections, scripts and lazily built clients ready on every replica
            for client in (on_plain, on_one, on_first, on_second):
                await client.call_tool("ask_one", {"ai": "ai", "prompt": "warm up"})
        timings: dict[str, list[float]] = {"plain": [], "one": [], "two": []}
        for n in range(calls):
            variants = [("plain", on_plain), ("one", on_one), ("two", (on_first, on_second)[n % 2])]
            for label, client in variants[n % 3 :] + variants[: n % 3]:
                started = time.perf_counter()
                result = await client.call_tool("ask_one", {"ai": "ai", "prompt": f"p{n}"})
                timings[label].append(time.perf_counter() - started)
                assert not result.is_error, result
    return median(timings["plain"]), median(timings["one"]), median(timings["two"])


async def redis_round_trips(url: str, port: int) -> list[str]:
    """The Redis commands one ask_one (no thread_id) sends, one per round trip (the commands a Lua script runs
    inside one EVALSHA are left out), read from Redis's MONITOR stream around one call."""
    stop = "junior-ai-bench:end-of-call"
    watcher = aioredis.Redis.from_url(url, decode_responses=True)
    stopper = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        await stopper.ping()
        async with http_session(port) as client, watcher.monitor() as monitor:
            await client.call_tool("ask_one", {"ai": "ai", "prompt": "count"})
            await stopper.get(stop)
            commands = []
            while (seen := await monitor.next_command())["command"] != f"GET {stop}":
                if seen["client_type"] != "lua":
                    commands.append(str(seen["command"]).split()[0])
    finally:
        await watcher.aclose()
        await stopper.aclose()
    return commands


async def concurrent_calls(ports: list[int], total: int, sessions_per_replica: int) -> tuple[int, int, float]:
    """`total` concurrent ask_one calls over the replicas: (failures, mixed-up answers, wall seconds). A session
    that breaks down (its teardown raising) counts as failures too, instead of ending the run unreported."""
    failures = mixed = 0
    started = time.perf_counter()

    async def one(client: Client, n: int) -> None:
        nonlocal failures, mixed
        try:
            result = await client.call_tool("ask_one", {"ai": "ai", "prompt": f"call-{n}-end"})
        except Exception as error:
            failures += 1
            if failures <= 3:
                print(f"call {n} raised: {error!r}"[:300], file=sys.stderr)
            return
        text = (result.structured_content or {}).get("text") or ""
        if result.is_error:
            failures += 1
            if failures <= 3:
                print(f"call {n} failed: {result.content}"[:300], file=sys.stderr)
        elif f"call-{n}-end" not in text:
            mixed += 1

    try:
        async with AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(http_session(port))
                for port in ports
                for _ in range(sessions_per_replica)
            ]
            started = time.perf_counter()
            async with anyio.create_task_group() as tg:
                for n in range(total):
                    tg.start_soon(one, clients[n % len(clients)], n)
            wall = time.perf_counter() - started
    except* Exception as group:
        leaves = _leaves(group)
        print(f"{len(leaves)} sessions broke down; the first: {leaves[0]!r}"[:500], file=sys.stderr)
        failures += len(leaves)
        wall = time.perf_counter() - started
    return failures, mixed, wall


def _leaves(group: BaseExceptionGroup[Exception]) -> list[BaseException]:
    found: list[BaseException] = []
    for error in group.exceptions:
        found.extend(_leaves(error) if isinstance(error, BaseExceptionGroup) else [error])
    return found


def _config(sim_port: int, state_url: str | None, **settings: Any) -> Path:
    chosen = {"output_budget_tokens": 20_000, **settings}
    if state_url:
        chosen["state_url"] = state_url
    return credentials(sim_port, {"ai": ("openai_compatible", "zero-latency")}, chosen, max_concurrency=64)


async def replicas(sim_port: int, calls: int, concurrent: int, row: Any) -> list[Any]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        directory = Path(tmp)
        url = stack.enter_context(redis_server(directory))
        plain = _config(sim_port, None)
        shared = _config(sim_port, url)
        p0, _ = stack.enter_context(http_server(plain, directory / "plain.log"))
        (r1, pid1) = stack.enter_context(http_server(shared, directory / "r1.log"))
        (r2, pid2) = stack.enter_context(http_server(shared, directory / "r2.log"))
        base, one, two = await p50_ask_one(p0, r1, (r1, r2), calls)
        commands = await redis_round_trips(url, r1)
        for label, value in (("1 replica + Redis", one), ("2 replicas + Redis", two)):
            rows.append(
                row(
                    f"ask_one over HTTP, {label}",
                    "p50 / 1 replica without Redis",
                    f"{value * 1000:.1f} ms",
                    f"{base * 1000:.1f} ms",
                    round(value / base, 2),
                    "<= 1.2x",
                    value / base <= 1.2,
                )
            )
        rows.append(
            row(
                "Redis round trips per ask_one (no thread_id)",
                "commands sent (MONITOR)",
                f"{len(commands)}: {' '.join(commands)}",
                "-",
                None,
                "reported",
                None,
            )
        )
        failures, mixed, wall = await concurrent_calls([r1, r2], concurrent, 10)
        peaks = [peak_rss_mb(pid) or 0.0 for pid in (pid1, pid2)]
        rows.append(
            row(
                f"{concurrent:,} concurrent ask_one over 2 replicas + Redis",
                "failures / mixed-up answers",
                f"{failures} / {mixed} in {wall:.1f} s",
                "0 / 0",
                None,
                "0 failures, 0 mixed up",
                failures == 0 and mixed == 0,
            )
        )
        rows.append(
            row(
                "peak RSS per replica (after the concurrent run)",
                "VmHWM",
                " / ".join(f"{peak:.0f} MB" for peak in peaks),
                "-",
                None,
                "reported",
                None,
            )
        )
    return rows


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def abandoned_sessions(sim_port: int, count: int, row: Any) -> list[Any]:
    """`count` initialize requests never closed (what a flood or a crashing client leaves): RSS growth and how
    many sessions were admitted (the per-principal cap refuses the rest with 503)."""
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        config = _config(sim_port, None)
        port, pid = stack.enter_context(http_server(config, Path(tmp) / "s.log"))
        headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
        async with httpx2.AsyncClient(timeout=httpx2.Timeout(60.0)) as http:
            await http.post(f"http://127.0.0.1:{port}/mcp", json=INITIALIZE, headers=headers)
            before = _rss_mb(pid)
            statuses: dict[int, int] = {}
            started = time.perf_counter()
            limiter = anyio.Semaphore(50)

            async def flood() -> None:
                async with limiter:
                    response = await http.post(f"http://127.0.0.1:{port}/mcp", json=INITIALIZE, headers=headers)
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

            async with anyio.create_task_group() as tg:
                for _ in range(count):
                    tg.start_soon(flood)
            wall = time.perf_counter() - started
            after = _rss_mb(pid)
            healthy = await http.get(f"http://127.0.0.1:{port}/healthz")
        return [
            row(
                f"{count:,} abandoned sessions (one principal, default caps)",
                "RSS growth",
                f"{after - before:+.1f} MB ({before:.0f} -> {after:.0f} MB) in {wall:.1f} s",
                f"admitted {statuses.get(200, 0)}, refused 503: {statuses.get(503, 0)}",
                None,
                "bounded; server still healthy",
                healthy.status_code == 200 and after - before < 50,
            )
        ]
