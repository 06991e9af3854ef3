"""JobRunner: runs a tool call's work as a job that outlives the call, and answers `collect` about it.

Every long tool call runs its work as a job in the server's own task group (not the session's, so the host can
reconnect and still collect). The call waits for the job up to its deadline: a job that finished in time is
returned as usual and forgotten; one still running is *detached*, the call returns what arrived so far plus
the job id, and the work goes on, bounded by each AI's own timeout and by the job's run limit. `collect` waits
for a detached job (or a snapshot of it) and `cancel` stops it, closing its provider requests.

The runner keeps live jobs (cancel scopes, events) in memory and the record of every detached job in a
`JobStore`, so another process sharing the store can answer `collect` for a job this one runs. A call that
finishes within its deadline never touches the store (with Redis behind it, that is four round trips saved on
every call): until it detaches, only this process can know its id, and it answers from memory.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
from anyio.abc import TaskGroup

from junior_ai.core.log import get_logger
from junior_ai.core.suggest import quoted
from junior_ai.tools.jobs import observe
from junior_ai.tools.jobs.errors import JobLimitError, UnknownJobError
from junior_ai.tools.jobs.model import JobOutcome, JobRecord, JobStatus, JobSummary
from junior_ai.tools.jobs.observe import JobObserver
from junior_ai.tools.jobs.store import Clock, JobStore
from junior_ai.tools.results import ProgressFn

log = get_logger(__name__)

Work = Callable[[ProgressFn], Awaitable[JobOutcome]]
"""A tool call's work: given the progress function to report to, returns the finished result."""
DescribeError = Callable[[Exception], str]

PERSIST_INTERVAL_S = 1.0
"""A running job's progress reaches the store at most this often (other processes read it from there)."""
COLLECTED_KEEP_S = 300.0
"""How long a job stays collectable once its result was delivered by `collect`."""
WORK_MARGIN_S = 30.0
"""Kept between a job's work deadline and its run limit (at most a quarter of it): time to assemble the result."""
LEASE_S = 30.0
"""How long the owner's claim on a running job holds without a heartbeat (a third of it between heartbeats)."""


@dataclass
class JobLimits:
    max_per_principal: int = 20
    run_limit_s: float = 3600.0
    """The job TTL while running: work still going after this long is stopped (status `expired`)."""
    keep_s: float = 3600.0
    """How long a finished job's result stays collectable."""
    poll_after_s: float = 2.0
    lease_s: float = LEASE_S

    @property
    def work_limit_s(self) -> float:
        """The deadline a job's work itself runs under: a little before the run limit, so the tool's own deadline
        comes first and it returns what it has (finished answers kept, the rest marked timed out) instead of the
        run limit cutting it with nothing."""
        return self.run_limit_s - min(WORK_MARGIN_S, self.run_limit_s / 4)


@dataclass
class LiveJob:
    """A job this process runs: what `wait`, `collect` and `cancel` need beyond the stored record."""

    record: JobRecord
    observer: JobObserver = field(default_factory=JobObserver)
    finished: anyio.Event = field(default_factory=anyio.Event)
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    forward: ProgressFn | None = None
    """The waiting call's progress function; dropped when the call returns without the result."""
    cancelled_by_caller: bool = False
    stop_reason: str | None = None
    last_persist: float = 0.0
    stored: bool = False
    """Its record is in the store (written when it detaches, or at once for background jobs and tasks)."""

    @property
    def id(self) -> str:
        return self.record.id


