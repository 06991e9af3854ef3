"""The server's lifespan: every AI client opened in the background as the server starts, all closed at exit.

The registry is built in the background so the host's `initialize` is answered while the SDKs load; a tool
call that arrives first waits for it. Shared state (the registry, kept results, threads) is built here and
handed to tools through the request context.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
from mcp.server.mcpserver import Context, MCPServer

from junior_ai.ai.registry import AIRegistry, ClientFactory, cleanup_async_ai_clients, initialize_all_clients_async
from junior_ai.ai.shared_health import share_health
from junior_ai.core.config import JuniorConfig
from junior_ai.core.log import get_logger
from junior_ai.core.state import StateStore
from junior_ai.tools.jobs.runner import JobRunner
from junior_ai.tools.threads import ThreadStore

log = get_logger(__name__)


@dataclass
class AppState:
    """Shared by every tool call of one server process."""

    ready: anyio.Event = field(default_factory=anyio.Event)
    built: AIRegistry | None = None

    async def registry(self) -> AIRegistry:
        await self.ready.wait()
        return self.registry_unchecked()

    def registry_unchecked(self) -> AIRegistry:
        assert self.built is not None, "registry used before it was built"
        return self.built


async def registry_of(ctx: Context[AppState, Any]) -> AIRegistry:
    return await ctx.request_context.lifespan_context.registry()


def make_lifespan(
    config: JuniorConfig,
    *,
    config_error: str | None,
    factories: Mapping[str, ClientFactory],
    threads: ThreadStore,
    runner: JobRunner,
    state: StateStore,
) -> Callable[[MCPServer[AppState]], AbstractAsyncContextManager[AppState]]:
    shared = state

    @asynccontextmanager
    async def lifespan(_server: MCPServer[AppState]) -> AsyncIterator[AppState]:
        state = AppState()

        async def initialize() -> None:
            # Shielded: a shutdown that arrives mid-start-up must not leave half-built clients unclosed.
            with anyio.CancelScope(shield=True):
                try:
                    state.built = await initialize_all_clients_async(
                        config, factories=factories, config_error=config_error
                    )
                finally:
                    if state.built is None:  # initialisation itself crashed: serve the error, not a hang
                        state.built = AIRegistry(config, {}, config_error=config_error or "start-up failed")
                    share_health(state.built, shared)
                    state.ready.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(initialize)
            try:
                # Jobs run here, at server level: they outlive the call (and session) that started them. On exit
                # the ones still running are cancelled, closing their requests, before the clients close.
                async with runner.running():
                    yield state
            finally:
                # Shutdown during start-up waits for the clients being built, then closes them all.
                with anyio.CancelScope(shield=True):
                    await state.ready.wait()
                    await cleanup_async_ai_clients(state.registry_unchecked())
                    threads.close()
                    await shared.aclose()
                log.info("ai_clients_closed")

    return lifespan
