"""One arguments model per tool: the only place a tool's parameters, their constraints and the short descriptions
a host's model reads are written.

The MCP registration publishes each model's JSON schema as the tool's input schema, the CLI builds the same
model from its flags, the library API from its keyword arguments, and the tool function takes it. Adding a
parameter to a tool is a change here (and in the function that uses it), nothing else.

Descriptions are short on purpose: a host re-sends `tools/list` to its model on every turn.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from junior_ai.core.errors import InvalidInputError

AIName = Annotated[
    str, Field(description="A configured AI, 'name:model', or an alias (see list_ais).", min_length=1, max_length=200)
]
Prompt = Annotated[str, Field(description="The question or task.", min_length=1)]
System = Annotated[str | None, Field(description="Optional system prompt.")]
Temperature = Annotated[float | None, Field(description="Sampling temperature, 0-2.", ge=0, le=2)]
MaxTokens = Annotated[int | None, Field(description="Cap on answer length in tokens.", ge=1, le=200_000)]
JsonSchema = Annotated[dict[str, Any] | None, Field(description="JSON Schema (an object) for the answer.")]
TimeoutS = Annotated[float | None, Field(description="Per-AI timeout in seconds.", gt=0, le=600)]
MAX_NAME_CHARS = 200
"""Every free string that names something (an AI, a judge, a thread): far above any real name, and it bounds what
an "unknown ..." error can echo back."""
Name = Annotated[str, Field(max_length=MAX_NAME_CHARS)]
AIList = Annotated[list[Name] | None, Field(description="AIs to ask; omit for every enabled AI.", max_length=50)]
ThreadId = Annotated[str | None, Field(description="Continue an earlier conversation.", max_length=MAX_NAME_CHARS)]
DeadlineS = Annotated[float | None, Field(description="Overall deadline in seconds.", gt=0, le=3600)]
Background = bool | None
"""True: return a job_id at once. No description, and None for false, keep tools/list small (the server
instructions explain jobs)."""
Judge = Annotated[str | None, Field(description="AI that writes the synthesis.", max_length=MAX_NAME_CHARS)]
# Context by reference (issue 12): the host names files and diffs instead of pasting them. Descriptions are
# minimal and reasoning_effort has no enum in the schema a host re-reads every turn (tools/list must stay under
# ~2,500 tokens); the server's instructions, sent once, explain them, and a bad value gets an error listing the
# valid ones.
EFFORTS = ("minimal", "low", "medium", "high")


def _check_effort(value: str | None) -> str | None:
    if value is not None and value not in EFFORTS:
        raise ValueError(f"reasoning_effort must be one of {', '.join(EFFORTS)}")
    return value


Files = list[str] | None
Diff = Annotated[str | None, Field(description="Git diff: HEAD, staged, A...B or a commit.", max_length=MAX_NAME_CHARS)]
Effort = Annotated[str | None, AfterValidator(_check_effort)]


def describe_validation(tool: str, error: ValidationError) -> str:
    """pydantic's report, reduced to what a model needs to fix its call (and never a 1 MB input echoed back)."""
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        # A field name can be the caller's own (an unknown argument): cut short like every echoed name.
        field = ".".join(str(part)[:60] for part in item["loc"] if part != tool + "Arguments") or "arguments"
        message = "must be a finite number, not NaN or infinity" if item["type"] == "finite_number" else item["msg"]
        problems.append(f"{field}: {message}")
    return f"arguments of {tool}: " + "; ".join(problems) + "."


MAX_INPUT_CHARS = 500_000
"""Far above any model's context window in practice; stops a runaway paste before it costs anything."""


MAX_DEPTH = 64


def _chars(value: Any, depth: int = 0) -> int:
    """Characters of text in an argument value (strings anywhere inside lists and objects, keys included)."""
    if depth > MAX_DEPTH:
        raise PydanticCustomError(
            "input_too_deep", "an argument is nested more than {depth} levels deep; flatten it.", {"depth": MAX_DEPTH}
        )
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(_chars(k, depth + 1) + _chars(v, depth + 1) for k, v in value.items())
    if isinstance(value, list | tuple):
        return sum(_chars(v, depth + 1) for v in value)
    return 0


class ToolArguments(BaseModel):
    """Base of every arguments model: unknown fields are refused, and a built model is not changed."""

    # allow_inf_nan=False: NaN passes every bound check (it compares false), and inf passes `ge`; both are refused.
    # strict: only what the published JSON schema allows ("yes" is not a boolean, "10" not an integer, true not a
    # number); an integer is still a number. The CLI converts its flags' strings before building a model.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)
    TOOL: ClassVar[str] = ""  # the MCP tool this model is the arguments of

    @model_validator(mode="after")
    def _total_size_is_capped(self) -> Self:
        """One cap on everything a call sends, however it is split (prompt, system, question, options, stances,
        templates, items, schema): a 3 MB system prompt must not reach a provider because only `prompt` was
        checked."""
        sizes = {name: _chars(getattr(self, name)) for name in type(self).model_fields}
        total = sum(sizes.values())
        if total > MAX_INPUT_CHARS:
            largest = sorted(((n, c) for n, c in sizes.items() if c), key=lambda item: -item[1])[:3]
            parts = ", ".join(f"{name} {count:,}" for name, count in largest)
            raise PydanticCustomError(
                "input_too_large",
                "the arguments total {total} characters ({parts}); the limit is {limit} for everything one call "
                "sends. Shorten them, or split the work into several calls (`junior-ai batch` for big jobs)",
                {"total": f"{total:,}", "parts": parts, "limit": f"{MAX_INPUT_CHARS:,}"},
            )
        return self

    @classmethod
    def parse(cls, **values: Any) -> Self:
        """Build from keyword arguments (CLI flags, library calls); bad values are an `InvalidInputError` that
        says which argument was wrong and how, like the MCP tool's own error."""
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            raise InvalidInputError(describe_validation(cls.TOOL, error)) from None


