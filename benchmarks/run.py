"""Junior AI benchmarks: `python -m benchmarks.run` (add `--quick` for a smoke run).

Everything goes through real stdio MCP sessions to real server processes against the provider simulator (its own
process). Each figure is a ratio against a baseline measured in the same run; absolute times are reported too.
Writes benchmarks/results/latest.md and latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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


@dataclass
class Row:
    benchmark: str
    measured: str
    value: str
    baseline: str
    ratio: float | None
    target: str
    met: bool | None


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
    wall, slowest = median(walls), max(latencies)
    return [
        Row(
            f"fan-out, {count} AIs (0.2-1.0 s)",
            "ask_many wall / slowest AI",
            f"{wall * 1000:.0f} ms",
            f"{slowest * 1000:.0f} ms",
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
        rss = peak_rss_mb(server_pid) or 0.0
    ideal = 0.2
    return [
        Row(
            f"scale: {count} concurrent tools/call, one session",
            "wall (each call 200 ms)",
            f"{wall * 1000:.0f} ms",
            f"{ideal * 1000:.0f} ms",
            wall / ideal,
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
    async def spawn_to_list(command: list[str]) -> float:
        started = time.perf_counter()
        async with session(command) as client:
            await client.list_tools()
            return time.perf_counter() - started

    path = credentials(port, {"a": ("openai_compatible", "x"), "b": ("gemini", "y")})
    ours = median([await spawn_to_list(junior_command(path)) for _ in range(repeats)])
    floor = median([await spawn_to_list(echo_command()) for _ in range(repeats)])

    def import_time(module: str) -> float:
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", f"import {module}"], check=True, cwd=ROOT)
            samples.append(time.perf_counter() - started)
        return median(samples)

    bare = import_time("sys")
    rows = [
        Row(
            "start-up",
            "spawn -> initialize -> tools/list",
            f"{ours * 1000:.0f} ms",
            f"{floor * 1000:.0f} ms bare MCPServer",
            ours / floor,
            "<= 1.5",
            ours / floor <= 1.5,
        )
    ]
    for module in ("openai", "google.genai"):
        cost = import_time(module) - bare
        rows.append(
            Row(
                "start-up",
                f"import {module} (cost over bare python)",
                f"{cost * 1000:.0f} ms",
                "-",
                None,
                "report",
                None,
            )
        )
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
    sequential = calls * 1.0
    return [
        Row(
            "consensus: 3 AIs, 1 critique round, judge (1 s per call)",
            "wall vs sequential sum of calls",
            f"{wall * 1000:.0f} ms",
            f"{sequential * 1000:.0f} ms ({calls} calls)",
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
            f"{walls['direct'] * 1000:.0f} ms",
            ratio,
            "<= 1.05x",
            ratio <= 1.05,
        ),
        Row(
            "jobs: one collect round trip (snapshot of a running job)",
            "median collect vs median list_ais round trip",
            f"{median(collect_ms):.1f} ms",
            f"{median(list_ms):.1f} ms",
            median(collect_ms) / median(list_ms),
            "report",
            None,
        ),
    ]


async def batch_cli(port: int, count: int, latency_ms: int, concurrency: int) -> list[Row]:
    """`junior-ai batch` over a file of `count` items: wall time against items x latency / concurrency, and the
    peak RSS of the batch process (input and output are streamed, so it should not grow with `count`)."""
    workdir = Path(tempfile.mkdtemp(prefix="junior-batch-"))
    items = workdir / "items.txt"
    with items.open("w") as handle:
        for index in range(count):
            handle.write(f"item number {index}\n")
    path = credentials(
        port, {"bulk": ("openai_compatible", f"batch-{latency_ms}ms")}, max_concurrency=concurrency, timeout_s=120
    )
    command = [
        sys.executable,
        "-m",
        "junior_ai",
        "--credentials",
        str(path),
        "batch",
        "--template",
        "Echo {item}",
        "--items",
        str(items),
        "--ai",
        "bulk",
        "--out",
        str(workdir / "out.jsonl"),
        "--max-concurrency",
        str(concurrency),
    ]
    started = time.perf_counter()
    process = await anyio.run_process(command, cwd=ROOT, check=False)
    wall = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child so far
    lines = sum(1 for _ in (workdir / "out.jsonl").open())
    ideal = count * latency_ms / 1000 / concurrency
    label = f"batch CLI: {count:,} items, {latency_ms} ms each, {concurrency} at a time"
    return [
        Row(
            label,
            "wall vs items x latency / concurrency",
            f"{wall:.1f} s",
            f"{ideal:.1f} s",
            wall / ideal if ideal else None,
            "report",
            None,
        ),
        Row(
            label,
            "results written / exit code",
            f"{lines:,} / {process.returncode}",
            f"{count:,} / 0",
            None,
            "all",
            lines == count and process.returncode == 0,
        ),
        Row(label, "peak RSS (largest child process)", f"{rss_mb:.0f} MB", "-", None, "report", None),
    ]


def render(rows: list[Row], meta: dict[str, Any]) -> str:
    lines = [
        f"Junior AI benchmarks — {meta['date']}, {meta['cores']} cores, Python {meta['python']}, "
        f"command: `{meta['command']}`",
        "",
        "| benchmark | measured | value | baseline (same run) | ratio | target | met |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "-"
        met = {True: "yes", False: "NO", None: "-"}[row.met]
        lines.append(
            f"| {row.benchmark} | {row.measured} | {row.value} | {row.baseline} | {ratio} | {row.target} | {met} |"
        )
    return "\n".join(lines)


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


async def main(quick: bool, only: list[str]) -> int:
    scenarios = {"zero-latency": {"latency_s": 0}}
    chosen = set(only or DEFAULT_SECTIONS)
    with simulator_process(scenarios) as port:
        rows: list[Row] = []
        if "fanout" in chosen:
            rows += await fan_out(port, 3, 2 if quick else 5)
            rows += await fan_out(port, 10, 2 if quick else 5)
        if "overhead" in chosen:
            rows += await overhead(port, 100 if quick else 300)
        if "scale" in chosen:
            rows += await scale(port, 200 if quick else 1000)
        if "startup" in chosen:
            rows += await startup(port, 2 if quick else 5)
        if "consensus" in chosen:
            rows += await consensus_run(port)
        if "batch" in chosen:
            rows += await batch_cli(port, 200 if quick else 1000, 50, 20)
        if "jobs" in chosen:
            rows += await (jobs_run(port, 2.0, 0.5, 5) if quick else jobs_run(port, 20.0, 5.0, 20))
        if "batch100k" in chosen:
            rows += await batch_cli(port, 100_000, 0, 64)
        if "context" in chosen:
            rows += await context_bench.host_tokens(port, Row)
            rows += context_bench.assembly(3 if quick else 7, Row)
        if "replicas" in chosen:
            rows += await replicas(port, 100 if quick else 300, 1000, Row)
        if "sessions" in chosen:
            rows += await abandoned_sessions(port, 1_000 if quick else 10_000, Row)
        if "library" in chosen:
            from benchmarks.library import library_rows

            rows += await library_rows(port, quick)
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "command": "python -m benchmarks.run" + (" --quick" if quick else ""),
    }
    table = render(rows, meta)
    print(table)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    name = "quick" if quick or only else "latest"
    (out / f"{name}.md").write_text(table + "\n", encoding="utf-8")
    (out / f"{name}.json").write_text(
        json.dumps({"meta": meta, "rows": [asdict(r) for r in rows]}, indent=1), encoding="utf-8"
    )
    return 0 if all(row.met is not False for row in rows) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and calls (a smoke run)")
    parser.add_argument("--only", action="append", choices=SECTIONS, help="run only this section (repeatable)")
    args = parser.parse_args()
    raise SystemExit(anyio.run(main, args.quick, args.only or []))
