"""Jobs over the shared-state seam: a job started by one replica is collected, listed and cancelled from another.

`DictState` is a small in-test implementation of the seam's key/value + index operations (the seam is ours; the
Redis implementation lives with it in core)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import anyio
import pytest

from junior_ai.tools.jobs.errors import UnknownJobError
from junior_ai.tools.jobs.model import JobOutcome
from junior_ai.tools.jobs.runner import JobLimits, JobRunner, Work
from junior_ai.tools.jobs.shared_store import SharedStateJobStore
from junior_ai.tools.results import ProgressFn


@dataclass
class DictState:
    values: dict[str, tuple[str, float | None]] = field(default_factory=dict)
    indexes: dict[str, dict[str, float]] = field(default_factory=dict)

    async def get(self, key: str) -> str | None:
        value = self.values.get(key)
        if value is None or (value[1] is not None and value[1] <= time.time()):
            return None
        return value[0]

    async def put(self, key: str, value: str, *, ttl_s: float | None = None) -> None:
        self.values[key] = (value, None if ttl_s is None else time.time() + ttl_s)

    async def delete(self, key: str) -> None:
        self.values.pop(key, None)

    async def index_add(self, index: str, member: str, score: float, *, ttl_s: float | None = None) -> None:
        self.indexes.setdefault(index, {})[member] = score

    async def index_members(self, index: str, *, min_score: float = -math.inf) -> list[tuple[str, float]]:
        members = self.indexes.get(index, {})
        return sorted(((m, s) for m, s in members.items() if s >= min_score), key=lambda pair: pair[1])

    async def index_remove(self, index: str, member: str) -> None:
        self.indexes.get(index, {}).pop(member, None)


def gated(release: anyio.Event, stopped: list[str]) -> Work:
    async def work(progress: ProgressFn) -> JobOutcome:
        await progress(1, 3, "first answer in")
        try:
            await release.wait()
        except anyio.get_cancelled_exc_class():
            stopped.append("cancelled")
            raise
        return JobOutcome(text="synthesis", structured={"answer": "synthesis"})

    return work


def replicas(limits: JobLimits) -> tuple[JobRunner, JobRunner, DictState]:
    state = DictState()
    return (
        JobRunner(SharedStateJobStore(state, poll_s=0.01), limits),
        JobRunner(SharedStateJobStore(state, poll_s=0.01), limits),
        state,
    )


async def test_a_job_run_by_one_replica_is_collected_and_listed_by_another() -> None:
    owner, other, _state = replicas(JobLimits(lease_s=0.3))
    release, stopped = anyio.Event(), []
    with anyio.fail_after(20):
        async with owner.running():
            job = await owner.start("alice", "consensus", gated(release, stopped))
            await owner.wait(job, 0)
            listed = await other.summaries("alice")
            assert [s.job_id for s in listed] == [job.id] and listed[0].message == "first answer in"
            assert await other.summaries("bob") == []
            with pytest.raises(UnknownJobError):
                await other.collect("bob", job.id, 0)
            release.set()
            record = await other.collect("alice", job.id, 10)
    assert record.status == "completed" and record.outcome is not None and record.outcome.text == "synthesis"


async def test_a_cancel_asked_on_another_replica_stops_the_work_where_it_runs() -> None:
    owner, other, _state = replicas(JobLimits(lease_s=0.3))
    release, stopped = anyio.Event(), []
    with anyio.fail_after(20):
        async with owner.running():
            job = await owner.start("alice", "debate", gated(release, stopped))
            await owner.wait(job, 0)
            await other.cancel("alice", job.id)
            record = await other.collect("alice", job.id, 10)  # what the cancel came to, however busy the machine
    assert stopped == ["cancelled"] and record.status == "cancelled"


async def test_a_job_finished_in_time_leaves_nothing_in_the_shared_state() -> None:
    owner, _other, state = replicas(JobLimits())
    release, stopped = anyio.Event(), []
    release.set()
    async with owner.running():
        job = await owner.start("alice", "ask_one", gated(release, stopped))
        assert (await owner.wait(job, 10)).status == "completed"
    assert not [key for key in state.values if key.startswith("job:")]


@dataclass
class CountingState(DictState):
    """`DictState` that counts every operation (with Redis behind the seam, each one is a round trip)."""

    operations: list[str] = field(default_factory=list)

    def __getattribute__(self, name: str) -> object:
        if name in ("get", "put", "delete", "index_add", "index_members", "index_remove"):
            object.__getattribute__(self, "operations").append(name)
        return object.__getattribute__(self, name)


async def test_a_call_that_ends_within_its_deadline_never_touches_the_shared_state() -> None:
    state = CountingState()
    runner = JobRunner(SharedStateJobStore(state, poll_s=0.01), JobLimits())
    release, stopped = anyio.Event(), []
    release.set()
    async with runner.running():
        for _ in range(3):
            job = await runner.start("alice", "ask_one", gated(release, stopped))
            assert (await runner.wait(job, 10)).status == "completed"
    assert state.operations == []


async def test_a_call_still_within_its_deadline_is_listed_and_collected_by_its_own_process() -> None:
    state = CountingState()
    owner = JobRunner(SharedStateJobStore(state, poll_s=0.01), JobLimits())
    other = JobRunner(SharedStateJobStore(state, poll_s=0.01), JobLimits())
    release, stopped = anyio.Event(), []
    with anyio.fail_after(20):
        async with owner.running():
            job = await owner.start("alice", "ask_one", gated(release, stopped))
            listed = await owner.summaries("alice")
            assert [(s.job_id, s.status, s.detached) for s in listed] == [(job.id, "running", False)]
            assert await owner.summaries("bob") == [] and await other.summaries("alice") == []
            with pytest.raises(UnknownJobError):  # not stored yet: only the process running it knows the id
                await other.collect("alice", job.id, 0)
            with pytest.raises(UnknownJobError):
                await owner.collect("bob", job.id, 0)
            release.set()
            record = await owner.collect("alice", job.id, 10)
            assert (await owner.wait(job, 10)).status == "completed"
    assert record.status == "completed" and record.outcome is not None and record.outcome.text == "synthesis"


async def test_a_call_that_detaches_at_its_deadline_reaches_the_shared_state_then() -> None:
    state = CountingState()
    owner, other = (JobRunner(SharedStateJobStore(state, poll_s=0.01), JobLimits()) for _ in range(2))
    release, stopped = anyio.Event(), []
    with anyio.fail_after(20):
        async with owner.running():
            job = await owner.start("alice", "consensus", gated(release, stopped))
            assert state.operations == []
            assert (await owner.wait(job, 0)).detached
            assert [s.job_id for s in await other.summaries("alice")] == [job.id]
            release.set()
            record = await other.collect("alice", job.id, 10)
    assert record.status == "completed"
