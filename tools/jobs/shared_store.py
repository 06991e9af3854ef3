"""`SharedStateJobStore`: the job store over the shared-state seam, so replicas share jobs (Redis behind it).

It needs only the key/value-with-TTL and index operations of the state seam (`SharedState` below names them, in
the seam's own words), so any state implementation satisfies it structurally: in-process for one server, Redis
for several. Layout: the record at `job:{principal}:{id}` (expiring with the record), the principal's index
`jobs:{principal}` (members scored by creation time), and a cancel flag at `jobcancel:{principal}:{id}` kept apart
from the record so the record keeps one writer, the process running the job.
"""

from __future__ import annotations

import math
import time
from typing import Protocol

import anyio

from junior_ai.tools.jobs.model import JobRecord
from junior_ai.tools.jobs.store import Clock

POLL_S = 0.25
"""How often `wait_changed` re-reads a record written by another process."""


class SharedState(Protocol):
    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, value: str, *, ttl_s: float | None = None) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def index_add(self, index: str, member: str, score: float, *, ttl_s: float | None = None) -> None: ...

    async def index_members(self, index: str, *, min_score: float = -math.inf) -> list[tuple[str, float]]: ...

    async def index_remove(self, index: str, member: str) -> None: ...


class SharedStateJobStore:
    def __init__(self, state: SharedState, clock: Clock = time.time, poll_s: float = POLL_S) -> None:
        self._state = state
        self._clock = clock
        self._poll_s = poll_s

    @staticmethod
    def _key(principal: str, job_id: str) -> str:
        return f"job:{principal}:{job_id}"

    @staticmethod
    def _cancel_key(principal: str, job_id: str) -> str:
        return f"jobcancel:{principal}:{job_id}"

    async def put(self, record: JobRecord) -> None:
        ttl_s = max(1.0, record.expires_at - self._clock())
        await self._state.put(self._key(record.principal, record.id), record.model_dump_json(), ttl_s=ttl_s)
        # The index expires with its longest-lived record, so Redis's volatile-lru can evict it (one per principal).
        await self._state.index_add(f"jobs:{record.principal}", record.id, record.created_at, ttl_s=ttl_s)

    async def get(self, principal: str, job_id: str) -> JobRecord | None:
        raw = await self._state.get(self._key(principal, job_id))
        if raw is None:
            return None
        record = JobRecord.model_validate_json(raw)
        if record.principal != principal or record.expires_at <= self._clock():
            return None
        if not record.cancel_requested and await self._state.get(self._cancel_key(principal, job_id)) is not None:
            record = record.model_copy(update={"cancel_requested": True})
        return record

    async def list(self, principal: str) -> list[JobRecord]:
        records = []
        for job_id, _created in await self._state.index_members(f"jobs:{principal}"):
            record = await self.get(principal, job_id)
            if record is None:
                await self._state.index_remove(f"jobs:{principal}", job_id)  # expired: tidy the index
            else:
                records.append(record)
        return records

    async def delete(self, principal: str, job_id: str) -> None:
        await self._state.delete(self._key(principal, job_id))
        await self._state.index_remove(f"jobs:{principal}", job_id)

    async def request_cancel(self, principal: str, job_id: str) -> bool:
        record = await self.get(principal, job_id)
        if record is None:
            return False
        ttl_s = max(1.0, record.expires_at - self._clock())
        await self._state.put(self._cancel_key(principal, job_id), "1", ttl_s=ttl_s)
        return True

    async def wait_changed(self, principal: str, job_id: str, since: float, timeout_s: float) -> None:
        with anyio.move_on_after(timeout_s):
            while True:
                record = await self.get(principal, job_id)
                if record is None or record.updated_at > since:
                    return
                await anyio.sleep(self._poll_s)
