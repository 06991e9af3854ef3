"""What the host gets for a job that is still running: the tool's own shape where it has one (ask_one,
ask_many: answers so far, per-AI status, plus `job_id`), else a progress snapshot; and text that tells the host
model plainly to call `collect`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from junior_ai.ai.types import CallResult
from junior_ai.tools.jobs.model import JobRecord, JobStatus, Streaming
from junior_ai.tools.results import AskManyResult, AskOneResult, render_call, total_cost, total_usage


class JobStatusResult(BaseModel):
    """`collect`'s answer while a job runs (and a long tool's answer when its deadline came first)."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    tool: str
    status: JobStatus
    poll_after_s: float | None = Field(default=None, description="Call collect again after this many seconds.")
    done: float = 0
    total: float | None = None
    message: str | None = None
    arrived: list[CallResult] = Field(default_factory=list, description="Answers finished so far.")
    streaming: list[Streaming] = Field(default_factory=list, description="AIs still writing, with their text.")
    error: str | None = None


def status_result(record: JobRecord, poll_after_s: float) -> JobStatusResult:
    progress = record.progress
    return JobStatusResult(
        job_id=record.id,
        tool=record.tool,
        status=record.status,
        poll_after_s=poll_after_s if not record.finished else None,
        done=progress.done,
        total=progress.total,
        message=progress.message,
        arrived=progress.arrived,
        streaming=progress.streaming,
        error=record.error,
    )


def unfinished(ai: str, model: str, text: str, record: JobRecord) -> CallResult:
    """An AI that had not finished when the call returned: its text so far, marked partial; status `running` (the
    job goes on) or `cancelled` (it was stopped, the record says why)."""
    running = record.status == "running"
    return CallResult(
        ai=ai,
        model=model,
        status="running" if running else "cancelled",
        text=text or None,
        partial=bool(text),
        latency_ms=0.0,
        error=f"still answering in the background (job {record.id}); collect it with `collect`."
        if running
        else record.error,
    )


def per_ai(record: JobRecord, models: dict[str, str], expected: list[str] | None = None) -> list[CallResult]:
    """One entry per AI asked, in order: its finished result, or its text so far (see `unfinished`)."""
    progress = record.progress
    finished = {result.ai: result for result in progress.arrived}
    streaming = {item.ai: item.text for item in progress.streaming}
    return [
        finished.get(ai) or unfinished(ai, models.get(ai, ""), streaming.get(ai, ""), record)
        for ai in (expected if expected is not None else progress.expected)
    ]


def _tail(record: JobRecord, poll_after_s: float) -> str:
    return collect_hint(record.id, poll_after_s) if record.status == "running" else (record.error or "")


def render_partial_call(result: CallResult) -> str:
    """An AI in a partial result: finished ones as usual; one still answering, or stopped with the job (the job's
    reason follows once, after every AI), with its text so far and no made-up latency."""
    if result.status not in ("running", "cancelled") or result.latency_ms:
        return render_call(result)
    state = "still answering" if result.status == "running" else "stopped before it finished"
    head = f"## {result.ai} ({result.model}) — {state}"
    if result.text:
        return f"{head}; its answer so far ({len(result.text)} characters):\n\n{result.text}"
    return head + "; nothing written yet."


def ask_one_partial(record: JobRecord, ai: str, model: str, poll_after_s: float) -> tuple[str, AskOneResult]:
    """ask_one at its deadline with the answer still coming: the text so far, status `running`, the job id."""
    (call,) = per_ai(record, {ai: model}, [ai])
    running = record.status == "running"
    result = AskOneResult(
        **call.model_dump(), job_id=record.id if running else None, poll_after_s=poll_after_s if running else None
    )
    return render_partial_call(result) + "\n\n" + _tail(record, poll_after_s), result


def ask_many_partial(record: JobRecord, models: dict[str, str], poll_after_s: float) -> tuple[str, AskManyResult]:
    """ask_many at its deadline: every finished answer, the others' text so far (status `running`), the job id."""
    results = per_ai(record, models)
    running = record.status == "running"
    ok_count = sum(r.ok for r in results)
    result = AskManyResult(
        results=results,
        elapsed_ms=(record.updated_at - record.created_at) * 1000,
        ok_count=ok_count,
        partial=True,
        usage=total_usage(results),
        cost_usd=total_cost(results),
        job_id=record.id if running else None,
        poll_after_s=poll_after_s if running else None,
    )
    still = sum(r.status == "running" for r in results)
    lines = [f"{ok_count}/{len(results)} AIs answered so far; {still} still answering."]
    lines.extend(render_partial_call(r) for r in results)
    lines.append(_tail(record, poll_after_s))
    return "\n\n".join(lines), result


def collect_hint(job_id: str, poll_after_s: float) -> str:
    return (
        f"The work continues in the background as job {job_id}. To get the full result, call the `collect` tool "
        f'with job_id "{job_id}" (it waits for the result; call it again if it says still running, after about '
        f"{poll_after_s:.0f} s). To stop the job, call `collect` with cancel true."
    )


def render_status(result: JobStatusResult) -> str:
    if result.status == "running":
        total = f"/{result.total:g}" if result.total else ""
        head = f"Still running: job {result.job_id} ({result.tool}), {result.done:g}{total} steps done"
        head += f" — {result.message}." if result.message else "."
    else:
        head = f"Job {result.job_id} ({result.tool}) {result.status}: {result.error or ''}".rstrip(": ")
    parts = [head]
    if result.arrived:
        parts.append("Finished so far:")
        parts.extend(render_call(call) for call in result.arrived)
    for item in result.streaming:
        parts.append(f"## {item.ai} — still writing ({len(item.text)} characters so far)\n\n{item.text}")
    if result.status == "running":
        parts.append(collect_hint(result.job_id, result.poll_after_s or 0))
    return "\n\n".join(parts)
