"""The MCP tools, each registered from its arguments model (`tools/arguments.py`).

The SDK derives a tool's input schema from a function's signature; `register_tool` gives it a signature made of
the model's fields (their types, constraints and descriptions), so the published schema is the model's own
schema and a parameter is declared once. The handler receives the validated model, never loose keywords.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, ValidationError

from junior_ai.ai.registry import AIRegistry
from junior_ai.core.config import Settings
from junior_ai.core.errors import JuniorAIError
from junior_ai.core.principals import CURRENT_SCOPE
from junior_ai.core.redact import redact, redact_data
from junior_ai.server.client_roots import client_roots
from junior_ai.server.errors import as_tool_error, invalid_arguments
from junior_ai.server.jobs import PartialResult, ToolWork, run_as_job
from junior_ai.server.lifespan import AppState, registry_of
from junior_ai.server.tenancy import CallViews, Tenancy, principal_of, with_principal_usage
from junior_ai.tools import ask as ask_tools
from junior_ai.tools.arguments import (
    AskBatchArgs,
    AskManyArgs,
    AskOneArgs,
    ConsensusArgs,
    ContextArgs,
    DebateArgs,
    ListAIsArgs,
    ToolArguments,
)
from junior_ai.tools.context import describe_context
from junior_ai.tools.jobs.model import JobRecord
from junior_ai.tools.jobs.runner import JobRunner
from junior_ai.tools.jobs.snapshot import ask_many_partial, ask_one_partial
from junior_ai.tools.list_ais import list_ais
from junior_ai.tools.output_budget import ResultStore
from junior_ai.tools.result_fit import failed_calls, fit_result, nobody_answered_text
from junior_ai.tools.results import (
    AskManyResult,
    AskOneResult,
    ProgressFn,
    render_ask_many,
    render_call,
    render_list_ais,
)

A = TypeVar("A", bound=ToolArguments)
_ANNOTATED: Any = Annotated  # subscripted with runtime values below, which a static checker cannot follow
Handler = Callable[[A, Context[AppState, Any], CallViews], Awaitable[CallToolResult]]


def signature_of(model: type[ToolArguments], output: type[BaseModel] | None) -> inspect.Signature:
    """A keyword-only signature with one parameter per model field, plus the request context."""
    parameters = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context[AppState, Any])]
    for name, info in model.model_fields.items():
        # The SDK validates with this signature before the model sees the values, in pydantic's lax mode ("yes"
        # becomes True, NaN fails a bound before "not finite"). So it checks nothing here (Any) and the strict
        # model alone decides, with its own messages; `str` stays `str` only so the SDK does not JSON-decode a
        # prompt that happens to look like JSON. The published schema is the model's (set below).
        annotation = _ANNOTATED[(str if info.annotation is str else Any, Field(description=info.description))]
        default = inspect.Parameter.empty if info.is_required() else info.default
        parameters.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
        )
    returns = _ANNOTATED[CallToolResult, output] if output is not None else CallToolResult
    return inspect.Signature(parameters, return_annotation=returns)


def register_tool(
    server: MCPServer[AppState],
    model: type[A],
    handler: Handler[A],
    *,
    tenancy: Tenancy,
    spends: bool = True,
    description: str,
    annotations: ToolAnnotations,
    output: type[BaseModel] | None = None,
) -> None:
    """Register `handler` as the tool `model.TOOL`. Without `output`, the result carries structured content but
    publishes no output schema (it would cost every host turn context for what the text rendering explains)."""

    async def run(ctx: Context[AppState, Any], **values: Any) -> CallToolResult:
        try:
            args = model.model_validate(values)
        except ValidationError as error:
            raise invalid_arguments(model.TOOL, error) from None
        try:
            # The principal's limits are taken and its spend checked before any work; usage recorded after.
            async with tenancy.call(principal_of(ctx), spends=spends) as views:
                scope = CURRENT_SCOPE.get()
                result = await handler(args, ctx, views)
        except JuniorAIError as error:
            raise as_tool_error(error) from error
        return with_notes(result, scope.notes if scope is not None else [])

    run.__signature__ = signature_of(model, output)  # type: ignore[attr-defined]
    run.__annotations__ = {"ctx": Context[AppState, Any]}
    run.__name__ = model.TOOL
    server.add_tool(
        run,
        name=model.TOOL,
        description=description,
        annotations=annotations,
        structured_output=None if output is not None else False,
    )
    # Publish the model's own schema (with `additionalProperties: false`, which the SDK's signature-derived
    # model leaves out): the host sees exactly what `model` accepts.
    registered = server._tool_manager.get_tool(model.TOOL)
    assert registered is not None
    registered.parameters = model.model_json_schema()


def with_notes(result: CallToolResult, notes: list[str]) -> CallToolResult:
    """`result` with what went wrong after its answers arrived (e.g. the shared state lost mid-call) told at the end
    of its text: the answers are there, the note says what was not kept."""
    if not notes or not result.content or not isinstance(result.content[0], TextContent):
        return result
    first = result.content[0]
    text = first.text + "".join(f"\n\nnote: {redact(note)}" for note in notes)
    return result.model_copy(update={"content": [first.model_copy(update={"text": text}), *result.content[1:]]})


def progress_of(ctx: Context[AppState, Any]) -> ProgressFn:
    async def report(done: float, total: float | None, message: str | None) -> None:
        await ctx.report_progress(done, total, message)

    return report


async def roots_for(args: ContextArgs, ctx: Context[AppState, Any]) -> list[Path] | None:
    """The host's roots, asked for only when the call shares files or a diff."""
    return await client_roots(ctx) if args.files or args.diff is not None else None


