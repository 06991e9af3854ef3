"""The job store seam: where job records live, so any replica can answer `collect`.

`JobStore` is the contract; `MemoryJobStore` keeps records in this process. A Redis store implements the same
five operations over a key per record (with the store's TTL), a sorted set per principal as the index, and the
lease fields updated with a compare-and-set, so exactly one process runs a job's work.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import anyio

from junior_ai.tools.jobs.model import JobRecord

Clock = Callable[[], float]


class JobStore(Protocol):
    """Job records by principal. Contract:

    - `get` and `list` only ever return records of the principal asked for: another principal's job id behaves
      exactly like an unknown one. Expired records (`expires_at` passed) are never returned.
    - `put` creates or replaces a record (whole-record writes: the owner of a job is its only writer, and
      cancellation from another process goes through `request_cancel`, which only sets a flag).
    - `wait_changed` returns when the record was written since `since` (its `updated_at`), or after `timeout_s`;
      it lets `collect` wait for a job running in another process without busy polling.
    """

    async def put(self, record: JobRecord) -> None: ...

    async def get(self, principal: str, job_id: str) -> JobRecord | None: ...

    async def list(self, principal: str) -> list[JobRecord]: ...

    async def delete(self, principal: str, job_id: str) -> None: ...

    async def request_cancel(self, principal: str, job_id: str) -> bool: ...

    async def wait_changed(self, principal: str, job_id: str, since: float, timeout_s: float) -> None: ...


class MemoryJobStore:
    """Job records in this process; `clock` is injectable so expiry is testable without waiting."""

    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._records: dict[tuple[str, str], JobRecord] = {}
        self._changed: dict[tuple[str, str], anyio.Event] = {}

    def _live(self, key: tuple[str, str]) -> JobRecord | None:
        record = self._records.get(key)
        if record is not None and record.expires_at <= self._clock():
            del self._records[key]
            self._notify(key)
            return None
        return record

    def _notify(self, key: tuple[str, str]) -> None:
        event = self._changed.pop(key, None)
        if event is not None:
            event.set()

    async def put(self, record: JobRecord) -> None:
        key = (record.principal, record.id)
        self._records[key] = record
        self._notify(key)

    async def get(self, principal: str, job_id: str) -> JobRecord | None:
        return self._live((principal, job_id))

    async def list(self, principal: str) -> list[JobRecord]:
        keys = [key for key in self._records if key[0] == principal]
        records = [record for key in keys if (record := self._live(key)) is not None]
        return sorted(records, key=lambda r: r.created_at)

    async def delete(self, principal: str, job_id: str) -> None:
        key = (principal, job_id)
        self._records.pop(key, None)
        self._notify(key)

    async def request_cancel(self, principal: str, job_id: str) -> bool:
        record = self._live((principal, job_id))
        if record is None:
            return False
        await self.put(record.model_copy(update={"cancel_requested": True, "updated_at": self._clock()}))
        return True

    async def wait_changed(self, principal: str, job_id: str, since: float, timeout_s: float) -> None:
        key = (principal, job_id)
        record = self._live(key)
        if record is None or record.updated_at > since:
            return
        event = self._changed.setdefault(key, anyio.Event())
        with anyio.move_on_after(timeout_s):
            await event.wait()
