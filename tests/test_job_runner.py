"""The job runner and store on their own: ownership, expiry (injected clock), failures, leases."""

from __future__ import annotations

import anyio
import pytest

from junior_ai.ai.types import CallResult
from junior_ai.tools.jobs.errors import JobLimitError, UnknownJobError
from junior_ai.tools.jobs.model import JobOutcome
from junior_ai.tools.jobs.observe import SNAPSHOT_CHARS, JobObserver
from junior_ai.tools.jobs.runner import COLLECTED_KEEP_S, LEASE_S, JobLimits, JobRunner, Work
from junior_ai.tools.jobs.store import MemoryJobStore
from junior_ai.tools.results import ProgressFn


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def gated(release: anyio.Event, text: str = "done") -> Work:
    async def work(progress: ProgressFn) -> JobOutcome:
        await progress(1, 2, "half way")
        await release.wait()
        return JobOutcome(text=text, structured={"text": text})

    return work


async def test_another_principals_job_id_behaves_exactly_like_an_unknown_one() -> None:
    runner = JobRunner(MemoryJobStore())
    release = anyio.Event()
    async with runner.running():
        job = await runner.start("alice", "ask_one", gated(release))
        await runner.wait(job, 0)
        with pytest.raises(UnknownJobError) as foreign:
            await runner.collect("bob", job.id, 0)
        with pytest.raises(UnknownJobError) as unknown:
            await runner.collect("bob", "job_never", 0)
        with pytest.raises(UnknownJobError):
            await runner.collect("bob", job.id, 0, cancel=True)
        assert str(foreign.value).replace(job.id, "ID") == str(unknown.value).replace("job_never", "ID")
        assert await runner.summaries("bob") == []
        release.set()
        record = await runner.collect("alice", job.id, 10)
    assert record.status == "completed" and record.outcome is not None and record.outcome.text == "done"


async def test_a_finished_job_expires_after_its_keep_time() -> None:
    clock = Clock()
    runner = JobRunner(MemoryJobStore(clock), JobLimits(keep_s=60), clock=clock)
    release = anyio.Event()
    async with runner.running():
        job = await runner.start("local", "ask_one", gated(release))
        await runner.wait(job, 0)
        release.set()
        await job.finished.wait()
        clock.now += 59
        assert (await runner.collect("local", job.id, 0)).status == "completed"
        clock.now += 2
        with pytest.raises(UnknownJobError, match="finished more than 60 s ago"):
            await runner.collect("local", job.id, 0)


async def test_work_still_running_at_the_job_limit_is_stopped_as_expired() -> None:
    runner = JobRunner(MemoryJobStore(), JobLimits(run_limit_s=0.05))
    async with runner.running():
        job = await runner.start("local", "consensus", gated(anyio.Event()))
        await runner.wait(job, 0)
        with anyio.fail_after(10):
            record = await runner.collect("local", job.id, 10)
    assert record.status == "expired" and "job limit" in (record.error or "")


async def test_a_failing_job_keeps_its_error_for_collect() -> None:
    async def work(_progress: ProgressFn) -> JobOutcome:
        raise ValueError("boom")

    runner = JobRunner(MemoryJobStore(), describe_error=lambda e: f"described: {e}")
    async with runner.running():
        job = await runner.start("local", "ask_one", work)
        record = await runner.wait(job, 10)
    assert record.status == "failed" and record.error == "described: boom"


async def test_the_limit_counts_background_and_uncollected_jobs_per_principal() -> None:
    runner = JobRunner(MemoryJobStore(), JobLimits(max_per_principal=1))
    release = anyio.Event()
    async with runner.running():
        job = await runner.start("alice", "ask_one", gated(release), background=True)
        await runner.wait(job, 0)
        with pytest.raises(JobLimitError, match="limit is 1"):
            await runner.start("alice", "ask_one", gated(release), background=True)
        other = await runner.start("bob", "ask_one", gated(release), background=True)  # bob has his own
        await runner.wait(other, 0)
        release.set()
        await job.finished.wait()
        with pytest.raises(JobLimitError):  # finished but not collected: still held
            await runner.start("alice", "ask_one", gated(release), background=True)
        await runner.collect("alice", job.id, 0)
        again = await runner.start("alice", "ask_one", gated(release), background=True)
        assert (await runner.wait(again, 10)).status == "completed"
        await runner.collect("bob", other.id, 10)


