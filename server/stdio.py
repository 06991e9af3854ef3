"""Serving over stdio with a stdin reader that a shutdown can interrupt.

The SDK's `stdio_server()` reads stdin in a worker thread. When SIGTERM/SIGINT arrives while the host keeps
stdin open, that thread sits in a blocking read and the process cannot exit until the host writes or closes
the pipe. Reading the pipe non-blocking on the event loop instead makes the read cancellable, so a signal ends
the process at once (after the lifespan has closed every AI client). Regular files and terminals cannot be
polled that way; for those the SDK's own reader is used.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage

from junior_ai.server.stdio_guard import error_reply, readable

_READ_SIZE = 1 << 16


class PollingStdin:
    """Async iterator of text lines from a pipe file descriptor, read on the event loop (no thread).

    A line the SDK's reader could not parse is not passed on: it is answered with a JSON-RPC error through
    `replies` (set once the session's write stream exists), or logged when it carries no id."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = bytearray()
        self._eof = False
        self.replies: Any = None
        self.replies_ready = anyio.Event()

    def __aiter__(self) -> PollingStdin:
        return self

    async def __anext__(self) -> str:
        while True:
            line = await self._next_line()
            if not line.strip():
                continue  # a blank line is nothing to answer
            if readable(line):
                return line
            reply = error_reply(line)
            if reply is not None:
                await self.replies_ready.wait()
                with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
                    await self.replies.send(SessionMessage(reply))

    async def _next_line(self) -> str:
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self._buffer[: newline + 1])
                del self._buffer[: newline + 1]
                return line.decode("utf-8", errors="replace")
            if self._eof:
                if self._buffer:
                    line = bytes(self._buffer)
                    self._buffer.clear()
                    return line.decode("utf-8", errors="replace")
                raise StopAsyncIteration
            await anyio.wait_readable(self._fd)
            try:
                chunk = os.read(self._fd, _READ_SIZE)
            except BlockingIOError:
                continue
            if chunk:
                self._buffer += chunk
            else:
                self._eof = True


def _stdin_is_pollable_pipe(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)) and not os.isatty(fd)


async def run_stdio(server: MCPServer[Any]) -> None:
    """`server.run_stdio_async()`, but with a stdin read that cancellation can interrupt."""
    fd = sys.stdin.fileno() if sys.stdin is not None else -1
    if fd < 0 or not _stdin_is_pollable_pipe(fd):
        await server.run_stdio_async()
        return
    was_blocking = os.get_blocking(fd)
    os.set_blocking(fd, False)
    try:
        stdin = PollingStdin(fd)
        async with stdio_server(stdin=stdin) as (read_stream, write_stream):  # type: ignore[arg-type]
            stdin.replies = write_stream
            stdin.replies_ready.set()
            lowlevel = server._lowlevel_server  # the SDK's own run_stdio_async does exactly this
            await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())
    finally:
        os.set_blocking(fd, was_blocking)
