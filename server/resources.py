"""The resources a host can read: conversation threads and the full texts of trimmed answers.

Each belongs to the principal whose call made it; another principal's id reads exactly like an unknown one."""

from __future__ import annotations

import json
from typing import Any

from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError

from junior_ai.core.config import Settings
from junior_ai.core.errors import InvalidInputError
from junior_ai.core.redact import redact
from junior_ai.core.state import StateUnavailableError
from junior_ai.server.lifespan import AppState
from junior_ai.server.principal import principal_of_user
from junior_ai.server.tenancy import principal_of
from junior_ai.tools.output_budget import RESULT_URI, ResultStore
from junior_ai.tools.threads import THREAD_URI, ThreadStore


def register_resources(
    server: MCPServer[AppState], *, threads: ThreadStore, store: ResultStore, settings: Settings
) -> None:
    @server.resource(
        "junior://threads",
        name="threads",
        description="Conversation threads kept by this server.",
        mime_type="application/json",
    )
    async def thread_index() -> str:
        # A static resource gets no Context: the principal comes from the request's auth context.
        mine = threads.scoped(principal_of_user(auth_context_var.get()))
        try:
            summaries = await mine.summaries()
        except StateUnavailableError as error:
            raise ResourceNotFoundError(str(error)) from None
        return json.dumps([summary.model_dump() for summary in summaries])

    @server.resource(
        THREAD_URI,
        name="thread",
        description="One conversation thread: each AI's history.",
        mime_type="application/json",
    )
    async def thread_detail(thread_id: str, ctx: Context[AppState, Any]) -> str:
        try:
            thread = await threads.scoped(principal_of(ctx)).get(thread_id)
        except (InvalidInputError, StateUnavailableError) as error:
            raise ResourceNotFoundError(str(error)) from None
        return thread.model_dump_json()

    @server.resource(
        RESULT_URI,
        name="trimmed-answer",
        description="The full text of an answer that was trimmed to fit a tool result.",
        mime_type="text/plain",
    )
    async def trimmed_answer(result_id: str, key: str, ctx: Context[AppState, Any]) -> str:
        try:
            text = await store.scoped(principal_of(ctx)).get(result_id, key)
        except StateUnavailableError as error:
            raise ResourceNotFoundError(str(error)) from None
        if text is None:
            raise ResourceNotFoundError(
                f"No kept answer at junior://results/{result_id}/{key}: it expired (kept "
                f"{settings.result_ttl_s:.0f} s) or was evicted. Ask again to get a fresh answer."
            )
        return redact(text)