async def test_calls_within_their_deadline_are_never_refused_for_the_limit() -> None:
    runner = JobRunner(MemoryJobStore(), JobLimits(max_per_principal=1))
    release = anyio.Event()
    async with runner.running():
        jobs = [await runner.start("alice", "ask_many", gated(release)) for _ in range(50)]
        release.set()
        records = [await runner.wait(job, 10) for job in jobs]
    assert {r.status for r in records} == {"completed"}


async def test_a_call_reaching_its_deadline_at_the_limit_is_stopped_with_the_reason() -> None:
    runner = JobRunner(MemoryJobStore(), JobLimits(max_per_principal=1))
    held, stuck = anyio.Event(), anyio.Event()
    async with runner.running():
        first = await runner.start("alice", "ask_one", gated(held), background=True)
        await runner.wait(first, 0)
        second = await runner.start("alice", "consensus", gated(stuck))
        record = await runner.wait(second, 0)  # its deadline: it would have to go on in the background
        held.set()
    assert record.status == "cancelled" and "limit is 1" in (record.error or "")
    assert record.progress.message == "half way"  # what it had, still reported


async def test_a_job_whose_owner_stopped_is_reported_lost_to_another_process() -> None:
    clock = Clock()
    store = MemoryJobStore(clock)
    owner = JobRunner(store, clock=clock)
    reader = JobRunner(store, clock=clock)  # another process sharing the store
    release = anyio.Event()
    async with owner.running():
        job = await owner.start("local", "ask_one", gated(release))
        await owner.wait(job, 0)
        assert (await reader.collect("local", job.id, 0)).status == "running"
        clock.now += LEASE_S + 1  # the owner's heartbeat never came (it is stuck, or gone)
        record = await reader.collect("local", job.id, 1)
        release.set()
    assert record.status == "failed" and "stopped before it finished" in (record.error or "")


async def test_another_process_collects_the_result_through_the_store() -> None:
    store = MemoryJobStore()
    owner, reader = JobRunner(store), JobRunner(store)
    release = anyio.Event()
    async with owner.running():
        job = await owner.start("local", "ask_many", gated(release, "all in"))
        await owner.wait(job, 0)
        async with anyio.create_task_group() as tg:
            results = []

            async def collect() -> None:
                results.append(await reader.collect("local", job.id, 10))

            tg.start_soon(collect)
            release.set()
    (record,) = results
    assert record.status == "completed" and record.outcome is not None and record.outcome.text == "all in"


async def test_a_collected_result_is_let_go_sooner_than_an_uncollected_one() -> None:
    clock = Clock()
    runner = JobRunner(MemoryJobStore(clock), JobLimits(keep_s=3600), clock=clock)
    release = anyio.Event()
    async with runner.running():
        job = await runner.start("local", "ask_one", gated(release))
        await runner.wait(job, 0)
        release.set()
        assert (await runner.collect("local", job.id, 10)).collected
        clock.now += COLLECTED_KEEP_S - 1
        assert (await runner.collect("local", job.id, 0)).status == "completed"  # asking again still works
        clock.now += 2
        with pytest.raises(UnknownJobError):
            await runner.collect("local", job.id, 0)


def test_a_snapshot_stays_small_however_many_long_answers_arrived() -> None:
    observer = JobObserver()
    for i in range(20):
        observer.arrived.append(CallResult(ai=f"ai{i}", model="m", status="ok", text="x" * 50_000, latency_ms=1))
    for i in range(10):
        observer._pieces[f"w{i}"] = ["y" * 50_000]
    snapshot = observer.snapshot()
    texts = [r.text or "" for r in snapshot.arrived] + [s.text for s in snapshot.streaming]
    assert len(texts) == 30 and sum(len(t) for t in texts) < SNAPSHOT_CHARS + 30 * 100
    assert "collect` returns the whole answer" in texts[0]
