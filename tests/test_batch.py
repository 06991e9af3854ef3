"""Batch and map: every item accounted for, bounded concurrency, rpm, oversize refusal, resume after a kill."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from mcp.client.client import Client

from junior_ai.ai.batch import BatchItem, batch_generate_async, item_key, map_generate_async, render
from junior_ai.ai.registry import initialize_all_clients_async
from junior_ai.ai.simulator import Fault, ReplyRule, Scenario, Simulator
from junior_ai.server.app import build_server
from junior_ai.tools.arguments import AskBatchArgs
from junior_ai.tools.batch import ask_batch
from tests.clock import ManualClock, drive_health_by
from tests.conftest import OPENAI_KEY, config_of, gemini_ai, openai_ai
from tests.test_server_tools import text_of

ROOT = Path(__file__).resolve().parents[1]


def test_templates_render_items_and_fields() -> None:
    assert render("Summarise: {item}", "a text") == "Summarise: a text"
    assert render("{item.word} in {item.lang}", {"word": "cat", "lang": "fr"}) == "cat in fr"
    assert render("all: {item}", {"a": 1}) == 'all: {"a": 1}'
    with pytest.raises(KeyError):
        render("{item.missing}", {"word": "cat"})


async def test_a_thousand_item_map_accounts_for_every_item_within_the_limit(sim: Simulator) -> None:
    sim.set_scenario("bulk", Scenario(latency_s=0.01, jitter_s=0.04, fault=Fault(kind="status", status=503, times=25)))
    config = config_of(openai_ai(sim, "ai", "bulk", max_concurrency=20), max_attempts=1, breaker_threshold=1000)
    registry = await initialize_all_clients_async(config)
    items = [{"n": i} for i in range(1000)]
    results = []
    try:
        async with map_generate_async(registry, "number {item.n}", items, "ai") as finished:
            async for result in finished:
                results.append(result)
    finally:
        await registry.aclose()
    assert sorted(r.index for r in results) == list(range(1000))  # every item, once
    statuses = [r.status for r in results]
    assert statuses.count("unavailable") == 25 and statuses.count("ok") == 975
    assert all(r.text and r.text.endswith(f"number {r.index}") for r in results if r.ok)
    assert sim.state.max_in_flight <= 20


async def test_batch_respects_the_rpm_limit(sim: Simulator) -> None:
    registry = await initialize_all_clients_async(config_of(openai_ai(sim, "ai", "paced", rpm=1200)))
    clock = ManualClock()
    drive_health_by(registry, clock)
    try:
        items = (BatchItem(index=i, prompt=f"p{i}") for i in range(8))
        async with batch_generate_async(registry, items, "ai", max_concurrency=8) as finished:
            assert len([r async for r in finished]) == 8
    finally:
        await registry.aclose()
    # The limiter's own grants: 1,200 rpm is one start every 50 ms, however many workers the batch runs.
    gaps = [b - a for a, b in itertools.pairwise(sorted(clock.wakeups))]
    assert len(clock.wakeups) == 8 and gaps == pytest.approx([0.05] * 7)


@pytest.mark.parametrize("make", [openai_ai, gemini_ai], ids=["openai", "gemini"])
async def test_oversize_items_are_refused_before_sending(sim: Simulator, make: Any) -> None:
    registry = await initialize_all_clients_async(config_of(make(sim, "ai", "sized")))
    try:
        items = [BatchItem(index=0, prompt="short"), BatchItem(index=1, prompt="word " * 2000)]
        async with batch_generate_async(registry, iter(items), "ai", max_input_tokens=500) as finished:
            results = {r.index: r async for r in finished}
    finally:
        await registry.aclose()
    assert results[0].ok
    assert results[1].status == "bad_request" and "over the limit of 500: not sent" in (results[1].error or "")
    assert [r.prompt for r in sim.state.requests("sized")] == ["short"]


async def test_ask_batch_reports_progress_counts_and_a_jsonl_resource(sim: Simulator) -> None:
    sim.set_scenario("batch-model", Scenario(latency_s=0.02))
    config = config_of(openai_ai(sim, "a", "batch-model"), gemini_ai(sim, "b", "batch-model"))
    seen: list[tuple[float, str]] = []

    async def progress(value: float, total: float | None, message: str | None) -> None:
        assert total == 40
        seen.append((value, message or ""))

    async with Client(build_server(config)) as client:
        result = await client.call_tool(
            "ask_batch",
            {"template": "Define {item}", "items": [f"word{i}" for i in range(20)], "ais": ["a", "b"]},
            progress_callback=progress,
        )
        summary = result.structured_content or {}
        lines = (await client.read_resource(summary["results_uri"])).contents[0].text  # type: ignore[union-attr]
    assert summary["counts"] == {"ok": 40} and summary["total"] == 40
    records = [json.loads(line) for line in lines.splitlines()]
    assert len(records) == 40 and {(r["ai"], r["index"]) for r in records} == {(a, i) for a in "ab" for i in range(20)}
    values = [value for value, _ in seen]
    assert values == sorted(set(values)) and values[-1] == 40
    assert all("ETA" in message for _, message in seen) and seen[-1][1].endswith("ETA 0 s")
    assert "Batch of 40: ok 40" in text_of(result)


async def test_items_cut_off_by_the_deadline_are_reported_not_done(sim: Simulator) -> None:
    # Four quick items, then six the AI never answers: only the deadline can end the batch.
    sim.set_scenario("slowpoke", Scenario(rules=(ReplyRule(contains="stuck", reply="-", delay_s=3600),)))
    registry = await initialize_all_clients_async(config_of(openai_ai(sim, "ai", "slowpoke", max_concurrency=2)))
    items = [f"quick {i}" for i in range(4)] + [f"stuck {i}" for i in range(6)]
    try:
        args = AskBatchArgs.parse(template="{item}", items=items, ai="ai", deadline_s=3)
        with anyio.fail_after(60):
            summary = await ask_batch(registry, args)
    finally:
        await registry.aclose()
    assert summary.counts.get("ok", 0) == 4 and summary.counts["not_done"] == 6
    assert summary.total == 10


def run_cli(sim: Simulator, tmp_path: Path, items: Path, out: Path) -> subprocess.Popen[str]:
    credentials = tmp_path / "credentials.json"
    credentials.write_text(
        json.dumps(
            {
                "bulk": {
                    "provider": "openai_compatible",
                    "model": "resumable",
                    "api_key": OPENAI_KEY,
                    "base_url": sim.openai_base_url,
                }
            }
        )
    )
    credentials.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "junior_ai",
            "--credentials",
            str(credentials),
            "batch",
            "--template",
            "Item: {item}",
            "--items",
            str(items),
            "--ai",
            "bulk",
            "--out",
            str(out),
            "--max-concurrency",
            "4",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def ok_keys(out: Path) -> set[str]:
    keys = set()
    for line in out.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if record.get("status") == "ok":
            keys.add(record["key"])
    return keys


async def test_cli_batch_resumes_after_a_kill_without_redoing_finished_items(sim: Simulator, tmp_path: Path) -> None:
    sim.set_scenario("resumable", Scenario(latency_s=0.05))
    items = tmp_path / "items.txt"
    items.write_text("".join(f"thing {i}\n" for i in range(200)))
    out = tmp_path / "results.jsonl"

    first = run_cli(sim, tmp_path, items, out)

    def sixty_answered(state: Any) -> bool:
        return sum(r.outcome == "completed" for r in state.requests("resumable")) >= 60

    assert await anyio.to_thread.run_sync(lambda: sim.state.wait_for(sixty_answered, 60))
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=10)  # reaps it and closes its pipes
    finished_before = ok_keys(out)
    assert (
        30 <= len(finished_before) < 200
    )  # what reached the file before the kill (a few may still have been in flight)

    second = run_cli(sim, tmp_path, items, out)
    _, stderr = second.communicate(timeout=120)
    assert second.returncode == 0, stderr
    assert f"{len(finished_before)} already done" in stderr

    expected = {item_key(f"Item: thing {i}", "bulk") for i in range(200)}
    assert ok_keys(out) == expected  # none missing
    requested: dict[str, int] = {}
    for record in sim.state.requests("resumable"):
        requested[record.prompt] = requested.get(record.prompt, 0) + 1
    finished_prompts = {
        f"Item: thing {i}" for i in range(200) if item_key(f"Item: thing {i}", "bulk") in finished_before
    }
    assert all(requested[prompt] == 1 for prompt in finished_prompts)  # nothing finished was asked again


async def test_ask_batch_sends_system_temperature_max_tokens_and_effort_with_every_item(sim: Simulator) -> None:
    config = config_of(openai_ai(sim, "ai", "batch-options"))
    async with Client(build_server(config)) as client:
        result = await client.call_tool(
            "ask_batch",
            {
                "template": "Item: {item}",
                "items": ["a", "b"],
                "ai": "ai",
                "system": "Answer in one word.",
                "temperature": 0.2,
                "max_tokens": 50,
                "reasoning_effort": "low",
            },
        )
    assert not result.is_error
    bodies = [request.body for request in sim.state.requests("batch-options")]
    assert len(bodies) == 2
    for body in bodies:
        assert body["messages"][0] == {"role": "system", "content": "Answer in one word."}
        assert body["temperature"] == 0.2 and body["reasoning_effort"] == "low"
        assert body.get("max_tokens", body.get("max_completion_tokens")) == 50
