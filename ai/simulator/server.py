"""Running the simulator: in a background thread (tests, demo) or as `python -m junior_ai.ai.simulator`."""

from __future__ import annotations

import logging
import socket
import threading
from types import TracebackType

import uvicorn

from junior_ai.ai.simulator.app import DROP_MARKER, SimulatorApp
from junior_ai.ai.simulator.scenario import Scenario
from junior_ai.ai.simulator.state import SimulatorState


class _HideSimulatedDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        exc = record.exc_info[1] if record.exc_info else None
        return DROP_MARKER not in text and not (exc is not None and DROP_MARKER in str(exc))


def bind_loopback(port: int = 0) -> socket.socket:
    """A listening loopback socket with TCP_NODELAY set before listen().

    Without it every keep-alive response is held ~40 ms by Nagle + delayed ACK, which would swamp every
    overhead the benchmarks try to measure.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class Simulator:
    """A loopback provider simulator speaking the OpenAI and Gemini wire protocols.

    Use as a context manager: `with Simulator() as sim: ...`; `sim.openai_base_url` and
    `sim.gemini_base_url` are what an AI's `base_url` should be; `sim.state` holds the request log and
    scenarios.
    """

    def __init__(self, scenarios: dict[str, Scenario] | None = None, *, port: int = 0, seed: int = 1234) -> None:
        self.state = SimulatorState(scenarios=dict(scenarios or {}), seed=seed)
        self.app = SimulatorApp(self.state)
        """The routes; `app.batches` is the emulated batch engine (jobs created, files uploaded)."""
        self._socket = bind_loopback(port)
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            self.app.build(),
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_keep_alive=30,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        logging.getLogger("uvicorn.error").addFilter(_HideSimulatedDrops())

    @property
    def openai_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def gemini_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_scenario(self, model: str, scenario: Scenario) -> None:
        self.state.set_scenario(model, scenario)

    def start(self) -> Simulator:
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="provider-simulator", daemon=True
        )
        self._thread.start()
        started = threading.Event()

        def wait_started() -> None:
            while not self._server.started and self._thread is not None and self._thread.is_alive():
                started.wait(0.005)

        wait_started()
        if not self._server.started:
            raise RuntimeError("the provider simulator failed to start")
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._socket.close()

    def serve_forever(self) -> None:
        """Run in the calling thread until interrupted (the `python -m junior_ai.ai.simulator` entry point)."""
        self._server.run(sockets=[self._socket])

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
