"""`junior-ai batch` against careless and hostile use: pipes, torn files, duplicates, damaged job files, two runs on
one --out, and a concurrency that is neither silently capped nor blind to 429s."""

from __future__ import annotations

import io
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest

from junior_ai.ai.adaptive import ConcurrencyGovernor
from junior_ai.ai.batch import BatchItem, item_key
from junior_ai.ai.provider_batch import run_provider_batch
from junior_ai.ai.registry import initialize_all_clients_async
from junior_ai.ai.simulator import Fault, Scenario, Simulator
from junior_ai.core.errors import RateLimitedError
from junior_ai.server.batch_cli import Progress
from junior_ai.tools.arguments import AskBatchArgs
from junior_ai.tools.batch import ask_batch
from tests.conftest import OPENAI_KEY, ROOT, config_of, openai_ai

FAST_POLLING = {"poll_initial_s": 0.01, "poll_max_s": 0.05}


def credentials(sim: Simulator, tmp_path: Path, model: str, **extra: Any) -> Path:
    path = tmp_path / "credentials.json"
    entry = {"provider": "openai_compatible", "model": model, "api_key": OPENAI_KEY, "base_url": sim.openai_base_url}
    path.write_text(json.dumps({"bulk": {**entry, **extra}, "settings": {"retry_base_delay_s": 0.01}}))
    path.chmod(0o600)
    return path


def batch_command(creds: Path, items: str, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "junior_ai",
        "--credentials",
        str(creds),
        "batch",
        "--template",
        "Item: {item}",
        "--items",
        items,
        "--ai",
        "bulk",
        "--out",
        str(out),
        *extra,
    ]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "JUNIOR_AI_CREDENTIALS"}


