"""Junior AI benchmarks: `python -m benchmarks.run` (add `--quick` for a smoke run, `--only SECTION` for one part,
`--readme` to regenerate the README's figures from the committed results without running anything).

Everything goes through real processes (stdio MCP sessions to real servers, the real `junior-ai batch` CLI) against
the provider simulator in its own process. Each ratio is against a baseline measured in the same run, or a
configured ideal that says so in the baseline column. A full run or an `--only` run merges its sections into
benchmarks/results/latest.json (and latest.md) and regenerates the README's table; `--quick` writes quick.*.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import anyio
import openai

from benchmarks import context_bench
from benchmarks.harness import (
    FAKE_KEY,
    ROOT,
    child_pids,
    credentials,
    echo_command,
    junior_command,
    median,
    peak_rss_mb,
    percentile,
    session,
    simulator_process,
)
from benchmarks.replicas import abandoned_sessions, replicas
from benchmarks.report import LATEST, README, RESULTS, Row, load, merge, readme_with, render_table


def spread(count: int, low: float = 0.2, high: float = 1.0) -> list[float]:
    return [round(low + (high - low) * i / (count - 1), 3) for i in range(count)]


async def fan_out(port: int, count: int, repeats: int) -> list[Row]:
    latencies = spread(count)
    ais = {
        f"ai{i}": ("gemini" if i % 2 else "openai_compatible", f"fan{count}-{i}-{int(lat * 1000)}ms")
        for i, lat in enumerate(latencies)
    }
    async with session(junior_command(credentials(port, ais))) as client:
        await client.call_tool("ask_many", {"prompt": "warm up"})
        walls = []
        for _ in range(repeats):
            started = time.perf_counter()
            result = await client.call_tool("ask_many", {"prompt": "fan out"})
            walls.append(time.perf_counter() - started)
            assert (result.structured_content or {}).get("ok_count") == count, result
        started = time.perf_counter()
        for name in ais:
            await client.call_tool("ask_one", {"ai": name, "prompt": "one at a time"})
        sequential = time.perf_counter() - started
    slowest_model = ais[f"ai{count - 1}"][1]
    slowest = median([await direct_call(port, slowest_model) for _ in range(repeats)])
    wall = median(walls)
    return [
        Row(
            f"fan-out, {count} AIs (0.2-1.0 s)",
            "ask_many wall / slowest AI",
            f"{wall * 1000:.0f} ms",
            f"{slowest * 1000:.0f} ms: the slowest AI's model called directly (SDK, same run)",
            wall / slowest,
            "<= 1.05",
            wall / slowest <= 1.05,
        ),
        Row(
            f"fan-out, {count} AIs (0.2-1.0 s)",
            "speed-up vs one after another",
            f"{wall * 1000:.0f} ms",
            f"{sequential * 1000:.0f} ms sequential",
            sequential / wall,
            "report",
            None,
        ),
    ]


async def direct_call(port: int, model: str) -> float:
    """Seconds for one plain OpenAI SDK call to `model` on the simulator: what one AI costs without us."""
    async with openai.AsyncOpenAI(api_key=FAKE_KEY, base_url=f"http://127.0.0.1:{port}/v1", max_retries=0) as client:
        started = time.perf_counter()
        await client.chat.completions.create(model=model, messages=[{"role": "user", "content": "alone"}])
        return time.perf_counter() - started


async def overhead(port: int, calls: int) -> list[Row]:
    """ask_one against its floor. The variants are called in turn, one call each per round, so machine noise
    (this is a shared 2-core VM) hits all of them alike instead of whichever ran during a slow spell."""
    streamed_path = credentials(port, {"zero": ("openai_compatible", "zero-latency")})
    plain_path = credentials(port, {"zero": ("openai_compatible", "zero-latency")}, settings={"stream": False})
    direct_client = openai.AsyncOpenAI(api_key=FAKE_KEY, base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)

    async def direct_streamed() -> None:
        # The same call the server makes: streamed, with usage, read to the end.
        stream = await direct_client.chat.completions.create(
            model="zero-latency",
            messages=[{"role": "user", "content": "ping"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        async for _chunk in stream:
            pass

    async def direct_plain() -> None:
        await direct_client.chat.completions.create(
            model="zero-latency", messages=[{"role": "user", "content": "ping"}]
        )

    samples: dict[str, list[float]] = {name: [] for name in ("ask", "ask_plain", "echo", "direct", "direct_plain")}
    try:
        async with (
            session(junior_command(streamed_path)) as streamed,
            session(junior_command(plain_path)) as plain,
            session(echo_command()) as echo,
        ):
            variants = {
                "ask": lambda: streamed.call_tool("ask_one", {"ai": "zero", "prompt": "ping"}),
                "ask_plain": lambda: plain.call_tool("ask_one", {"ai": "zero", "prompt": "ping"}),
                "echo": lambda: echo.call_tool("echo", {"text": "ping"}),
                "direct": direct_streamed,
                "direct_plain": direct_plain,
            }
            for round_no in range(calls + 20):  # the first 20 rounds warm up
                for name, call in variants.items():
                    started = time.perf_counter()
                    await call()
                    if round_no >= 20:
                        samples[name].append((time.perf_counter() - started) * 1000)
    finally:
        await direct_client.close()
    rows = []
    for label, ours, sdk in (("streamed (default)", "ask", "direct"), ("stream=false", "ask_plain", "direct_plain")):
        for q in (50, 99):
            echo_q, sdk_q, value = (percentile(samples[name], q) for name in ("echo", sdk, ours))
            rows.append(
                Row(
                    f"tool-call overhead, {label} ({calls} calls)",
                    f"ask_one p{q} vs echo tool + the same direct SDK call",
                    f"{value:.2f} ms",
                    f"{echo_q:.2f} + {sdk_q:.2f} ms",
                    value / (echo_q + sdk_q),
                    "<= 1.25",
                    value / (echo_q + sdk_q) <= 1.25,
                )
            )
    return rows


async def scale(port: int, count: int) -> list[Row]:
    path = credentials(port, {"bulk": ("openai_compatible", "bulk-200ms")}, max_concurrency=1000, timeout_s=120)
    async with session(junior_command(path)) as client:
        await client.call_tool("ask_one", {"ai": "bulk", "prompt": "warm"})
        alone = []
        for _ in range(5):
            started = time.perf_counter()
            await client.call_tool("ask_one", {"ai": "bulk", "prompt": "alone"})
            alone.append(time.perf_counter() - started)
        server_pid = max(child_pids())
        failures = 0
        mismatched = 0

        async def one(index: int) -> None:
            nonlocal failures, mismatched
            result = await client.call_tool("ask_one", {"ai": "bulk", "prompt": f"item {index}"})
            if result.is_error:
                failures += 1
            elif f"item {index}" not in ((result.structured_content or {}).get("text") or ""):
                mismatched += 1

        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for index in range(count):
                tg.start_soon(one, index)
        wall = time.perf_counter() - started
        rss = peak_rss_mb(server_pid) or 0.0  # VmHWM of the server process itself, read while it runs
    one = median(alone)
    return [
        Row(
            f"scale: {count} concurrent tools/call, one session",
            "wall (each call 200 ms)",
            f"{wall * 1000:.0f} ms",
            f"{one * 1000:.0f} ms: one such call alone (same run)",
            wall / one,
            "report",
            None,
        ),
        Row(
            f"scale: {count} concurrent tools/call, one session",
            "failures + mixed-up answers",
            f"{failures} + {mismatched}",
            "0",
            None,
            "0",
            failures + mismatched == 0,
        ),
        Row(
            f"scale: {count} concurrent tools/call, one session",
            "server peak RSS",
            f"{rss:.0f} MB",
            "-",
            None,
            "< 300 MB",
            rss < 300,
        ),
        Row(
            f"scale: {count} concurrent tools/call, one session",
            "throughput",
            f"{count / wall:.0f} calls/s",
            "-",
            None,
            "report",
            None,
        ),
    ]


async def startup(port: int, repeats: int) -> list[Row]:
    listing_size = 0

    async def spawn_to_list(command: list[str]) -> float:
        nonlocal listing_size
        started = time.perf_counter()
        async with session(command) as client:
            tools = (await client.list_tools()).tools
            elapsed = time.perf_counter() - started
        if command[-1] == "serve":
            dumped = [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]
            listing_size = len(json.dumps({"tools": dumped}, separators=(",", ":")))
        return elapsed

    path = credentials(port, {"a": ("openai_compatible", "x"), "b": ("gemini", "y")})
    ours = median([await spawn_to_list(junior_command(path)) for _ in range(repeats)])
    floor = median([await spawn_to_list(echo_command()) for _ in range(repeats)])

    rows = [
        Row(
            "start-up",
            "spawn -> initialize -> tools/list",
            f"{ours * 1000:.0f} ms",
            f"{floor * 1000:.0f} ms bare MCPServer",
            ours / floor,
            "<= 1.5",
            ours / floor <= 1.5,
        ),
        Row(
            "start-up",
            "tools/list size (characters on the wire)",
            f"{listing_size:,} (~{listing_size / 4:,.0f} tokens)",
            "-",
            None,
            "< 2,500 tokens",
            listing_size / 4 < 2_500,
            number=listing_size,
        ),
    ]
    # Time to the first answer (server and CLI), each SDK's import cost inside its baseline: benchmarks/startup.py.
    from benchmarks.startup import startup_rows

    rows += await startup_rows(port, repeats, Row)
    return rows


async def consensus_run(port: int) -> list[Row]:
    ais = {
        "c1": ("openai_compatible", "cons-1000ms"),
        "c2": ("gemini", "cons2-1000ms"),
        "c3": ("openai_compatible", "cons3-1000ms"),
    }
    async with session(junior_command(credentials(port, ais))) as client:
        await client.call_tool("list_ais", {})  # waits for the clients built at start-up: not part of the run
        started = time.perf_counter()
        result = await client.call_tool("consensus", {"question": "Is this fast?", "rounds": 1})
        wall = time.perf_counter() - started
        structured = result.structured_content or {}
        calls = len(structured.get("rounds", [])) + 1
        started = time.perf_counter()  # the same number of 1 s calls, one after another, in the same session
        for index in range(calls):
            await client.call_tool("ask_one", {"ai": f"c{index % 3 + 1}", "prompt": "one of the calls"})
        sequential = time.perf_counter() - started
    return [
        Row(
            "consensus: 3 AIs, 1 critique round, judge (1 s per call)",
            "wall vs sequential sum of calls",
            f"{wall * 1000:.0f} ms",
            f"{sequential * 1000:.0f} ms: {calls} such calls one after another (same run)",
            sequential / wall,
            "report",
            None,
        )
    ]


async def jobs_run(port: int, latency_s: float, deadline_s: float, collect_calls: int) -> list[Row]:
    """Continue-and-collect (issue 18): a consensus of three slow AIs whose deadline comes long before the answer.
    Time until the host has the full synthesis through `collect`, against the same consensus with no deadline
    (both at once, each in its own server process); and what one `collect` round trip costs."""
    ms = int(latency_s * 1000)

    def ais(tag: str) -> dict[str, tuple[str, str]]:
        return {
            "j1": ("openai_compatible", f"jobs-{tag}1-{ms}ms"),
            "j2": ("gemini", f"jobs-{tag}2-{ms}ms"),
            "j3": ("openai_compatible", f"jobs-{tag}3-{ms}ms"),
        }

    question = {"question": "Which design holds up?", "rounds": 1}
    extra = {"timeout_s": latency_s * 4}
    walls: dict[str, float] = {}
    collect_ms: list[float] = []
    list_ms: list[float] = []
    answers: dict[str, str] = {}

    async def without_deadline() -> None:
        async with session(junior_command(credentials(port, ais("a"), **extra))) as client:
            await client.call_tool("list_ais", {})  # the clients built at start-up: not part of the run
            started = time.perf_counter()
            result = await client.call_tool("consensus", {**question, "deadline_s": 3600})
            walls["direct"] = time.perf_counter() - started
            answers["direct"] = str((result.structured_content or {}).get("answer"))

    async def with_deadline() -> None:
        async with session(junior_command(credentials(port, ais("b"), **extra))) as client:
            await client.call_tool("list_ais", {})
            started = time.perf_counter()
            first = await client.call_tool("consensus", {**question, "deadline_s": deadline_s})
            job_id = (first.structured_content or {}).get("job_id")
            assert job_id, "the consensus finished before its deadline: nothing to collect"
            for _ in range(collect_calls):  # round trips while it runs: a snapshot each
                t0 = time.perf_counter()
                await client.call_tool("collect", {"job_id": job_id, "wait_s": 0})
                collect_ms.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                await client.call_tool("list_ais", {})
                list_ms.append((time.perf_counter() - t0) * 1000)
            while True:
                done = await client.call_tool("collect", {"job_id": job_id, "wait_s": 50})
                if (done.structured_content or {}).get("status") != "running":
                    break
            walls["collect"] = time.perf_counter() - started
            answers["collect"] = str((done.structured_content or {}).get("answer"))

    async with anyio.create_task_group() as tg:
        tg.start_soon(without_deadline)
        tg.start_soon(with_deadline)
    assert answers["collect"] not in {"None", ""}, "collect did not return the synthesis"
    ratio = walls["collect"] / walls["direct"]
    return [
        Row(
            f"jobs: consensus of 3 AIs ({latency_s:g} s each), deadline {deadline_s:g} s, then collect",
            "time to the full synthesis via collect vs no deadline",
            f"{walls['collect'] * 1000:.0f} ms",
            f"{walls['direct'] * 1000:.0f} ms: the same consensus with no deadline (same run)",
            ratio,
            "<= 1.05x",
            ratio <= 1.05,
        ),
        Row(
            "jobs: one collect round trip (snapshot of a running job)",
            "median collect vs median list_ais round trip",
            f"{median(collect_ms):.1f} ms",
            f"{median(list_ms):.1f} ms: list_ais round trip (same run)",
            median(collect_ms) / median(list_ms),
            "report",
            None,
        ),
    ]


def items_file(count: int) -> Path:
    workdir = Path(tempfile.mkdtemp(prefix="junior-batch-"))
    items = workdir / "items.txt"
    with items.open("w") as handle:
        for index in range(count):
            handle.write(f"item number {index}\n")
    return items


@dataclass
class ProcessRun:
    wall_s: float
    code: int
    peak_mb: float
    cpu_s: float
    stderr: str
    lines: int = 0

    @property
    def steady_rate(self) -> float:
        """Items per second from the first item to the last result, as the process itself reported it (the last
        `N/s` on its stderr: junior-ai batch's final progress line, the hand-written loop's one line)."""
        rates = re.findall(r"([\d.]+)/s\b", self.stderr)
        return float(rates[-1]) if rates else 0.0


async def timed_process(module: str, args: list[str]) -> ProcessRun:
    """Run `python -m module args` under benchmarks/peak_rss.py: its wall time, exit code, and its own peak RSS
    and CPU time."""
    with tempfile.NamedTemporaryFile(suffix=".rss", delete=False) as handle:
        rss_path = Path(handle.name)
    env = {**os.environ, "PEAK_RSS_FILE": str(rss_path), "JUNIOR_AI_LOG_LEVEL": "ERROR"}
    command = [sys.executable, str(ROOT / "benchmarks" / "peak_rss.py"), module, *args]
    started = time.perf_counter()
    process = await anyio.run_process(command, cwd=ROOT, env=env, check=False, stderr=subprocess.PIPE)
    wall = time.perf_counter() - started
    if process.returncode:
        print(process.stderr.decode(errors="replace")[-2000:], file=sys.stderr)
    report = take_report(rss_path)
    stderr = process.stderr.decode(errors="replace")
    return ProcessRun(wall, process.returncode, report["peak_kib"] / 1024, report["cpu_s"], stderr)


def take_report(path: Path) -> dict[str, float]:
    text = path.read_text()
    path.unlink()
    return json.loads(text) if text else {"peak_kib": 0, "cpu_s": 0}


async def junior_batch(port: int, items: Path, latency_ms: int, concurrency: int) -> ProcessRun:
    """`junior-ai batch` over `items`."""
    path = credentials(port, {"bulk": ("openai_compatible", f"batch-{latency_ms}ms")}, timeout_s=120)
    out = items.with_name(f"junior-{time.monotonic_ns()}.jsonl")
    args = ["--credentials", str(path), "batch", "--template", "Echo {item}", "--items", str(items)]
    args += ["--ai", "bulk", "--out", str(out), "--max-concurrency", str(concurrency)]
    run = await timed_process("junior_ai", args)
    run.lines = count_lines(out)
    return run


def count_lines(path: Path) -> int:
    return sum(1 for _ in path.open()) if path.exists() else 0


async def handwritten_batch(port: int, items: Path, latency_ms: int, concurrency: int) -> tuple[float, int, float, int]:
    """The same items through benchmarks/handwritten_batch.py (AsyncOpenAI + asyncio.Semaphore)."""
    out = items.with_name(f"hand-{time.monotonic_ns()}.jsonl")
    base = f"http://127.0.0.1:{port}/v1"
    args = [base, f"batch-{latency_ms}ms", str(items), str(out), str(concurrency)]
    run = await timed_process("benchmarks.handwritten_batch", args)
    run.lines = count_lines(out)
    return run


async def batch_vs_handwritten(port: int, count: int, latency_ms: int, concurrency: int, repeats: int) -> list[Row]:
    """`junior-ai batch` against the loop a user would write by hand, each in its own process on the same
    simulator, run in turn (hand, ours, hand, ours, ...) so machine noise hits both alike. Throughput is items over
    the process's whole wall time, start-up included: what a user waits for."""
    items = items_file(count)
    ours: list[ProcessRun] = []
    theirs: list[ProcessRun] = []
    for _ in range(repeats):
        theirs.append(await handwritten_batch(port, items, latency_ms, concurrency))
        ours.append(await junior_batch(port, items, latency_ms, concurrency))
    our_rate = median([run.steady_rate for run in ours])
    their_rate = median([run.steady_rate for run in theirs])
    our_total = median([count / run.wall_s for run in ours])
    their_total = median([count / run.wall_s for run in theirs])
    our_cpu = median([run.cpu_s for run in ours]) / count * 1000
    their_cpu = median([run.cpu_s for run in theirs]) / count * 1000
    label = f"batch: {count:,} items, {latency_ms} ms each, {concurrency} at a time"
    complete = all(run.code == 0 and run.lines == count for run in ours + theirs)
    return [
        Row(
            label,
            "junior-ai batch throughput vs a hand-written AsyncOpenAI + Semaphore loop (first item to last)",
            f"{our_rate:.0f} items/s",
            f"{their_rate:.0f} items/s hand-written (same run, median of {repeats})",
            our_rate / their_rate,
            ">= 0.9",
            our_rate / their_rate >= 0.9,
        ),
        Row(
            label,
            "the same, process start to exit (start-up and SDK imports included)",
            f"{our_total:.0f} items/s",
            f"{their_total:.0f} items/s hand-written (same run, median of {repeats})",
            our_total / their_total,
            "report",
            None,
        ),
        Row(
            label,
            "client CPU per item (user + system, start-up included), hand-written / junior-ai batch",
            f"{our_cpu:.2f} ms",
            f"{their_cpu:.2f} ms hand-written (same run, median of {repeats})",
            their_cpu / our_cpu,
            "report",
            None,
        ),
        Row(
            label,
            "every item written, exit code 0 (both)",
            f"{ours[-1].lines:,} + {theirs[-1].lines:,}",
            f"{count:,} + {count:,}",
            None,
            "all",
            complete,
        ),
        Row(
            label,
            "peak RSS of the junior-ai batch process (its own VmHWM)",
            f"{max(run.peak_mb for run in ours):.0f} MB",
            f"{max(run.peak_mb for run in theirs):.0f} MB hand-written (holds every item and task in memory)",
            None,
            "report",
            None,
        ),
    ]


