"""MCP Tasks for hosts that speak the extension: long tools run as tasks over the same job machinery.

When the client declared `io.modelcontextprotocol/tasks`, a call to a long tool (ask_one, ask_many, consensus,
debate, ask_batch) is started as a job and answered at once with a task handle; `tasks/get` reports the job
(and carries the tool's own result once it is done), `tasks/cancel` stops it and closes its provider requests.
Hosts without the extension get continue-and-collect instead (`jobs.py`): the same jobs, reached through the
`collect` tool.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, CallToolRequestParams, CallToolResult, TextContent

from junior_ai.core.errors import JuniorAIError
from junior_ai.server.jobs import from_outcome, running_inline, to_outcome
from junior_ai.server.principal import principal_of_user
from junior_ai.server.task_wire import TASKS_EXTENSION, CreateTaskResult, TaskIdParams, TaskResult, TaskStatus
from junior_ai.tools.jobs.model import JobOutcome, JobRecord, JobStatus
from junior_ai.tools.jobs.runner import JobRunner
from junior_ai.tools.results import ProgressFn

LONG_TOOLS = frozenset({"ask_one", "ask_many", "consensus", "debate", "ask_batch"})
_STATUS: dict[JobStatus, TaskStatus] = {
    "running": "working",
    "completed": "completed",
    "failed": "failed",
    "expired": "failed",
    "cancelled": "cancelled",
}


def client_speaks_tasks(ctx: ServerRequestContext[Any, Any]) -> bool:
    capabilities = ctx.session.client_capabilities
    extensions = capabilities.extensions if capabilities else None
    return bool(extensions) and TASKS_EXTENSION in (extensions or {})


def principal_of_request(ctx: ServerRequestContext[Any, Any]) -> str:
    """The caller's principal (issue 14): a task, like any job, belongs to it; another principal's task id reads
    exactly like an unknown one."""
    scope = getattr(ctx.request, "scope", None)
    return principal_of_user(scope.get("user")) if isinstance(scope, dict) else principal_of_user(None)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


class TasksExtension(Extension):
    identifier = TASKS_EXTENSION

    def __init__(self, runner: JobRunner) -> None:
        self._runner = runner

    def methods(self) -> Sequence[MethodBinding]:
        return (
            MethodBinding(method="tasks/get", params_type=TaskIdParams, handler=self._get),
            MethodBinding(method="tasks/cancel", params_type=TaskIdParams, handler=self._cancel),
        )

    async def intercept_tool_call(
        self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        if params.name not in LONG_TOOLS or not client_speaks_tasks(ctx):
            return await call_next(ctx)

        async def work(progress: ProgressFn) -> JobOutcome:
            # The tool runs to completion inside this job (no deadline cut, no second job): see `running_inline`.
            with running_inline(progress):
                result = await call_next(ctx)
            if isinstance(result, CallToolResult):
                return to_outcome(result)
            return JobOutcome(text="", structured=None, is_error=True)

        try:
            job = await self._runner.start(principal_of_request(ctx), params.name, work, background=True, task=True)
        except JuniorAIError as error:
            return CallToolResult(content=[TextContent(type="text", text=f"Invalid input: {error}")], is_error=True)
        record = await self._runner.wait(job, 0)
        created = CreateTaskResult.model_validate(self._fields(record))
        return created.model_dump(by_alias=True, mode="json", exclude_none=True)

    async def _get(self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams) -> HandlerResult:
        record = await self._record(principal_of_request(ctx), params.task_id)
        task = TaskResult.model_validate(self._fields(record))
        if record.status == "completed" and record.outcome is not None:
            result = from_outcome(record.outcome)
            task = task.model_copy(update={"result": result.model_dump(by_alias=True, mode="json", exclude_none=True)})
        elif record.status in {"failed", "expired"}:
            task = task.model_copy(update={"error": {"code": -32603, "message": record.error or record.status}})
        return task.model_dump(by_alias=True, mode="json", exclude_none=True)

    async def _cancel(self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams) -> HandlerResult:
        try:
            await self._runner.cancel(principal_of_request(ctx), params.task_id)
        except JuniorAIError as error:
            raise MCPError(code=INVALID_PARAMS, message=str(error)) from error
        return {}

    async def _record(self, principal: str, task_id: str) -> JobRecord:
        try:
            return await self._runner.collect(principal, task_id, 0)
        except JuniorAIError as error:
            raise MCPError(code=INVALID_PARAMS, message=str(error)) from error

    def _fields(self, record: JobRecord) -> dict[str, Any]:
        progress = record.progress
        message = progress.message
        if record.status != "running":
            message = record.error or f"{record.tool} {record.status}"
        return {
            "taskId": record.id,
            "status": _STATUS[record.status],
            "statusMessage": message,
            "createdAt": _iso(record.created_at),
            "lastUpdatedAt": _iso(record.updated_at),
            "ttlMs": int((record.expires_at - record.created_at) * 1000),
            "pollIntervalMs": int(self._runner.limits.poll_after_s * 1000) if record.status == "running" else None,
        }