def run(command: list[str], stdin: str | None = None, shell: bool = False) -> subprocess.CompletedProcess[str]:
    """`shell`: through bash, every argument quoted except those starting `<(` (process substitution)."""
    line = " ".join(arg if arg.startswith("<(") else shlex.quote(arg) for arg in command)
    return subprocess.run(
        command if not shell else ["bash", "-c", line],
        input=stdin,
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.read_text().splitlines()]  # every line must parse


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("junior-ai: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


# --- items read once, from a pipe or stdin ---


async def test_items_from_standard_input_are_read_once_and_all_run(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    result = run(batch_command(credentials(sim, tmp_path, "piped"), "-", out), stdin="one\ntwo\nthree\n")
    assert result.returncode == 0, result.stderr
    assert "3 item(s) run, 0 already done, 0 failed" in result.stderr
    assert sorted(r["index"] for r in records(out)) == [0, 1, 2]
    assert sorted(r.prompt for r in sim.state.requests("piped")) == ["Item: one", "Item: three", "Item: two"]


async def test_items_from_process_substitution_are_all_run(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    command = batch_command(credentials(sim, tmp_path, "procsub"), "<(printf 'a\\nb\\n')", out)
    result = run(command, shell=True)  # the file is a pipe: counting it first would leave nothing to run
    assert result.returncode == 0, result.stderr
    assert "2 item(s) run" in result.stderr and len(records(out)) == 2


async def test_json_items_from_stdin_need_the_format_said(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    command = batch_command(credentials(sim, tmp_path, "piped-json"), "-", out, "--items-format", "jsonl")
    command[command.index("Item: {item}")] = "Word: {item.w}"
    result = run(command, stdin='{"w": "x"}\n{"w": "y"}\n')
    assert result.returncode == 0, result.stderr
    assert sorted(r.prompt for r in sim.state.requests("piped-json")) == ["Word: x", "Word: y"]


# --- a torn last line ---


async def test_a_torn_last_line_is_cut_off_so_the_redone_item_is_readable_and_paid_for_once(
    sim: Simulator, tmp_path: Path
) -> None:
    creds = credentials(sim, tmp_path, "torn")
    items = tmp_path / "items.txt"
    items.write_text("first\nsecond\n")
    out = tmp_path / "out.jsonl"
    assert run(batch_command(creds, str(items), out)).returncode == 0
    lines = out.read_text().splitlines(keepends=True)
    second = next(line for line in lines if '"index":1' in line)
    # A crash in the middle of writing the second record:
    out.write_text("".join(line for line in lines if line != second) + second[: len(second) // 2])

    again = run(batch_command(creds, str(items), out))
    assert again.returncode == 0, again.stderr
    assert "removed a torn last line" in again.stderr and "1 item(s) run, 1 already done" in again.stderr
    assert sorted(r["index"] for r in records(out)) == [0, 1]  # every line parses

    third = run(batch_command(creds, str(items), out))
    assert "0 item(s) run, 2 already done" in third.stderr
    prompts = [r.prompt for r in sim.state.requests("torn")]
    assert prompts.count("Item: second") == 2 and prompts.count("Item: first") == 1  # not paid for a third time


# --- provider batch duplicates ---


async def test_provider_batch_answers_every_duplicate_item(sim: Simulator) -> None:
    registry = await initialize_all_clients_async(config_of(openai_ai(sim, "ai", "dupes")))
    items = [BatchItem(index=i, prompt=p) for i, p in enumerate(["same", "same", "other"])]
    try:
        results = await run_provider_batch(registry, "ai", items, **FAST_POLLING)
    finally:
        await registry.aclose()
    assert [(r.index, r.status) for r in results] == [(0, "ok"), (1, "ok"), (2, "ok")]
    assert results[0].text == results[1].text and results[0].key == results[1].key == item_key("same", "ai")
    assert sim.app.batches.created_jobs == 1


# --- one-line errors ---


@pytest.mark.parametrize(
    ("content", "says"),
    [("", "is empty"), ("{not json", "not valid JSON"), ('{"ai": "bulk"}', "has no job_id"), ("[1]", "not valid")],
    ids=["empty", "invalid", "no-job-id", "not-an-object"],
)
async def test_a_damaged_job_file_is_a_one_line_error_with_the_fix(
    sim: Simulator, tmp_path: Path, content: str, says: str
) -> None:
    items = tmp_path / "items.txt"
    items.write_text("a\n")
    out = tmp_path / "out.jsonl"
    (tmp_path / "out.jsonl.job").write_text(content)
    result = run(batch_command(credentials(sim, tmp_path, "jobbed"), str(items), out, "--via", "provider-batch"))
    line = one_line_error(result)
    assert says in line and f"delete {tmp_path / 'out.jsonl.job'}" in line
    assert sim.app.batches.created_jobs == 0


async def test_a_stale_job_id_names_the_job_file_and_how_to_start_over(sim: Simulator, tmp_path: Path) -> None:
    items = tmp_path / "items.txt"
    items.write_text("a\n")
    out = tmp_path / "out.jsonl"
    job = tmp_path / "out.jsonl.job"
    job.write_text(json.dumps({"job_id": "batch_gone_long_ago", "ai": "bulk"}))
    result = run(batch_command(credentials(sim, tmp_path, "stale"), str(items), out, "--via", "provider-batch"))
    line = one_line_error(result)
    assert "batch_gone_long_ago" in line and f"saved in {job}" in line and f"delete {job}" in line


async def test_an_unwritable_out_and_missing_items_are_one_line_errors(sim: Simulator, tmp_path: Path) -> None:
    creds = credentials(sim, tmp_path, "careless")
    items = tmp_path / "items.txt"
    items.write_text("a\n")
    missing_dir = one_line_error(run(batch_command(creds, str(items), tmp_path / "no-such-dir" / "out.jsonl")))
    assert "cannot write --out" in missing_dir and "No such file or directory" in missing_dir
    a_directory = one_line_error(run(batch_command(creds, str(items), tmp_path)))
    assert "cannot write --out" in a_directory
    no_items = one_line_error(run(batch_command(creds, str(tmp_path / "nope.txt"), tmp_path / "out.jsonl")))
    assert "--items" in no_items and "no such file" in no_items
    assert sim.state.requests("careless") == []  # nothing was asked before the files were checked


# --- two runs on one --out ---


async def test_a_second_run_on_the_same_out_refuses_while_the_first_writes(sim: Simulator, tmp_path: Path) -> None:
    sim.set_scenario("locked", Scenario(fault=Fault(kind="hang")))  # the first run stays busy until killed
    creds = credentials(sim, tmp_path, "locked")
    items = tmp_path / "items.txt"
    items.write_text("a\nb\n")
    out = tmp_path / "out.jsonl"
    first = await anyio.open_process(
        batch_command(creds, str(items), out),
        cwd=ROOT,
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert await anyio.to_thread.run_sync(lambda: sim.state.wait_for(lambda s: s.in_flight == 2, 60))
        second = run(batch_command(creds, str(items), out))
        line = one_line_error(second)
        assert f"another junior-ai batch (pid {first.pid}) is writing {out}" in line
        assert len(sim.state.requests("locked")) == 2  # the second run asked nothing
    finally:
        first.kill()
        with anyio.fail_after(30):
            await first.wait()
    # The kernel released the dead run's lock: the next run goes ahead.
    sim.set_scenario("locked", Scenario())
    after = run(batch_command(creds, str(items), out))
    assert after.returncode == 0, after.stderr


# --- concurrency ---


async def test_a_batch_runs_as_many_calls_as_asked_when_the_ai_sets_no_limit(sim: Simulator, tmp_path: Path) -> None:
    # Each answer waits until 10 requests are in flight together: a batch held to 4 would never get there.
    sim.set_scenario("wide", Scenario(hold_until_in_flight=10))
    items = tmp_path / "items.txt"
    items.write_text("".join(f"n{i}\n" for i in range(10)))
    out = tmp_path / "out.jsonl"
    result = run(batch_command(credentials(sim, tmp_path, "wide"), str(items), out, "--max-concurrency", "10"))
    assert result.returncode == 0, result.stderr
    assert sim.state.max_in_flight == 10
    assert "concurrency: 10 at the end (lowest 10, limit 10), set by the requested max_concurrency" in result.stderr


async def test_asking_above_the_ai_limit_reports_what_capped_it(sim: Simulator, tmp_path: Path) -> None:
    items = tmp_path / "items.txt"
    items.write_text("x\n")
    creds = credentials(sim, tmp_path, "capped", max_concurrency=6)
    result = run(batch_command(creds, str(items), tmp_path / "out.jsonl", "--max-concurrency", "20"))
    assert result.returncode == 0, result.stderr
    assert "limit 6), set by bulk's max_concurrency of 6 (asked for 20)" in result.stderr
    assert "concurrency 6/6" in result.stderr  # the progress line says it too


def test_the_governor_halves_on_each_429_and_grows_back_one_at_a_time_up_to_its_limit() -> None:
    governor = ConcurrencyGovernor("ai", requested=20, ai_limit=8)
    assert governor.limit == governor.effective == 8
    too_many = RateLimitedError("slow down", ai="ai", http_status=429)
    for expected in (4, 2, 1, 1):
        governor.on_attempt_failed(too_many)
        assert governor.effective == expected
    assert "backing off after 4 rate-limit answer(s)" in governor.capped_by()
    ours = RateLimitedError("our own rpm limit", ai="ai", http_status=None)
    governor.on_attempt_failed(ours)  # our own rpm limit is not the provider pushing back
    assert governor.rate_limited == 4
    sizes = []
    for _ in range(40):
        governor.on_success()
        sizes.append(governor.effective)
    assert sizes[:6] == [2, 2, 3, 3, 3, 4]  # one more after a round of successes at the current size
    assert max(sizes) == 8 and sizes[-1] == 8  # never above the limit
    assert governor.report().lowest == 1 and "asked for 20" in governor.capped_by()


async def test_ask_batch_backs_off_on_429_and_reports_its_concurrency(sim: Simulator) -> None:
    sim.set_scenario("pushy", Scenario(fault=Fault(kind="status", status=429, retry_after="0", times=3)))
    config = config_of(openai_ai(sim, "ai", "pushy", max_concurrency=8), retry_base_delay_s=0.01)
    registry = await initialize_all_clients_async(config)
    try:
        summary = await ask_batch(
            registry, AskBatchArgs.parse(template="{item}", items=[f"i{n}" for n in range(60)], ai="ai")
        )
    finally:
        await registry.aclose()
    assert summary.counts == {"ok": 60}
    (report,) = summary.concurrency
    assert report.rate_limited == 3 and report.lowest <= 2 and report.limit == 8
    assert report.effective == 8 and report.capped_by == "ai's max_concurrency"  # grown back by the successes


def test_the_progress_line_says_the_total_is_unknown_until_the_items_end() -> None:
    stream = io.StringIO()
    progress = Progress(stream, ConcurrencyGovernor("ai", requested=None, ai_limit=16))
    progress.done = 5
    assert progress.line().startswith("5/? done (0 already done)") and "ETA unknown" in progress.line()
    assert "concurrency 16/16" in progress.line()
    progress.todo = 8
    assert progress.line().startswith("5/8 done") and "ETA" in progress.line()
