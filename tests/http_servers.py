"""Real processes for the HTTP deployment tests: `junior-ai serve --transport streamable-http` and `redis-server`.

Readiness is read from each process's own output (the server's `http_serving` log line, Redis's "Ready to accept
connections"), never waited for by sleeping. Ports are chosen by the server itself (`--port 0`) and read back from
that log line; Redis listens on a unix socket in the test's directory, so no port can collide.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import ROOT

START_TIMEOUT_S = 120.0


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "JUNIOR_AI_CREDENTIALS"}


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    port: int = 0
    host: str = "127.0.0.1"
    lines: list[str] = field(default_factory=list)
    exited: threading.Event = field(default_factory=threading.Event)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def wait_for_line(self, fragment: str, timeout: float = START_TIMEOUT_S) -> str:
        """The first stderr line containing `fragment`, waiting for the server to write it."""
        with self.changed:
            found = self.changed.wait_for(
                lambda: next((line for line in self.lines if fragment in line), None) or self.exited.is_set(),
                timeout,
            )
        line = next((line for line in self.lines if fragment in line), None)
        if line is None:
            raise AssertionError(f"the server never logged {fragment!r} ({found!r})")
        return line

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/mcp"

    def events(self, name: str) -> list[dict[str, Any]]:
        found = []
        for line in list(self.lines):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("event") == name:
                found.append(record)
        return found

    def pid(self) -> int:
        return self.process.pid


def _drain(server: ServerProcess, ready: threading.Event) -> None:
    assert server.process.stderr is not None
    for line in server.process.stderr:
        with server.changed:
            server.lines.append(line.rstrip("\n"))
            server.changed.notify_all()
        if '"http_serving"' in line:
            server.port = int(json.loads(line)["port"])
            ready.set()
    with server.changed:
        server.exited.set()
        server.changed.notify_all()
    ready.set()


def write_config(path: Path, ais: dict[str, Any], settings: dict[str, Any]) -> Path:
    path.write_text(json.dumps({**ais, "settings": settings}), encoding="utf-8")
    path.chmod(0o600)
    return path


@contextmanager
def junior_server(config: Path, *extra: str, host: str = "127.0.0.1") -> Iterator[ServerProcess]:
    process = subprocess.Popen(
        [sys.executable, "-m", "junior_ai", "--credentials", str(config), "serve", "--transport",
         "streamable-http", "--host", host, "--port", "0", *extra],
        cwd=ROOT,
        env=_clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    server = ServerProcess(process, host=host)
    ready = threading.Event()
    threading.Thread(target=_drain, args=(server, ready), daemon=True).start()
    try:
        if not ready.wait(START_TIMEOUT_S) or server.port == 0:
            raise AssertionError("junior-ai serve did not start:\n" + "\n".join(server.lines[-30:]))
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        server.exited.wait(30)
        if process.stderr is not None:
            process.stderr.close()


def run_serve(config: Path, *extra: str, host: str) -> subprocess.CompletedProcess[str]:
    """`serve` expected to refuse at start: its exit code and output."""
    return subprocess.run(
        [sys.executable, "-m", "junior_ai", "--credentials", str(config), "serve", "--transport",
         "streamable-http", "--host", host, "--port", "0", *extra],
        cwd=ROOT, env=_clean_env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@dataclass
class RedisProcess:
    process: subprocess.Popen[str]
    socket_path: Path
    tcp_port: int | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.tcp_port}/0" if self.tcp_port else f"unix://{self.socket_path}"


def redis_binary() -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if found is None:
        message = "redis-server is not installed (apt-get install redis-server; scripts/bootstrap.sh does it)"
        if os.environ.get("CI"):
            pytest.fail(message)  # in CI a missing Redis is a failure, not a skip
        pytest.skip(message)
    return found


@contextmanager
def redis_server(directory: Path, *, tcp_port: int | None = None) -> Iterator[RedisProcess]:
    """Redis on a unix socket in `directory`, or with `tcp_port` on that loopback port (a restart on the same port
    is what a replica's pooled TCP connections see after a Redis restart or failover)."""
    socket_path = directory / "redis.sock"
    listen = ["--port", str(tcp_port), "--bind", "127.0.0.1"] if tcp_port else ["--port", "0"]
    process = subprocess.Popen(
        [redis_binary(), *listen, "--unixsocket", str(socket_path), "--unixsocketperm", "700",
         "--save", "", "--appendonly", "no", "--dir", str(directory)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    ready = threading.Event()
    output: list[str] = []

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if "ready to accept connections" in line.lower():
                ready.set()
        ready.set()

    threading.Thread(target=drain, daemon=True).start()
    try:
        if not ready.wait(START_TIMEOUT_S) or process.poll() is not None:
            raise AssertionError("redis-server did not start:\n" + "".join(output[-20:]))
        yield RedisProcess(process, socket_path, tcp_port)
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


@asynccontextmanager
async def mcp_session(url: str, token: str | None = None, **headers: str) -> AsyncIterator[Client]:
    """An MCP client session over real HTTP (opened inside the test body, per pytest-asyncio's rules)."""
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(120.0)) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")
