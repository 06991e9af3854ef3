"""`JuniorAI`: Junior AI as an async Python library, a thin face over the functions the MCP tools use.

    async with JuniorAI.from_config() as jr:            # the normal credentials lookup; or a path, or a dict
        answer = await jr.ask("gemini", "Explain this regex", json_schema=schema)
        answers = await jr.ask_many("Review this plan", ais=["gemini", "openai"], deadline_s=30)
        async for piece in jr.stream("openai", "Write a haiku"): ...
        async for result in jr.map("Summarise: {item}", items, ai="fast", max_concurrency=16): ...
        verdict = await jr.consensus("Postgres or SQLite?")

The instance owns its AI clients (built on first use or on entering `async with`, closed on leaving it or by
`aclose()`). Failures raise the `junior_ai.JuniorAIError` tree; fan-outs and maps report each AI's or item's
outcome in its result instead, so one failure never takes the others down. Full guide: docs/library.md.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack, aclosing
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
from anyio.abc import TaskGroup

from junior_ai.ai.registry import AIRegistry, initialize_all_clients_async
from junior_ai.ai.request_options import request_from_prompt
from junior_ai.ai.stream_call import stream_ai_async
from junior_ai.ai.types import AIResponse, GenerateRequest, StreamDelta
from junior_ai.api_map import MapRun, ProgressCallback
from junior_ai.api_stream import AnswerStream, RestartCounter
from junior_ai.api_types import Answer
from junior_ai.core.config import JuniorConfig, config_from_mapping, load_config
from junior_ai.core.errors import InvalidInputError, InvalidOutputError, ProviderTimeoutError
from junior_ai.core.log import configure_library_logging
from junior_ai.tools.arguments import AskManyArgs, AskOneArgs, ConsensusArgs, MapArgs, StreamArgs
from junior_ai.tools.ask import ask_many, ask_one
from junior_ai.tools.collab.consensus import consensus
from junior_ai.tools.collab.results import ConsensusResult
from junior_ai.tools.results import AskManyResult
from junior_ai.tools.validation import check_json_schema, check_prompt

ConfigSource = str | os.PathLike[str] | Mapping[str, Any] | JuniorConfig | None
"""None: the documented lookup (JUNIOR_AI_CREDENTIALS, ./credentials.json, ~/.config/junior-ai/, provider keys
in the environment); a path to a credentials file; the file's contents as a dict; or a built `JuniorConfig`."""


