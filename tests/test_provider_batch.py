"""The providers' own batch engines, end to end against the simulator's emulation, for both protocols."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from junior_ai.ai.batch import BatchItem, item_key, render_items
from junior_ai.ai.provider_batch import run_provider_batch
from junior_ai.ai.registry import initialize_all_clients_async
from junior_ai.ai.simulator import Fault, Scenario, Simulator
from junior_ai.ai.simulator.scenario import echo_reply
from junior_ai.ai.types import GenerateRequest
from tests.conftest import GEMINI_KEY, OPENAI_KEY, config_of, gemini_ai, openai_ai, run_junior_ai

PROTOCOLS = [pytest.param(openai_ai, id="openai"), pytest.param(gemini_ai, id="gemini")]
FAST_POLLING: dict[str, float] = {"poll_initial_s": 0.01, "poll_max_s": 0.02}


def items(count: int) -> list[BatchItem]:
    return list(render_items("Describe {item}", [f"thing {i}" for i in range(count)]))


@pytest.mark.parametrize("make", PROTOCOLS)
async def test_a_provider_batch_job_runs_end_to_end(sim: Simulator, make: Any) -> None:
    registry = await initialize_all_clients_async(config_of(make(sim, "ai", "batched")))
    states: list[str] = []

    async def on_poll(state: str) -> None:
        states.append(state)

    try:
        results = await run_provider_batch(registry, "ai", items(5), on_poll=on_poll, **FAST_POLLING)
    finally:
        await registry.aclose()
    assert [r.index for r in results] == [0, 1, 2, 3, 4]
    assert all(r.ok and r.text == echo_reply("batched", f"Describe thing {r.index}") for r in results)
    assert all(r.usage is not None and r.usage.total_tokens > 0 for r in results)
    assert len(states) >= 2 and states[-1] in {"completed", "JOB_STATE_SUCCEEDED"}  # polled until done
    assert sim.app.batches.created_jobs == 1
    assert sim.state.requests("batched") == []  # nothing went through the live endpoint


@pytest.mark.parametrize("make", PROTOCOLS)
async def test_a_failed_job_fails_every_item_with_the_reason(sim: Simulator, make: Any) -> None:
    sim.set_scenario("rejected", Scenario(fault=Fault(kind="status", status=400, message="quota exceeded")))
    registry = await initialize_all_clients_async(config_of(make(sim, "ai", "rejected")))
    try:
        results = await run_provider_batch(registry, "ai", items(3), **FAST_POLLING)
    finally:
        await registry.aclose()
    assert [r.status for r in results] == ["error", "error", "error"]
    assert all("failed" in (r.error or "") and "(job " in (r.error or "") for r in results)
    if make is openai_ai:  # google-genai does not map a Gemini API batch's error message onto its BatchJob
        assert all("quota exceeded" in (r.error or "") for r in results)


@pytest.mark.parametrize("make", PROTOCOLS)
async def test_a_job_is_resumed_by_id_after_a_crash_without_resubmitting(sim: Simulator, make: Any) -> None:
    registry = await initialize_all_clients_async(config_of(make(sim, "ai", "resumed")))
    submitted: list[str] = []

    async def crash_after_submit(job_id: str) -> None:
        submitted.append(job_id)
        raise RuntimeError("the process died right after submitting")

    try:
        with pytest.raises(RuntimeError, match="died"):
            await run_provider_batch(registry, "ai", items(4), on_submitted=crash_after_submit, **FAST_POLLING)
        results = await run_provider_batch(registry, "ai", items(4), job_id=submitted[0], **FAST_POLLING)
    finally:
        await registry.aclose()
    assert all(r.ok for r in results) and len(results) == 4
    assert sim.app.batches.created_jobs == 1


async def test_cli_via_provider_batch_resumes_a_job_by_id(sim: Simulator, tmp_path: Path) -> None:
    credentials = tmp_path / "credentials.json"
    credentials.write_text(
        json.dumps(
            {
                "openai": {"model": "cli-batched", "api_key": OPENAI_KEY, "base_url": sim.openai_base_url},
                "gemini": {"model": "cli-batched", "api_key": GEMINI_KEY, "base_url": sim.gemini_base_url},
            }
        )
    )
    credentials.chmod(0o600)
    item_file = tmp_path / "items.txt"
    item_file.write_text("alpha\nbeta\ngamma\n")
    # A job submitted by an earlier run that died before it wrote any results:
    registry = await initialize_all_clients_async(config_of(openai_ai(sim, "openai", "cli-batched")))
    try:
        entry = registry.get("openai")
        assert entry.client is not None

        job_id = await entry.client.submit_batch(
            [
                (item_key(f"Word: {w}", "openai"), GenerateRequest.from_prompt(f"Word: {w}", model="cli-batched"))
                for w in ("alpha", "beta", "gamma")
            ]
        )
    finally:
        await registry.aclose()
    out = tmp_path / "out.jsonl"
    result = run_junior_ai(
        "--credentials",
        str(credentials),
        "batch",
        "--template",
        "Word: {item}",
        "--items",
        str(item_file),
        "--ai",
        "openai",
        "--out",
        str(out),
        "--via",
        "provider-batch",
        "--job-id",
        job_id,
    )
    assert result.returncode == 0, result.stderr
    assert f"resuming provider batch job {job_id}" in result.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["index"], r["status"]) for r in records] == [(0, "ok"), (1, "ok"), (2, "ok")]
    assert sim.app.batches.created_jobs == 1  # resumed, not submitted again
    assert not (tmp_path / "out.jsonl.job").exists()


async def test_cli_via_provider_batch_saves_the_job_id_while_it_runs(sim: Simulator, tmp_path: Path) -> None:
    credentials = tmp_path / "credentials.json"
    credentials.write_text(
        json.dumps({"gemini": {"model": "cli-g", "api_key": GEMINI_KEY, "base_url": sim.gemini_base_url}})
    )
    credentials.chmod(0o600)
    item_file = tmp_path / "items.jsonl"
    item_file.write_text('{"w": "one"}\n{"w": "two"}\n')
    out = tmp_path / "out.jsonl"
    result = run_junior_ai(
        "--credentials",
        str(credentials),
        "batch",
        "--template",
        "Say {item.w}",
        "--items",
        str(item_file),
        "--ai",
        "gemini",
        "--out",
        str(out),
        "--via",
        "provider-batch",
    )
    assert result.returncode == 0, result.stderr
    assert "submitted 2 item(s) as provider batch job batches/" in result.stderr
    assert "re-running this command resumes it" in result.stderr
    assert len(out.read_text().splitlines()) == 2
