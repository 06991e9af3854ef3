"""The library API against hand-written SDK code, in the same run (`python -m benchmarks.run --only library`).

- `jr.map` throughput against an `AsyncOpenAI` + semaphore loop making the same calls at the same concurrency.
- `jr.stream` time to the first piece against the SDK's own streamed call.

The variants alternate round by round, so machine noise (a shared 2-core VM) hits both alike.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import anyio
import openai

from benchmarks.harness import FAKE_KEY, percentile
from junior_ai import JuniorAI

MAP_MODEL = "map-50ms"
STREAM_MODEL = "zero-latency"


def _config(port: int, concurrency: int) -> dict[str, Any]:
    return {
        "lib": {
            "provider": "openai_compatible",
            "base_url": f"http://127.0.0.1:{port}/v1",
            "model": MAP_MODEL,
            "api_key": FAKE_KEY,
            "max_concurrency": concurrency,
            "timeout_s": 120,
        }
    }


async def map_throughput(port: int, items: int, concurrency: int, rounds: int) -> list[Any]:
    from benchmarks.run import Row

    client = openai.AsyncOpenAI(api_key=FAKE_KEY, base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    prompts = [f"Summarise: item {i}" for i in range(items)]

    async def by_hand() -> float:
        limit = anyio.Semaphore(concurrency)
        done = 0

        async def one(prompt: str) -> None:
            nonlocal done
            async with limit:
                await client.chat.completions.create(model=MAP_MODEL, messages=[{"role": "user", "content": prompt}])
                done += 1

        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for prompt in prompts:
                tg.start_soon(one, prompt)
        assert done == items
        return items / (time.perf_counter() - started)

    async def library(jr: JuniorAI) -> float:
        started = time.perf_counter()
        count = 0
        async for result in jr.map(
            "Summarise: {item}", (f"item {i}" for i in range(items)), ai="lib", max_concurrency=concurrency
        ):
            assert result.ok, result.error
            count += 1
        assert count == items
        return items / (time.perf_counter() - started)

    ours: list[float] = []
    theirs: list[float] = []
    try:
        async with JuniorAI.from_config(_config(port, concurrency)) as jr:
            await library(jr)  # warm both: connections, imports
            await by_hand()
            for _ in range(rounds):
                theirs.append(await by_hand())
                ours.append(await library(jr))
    finally:
        await client.close()
    mine, baseline = statistics.median(ours), statistics.median(theirs)
    ratio = mine / baseline
    return [
        Row(
            f"library: jr.map, {items} items, concurrency {concurrency}, 50 ms calls",
            "throughput (median of rounds)",
            f"{mine:.0f} items/s",
            f"{baseline:.0f} items/s (AsyncOpenAI + semaphore)",
            ratio,
            ">= 0.9",
            ratio >= 0.9,
        )
    ]


async def stream_first_piece(port: int, calls: int) -> list[Any]:
    from benchmarks.run import Row

    client = openai.AsyncOpenAI(api_key=FAKE_KEY, base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    config = _config(port, 4)
    config["lib"]["model"] = STREAM_MODEL

    async def sdk() -> float:
        started = time.perf_counter()
        first: float | None = None
        stream = await client.chat.completions.create(
            model=STREAM_MODEL,
            messages=[{"role": "user", "content": "ping"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        async for chunk in stream:
            if first is None and chunk.choices and chunk.choices[0].delta.content:
                first = time.perf_counter() - started
        assert first is not None
        return first * 1000

    async def library(jr: JuniorAI) -> float:
        started = time.perf_counter()
        first: float | None = None
        async for _piece in jr.stream("lib", "ping"):
            if first is None:
                first = time.perf_counter() - started
        assert first is not None
        return first * 1000

    ours: list[float] = []
    theirs: list[float] = []
    try:
        async with JuniorAI.from_config(config) as jr:
            for round_no in range(calls + 20):  # the first 20 rounds warm up
                a, b = await sdk(), await library(jr)
                if round_no >= 20:
                    theirs.append(a)
                    ours.append(b)
    finally:
        await client.close()
    rows = []
    for q in (50, 99):
        mine, baseline = percentile(ours, q), percentile(theirs, q)
        limit = 1.1 * baseline + 1.0
        rows.append(
            Row(
                f"library: jr.stream time to first piece ({calls} calls)",
                f"p{q}",
                f"{mine:.2f} ms",
                f"{baseline:.2f} ms (SDK streamed call)",
                mine / baseline,
                "<= 1.1x + 1 ms",
                mine <= limit,
            )
        )
    return rows


async def library_rows(port: int, quick: bool) -> list[Any]:
    rows = await map_throughput(port, 200 if quick else 1000, 16, 2 if quick else 5)
    rows += await stream_first_piece(port, 100 if quick else 300)
    return rows
