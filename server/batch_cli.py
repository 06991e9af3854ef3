"""`junior-ai batch`: a template over a file of items, results appended to a JSON-lines file as each finishes.

Resume guarantee: every finished item is written and flushed at once, keyed by a hash of its rendered prompt and
the AI. Re-running the same command skips every item whose last recorded result is `ok`, so a crash, a kill or
Ctrl-C loses nothing already paid for; failed items are tried again. Input and output are streamed: memory stays
flat however many items there are.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from junior_ai.ai.batch import BatchItem, batch_generate_async, item_key, render_items
from junior_ai.ai.provider_batch import run_provider_batch
from junior_ai.ai.registry import AIRegistry, cleanup_async_ai_clients, initialize_all_clients_async
from junior_ai.ai.template import check_template
from junior_ai.core.config import JuniorConfig
from junior_ai.core.errors import InvalidInputError
from junior_ai.core.private_files import open_private_append, write_private_text
from junior_ai.core.redact import redact


def job_file(out: Path) -> Path:
    """Where a submitted provider batch job's id is kept until its results are written (for resuming)."""
    return out.with_name(out.name + ".job")


async def _via_provider(
    registry: AIRegistry, ai: str, items: list[BatchItem], out: Path, job_id: str | None, stream: TextIO
) -> int:
    saved = job_file(out)
    if job_id is None and saved.exists():
        record = json.loads(saved.read_text(encoding="utf-8"))
        if record.get("ai") == ai:
            job_id = record["job_id"]
    if job_id is not None:
        stream.write(f"resuming provider batch job {job_id}\n")

    async def submitted(new_id: str) -> None:
        write_private_text(saved, json.dumps({"job_id": new_id, "ai": ai}))
        stream.write(
            f"submitted {len(items)} item(s) as provider batch job {new_id}; it is saved in {saved}, so "
            "re-running this command resumes it\n"
        )
        stream.flush()

    async def polled(state: str) -> None:
        stream.write(f"job state: {state}\n")
        stream.flush()

    results = await run_provider_batch(registry, ai, items, job_id=job_id, on_submitted=submitted, on_poll=polled)
    with open_private_append(out) as sink:
        for result in results:
            sink.write(redact(result.model_dump_json(exclude_none=True)) + "\n")
    saved.unlink(missing_ok=True)
    failed = sum(not r.ok for r in results)
    cost = sum(r.cost_usd for r in results if r.cost_usd is not None)
    unknown = sum(r.ok and r.cost_usd is None for r in results)
    stream.write(
        f"{len(results)} item(s) answered by the provider's batch engine, {failed} failed, cost ${cost:.4f}"
        + (f" + {unknown} of unknown cost" if unknown else "")
        + f" (batch rates); results in {out}\n"
    )
    return 1 if failed else 0


def read_items(path: Path) -> Iterator[Any]:
    """Items one at a time: a JSON value per line for .jsonl, else each non-blank line as a string."""
    as_json = path.suffix in {".jsonl", ".ndjson"}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            if not as_json:
                yield line.rstrip("\n")
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as error:
                raise InvalidInputError(f"{path}, line {number}: not valid JSON ({error.msg}).") from None


def finished_keys(out: Path) -> set[str]:
    """Keys whose last recorded result is ok (a later failure of the same key does not undo an earlier success)."""
    done: set[str] = set()
    if not out.exists():
        return done
    with out.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut off by a crash: that item is simply done again
            if record.get("status") == "ok" and record.get("key"):
                done.add(record["key"])
    return done


class Progress:
    """A progress bar on a terminal, plain lines otherwise (logs, CI)."""

    def __init__(self, total: int, skipped: int, stream: TextIO) -> None:
        self.total, self.skipped, self.stream = total, skipped, stream
        self.done = self.failed = 0
        self.cost_usd, self.unknown_cost = 0.0, 0  # running cost: known figures, and answers of unknown cost
        self.started = time.monotonic()
        self._last = 0.0
        self._tty = stream.isatty()

    def update(self, ok: bool, cost_usd: float | None = None) -> None:
        self.done += 1
        self.failed += 0 if ok else 1
        if cost_usd is not None:
            self.cost_usd += cost_usd
        elif ok:
            self.unknown_cost += 1
        now = time.monotonic()
        if now - self._last >= (0.1 if self._tty else 2.0):
            self._last = now
            self.show()

    def show(self) -> None:
        now = time.monotonic()
        todo = self.total - self.skipped
        rate = self.done / max(now - self.started, 1e-6)
        eta = (todo - self.done) / rate if rate else 0
        text = (
            f"{self.done}/{todo} done ({self.skipped} already done), {self.failed} failed, "
            f"{rate:.1f}/s, ETA {eta:.0f} s, {self.cost_text()}"
        )
        if self._tty:
            filled = int(30 * self.done / max(todo, 1))
            self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {text}   ")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def cost_text(self) -> str:
        unknown = f" + {self.unknown_cost} of unknown cost" if self.unknown_cost else ""
        return f"${self.cost_usd:.4f}{unknown}"


async def run_batch(
    config: JuniorConfig,
    *,
    template: str,
    items_path: Path,
    ai: str,
    out: Path,
    max_concurrency: int | None,
    timeout_s: float | None,
    max_input_tokens: int | None,
    via: str = "live",
    job_id: str | None = None,
    progress_stream: TextIO = sys.stderr,
) -> int:
    check_template(template, "--template")
    total = sum(1 for _ in read_items(items_path))
    done = finished_keys(out)
    registry = await initialize_all_clients_async(config)
    try:
        target = registry.resolve(ai)
        label = target.label
        skipped = 0

        def pending() -> Iterator[BatchItem]:
            nonlocal skipped
            for item in render_items(template, read_items(items_path)):
                if item.prompt is not None and item_key(item.prompt, label) in done:
                    skipped += 1
                    continue
                yield item

        if via == "provider-batch":
            return await _via_provider(registry, label, list(pending()), out, job_id, progress_stream)
        progress = Progress(total, 0, progress_stream)
        with open_private_append(out) as sink:
            async with batch_generate_async(
                registry,
                pending(),
                label,
                max_concurrency=max_concurrency,
                timeout_s=timeout_s,
                max_input_tokens=max_input_tokens,
            ) as results:
                async for result in results:
                    sink.write(redact(result.model_dump_json(exclude_none=True)) + "\n")
                    sink.flush()  # written before the next result: a crash loses nothing finished
                    progress.skipped = skipped
                    progress.update(result.ok, result.cost_usd)
        progress.skipped = skipped
        progress.show()
        if progress_stream.isatty():
            progress_stream.write("\n")
        progress_stream.write(
            f"{progress.done} item(s) run, {skipped} already done, {progress.failed} failed, "
            f"cost {progress.cost_text()}; results in {out}\n"
        )
        return 1 if progress.failed else 0
    finally:
        await cleanup_async_ai_clients(registry)
