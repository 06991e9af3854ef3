"""The `collect` tool and the `junior://jobs` resource: how a host gets the work a long call left running."""

from __future__ import annotations

import json
from typing import Any

from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, ToolAnnotations

from junior_ai.core.config import Settings
from junior_ai.server.errors import JuniorMCPServer
from junior_ai.server.jobs import finished_result, principal_of, status_call_result
from junior_ai.server.lifespan import AppState
from junior_ai.server.principal import principal_of_user
from junior_ai.server.tenancy import CallViews, Tenancy
from junior_ai.server.tool_registry import register_tool
from junior_ai.tools.arguments import CollectArgs
from junior_ai.tools.jobs.runner import JobRunner

JOBS_URI = "junior://jobs"
JOBS_LISTED = 50
"""junior://jobs lists at most this many jobs, newest first (running or not yet collected), and says how many more
there are: the resource stays small however many jobs a long session ran."""


def register_collect(server: JuniorMCPServer, runner: JobRunner, settings: Settings, tenancy: Tenancy) -> None:
    async def collect(args: CollectArgs, ctx: Context[AppState, Any], _views: CallViews) -> CallToolResult:
        # Capped at the deadline, which sits below the host's own timeout: collect itself must never time out.
        wait = min(settings.deadline_s if args.wait_s is None else args.wait_s, settings.deadline_s)
        record = await runner.collect(principal_of(ctx), args.job_id.strip(), wait, cancel=args.cancel)
        if record.finished:
            return finished_result(record, runner.limits.poll_after_s)
        return status_call_result(record, runner.limits.poll_after_s)

    register_tool(
        server,
        CollectArgs,
        collect,
        tenancy=tenancy,
        spends=False,
        description="Result or progress of a job; cancel=true stops it.",
        annotations=ToolAnnotations(read_only_hint=False, open_world_hint=False),
    )

    @server.resource(
        JOBS_URI,
        name="jobs",
        description="Your jobs: calls still running in the background or waiting to be collected.",
        mime_type="application/json",
    )
    async def jobs_index() -> str:
        # A static resource gets no Context: the principal comes from the request's auth context.
        summaries = await runner.summaries(principal_of_user(auth_context_var.get()))
        shown = summaries[:JOBS_LISTED]
        listing: dict[str, Any] = {"jobs": [summary.model_dump(mode="json") for summary in shown]}
        if len(summaries) > len(shown):
            more = len(summaries) - len(shown)
            listing["not_listed"] = more
            listing["note"] = f"{more} older jobs not listed (the newest {len(shown)} are); collect or cancel some."
        return json.dumps(listing)