async def batch_large(port: int, count: int, concurrency: int) -> list[Row]:
    """A big `junior-ai batch` run: memory must stay flat (items and results are streamed)."""
    items = items_file(count)
    run = await junior_batch(port, items, 0, concurrency)
    label = f"batch: {count:,} items, 0 ms each, {concurrency} at a time"
    written = f"{run.lines:,} / {run.code}"
    return [
        Row(label, "throughput (start-up included)", f"{count / run.wall_s:.0f} items/s", "-", None, "report", None),
        Row(label, "results written / exit code", written, f"{count:,} / 0", None, "all", run.lines == count),
        Row(
            label,
            "peak RSS of the junior-ai batch process (its own VmHWM)",
            f"{run.peak_mb:.0f} MB",
            "-",
            None,
            "report (compare with the 2,000-item row)",
            None,
        ),
    ]


SECTIONS = (
    "fanout",
    "overhead",
    "scale",
    "startup",
    "consensus",
    "batch",
    "batch100k",
    "context",
    "jobs",
    "replicas",
    "sessions",
    "library",
)
DEFAULT_SECTIONS = ("fanout", "overhead", "scale", "startup", "consensus", "batch", "context", "library")
"""batch100k (a 100,000-item CLI run, several minutes here) and jobs (three 20-second AIs: over a minute) run
only when asked: --only batch100k, --only jobs. So do replicas and sessions (HTTP deployment: they need a
redis-server, see benchmarks/replicas.py)."""