class JobRunner:
    def __init__(
        self,
        store: JobStore,
        limits: JobLimits | None = None,
        *,
        describe_error: DescribeError = str,
        clock: Clock = time.time,
    ) -> None:
        self.store = store
        self.limits = limits or JobLimits()
        self._describe = describe_error
        self._clock = clock
        self.owner = f"{uuid.uuid4().hex[:12]}"
        self._live: dict[str, LiveJob] = {}
        self._tg: TaskGroup | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[JobRunner]:
        """Hold the task group jobs run in; on exit every job still running is cancelled (requests closed)."""
        async with anyio.create_task_group() as tg:
            self._tg = tg
            try:
                yield self
            finally:
                self._tg = None
                for job in list(self._live.values()):
                    job.cancelled_by_caller = True
                    job.scope.cancel()

    @property
    def live_jobs(self) -> int:
        return len(self._live)

    async def finish_running(self) -> None:
        """Return once no job runs here any more (jobs started meanwhile included): a drain before shutdown, which
        its caller bounds; whatever still runs when `running()` exits is cancelled."""
        while self._live:
            await next(iter(self._live.values())).finished.wait()  # removed from `_live` before `finished` is set

    # --- starting and waiting (the tool call's side) ---

    async def start(
        self,
        principal: str,
        tool: str,
        work: Work,
        forward: ProgressFn | None = None,
        *,
        background: bool = False,
        task: bool = False,
    ) -> LiveJob:
        """Start `work` as a job of `principal`. A `background` job (detached at once) is refused with
        `JobLimitError` when they hold too many detached jobs already; a call's own job is always started (the
        limit is about work nobody waits for, not about concurrent calls) and checked when its deadline comes.
        A `task` job (an MCP task: detached at once, polled by the host) is a call too: never refused, never
        counted."""
        if self._tg is None:
            raise RuntimeError("JobRunner.start outside `running()`")
        if background and not task:
            await self._check_room(principal)
        now = self._clock()
        record = JobRecord(
            id="job_" + secrets.token_urlsafe(12),
            principal=principal,
            tool=tool,
            created_at=now,
            updated_at=now,
            expires_at=now + self.limits.run_limit_s + self.limits.keep_s,
            owner=self.owner,
            lease_until=now + self.limits.lease_s,
            detached=task,
            task=task,
        )
        job = LiveJob(record=record, forward=forward)
        job.scope = anyio.CancelScope(deadline=anyio.current_time() + self.limits.run_limit_s)
        self._live[record.id] = job
        if background or task:  # their ids go to the host at once (and count toward the limit)
            await self._write(job)
        self._tg.start_soon(self._run, job, work)
        return job

    async def wait(
        self, job: LiveJob, seconds: float | None, *, cancelled_by_host: Callable[[], bool] = lambda: True
    ) -> JobRecord:
        """Wait up to `seconds` for `job` (None: until it ends). Finished: its record, and the job is forgotten
        (the caller delivers the result). Still running: detached, and the record as it stands is returned; or,
        when the principal already holds as many detached jobs as allowed, stopped (status `cancelled`, the
        error saying why) with what it had.

        When the wait itself is cancelled, `cancelled_by_host` says why: True (the host cancelled the call) stops
        the work; False (the connection was lost) detaches it, so the host can collect it after reconnecting."""
        try:
            if seconds is None:
                await job.finished.wait()
            else:
                with anyio.move_on_after(seconds):
                    await job.finished.wait()
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                if cancelled_by_host() or job.finished.is_set():
                    # The host no longer wants the answer, so the work stops too.
                    await self._stop(job)
                    await self._forget(job)
                else:
                    # A lost connection is not a cancel: the work goes on (bounded by the run limit), listed in
                    # junior://jobs for the host to collect when it is back.
                    log.info("job_detached_connection_lost", job=job.id, tool=job.record.tool)
                    job.forward = None
                    job.record = job.record.model_copy(update={"detached": True})
                    await self._persist(job, force=True)
            raise
        if job.finished.is_set():
            await self._forget(job)
            return job.record
        if not job.record.detached:
            try:
                await self._check_room(job.record.principal)
            except JobLimitError as refused:
                job.stop_reason = f"stopped at the deadline instead of continuing in the background: {refused}"
                await self._stop(job)
                await self._forget(job)
                return job.record
        job.forward = None
        job.record = job.record.model_copy(update={"detached": True})
        await self._persist(job, force=True)
        if job.finished.is_set():  # it ended while the snapshot was being written: deliver it after all
            await self._forget(job)
            return job.record
        log.info("job_detached", job=job.id, tool=job.record.tool)
        return self._current(job)

    # --- collect and cancel (any later call's side) ---

    async def collect(self, principal: str, job_id: str, wait_s: float, *, cancel: bool = False) -> JobRecord:
        """The job's record after waiting up to `wait_s` for it to finish (at once when `cancel`)."""
        record = await self._get(principal, job_id)
        job = self._live.get(job_id)
        if cancel:
            record = await self.cancel(principal, job_id)  # falls through to be marked collected: slot freed
        elif job is not None and job.record.principal == principal:
            with anyio.move_on_after(wait_s):
                await job.finished.wait()
            record = self._current(job)
        else:
            end = anyio.current_time() + wait_s
            while not record.finished and (left := end - anyio.current_time()) > 0:
                if record.lease_until < self._clock():
                    record = await self._lost(record)
                    break
                await self.store.wait_changed(principal, job_id, record.updated_at, min(left, self.limits.lease_s / 3))
                record = await self._get(principal, job_id)
        if record.finished and not record.collected:
            # Collected: kept a little longer (a host may ask again after a lost reply), then let go, so results
            # the host already has do not pile up for the whole keep time.
            expires_at = min(record.expires_at, self._clock() + COLLECTED_KEEP_S)
            record = record.model_copy(update={"collected": True, "expires_at": expires_at})
            await self.store.put(record)
            if job is not None:
                job.record = record
                job.stored = True
        return record

    async def cancel(self, principal: str, job_id: str) -> JobRecord:
        """Stop the job (its provider requests are closed before this returns, when this process runs it)."""
        record = await self._get(principal, job_id)
        if record.finished:
            return record
        job = self._live.get(job_id)
        if job is not None and job.record.principal == principal:
            await self._stop(job)
            return job.record
        await self.store.request_cancel(principal, job_id)  # the owner's heartbeat sees it
        with anyio.move_on_after(self.limits.lease_s):  # the owner's heartbeat comes every third of a lease
            while not record.finished:
                await self.store.wait_changed(principal, job_id, record.updated_at, self.limits.lease_s / 3)
                record = await self._get(principal, job_id)
        return record

    async def summaries(self, principal: str) -> list[JobSummary]:
        """The jobs worth listing — running, or finished and not collected yet — newest first. Collected jobs are
        left out: the host already has their results."""
        now = self._clock()
        listed = []
        records = await self.store.list(principal)
        # This process's calls still within their deadline are not in the store yet: listed from memory.
        unstored = [j.record for j in self._live.values() if j.record.principal == principal and not j.stored]
        for record in sorted([*records, *unstored], key=lambda r: r.created_at):
            job = self._live.get(record.id)
            current = self._current(job) if job is not None else record
            if current.collected:
                continue
            listed.append(
                JobSummary(
                    job_id=current.id,
                    tool=current.tool,
                    status=current.status,
                    done=current.progress.done,
                    total=current.progress.total,
                    message=current.progress.message,
                    age_s=round(now - current.created_at, 1),
                    expires_in_s=round(current.expires_at - now, 1),
                    detached=current.detached,
                    collected=current.collected,
                )
            )
        listed.reverse()  # the store lists oldest first
        return listed

    # --- inside ---

    async def _check_room(self, principal: str) -> None:
        held = [r for r in await self.store.list(principal) if r.detached and r.counts_toward_limit]
        if len(held) >= self.limits.max_per_principal:
            raise JobLimitError(
                f"you already have {len(held)} jobs running in the background or waiting to be collected (the "
                f"limit is {self.limits.max_per_principal}). Collect them with `collect` (job ids in "
                "junior://jobs), or stop one with `collect` and cancel=true, then try again."
            )

    async def _get(self, principal: str, job_id: str) -> JobRecord:
        job = self._live.get(job_id)
        if job is not None and not job.stored and job.record.principal == principal:
            return self._current(job)
        record = await self.store.get(principal, job_id)
        if record is None:
            raise UnknownJobError(
                f"no job {quoted(job_id)} here: it finished more than {self.limits.keep_s:.0f} s ago and was dropped "
                "(5 minutes once collected), ran in another server process that does not share this one's state, "
                "or never existed. junior://jobs lists your jobs; to get a fresh answer, ask again."
            )
        return record

    def _current(self, job: LiveJob) -> JobRecord:
        if job.finished.is_set():
            return job.record
        return job.record.model_copy(update={"progress": job.observer.snapshot()})

    async def _stop(self, job: LiveJob) -> None:
        job.cancelled_by_caller = True
        job.scope.cancel()
        await job.finished.wait()

    async def _lost(self, record: JobRecord) -> JobRecord:
        lost = record.model_copy(
            update={
                "status": "failed",
                "error": "the server process running this job stopped before it finished; ask again.",
                "updated_at": self._clock(),
            }
        )
        await self.store.put(lost)
        return lost

    def _progress_fn(self, job: LiveJob) -> ProgressFn:
        async def report(done: float, total: float | None, message: str | None) -> None:
            job.observer.progress(done, total, message)
            forward = job.forward
            if forward is not None:
                try:
                    await forward(done, total, message)
                except Exception as exc:  # the host went away mid-call: the job goes on regardless
                    log.info("job_progress_not_delivered", job=job.id, error=type(exc).__name__)
                    job.forward = None
            if job.record.detached:
                await self._persist(job)

        return report

    async def _persist(self, job: LiveJob, *, force: bool = False) -> None:
        now = self._clock()
        if not force and now - job.last_persist < PERSIST_INTERVAL_S:
            return
        job.last_persist = now
        job.record = self._current(job).model_copy(update={"updated_at": now, "lease_until": now + self.limits.lease_s})
        await self._write(job)

    async def _write(self, job: LiveJob) -> None:
        await self.store.put(job.record)
        job.stored = True

    async def _forget(self, job: LiveJob) -> None:
        """The call delivered the result itself: its record (if it ever reached the store) is not needed."""
        if job.stored:
            await self.store.delete(job.record.principal, job.id)

    async def _heartbeat(self, job: LiveJob) -> None:
        """Keep the lease, and honour a cancel asked for through the store by another process."""
        while True:
            await anyio.sleep(self.limits.lease_s / 3)
            if not job.stored:
                continue  # nobody else knows this call's id yet: no lease to keep, no cancel to read
            stored = await self.store.get(job.record.principal, job.id)
            if stored is not None and stored.cancel_requested:
                job.cancelled_by_caller = True
                job.scope.cancel()
                return
            await self._persist(job, force=True)

    async def _run(self, job: LiveJob, work: Work) -> None:
        observe.bind(job.observer)
        status: JobStatus = "completed"
        outcome: JobOutcome | None = None
        error: str | None = None
        try:
            with job.scope:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._heartbeat, job)
                    try:
                        outcome = await work(self._progress_fn(job))
                    except Exception as exc:
                        status, error = "failed", self._describe(exc)
                    tg.cancel_scope.cancel()
            if job.scope.cancelled_caught or (outcome is None and error is None):
                if job.cancelled_by_caller:
                    status, error = "cancelled", job.stop_reason or "cancelled before it finished."
                else:
                    status = "expired"
                    error = f"still running after the job limit of {self.limits.run_limit_s:.0f} s; stopped."
        finally:
            now = self._clock()
            job.record = job.record.model_copy(
                update={
                    "status": status,
                    "outcome": outcome,
                    "error": error,
                    "progress": job.observer.snapshot(),
                    "updated_at": now,
                    "expires_at": now + self.limits.keep_s,
                }
            )
            with anyio.CancelScope(shield=True):
                if job.record.detached:
                    await self.store.put(job.record)
                self._live.pop(job.id, None)
                job.finished.set()
            log.info("job_finished", job=job.id, tool=job.record.tool, status=status)
