"""The server's lifespan: the AI registry exists from the first message; each AI's clients are built in the
background as the server starts, and all are closed at exit.

Start-up never blocks the event loop: the SDK imports and client builds run in daemon threads (`ai.client_build`),
so `initialize` and `tools/list` are answered while they load. A tool call that arrives first waits for the
clients of the AIs it uses, and only those. A shutdown during start-up does not wait for an SDK import to finish:
the builds still running are abandoned (their threads close whatever they still build) and the process exits.
Shared state (the registry, kept results, threads) is built here and handed to tools through the request context.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
from mcp.server.mcpserver import Context, MCPServer

from junior_ai.ai.registry import (
    AIRegistry,
    ClientFactory,
    build_in_background,
    cleanup_async_ai_clients,
    start_registry,
)
from junior_ai.ai.shared_health import share_health
from junior_ai.ai.translate import detail
from junior_ai.core.config import JuniorConfig
from junior_ai.core.log import get_logger
from junior_ai.core.state import StateStore
from junior_ai.tools.jobs.runner import JobRunner
from junior_ai.tools.threads import ThreadStore

log = get_logger(__name__)


@dataclass
class AppState:
    """Shared by every tool call of one server process."""

    ai: AIRegistry

    async def registry(self) -> AIRegistry:
        return self.ai


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
    background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
) -> Callable[[MCPServer[AppState]], AbstractAsyncContextManager[AppState]]:
    shared = state

    @asynccontextmanager
    async def lifespan(_server: MCPServer[AppState]) -> AsyncIterator[AppState]:
        registry = start_registry(config, factories=factories, config_error=config_error)
        share_health(registry, shared)  # breakers and rpm limits, not clients: set before any call

        async def build() -> None:
            try:
                await build_in_background(registry)
            except Exception as exc:  # a crash here must not take the server down: calls build on demand
                log.error("ai_clients_build_failed", error=f"{type(exc).__name__}: {detail(exc)}")

        async with anyio.create_task_group() as tg:
            tg.start_soon(build)
            for task in background:  # e.g. the renewal of this process's call leases (slots, budget reservations)
                tg.start_soon(task)
            try:
                # Jobs run here, at server level: they outlive the call (and session) that started them. On exit
                # the ones still running are cancelled, closing their requests, before the clients close.
                async with runner.running():
                    yield AppState(registry)
            finally:
                tg.cancel_scope.cancel()  # builds still running are abandoned, never waited for
                with anyio.CancelScope(shield=True):
                    await cleanup_async_ai_clients(registry)
                    threads.close()
                    await shared.aclose()
                log.info("ai_clients_closed")

    return lifespan
