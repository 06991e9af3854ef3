"""The MCP server, assembled: lifespan (`lifespan.py`), resources (`resources.py`), tools registered from their
arguments models (`tool_registry.py`), and our errors mapped to `ToolError` (`errors.py`).

The tool bodies live in `tools/`; the server adds only what MCP needs: schemas, progress, readable text next to
the structured result, and error mapping.
"""

from __future__ import annotations

from collections.abc import Mapping

from junior_ai.ai.registry import DEFAULT_FACTORIES, ClientFactory
from junior_ai.core.config import JuniorConfig
from junior_ai.core.state import InProcessState, StateStore
from junior_ai.core.version import __version__
from junior_ai.server.collect import register_collect
from junior_ai.server.compact_schema import compact_tool_schemas
from junior_ai.server.errors import JuniorMCPServer, as_tool_error
from junior_ai.server.jobs import build_runner
from junior_ai.server.lifespan import AppState, make_lifespan
from junior_ai.server.prompts import register_prompts
from junior_ai.server.resources import register_resources
from junior_ai.server.tasks_extension import TasksExtension
from junior_ai.server.tenancy import Tenancy
from junior_ai.server.tool_registry import register_tools
from junior_ai.tools.output_budget import ResultStore
from junior_ai.tools.threads import ThreadStore

__all__ = ["AppState", "JuniorMCPServer", "build_server"]

INSTRUCTIONS = (
    "Junior AI asks other AI models (Gemini, GPT, Grok, DeepSeek, local models...) for second opinions: ask_one "
    "for one model, ask_many to compare several, consensus for a critiqued collective answer with its dissent, "
    "debate for opposing arguments and a verdict. Call list_ais first to see which AIs are configured and healthy. "
    "Share material by reference, never by pasting it into the prompt: `files` takes paths to files, folders, "
    'images and PDFs; `diff` takes "HEAD" (uncommitted changes), "staged", "main...HEAD" or a commit; '
    "`reasoning_effort` is minimal, low, medium or high. "
    "A call still working at its deadline returns what it has plus a job_id while the work continues: call collect "
    "with that job_id for the full result (it waits; call it again while it says running). background=true returns "
    "a job_id at once."
)


def build_server(
    config: JuniorConfig,
    *,
    config_error: str | None = None,
    factories: Mapping[str, ClientFactory] = DEFAULT_FACTORIES,
    state: StateStore | None = None,
) -> JuniorMCPServer:
    """The Junior AI MCP server for `config`. With `config_error` set, it starts and every tool reports it.
    `state` is where threads, kept results, usage and shared AI health live (default: this process)."""
    settings = config.settings
    shared = state if state is not None else InProcessState()
    store = ResultStore(
        ttl_s=settings.result_ttl_s, max_bytes=int(settings.result_store_mb * 1024 * 1024), state=shared
    )
    threads = ThreadStore(
        ttl_s=settings.thread_ttl_s,
        max_threads=settings.max_threads,
        max_messages=settings.max_thread_messages,
        db_path=settings.threads_db,
        state=shared,
    )
    runner = build_runner(settings, as_tool_error, shared)
    tenancy = Tenancy(settings, shared, threads, store)
    lifespan = make_lifespan(
        config,
        config_error=config_error,
        factories=factories,
        threads=threads,
        runner=runner,
        state=shared,
        background=[tenancy.leases.run],
    )
    server = JuniorMCPServer(
        "junior-ai",
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        version=__version__,
        extensions=[TasksExtension(runner)],
    )
    server.job_runner = runner
    register_resources(server, threads=threads, store=store, settings=settings)
    register_tools(server, tenancy=tenancy, runner=runner, settings=settings)
    register_collect(server, runner, settings, tenancy)
    register_prompts(server)
    compact_tool_schemas(server._tool_manager.list_tools())
    return server