def thread_note(thread_id: str | None) -> str:
    return f"\n\n(thread_id {thread_id}: pass it to continue this conversation)" if thread_id else ""


def tool_result(
    text: str,
    structured: BaseModel,
    *,
    registry: AIRegistry | None = None,
    store: ResultStore | None = None,
    fan_out: bool = False,
) -> CallToolResult:
    """The result a host receives: an error result when a fan-out got no answer at all (still listing every AI),
    cut to the output budget counting everything it echoes, and redacted."""
    failures = failed_calls(structured) if fan_out else None
    if failures is not None:
        text = nobody_answered_text(failures) + "\n\n" + text
    # exclude_none: optional fields without a value are left out, matching the compacted output schemas.
    data = structured.model_dump(mode="json", exclude_none=True)
    if registry is not None:
        text, data = fit_result(text, data, budget_tokens=registry.config.settings.output_budget_tokens, store=store)
    # Every result passes the redactor on its way out: an AI's answer or error may echo a URL with a password.
    return CallToolResult(
        content=[TextContent(type="text", text=redact(text))],
        structured_content=redact_data(data),
        is_error=failures is not None,
    )


def model_of(registry: AIRegistry, ai: str) -> str:
    try:
        return registry.entry_for(ai)[1]
    except JuniorAIError:
        return ""


