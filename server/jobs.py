"""Long tool calls as jobs: the MCP side of continue-and-collect (see `tools/jobs/`).

`run_as_job` runs a tool call's work as a job and waits for it up to the call's deadline: in time, the host gets
the result as always; otherwise it gets what arrived so far plus `job_id` and `poll_after_s`, and the work goes
on. The `collect` tool and the `junior://jobs` resource are in `collect.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent

from junior_ai.core.config import Settings
from junior_ai.core.errors import JuniorAIError
from junior_ai.core.log import get_logger
from junior_ai.core.principals import LOCAL
from junior_ai.core.redact import redact
from junior_ai.core.state import StateStore
from junior_ai.server.tenancy import hand_over_call
from junior_ai.server.tenancy import principal_of as principal_from_request
from junior_ai.tools.jobs.model import JobOutcome, JobRecord
from junior_ai.tools.jobs.runner import JobLimits, JobRunner
from junior_ai.tools.jobs.shared_store import SharedStateJobStore
from junior_ai.tools.jobs.snapshot import render_status, status_result
from junior_ai.tools.jobs.store import JobStore, MemoryJobStore
from junior_ai.tools.results import ProgressFn

log = get_logger(__name__)

ToolWork = Callable[[ProgressFn, float], Awaitable[CallToolResult]]
"""A tool call's body: given the progress function and the deadline its work runs under, the tool result."""
PartialResult = Callable[[JobRecord, float], CallToolResult]
"""The tool's answer for a job still running: (its record, poll_after_s) → the result the host gets now."""

PRINCIPAL = LOCAL
"""The principal of stdio and unauthenticated loopback HTTP."""


def principal_of(ctx: Context[Any, Any]) -> str:
    """Jobs belong to the caller's principal (issue 14): a token's name, an OAuth subject, or "local"."""
    return principal_from_request(ctx)


def host_cancelled(ctx: Context[Any, Any]) -> bool:
    """Whether the cut call was cancelled by the host with `notifications/cancelled` (the job stops), rather than
    cut because its connection or response stream closed (the job goes on, bounded by each AI's timeout_s and
    the job TTL, listed in junior://jobs for the host to collect after reconnecting, or stop with `collect`
    cancel=true). At protocol 2026-07-28 a client cancels by closing the request's stream, which a dead host
    does too: the two cannot be told apart, and losing paid-for work is the worse mistake. The SDK keeps the
    notification's flag on the request's dispatch context, reachable only through the session's private
    attribute; without it, the call counts as cancelled (the old behaviour). Without an HTTP request (stdio,
    in-memory) there is no connection to lose apart from the server's own end: every cut is the host's cancel."""
    if ctx.request_context.request is None:
        return True
    outbound = getattr(ctx.request_context.session, "_request_outbound", None)
    event = getattr(outbound, "cancel_requested", None)
    return event is None or bool(event.is_set())


def describe_error(error: Exception, to_tool_error: Callable[[JuniorAIError], ToolError]) -> str:
    if isinstance(error, JuniorAIError):
        return str(to_tool_error(error))
    if isinstance(error, ToolError):
        return redact(str(error))
    log.error("job_crashed", error=type(error).__name__, detail=redact(str(error)))
    return f"the job failed unexpectedly ({type(error).__name__}); see the server log."


def build_runner(
    settings: Settings, to_tool_error: Callable[[JuniorAIError], ToolError], state: StateStore | None = None
) -> JobRunner:
    """The server's job runner. With shared state (`settings.state_url`: Redis), job records live there, so a job
    started on one replica is collected (or cancelled) from any other; its work runs only where it started."""
    limits = JobLimits(
        max_per_principal=settings.max_jobs_per_principal,
        run_limit_s=settings.job_ttl_s,
        keep_s=settings.job_keep_s,
        poll_after_s=settings.job_poll_after_s,
    )
    store: JobStore = SharedStateJobStore(state) if state is not None and state.shared else MemoryJobStore()
    return JobRunner(store, limits, describe_error=lambda e: describe_error(e, to_tool_error))


def to_outcome(result: CallToolResult) -> JobOutcome:
    text = "".join(part.text for part in result.content if isinstance(part, TextContent))
    return JobOutcome(text=text, structured=result.structured_content, is_error=bool(result.is_error))


_inline_progress: ContextVar[ProgressFn | None] = ContextVar("junior_ai_inline_progress", default=None)


@contextmanager
def running_inline(progress: ProgressFn) -> Iterator[None]:
    """Within this block a tool call runs its work to the end, reporting to `progress`, without a job of its own:
    it is already running inside one (an MCP task, `tasks_extension.py`)."""
    token = _inline_progress.set(progress)
    try:
        yield
    finally:
        _inline_progress.reset(token)


def from_outcome(outcome: JobOutcome) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=outcome.text)],
        structured_content=outcome.structured,
        is_error=outcome.is_error,
    )


def status_call_result(record: JobRecord, poll_after_s: float) -> CallToolResult:
    status = status_result(record, poll_after_s)
    return CallToolResult(
        content=[TextContent(type="text", text=render_status(status))],
        structured_content=status.model_dump(mode="json", exclude_none=True),
    )


def finished_result(record: JobRecord, poll_after_s: float) -> CallToolResult:
    """A finished job as the host gets it: the tool's own result, its error, or the cancellation."""
    if record.status == "completed" and record.outcome is not None:
        return from_outcome(record.outcome)
    if record.status == "cancelled" or (record.status == "expired" and record.progress.arrived):
        # Stopped: what it had is still worth having (answers that finished before the run limit).
        return status_call_result(record, poll_after_s)
    raise ToolError(record.error or f"job {record.id} {record.status}")


async def run_as_job(
    runner: JobRunner,
    ctx: Context[Any, Any],
    tool: str,
    work: ToolWork,
    *,
    deadline_s: float,
    background: bool,
    continue_after_deadline: bool,
    partial: PartialResult | None = None,
) -> CallToolResult:
    """Run `work` as a job; the finished result if it ends within `deadline_s`, else `partial` with its job id."""
    inline = _inline_progress.get()
    if inline is not None:
        return await work(inline, runner.limits.work_limit_s)

    async def report(done: float, total: float | None, message: str | None) -> None:
        await ctx.report_progress(done, total, message)

    # With continue-and-collect the work is bounded by the job's run limit (and each AI's own timeout), not by
    # the call's deadline; without it, the deadline cuts the work as it always did.
    work_deadline = runner.limits.work_limit_s if continue_after_deadline or background else deadline_s

    # The job holds the call's concurrent-call slot and records its usage when it ends, even when that is after
    # the call returned: work going on in the background is charged and limited like any call (issue 14).
    handed = hand_over_call()

    async def job_work(progress: ProgressFn) -> JobOutcome:
        try:
            return to_outcome(await work(progress, work_deadline))
        finally:
            await handed.done()

    forward = None if background else report
    try:
        job = await runner.start(principal_of(ctx), tool, job_work, forward, background=background)
    except BaseException:
        handed.cancel()
        raise
    wait = 0.0 if background else (deadline_s if continue_after_deadline else None)
    record = await runner.wait(job, wait, cancelled_by_host=lambda: host_cancelled(ctx))
    stopped_with_partial = record.status == "cancelled" and partial is not None  # the tool's own shape, then
    if record.finished and not stopped_with_partial:
        return finished_result(record, runner.limits.poll_after_s)
    return (partial or status_call_result)(record, runner.limits.poll_after_s)