async def run_sections(quick: bool, chosen: set[str]) -> dict[str, list[Row]]:
    scenarios = {"zero-latency": {"latency_s": 0}}
    ran: dict[str, list[Row]] = {}
    with simulator_process(scenarios) as port:
        if "fanout" in chosen:
            ran["fanout"] = await fan_out(port, 3, 2 if quick else 5) + await fan_out(port, 10, 2 if quick else 5)
        if "overhead" in chosen:
            ran["overhead"] = await overhead(port, 100 if quick else 300)
        if "scale" in chosen:
            ran["scale"] = await scale(port, 200 if quick else 1000)
        if "startup" in chosen:
            ran["startup"] = await startup(port, 2 if quick else 5)
        if "consensus" in chosen:
            ran["consensus"] = await consensus_run(port)
        if "batch" in chosen:
            repeats = 1 if quick else 5
            ran["batch"] = await batch_vs_handwritten(port, 200 if quick else 2000, 0, 16, repeats)
            ran["batch"] += await batch_vs_handwritten(port, 100 if quick else 1000, 50, 16, repeats)
        if "jobs" in chosen:
            ran["jobs"] = await (jobs_run(port, 2.0, 0.5, 5) if quick else jobs_run(port, 20.0, 5.0, 20))
        if "batch100k" in chosen:
            ran["batch100k"] = await batch_large(port, 100_000, 64)
        if "context" in chosen:
            ran["context"] = await context_bench.host_tokens(port, Row)
            ran["context"] += context_bench.assembly(3 if quick else 7, Row)
        if "replicas" in chosen:
            ran["replicas"] = await replicas(port, 100 if quick else 400, 1000, Row)
        if "sessions" in chosen:
            ran["sessions"] = await abandoned_sessions(port, 1_000 if quick else 10_000, Row)
        if "library" in chosen:
            from benchmarks.library import library_rows

            ran["library"] = await library_rows(port, quick)
    return ran


