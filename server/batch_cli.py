"""`junior-ai batch`: a template over a file of items, results appended to a JSON-lines file as each finishes.

Resume guarantee: every finished item is written and flushed at once, keyed by a hash of its rendered prompt and
the AI. Re-running the same command skips every item whose last recorded result is `ok`, so a crash, a kill or
Ctrl-C loses nothing already paid for; failed items are tried again. Input and output are streamed (the items are
read once, so a pipe works): memory stays flat however many items there are. The files and their failure modes
are in `batch_files`.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from junior_ai.ai.adaptive import ConcurrencyGovernor
from junior_ai.ai.batch import BatchItem, ItemResult, batch_generate_async, item_key, render_items
from junior_ai.ai.provider_batch import run_provider_batch
from junior_ai.ai.registry import AIRegistry, cleanup_async_ai_clients, initialize_all_clients_async
from junior_ai.ai.template import check_template
from junior_ai.core.config import JuniorConfig
from junior_ai.core.errors import InvalidInputError, ProviderError
from junior_ai.core.redact import redact
from junior_ai.server.batch_files import (
    ItemsFormat,
    cut_torn_tail,
    finished_keys,
    items_are_json,
    job_file,
    locked_output,
    open_items,
    open_output,
    read_items,
    read_json_schema,
    save_job_id,
    saved_job_id,
)
from junior_ai.tools.arguments import BatchArgs
from junior_ai.tools.results import format_usd


class Progress:
    """A progress bar on a terminal, plain lines otherwise (logs, CI). The total is unknown until the items have
    all been read (a pipe can only be read once)."""

    def __init__(self, stream: TextIO, governor: ConcurrencyGovernor | None = None) -> None:
        self.stream, self.governor = stream, governor
        self.done = self.failed = self.skipped = 0
        self.cost_usd, self.unknown_cost = 0.0, 0  # running cost: known figures, and answers of unknown cost
        self.todo: int | None = None
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

    def line(self) -> str:
        rate = self.done / max(time.monotonic() - self.started, 1e-6)
        if self.todo is None:
            head, eta = f"{self.done}/? done", "ETA unknown (still reading items)"
        else:
            head = f"{self.done}/{self.todo} done"
            eta = f"ETA {(self.todo - self.done) / rate if rate else 0:.0f} s"
        concurrency = f", {self.governor.brief()}" if self.governor else ""
        return (
            f"{head} ({self.skipped} already done), {self.failed} failed, {rate:.1f}/s{concurrency}, {eta}, "
            f"{self.cost_text()}"
        )

    def cost_text(self) -> str:
        unknown = f" + {self.unknown_cost} of unknown cost" if self.unknown_cost else ""
        return f"{format_usd(self.cost_usd)}{unknown}"

    def show(self) -> None:
        text = self.line()
        if self._tty:
            filled = int(30 * self.done / max(self.todo or 0, 1)) if self.todo is not None else 0
            self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {text}   ")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


async def run_batch(
    config: JuniorConfig,
    *,
    template: str,
    items_path: Path | str,
    ai: str,
    out: Path,
    max_concurrency: int | None,
    timeout_s: float | None,
    max_input_tokens: int | None,
    via: str = "live",
    job_id: str | None = None,
    items_format: ItemsFormat = "auto",
    progress_stream: TextIO = sys.stderr,
    system: str | None = None,
    json_schema_path: Path | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
) -> int:
    json_schema = read_json_schema(json_schema_path) if json_schema_path is not None else None
    # ask_batch's rules for every option (the same field types, so the same messages), before anything is read.
    args = BatchArgs.parse(
        template=template,
        ai=ai,
        system=system,
        temperature=temperature,
        max_tokens=max_tokens,
        json_schema=json_schema,
        max_concurrency=max_concurrency,
        timeout_s=timeout_s,
        max_input_tokens=max_input_tokens,
    )
    check_template(template, "--template")
    if via == "provider-batch" and (json_schema is not None or temperature is not None or max_tokens is not None):
        raise InvalidInputError(
            "--json-schema, --temperature and --max-tokens work with live calls only; drop --via provider-batch."
        )
    options = LiveOptions(args.system, args.json_schema, args.temperature, args.max_tokens)
    spec = str(items_path)
    as_json = items_are_json(spec, items_format)
    label = "stdin" if spec == "-" else spec
    refuse_same_file(spec, out)
    # Every file problem is found before a client is built or anything is paid for.
    with open_items(spec) as handle, locked_output(out):
        removed = cut_torn_tail(out)
        if removed:
            progress_stream.write(f"removed a torn last line ({removed} bytes) left in {out} by an interrupted run\n")
        done = finished_keys(out)
        with open_output(out) as sink:
            registry = await initialize_all_clients_async(config)
            try:
                target = registry.resolve(ai).label
                pending = _Pending(render_items(template, read_items(handle, as_json=as_json, label=label)))
                pending.done_keys, pending.ai = done, target
                if via == "provider-batch":
                    items = list(pending)
                    pending.raise_bad_item(out, sent=False)
                    return await _via_provider(registry, target, items, out, sink, job_id, progress_stream, system)
                code = await _live(
                    registry,
                    target,
                    pending,
                    out,
                    sink,
                    progress_stream,
                    max_concurrency,
                    timeout_s,
                    max_input_tokens,
                    options,
                )
                pending.raise_bad_item(out, sent=True)
                return code
            finally:
                await cleanup_async_ai_clients(registry)


def refuse_same_file(spec: str, out: Path) -> None:
    """`--out` must not be the `--items` file (by any name: a symlink, a hard link): results appended to the
    input would be read as new items, and paid for, on every run."""
    if spec == "-":
        return
    try:
        same = os.path.samefile(spec, out)
    except OSError:  # either does not exist yet (or cannot be read): the file checks that follow say so
        return
    if same:
        raise InvalidInputError(
            f"--out {out} is the --items file {spec}: results would be appended to the items and read as new "
            "items on the next run. Fix: write the results to another file."
        )


@dataclass(frozen=True)
class LiveOptions:
    """What `--system`, `--json-schema`, `--temperature` and `--max-tokens` ask of every live call."""

    system: str | None
    json_schema: dict[str, Any] | None
    temperature: float | None
    max_tokens: int | None


class _Pending:
    """The items not done yet, counted as they are read (the only pass over the input)."""

    def __init__(self, items: Iterable[BatchItem]) -> None:
        self._items = items
        self.done_keys: set[str] = set()
        self.ai = ""
        self.read = self.skipped = 0
        self.exhausted = False

        self.bad: InvalidInputError | None = None

    def __iter__(self) -> Iterator[BatchItem]:
        try:
            for item in self._items:
                self.read += 1
                if item.prompt is not None and item_key(item.prompt, self.ai) in self.done_keys:
                    self.skipped += 1
                    continue
                yield item
        except InvalidInputError as error:
            # A line that cannot be read (bad JSON, not UTF-8) ends the items here, and the items before it
            # finish and are written; the error is raised after, not inside the workers (which would cancel
            # the calls in flight and lose them).
            self.bad = error
        self.exhausted = True

    def raise_bad_item(self, out: Path, *, sent: bool) -> None:
        if self.bad is not None:
            done = f"the items before it were run and written to {out}; " if sent else "nothing was sent; "
            raise InvalidInputError(f"{self.bad} Stopped there: {done}fix it and run the same command to resume.")


async def _live(
    registry: AIRegistry,
    ai: str,
    pending: _Pending,
    out: Path,
    sink: TextIO,
    stream: TextIO,
    max_concurrency: int | None,
    timeout_s: float | None,
    max_input_tokens: int | None,
    options: LiveOptions,
) -> int:
    entry, _model = registry.entry_for(ai)
    governor = ConcurrencyGovernor(ai, requested=max_concurrency, ai_limit=entry.config.max_concurrency)
    progress = Progress(stream, governor)
    async with batch_generate_async(
        registry,
        iter(pending),
        ai,
        max_concurrency=max_concurrency,
        timeout_s=timeout_s,
        max_input_tokens=max_input_tokens,
        governor=governor,
        system=options.system,
        json_schema=options.json_schema,
        temperature=options.temperature,
        max_tokens=options.max_tokens,
    ) as results:
        async for result in results:
            _write(sink, result)
            progress.skipped = pending.skipped
            if pending.exhausted:
                progress.todo = pending.read - pending.skipped
            progress.update(result.ok, result.cost_usd)
    progress.skipped, progress.todo = pending.skipped, pending.read - pending.skipped
    progress.show()
    if stream.isatty():
        stream.write("\n")
    report = governor.report()
    stream.write(
        f"{progress.done} item(s) run, {pending.skipped} already done, {progress.failed} failed, "
        f"cost {progress.cost_text()}; results in {out}; concurrency: {report.effective} at the end (lowest "
        f"{report.lowest}, limit {report.limit}), set by {report.capped_by}\n"
    )
    return 1 if progress.failed else 0


def _write(sink: TextIO, result: ItemResult) -> None:
    # One write per record, flushed before the next: a crash loses nothing finished and tears at most this line.
    sink.write(redact(result.model_dump_json(exclude_none=True)) + "\n")
    sink.flush()


async def _via_provider(
    registry: AIRegistry,
    ai: str,
    items: list[BatchItem],
    out: Path,
    sink: TextIO,
    job_id: str | None,
    stream: TextIO,
    system: str | None,
) -> int:
    saved = job_file(out)
    from_file = False
    if job_id is None:
        job_id = saved_job_id(saved, ai)
        from_file = job_id is not None
    if job_id is not None:
        stream.write(f"resuming provider batch job {job_id}\n")
    elif not items:
        stream.write(f"nothing to do: every item already has a result in {out}\n")
        return 0

    async def submitted(new_id: str) -> None:
        save_job_id(saved, new_id, ai)
        stream.write(
            f"submitted {len(items)} item(s) as provider batch job {new_id}; it is saved in {saved}, so "
            "re-running this command resumes it\n"
        )
        stream.flush()

    async def polled(state: str) -> None:
        stream.write(f"job state: {state}\n")
        stream.flush()

    try:
        results = await run_provider_batch(
            registry, ai, items, system=system, job_id=job_id, on_submitted=submitted, on_poll=polled
        )
    except ProviderError as error:
        if job_id is not None and error.http_status == 404:
            where = f"saved in {saved}" if from_file else "given with --job-id"
            start_over = f"delete {saved} and run" if from_file else "run"
            raise InvalidInputError(
                f"{ai} does not know provider batch job {job_id} ({where}): it expired or belongs to another "
                f"key. To start over, {start_over} the same command without --job-id."
            ) from None
        raise
    for result in results:
        _write(sink, result)
    saved.unlink(missing_ok=True)
    failed = sum(not r.ok for r in results)
    cost = sum(r.cost_usd for r in results if r.cost_usd is not None)
    unknown = sum(r.ok and r.cost_usd is None for r in results)
    stream.write(
        f"{len(results)} item(s) answered by the provider's batch engine, {failed} failed, cost {format_usd(cost)}"
        + (f" + {unknown} of unknown cost" if unknown else "")
        + f" (batch rates); results in {out}\n"
    )
    return 1 if failed else 0
