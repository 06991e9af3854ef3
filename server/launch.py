"""The first code the `junior-ai` console script and `python -m junior_ai` run, before any heavy import.

Start-up imports (pydantic, structlog, the MCP SDK) take seconds on a busy machine. A Ctrl-C in that window
used to print a KeyboardInterrupt traceback from whichever import it hit, with an exit code that varied (1, -2,
130). Until the command itself starts (`cli.run_command` hands SIGINT back to Python's own handler there, so each
command's Ctrl-C handling works as before), a SIGINT ends the process at once, quietly, with 130; nothing has
been written to stdout, so a stdio host sees a clean stream.
"""

from __future__ import annotations

import os
import signal
from types import FrameType
from typing import NoReturn


def stop_quietly(signum: int, frame: FrameType | None) -> None:
    os._exit(128 + signal.SIGINT)


def entry() -> NoReturn:
    signal.signal(signal.SIGINT, stop_quietly)
    from junior_ai.server.cli import entry as run

    run()
