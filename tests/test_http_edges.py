"""HTTP mode: a port already in use is one line with the fix; SIGTERM and SIGINT stop the server cleanly (every
AI client closed, exit 0, no traceback), also when they arrive during start-up."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream

from tests.conftest import ROOT, run_junior_ai


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_port_in_use_is_one_line_with_the_fix(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_junior_ai("serve", "--transport", "streamable-http", "--port", str(port))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(port) in lines[0] and "already in use" in lines[0] and "--port" in lines[0]


async def start_http(port: int) -> anyio.abc.Process:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "JUNIOR_AI_CREDENTIALS"}
    env["JUNIOR_AI_LOG_LEVEL"] = "INFO"
    return await anyio.open_process(
        [sys.executable, "-m", "junior_ai", "serve", "--transport", "streamable-http", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("when", ["serving", "starting"])
async def test_a_signal_stops_the_http_server_cleanly(signum: signal.Signals, when: str) -> None:
    process = await start_http(free_port())
    async with process:
        assert process.stderr is not None
        stderr = BufferedByteReceiveStream(process.stderr)
        seen = b""
        try:
            with anyio.fail_after(60):
                # "serving": the server's own readiness line; "starting": its first log line, before it serves.
                marker = b'"http_serving"' if when == "serving" else b'"event"'
                while marker not in seen:
                    seen += await stderr.receive()
                process.send_signal(signum)
                code = await process.wait()
        finally:
            if process.returncode is None:  # a failed wait must not leave the server running (and the test hung)
                process.kill()
            try:
                while True:
                    seen += await stderr.receive()
            except (anyio.EndOfStream, anyio.ClosedResourceError):
                pass
    text = seen.decode(errors="replace")
    assert code == 0, text
    assert "Traceback" not in text and "CancelledError" not in text
    if when == "serving":
        assert "ai_clients_closed" in text
