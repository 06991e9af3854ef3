"""The loop a user would write instead of `junior-ai batch`: the OpenAI SDK, an `asyncio.Semaphore`, one JSON line
per result. The batch benchmark runs it in its own process against the same simulator, as the baseline. It prints
its items-per-second rate (from the first item to the last result) on stderr.

`python benchmarks/handwritten_batch.py BASE_URL MODEL ITEMS_FILE OUT_FILE CONCURRENCY`
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import TextIO

import openai


async def main(base_url: str, model: str, items: list[str], out: TextIO, concurrency: int) -> int:
    client = openai.AsyncOpenAI(api_key="sk-bench-not-a-real-key", base_url=base_url, max_retries=0)
    semaphore = asyncio.Semaphore(concurrency)
    failed = 0

    async def one(index: int, item: str) -> None:
        nonlocal failed
        async with semaphore:
            try:
                answer = await client.chat.completions.create(
                    model=model, messages=[{"role": "user", "content": f"Echo {item}"}]
                )
                record = {"index": index, "status": "ok", "text": answer.choices[0].message.content}
            except openai.OpenAIError as error:
                failed += 1
                record = {"index": index, "status": "error", "error": str(error)}
        out.write(json.dumps(record) + "\n")
        out.flush()

    started = time.perf_counter()
    await asyncio.gather(*(one(index, item) for index, item in enumerate(items)))
    # The steady-state rate, measured as junior-ai batch measures its own (from the first item, after start-up).
    print(f"{len(items) / (time.perf_counter() - started):.1f}/s", file=sys.stderr)

    await client.close()
    return 1 if failed else 0


if __name__ == "__main__":
    base, name, items_file, out_file, limit = sys.argv[1:6]
    with open(items_file, encoding="utf-8") as handle:
        lines = [line.rstrip("\n") for line in handle if line.strip()]
    with open(out_file, "a", encoding="utf-8") as sink:
        raise SystemExit(asyncio.run(main(base, name, lines, sink, int(limit))))
