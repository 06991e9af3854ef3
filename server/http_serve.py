"""Run the HTTP server: open the state, build the app, bind (refusals and a busy port are one line), serve."""

from __future__ import annotations

import asyncio
import errno
import math
import socket
import sys
import time
from types import FrameType

import anyio
import uvicorn
from sse_starlette.sse import AppStatus
from starlette.types import ASGIApp, Receive, Scope, Send

from junior_ai.core.config import JuniorConfig
from junior_ai.core.log import get_logger
from junior_ai.core.state import StateUnavailableError, open_state
from junior_ai.server.http import BindRefusedError, build_http_app, check_binding
from junior_ai.tools.jobs.runner import JobRunner

log = get_logger(__name__)


CUT_SHORT_S = 3


class _RequestsInFlight:
    """ASGI wrapper counting the POSTs being answered (each tool call is one), so a drain knows when they are done.
    GET event streams are not counted: a client's standing stream would otherwise hold every drain to its limit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.count = 0
        self._idle: asyncio.Event | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        self.count += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.count -= 1
            if self.count == 0 and self._idle is not None:
                self._idle.set()

    async def finished(self) -> None:
        while self.count:
            self._idle = asyncio.Event()
            await self._idle.wait()


class _CleanExitServer(uvicorn.Server):
    """Stops like the README says. On SIGTERM/SIGINT: no new connections, tool calls in flight (and detached jobs)
    get the grace period to finish and their answers reach the client, then the lifespan closes, and exit is 0.

    Two things in the way are set aside here. sse_starlette (the SDK answers tool calls over its event streams)
    hooks uvicorn's exit and closes every open stream within half a second of the signal, cutting the answers in
    flight: its automatic drain is turned off, and its `AppStatus.should_exit` is set only once the calls are done
    or the grace period is over. And uvicorn re-raises a captured signal once it has shut down, so the process
    would die by it (exit -15 / 130) after a clean stop."""

    def __init__(self, config: uvicorn.Config, requests: _RequestsInFlight, runner: JobRunner | None) -> None:
        super().__init__(config)
        self._requests = requests
        self._runner = runner
        self._cut: asyncio.Event | None = None
        self.cut_short = False
        self._loop: asyncio.AbstractEventLoop | None = None
        AppStatus.enable_automatic_graceful_drain = False  # process-wide: one server per process
        AppStatus.should_exit = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        second = self.should_exit
        super().handle_exit(sig, frame)  # with the automatic drain off, sse_starlette's hook only passes it on
        self._captured_signals.clear()
        if second:  # a second signal cuts the calls still in flight (a second SIGINT: uvicorn's force quit too)
            self.cut_short = True
            if self._loop is not None and self._cut is not None:
                self._loop.call_soon_threadsafe(self._cut.set)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        grace = float(self.config.timeout_graceful_shutdown or 0)
        log.info("http_draining", grace_s=grace, requests_in_flight=self._requests.count)
        for server in self.servers:  # no new connections; idle keep-alive ones close, busy ones after their answer
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        self._loop, self._cut = asyncio.get_running_loop(), asyncio.Event()
        if self.cut_short:
            self._cut.set()
        started = time.monotonic()
        with anyio.move_on_after(grace):
            async with anyio.create_task_group() as tg:

                async def drained() -> None:
                    await self._requests.finished()
                    if self._runner is not None:  # detached and background jobs: their answers are collected later
                        log.info("http_draining_jobs", jobs=self._runner.live_jobs)
                        await self._runner.finish_running()
                    tg.cancel_scope.cancel()

                async def cut() -> None:
                    assert self._cut is not None
                    await self._cut.wait()
                    tg.cancel_scope.cancel()

                tg.start_soon(drained)
                tg.start_soon(cut)
        AppStatus.should_exit = True  # event streams still open (a client's standing GET stream) close now
        # What is left of the grace period bounds uvicorn's own wait for connections to close. Cut short: the event
        # streams close within sse_starlette's half-second poll, then the lifespan stops the jobs and closes the
        # clients; a request still running after 3 s is cancelled by uvicorn.
        left = CUT_SHORT_S if self.cut_short else math.ceil(grace - (time.monotonic() - started))
        self.config.timeout_graceful_shutdown = max(1, left)
        await super().shutdown(sockets)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Without TCP_NODELAY on the listening socket every keep-alive answer waits ~40 ms (Nagle + delayed ACK).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host.strip("[]"), port))
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def serve_http(config: JuniorConfig, config_error: str | None, *, host: str, port: int, insecure_no_auth: bool) -> int:
    from junior_ai.server.app import build_server

    if config_error is not None:
        # stdio starts anyway and says so in every tool (the host shows it to the user). An HTTP replica would
        # serve without the file's tokens (no auth on loopback) and report healthy to its load balancer: refuse.
        print(f"junior-ai: not serving: {' '.join(config_error.split())}", file=sys.stderr)
        return 2
    settings = config.settings
    try:
        state = open_state(settings.state_url)
    except StateUnavailableError as error:
        print(f"junior-ai: {error}", file=sys.stderr)
        return 2
    try:
        check_binding(host, settings, insecure_no_auth=insecure_no_auth)
    except BindRefusedError as error:
        print(f"junior-ai: {error}", file=sys.stderr)
        return 2
    try:
        sock = _listen(host, port)
    except OSError as error:
        reason = "is already in use" if error.errno == errno.EADDRINUSE else f"cannot be used ({error.strerror})"
        print(f"junior-ai: port {port} on {host} {reason}; pick another with --port.", file=sys.stderr)
        return 2
    server = build_server(config, config_error=config_error, state=state)
    app = build_http_app(server._lowlevel_server, settings, state, host=host, port=sock.getsockname()[1])

    async def run() -> None:
        # On SIGTERM, tool calls in flight get settings.shutdown_grace_s to finish before they are cut.
        grace = settings.shutdown_grace_s
        requests = _RequestsInFlight(app)
        uv_config = uvicorn.Config(requests, log_level="warning", lifespan="on", timeout_graceful_shutdown=grace)
        uv = _CleanExitServer(uv_config, requests, server.job_runner)
        await uv.serve(sockets=[sock])

    try:
        # uvicorn handles SIGTERM/SIGINT itself: it stops accepting, lets requests finish, then runs the lifespan's
        # cleanup (every AI client closed) and exits without a traceback.
        anyio.run(run)
    finally:
        sock.close()
    return 0