def register_tools(server: MCPServer[AppState], *, tenancy: Tenancy, runner: JobRunner, settings: Settings) -> None:
    """Every tool runs as its caller's principal, with that principal's threads and kept results (`views`)."""
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=True)

    async def as_job(
        ctx: Context[AppState, Any], args: ToolArguments, work: ToolWork, partial: PartialResult | None = None
    ) -> CallToolResult:
        """Run the call as a job (see `server/jobs.py`): its result if it ends by the deadline, else what it has."""
        return await run_as_job(
            runner,
            ctx,
            args.TOOL,
            work,
            deadline_s=getattr(args, "deadline_s", None) or settings.deadline_s,
            background=bool(getattr(args, "background", None)),
            continue_after_deadline=settings.continue_after_deadline,
            partial=partial,
        )

    async def ask_one(args: AskOneArgs, ctx: Context[AppState, Any], views: CallViews) -> CallToolResult:
        registry = await registry_of(ctx)
        roots = await roots_for(args, ctx)  # asked of the host now: the job may outlive this call's session

        async def work(progress: ProgressFn, deadline_s: float) -> CallToolResult:
            job_args = args.model_copy(update={"deadline_s": deadline_s})
            result = await ask_tools.ask_one(
                registry, job_args, progress=progress, store=views.results, threads=views.threads, roots=roots
            )
            shared = describe_context(result.context, result.context_skipped)
            text = shared + render_call(result) + thread_note(result.thread_id)
            return tool_result(text, result, registry=registry, store=views.results)

        def partial(record: JobRecord, poll_after_s: float) -> CallToolResult:
            return tool_result(*ask_one_partial(record, args.ai, model_of(registry, args.ai), poll_after_s))

        return await as_job(ctx, args, work, partial)

    async def ask_many(args: AskManyArgs, ctx: Context[AppState, Any], views: CallViews) -> CallToolResult:
        registry = await registry_of(ctx)
        roots = await roots_for(args, ctx)

        async def work(progress: ProgressFn, deadline_s: float) -> CallToolResult:
            job_args = args.model_copy(update={"deadline_s": deadline_s})
            result = await ask_tools.ask_many(
                registry, job_args, progress=progress, store=views.results, threads=views.threads, roots=roots
            )
            shared = describe_context(result.context, result.context_skipped)
            text = shared + render_ask_many(result) + thread_note(result.thread_id)
            return tool_result(text, result, registry=registry, store=views.results, fan_out=True)

        def partial(record: JobRecord, poll_after_s: float) -> CallToolResult:
            models = {name: model_of(registry, name) for name in record.progress.expected}
            return tool_result(*ask_many_partial(record, models, poll_after_s))

        return await as_job(ctx, args, work, partial)

    # The multi-stage tools' modules are imported on their first call, not at start-up: a host's first answer
    # should not wait for code it may never use.
    async def run_consensus(args: ConsensusArgs, ctx: Context[AppState, Any], views: CallViews) -> CallToolResult:
        from junior_ai.tools.collab.consensus import consensus
        from junior_ai.tools.collab.render import render_consensus

        registry = await registry_of(ctx)
        roots = await roots_for(args, ctx)

        async def work(progress: ProgressFn, deadline_s: float) -> CallToolResult:
            job_args = args.model_copy(update={"deadline_s": deadline_s})
            result = await consensus(registry, job_args, progress=progress, store=views.results, roots=roots)
            text = describe_context(result.context, result.context_skipped) + render_consensus(result)
            return tool_result(text, result, registry=registry, store=views.results, fan_out=True)

        return await as_job(ctx, args, work)

    async def run_debate(args: DebateArgs, ctx: Context[AppState, Any], views: CallViews) -> CallToolResult:
        from junior_ai.tools.collab.debate import debate
        from junior_ai.tools.collab.render import render_debate

        registry = await registry_of(ctx)
        roots = await roots_for(args, ctx)

        async def work(progress: ProgressFn, deadline_s: float) -> CallToolResult:
            job_args = args.model_copy(update={"deadline_s": deadline_s})
            result = await debate(registry, job_args, progress=progress, store=views.results, roots=roots)
            shared = describe_context(result.context, result.context_skipped)
            return tool_result(
                shared + render_debate(result), result, registry=registry, store=views.results, fan_out=True
            )

        return await as_job(ctx, args, work)

    async def run_batch(args: AskBatchArgs, ctx: Context[AppState, Any], views: CallViews) -> CallToolResult:
        from junior_ai.tools.batch import ask_batch, render_batch

        registry = await registry_of(ctx)

        async def work(progress: ProgressFn, deadline_s: float) -> CallToolResult:
            job_args = args.model_copy(update={"deadline_s": deadline_s})
            summary = await ask_batch(registry, job_args, progress=progress, store=views.results)
            return tool_result(render_batch(summary), summary, registry=registry, store=views.results)

        return await as_job(ctx, args, work)

    async def run_list_ais(args: ListAIsArgs, ctx: Context[AppState, Any], views: CallViews) -> CallToolResult:
        registry = await registry_of(ctx)
        result = await list_ais(registry, args)
        result = await with_principal_usage(result, tenancy, views.principal, registry.names)
        return tool_result(render_list_ais(result), result, registry=registry, store=views.results)

    register_tool(
        server, AskOneArgs, ask_one, tenancy=tenancy, description="Ask one AI and return its answer.",
        annotations=read_only,
        output=AskOneResult,
    )  # fmt: skip
    register_tool(
        server, AskManyArgs, ask_many, tenancy=tenancy, description="Ask several AIs at once; one result per AI.",
        annotations=read_only, output=AskManyResult,
    )  # fmt: skip
    register_tool(
        server,
        ConsensusArgs,
        run_consensus,
        tenancy=tenancy,
        description="AIs answer, then critique each other anonymously; a judge gives the consensus, dissent and risks.",
        annotations=read_only,
    )
    register_tool(
        server,
        DebateArgs,
        run_debate,
        tenancy=tenancy,
        description="AIs argue assigned positions; a judge gives the strongest arguments and a verdict.",
        annotations=read_only,
    )
    register_tool(
        server,
        AskBatchArgs,
        run_batch,
        tenancy=tenancy,
        description="Run a template over many items; summary here, every result as a JSON-lines resource.",
        annotations=read_only,
    )
    register_tool(
        server,
        ListAIsArgs,
        run_list_ais,
        tenancy=tenancy,
        spends=False,
        description="Configured AIs: health, usage; models=true lists their models.",
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
        # Structured content without an output schema, like consensus: its ~1,400 characters would be re-sent
        # to the host's model on every turn for a result whose text rendering explains itself.
    )