class JuniorAI:
    """Ask AIs from Python. Create with `JuniorAI.from_config(...)`; use as `async with`."""

    def __init__(self, config: JuniorConfig) -> None:
        configure_library_logging()  # never structlog's default of printing to stdout
        self.config = config
        self._registry: AIRegistry | None = None
        self._starting = anyio.Lock()
        self._stack: AsyncExitStack | None = None
        self._group: TaskGroup | None = None
        self._closed = False

    @classmethod
    def from_config(cls, source: ConfigSource = None) -> JuniorAI:
        """Load and check the configuration now (a `ConfigError` names the file, AI, field and fix); the AI
        clients are built on first use."""
        if isinstance(source, JuniorConfig):
            return cls(source)
        if isinstance(source, Mapping):
            return cls(config_from_mapping(source))
        if source is not None and not isinstance(source, str | os.PathLike):
            raise InvalidInputError(
                f"from_config takes a path, a dict or nothing (the normal lookup), not {type(source).__name__}."
            )
        return cls(load_config(str(Path(source)) if source is not None else None))

    # --- lifecycle ---

    async def registry(self) -> AIRegistry:
        """The live AI clients, built on first use (all AIs at once)."""
        if self._closed:
            raise InvalidInputError("this JuniorAI is closed; create a new one with JuniorAI.from_config().")
        if self._registry is None:
            async with self._starting:
                if self._registry is None:
                    self._registry = await initialize_all_clients_async(self.config)
        return self._registry

    @property
    def ais(self) -> list[str]:
        """The enabled AIs' names (aliases such as "fast" work wherever an AI is named, too)."""
        return [ai.name for ai in self.config.enabled()]

    async def __aenter__(self) -> JuniorAI:
        await self.registry()
        self._stack = AsyncExitStack()
        self._group = await self._stack.enter_async_context(anyio.create_task_group())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._stack is not None and self._group is not None:
                self._group.cancel_scope.cancel()  # maps still running when the block ends are stopped
                await self._stack.__aexit__(exc_type, exc, tb)
        finally:
            self._stack = self._group = None
            await self.aclose()

    async def aclose(self) -> None:
        """Close every AI client (async and sync). Calling it again does nothing."""
        self._closed = True
        if self._registry is not None:
            await self._registry.aclose()

    def task_group(self) -> TaskGroup:
        """Where `map`'s workers run when it is iterated directly (inside `async with` only)."""
        if self._group is None:
            raise InvalidInputError(
                "iterating jr.map(...) directly needs `async with JuniorAI.from_config() as jr:`; "
                "or use `async with jr.map(...) as results: async for result in results: ...`."
            )
        return self._group

    # --- calls ---

    async def ask(
        self,
        ai: str,
        prompt: str,
        *,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        json_schema: dict[str, Any] | None = None,
        reasoning_effort: str | None = None,
        timeout_s: float | None = None,
        files: str | Sequence[str] | None = None,
        diff: str | None = None,
    ) -> Answer:
        """One AI's answer. With `json_schema`, `answer.data` is the parsed, validated value; an answer that
        fails the schema twice raises `InvalidOutputError` (its `.text` and `.validation_errors` say how).
        Raises `InvalidInputError` (also a ValueError) or a `ProviderError` such as `ProviderTimeoutError`
        (also a TimeoutError) or `RateLimitedError` (with `retry_after_s`)."""
        args = AskOneArgs.parse(
            reasoning_effort=reasoning_effort,
            files=as_list(files),
            diff=diff,
            ai=ai,
            prompt=prompt,
            system=system,
            temperature=temperature,
            max_tokens=max_tokens,
            json_schema=json_schema,
            timeout_s=timeout_s,
            deadline_s=timeout_s,
        )
        result = await ask_one(await self.registry(), args)
        if result.status == "invalid_output":
            raise InvalidOutputError(
                result.error or "the answer did not match the json_schema",
                ai=result.ai,
                text=result.text or "",
                validation_errors=result.validation_errors or [],
                attempts=result.attempts,
                model=result.model,
            )
        if result.status == "timeout":
            raise ProviderTimeoutError(result.error or f"{ai} ran out of time", ai=result.ai, attempts=result.attempts)
        return Answer.from_result(result)

    async def ask_many(
        self,
        prompt: str,
        *,
        ais: str | Sequence[str] | None = None,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        json_schema: dict[str, Any] | None = None,
        reasoning_effort: str | None = None,
        timeout_s: float | None = None,
        deadline_s: float | None = None,
        min_responses: int | None = None,
        files: str | Sequence[str] | None = None,
        diff: str | None = None,
    ) -> AskManyResult:
        """Several AIs at once (all enabled ones when `ais` is None). `.results` has one entry per AI with its
        own `status` ("ok", "timeout", "invalid_output", ...): one AI failing never fails the others."""
        args = AskManyArgs.parse(
            reasoning_effort=reasoning_effort,
            files=as_list(files),
            diff=diff,
            prompt=prompt,
            ais=as_list(ais),
            system=system,
            temperature=temperature,
            max_tokens=max_tokens,
            json_schema=json_schema,
            timeout_s=timeout_s,
            deadline_s=deadline_s,
            min_responses=min_responses,
        )
        return await ask_many(await self.registry(), args)

    def stream(
        self,
        ai: str,
        prompt: str,
        *,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        reasoning_effort: str | None = None,
        timeout_s: float | None = None,
        idle_timeout_s: float | None = None,
        restart_ok: bool = False,
        on_restart: Callable[[], None] | None = None,
    ) -> AnswerStream:
        """The answer's text as it arrives: `async for piece in jr.stream(...)`. After the loop, `.answer` has
        the whole `Answer` (usage, cost, latency). Leaving the loop early closes the provider request.

        A failure before the first piece is retried invisibly. After it, the failure is raised, since text
        already handed out cannot be taken back; with `restart_ok=True` the answer starts again from its
        beginning instead (`on_restart` is called first, and `.restarts` counts them)."""
        args = StreamArgs.parse(
            ai=ai,
            prompt=prompt,
            system=system,
            temperature=temperature,
            max_tokens=max_tokens,
            reasoning_effort=reasoning_effort,
            timeout_s=timeout_s,
            idle_timeout_s=idle_timeout_s,
        )
        request = request_from_prompt(
            check_prompt(args.prompt),
            system=args.system,
            temperature=args.temperature,
            max_tokens=args.max_tokens,
            reasoning_effort=args.reasoning_effort,
        )
        restarts = RestartCounter(on_restart)
        stream = AnswerStream(ai, restarts)
        stream.attach(self._stream_events(ai, request, args.timeout_s, args.idle_timeout_s, restart_ok, restarts))
        return stream

    async def _stream_events(
        self,
        ai: str,
        request: GenerateRequest,
        timeout_s: float | None,
        idle_timeout_s: float | None,
        restart_ok: bool,
        on_restart: Callable[[], None],
    ) -> AsyncGenerator[StreamDelta | AIResponse]:
        registry = await self.registry()
        events = stream_ai_async(
            registry,
            ai,
            request,
            timeout_s=timeout_s,
            idle_timeout_s=idle_timeout_s,
            restart_ok=restart_ok,
            on_restart=on_restart,
        )
        async with aclosing(events):
            async for event in events:
                yield event

    def map(
        self,
        template: str,
        items: Iterable[Any] | AsyncIterable[Any],
        *,
        ai: str,
        max_concurrency: int | None = None,
        ordered: bool = False,
        reorder_window: int | None = None,
        progress: ProgressCallback | None = None,
        total: int | None = None,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        json_schema: dict[str, Any] | None = None,
        reasoning_effort: str | None = None,
        timeout_s: float | None = None,
        max_input_tokens: int | None = None,
    ) -> MapRun:
        """`template` (`{item}`, `{item.field}`) over `items`, at most `max_concurrency` calls at once (default:
        the AI's own limit). One `ItemResult` per item, as each finishes (`ordered=True`: in input order),
        with `index`, `key`, `status`, `text`/`data`, `usage` and `queue_wait_ms` + `call_ms`. `progress`
        gets a `MapProgress` (done, total, rate, ETA) after every item."""
        # The same rules and messages as ask_batch and `junior-ai batch`, before any item is read or sent.
        args = MapArgs.parse(
            template=template,
            ai=ai,
            system=system,
            temperature=temperature,
            max_tokens=max_tokens,
            json_schema=json_schema,
            reasoning_effort=reasoning_effort,
            max_concurrency=max_concurrency,
            timeout_s=timeout_s,
            max_input_tokens=max_input_tokens,
        )
        check_json_schema(args.json_schema)  # a bad schema fails here, not once per item
        return MapRun(
            self,
            template,
            items,
            ai=ai,
            options=args.model_dump(exclude={"template", "ai"}),
            ordered=ordered,
            reorder_window=reorder_window,
            progress=progress,
            total=total,
        )

    async def consensus(
        self,
        question: str,
        *,
        ais: str | Sequence[str] | None = None,
        judge: str | None = None,
        rounds: int = 1,
        options: str | Sequence[str] | None = None,
        deadline_s: float | None = None,
        max_cost_usd: float | None = None,
        reasoning_effort: str | None = None,
        files: str | Sequence[str] | None = None,
        diff: str | None = None,
    ) -> ConsensusResult:
        """Several AIs answer, critique each other for `rounds` rounds, and a judge writes the synthesis."""
        args = ConsensusArgs.parse(
            reasoning_effort=reasoning_effort,
            files=as_list(files),
            diff=diff,
            question=question,
            ais=as_list(ais),
            judge=judge,
            rounds=rounds,
            options=as_list(options),
            deadline_s=deadline_s,
            max_cost_usd=max_cost_usd,
        )
        return await consensus(await self.registry(), args)


def as_list(value: str | Sequence[str] | None) -> list[str] | None:
    """A list argument as the model takes it: one string is one item (`files="README.md"`, `ais="openai"`), never
    its characters."""
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    try:
        return list(value)
    except TypeError:  # not iterable at all: the model refuses it, naming the argument
        return value  # type: ignore[return-value]