class ContextArgs(ToolArguments):
    """The arguments every asking tool shares: material shared by reference, and reasoning effort."""

    files: Files = None
    diff: Diff = None
    reasoning_effort: Effort = None


class AskOneArgs(ContextArgs):
    TOOL = "ask_one"

    ai: AIName
    prompt: Prompt
    system: System = None
    temperature: Temperature = None
    max_tokens: MaxTokens = None
    json_schema: JsonSchema = None
    timeout_s: TimeoutS = None
    deadline_s: DeadlineS = None
    thread_id: ThreadId = None
    background: Background = None


class AskManyArgs(ContextArgs):
    TOOL = "ask_many"

    prompt: Prompt
    ais: AIList = None
    system: System = None
    temperature: Temperature = None
    max_tokens: MaxTokens = None
    json_schema: JsonSchema = None
    timeout_s: TimeoutS = None
    deadline_s: DeadlineS = None
    min_responses: Annotated[int | None, Field(description="Return once this many AIs answered.", ge=1, le=50)] = None
    thread_id: ThreadId = None
    background: Background = None


class ConsensusArgs(ContextArgs):
    TOOL = "consensus"

    question: Annotated[str, Field(description="The question to reach a consensus on.", min_length=1)]
    ais: AIList = None
    judge: Judge = None
    rounds: Annotated[int, Field(description="Critique rounds after the independent answers.", ge=0, le=3)] = 1
    options: Annotated[list[str] | None, Field(description="Choices to vote on; votes are tallied.", max_length=20)] = (
        None
    )
    deadline_s: DeadlineS = None
    max_cost_usd: Annotated[
        float | None, Field(description="USD budget; refused if an AI's price is unknown.", gt=0)
    ] = None
    background: Background = None


class DebateArgs(ContextArgs):
    TOOL = "debate"

    topic: Annotated[str, Field(description="What to debate.", min_length=1)]
    ais: AIList = None
    rounds: Annotated[int, Field(description="Turns each AI takes.", ge=1, le=4)] = 2
    judge: Annotated[str | None, Field(description="AI that gives the verdict.", max_length=MAX_NAME_CHARS)] = None
    stances: Annotated[
        list[str] | None, Field(description="One position per AI (default: for / against / alternative).")
    ] = None
    mode: Annotated[
        Literal["rounds", "sequential"],
        Field(description="rounds: concurrent turns; sequential: each builds on the previous speaker."),
    ] = "rounds"
    deadline_s: DeadlineS = None
    background: Background = None


Template = Annotated[str, Field(description="Prompt with {item} or {item.field}.", min_length=1)]
MaxConcurrency = Annotated[int | None, Field(ge=1, le=1000)]


class AskBatchArgs(ToolArguments):
    TOOL = "ask_batch"

    template: Template
    items: Annotated[list[Any], Field(description="Strings or objects.", min_length=1, max_length=10_000)]
    ai: Annotated[str | None, Field(description="The AI to run every item on.", min_length=1, max_length=200)] = None
    ais: AIList = None
    system: System = None
    temperature: Temperature = None
    max_tokens: MaxTokens = None
    json_schema: JsonSchema = None
    reasoning_effort: Effort = None
    max_concurrency: MaxConcurrency = None
    deadline_s: DeadlineS = None
    background: Background = None


class BatchArgs(ToolArguments):
    """`junior-ai batch`: ask_batch's per-item options (the same field types, so the same rules and messages),
    for items streamed from a file, which no model holds. Not an MCP tool."""

    TOOL = "batch"

    template: Template
    ai: AIName
    system: System = None
    temperature: Temperature = None
    max_tokens: MaxTokens = None
    json_schema: JsonSchema = None
    reasoning_effort: Effort = None
    max_concurrency: MaxConcurrency = None
    timeout_s: TimeoutS = None
    max_input_tokens: Annotated[int | None, Field(ge=1)] = None


class MapArgs(BatchArgs):
    """The library's `JuniorAI.map`: the batch options, for items from any iterator."""

    TOOL = "map"


class StreamArgs(ToolArguments):
    """The library's `JuniorAI.stream`: ask_one's options that a streamed answer supports."""

    TOOL = "stream"

    ai: AIName
    prompt: Prompt
    system: System = None
    temperature: Temperature = None
    max_tokens: MaxTokens = None
    reasoning_effort: Effort = None
    timeout_s: TimeoutS = None
    idle_timeout_s: TimeoutS = None


class ListAIsArgs(ToolArguments):
    TOOL = "list_ais"

    models: Annotated[bool, Field(description="Also list each AI's models.")] = False
    refresh: Annotated[bool, Field(description="Bypass the model cache.")] = False


class CollectArgs(ToolArguments):
    TOOL = "collect"

    job_id: Annotated[str, Field(min_length=1, max_length=100)]
    wait_s: Annotated[float | None, Field(ge=0)] = None
    cancel: bool = False
