"""The MCP server: lifespan (open every AI client at start, close all at exit) and the tool registrations.

The tool bodies live in `tools/`; this module adds only what MCP needs: argument schemas, progress,
readable text next to the structured result, and the mapping of our errors to `ToolError` (the only
exception whose message reaches the model).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import wraps
from typing import Annotated, Any, Literal, ParamSpec, TypeVar

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError, UnexpectedToolError
from mcp_types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, ValidationError

from junior_ai.ai.registry import (
    DEFAULT_FACTORIES,
    AIRegistry,
    ClientFactory,
    cleanup_async_ai_clients,
    initialize_all_clients_async,
)
from junior_ai.core.config import JuniorConfig
from junior_ai.core.errors import InvalidInputError, JuniorAIError, ProviderError, RateLimitedError
from junior_ai.core.log import get_logger
from junior_ai.core.redact import redact
from junior_ai.core.suggest import did_you_mean
from junior_ai.core.version import __version__
from junior_ai.server.compact_schema import compact_tool_schemas
from junior_ai.server.prompts import register_prompts
from junior_ai.tools import ask as ask_tools
from junior_ai.tools.batch import ask_batch as batch_tool
from junior_ai.tools.batch import render_batch
from junior_ai.tools.collab.consensus import consensus as consensus_tool
from junior_ai.tools.collab.debate import debate as debate_tool
from junior_ai.tools.collab.render import render_consensus, render_debate
from junior_ai.tools.list_ais import list_ais as list_ais_tool
from junior_ai.tools.output_budget import RESULT_URI, ResultStore
from junior_ai.tools.results import (
    AskManyResult,
    AskOneResult,
    ListAIsResult,
    ProgressFn,
    render_ask_many,
    render_call,
    render_list_ais,
)
from junior_ai.tools.threads import THREAD_URI, ThreadStore

log = get_logger(__name__)

INSTRUCTIONS = (
    "Junior AI asks other AI models (Gemini, GPT, Grok, DeepSeek, local models...) for second opinions: ask_one "
    "for one model, ask_many to compare several, consensus for a critiqued collective answer with its dissent, "
    "debate for opposing arguments and a verdict. Call list_ais first to see which AIs are configured and healthy."
)

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class AppState:
    """Shared by every tool call. The registry is built in the background as the server starts, so the host's
    `initialize` is answered while the SDKs load; a tool call that arrives first waits for it."""

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


def as_tool_error(error: JuniorAIError) -> ToolError:
    """Our error → the text the model reads: the status first, then what happened and the fix."""
    if isinstance(error, InvalidInputError):
        return ToolError(f"Invalid input: {redact(str(error))}")
    if isinstance(error, ProviderError):
        text = f"{error.status} from {error.ai} after {error.attempts} attempt(s): {redact(error.message)}"
        if isinstance(error, RateLimitedError) and error.retry_after_s is not None and "retry after" not in text:
            text += f" Retry after {error.retry_after_s:.0f} s."
        return ToolError(text)
    return ToolError(redact(str(error)))


def maps_errors(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    @wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except JuniorAIError as error:
            raise as_tool_error(error) from error

    return wrapper


def describe_validation(tool: str, error: ValidationError) -> str:
    """pydantic's report, reduced to what a model needs to fix its call (and never a 1 MB input echoed back)."""
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in item["loc"] if part != tool + "Arguments") or "arguments"
        problems.append(f"{field}: {item['msg']}")
    return f"Invalid input for {tool}: " + "; ".join(problems) + "."


