"""What a job is, as stored: plain JSON-able records, so any store (in-process, Redis) can keep them.

A job is one tool call whose work outlived the host's deadline (or was started with `background: true`). Its
record carries who owns it, how far it got, and, once finished, the result exactly as the tool would have
returned it (readable text + structured content), so `collect` hands back the original tool's shape.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from junior_ai.ai.types import CallResult

JobStatus = Literal["running", "completed", "failed", "cancelled", "expired"]
FINISHED: frozenset[JobStatus] = frozenset({"completed", "failed", "cancelled", "expired"})


class JobOutcome(BaseModel):
    """A finished tool result: the text the host model reads and the structured content, both as returned."""

    model_config = ConfigDict(frozen=True)

    text: str
    structured: dict[str, Any] | None = None
    is_error: bool = False
    """The tool ran and reported a problem (MCP's `isError`): for task clients, which get results as they are."""


class Streaming(BaseModel):
    """An AI still writing: the text it has sent so far."""

    model_config = ConfigDict(frozen=True)

    ai: str
    text: str


class JobProgress(BaseModel):
    """What a running job has so far: answers that finished, text still arriving, and the last progress line."""

    model_config = ConfigDict(frozen=True)

    done: float = 0
    total: float | None = None
    message: str | None = None
    expected: list[str] = Field(default_factory=list, description="The AIs the call asks, when it says.")
    arrived: list[CallResult] = Field(default_factory=list, description="Answers finished so far, in order.")
    streaming: list[Streaming] = Field(default_factory=list, description="AIs still writing, with their text.")


class JobRecord(BaseModel):
    """One job in the store. `owner` + `lease_until` say which server process runs the work and until when that
    claim holds: a reader that finds the lease lapsed on a running job knows the process running it is gone."""

    model_config = ConfigDict(frozen=True)

    id: str
    principal: str
    tool: str
    status: JobStatus = "running"
    created_at: float
    """Wall-clock (epoch) seconds; stores compare times on one clock, injected in tests."""
    updated_at: float
    expires_at: float
    """When the record goes away: the run limit while running, the keep time once finished."""
    owner: str
    lease_until: float
    detached: bool
    """True once the call that started it returned without the result: only then does the host need `collect`."""
    collected: bool = False
    task: bool = False
    """An MCP task: the host polls it as its call (`tasks/get`), so, like any call, it never counts toward the
    limit on background jobs."""
    cancel_requested: bool = False
    progress: JobProgress = JobProgress()
    outcome: JobOutcome | None = None
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def counts_toward_limit(self) -> bool:
        """Running jobs, and finished ones the host has not collected yet, hold a slot."""
        if self.task:
            return False
        return not self.finished or (self.detached and not self.collected)


class JobSummary(BaseModel):
    """A line of `junior://jobs`: enough to decide whether to collect or cancel."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    tool: str
    status: JobStatus
    done: float
    total: float | None
    message: str | None
    age_s: float
    expires_in_s: float
    detached: bool
    """The call that started it has returned (or lost its connection): only `collect` gets its result now."""
    collected: bool
