"""Logging: structlog through one stderr handler. stdout belongs to the MCP protocol.

`configure_logging()` must be the first thing any entry point does: structlog's default prints to stdout,
and one stray byte there corrupts a stdio MCP session. Standard-library loggers (the SDKs', uvicorn's)
are routed through the same stderr handler and the same key redaction.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from junior_ai.core.redact import redact, redact_data

_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}


def _redact_event(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        if isinstance(value, str):
            event[key] = redact(value)
        elif isinstance(value, BaseException):
            event[key] = redact(f"{type(value).__name__}: {value}")
        elif isinstance(value, dict | list | tuple):
            event[key] = redact_data(value)
    return event


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_library_logging() -> None:
    """For the library API: unless the application configured structlog itself, send our log lines to stderr,
    redacted, at WARNING (or `JUNIOR_AI_LOG_LEVEL`) instead of structlog's default of printing to stdout. The
    application's standard-library logging setup is left alone."""
    if structlog.is_configured():
        return
    chosen = (os.environ.get("JUNIOR_AI_LOG_LEVEL") or "WARNING").upper()
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _redact_event,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelName(chosen if chosen in _LEVELS else "WARNING")
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def configure_logging(level: str | None = None, *, stream: TextIO | None = None, json: bool | None = None) -> None:
    """Send every log line (ours and the libraries') to stderr, redacted; JSON unless stderr is a TTY.

    The level comes from `level`, else `JUNIOR_AI_LOG_LEVEL`, else WARNING (a stdio server should be quiet
    unless asked).
    """
    out = stream if stream is not None else sys.stderr
    chosen = (level or os.environ.get("JUNIOR_AI_LOG_LEVEL") or "WARNING").upper()
    if chosen not in _LEVELS:
        chosen = "WARNING"
    as_json = json if json is not None else not out.isatty()

    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _redact_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(chosen)),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )

    handler = logging.StreamHandler(out)
    handler.setFormatter(_RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(chosen)
    # The SDKs log request URLs and bodies at DEBUG; keep them at WARNING unless we are debugging.
    for noisy in ("httpx2", "httpcore", "openai", "google_genai", "uvicorn.access", "mcp"):
        logging.getLogger(noisy).setLevel("DEBUG" if chosen == "DEBUG" else "WARNING")


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(name)
    return logger
