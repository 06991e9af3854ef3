"""Our errors → the text a host's model reads. In mcp 2.x only a `ToolError`'s message reaches the model; any
other exception becomes a generic "Error executing tool", so every error is mapped here, with the fix in it."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, CallToolResult, GetPromptResult, InputRequiredResult
from pydantic import ValidationError

from junior_ai.core.errors import InvalidInputError, JuniorAIError, ProviderError, RateLimitedError
from junior_ai.core.redact import redact
from junior_ai.core.suggest import did_you_mean, quoted
from junior_ai.server.lifespan import AppState
from junior_ai.tools.arguments import describe_validation
from junior_ai.tools.jobs.runner import JobRunner


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


def invalid_arguments(tool: str, error: ValidationError) -> ToolError:
    return ToolError(f"Invalid input: {describe_validation(tool, error)}")


class JuniorMCPServer(MCPServer[AppState]):
    """MCPServer with argument errors a model can act on: unknown fields named (with a did-you-mean), and
    schema violations stated plainly instead of pydantic's multi-line report."""

    job_runner: JobRunner | None = None
    """Where its jobs run: an HTTP shutdown lets them finish within the grace period before the lifespan exits."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[AppState, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        tool = self._tool_manager.get_tool(name)
        if tool is not None:
            allowed = sorted(tool.parameters.get("properties", {}))
            unknown = sorted(set(arguments) - set(allowed))
            if unknown:
                hints = "".join(
                    f" Unknown argument {quoted(field)}.{did_you_mean(field, allowed)}" for field in unknown[:10]
                )
                raise ToolError(
                    f"Invalid input: arguments of {name}:{hints} Valid arguments: {', '.join(allowed) or 'none'}."
                )
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError:
            raise
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                raise invalid_arguments(name, exc.__cause__) from exc.__cause__
            if isinstance(exc.__cause__, ToolError):
                # The SDK prefixes a handler's ToolError with "Error executing tool <name>: "; ours already say
                # what went wrong, so every error reads the same ("Invalid input: ...", "<status> from <ai> ...").
                raise ToolError(str(exc.__cause__)) from exc.__cause__.__cause__
            raise

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None, context: Context[AppState, Any] | None = None
    ) -> GetPromptResult | InputRequiredResult:
        """The SDK answers an unknown prompt or a missing argument with error code 0, a Python set printout and a
        traceback on stderr; a host deserves -32602 (invalid params) with a message that says what to send."""
        prompt = self._prompt_manager.get_prompt(name)
        if prompt is None:
            known = sorted(p.name for p in self._prompt_manager.list_prompts())
            raise MCPError(
                INVALID_PARAMS,
                f"Unknown prompt {quoted(name)}.{did_you_mean(name, known)} Prompts: {', '.join(known) or 'none'}.",
            )
        declared = {argument.name: argument for argument in prompt.arguments or []}
        given = arguments or {}
        missing = sorted(n for n, a in declared.items() if a.required and not str(given.get(n) or "").strip())
        unknown = sorted(set(given) - set(declared))
        problems = [f"missing required argument {m!r} ({declared[m].description or 'text'})" for m in missing]
        problems += [f"unknown argument {quoted(u)}.{did_you_mean(u, sorted(declared))}" for u in unknown]
        problems += [f"argument {k!r} must be a string" for k, v in given.items() if not isinstance(v, str)]
        if problems:
            raise MCPError(
                INVALID_PARAMS,
                f"Prompt {quoted(name)}: " + "; ".join(problems) + f". Arguments: {', '.join(declared) or 'none'}.",
            )
        try:
            return await super().get_prompt(name, given, context)
        except ValueError as error:
            if isinstance(error.__cause__, ValueError) and isinstance(error.__cause__.__cause__, InvalidInputError):
                raise MCPError(INVALID_PARAMS, f"Prompt {name!r}: {error.__cause__.__cause__}") from None
            raise
