"""The client half of the MCP Tasks extension, for Python programs (and our tests) talking to a Junior AI server.

`Client(server, extensions=[TasksClient()])` declares `io.modelcontextprotocol/tasks`; a long tool then comes
back as a task, which this extension polls (`tasks/get`, at the server's `pollIntervalMs`) until it ends, so
`client.call_tool(...)` still returns the tool's own result. The installed SDK has the client extension
machinery but no tasks client.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim
from mcp_types import CallToolResult, EmptyResult, TextContent

from junior_ai.server.task_wire import (
    TASKS_EXTENSION,
    CancelTaskRequest,
    CreateTaskResult,
    GetTaskRequest,
    TaskIdParams,
    TaskResult,
)

DEFAULT_POLL_S = 1.0


async def get_task(session: Any, task_id: str) -> TaskResult:
    result: TaskResult = await session.send_request(GetTaskRequest(params=TaskIdParams(taskId=task_id)), TaskResult)
    return result


async def cancel_task(session: Any, task_id: str) -> None:
    await session.send_request(CancelTaskRequest(params=TaskIdParams(taskId=task_id)), EmptyResult)


class TasksClient(ClientExtension):
    identifier = TASKS_EXTENSION

    def claims(self) -> Sequence[ResultClaim[Any]]:
        return (ResultClaim(result_type="task", model=CreateTaskResult, resolve=self._resolve),)

    async def _resolve(self, created: CreateTaskResult, ctx: ClaimContext) -> CallToolResult:
        interval = (created.poll_interval_ms or DEFAULT_POLL_S * 1000) / 1000
        while True:
            task = await get_task(ctx.session, created.task_id)
            if task.status == "completed" and task.result is not None:
                return CallToolResult.model_validate(task.result)
            if task.status in {"failed", "cancelled"}:
                message = (task.error or {}).get("message") or task.status_message or task.status
                return CallToolResult(content=[TextContent(type="text", text=str(message))], is_error=True)
            await anyio.sleep((task.poll_interval_ms or interval * 1000) / 1000)
