"""What a running job has produced so far, recorded as the tools work, for the snapshot `collect` returns.

The tools report into the observer of the job they run in (a context variable set by the runner, inherited by
every task the tool starts), so no tool signature grows a parameter for it; outside a job every call here is a
no-op.
"""

from __future__ import annotations

from contextvars import ContextVar

from junior_ai.ai.types import CallResult
from junior_ai.tools.jobs.model import JobProgress, Streaming

MAX_STREAMING_CHARS = 4_000
"""Of an AI still writing, the snapshot keeps the last this-many characters: enough to see where it is going."""
SNAPSHOT_CHARS = 32_000
"""All the texts of one snapshot together stay under this (~8k tokens; the text and the structured content both
carry them, so a snapshot stays under the default output budget however many AIs answered at length)."""


def _cut(text: str, share: int) -> str:
    if len(text) <= share:
        return text
    return text[:share] + f"… ({len(text) - share} more characters: `collect` returns the whole answer)"


class JobObserver:
    def __init__(self) -> None:
        self.expected: list[str] = []
        self.arrived: list[CallResult] = []
        self._pieces: dict[str, list[str]] = {}
        self.done: float = 0
        self.total: float | None = None
        self.message: str | None = None

    def progress(self, done: float, total: float | None, message: str | None) -> None:
        self.done, self.total, self.message = done, total, message

    def snapshot(self) -> JobProgress:
        writing = {ai: "".join(pieces) for ai, pieces in self._pieces.items() if pieces}
        share = SNAPSHOT_CHARS // max(1, len(self.arrived) + len(writing))
        streaming = [Streaming(ai=ai, text=text[-min(share, MAX_STREAMING_CHARS) :]) for ai, text in writing.items()]
        arrived = [
            result
            if len(result.text or "") <= share
            else result.model_copy(update={"text": _cut(result.text or "", share)})
            for result in self.arrived
        ]
        return JobProgress(
            done=self.done,
            total=self.total,
            message=self.message,
            expected=list(self.expected),
            arrived=arrived,
            streaming=streaming,
        )

    def text_so_far(self, ai: str) -> str:
        return "".join(self._pieces.get(ai, ()))


_current: ContextVar[JobObserver | None] = ContextVar("junior_ai_job_observer", default=None)


def bind(observer: JobObserver) -> None:
    """Make `observer` the one this task (and every task it starts from now on) reports to."""
    _current.set(observer)


def expect(ais: list[str]) -> None:
    """The AIs this call asks (so a snapshot can say which are still running)."""
    observer = _current.get()
    if observer is not None:
        observer.expected = list(ais)


def result(finished: CallResult) -> None:
    observer = _current.get()
    if observer is not None:
        observer.arrived.append(finished)
        observer._pieces.pop(finished.ai, None)


def text(ai: str, piece: str) -> None:
    observer = _current.get()
    if observer is not None:
        observer._pieces.setdefault(ai, []).append(piece)


def restart(ai: str) -> None:
    """A retried attempt starts its answer again: drop what the abandoned one streamed."""
    observer = _current.get()
    if observer is not None:
        observer._pieces.pop(ai, None)
