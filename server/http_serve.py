"""Run the HTTP server: open the state, build the app, bind (refusals and a busy port are one line), serve."""

from __future__ import annotations

import errno
import socket
import sys
from types import FrameType

import anyio
import uvicorn

from junior_ai.core.config import JuniorConfig
from junior_ai.core.log import get_logger
from junior_ai.core.state import StateUnavailableError, open_state
from junior_ai.server.http import BindRefusedError, build_http_app, check_binding

log = get_logger(__name__)


class _CleanExitServer(uvicorn.Server):
    """uvicorn re-raises a captured SIGTERM/SIGINT once it has shut down, so the process dies by the signal (exit
    -15 / 130) after a clean stop. A stop that a signal asked for and that completed cleanly exits 0."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # No new connections from here; calls in flight get the grace period to finish (a second signal cuts them).
        log.info("http_draining", grace_s=self.config.timeout_graceful_shutdown)
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
        uv = _CleanExitServer(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=grace))
        await uv.serve(sockets=[sock])

    try:
        # uvicorn handles SIGTERM/SIGINT itself: it stops accepting, lets requests finish, then runs the lifespan's
        # cleanup (every AI client closed) and exits without a traceback.
        anyio.run(run)
    finally:
        sock.close()
    return 0
