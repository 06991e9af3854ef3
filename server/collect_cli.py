"""`junior-ai collect JOB_ID`: attach to a job on a running HTTP server, show its progress, print its result."""

from __future__ import annotations

import sys

from mcp.client.client import Client
from mcp_types import CallToolResult, TextContent

from junior_ai.core.redact import redact

DEFAULT_URL = "http://127.0.0.1:8000/mcp"


def _text(result: CallToolResult) -> str:
    return "".join(part.text for part in result.content if isinstance(part, TextContent))


def _progress_line(status: dict[str, object]) -> str:
    done, total, message = status.get("done", 0), status.get("total"), status.get("message")
    line = f"job {status.get('job_id')}: running, {done}{f'/{total}' if total else ''} steps done"
    return line + (f" — {message}" if message else "")


def _root_cause(error: BaseException) -> BaseException:
    """The transport's errors arrive wrapped in task-group exception groups: the first real one."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


async def run_collect(url: str, job_id: str, *, wait_s: float | None, cancel: bool) -> int:
    """Collect `job_id` from the server at `url` until it ends (each round waits up to `wait_s` on the server);
    progress goes to stderr, the result to stdout. 0 when it completed, 1 when it failed or was cancelled, 2 when
    the server could not be reached."""
    try:
        return await _collect(url, job_id, wait_s=wait_s, cancel=cancel)
    except Exception as error:  # the CLI's boundary: a message that names the fix, never a traceback
        cause = _root_cause(error)
        print(
            f"junior-ai collect: cannot talk to {url} ({type(cause).__name__}: {redact(str(cause))}). Is "
            "`junior-ai serve --transport streamable-http` running there? Pass its MCP endpoint with --url.",
            file=sys.stderr,
        )
        return 2


async def _collect(url: str, job_id: str, *, wait_s: float | None, cancel: bool) -> int:
    async with Client(url) as client:
        while True:
            arguments: dict[str, object] = {"job_id": job_id, "cancel": cancel}
            if wait_s is not None:
                arguments["wait_s"] = wait_s
            result = await client.call_tool("collect", arguments)
            structured = result.structured_content or {}
            if result.is_error:
                print(f"junior-ai collect: {_text(result)}", file=sys.stderr)
                return 1
            if structured.get("status") != "running" or "job_id" not in structured or cancel:
                print(_text(result))
                return 0 if structured.get("status") not in {"cancelled", "failed", "expired"} else 1
            print(_progress_line(structured), file=sys.stderr, flush=True)