def write_readme() -> None:
    README.write_text(readme_with(README.read_text(encoding="utf-8"), load(), SECTIONS), encoding="utf-8")


async def main(quick: bool, only: list[str]) -> int:
    ran = await run_sections(quick, set(only or DEFAULT_SECTIONS))
    command = "python -m benchmarks.run" + (" --quick" if quick else "") + "".join(f" --only {o}" for o in only)
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "command": command,
    }
    this_run = merge({"sections": {}}, ran, meta)
    print(render_table(this_run, SECTIONS))
    RESULTS.mkdir(exist_ok=True)
    target = RESULTS / "quick.json" if quick else LATEST
    data = this_run if quick else merge(load(LATEST), ran, meta)
    target.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    target.with_suffix(".md").write_text(render_table(data, SECTIONS) + "\n", encoding="utf-8")
    if not quick:
        write_readme()
    rows = [row for section in ran.values() for row in section]
    return 0 if all(row.met is not False for row in rows) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and calls (a smoke run)")
    parser.add_argument("--only", action="append", choices=SECTIONS, help="run only this section (repeatable)")
    parser.add_argument(
        "--readme", action="store_true", help="only regenerate the README's figures from benchmarks/results/latest.json"
    )
    args = parser.parse_args()
    if args.readme:
        write_readme()
        raise SystemExit(0)
    raise SystemExit(anyio.run(main, args.quick, args.only or []))