class JuniorMCPServer(MCPServer[AppState]):
    """MCPServer with argument errors a model can act on: unknown fields named (with a did-you-mean), and
    schema violations stated plainly instead of pydantic's multi-line report."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[AppState, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        tool = self._tool_manager.get_tool(name)
        if tool is not None:
            allowed = sorted(tool.parameters.get("properties", {}))
            unknown = sorted(set(arguments) - set(allowed))
            if unknown:
                hints = "".join(f" Unknown argument {field!r}.{did_you_mean(field, allowed)}" for field in unknown)
                raise ToolError(f"Invalid input for {name}:{hints} Valid arguments: {', '.join(allowed) or 'none'}.")
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError:
            raise
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                raise ToolError(describe_validation(name, exc.__cause__)) from exc.__cause__
            raise


def _progress(ctx: Context[AppState, Any]) -> ProgressFn:
    async def report(done: float, total: float | None, message: str | None) -> None:
        await ctx.report_progress(done, total, message)

    return report


def _thread_note(thread_id: str | None) -> str:
    return f"\n\n(thread_id {thread_id}: pass it to continue this conversation)" if thread_id else ""


def _result(text: str, structured: BaseModel) -> CallToolResult:
    # exclude_none: optional fields without a value are left out, matching the compacted output schemas.
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=structured.model_dump(mode="json", exclude_none=True),
    )


# Argument types: constraints live in the schema the host sees, so most bad input never reaches us.
AIName = Annotated[
    str, Field(description="A configured AI, 'name:model', or an alias (see list_ais).", min_length=1, max_length=200)
]
Prompt = Annotated[str, Field(description="The question or task.", min_length=1)]
System = Annotated[str | None, Field(description="Optional system prompt.")]
Temperature = Annotated[float | None, Field(description="Sampling temperature, 0-2.", ge=0, le=2)]
MaxTokens = Annotated[int | None, Field(description="Cap on answer length in tokens.", ge=1, le=200_000)]
JsonSchema = Annotated[dict[str, Any] | None, Field(description="JSON Schema (an object) for the answer.")]
TimeoutS = Annotated[float | None, Field(description="Per-AI timeout in seconds.", gt=0, le=600)]
AIList = Annotated[list[str] | None, Field(description="AIs to ask; omit for every enabled AI.", max_length=50)]
ThreadId = Annotated[str | None, Field(description="Continue an earlier conversation.")]
DeadlineS = Annotated[float | None, Field(description="Overall deadline in seconds.", gt=0, le=3600)]


def build_server(
    config: JuniorConfig,
    *,
    config_error: str | None = None,
    factories: Mapping[str, ClientFactory] = DEFAULT_FACTORIES,
) -> JuniorMCPServer:
    """The Junior AI MCP server for `config`. With `config_error` set, it starts and every tool reports it."""

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
                    state.ready.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(initialize)
            try:
                yield state
            finally:
                # Shutdown during start-up waits for the clients being built, then closes them all.
                with anyio.CancelScope(shield=True):
                    await state.ready.wait()
                    await cleanup_async_ai_clients(state.registry_unchecked())
                    threads.close()
                log.info("ai_clients_closed")

    server = JuniorMCPServer("junior-ai", instructions=INSTRUCTIONS, lifespan=lifespan, version=__version__)
    settings = config.settings
    store = ResultStore(ttl_s=settings.result_ttl_s, max_bytes=int(settings.result_store_mb * 1024 * 1024))
    threads = ThreadStore(
        ttl_s=settings.thread_ttl_s,
        max_threads=settings.max_threads,
        max_messages=settings.max_thread_messages,
        db_path=settings.threads_db,
    )

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

    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=True)

    @server.tool(annotations=read_only)
    @maps_errors
    async def ask_one(
        ai: AIName,
        prompt: Prompt,
        ctx: Context[AppState, Any],
        system: System = None,
        temperature: Temperature = None,
        max_tokens: MaxTokens = None,
        json_schema: JsonSchema = None,
        timeout_s: TimeoutS = None,
        deadline_s: DeadlineS = None,
        thread_id: ThreadId = None,
    ) -> Annotated[CallToolResult, AskOneResult]:
        """Ask one AI and return its answer."""
        result = await ask_tools.ask_one(
            await registry_of(ctx),
            ai=ai,
            prompt=prompt,
            system=system,
            temperature=temperature,
            max_tokens=max_tokens,
            json_schema=json_schema,
            timeout_s=timeout_s,
            deadline_s=deadline_s,
            progress=_progress(ctx),
            store=store,
            thread_id=thread_id,
            threads=threads,
        )
        return _result(render_call(result) + _thread_note(result.thread_id), result)

    @server.tool(annotations=read_only)
    @maps_errors
    async def ask_many(
        prompt: Prompt,
        ctx: Context[AppState, Any],
        ais: AIList = None,
        system: System = None,
        temperature: Temperature = None,
        max_tokens: MaxTokens = None,
        json_schema: JsonSchema = None,
        timeout_s: TimeoutS = None,
        deadline_s: DeadlineS = None,
        min_responses: Annotated[
            int | None, Field(description="Return once this many AIs answered.", ge=1, le=50)
        ] = None,
        thread_id: ThreadId = None,
    ) -> Annotated[CallToolResult, AskManyResult]:
        """Ask several AIs at once; one result per AI."""

        result = await ask_tools.ask_many(
            await registry_of(ctx),
            prompt=prompt,
            ais=ais,
            system=system,
            temperature=temperature,
            max_tokens=max_tokens,
            json_schema=json_schema,
            timeout_s=timeout_s,
            deadline_s=deadline_s,
            min_responses=min_responses,
            progress=_progress(ctx),
            store=store,
            thread_id=thread_id,
            threads=threads,
        )
        return _result(render_ask_many(result) + _thread_note(result.thread_id), result)

    # Structured content without an output schema: the schema would cost every host turn ~1k characters of
    # context for a result the text rendering already explains.
    @server.tool(annotations=read_only, structured_output=False)
    @maps_errors
    async def consensus(
        question: Annotated[str, Field(description="The question to reach a consensus on.", min_length=1)],
        ctx: Context[AppState, Any],
        ais: AIList = None,
        judge: Annotated[str | None, Field(description="AI that writes the synthesis.")] = None,
        rounds: Annotated[int, Field(description="Critique rounds after the independent answers.", ge=0, le=3)] = 1,
        options: Annotated[
            list[str] | None, Field(description="Choices to vote on; votes are tallied.", max_length=20)
        ] = None,
        deadline_s: DeadlineS = None,
        max_cost_usd: Annotated[
            float | None, Field(description="USD budget (needs prices in the config).", gt=0)
        ] = None,
    ) -> CallToolResult:
        """AIs answer, then critique each other anonymously; a judge gives the consensus, dissent and risks."""
        result = await consensus_tool(
            await registry_of(ctx),
            question=question,
            ais=ais,
            judge=judge,
            rounds=rounds,
            options=options,
            deadline_s=deadline_s,
            max_cost_usd=max_cost_usd,
            progress=_progress(ctx),
            store=store,
        )
        return _result(render_consensus(result), result)

    # Structured content without an output schema: the schema would cost every host turn ~1k characters of
    # context for a result the text rendering already explains.
    @server.tool(annotations=read_only, structured_output=False)
    @maps_errors
    async def debate(
        topic: Annotated[str, Field(description="What to debate.", min_length=1)],
        ctx: Context[AppState, Any],
        ais: AIList = None,
        rounds: Annotated[int, Field(description="Turns each AI takes.", ge=1, le=4)] = 2,
        judge: Annotated[str | None, Field(description="AI that gives the verdict.")] = None,
        stances: Annotated[
            list[str] | None, Field(description="One position per AI (default: for / against / alternative).")
        ] = None,
        mode: Annotated[
            Literal["rounds", "sequential"],
            Field(description="rounds: concurrent turns; sequential: each builds on the previous speaker."),
        ] = "rounds",
        deadline_s: DeadlineS = None,
    ) -> CallToolResult:
        """AIs argue assigned positions; a judge gives the strongest arguments and a verdict."""
        result = await debate_tool(
            await registry_of(ctx),
            topic=topic,
            ais=ais,
            rounds=rounds,
            judge=judge,
            stances=stances,
            mode=mode,
            deadline_s=deadline_s,
            progress=_progress(ctx),
            store=store,
        )
        return _result(render_debate(result), result)

    @server.tool(annotations=read_only, structured_output=False)
    @maps_errors
    async def ask_batch(
        template: Annotated[str, Field(description="Prompt with {item} or {item.field}.", min_length=1)],
        items: Annotated[list[Any], Field(description="Strings or objects.", min_length=1, max_length=10_000)],
        ctx: Context[AppState, Any],
        ai: AIName | None = None,
        ais: AIList = None,
        json_schema: JsonSchema = None,
        max_concurrency: Annotated[int | None, Field(ge=1, le=1000)] = None,
        deadline_s: DeadlineS = None,
    ) -> CallToolResult:
        """Run a template over many items; summary here, every result as a JSON-lines resource."""
        summary = await batch_tool(
            await registry_of(ctx),
            template=template,
            items=items,
            ai=ai,
            ais=ais,
            json_schema=json_schema,
            max_concurrency=max_concurrency,
            deadline_s=deadline_s,
            progress=_progress(ctx),
            store=store,
        )
        return _result(render_batch(summary), summary)

    @server.tool(annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
    @maps_errors
    async def list_ais(
        ctx: Context[AppState, Any],
        models: Annotated[bool, Field(description="Also list each AI's models.")] = False,
        refresh: Annotated[bool, Field(description="Bypass the model cache.")] = False,
    ) -> Annotated[CallToolResult, ListAIsResult]:
        """Configured AIs: health, usage; models=true lists their models."""
        result = await list_ais_tool(await registry_of(ctx), models=models, refresh=refresh)
        return _result(render_list_ais(result), result)

    register_prompts(server)
    compact_tool_schemas(server._tool_manager.list_tools())
    return server
