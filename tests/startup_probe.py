"""Run by tests/test_startup.py in a fresh interpreter (so the SDKs are really imported): start the MCP server
in-process with its real client factories, talk to it through an in-memory client, and print what happened as
JSON on stdout.

    python -m tests.startup_probe CREDENTIALS AI [--gate]

What is recorded, in the order it happened:
- every import (the audit event each import statement raises): the module, the thread that ran it, and how many
  times the event loop's heartbeat had ticked by then;
- `initialize` answered, the gate opened, and the `ask_one` answer, each with the heartbeat count.

The heartbeat is a task on the server's event loop that yields (`sleep(0)`) in a loop and counts: it can only
tick while nothing blocks the loop. With `--gate`, the SDK package's own code does not start running until the
loop has answered `initialize` and ticked three more times; if the import ran on the event loop, the loop could
not tick and the gate would never open (it gives up after 60 s and says so).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import sys
import threading
from collections.abc import Sequence
from types import ModuleType
from typing import Any

SDK_PACKAGES = ("openai", "google.genai")
GATE_TICKS = 3


class Probe:
    """What the probe saw. Written by the event loop (ticks) and by the build threads (imports)."""

    def __init__(self) -> None:
        self.record: list[dict[str, Any]] = []  # list.append is atomic: safe from any thread
        self.ticks = 0
        self.gate = threading.Event()
        self.gate_timed_out = False


PROBE = Probe()


def audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "import" and isinstance(args[0], str):
        event = {"event": "import", "module": args[0], "thread": threading.get_ident(), "ticks": PROBE.ticks}
        PROBE.record.append(event)


class GatedSDK(importlib.abc.MetaPathFinder):
    """Holds each SDK package's own code until the gate opens; everything else imports normally."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in SDK_PACKAGES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        original = spec.loader.exec_module

        def gated(module: ModuleType) -> None:
            if not PROBE.gate.wait(timeout=60):
                PROBE.gate_timed_out = True
            original(module)

        spec.loader.exec_module = gated  # type: ignore[method-assign]
        return spec


async def probe(credentials: str, ai: str) -> dict[str, Any]:
    import anyio
    import anyio.lowlevel
    from mcp.client.client import Client

    from junior_ai.core.config import load_config
    from junior_ai.core.log import configure_logging
    from junior_ai.server.app import build_server

    configure_logging()  # logs to stderr: stdout carries only the report

    loop_thread = threading.get_ident()
    server = build_server(load_config(credentials))
    answered = anyio.Event()

    async with Client(server) as client:
        PROBE.record.append({"event": "initialized", "ticks": PROBE.ticks})
        initialized_at = PROBE.ticks

        async def heartbeat() -> None:
            while not answered.is_set():
                PROBE.ticks += 1
                if PROBE.ticks == initialized_at + GATE_TICKS:
                    PROBE.record.append({"event": "gate_opened", "ticks": PROBE.ticks})
                    PROBE.gate.set()
                await anyio.lowlevel.checkpoint()

        async with anyio.create_task_group() as tg:
            tg.start_soon(heartbeat)
            result = await client.call_tool("ask_one", {"ai": ai, "prompt": "hello"})
            PROBE.record.append({"event": "answered", "ticks": PROBE.ticks, "error": bool(result.is_error)})
            answered.set()
    return {
        "loop_thread": loop_thread,
        "record": PROBE.record,
        "gate_timed_out": PROBE.gate_timed_out,
        "switch_interval_s": sys.getswitchinterval(),
        "modules": sorted(sys.modules),
    }


def main() -> None:
    import anyio

    credentials, ai, *flags = sys.argv[1:]
    if "--gate" in flags:
        sys.meta_path.insert(0, GatedSDK())
    else:
        PROBE.gate.set()
    sys.addaudithook(audit)
    result = anyio.run(probe, credentials, ai)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
