"""`junior-ai collect JOB_ID`: attach to a job on a running HTTP server, show its progress, print its result.

A server with `settings.http_tokens` (or OAuth) wants a bearer token: `--token` or `$JUNIOR_AI_TOKEN` (the
environment keeps it out of the process list and the shell history). Jobs belong to the principal that started
them, so the token must be the one the job was started with.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

import httpx2
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, TextContent

from junior_ai.core.redact import SECRETS, redact, register_url

DEFAULT_URL = "http://127.0.0.1:8000/mcp"
TOKEN_ENV = "JUNIOR_AI_TOKEN"  # noqa: S105 (the variable's name, not a token)
# The MCP SDK's own client timeouts: 30 s to connect or send, 300 s for a response (a round waits on the server).
HTTP_TIMEOUT = httpx2.Timeout(30.0, read=300.0)
TOKEN_SHAPE = re.compile(r"[\x21-\x7e]+")
"""What an Authorization header can carry: visible ASCII, no spaces."""


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


@dataclass
class _Refusals:
    """The HTTP statuses the server refused us with. The MCP transport turns a 401 into a bare "Server returned
    an error response"; the status seen here says which fix to name."""

    statuses: list[int]

    async def __call__(self, response: httpx2.Response) -> None:
        if response.status_code in (401, 403, 421):
            self.statuses.append(response.status_code)


def _refusal_message(url: str, status: int, token: str | None) -> str:
    if status == 401 and token is None:
        return (
            f"junior-ai collect: the server at {url} wants a token: pass --token or set {TOKEN_ENV} "
            "(the token the job was started with; `junior-ai token new NAME` makes one)."
        )
    if status == 401:
        return (
            f"junior-ai collect: the server at {url} refused the token (unknown, revoked or expired). Check "
            f"--token / ${TOKEN_ENV}, or ask the server's admin for a new one."
        )
    if status == 403:
        return f"junior-ai collect: the server at {url} accepted the token but it lacks a scope the server requires."
    return (
        f"junior-ai collect: the server at {url} does not answer to that host name (421). Use the address it "
        "listens on, or ask its admin to add the name to settings.allowed_hosts."
    )


async def run_collect(url: str, job_id: str, *, wait_s: float | None, cancel: bool, token: str | None = None) -> int:
    """Collect `job_id` from the server at `url` until it ends (each round waits up to `wait_s` on the server);
    progress goes to stderr, the result to stdout. `token`: sent as `Authorization: Bearer`. 0 when it completed,
    1 when it failed or was cancelled, 2 when the server could not be reached or refused us."""
    token = (token or "").strip() or None  # JUNIOR_AI_TOKEN="" means no token; a pasted newline is not part of it
    SECRETS.add(token)  # whatever goes wrong, the token is never printed back
    if token is not None and not TOKEN_SHAPE.fullmatch(token):
        print(
            f"junior-ai collect: the token (--token or ${TOKEN_ENV}) has spaces or characters a bearer token cannot "
            "have; pass the token exactly as `junior-ai token new` printed it.",
            file=sys.stderr,
        )
        return 2
    register_url(url)
    refusals = _Refusals([])
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        async with httpx2.AsyncClient(
            headers=headers,
            timeout=HTTP_TIMEOUT,
            event_hooks={"response": [refusals]},
        ) as http:
            return await _collect(url, http, job_id, wait_s=wait_s, cancel=cancel)
    except Exception as error:  # the CLI's boundary: a message that names the fix, never a traceback
        if refusals.statuses:
            print(redact(_refusal_message(url, refusals.statuses[0], token)), file=sys.stderr)
            return 2
        cause = _root_cause(error)
        print(
            redact(
                f"junior-ai collect: cannot talk to {url} ({type(cause).__name__}: {cause}). Is "
                "`junior-ai serve --transport streamable-http` running there? Pass its MCP endpoint with --url."
            ),
            file=sys.stderr,
        )
        return 2


async def _collect(url: str, http: httpx2.AsyncClient, job_id: str, *, wait_s: float | None, cancel: bool) -> int:
    async with Client(streamable_http_client(url, http_client=http)) as client:
        while True:
            arguments: dict[str, object] = {"job_id": job_id, "cancel": cancel}
            if wait_s is not None:
                arguments["wait_s"] = wait_s
            result = await client.call_tool("collect", arguments)
            structured = result.structured_content or {}
            if result.is_error:
                print(redact(f"junior-ai collect: {_text(result)}"), file=sys.stderr)
                return 1
            if structured.get("status") != "running" or "job_id" not in structured or cancel:
                print(_text(result))
                return 0 if structured.get("status") not in {"cancelled", "failed", "expired"} else 1
            print(_progress_line(structured), file=sys.stderr, flush=True)
