"""The wire shapes of the MCP Tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663), as this server speaks it.

A `tools/call` the server runs as a task answers `resultType: "task"` with the task's fields inline; the client
then polls `tasks/get` (which carries the tool's `result` once `completed`, or an `error` once `failed`) and may
`tasks/cancel`. The installed SDK has the extension machinery (`mcp.server.extension`) but not these shapes.
"""

from __future__ import annotations

from typing import Any, Literal

from mcp_types import RequestParams, Result
from mcp_types._types import Request
from pydantic import ConfigDict, Field

TASKS_EXTENSION = "io.modelcontextprotocol/tasks"
TaskStatus = Literal["working", "input_required", "completed", "failed", "cancelled"]


class TaskIdParams(RequestParams):
    task_id: str = Field(alias="taskId", min_length=1, max_length=200)


class TaskFields(Result):
    model_config = ConfigDict(populate_by_name=True, extra="allow")

    task_id: str = Field(alias="taskId")
    status: TaskStatus
    status_message: str | None = Field(default=None, alias="statusMessage")
    created_at: str = Field(alias="createdAt")
    last_updated_at: str = Field(alias="lastUpdatedAt")
    ttl_ms: int | None = Field(default=None, alias="ttlMs")
    poll_interval_ms: int | None = Field(default=None, alias="pollIntervalMs")


class CreateTaskResult(TaskFields):
    """The answer to a `tools/call` the server chose to run as a task."""

    result_type: Literal["task"] = Field(default="task", alias="resultType")


class TaskResult(TaskFields):
    """The answer to `tasks/get`: the task, with the tool's result once completed or the error once failed."""

    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class GetTaskRequest(Request[TaskIdParams, Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"
    params: TaskIdParams
    name_param = "taskId"


class CancelTaskRequest(Request[TaskIdParams, Literal["tasks/cancel"]]):
    method: Literal["tasks/cancel"] = "tasks/cancel"
    params: TaskIdParams
    name_param = "taskId"
