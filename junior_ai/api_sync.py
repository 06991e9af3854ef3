"""`SyncJuniorAI`: the blocking twin of `JuniorAI` for scripts, notebooks and Streamlit.

It runs a `JuniorAI` on its own event loop in a private thread (an anyio blocking portal), so it works the same
whether or not the calling thread already runs an event loop (Jupyter does). `stream` and `map` are plain
iterators; leaving a `for` loop early closes the provider request or cancels the map's calls, since Python
closes a dropped generator at once and that close is passed on to the loop thread.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import AsyncIterable, AsyncIterator, Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager, suppress
from types import TracebackType
from typing import Any, TypeVar

import anyio
from anyio.from_thread import BlockingPortal

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
        self._portal: BlockingPortal | None = None
        self._jr: JuniorAI | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
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
            loop = _LoopThread()
            jr = JuniorAI(self.config)
            entered = loop.portal.wrap_async_context_manager(jr)
            try:
                entered.__enter__()
            except BaseException:
                loop.stop()
                raise
            self._portal, self._jr = loop.portal, jr
            # Closed by close(), or when this object is collected, or at interpreter exit for a script that never
            # closed it: the loop thread is a daemon, so a forgotten instance never keeps a process from exiting.
            self._finalizer = weakref.finalize(self, _shut_down, loop, entered)
        return self._portal, self._jr

    def close(self) -> None:
        """Close every AI client and stop the private loop thread. Calling it again does nothing."""
        self._closed = True
        finalizer, self._finalizer, self._portal, self._jr = self._finalizer, None, None, None
        if finalizer is not None:
            finalizer()

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
        files: str | Sequence[str] | None = None,
        diff: str | None = None,
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
                files=files,
                diff=diff,
            )
        )

    def ask_many(
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
                files=files,
                diff=diff,
            )
        )

    def consensus(
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
                reasoning_effort=reasoning_effort,
                files=files,
                diff=diff,
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


class _LoopThread:
    """An event loop of its own in a daemon thread, and the portal through which other threads call into it."""

    def __init__(self) -> None:
        ready: Future[BlockingPortal] = Future()

        async def serve() -> None:
            async with BlockingPortal() as portal:
                ready.set_result(portal)
                await portal.sleep_until_stopped()

        def run() -> None:
            try:
                anyio.run(serve)
            except BaseException as error:
                if not ready.done():
                    ready.set_exception(error)

        self.thread = threading.Thread(target=run, name="junior-ai-loop", daemon=True)
        self.thread.start()
        self.portal = ready.result()

    def stop(self) -> None:
        with suppress(RuntimeError):  # already stopped
            self.portal.call(self.portal.stop)
        self.thread.join(timeout=10)


def _shut_down(loop: _LoopThread, entered: AbstractContextManager[Any]) -> None:
    try:
        entered.__exit__(None, None, None)
    finally:
        loop.stop()


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
