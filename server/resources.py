"""The resources a host can read: conversation threads and the full texts of trimmed answers."""

from __future__ import annotations

import json

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError

from junior_ai.core.config import Settings
from junior_ai.core.errors import InvalidInputError
from junior_ai.server.lifespan import AppState
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
    def thread_index() -> str:
        return json.dumps([summary.model_dump() for summary in threads.summaries()])

    @server.resource(
        THREAD_URI,
        name="thread",
        description="One conversation thread: each AI's history.",
        mime_type="application/json",
    )
    async def thread_detail(thread_id: str) -> str:
        try:
            thread = await threads.get(thread_id)
        except InvalidInputError as error:
            raise ResourceNotFoundError(str(error)) from None
        return thread.model_dump_json()

    @server.resource(
        RESULT_URI,
        name="trimmed-answer",
        description="The full text of an answer that was trimmed to fit a tool result.",
        mime_type="text/plain",
    )
    def trimmed_answer(result_id: str, key: str) -> str:
        text = store.get(result_id, key)
        if text is None:
            raise ResourceNotFoundError(
                f"No kept answer at junior://results/{result_id}/{key}: it expired (kept "
                f"{settings.result_ttl_s:.0f} s) or was evicted. Ask again to get a fresh answer."
            )
        return text
