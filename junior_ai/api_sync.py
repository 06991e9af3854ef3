"""`SyncJuniorAI`: the blocking twin of `JuniorAI` for scripts, notebooks and Streamlit.

It runs a `JuniorAI` on its own event loop in a private thread (an anyio blocking portal), so it works the same
whether or not the calling thread already runs an event loop (Jupyter does). `stream` and `map` are plain
iterators; leaving a `for` loop early closes the provider request or cancels the map's calls, since Python
closes a dropped generator at once and that close is passed on to the loop thread.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Generator, Iterable, Iterator, Sequence
from contextlib import ExitStack, suppress
from types import TracebackType
from typing import Any, TypeVar

from anyio.from_thread import BlockingPortal, start_blocking_portal

from junior_ai.ai.batch import ItemResult
from junior_ai.api import ConfigSource, JuniorAI
from junior_ai.api_map import MapRun
from junior_ai.api_stream import AnswerStream
from junior_ai.api_types import Answer, MapProgress
from junior_ai.core.config import JuniorConfig
from junior_ai.core.errors import InvalidInputError
from junior_ai.tools.collab.results import ConsensusResult
from junior_ai.tools.results import AskManyResult

T = TypeVar("T")


class SyncJuniorAI:
    """Blocking calls with the same names and arguments as `JuniorAI`. Use as `with SyncJuniorAI.from_config()
    as jr:`, or call `close()` when done."""

    def __init__(self, config: JuniorConfig) -> None:
        self.config = config
        self._stack: ExitStack | None = None
        self._portal: BlockingPortal | None = None
        self._jr: JuniorAI | None = None
        self._closed = False

    @classmethod
    def from_config(cls, source: ConfigSource = None) -> SyncJuniorAI:
        """Same sources as `JuniorAI.from_config`: the normal lookup, a path, a dict or a `JuniorConfig`."""
        return cls(JuniorAI.from_config(source).config)

    @property
    def ais(self) -> list[str]:
        return [ai.name for ai in self.config.enabled()]

    def _started(self) -> tuple[BlockingPortal, JuniorAI]:
        if self._closed:
            raise InvalidInputError("this SyncJuniorAI is closed; create a new one with SyncJuniorAI.from_config().")
        if self._portal is None or self._jr is None:
            stack = ExitStack()
            try:
                portal = stack.enter_context(start_blocking_portal())
                jr = JuniorAI(self.config)
                stack.enter_context(portal.wrap_async_context_manager(jr))
            except BaseException:
                stack.close()
                raise
            self._stack, self._portal, self._jr = stack, portal, jr
        return self._portal, self._jr

    def close(self) -> None:
        """Close every AI client and stop the private loop thread. Calling it again does nothing."""
        self._closed = True
        stack, self._stack, self._portal, self._jr = self._stack, None, None, None
        if stack is not None:
            stack.close()

    def __enter__(self) -> SyncJuniorAI:
        self._started()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- calls: each one runs on the private loop and blocks until it is done ---

    def ask(
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
    ) -> Answer:
        """`JuniorAI.ask`, blocking."""
        portal, jr = self._started()
        return portal.call(
            lambda: jr.ask(
                ai,
                prompt,
                system=system,
                temperature=temperature,
                max_tokens=max_tokens,
                json_schema=json_schema,
                reasoning_effort=reasoning_effort,
                timeout_s=timeout_s,
            )
        )

    def ask_many(
        self,
        prompt: str,
        *,
        ais: Sequence[str] | None = None,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        json_schema: dict[str, Any] | None = None,
        reasoning_effort: str | None = None,
        timeout_s: float | None = None,
        deadline_s: float | None = None,
        min_responses: int | None = None,
    ) -> AskManyResult:
        """`JuniorAI.ask_many`, blocking."""
        portal, jr = self._started()
        return portal.call(
            lambda: jr.ask_many(
                prompt,
                ais=ais,
                system=system,
                temperature=temperature,
                max_tokens=max_tokens,
                json_schema=json_schema,
                reasoning_effort=reasoning_effort,
                timeout_s=timeout_s,
                deadline_s=deadline_s,
                min_responses=min_responses,
            )
        )

    def consensus(
        self,
        question: str,
        *,
        ais: Sequence[str] | None = None,
        judge: str | None = None,
        rounds: int = 1,
        options: Sequence[str] | None = None,
        deadline_s: float | None = None,
        max_cost_usd: float | None = None,
    ) -> ConsensusResult:
        """`JuniorAI.consensus`, blocking."""
        portal, jr = self._started()
        return portal.call(
            lambda: jr.consensus(
                question,
                ais=ais,
                judge=judge,
                rounds=rounds,
                options=options,
                deadline_s=deadline_s,
                max_cost_usd=max_cost_usd,
            )
        )

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
    ) -> SyncAnswerStream:
        """`JuniorAI.stream` as a plain iterator of text pieces; `.answer` is set when it has finished.
        `on_restart` is called on the loop thread."""
        portal, jr = self._started()
        stream = jr.stream(
            ai,
            prompt,
            system=system,
            temperature=temperature,
            max_tokens=max_tokens,
            reasoning_effort=reasoning_effort,
            timeout_s=timeout_s,
            idle_timeout_s=idle_timeout_s,
            restart_ok=restart_ok,
            on_restart=on_restart,
        )
        return SyncAnswerStream(portal, stream)

    def map(
        self,
        template: str,
        items: Iterable[Any] | AsyncIterable[Any],
        *,
        ai: str,
        max_concurrency: int | None = None,
        ordered: bool = False,
        reorder_window: int | None = None,
        progress: Callable[[MapProgress], None] | None = None,
        total: int | None = None,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        json_schema: dict[str, Any] | None = None,
        reasoning_effort: str | None = None,
        timeout_s: float | None = None,
        max_input_tokens: int | None = None,
    ) -> Generator[ItemResult]:
        """`JuniorAI.map` as a plain iterator. Items are read lazily on the loop thread; `progress` is called
        there too, so keep it quick (and it must not call this SyncJuniorAI)."""
        portal, jr = self._started()

        async def start() -> MapRun:
            return jr.map(
                template,
                items,
                ai=ai,
                max_concurrency=max_concurrency,
                ordered=ordered,
                reorder_window=reorder_window,
                progress=progress,
                total=total,
                system=system,
                temperature=temperature,
                max_tokens=max_tokens,
                json_schema=json_schema,
                reasoning_effort=reasoning_effort,
                timeout_s=timeout_s,
                max_input_tokens=max_input_tokens,
            )

        return _blocking_iter(portal, portal.call(start))


class SyncAnswerStream(Iterator[str]):
    """Text pieces, blocking; closes the provider request when closed, dropped, or left early in a `for`."""

    def __init__(self, portal: BlockingPortal, stream: AnswerStream) -> None:
        self._portal = portal
        self._stream = stream
        self._pieces = _blocking_iter(portal, stream)

    @property
    def answer(self) -> Answer | None:
        return self._stream.answer

    @property
    def restarts(self) -> int:
        return self._stream.restarts

    def __iter__(self) -> SyncAnswerStream:
        return self

    def __next__(self) -> str:
        return next(self._pieces)

    def close(self) -> None:
        self._pieces.close()

    def __enter__(self) -> SyncAnswerStream:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _blocking_iter(portal: BlockingPortal, source: AsyncIterator[T]) -> Generator[T]:
    """Each `next()` runs `source.__anext__()` on the loop thread; closing this generator (explicitly, or by
    dropping it) closes `source` there."""
    try:
        while True:
            try:
                yield portal.call(source.__anext__)
            except StopAsyncIteration:
                return
    finally:
        close = getattr(source, "aclose", None)
        if close is not None:
            with suppress(RuntimeError):  # the portal is already stopped: its loop closed everything as it ended
                portal.call(close)
